"""Verdicts on real chains: the banned Kazakhstan roots, the leaked Superfish key, private and public roots."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cryptography import x509

from certkit import (LEAKED, SOURCES, b64, der, issue_leaf, load_leaked, make_root, new_key, pem_chain, security_info)
from native_host.engine.blocklist import bundled
from native_host.engine.certfacts import cert_facts, pem_blocks
from native_host.engine.chains import chain_from_base64, chain_from_bytes, chain_from_security_info
from native_host.engine.publicroots import mozilla
from native_host.engine.verdict import Chain, Policy, judge, worst

KZ_ENTRIES = [e for e in bundled().entries if e["category"] == "state-mitm" and e["evidence_file"]]


def _kz_cert(entry) -> x509.Certificate:
    (_, blob), = pem_blocks((SOURCES / entry["evidence_file"]).read_bytes())
    return x509.load_der_x509_certificate(blob)


def _kz_chain(entry):
    """leaf <- KZ root: the leaf names the root as issuer (signed by a stand-in key: we hold no KZ key;
    matching never verifies signatures), the root is the real certificate."""
    root = _kz_cert(entry)
    ski = x509.SubjectKeyIdentifier.from_public_key(root.public_key()).digest
    leaf, _ = issue_leaf(None, new_key(), "mail.example.org", issuer_name=root.subject, aki=ski)
    return leaf, root


def test_ten_kazakhstan_roots_with_certificates():
    assert len(KZ_ENTRIES) == 10


@pytest.mark.parametrize("entry", KZ_ENTRIES, ids=lambda e: e["spki_sha256"][:8])
def test_kazakhstan_root_banned_through_pem_file(entry, tmp_path):
    leaf, root = _kz_chain(entry)
    path = tmp_path / "chain.pem"
    path.write_bytes(pem_chain(leaf, root))
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path), "--json"],
                         capture_output=True, text=True)
    verdict = json.loads(out.stdout)
    assert out.returncode == 2
    assert (verdict["level"], verdict["category"]) == ("banned", "state-mitm")
    assert verdict["matched"]["index"] == 1 and verdict["matched"]["entry"]["spki_sha256"] == entry["spki_sha256"]
    assert verdict["matched"]["entry"]["country"] == "KZ"


@pytest.mark.parametrize("entry", KZ_ENTRIES, ids=lambda e: e["spki_sha256"][:8])
def test_kazakhstan_root_banned_through_security_info(entry, tmp_path):
    leaf, root = _kz_chain(entry)
    path = tmp_path / "secinfo.json"
    path.write_text(json.dumps(security_info([der(leaf), der(root)])))
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path), "--json"],
                         capture_output=True, text=True)
    verdict = json.loads(out.stdout)
    assert (out.returncode, verdict["level"], verdict["category"]) == (2, "banned", "state-mitm")
    assert verdict["evidence"] == "securityInfo"


def test_kazakhstan_roots_banned_through_host_protocol(host):
    for i, entry in enumerate(KZ_ENTRIES):
        leaf, root = _kz_chain(entry)
        reply = host.request({"type": "check", "id": i, "url": "https://mail.example.org/",
                              "chain": [b64(der(leaf)), b64(der(root))]})
        assert (reply["id"], reply["level"], reply["category"]) == (i, "banned", "state-mitm")
        reply = host.request({"type": "check", "id": f"s{i}", "securityInfo": security_info([der(leaf), der(root)])})
        assert (reply["id"], reply["level"], reply["category"]) == (f"s{i}", "banned", "state-mitm")
    assert host.close()[0] == 0


@pytest.mark.parametrize("entry", KZ_ENTRIES, ids=lambda e: e["spki_sha256"][:8])
def test_kazakhstan_root_not_sent_matched_by_issuer_and_aki(entry):
    leaf, root = _kz_chain(entry)
    verdict = judge(chain_from_base64([b64(der(leaf))]), bundled(), mozilla())
    assert (verdict["level"], verdict["category"], verdict["reason"]) == ("banned", "state-mitm", "blocklist_issuer")
    assert verdict["matched"]["by"] == "issuer_aki"
    assert verdict["matched"]["entry"]["spki_sha256"] == entry["spki_sha256"]
    assert verdict["anchor"]["sent"] is False


def test_2019_security_certificate_intermediate_matched_by_name_only():
    issuer = x509.Name([x509.NameAttribute(x509.oid.NameOID.COUNTRY_NAME, "KZ"),
                        x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Security Certificate")])
    leaf, _ = issue_leaf(None, new_key(), "www.facebook.com", issuer_name=issuer, aki=b"\x01" * 20)
    verdict = judge(chain_from_base64([b64(der(leaf))]), bundled(), mozilla())
    assert (verdict["level"], verdict["category"]) == ("banned", "state-mitm")
    assert verdict["matched"]["by"] == "issuer_name"
    assert "Security Certificate" in verdict["explanation"]


def test_unknown_kz_root_same_name_other_key_is_high_risk_interception():
    root, key = make_root("Information Security Certification Authority", country="KZ")
    leaf, _ = issue_leaf(root, key, "mail.example.org")
    verdict = judge(chain_from_base64([b64(der(leaf)), b64(der(root))]), bundled(), mozilla())
    assert (verdict["level"], verdict["reason"]) == ("interception", "kz_issuer")
    assert "Kazakhstan" in verdict["explanation"]


def test_superfish_leaf_banned_even_without_root():
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    with_root = judge(chain_from_base64([b64(der(leaf)), b64(der(sf_cert))]), bundled(), mozilla())
    assert (with_root["level"], with_root["category"], with_root["reason"]) == ("banned", "malware-mitm", "blocklist_spki")
    assert with_root["names"]["root"] == "Superfish, Inc."
    assert with_root["chain"][1]["matched"] and not with_root["chain"][0]["matched"]
    leaf_only = judge(chain_from_base64([b64(der(leaf))]), bundled(), mozilla())
    assert (leaf_only["level"], leaf_only["category"]) == ("banned", "malware-mitm")
    assert leaf_only["matched"]["by"] in ("issuer_aki", "issuer_name")


def test_private_root_is_interception_and_firefox_flag_agrees():
    root, key = make_root()
    leaf, _ = issue_leaf(root, key, "intranet.example")
    chain = [der(leaf), der(root)]
    v = judge(chain_from_base64([b64(d) for d in chain]), bundled(), mozilla())
    assert (v["level"], v["category"], v["reason"]) == ("interception", "unknown-interception", "non_public_anchor")
    assert v["anchor"] == {"index": 1, "public": False, "sent": True}
    v = judge(chain_from_security_info(security_info(chain, builtin_root=False)), bundled(), mozilla())
    assert (v["level"], v["reason"]) == ("interception", "not_builtin_root")


def test_allowlisted_corporate_root_is_notice():
    root, key = make_root("Example Corp Inspection Root")
    leaf, _ = issue_leaf(root, key, "intranet.example")
    spki = cert_facts(der(root)).spki_sha256
    policy = Policy.from_json({"allow_spki_sha256": [spki]})
    v = judge(chain_from_base64([b64(der(leaf)), b64(der(root))]), bundled(), mozilla(), policy)
    assert (v["level"], v["category"], v["reason"]) == ("notice", "allowlisted", "allowlisted_root")


def test_policy_ban_by_certificate_hash():
    root, key = make_root("Banned By Policy Root")
    leaf, _ = issue_leaf(root, key, "x.example")
    policy = Policy.from_json({"banned": [{"cert_sha256": cert_facts(der(root)).cert_sha256, "reason": "ex-vendor"}]})
    v = judge(chain_from_base64([b64(der(leaf)), b64(der(root))]), bundled(), mozilla(), policy)
    assert (v["level"], v["category"], v["reason"]) == ("banned", "policy", "policy_banned")
    assert v["matched"]["entry"]["name"] == "ex-vendor"


ISRG_ROOT_X1 = "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6"


def _public_root(cert_sha256: str = ISRG_ROOT_X1) -> bytes:
    """A real root of the bundled public store (ISRG Root X1: trusted by Mozilla and Chrome), as DER."""
    root, = (r for r in mozilla().roots if r.facts.cert_sha256 == cert_sha256)
    assert root.programs == ("mozilla", "chrome")
    return root.facts.der


def test_leaf_copying_a_mozilla_roots_name_and_aki_is_never_ok():
    """Before issue 11 this leaf (signed by a fresh key, naming a real root and its key id) was ``ok``."""
    root_der = _public_root()
    root = x509.load_der_x509_certificate(root_der)
    ski = x509.SubjectKeyIdentifier.from_public_key(root.public_key()).digest
    leaf, _ = issue_leaf(None, new_key(), "example.org", issuer_name=root.subject, aki=ski)
    for items in ([b64(der(leaf)), b64(root_der)], [b64(der(leaf))]):
        v = judge(chain_from_base64(items), bundled(), mozilla())
        assert (v["level"], v["reason"]) == ("interception", "imitated_issuer")
        assert v["path"]["bad_signature"] is True and v["anchor"]["public"] is False


def test_security_info_without_raw_der_uses_fingerprints():
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    info = security_info([der(leaf), der(sf_cert)], raw=False)
    v = judge(chain_from_security_info(info), bundled(), mozilla())
    assert (v["level"], v["category"]) == ("banned", "malware-mitm")


def test_insecure_and_empty_are_unknown_never_ok():
    v = judge(chain_from_security_info({"state": "insecure"}), bundled(), mozilla())
    assert (v["level"], v["reason"]) == ("unknown", "insecure")
    v = judge(Chain(certs=[]), bundled(), mozilla())
    assert (v["level"], v["reason"]) == ("unknown", "no_certificates")


def test_truncated_leaf_still_judged_by_its_banned_root():
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    v = judge(chain_from_base64([b64(der(leaf)[:-30]), b64(der(sf_cert))]), bundled(), mozilla())
    assert v["level"] == "banned"
    assert "truncated" in v["chain"][0]["parse_error"]


def test_worst():
    assert worst(["ok", "banned", "notice"]) == "banned"
    assert worst(["unknown", "ok"]) == "ok"
    assert worst(["unknown"]) == "unknown"
    assert worst([]) == "unknown"


def test_pem_file_with_one_dsdtestprovider_root():
    v = judge(chain_from_bytes((LEAKED / "dsdtestprovider.crt.pem").read_bytes()), bundled(), mozilla())
    assert (v["level"], v["category"]) == ("banned", "malware-mitm")
    assert v["chain"][0]["serial"].startswith("-5bb3c7b8")


NAME_ONLY_KZ = [e for e in bundled().entries if e["country"] == "KZ" and not e["evidence_file"]]


@pytest.mark.parametrize("entry", NAME_ONLY_KZ, ids=lambda e: e["name"][:30])
def test_kazakhstan_roots_known_only_by_name_are_banned_by_issuer(entry):
    assert entry["category"] in ("state-mitm", "distrusted-ca")
    """The 2019 "Security Certificate" intermediate and the 2015 national root: no certificate is public,
    only the name, so a chain whose top certificate names them as issuer is matched by name."""
    from native_host.engine import der as _der
    pairs = _der.parse_name_string(entry["subject"].split(" (")[0])
    oids = {"CN": x509.oid.NameOID.COMMON_NAME, "C": x509.oid.NameOID.COUNTRY_NAME}
    issuer = x509.Name([x509.NameAttribute(oids[k], v) for k, v in pairs])
    leaf, _ = issue_leaf(None, new_key(), "mail.example.org", issuer_name=issuer, aki=b"\x02" * 20)
    verdict = judge(chain_from_base64([b64(der(leaf))]), bundled(), mozilla())
    assert (verdict["level"], verdict["category"], verdict["matched"]["by"]) == ("banned", entry["category"], "issuer_name")
    assert verdict["matched"]["entry"]["name"] == entry["name"]
