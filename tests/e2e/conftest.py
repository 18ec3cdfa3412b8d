"""End-to-end fixtures. Without Firefox, certutil or node (apt ``firefox-esr libnss3-tools``, the
system node), or for tests/e2e/test_chromium*.py without Chromium (apt ``chromium``), the e2e tests
are skipped, unless ``ROOTSENTINEL_E2E=require`` (CI) makes that an error."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from chromium import chromium_binary  # noqa: E402
from firefox import firefox_binary  # noqa: E402


def _missing(browser: tuple[str, str | None]) -> list[str]:
    tools = (browser, ("certutil", shutil.which("certutil")), ("node", shutil.which("node")))
    return [name for name, ok in tools if not ok]


def pytest_collection_modifyitems(config, items):
    needs = {"firefox": _missing(("firefox-esr", firefox_binary())), "chromium": _missing(("chromium", chromium_binary()))}
    for item in items:
        if "e2e" not in item.keywords:
            continue
        if item.path.name.startswith("test_rollout"):  # both browsers
            missing = sorted(set(needs["chromium"] + needs["firefox"]))
        else:
            missing = needs["chromium" if item.path.name.startswith("test_chromium") else "firefox"]
        if not missing:
            continue
        if os.environ.get("ROOTSENTINEL_E2E") == "require":
            raise pytest.UsageError(f"ROOTSENTINEL_E2E=require but {', '.join(missing)} not found")
        item.add_marker(pytest.mark.skip(reason=f"end-to-end needs {', '.join(missing)}"))


@pytest.fixture
def certdir(tmp_path: Path) -> Path:
    d = tmp_path / "certs"
    d.mkdir()
    return d
