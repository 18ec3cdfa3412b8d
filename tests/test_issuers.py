"""Issuers are matched by key and verified signature, never by name alone (issue 22 items 7 and 8, issue 24
item 3): an imitation of a public root's or a known public intermediate's name is interception; an issuer
must be a CA; a leaf whose public intermediate was not sent is judged by its real issuer, which the product
knows from its bundled intermediates (native_host/engine/data/intermediates.json)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from certkit import FIXTURES, b64, der, issue_leaf, make_root, new_key, pem_chain
from native_host.engine.blocklist import bundled
from native_host.engine.certfacts import cert_facts, pem_blocks
from native_host.engine.chains import chain_from_base64, chain_from_bytes
from native_host.engine.publicroots import PublicRoot, PublicRoots, store
from native_host.engine.verdict import judge

REPO = Path(__file__).parent.parent
LE = FIXTURES / "letsencrypt"
E7_LEAF = FIXTURES / "public-leaves" / "letsencrypt-org-e7.pem"
NOW = dt.datetime.now(dt.timezone.utc)


def _judge(certs, public=None, **kw) -> dict:
    return judge(chain_from_base64([b64(c if isinstance(c, bytes) else der(c)) for c in certs]), bundled(),
                 public or store(), **kw)


def _cli(tmp_path: Path, data: bytes, *extra: str) -> tuple[int, dict]:
    path = tmp_path / "chain.pem"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path), "--json", *extra],
                         capture_output=True, text=True, timeout=60)
    return out.returncode, json.loads(out.stdout)


def _public_root(cn: str) -> x509.Certificate:
    root = next(r for r in store().roots if r.trusted and r.facts.subject.startswith(f"CN={cn},"))
    return root.certificate()


def _ca(cn: str, issuer_cert, issuer_key, *, ca=True, path_length=None, key_usage=True, key=None):
    key = key or new_key()
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(issuer_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
    if key_usage is not None:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=not ca,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=ca and key_usage,
                                          crl_sign=ca and key_usage, encipher_only=False, decipher_only=False),
                            critical=True)
    return b.sign(issuer_key, hashes.SHA256()), key


# --- issue 22 item 7: names instead of keys -------------------------------------------------------------

@pytest.mark.parametrize("copy_ski", [False, True], ids=["fresh key id", "public root's key id copied"])
def test_private_root_named_digicert_global_root_g2_is_interception(tmp_path, copy_ski):
    real = _public_root("DigiCert Global Root G2")
    key = new_key()
    ski = (real.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value if copy_ski
           else x509.SubjectKeyIdentifier.from_public_key(key.public_key()))
    fake = (x509.CertificateBuilder().subject_name(real.subject).issuer_name(real.subject)
            .public_key(key.public_key()).serial_number(7).not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=300))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False).sign(key, hashes.SHA256()))
    leaf, _ = issue_leaf(fake, key, "bank.example")
    v = _judge([leaf])  # the fake root is not sent
    assert (v["level"], v["reason"], v["path"]["outcome"]) == ("interception", "imitated_issuer", "imitation")
    assert v["names"]["root"] == "DigiCert Global Root G2" and v["anchor"]["public"] is False
    assert "does not verify" in v["explanation"] and v["path"]["bad_signature"] is True
    code, cv = _cli(tmp_path, pem_chain(leaf))
    assert (code, cv["reason"]) == (1, "imitated_issuer")
    # sent, the fake root is a private anchor of that name: interception too
    assert _judge([leaf, fake])["level"] == "interception"


def test_leaf_naming_a_known_intermediate_with_another_key_is_interception():
    r11 = x509.load_pem_x509_certificate((LE / "r11.pem").read_bytes())
    leaf, _ = issue_leaf(None, new_key(), "bank.example", issuer_name=r11.subject, aki=b"\x01" * 20)
    v = _judge([leaf])
    assert (v["level"], v["reason"]) == ("interception", "imitated_issuer")
    assert v["names"]["root"] == "R11" and "public certificate authority" in v["explanation"]
    r11_ski = r11.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    leaf, _ = issue_leaf(None, new_key(), "bank.example", issuer_name=r11.subject, aki=r11_ski)
    assert _judge([leaf])["reason"] == "imitated_issuer"


def test_an_unverifiable_signature_stays_unknown():
    """A leaf Firefox gave without DER: nothing can be checked, so no claim of imitation either."""
    from native_host.engine.chains import chain_from_security_info
    from certkit import security_info

    real = _public_root("DigiCert Global Root G2")
    leaf, _ = issue_leaf(None, new_key(), "bank.example", issuer_name=real.subject)
    info = security_info([der(leaf)], raw=False)
    info["state"] = "broken"
    v = judge(chain_from_security_info(info), bundled(), store())
    assert v["level"] == "unknown"


# --- issue 22 item 8: an issuer must be a CA ------------------------------------------------------------

@pytest.fixture
def public_pki():
    """A root this test's store declares public, and an intermediate CA under it (pathLen 0)."""
    root, root_key = make_root("Issuers Test Public Root")
    inter, inter_key = _ca("Issuers Test Intermediate", root, root_key, path_length=0)
    public = PublicRoots([PublicRoot(cert_facts(der(root)), ("mozilla",), None)])
    return root, root_key, inter, inter_key, public


