"""End-to-end fixtures. Without Firefox, certutil or node (apt ``firefox-esr libnss3-tools``, the
system node) the e2e tests are skipped, unless ``ROOTSENTINEL_E2E=require`` (CI) makes that an error."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from firefox import firefox_binary  # noqa: E402


def pytest_collection_modifyitems(config, items):
    missing = [name for name, ok in (("firefox-esr", firefox_binary()), ("certutil", shutil.which("certutil")),
                                     ("node", shutil.which("node"))) if not ok]
    if not missing:
        return
    if os.environ.get("ROOTSENTINEL_E2E") == "require":
        raise pytest.UsageError(f"ROOTSENTINEL_E2E=require but {', '.join(missing)} not found")
    skip = pytest.mark.skip(reason=f"end-to-end needs {', '.join(missing)}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def certdir(tmp_path: Path) -> Path:
    d = tmp_path / "certs"
    d.mkdir()
    return d
