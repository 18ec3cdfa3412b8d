"""The catalogue of interception products: regenerated from its sources, valid, and naming every product it
lists, through the CLI and through the real host process, on roots that carry each product's documented
subject (or its shipped key) and a leaf under them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import certkit
from hostkit import HostProcess
from native_host.engine import catalogue as cat
from native_host.engine.blocklist import bundled as bundled_blocklist
from native_host.engine.certfacts import cert_facts
from native_host.engine.chains import chain_from_bytes
from native_host.engine.publicroots import mozilla
from native_host.engine.verdict import Policy, judge
from native_host.errors import SchemaError
from native_host.schemas import validate

ROOT = Path(__file__).parent.parent
DATA = ROOT / "native_host" / "engine" / "data" / "catalogue.json"
DOC = json.loads(DATA.read_text("utf-8"))
ENTRIES = DOC["entries"]
LEAKED = Path(__file__).parent / "fixtures" / "leaked-roots"
KEYS = ROOT / "build" / "blocklist-sources" / "keys"

_OIDS = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
         "C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME, "L": NameOID.LOCALITY_NAME}
_BMP = {("Fiddler Classic", "CN"), ("Fiddler Classic", "O")}
"""Fiddler's root encodes these as BMPString (the PEM in RickStrahl/WestWindWebSurge#77)."""


def _name(product: str, subject: dict[str, str]) -> x509.Name:
    attrs = []
    for key, value in subject.items():
        kwargs = {"_type": _ASN1Type.BMPString} if (product, key) in _BMP else {}
        # _validate=False: real roots carry C=PortSwigger or C=Internet, which cryptography would refuse
        attrs.append(x509.NameAttribute(_OIDS[key], value, _validate=False, **kwargs))
    return x509.Name(attrs)


def _root_with_subject(product: str, subject: dict[str, str]):
    key = certkit.new_key()
    name = _name(product, subject)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(certkit.NOW - certkit.dt.timedelta(days=1))
               .not_valid_after(certkit.NOW + certkit.dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return builder.sign(key, certkit.hashes.SHA256()), key


def _fixed_key_root(entry: dict):
    """(root certificate, its private key or None) for an entry recognised by the key it ships."""
    spki = next(r["spki_sha256"] for r in entry["rules"] if "spki_sha256" in r)
    for path in sorted(LEAKED.glob("*.crt.pem")):
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        if certkit.sha256(cert.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)) == spki:
            key = serialization.load_pem_private_key(
                (LEAKED / path.name.replace(".crt.pem", ".key.pem")).read_bytes(), password=None)
            return cert, key
    # A key without its private half (Cyberoam): a certificate carrying that public key, signed by a
    # throw-away key. The engine hashes the raw SPKI; it never needs the signature to be good.
    public = serialization.load_pem_public_key((KEYS / f"{spki}.pem").read_bytes())
    signer = certkit.new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{entry['product']} test root")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number()).not_valid_before(certkit.NOW - certkit.dt.timedelta(days=1))
            .not_valid_after(certkit.NOW + certkit.dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(signer, certkit.hashes.SHA256()))
    return cert, signer


def _cases():
    for entry in ENTRIES:
        for i, example in enumerate(entry["examples"]):
            yield pytest.param(entry, example, id=f"{entry['product']}-{i}")
        if any("spki_sha256" in r for r in entry["rules"]):
            yield pytest.param(entry, None, id=f"{entry['product']}-key")


CASES = list(_cases())


def _expected(entry: dict, root_subject_key: str | None = None) -> tuple[int, str, str]:
    """(CLI exit code, level, category) for a chain through this entry's root (``root_subject_key``: its
    subject's name key, for the banned-name rule)."""
    spki = next((r["spki_sha256"] for r in entry["rules"] if "spki_sha256" in r), None)
    hit = bundled_blocklist().lookup(None, spki) if spki else None
    if hit:  # the blocklist wins: banned stays banned, the catalogue only names it
        return 2, "banned", hit[0]["category"]
    same_name = bundled_blocklist().by_subject.get(root_subject_key) if root_subject_key else None
    if same_name:  # a banned root's exact name with another key: banned_name (issue 11)
        return 2, "banned", same_name[0]["category"]
    return 1, "interception", entry["kind"]


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    """Per case: (PEM chain file, [base64 DER leaf, root])."""
    out = {}
    base = tmp_path_factory.mktemp("catalogue")
    for n, param in enumerate(CASES):
        entry, example = param.values
        root, key = _fixed_key_root(entry) if example is None else _root_with_subject(entry["product"], example)
        leaf, _ = certkit.issue_leaf(root, key, f"site{n}.example")
        path = base / f"chain{n}.pem"
        path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM))
        out[param.id] = (path, [certkit.b64(certkit.der(leaf)), certkit.b64(certkit.der(root))],
                         cert_facts(certkit.der(root)).subject_key)
    return out