def test_control_a_proper_chain_is_ok(public_pki):
    root, root_key, inter, inter_key, public = public_pki
    leaf, _ = issue_leaf(inter, inter_key, "shop.example")
    assert _judge([leaf, inter], public)["level"] == "ok"


def test_leaf_signed_by_an_end_entity_certificate_is_not_ok(tmp_path, public_pki):
    root, root_key, inter, inter_key, public = public_pki
    ee, ee_key = _ca("www.shop.example", inter, inter_key, ca=False)  # a public CA's end-entity certificate
    assert _judge([ee, inter], public)["level"] == "ok"
    leaf, _ = issue_leaf(ee, ee_key, "bank.example")
    v = _judge([leaf, ee, inter], public)
    assert (v["level"], v["reason"], v["path"]["outcome"]) == ("interception", "issuer_not_ca", "not_a_ca")
    assert "cA=FALSE" in v["explanation"] and v["names"]["root"] == "www.shop.example"


def test_path_length_and_key_usage_are_enforced(public_pki):
    root, root_key, inter, inter_key, public = public_pki
    sub, sub_key = _ca("Issuers Test Sub CA", inter, inter_key)  # under pathLen 0: not allowed
    leaf, _ = issue_leaf(sub, sub_key, "bank.example")
    v = _judge([leaf, sub, inter], public)
    assert (v["level"], v["reason"]) == ("interception", "issuer_not_ca")
    assert "pathLenConstraint 0" in v["explanation"]
    nosign, nosign_key = _ca("Issuers Test No CertSign", root, root_key, key_usage=False)
    leaf, _ = issue_leaf(nosign, nosign_key, "bank.example")
    v = _judge([leaf, nosign], public)
    assert (v["level"], v["reason"]) == ("interception", "issuer_not_ca") and "keyCertSign" in v["explanation"]
    nobc_key = new_key()
    nobc = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "No BC")]))
            .issuer_name(root.subject).public_key(nobc_key.public_key()).serial_number(5)
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
            .sign(root_key, hashes.SHA256()))
    leaf, _ = issue_leaf(nobc, nobc_key, "bank.example")
    assert _judge([leaf, nobc], public)["reason"] == "issuer_not_ca"


# --- issue 24 item 3: public intermediates the product knows --------------------------------------------

def test_real_lets_encrypt_leaf_without_its_intermediate_is_ok(tmp_path):
    """letsencrypt.org's own leaf (issued by E7), sent alone as a server that forgot its intermediate would."""
    data = E7_LEAF.read_bytes()
    v = judge(chain_from_bytes(data), bundled(), store())
    assert (v["level"], v["reason"]) == ("ok", "public_anchor")
    assert v["path"]["indices"] == [0, None, None] and v["names"]["root"] == "ISRG Root X1"
    code, cv = _cli(tmp_path, data)
    assert (code, cv["level"]) == (0, "ok")


