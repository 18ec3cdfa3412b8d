"""Shared fixtures. Test helpers live in ``certkit`` (certificates) and ``hostkit`` (host process, TLS servers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostkit import HostProcess  # noqa: E402


@pytest.fixture
def host():
    """The real host process (``python -m native_host host``) on pipes; killed after the test."""
    h = HostProcess()
    yield h
    if h.proc.poll() is None:
        h.proc.kill()
        h.proc.wait()
