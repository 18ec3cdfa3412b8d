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


@pytest.fixture(scope="session")
def signed_deb(host_bundle, tmp_path_factory) -> dict:
    """One Debian package per test session (build/package_linux.py, gzip for speed) whose host manifests allow
    the id of a CRX signing key made here: ``{"deb": Path, "key": Path (PEM), "id": str, "out": Path}``. Shared
    by tests/test_package_linux.py and tests/e2e/test_rollout_e2e.py."""
    import base64
    import subprocess

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from native_host.install.extension_ids import chromium_extension_id

    repo = Path(__file__).parent.parent
    sys.path.insert(0, str(repo / "build"))
    import package_linux

    out = tmp_path_factory.mktemp("signed-deb")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (out / "crx.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ext_id = chromium_extension_id(base64.b64encode(spki).decode())
    subprocess.run([sys.executable, str(repo / "build" / "cli_docs.py"), "--out", str(out / "docs")], check=True,
                   capture_output=True, cwd=repo)
    deb = package_linux.make_deb(host_bundle, out, [ext_id], docs=out / "docs", compression="gzip")
    return {"deb": deb, "key": out / "crx.pem", "id": ext_id, "out": out}
