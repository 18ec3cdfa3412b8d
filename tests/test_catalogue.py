"""The catalogue of interception products and banned-root owners: regenerated from its sources, valid, matching
names case- and punctuation-insensitively on word boundaries, refusing sources that would name a root wrongly,
and never changing a verdict's level. Real certificates are in tests/test_catalogue_real.py."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import certkit
from native_host.engine import catalogue as cat
from native_host.engine.blocklist import bundled as bundled_blocklist
from native_host.engine.chains import chain_from_bytes
from native_host.engine.publicroots import mozilla
from native_host.engine.verdict import Policy, judge
from native_host.errors import SchemaError
from native_host.schemas import validate

ROOT = Path(__file__).parent.parent
DATA = ROOT / "native_host" / "engine" / "data" / "catalogue.json"
DOC = json.loads(DATA.read_text("utf-8"))
ENTRIES = DOC["entries"]
BY_ID = {e["id"]: e for e in ENTRIES}


def load_generator():
    """build/make_catalogue.py as a module (build/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_catalogue", ROOT / "build" / "make_catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the data file ----------------------------------------------------------------------------------------

def test_committed_file_equals_fresh_regeneration():
    out = subprocess.run([sys.executable, str(ROOT / "build" / "make_catalogue.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_schema_content_hash_and_coverage():
    validate("catalogue", DOC)
    assert DOC["sha256"] == cat.canonical_entries_sha256(ENTRIES)
    assert DOC["size"] == len(ENTRIES) >= 80
    kinds = {k: sum(e["kind"] == k for e in ENTRIES) for k in cat.KINDS}
    assert all(kinds[k] >= 1 for k in cat.KINDS), kinds
    products = [e for e in ENTRIES if e["kind"] in cat.PRODUCT_KINDS]
    assert len(products) >= 50
    for entry in ENTRIES:
        assert entry["sources"] and all(s.get("url", "").startswith("https://") or s.get("locator")
                                        for s in entry["sources"]), entry["id"]
        assert entry["rules"] or entry["keys"] or entry["blocklist"], entry["id"]
        assert ("owner" in entry) == (entry["kind"] in cat.BANNED_KINDS), entry["id"]
    # every blocklist group has exactly one owner
    groups = {e["name"].split(": ", 1)[0] for e in bundled_blocklist().entries}
    owned = [g for e in ENTRIES for g in e["blocklist"]]
    assert sorted(owned) == sorted(set(owned)) and set(owned) == groups


def test_a_tampered_document_is_refused():
    doc = copy.deepcopy(DOC)
    doc["entries"][0]["kind"] = "adware" if doc["entries"][0]["kind"] != "adware" else "antivirus"
    with pytest.raises(SchemaError, match="content hash"):
        cat.load_document(doc)
    doc = copy.deepcopy(DOC)
    doc["entries"][0]["rules"] = [[{"phrase": ""}]]
    with pytest.raises(SchemaError):
        cat.load_document(doc)


# --- words and identify -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Avast Web/Mail Shield Root", ["avast", "web", "mail", "shield", "root"]),
    ("DO_NOT_TRUST_FiddlerRoot", ["do", "not", "trust", "fiddler", "root"]),
    ("NodeMITMProxyCA", ["node", "mitm", "proxy", "ca"]),
    ("support@zscaler.com", ["support", "zscaler", "com"]),
    ("ＺＳＣＡＬＥＲ Root", ["zscaler", "root"]),  # full-width letters (NFKC)
    ("НЕГІЗГІ КУӘЛАНДЫРУШЫ", ["негізгі", "куәландырушы"]),
    ("--- !!! ---", []),
])
def test_words(text, expected):
    assert cat.words(text) == expected


def _c(*pairs):
    return cat.Catalogue("t", "0" * 64, [dict({"keys": [], "blocklist": [], "not": []}, **p) for p in pairs])


def test_a_phrase_matches_across_case_spacing_and_punctuation_on_word_boundaries():
    c = _c({"id": "z", "product": "Z", "rules": [[{"phrase": "zscaler.com"}], [{"phrase": "web mail shield"}]]})
    assert c.identify([("emailAddress", "support@ZSCALER.com")])["id"] == "z"
    assert c.identify([("CN", "WebMailShield Root")])["id"] == "z"
    assert c.identify([("CN", "Web/Mail-Shield")])["id"] == "z"
    assert c.identify([("emailAddress", "support@notzscaler.com")]) is None  # not a word boundary
    assert c.identify([("CN", "zscaler.community")]) is None
    assert c.identify([("L", "zscaler.com")]) is None  # locality is not looked at


def test_conditions_attributes_whole_not_and_ambiguity():
    c = _c({"id": "m", "product": "M", "rules": [[{"phrase": "mitmproxy", "in": ["CN"], "whole": True}]]},
           {"id": "s", "product": "S", "rules": [[{"phrase": "sophos", "in": ["O"]}, {"phrase": "nsg", "in": ["OU"]}]],
            "not": [{"phrase": "internal"}]},
           {"id": "a", "product": "A", "rules": [[{"phrase": "acme"}]]},
           {"id": "b", "product": "B", "rules": [[{"phrase": "acme corp"}]]},
           {"id": "d", "product": "D", "rules": [[{"phrase": "dadeschools.net", "in": ["DC"]}]]},
           {"id": "k", "product": "K", "rules": [[{"phrase": "isca", "in": ["O"], "whole": True},
                                                 {"phrase": "kz", "in": ["C"], "whole": True}]]})
    assert c.identify([("CN", "MITMProxy")])["id"] == "m"
    assert c.identify([("CN", "mitmproxy hermit")]) is None  # whole value
    assert c.identify([("O", "mitmproxy")]) is None  # only CN
    assert c.identify([("O", "Sophos"), ("OU", "NSG")])["id"] == "s"
    assert c.identify([("O", "Sophos"), ("OU", "NSG"), ("CN", "Sophos Internal CA")]) is None  # ruled out
    assert c.identify([("O", "Sophos")]) is None  # both conditions
    assert c.identify([("CN", "Acme Root")])["id"] == "a"
    assert c.identify([("CN", "Acme Corp Root")]) is None  # two entries claim it: nobody is named
    assert [e["id"] for e in c.candidates([("CN", "Acme Corp Root")])] == ["a", "b"]
    assert c.identify([("CN", "x"), ("DC", "dadeschools"), ("DC", "net")])["id"] == "d"  # DCs read as one name
    assert c.identify([("O", "ISCA"), ("C", "KZ")])["id"] == "k"
    assert c.identify([("O", "ISCA"), ("C", "KZT")]) is None


def test_identify_is_bounded_and_never_raises():
    c = cat.bundled()
    assert c.identify([("CN", "mitmproxy" * 200)]) is None
    assert c.identify([("CN", "x" * 5_000_000)]) is None
    assert c.identify([("CN", "Zscaler Root CA")] + [("OU", "x")] * cat.ATTRIBUTE_CAP) is not None
    assert c.identify([("OU", "x")] * cat.ATTRIBUTE_CAP + [("CN", "Zscaler Root CA")]) is None  # read up to the cap
    padded = "Zscaler " + " ".join(["x"] * (cat.WORD_CAP - 1))
    assert c.identify([("CN", padded)])["id"] == "zscaler"
    assert c.identify([("CN", padded + " x")]) is None  # more words than any real name: never matches
    assert c.identify([("OU", " ".join(["y"] * cat.WORD_CAP))] * 8 + [("CN", "Zscaler Root CA")]) is None  # budget
    assert c.identify([("CN", "Zscaler Root CA ")])["id"] == "zscaler"  # trailing space (field report 23)
    assert c.identify([("O", "Fortinet"), ("CN", "FGT60FTK2009X8Z1")])["id"] == "fortigate"  # serial as CN
    assert c.identify([("CN", "DigiCert Global Root G2"), ("O", "DigiCert Inc")]) is None
    assert c.identify([]) is None
    assert c.identify_name(b"\x30\x03\x31\x01") is None  # undecodable Name: nobody's
    assert c.identify_name(b"") is None
    assert cat.name_root(b"\x30\x03\x31\x01") is None


def test_a_banned_owner_is_found_by_its_blocklist_group():
    c = cat.bundled()
    assert c.for_blocklist("Qaznet Trust Network / Kazakhstan ISCA: Information Security Certification Authority")[
        "owner"] == "Government of Kazakhstan"
    assert c.for_blocklist("DigiNotar")["kind"] == "compromised-ca"
    assert c.for_blocklist("Nobody: x") is None
    assert c.for_blocklist(None) is None


# --- the generator refuses what would name a root wrongly ---------------------------------------------------

@pytest.fixture()
def sources(tmp_path, monkeypatch):
    """A copy of the catalogue's sources the generator reads, to break on purpose."""
    gen = load_generator()
    dest = tmp_path / "catalogue-sources"
    shutil.copytree(gen.SOURCES, dest)
    for name, value in (("SOURCES", dest), ("PRODUCTS", dest / "products.json"),
                        ("CERTIFICATES", dest / "certificates.json"), ("PROVENANCE", dest / "PROVENANCE.md")):
        monkeypatch.setattr(gen, name, value)
    return gen, dest


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text("utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def _product(doc, pid):
    return next(p for p in doc["products"] if p["id"] == pid)


def test_the_generator_builds_the_committed_catalogue(sources):
    gen, _ = sources
    doc, table = gen.build()
    assert doc == DOC
    assert "| **all** |" in table


@pytest.mark.parametrize("change, message", [
    # a rule too broad for the private PKIs: the Microsoft and Cisco roots kept as negatives carry these words
    (lambda d: _product(d, "cisco-umbrella")["rules"].append([{"phrase": "cisco"}]), "own root is named"),
    # a rule a public root satisfies
    (lambda d: _product(d, "zscaler")["rules"].append([{"phrase": "digicert"}]), "public root"),
    # an example no longer named: Securly's root says 'Securly, Inc', not 'Securly Filter'
    (lambda d: _product(d, "securly").update(rules=[[{"phrase": "securly filter"}]]), "an example of securly"),
    # two entries claiming one root name nobody
    (lambda d: _product(d, "avast").update(rules=[[{"phrase": "portswigger"}]]), "an example of burp-suite"),
    # a banned root named by another owner
    (lambda d: _product(d, "securly")["rules"].append([{"phrase": "diginotar"}]), "banned as diginotar"),
    # a blocklist group without its owner
    (lambda d: _product(d, "diginotar").update(blocklist=[]), "without an owner"),
    (lambda d: _product(d, "diginotar")["blocklist"].append("No Such Group"), "not in the blocklist"),
    (lambda d: _product(d, "zscaler")["rules"].append([{"phrase": "a b c d e f g h i"}]), "has 9 words"),
    (lambda d: _product(d, "trustcor")["blocklist"].append("DigiNotar"), "two owners"),
    (lambda d: _product(d, "securly").update(blocklist=["TrustCor"]), "kind must be one of"),
])
def test_the_generator_refuses_a_product_source(sources, change, message):
    gen, dest = sources
    _edit(dest / "products.json", change)
    with pytest.raises(SystemExit, match=message):
        gen.build()


def test_the_generator_refuses_a_certificate_that_is_not_what_its_record_says(sources):
    gen, dest = sources
    doc = json.loads((dest / "certificates.json").read_text("utf-8"))
    rec = next(c for c in doc["certificates"] if c.get("entry") == "securly")
    # another certificate in the record's file: the hashes no longer agree
    other = next(c for c in doc["certificates"] if c.get("entry") == "zscaler")
    shutil.copy(dest / other["file"], dest / rec["file"])
    (dest / "certificates.json").write_text(json.dumps(doc), "utf-8")
    with pytest.raises(SystemExit, match="hashes differ"):
        gen.build()


def test_the_generator_refuses_a_certificate_that_is_not_a_ca(sources):
    gen, dest = sources
    leaf, _ = certkit.issue_leaf(*certkit.make_root("x"), "leaf.example")
    der = certkit.der(leaf)
    h = certkit.sha256(der)
    spki = certkit.sha256(leaf.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    (dest / "private-pki" / "crowe-llp" / f"{h[:16]}.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))

    def add(doc):
        doc["certificates"].append({"file": f"private-pki/crowe-llp/{h[:16]}.pem", "cert_sha256": h, "spki_sha256": spki,
                                    "subject": "CN=leaf.example", "private_pki": {"owner": "x", "sector": "company"},
                                    "found": {"repo": "a/b", "path": "c", "commit": "0" * 40}, "says": "a leaf, not a CA"})
    _edit(dest / "certificates.json", add)
    with pytest.raises(SystemExit, match="not a CA"):
        gen.build()


# --- what a name cannot do ----------------------------------------------------------------------------------

def _judge(*certs, policy=None):
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    return judge(chain_from_bytes(pem), bundled_blocklist(), mozilla(), policy)


def _root(attrs):
    key = certkit.new_key()
    name = x509.Name([x509.NameAttribute(oid, value, _validate=False) for oid, value in attrs])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(certkit.NOW - certkit.dt.timedelta(days=1))
            .not_valid_after(certkit.NOW + certkit.dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, certkit.hashes.SHA256()))
    return cert, key


def test_an_unknown_name_stays_unknown_interception():
    root, key = certkit.make_root("Totally Legit Security Root")
    leaf, _ = certkit.issue_leaf(root, key, "bank.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"]) == ("interception", "unknown-interception")
    assert "product" not in v["names"] and "interceptor" not in v


def test_the_real_superfish_root_stays_banned_and_names_its_owner():
    root, key = certkit.load_leaked("superfish")
    leaf, _ = certkit.issue_leaf(root, key, "bank.example")
    v = _judge(leaf, root)
    validate("verdict.reply", v)
    assert (v["level"], v["category"]) == ("banned", "malware-mitm")
    assert v["interceptor"] | {"catalogue": None} == {
        "product": "Superfish", "vendor": "Superfish, Inc. (Komodia engine)", "kind": "vendor",
        "owner": "Superfish, Inc.", "advice": "vendor-root", "by": "spki_sha256", "catalogue": None}


def test_another_key_under_a_kazakh_root_name_is_banned_by_name_and_names_the_state():
    """A rotated ISCA root: banned_name (issue 11), and the owner of its blocklist group is named."""
    root, key = _root([(NameOID.COUNTRY_NAME, "KZ"), (NameOID.ORGANIZATION_NAME, "ISCA"),
                       (NameOID.COMMON_NAME, "Information Security Certification Authority")])
    leaf, _ = certkit.issue_leaf(root, key, "mail.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"], v["reason"]) == ("banned", "state-mitm", "banned_name")
    assert (v["interceptor"]["kind"], v["interceptor"]["owner"]) == ("state", "Government of Kazakhstan")


def test_a_kazakh_root_of_a_new_name_keeps_its_warning_and_names_the_state():
    root, key = _root([(NameOID.COUNTRY_NAME, "KZ"), (NameOID.ORGANIZATION_NAME, "ISCA"),
                       (NameOID.LOCALITY_NAME, "Astana"),
                       (NameOID.COMMON_NAME, "Information Security Certification Authority 2027")])
    leaf, _ = certkit.issue_leaf(root, key, "mail.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"], v["reason"]) == ("interception", "unknown-interception", "kz_issuer")
    assert (v["interceptor"]["kind"], v["interceptor"]["owner"]) == ("state", "Government of Kazakhstan")
    assert "Kazakhstan" in v["explanation"]


def test_a_kazakh_root_calling_itself_kaspersky_keeps_the_government_warning():
    root, key = certkit.make_root("Kaspersky Web Anti-Virus Certification Authority", key=certkit.new_key(),
                                  country="KZ")
    leaf, _ = certkit.issue_leaf(root, key, "mail.example")
    v = _judge(leaf, root)
    assert (v["level"], v["category"], v["reason"]) == ("interception", "unknown-interception", "kz_issuer")
    assert "interceptor" not in v


def test_a_banned_owner_name_on_an_unbanned_root_is_interception_of_that_kind():
    """A new root of the Russian Ministry's name (not the banned subject): interception, named the state's."""
    root, key = _root([(NameOID.COUNTRY_NAME, "RU"),
                       (NameOID.ORGANIZATION_NAME, "The Ministry of Digital Development and Communications"),
                       (NameOID.COMMON_NAME, "Russian Trusted Root CA 2")])
    leaf, _ = certkit.issue_leaf(root, key, "gosuslugi.example")
    v = _judge(leaf, root)
    validate("verdict.reply", v)
    assert (v["level"], v["category"]) == ("interception", "state-mitm")
    assert v["interceptor"]["owner"].startswith("Government of Russia")
    assert "a name is only a claim" in v["explanation"]


def test_an_allowlisted_root_stays_notice_whatever_its_name():
    root, key = certkit.make_root("Zscaler Root CA")
    leaf, _ = certkit.issue_leaf(root, key, "intranet.example")
    spki = certkit.sha256(root.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    v = _judge(leaf, root, policy=Policy(frozenset({spki})))
    assert (v["level"], v["category"]) == ("notice", "allowlisted")


def test_a_policy_ban_names_nobody():
    root, key = certkit.make_root("Zscaler Root CA")
    leaf, _ = certkit.issue_leaf(root, key, "intranet.example")
    spki = certkit.sha256(root.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    v = _judge(leaf, root, policy=Policy(banned={spki: "not ours"}))
    assert (v["level"], v["reason"]) == ("banned", "policy_banned") and "interceptor" not in v


def test_a_leaf_only_chain_is_named_by_its_issuer():
    """mitmproxy sends only the leaf: the anchor is the leaf's issuer name."""
    root, key = _root([(NameOID.COMMON_NAME, "mitmproxy"), (NameOID.ORGANIZATION_NAME, "mitmproxy")])
    leaf, _ = certkit.issue_leaf(root, key, "example.org")
    v = _judge(leaf)
    assert (v["level"], v["category"]) == ("interception", "dev-tool")
    assert v["anchor"]["sent"] is False and v["names"]["product"] == "mitmproxy"


# --- property: a name never changes a level -----------------------------------------------------------------

_KNOWN = ["Zscaler Root CA", "Sophos SSL CA_X", "mitmproxy", "Charles Proxy CA (1 Jan 2020, x)", "XK72 Ltd",
          "Superfish, Inc.", "DigiNotar Root CA", "Russian Trusted Root CA", "netSkope Inc", "O=Acme"]
_VALUE = st.one_of(st.sampled_from(_KNOWN), st.text(min_size=1, max_size=80).filter(lambda s: s.strip()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cn=_VALUE, o=st.one_of(st.none(), _VALUE), ou=st.one_of(st.none(), _VALUE))
def test_whatever_a_private_root_calls_itself_the_level_is_interception_or_banned_by_name(cn, o, ou):
    attrs = [(oid, v) for oid, v in ((NameOID.COMMON_NAME, cn), (NameOID.ORGANIZATION_NAME, o),
                                     (NameOID.ORGANIZATIONAL_UNIT_NAME, ou)) if v is not None]
    root, key = _root(attrs)
    leaf, _ = certkit.issue_leaf(root, key, "bank.example")
    v = _judge(leaf, root)
    assert v["level"] in ("interception", "banned")
    if v["level"] == "banned":
        assert v["reason"] == "banned_name"  # only a banned root's exact subject is banned without its key
        return
    if "interceptor" in v:
        kind = v["interceptor"]["kind"]
        assert v["category"] == cat.BANNED_KIND_CATEGORY.get(kind, kind)
        assert v["names"]["product"] == v["interceptor"]["product"]
    else:
        assert v["category"] == "unknown-interception"
