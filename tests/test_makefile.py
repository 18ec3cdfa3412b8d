"""Every Make target and ``.ci/run`` run Python through the project's own virtualenv (``.venv``, no system
site packages), so a package someone installed into the system Python can never make the suite green."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _recipes() -> list[str]:
    return [line.strip() for line in (REPO / "Makefile").read_text().splitlines() if line.startswith("\t")]


def test_every_recipe_runs_python_through_the_venv():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^PYTHON := \$\(VENV\)/bin/python$", makefile, re.M)
    assert re.search(r"^VENV := \.venv$", makefile, re.M)
    for line in _recipes():
        bare = re.sub(r"\$\(PYTHON\) -m [\w.]+", "", line)  # "$(PYTHON) -m pip" is the venv's pip
        # the only interpreter outside the venv is the one that creates it
        for m in re.finditer(r"(?<![\w/.$(-])(python3?|pip3?|pytest|rootsentinel)\b(?![-.\w])", bare):
            assert "$(BASE_PYTHON) -m venv $(VENV)" in line, line
    setup = makefile.split("\n$(RUN_STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "$(BASE_PYTHON) -m venv $(VENV)" in setup and "--system-site-packages" not in setup
    assert "$(PYTHON) -m pip install" in setup
    assert "$(RUN_STAMP)" in makefile.split("\n$(STAMP):", 1)[1].split("\n", 1)[0]  # the full setup builds on it


def test_python_targets_depend_on_setup():
    makefile = (REPO / "Makefile").read_text()
    for target in ("test-python", "test-fast", "test-e2e", "test-js", "lint-extension", "bench", "blocklist",
                   "dist-host", "dist-cli-docs"):
        deps = re.search(rf"^{re.escape(target)}: (.*)$", makefile, re.M).group(1).split()
        assert "setup" in deps, target
    assert re.search(r"^run: (.*)$", makefile, re.M).group(1).split() == ["setup-run"]


def _plain_env() -> dict[str, str]:
    """The environment without the variables of a calling make (CI runs the tests from `make test`:
    MAKEFLAGS and MAKELEVEL would make the inner make print "Entering directory" lines)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}


def test_make_run_installs_the_package_alone():
    """Issue 24 item 9: on a fresh machine `make run` installs python3-venv and the package, nothing for the tests."""
    plan = subprocess.run(["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "run"], cwd=REPO,
                          capture_output=True, text=True, check=True, env=_plain_env()).stdout
    assert "pip install -q --disable-pip-version-check -e .\n" in plan
    for not_needed in ("[test]", "npm", "mitmproxy", "firefox", "chromium", "rsyslog"):
        assert not_needed not in plan, not_needed
    assert plan.rstrip().endswith(".venv/bin/python build/demo.py")
    full = subprocess.run(["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "test-fast"], cwd=REPO,
                          capture_output=True, text=True, check=True, env=_plain_env()).stdout
    for needed in ("'.[test]'", "npm ci", "mitmproxy==", "chromium"):
        assert needed in full, needed


def test_node_tests_are_quiet_by_default():
    """One dot per test, the details only of what failed (node's dot reporter), not ~600 lines of TAP."""
    import json

    script = json.loads((REPO / "package.json").read_text())["scripts"]["test"]
    assert "--test-reporter=dot" in script


def test_ci_runs_make_test():
    ci = (REPO / ".ci/run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert not re.search(r"^\s*(python3?|pip3?|pytest)\b", ci, re.M)


def test_the_venv_has_no_system_site_packages():
    cfg = (REPO / ".venv/pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    probe = subprocess.run([str(REPO / ".venv/bin/python"), "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "True"
