# RootSentinel: every target does its own set-up on a fresh Debian/Ubuntu machine (as root or with sudo).
# Everything runs in the project's own virtualenv (.venv, no system site packages): a package that someone
# installed into the system Python can never make the suite green.
BASE_PYTHON ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := python3-venv firefox-esr firefox-esr-l10n-ru firefox-esr-l10n-kk libnss3-tools chromium openssl
STAMP := $(VENV)/.setup-done

.PHONY: setup run test test-fast test-python test-js lint-extension test-e2e fuzz blocklist bench dist clean

## setup: system packages (browsers, NSS tools), the Python package with test extras, npm dev tools
setup: $(STAMP)
$(STAMP): pyproject.toml package.json
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); fi
	@[ -x $(PYTHON) ] || $(BASE_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

## run: the main job on real input: judge the real Kazakhstan 2019 root, then probe a local HTTPS server
##      that presents a leaf signed with the real leaked Superfish key
run: setup
	-$(PYTHON) -m native_host check build/blocklist-sources/certs/b5ba8dd7f89564c2889d3d6453c84998c77824919b64ea0835aa62986591be50.pem
	$(PYTHON) build/demo.py

## test: the whole suite (Python unit + protocol + real-browser end to end, node unit tests, web-ext lint)
test: setup test-python test-js lint-extension

test-python: setup
	ROOTSENTINEL_E2E=require $(PYTHON) -m pytest -q

## test-fast: the Python tests without real browsers (a few seconds to a minute)
test-fast: setup
	$(PYTHON) -m pytest -q -m "not e2e and not slow"

## fuzz: the fuzz targets (frame reader + host loop, certificate-chain input; tests/test_fuzz.py) for many more
##       examples than `make test` runs (FUZZ_EXAMPLES, default 20000; a few minutes to an hour)
FUZZ_EXAMPLES ?= 20000
fuzz: setup
	ROOTSENTINEL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTHON) -m pytest -q -p no:cacheprovider tests/test_fuzz.py tests/test_textsafe.py

## test-e2e: the real-browser end-to-end tests only
test-e2e: setup
	ROOTSENTINEL_E2E=require $(PYTHON) -m pytest -q -m e2e tests/e2e

test-js:
	npm test --silent

lint-extension:
	npm run --silent lint

## bench: benchmarks against baselines measured in the same run; writes bench/RESULTS.md (a few minutes)
bench: setup
	$(PYTHON) bench/run_all.py

## blocklist: regenerate native_host/engine/data/blocklist.json from build/blocklist-sources/
blocklist: setup
	$(PYTHON) build/make_blocklist.py

## dist: dist/rootsentinel-host/ (the host as a self-contained PyInstaller onedir bundle: build/rootsentinel-host.spec),
##       dist/rootsentinel-firefox-VERSION.xpi (web-ext build; unsigned: release Firefox needs it signed on AMO, unlisted)
##       and dist/rootsentinel-chromium-VERSION.zip when a Chromium build exists
.PHONY: dist-host dist-firefox dist-chromium
dist: setup dist-host dist-firefox dist-chromium
	@du -sh dist/rootsentinel-host; ls -1 dist/*.xpi dist/*.zip 2>/dev/null || true

dist-host: setup
	$(PYTHON) -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller-work build/rootsentinel-host.spec

dist-firefox: setup
	node build/build_extension.mjs firefox --out dist/firefox
	npx --no-install web-ext build --source-dir dist/firefox --artifacts-dir dist --overwrite-dest --filename 'rootsentinel-firefox-{version}.xpi'

dist-chromium: setup
	@if [ -f extension/manifests/chromium.json ]; then \
	  node build/build_extension.mjs chromium --out dist/chromium && \
	  $(PYTHON) -c "import json, shutil; v = json.load(open('dist/chromium/manifest.json'))['version']; print(shutil.make_archive(f'dist/rootsentinel-chromium-{v}', 'zip', 'dist/chromium'))"; \
	else echo "dist: skipping the Chromium .zip: there is no Chromium build yet (extension/manifests/chromium.json is missing)"; fi

clean:
	rm -rf dist $(VENV) .pytest_cache
