# RootSentinel: every target does its own set-up on a fresh Debian/Ubuntu machine (as root or with sudo).
# Everything runs in the project's own virtualenv (.venv, no system site packages): a package that someone
# installed into the system Python can never make the suite green.
BASE_PYTHON ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# rsyslog, rsyslog-gnutls, logrotate: the audit tests start their own rsyslogd (private mount namespace, own
# /dev/log, TCP and TLS ports) and run logrotate on temporary files; the system service is not needed
APT_PACKAGES := python3-venv firefox-esr firefox-esr-l10n-ru firefox-esr-l10n-kk libnss3-tools chromium openssl gcc \
  rsyslog rsyslog-gnutls logrotate
STAMP := $(VENV)/.setup-done
RUN_STAMP := $(VENV)/.run-setup-done
MITM_VENV := .venv-mitmproxy
MITMPROXY_VERSION := 11.0.2

.PHONY: setup setup-run run test test-fast test-python test-js lint-extension test-e2e fuzz blocklist catalogue publicroots intermediates bench dist clean

## setup-run: only what `make run` needs: python3-venv and the package itself in .venv (no test extras,
##            no mitmproxy, no npm, no browsers)
setup-run: $(RUN_STAMP)
$(RUN_STAMP): pyproject.toml Makefile
	@if ! dpkg -s python3-venv >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; fi
	@[ -x $(PYTHON) ] || $(BASE_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -e .
	@touch $(RUN_STAMP)

## setup: everything the tests need on top: system packages (browsers, NSS tools, rsyslog), the test extras,
##        mitmproxy in its own virtualenv, npm dev tools
setup: $(STAMP)
$(STAMP): $(RUN_STAMP) pyproject.toml package.json Makefile
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); fi
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'
	@# mitmproxy, a real interception proxy for the tests, in a virtualenv of its own (its pins differ)
	@[ -x $(MITM_VENV)/bin/mitmdump ] || { $(BASE_PYTHON) -m venv $(MITM_VENV) && \
	  $(MITM_VENV)/bin/pip install -q --disable-pip-version-check 'mitmproxy==$(MITMPROXY_VERSION)'; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

## run: the main job on real input (build/demo.py): judge the real Kazakhstan 2019 root, probe a local HTTPS server
##      that presents a leaf signed with the real leaked Superfish key, and one signed by a private root;
##      each step says what it shows and what its exit code means; exit 0 when every verdict is the expected one
run: setup-run
	@$(PYTHON) build/demo.py

## test: the whole suite (Python unit + protocol + real-browser end to end, node unit tests, web-ext lint); quiet:
##       one dot per test and a summary, the details of what failed (pytest -q, node's dot reporter)
test: setup test-python test-js lint-extension

test-python: setup
	@echo "test-python: unit, protocol and real-browser end-to-end tests"
	@ROOTSENTINEL_E2E=require $(PYTHON) -m pytest -q

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

test-js: setup
	@echo "test-js: node unit tests"
	@npm test --silent

lint-extension: setup
	@echo "lint-extension: web-ext lint"
	@npm run --silent lint

## catalogue: regenerate native_host/engine/data/catalogue.json from build/catalogue-sources/products.json
catalogue: setup
	$(PYTHON) build/make_catalogue.py

## bench: benchmarks against baselines measured in the same run; writes bench/RESULTS.md (a few minutes; BENCH_QUICK=1: a smoke run with few rounds, RESULTS.quick.md)
bench: setup
	$(PYTHON) bench/run_all.py $(if $(BENCH_QUICK),--quick)

## blocklist: regenerate native_host/engine/data/blocklist.json from build/blocklist-sources/
blocklist: setup
	$(PYTHON) build/make_blocklist.py

## publicroots: regenerate native_host/engine/data/publicroots.json (the public root store: Mozilla via a pinned
##              certifi release, the roots Mozilla removed, the Chrome Root Store) from build/publicroots-sources/
publicroots: setup
	$(PYTHON) build/make_publicroots.py

## intermediates: regenerate native_host/engine/data/intermediates.json (the public intermediates the product knows,
##                as Firefox preloads them) from build/intermediates-sources/ (run after publicroots)
intermediates: setup
	$(PYTHON) build/make_intermediates.py

## dist: everything each step of docs/enterprise.md and docs/install.md uses, in dist/:
##   rootsentinel-host/ (the host as a self-contained PyInstaller onedir bundle: build/rootsentinel-host.spec) and
##   rootsentinel-host-linux-x86_64.tar.gz (it, for the Ansible steps); rootsentinel_VERSION_amd64.deb (the bundle in
##   /opt/rootsentinel, host manifests for every browser allowing the CRX key's id, scan/heartbeat timers, logrotate);
##   rootsentinel-chromium-VERSION.crx + updates.xml + chromium-extension-id.txt (CRX3 signed with CRX_KEY, made
##   when missing: keep it, every later version must be signed with it); rootsentinel-firefox-VERSION.xpi (web-ext
##   build, lint clean for AMO and self-hosting: sign it on AMO for release Firefox, or give it unsigned to ESR);
##   rootsentinel-chromium-VERSION.zip (store upload); rollout/ and decommission/ (rootsentinel rollout from
##   ROLLOUT_SETTINGS: config, host manifests, every browser's policy); the man page and bash/zsh completion
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
CRX_KEY ?= keys/rootsentinel-crx.pem
DIST_BASE_URL ?= https://rootsentinel.example/rootsentinel
XPI_URL ?= $(DIST_BASE_URL)/rootsentinel-firefox-$(VERSION).xpi
ROLLOUT_SETTINGS ?= docs/examples/rollout-settings.json
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
.PHONY: dist-host dist-firefox dist-chromium dist-cli-docs dist-crx dist-tarball dist-deb dist-rollout
dist: setup dist-host dist-tarball dist-crx dist-deb dist-firefox dist-chromium dist-rollout dist-cli-docs
	@cd dist && ls -l rootsentinel-host-linux-x86_64.tar.gz rootsentinel_$(VERSION)_amd64.deb \
	  rootsentinel-chromium-$(VERSION).crx rootsentinel-firefox-$(VERSION).xpi rootsentinel-chromium-$(VERSION).zip \
	  | awk '{printf "%-44s %7.2f MB\n", $$9, $$5 / 1e6}'; du -sh rootsentinel-host; echo "extension id: $$(cat chromium-extension-id.txt)"

## dist-cli-docs: dist/man/rootsentinel.1 and dist/completion/{rootsentinel.bash,_rootsentinel}, from the CLI's parser
dist-cli-docs: setup
	$(PYTHON) build/cli_docs.py --out dist

dist-host: setup
	$(PYTHON) -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller-work build/rootsentinel-host.spec

dist-tarball: dist-host
	$(PYTHON) build/package_linux.py tarball --bundle dist/rootsentinel-host --out dist

dist-crx: setup
	node build/pack_crx.mjs --key $(CRX_KEY) --base-url $(DIST_BASE_URL) --out dist

dist-deb: dist-host dist-crx dist-cli-docs
	$(PYTHON) build/package_linux.py deb --bundle dist/rootsentinel-host --out dist --docs dist --extension-id $$(cat dist/chromium-extension-id.txt)

dist-rollout: dist-crx
	$(PYTHON) -m native_host rollout $(ROLLOUT_SETTINGS) --out dist/rollout --extension-id $$(cat dist/chromium-extension-id.txt) \
	  --update-url $(DIST_BASE_URL)/updates.xml --xpi-url $(XPI_URL) --firefox-esr >/dev/null
	$(PYTHON) -m native_host rollout --decommission --out dist/decommission --extension-id $$(cat dist/chromium-extension-id.txt) >/dev/null

dist-firefox: setup
	node build/build_extension.mjs firefox --out dist/firefox
	npx --no-install web-ext lint --source-dir dist/firefox --warnings-as-errors --output text >/dev/null
	npx --no-install web-ext lint --source-dir dist/firefox --self-hosted --warnings-as-errors --output text >/dev/null
	npx --no-install web-ext build --source-dir dist/firefox --artifacts-dir dist --overwrite-dest --filename 'rootsentinel-firefox-{version}.xpi'

dist-chromium: setup
	node build/build_extension.mjs chromium --out dist/chromium
	$(PYTHON) -c "import json, shutil; v = json.load(open('dist/chromium/manifest.json'))['version']; print(shutil.make_archive(f'dist/rootsentinel-chromium-{v}', 'zip', 'dist/chromium'))"

clean:
	rm -rf dist $(VENV) $(MITM_VENV) .pytest_cache