@pytest.fixture(scope="module")
def host():
    h = HostProcess()
    yield h
    h.close()


# --- the data file ----------------------------------------------------------------------------------------

def test_committed_file_equals_fresh_regeneration():
    out = subprocess.run([sys.executable, str(ROOT / "build" / "make_catalogue.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_schema_content_hash_and_coverage():
    validate("catalogue", DOC)
    assert DOC["sha256"] == cat.canonical_entries_sha256(ENTRIES)
    assert DOC["size"] == len(ENTRIES) == 32
    kinds = {k: sum(e["kind"] == k for e in ENTRIES) for k in cat.KINDS}
    assert kinds == {"antivirus": 4, "corporate-proxy": 7, "dev-tool": 16, "parental-control": 3, "adware": 2}
    products = {e["product"] for e in ENTRIES}
    assert {"Kaspersky", "Avast", "ESET", "Norton", "Zscaler", "FortiGate", "Netskope", "Cisco Umbrella",
            "Cloudflare Gateway", "mitmproxy", "Fiddler Classic", "Burp Suite", "Charles", "mkcert"} <= products
    for entry in ENTRIES:
        assert entry["sources"] and all(s.get("url", "").startswith("https://") or s.get("locator")
                                        for s in entry["sources"]), entry["product"]


def test_a_tampered_document_is_refused():
    doc = copy.deepcopy(DOC)
    doc["entries"][0]["kind"] = "adware" if doc["entries"][0]["kind"] != "adware" else "antivirus"
    with pytest.raises(SchemaError, match="content hash"):
        cat.load_document(doc)
    doc = copy.deepcopy(DOC)
    doc["entries"][0]["rules"] = [{"CN": "unanchored"}]
    with pytest.raises(SchemaError):
        cat.load_document(doc)


# --- identify ---------------------------------------------------------------------------------------------

def test_identify_is_anchored_case_insensitive_and_bounded():
    c = cat.bundled()
    assert c.identify([("CN", "MITMPROXY"), ("O", "mitmproxy")])["product"] == "mitmproxy"
    assert c.identify([("CN", "mitmproxy"), ("O", "mitmproxy evil")]) is None  # anchored: a prefix is not a match
    assert c.identify([("CN", "not mitmproxy"), ("O", "mitmproxy")]) is None
    assert c.identify([("CN", "Zscaler Root CA ")])["product"] == "Zscaler"  # trailing space (field report 23)
    assert c.identify([("O", "Fortinet"), ("CN", "FGT60FTK2009X8Z1")])["product"] == "FortiGate"  # serial as CN
    assert c.identify([("CN", "mitmproxy" * 200), ("O", "mitmproxy")]) is None
    assert c.identify([("CN", "x" * 5_000_000)]) is None
    assert c.identify([("CN", "DigiCert Global Root G2"), ("O", "DigiCert Inc")]) is None
    assert c.identify([]) is None
    assert c.identify_name(b"\x30\x03\x31\x01") is None  # undecodable Name: nobody's


# --- every entry, through the CLI and the host --------------------------------------------------------------

@pytest.mark.parametrize("entry, example", CASES)
def test_cli_names_the_product(entry, example, chains, request):
    path, _, subject_key = chains[request.node.callspec.id]
    code, level, category = _expected(entry, subject_key)
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == code, out.stdout + out.stderr
    verdict = json.loads(out.stdout)
    validate("verdict.reply", verdict)
    assert (verdict["level"], verdict["category"]) == (level, category)
    assert verdict["names"]["product"] == entry["product"]
    assert verdict["names"]["vendor"] == entry["vendor"]
    assert verdict["interceptor"]["kind"] == entry["kind"]
    assert verdict["interceptor"]["advice"] == entry["advice"]
    assert verdict["interceptor"]["by"] == ("spki_sha256" if example is None else "subject_name")
    if level == "interception":
        assert entry["product"] in verdict["explanation"]
        assert "name its root carries" in verdict["explanation"] or "key its root carries" in verdict["explanation"]


@pytest.mark.parametrize("entry, example", CASES)
def test_host_names_the_product(entry, example, chains, host, request):
    _, b64_chain, subject_key = chains[request.node.callspec.id]
    _, level, category = _expected(entry, subject_key)
    reply = host.request({"type": "check", "id": request.node.callspec.id, "chain": b64_chain})
    validate("verdict.reply", reply)
    assert (reply["level"], reply["category"]) == (level, category)
    assert reply["names"]["product"] == entry["product"]
    assert reply["interceptor"]["kind"] == entry["kind"]


def test_cli_text_says_who(tmp_path):
    entry = next(e for e in ENTRIES if e["product"] == "Zscaler")
    root, key = _root_with_subject("Zscaler", entry["examples"][0])
    leaf, _ = certkit.issue_leaf(root, key, "intranet.example")
    path = tmp_path / "zscaler.pem"
    path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM))
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith("INTERCEPTION (corporate-proxy)")
    assert "looks like: Zscaler (Zscaler, Inc.), corporate-proxy, by its root's name" in out.stdout


# --- what a name cannot do ----------------------------------------------------------------------------------

def _judge(*certs, policy=None):
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    return judge(chain_from_bytes(pem), bundled_blocklist(), mozilla(), policy)


def test_an_unknown_name_stays_unknown_interception():
    root, key = certkit.make_root("Totally Legit Security Root")
    leaf, _ = certkit.issue_leaf(root, key, "bank.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"]) == ("interception", "unknown-interception")
    assert "product" not in v["names"] and "interceptor" not in v


