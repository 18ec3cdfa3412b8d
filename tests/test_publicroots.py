"""The bundled public store: regenerated from its pinned sources, valid, and answering lookups on real roots."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from certkit import der, issue_leaf, make_root, new_key, pem_chain
from native_host.engine.certfacts import cert_facts, pem_blocks
from native_host.engine.publicroots import (PROGRAMS, PublicRoot, canonical_roots_sha256, load_document,
                                            load_pem_bundle, mozilla, store)
from native_host.errors import SchemaError
from native_host.schemas import validate

ROOT = Path(__file__).parent.parent
DATA = ROOT / "native_host" / "engine" / "data" / "publicroots.json"
SOURCES = ROOT / "build" / "publicroots-sources"

ISRG_ROOT_X1 = "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6"
COMMSCOPE_RSA_01 = "02bdf96e2a45dd9bf18fc7e1dbdf21a0379ba3c9c2610344cfd8d606fec1ed81"
DIGICERT_GLOBAL_ROOT_CA = "4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161"
COMODO_CA_CHROME = "1a0d20445de5ba1862d19ef880858cbce50102b36e8f0a040c3c69e74522fe6e"  # 2011 re-issue
COMODO_CA_MOZILLA = "0c2cd63df7806fa399ede809116b575bf87989f06518f9808c860503178baf66"  # 2006, same key


def _root(cert_sha256: str) -> PublicRoot:
    root, = (r for r in store().roots if r.facts.cert_sha256 == cert_sha256)
    return root


def _doc() -> dict:
    return json.loads(DATA.read_text("utf-8"))


def test_committed_file_equals_fresh_regeneration():
    out = subprocess.run([sys.executable, str(ROOT / "build" / "make_publicroots.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_schema_content_hash_and_verified_load_agree_with_the_bundled_store():
    doc = _doc()
    validate("publicroots", doc)
    assert doc["sha256"] == canonical_roots_sha256(doc["roots"])
    assert doc["size"] == len(doc["roots"]) == len(store().roots) == 221
    assert load_document(doc).summary() == store().summary()
    assert doc["sources"]["mozilla"]["release"] == "certifi 2026.10.19.post1"
    assert doc["sources"]["chrome"]["commit"] == "c076418dc96836106b8e93b3456fb9f97253dd39"


def test_tampered_documents_are_refused():
    doc = _doc()
    doc["roots"][0]["programs"] = ["mozilla", "chrome"] if doc["roots"][0]["programs"] != ["mozilla", "chrome"] else []
    with pytest.raises(SchemaError, match="content hash"):
        load_document(doc)
    doc = _doc()
    doc["roots"][0]["der"] = doc["roots"][1]["der"]
    doc["sha256"] = canonical_roots_sha256(doc["roots"])
    with pytest.raises(SchemaError, match="another SHA-256"):
        load_document(doc)
    doc = _doc()
    doc["roots"][0]["programs"] = ["microsoft"]
    with pytest.raises(SchemaError):
        load_document(doc)


def test_counts_per_program():
    roots = store().roots
    mozilla_now = {r.facts.cert_sha256 for r in roots if "mozilla" in r.programs}
    chrome_now = {r.facts.cert_sha256 for r in roots if "chrome" in r.programs}
    assert len(mozilla_now) == 117  # certifi 2026.10.19.post1's cacert.pem
    assert len(chrome_now) == 134   # root_store.textproto version_major 17
    assert len(mozilla_now & chrome_now) == 95
    assert len(chrome_now - mozilla_now) == 39
    assert sum(1 for r in roots if r.removed) == 103
    assert sum(1 for r in roots if r.removed and not r.trusted) == 65
    assert len(store()) == len(mozilla_now | chrome_now) == 156
    assert store().counts == {"mozilla": 117, "chrome": 134, "both": 95, "mozilla_only": 22, "chrome_only": 39,
                              "trusted": 156, "removed": 103, "removed_untrusted": 65}
    assert all(r.programs == tuple(p for p in PROGRAMS if p in r.programs) for r in roots)
    # what the store holds for Mozilla is exactly the pinned bundle
    bundle = {cert_facts(d).cert_sha256 for label, d in pem_blocks((SOURCES / "mozilla" / "cacert.pem").read_bytes())
              if label == "CERTIFICATE"}
    assert bundle == mozilla_now


def test_every_root_carries_the_facts_of_its_der():
    for root in store().roots:
        assert root.facts == cert_facts(root.facts.der)
        assert root.facts.self_issued and not root.facts.parse_error


def test_root_removed_by_mozilla_after_2024_2_2():
    root = _root(COMMSCOPE_RSA_01)
    assert root.facts.subject == "CN=CommScope Public Trust RSA Root-01,O=CommScope,C=US"
    assert root.programs == () and not root.trusted
    assert root.removed == {"program": "mozilla", "last_release": "certifi 2025.10.5",
                            "last_release_date": "2025-10-05"}
    assert store().root_for(cert_facts(root.facts.der)) is root
    assert not store().is_public(root.facts)
    releases = {r["version"]: r for r in json.loads((SOURCES / "mozilla" / "releases.json").read_text("utf-8"))}
    assert COMMSCOPE_RSA_01 in releases["2025.11.12"]["removed"]  # the release that dropped it


def test_root_mozilla_removed_that_chrome_still_trusts():
    root = _root(DIGICERT_GLOBAL_ROOT_CA)
    assert root.facts.subject == "CN=DigiCert Global Root CA,OU=www.digicert.com,O=DigiCert Inc,C=US"
    assert root.programs == ("chrome",) and root.trusted
    assert root.removed == {"program": "mozilla", "last_release": "certifi 2026.2.25",
                            "last_release_date": "2026-02-25"}
    assert store().is_public(cert_facts(root.facts.der))


def test_chrome_only_root_and_a_shared_key():
    chrome = _root(COMODO_CA_CHROME)
    old = _root(COMODO_CA_MOZILLA)
    assert chrome.programs == ("chrome",) and chrome.removed is None
    assert old.programs == () and old.removed["last_release"] == "certifi 2026.2.25"
    assert chrome.facts.spki_sha256 == old.facts.spki_sha256 and chrome.facts.subject_der == old.facts.subject_der
    # the certificate hash wins over the key...
    assert store().root_for(cert_facts(old.facts.der)) is old
    assert store().root_for(cert_facts(chrome.facts.der)) is chrome
    # ...and by key alone (another certificate with this key) the trusted root wins
    same_key = dataclasses.replace(cert_facts(old.facts.der), cert_sha256="0" * 64)
    assert store().root_for(same_key) is chrome and store().is_public(same_key)


def test_issuers_for_by_name_and_key_id_trusted_first():
    isrg = _root(ISRG_ROOT_X1)
    cert = isrg.certificate()
    ski = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    leaf, _ = issue_leaf(None, new_key(), "example.org", issuer_name=cert.subject, aki=ski)
    assert store().issuers_for(cert_facts(der(leaf))) == [isrg]
    assert store().issuer_is_public(cert_facts(der(leaf)))
    wrong_aki, _ = issue_leaf(None, new_key(), "example.org", issuer_name=cert.subject, aki=b"\x01" * 20)
    assert store().issuers_for(cert_facts(der(wrong_aki))) == []
    # GTS Root R1: the 2016 certificate Mozilla removed and the trusted re-issue share name and key
    r1 = _root("d947432abde7b7fa90fc2e6b59101b1280e0e1c7e4e40fa3c6887fff57a7f4cf")
    r1_old = _root("2a575471e31340bc21581cbd2cf13e158463203ece94bcf9d3cc196bf09a5472")
    named, _ = issue_leaf(None, new_key(), "example.org", issuer_name=r1.certificate().subject)
    assert store().issuers_for(cert_facts(der(named))) == [r1, r1_old]
    private, _ = make_root()
    assert store().issuers_for(cert_facts(der(private))) == [] and not store().issuer_is_public(cert_facts(der(private)))


def test_certificate_is_parsed_once_and_its_key_verifies():
    for sha in (ISRG_ROOT_X1, "69729b8e15a86efc177a57afb7171dfc64add28c2fca8cf1507e34453ccb1470"):  # RSA, ECDSA
        root = _root(sha)
        cert = root.certificate()
        assert cert is root.certificate()
        cert.verify_directly_issued_by(cert)  # self-signed: the DER carries a usable key
    with pytest.raises(Exception):  # noqa: B017 - InvalidSignature or ValueError: another root's key
        _root(ISRG_ROOT_X1).certificate().verify_directly_issued_by(_root(COMMSCOPE_RSA_01).certificate())


def test_load_pem_bundle_trusts_every_root_for_mozilla(tmp_path):
    private, _ = make_root()
    path = tmp_path / "bundle.pem"
    path.write_bytes(pem_chain(private) + base64.encodebytes(b"not a pem block"))
    roots = load_pem_bundle(path)
    assert len(roots) == 1 and roots.roots[0].programs == ("mozilla",) and roots.roots[0].removed is None
    assert roots.is_public(cert_facts(der(private)))
    assert mozilla is store and mozilla() is store()


def test_nothing_imports_certifi_at_run_time(tmp_path):
    """A check through the CLI with ``certifi`` made unimportable: the verdict still needs the public store."""
    root, key = make_root()
    leaf, _ = issue_leaf(root, key, "shop.example")
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pem_chain(leaf, root))
    code = (
        "import sys\n"
        "sys.modules['certifi'] = None  # any import of certifi raises ImportError from here on\n"
        "from native_host.cli import main\n"
        f"rc = main(['check', {str(chain)!r}, '--json'])\n"
        "from native_host.engine import publicroots\n"
        "assert publicroots._STORE is not None and len(publicroots._STORE) > 100\n"
        "sys.exit(rc)\n")
    env = {**os.environ, "ROOTSENTINEL_CONFIG": str(tmp_path / "no-config.json")}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["level"] == "interception"
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert "native_host.engine.publicroots" in imported and not any(m.split(".")[0] == "certifi" for m in imported)


def test_store_is_loaded_on_first_use_not_at_import():
    code = ("import sys\nimport native_host.messaging.host, native_host.engine.publicroots as p\n"
            "assert p._STORE is None\np.store()\nassert p._STORE is not None\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_schema_rejects_a_removed_record_without_its_release():
    doc = _doc()
    bad = copy.deepcopy(doc)
    entry = next(r for r in bad["roots"] if r["removed"])
    del entry["removed"]["last_release"]
    with pytest.raises(SchemaError):
        validate("publicroots", bad)
