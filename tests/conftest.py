"""Shared fixtures. Test helpers live in ``certkit`` (certificates) and ``hostkit`` (host process, TLS servers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostkit import HostProcess  # noqa: E402


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory, monkeypatch):
    """Every test (and every process it starts) keeps RootSentinel's per-user state (the audit drop log,
    the browsers seen, the heartbeat's time) in a folder of its own, never in the real user's
    ``~/.local/state`` nor in another test's."""
    folder = tmp_path_factory.mktemp("xdg-state")
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder


@pytest.fixture
def host():
    """The real host process (``python -m native_host host``) on pipes; killed after the test."""
    h = HostProcess()
    yield h
    if h.proc.poll() is None:
        h.proc.kill()
        h.proc.wait()
