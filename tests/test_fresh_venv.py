"""From nothing: build the wheel, install it WITHOUT extras into a brand-new virtualenv (no system site
packages), and run a new user's first commands from there.

This is the test that catches a dependency the package imports but ``pyproject.toml`` does not declare
(issue 10: ``pyOpenSSL`` was installed by hand on the CI machine, so ``check https://...`` crashed for
everyone else). The dependencies are resolved by pip from the package index, as a user's ``pip install``
does; the project's own files are built locally.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from hostkit import tls_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
KZ_2019_ROOT = REPO / "build/blocklist-sources/certs/"  # Qaznet Trust Network (2019), by its SPKI SHA-256
KZ_2019_ROOT = KZ_2019_ROOT / "b5ba8dd7f89564c2889d3d6453c84998c77824919b64ea0835aa62986591be50.pem"


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new virtualenv holding only the wheel built from this checkout and its declared runtime deps."""
    tmp = tmp_path_factory.mktemp("fresh")
    # build from a copy: setuptools writes build/lib and *.egg-info into the tree it builds
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
        "pyinstaller-work"))
    wheels = tmp / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--disable-pip-version-check", "-q", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("rootsentinel-*.whl")
    venv = tmp / "venv"
    # the base interpreter, not this venv's: a brand-new environment with no system site packages
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    pip = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          str(wheel)], capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr
    return venv


def _env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["ROOTSENTINEL_CONFIG"] = str(venv / "no-config.json")  # no machine's system config changes verdicts
    return env


def _run(venv: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    # run from a folder outside the checkout so ``native_host`` can only come from the installed wheel
    return subprocess.run([str(venv / "bin/rootsentinel"), *args], input=stdin, capture_output=True,
                          timeout=120, cwd=venv, env=_env(venv))


def test_the_wheel_holds_no_test_only_packages(fresh_venv):
    listed = subprocess.run([str(fresh_venv / "bin/python"), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert {"rootsentinel", "cryptography", "jsonschema", "pyopenssl"} <= names
    assert "certifi" not in names  # the public store is bundled (issue 11): certifi is no dependency
    assert not names & {"pytest", "trustme", "hypothesis"}, names


def test_version(fresh_venv):
    out = _run(fresh_venv, "--version")
    assert out.returncode == 0, out.stderr
    from native_host import __version__

    assert out.stdout.decode().strip() == f"rootsentinel {__version__}"


def test_check_real_kazakhstan_root_is_banned(fresh_venv):
    out = _run(fresh_venv, "check", str(KZ_2019_ROOT), "--json")
    assert out.returncode == 2, out.stderr
    verdict = json.loads(out.stdout)
    assert (verdict["level"], verdict["category"]) == ("banned", "state-mitm")
    assert verdict["chain"][0]["spki_sha256"] == KZ_2019_ROOT.stem  # the sources name files by SPKI hash


def test_check_https_against_a_private_ca_is_interception(fresh_venv):
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    with tls_server(chain, leaf.private_key_pem.bytes()) as port:
        out = _run(fresh_venv, "check", f"https://127.0.0.1:{port}", "--json")
    assert out.returncode == 1, out.stderr
    verdict = json.loads(out.stdout)
    assert (verdict["level"], verdict["reason"], verdict["evidence"]) == ("interception", "non_public_anchor", "probe")
    assert verdict["probe"]["port"] == port


def test_hello_to_the_host_over_pipes(fresh_venv):
    body = json.dumps({"type": "hello", "id": "h1"}).encode()
    out = _run(fresh_venv, "host", stdin=struct.pack("=I", len(body)) + body)
    assert out.returncode == 0, out.stderr
    (length,) = struct.unpack("=I", out.stdout[:4])
    assert len(out.stdout) == 4 + length  # nothing but the one reply frame on stdout
    reply = json.loads(out.stdout[4:].decode("utf-8"))
    from native_host import __version__

    assert (reply["type"], reply["id"], reply["version"]) == ("hello", "h1", __version__)
