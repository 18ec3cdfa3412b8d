"""``rootsentinel blocklist build``: a publisher edits the list (or writes a sources file), builds a new
version (hashes, size and content hash recomputed, version bumped) and signs it; ``verify`` with no key
pinned says where to pin one."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from native_host.enterprise.blocklist_build import next_version
from native_host.engine.blocklist import bundled, load_document

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "native_host/engine/data/blocklist.json"
KZ_2019 = REPO / "build/blocklist-sources/certs/b5ba8dd7f89564c2889d3d6453c84998c77824919b64ea0835aa62986591be50.pem"
KZ_2019_CERT_SHA256 = "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2"  # Chromium's file name


def rs(*args: str, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ROOTSENTINEL_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "native_host", "blocklist", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_edited_list_is_rebuilt_signed_and_verified(tmp_path):
    config = tmp_path / "config.json"
    doc = json.loads(BUNDLED.read_text())
    doc["entries"][0]["notes"] = "edited by the publisher"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    key = tmp_path / "publisher.key"
    public = rs("keygen", "--out", str(key), config=config).stdout.strip()
    out = tmp_path / "blocklist-new.json"

    refused = rs("sign", str(edited), "--key", str(key), config=config)  # what a publisher met before
    assert refused.returncode == 3 and "does not match" in refused.stderr

    built = rs("build", str(edited), "--out", str(out), config=config)
    assert built.returncode == 0, built.stderr
    new = json.loads(out.read_text())
    blocklist = load_document(new, verify=True)
    assert blocklist.sha256 != bundled().sha256 and len(blocklist) == len(bundled())
    assert new["version"] == next_version(bundled().version)
    assert f"version {new['version']}, {len(blocklist)} entries, sha256 {blocklist.sha256}" in built.stdout
    assert rs("sign", str(out), "--key", str(key), config=config).returncode == 0
    verified = rs("verify", str(out), "--public-key", public, config=config)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"OK {out}: version {new['version']}")


def test_sources_file_with_a_certificate_takes_its_fingerprints(tmp_path):
    (tmp_path / "kz.pem").write_bytes(KZ_2019.read_bytes())
    sources = tmp_path / "sources.json"
    sources.write_text(json.dumps([
        {"name": "Qaznet Trust Network", "category": "state-mitm", "country": "KZ", "source": "our own capture",
         "certificate": "kz.pem"},
        {"name": "Example by key", "category": "distrusted-ca", "source": "vendor notice",
         "spki_sha256": ":".join(["AB"] * 32)},
    ]))
    out = tmp_path / "bl.json"
    built = rs("build", str(sources), "--out", str(out), "--version", "2030.01.02", config=tmp_path / "c.json")
    assert built.returncode == 0, built.stderr
    doc = json.loads(out.read_text())
    assert doc["version"] == "2030.01.02" and doc["size"] == 2
    kz = [e for e in doc["entries"] if e["country"] == "KZ"][0]
    assert kz["cert_sha256"] == KZ_2019_CERT_SHA256 and kz["spki_sha256"] == KZ_2019.stem
    assert kz["subject"] == "CN=Qaznet Trust Network,C=KZ" and kz["verified_from_pem"] is True
    by_key = [e for e in doc["entries"] if e["name"] == "Example by key"][0]
    assert by_key["spki_sha256"] == "ab" * 32 and by_key["cert_sha256"] is None
    # the new list judges the real root as banned
    check = subprocess.run([sys.executable, "-c", (
        "import json,sys; from native_host.engine.blocklist import load_document; "
        "b = load_document(json.load(open(sys.argv[1]))); print(b.lookup(None, sys.argv[2])[0]['name'])"),
        str(out), KZ_2019.stem], capture_output=True, text=True)
    assert check.stdout.strip() == "Qaznet Trust Network"


def test_build_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x", "category": "state-mitm", "source": "s", "spki_sha256": "12"}]))
    out = rs("build", str(bad), "--out", str(tmp_path / "o.json"), config=tmp_path / "c.json")
    assert out.returncode == 3 and len(out.stderr.strip().splitlines()) == 1
    assert "64 hex digits" in out.stderr and not (tmp_path / "o.json").exists()
    old = tmp_path / "old.json"
    old.write_text(BUNDLED.read_text())
    out = rs("build", str(old), "--out", str(tmp_path / "o.json"), "--version", "2001.01.01", config=tmp_path / "c.json")
    assert out.returncode == 3 and "not newer" in out.stderr


@pytest.mark.parametrize("previous, today, expected", [
    (("2026.11.29",), dt.date(2026, 12, 1), "2026.12.01"),
    (("2026.12.01",), dt.date(2026, 12, 1), "2026.12.01.1"),
    (("2026.12.01.1", "2026.11.29"), dt.date(2026, 12, 1), "2026.12.01.2"),
    ((None,), dt.date(2027, 1, 5), "2027.01.05"),
])
def test_next_version(previous, today, expected):
    assert next_version(*previous, today=today) == expected


def test_verify_without_a_pinned_key_names_the_config_and_the_option(tmp_path):
    config = tmp_path / "etc-config.json"
    out = rs("verify", str(BUNDLED), config=config)
    assert out.returncode == 3
    line = out.stderr.strip()
    assert str(config) in line and "--public-key" in line and "ROOTSENTINEL_CONFIG" in line
