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


@pytest.fixture(scope="session")
def host_bundle(tmp_path_factory) -> Path:
    """The PyInstaller onedir bundle folder (``rootsentinel-host/``), built once per test session from
    build/rootsentinel-host.spec (about 30-60 s), or ``$ROOTSENTINEL_BUNDLE`` (e.g. ``dist/rootsentinel-host`` after
    ``make dist``) when set. Shared by tests/test_bundle.py, tests/test_package_linux.py and the rollout e2e."""
    import os
    import subprocess
    import time

    given = os.environ.get("ROOTSENTINEL_BUNDLE")
    if given:
        return Path(given).resolve()
    pytest.importorskip("PyInstaller", reason="pip install '.[dist]' (the test extra includes it)")
    repo = Path(__file__).parent.parent
    work = tmp_path_factory.mktemp("pyinstaller")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                           "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
                           str(repo / "build" / "rootsentinel-host.spec")],
                          capture_output=True, text=True, cwd=repo, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = work / "dist" / "rootsentinel-host"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"\nbundle: built in {time.monotonic() - started:.1f} s, {size / 1e6:.1f} MB in {folder.name}/")
    return folder