def test_bundled_intermediates_hold_the_current_lets_encrypt_ones():
    from native_host.engine.intermediates import bundled as intermediates

    known = intermediates()
    assert 900 <= len(known) <= 1300
    names = {"R10", "R11", "R12", "R13", "R14", "E5", "E6", "E7", "E8", "E9"}
    printable = x509.name._ASN1Type.PrintableString  # as Let's Encrypt encodes its names
    le = [x509.NameAttribute(NameOID.COUNTRY_NAME, "US", printable),
          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Let's Encrypt", printable)]
    for cn in names:
        subject = x509.Name([*le, x509.NameAttribute(NameOID.COMMON_NAME, cn, printable)])
        assert known.by_subject(subject.public_bytes()), cn
    (_, r11), = pem_blocks((LE / "r11.pem").read_bytes())
    assert cert_facts(r11).cert_sha256 in {f.cert_sha256 for f in known.by_subject(cert_facts(r11).subject_der)}


def test_committed_intermediates_equal_a_fresh_regeneration():
    out = subprocess.run([sys.executable, str(REPO / "build" / "make_intermediates.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_truly_unknown_issuer_with_an_aia_url_is_unknown_and_says_fetch(tmp_path):
    root, root_key = make_root("Somewhere Private Root")
    inter, inter_key = _ca("Somewhere Issuing CA", root, root_key)
    key = new_key()
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x.example")]))
            .issuer_name(inter.subject).public_key(key.public_key()).serial_number(3)
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://ca.invalid/issuer.crt"))]), critical=False)
            .sign(inter_key, hashes.SHA256()))
    v = _judge([leaf])
    assert (v["level"], v["reason"], v["path"]["outcome"]) == ("unknown", "missing_issuer", "missing_issuer")
    assert "--fetch-issuers" in v["explanation"] and "http://ca.invalid/issuer.crt" in v["explanation"]
    code, cv = _cli(tmp_path, pem_chain(leaf))
    assert (code, cv["reason"]) == (3, "missing_issuer")
    # the same leaf with its chain sent: a private root, interception as before
    assert _judge([leaf, inter, root])["reason"] == "non_public_anchor"
    # a proxy's leaf with no AIA URL, its root not sent: interception as before
    plain, _ = issue_leaf(inter, inter_key, "x.example")
    assert _judge([plain])["level"] == "interception"


def test_scan_calls_an_installed_anchor_public_only_when_a_public_root_signed_it():
    """``scan``: an installed trust anchor (not self-issued) that names a public root as its issuer is public
    only when that root's key verifies it; the name and a copied key id are not enough (issue 22 item 7)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from native_host.engine.verdict import Policy
    from native_host.scan.model import Installed, Store
    from native_host.scan.report import judge_place

    real = _public_root("DigiCert Global Root G2")
    ski = real.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    forged, _ = issue_leaf(None, ec.generate_private_key(ec.SECP256R1()), "x", issuer_name=real.subject, aki=ski,
                           ca=True, cn="Forged Issuing CA")
    item = Installed(der=der(forged), store=Store("linux-anchors", "/usr/local/share/ca-certificates"), anchor=True)
    place = judge_place(item, cert_facts(der(forged)), None, store(), Policy())
    assert (place.status, place.reason) == ("non-public", "non_public_anchor")
    (_, r11), = pem_blocks((LE / "r11.pem").read_bytes())  # the real R11, installed as an anchor
    item = Installed(der=r11, store=Store("linux-anchors", "/usr/local/share/ca-certificates"), anchor=True)
    assert judge_place(item, cert_facts(r11), None, store(), Policy()).status == "public"


def test_an_aia_url_that_answers_with_another_certificate_is_not_a_missing_issuer():
    """A proxy's leaf that copied the real site's AIA URL: the fetch answers with the real intermediate, whose
    name is not the leaf's issuer. That is evidence, not a missing issuer: interception as before."""
    from native_host.engine.certfacts import cert_facts as facts_of

    root, root_key = make_root("Copying Proxy Root")
    key = new_key()
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x.example")]))
            .issuer_name(root.subject).public_key(key.public_key()).serial_number(3)
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://r11.i.lencr.org/"))]), critical=False)
            .sign(root_key, hashes.SHA256()))
    (_, r11), = pem_blocks((LE / "r11.pem").read_bytes())
    v = _judge([leaf], fetch=lambda url: [r11])
    assert (v["level"], v["path"]["outcome"]) == ("interception", "unknown_issuer")
    assert _judge([leaf], fetch=lambda url: [])["reason"] == "missing_issuer"
    assert facts_of(r11).subject != facts_of(der(leaf)).issuer
