"""End-to-end fixtures: skip cleanly when Firefox, certutil or node are missing (they come from apt
``firefox-esr libnss3-tools`` and the system node; see the report/README for the commands)."""

from __future__ import annotations

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
    skip = pytest.mark.skip(reason=f"end-to-end needs {', '.join(missing)}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def certdir(tmp_path: Path) -> Path:
    d = tmp_path / "certs"
    d.mkdir()
    return d