def test_the_real_superfish_root_stays_banned_and_is_named():
    root, key = certkit.load_leaked("superfish")
    leaf, _ = certkit.issue_leaf(root, key, "bank.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"]) == ("banned", "malware-mitm")
    assert v["names"]["product"] == "Superfish"
    assert v["interceptor"]["kind"] == "adware"


def test_another_key_under_superfish_name_is_banned_by_name_and_named_adware():
    """Issue 11: a fresh key under a banned root's exact subject is ``banned_name``; the catalogue still names it."""
    root, key = _root_with_subject("Superfish", next(e for e in ENTRIES if e["product"] == "Superfish")["examples"][0])
    leaf, _ = certkit.issue_leaf(root, key, "bank.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"], v["reason"]) == ("banned", "malware-mitm", "banned_name")
    assert (v["names"]["product"], v["interceptor"]["kind"]) == ("Superfish", "adware")


def test_a_kazakh_root_calling_itself_kaspersky_keeps_the_government_warning():
    key = certkit.new_key()
    root, key = certkit.make_root("Kaspersky Web Anti-Virus Certification Authority", key=key, country="KZ")
    leaf, _ = certkit.issue_leaf(root, key, "mail.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"], v["reason"]) == ("interception", "unknown-interception", "kz_issuer")
    assert "interceptor" not in v


def test_an_allowlisted_root_stays_notice_whatever_its_name():
    root, key = certkit.make_root("Zscaler Root CA")
    leaf, _ = certkit.issue_leaf(root, key, "intranet.example")
    spki = certkit.sha256(root.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    v = _judge(leaf, root, policy=Policy(frozenset({spki})))
    assert (v["level"], v["category"]) == ("notice", "allowlisted")


def test_a_leaf_only_chain_is_named_by_its_issuer():
    """mitmproxy sends only the leaf: the anchor is the leaf's issuer name."""
    root, key = _root_with_subject("mitmproxy", {"CN": "mitmproxy", "O": "mitmproxy"})
    leaf, _ = certkit.issue_leaf(root, key, "example.org")
    v = _judge(leaf)
    assert (v["level"], v["category"]) == ("interception", "dev-tool")
    assert v["anchor"]["sent"] is False and v["names"]["product"] == "mitmproxy"


# --- property: a name never changes a level -----------------------------------------------------------------

_KNOWN = [v for e in ENTRIES for ex in e["examples"] for v in ex.values()]
_VALUE = st.one_of(st.sampled_from(_KNOWN), st.text(min_size=1, max_size=80).filter(lambda s: s.strip()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cn=_VALUE, o=st.one_of(st.none(), _VALUE), ou=st.one_of(st.none(), _VALUE))
def test_whatever_a_private_root_calls_itself_the_level_is_interception(cn, o, ou):
    subject = {k: v for k, v in (("CN", cn), ("O", o), ("OU", ou)) if v is not None}
    root, key = _root_with_subject("property", subject)
    leaf, _ = certkit.issue_leaf(root, key, "bank.example")
    v = _judge(leaf, root)
    assert v["level"] == "interception"
    if "interceptor" in v:
        assert v["category"] == v["interceptor"]["kind"] and v["names"]["product"] == v["interceptor"]["product"]
    else:
        assert v["category"] == "unknown-interception"
