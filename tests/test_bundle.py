"""The PyInstaller onedir bundle (build/rootsentinel-host.spec): built fresh, then spoken to over the real
protocol from a folder where the source tree is not importable, with the argv browsers pass.

Set ``ROOTSENTINEL_BUNDLE=DIR`` (e.g. ``dist/rootsentinel-host`` after ``make dist``) to test an existing
bundle instead of building one (about 30 s).
"""

from __future__ import annotations

import json
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from certkit import b64, der, issue_leaf, load_leaked, pem_chain
from hostkit import HostProcess

from native_host.engine.blocklist import bundled

pytestmark = pytest.mark.slow

REPO = Path(__file__).parent.parent
SPEC = REPO / "build" / "rootsentinel-host.spec"
EXE_NAME = "rootsentinel-host.exe" if os.name == "nt" else "rootsentinel-host"


@pytest.fixture(scope="module")
def bundle(host_bundle) -> Path:
    """The bundle's executable (the session's one build, tests/conftest.py ``host_bundle``)."""
    return host_bundle / EXE_NAME


@pytest.fixture
def clean_env(tmp_path) -> dict[str, str]:
    """An environment in which nothing from the source tree or this Python is importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["ROOTSENTINEL_CONFIG"] = str(tmp_path / "no-config.json")
    return env


class BundleProcess(HostProcess):
    """:class:`hostkit.HostProcess` framing, started as a browser starts a host: the executable + argv."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, cwd=cwd)
        self._buf = b""


def superfish_chain() -> list[str]:
    cert, key = load_leaked("superfish")
    leaf, _ = issue_leaf(cert, key, "bank.example")
    return [b64(der(leaf)), b64(der(cert))]


BROWSER_ARGV = {
    "firefox": ["/usr/lib/mozilla/native-messaging-hosts/io.rootsentinel.host.json", "rootsentinel@rootsentinel.io"],
    "chrome": ["chrome-extension://knldjmfmopnpolahpmmgbagdohdnhkik/"],
    "chrome-windows": ["chrome-extension://knldjmfmopnpolahpmmgbagdohdnhkik/", "--parent-window=0"],
    "host verb": ["host"],
}


@pytest.mark.parametrize("who", list(BROWSER_ARGV))
def test_bundle_speaks_the_protocol_with_browser_argv(bundle, clean_env, tmp_path, who):
    host = BundleProcess([str(bundle), *BROWSER_ARGV[who]], clean_env, tmp_path)
    try:
        hello = host.request({"type": "hello", "id": 1, "client": "test/1"})
        assert hello["type"] == "hello" and hello["protocol"] == 1
        assert hello["blocklist"]["size"] == len(bundled()) == 116
        assert hello["blocklist"]["sha256"] == bundled().sha256
        verdict = host.request({"type": "check", "id": 2, "url": "https://bank.example/", "chain": superfish_chain()})
        assert (verdict["type"], verdict["id"], verdict["level"], verdict["category"]) == ("verdict", 2, "banned", "malware-mitm")
        assert verdict["matched"]["by"] == "spki_sha256"
        bad = host.request({"type": "check", "id": 3, "chain": ["not base64!"]})
        assert bad["type"] == "error" and bad["code"] in ("bad_base64", "schema")
        code, rest, err = host.close()
        assert code == 0 and rest == b"", err
    finally:
        if host.proc.poll() is None:
            host.proc.kill()


def test_bundle_is_the_whole_cli(bundle, clean_env, tmp_path):
    cert, key = load_leaked("superfish")
    leaf, _ = issue_leaf(cert, key, "bank.example")
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pem_chain(leaf, cert))
    proc = subprocess.run([str(bundle), "check", str(chain), "--json"], capture_output=True, text=True,
                          env=clean_env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and json.loads(proc.stdout)["level"] == "banned", proc.stderr
    # scan (a verb cli.py loads by name) with the bundled public store inside the bundle
    root = tmp_path / "root"
    bundle_file = root / "etc/ssl/certs/ca-certificates.crt"
    bundle_file.parent.mkdir(parents=True)
    bundle_file.write_bytes(pem_chain(cert))
    proc = subprocess.run([str(bundle), "scan", "--root", str(root), "--json"], capture_output=True, text=True,
                          env=clean_env, cwd=tmp_path, timeout=60)
    report = json.loads(proc.stdout)
    assert proc.returncode == 2 and report["findings"][0]["found_in"][0]["location"] == "/etc/ssl/certs/ca-certificates.crt"
    proc = subprocess.run([str(bundle)], capture_output=True, text=True, env=clean_env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 3 and "scan" in proc.stderr  # no verb, no browser argv: help on stderr, exit 3
    assert (bundle.parent / "_internal").is_dir(), "onedir: the executable with its _internal/ folder"


def _first_reply_ms(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Milliseconds from spawn to the first byte of the ``hello`` reply, then EOF."""
    payload = json.dumps({"type": "hello", "id": 1}).encode()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd)
    proc.stdin.write(struct.pack("=I", len(payload)) + payload)
    proc.stdin.flush()
    proc.stdout.read(4)
    elapsed = (time.perf_counter() - started) * 1000
    proc.stdin.close()
    proc.wait(10)
    return elapsed


def test_bundle_cold_start_to_first_hello(bundle, clean_env, tmp_path):
    """Figures, printed (run with -s): spawn -> first hello reply, median of 7, bundle vs ``python -m``."""
    py_env = {**clean_env, "PYTHONPATH": str(REPO)}
    _first_reply_ms([str(bundle), *BROWSER_ARGV["firefox"]], clean_env, tmp_path)  # page cache, as a second start
    bundle_ms = [_first_reply_ms([str(bundle), *BROWSER_ARGV["firefox"]], clean_env, tmp_path) for _ in range(7)]
    python_ms = [_first_reply_ms([sys.executable, "-m", "native_host", "host"], py_env, tmp_path) for _ in range(7)]
    b, p = statistics.median(bundle_ms), statistics.median(python_ms)
    print(f"\ncold start to first hello reply (median of 7): bundle {b:.0f} ms, python -m native_host host {p:.0f} ms")
    assert b < 5000, "the onedir bundle should answer hello within seconds"
