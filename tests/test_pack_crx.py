"""build/pack_crx.mjs: the CRX3 and updates.xml of a self-hosted Chromium-family extension (issue 23 item 1).

Chromium itself installs the result in tests/e2e/test_rollout_e2e.py; here: the file is a CRX3 whose id is the
signing key's (as native_host.install.extension_ids computes it, for the host manifests), whose zip holds the
built extension without the unpacked ``key``, and whose update manifest points at it; a missing key is made
(mode 0600) and an existing one is reused, never replaced.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from native_host.install.extension_ids import chromium_extension_id

REPO = Path(__file__).parent.parent
pytestmark = pytest.mark.skipif(not shutil.which("node") or not (REPO / "node_modules" / "crx3").is_dir(),
                                reason="needs node and npm ci (crx3)")


def _pack(key: Path, out: Path, base: str = "http://127.0.0.1:8000/rs") -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(REPO / "build" / "pack_crx.mjs"), "--key", str(key), "--base-url", base,
                           "--out", str(out)], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "SOURCE_DATE_EPOCH": "1700000000"})


def test_crx3_from_the_administrators_key(tmp_path):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = tmp_path / "admin.pem"
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    spki = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected_id = chromium_extension_id(base64.b64encode(spki).decode())
    proc = _pack(key, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert f"extension id: {expected_id}" in proc.stdout and "NEW signing key" not in proc.stderr
    version = json.loads((REPO / "extension/manifests/chromium.json").read_text())["version"]
    crx = (tmp_path / "out" / f"rootsentinel-chromium-{version}.crx").read_bytes()
    magic, crx_version, header_len = struct.unpack_from("<4sII", crx)
    assert (magic, crx_version) == (b"Cr24", 3)
    assert spki in crx[12:12 + header_len]  # the header proves the key (AsymmetricKeyProof.public_key)
    with zipfile.ZipFile(io.BytesIO(crx[12 + header_len:])) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert "key" not in manifest and manifest["version"] == version
        assert "src/chromium/background.js" in z.namelist()
    app = ET.parse(tmp_path / "out" / "updates.xml").getroot()[0]
    assert app.tag.endswith("app") and app.get("appid") == expected_id
    check = app[0]
    assert check.get("codebase") == f"http://127.0.0.1:8000/rs/rootsentinel-chromium-{version}.crx"
    assert check.get("version") == version
    assert (tmp_path / "out" / "chromium-extension-id.txt").read_text().strip() == expected_id
    again = _pack(key, tmp_path / "again")
    assert (tmp_path / "again" / f"rootsentinel-chromium-{version}.crx").read_bytes() == crx  # reproducible


def test_missing_key_is_made_and_kept(tmp_path):
    key = tmp_path / "keys" / "new.pem"
    proc = _pack(key, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "NEW signing key" in proc.stderr and "every later version must be signed with it" in proc.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    first = key.read_bytes()
    proc = _pack(key, tmp_path / "out2")
    assert proc.returncode == 0 and "NEW" not in proc.stderr and key.read_bytes() == first
    assert (tmp_path / "out2" / "chromium-extension-id.txt").read_text() == (tmp_path / "out" / "chromium-extension-id.txt").read_text()


def test_bad_base_url(tmp_path):
    proc = _pack(tmp_path / "k.pem", tmp_path / "out", base="ftp://x/")
    assert proc.returncode == 1 and proc.stderr.startswith("pack_crx: --base-url must be")
