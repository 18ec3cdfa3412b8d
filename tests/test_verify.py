"""Path building by signatures (native_host/engine/verify.py) and the verdicts built on it (issue 11).

Real certificates: the Let's Encrypt intermediates under ISRG Root X1/X2 (tests/fixtures/letsencrypt), the
leaked Superfish root and key, the real Kazakhstan roots. Each "What was measured" case of issue 11 is
here through the engine, the CLI (exit codes) and the host protocol.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from certkit import (FIXTURES, LEAKED, SOURCES, b64, der, issue_leaf, load_leaked, make_root, new_key, pem_chain,
                     security_info)
from native_host.engine import verify
from native_host.engine.blocklist import bundled
from native_host.engine.certfacts import cert_facts, pem_blocks
from native_host.engine.chains import chain_from_base64, chain_from_bytes, chain_from_security_info
from native_host.engine.publicroots import PublicRoot, PublicRoots, store
from native_host.engine.verdict import Chain, Policy, judge
from native_host.errors import BadDER

LE = FIXTURES / "letsencrypt"


def _pem(name: str) -> bytes:
    (_, blob), = pem_blocks((LE / f"{name}.pem").read_bytes())
    return blob


def _cert(name: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(_pem(name))


def _judge(ders: list[bytes], **kw) -> dict:
    return judge(chain_from_base64([b64(d) for d in ders], url=kw.pop("url", None)), bundled(), store(), **kw)


def _cli(tmp_path: Path, data: bytes, *extra: str) -> tuple[int, dict, str]:
    path = tmp_path / "chain.pem"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path), "--json", *extra],
                         capture_output=True, text=True, timeout=60)
    return out.returncode, (json.loads(out.stdout) if out.stdout.strip() else {}), out.stderr


def _pem_of(*ders: bytes) -> bytes:
    return b"".join(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(d) + b"-----END CERTIFICATE-----\n"
                    for d in ders)


# --- real public paths ----------------------------------------------------------------------------------

@pytest.mark.parametrize("inter, root", [("r11", "isrg-root-x1"), ("r12", "isrg-root-x1"), ("e5", "isrg-root-x2"),
                                         ("e6", "isrg-root-x2"), ("e5-cross", "isrg-root-x1")])
def test_lets_encrypt_intermediates_are_ok_with_and_without_the_root(inter, root):
    for ders in ([_pem(inter)], [_pem(inter), _pem(root)]):
        v = _judge(ders)
        assert (v["level"], v["category"], v["reason"]) == ("ok", "public", "public_anchor"), v["explanation"]
        assert v["path"]["outcome"] == "public" and v["path"]["verified_by"] == "rootsentinel"
        assert v["anchor"]["sent"] is (len(ders) == 2)
        assert v["names"]["root"] == ("ISRG Root X1" if root.endswith("x1") else "ISRG Root X2")
    result = verify.build_path([cert_facts(_pem(inter))], store())
    assert result.anchor.root.facts.cert_sha256 == cert_facts(_pem(root)).cert_sha256
    assert result.indices == [0, None]


def test_junk_duplicates_and_unrelated_roots_do_not_disturb_a_real_path():
    r11, x1, x2, e6 = _pem("r11"), _pem("isrg-root-x1"), _pem("isrg-root-x2"), _pem("e6")
    junk = b"\x30\x03\x02\x01\x00"
    v = _judge([r11, junk, x2, e6, r11, x1])
    assert (v["level"], v["reason"]) == ("ok", "public_anchor")
    assert v["path"]["indices"] == [0, 5]
    assert [r["on_path"] for r in v["chain"]] == [True, False, False, False, False, True]


def test_the_wrong_public_root_appended_still_finds_the_right_one_in_the_store():
    v = _judge([_pem("e5"), _pem("isrg-root-x1")])  # E5 is issued by X2, not X1
    assert (v["level"], v["anchor"]["sent"]) == ("ok", False)
    assert v["names"]["root"] == "ISRG Root X2" and v["path"]["indices"] == [0, None]


def test_expiry_is_reported_and_does_not_decide():
    later = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    v = _judge([_pem("r11")], now=later)
    assert v["level"] == "ok" and v["path"]["expired"] is True and v["chain"][0]["expired"] is True
    v = _judge([_pem("r11")], now=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert v["path"]["expired"] is False
    root, key = make_root("Expired Proxy Root")
    leaf, _ = issue_leaf(root, key, "a.example")
    v = _judge([der(leaf), der(root)], now=later)
    assert (v["level"], v["path"]["expired"]) == ("interception", True)


def test_name_mismatch_is_reported_and_does_not_decide():
    root, key = make_root("Name Test Root")
    leaf, _ = issue_leaf(root, key, "right.example", sans=["right.example", "*.wild.example"])
    assert _judge([der(leaf), der(root)], url="https://right.example/")["path"]["name_matches"] is True
    assert _judge([der(leaf), der(root)], url="https://a.wild.example/")["path"]["name_matches"] is True
    assert _judge([der(leaf), der(root)], url="https://a.b.wild.example/")["path"]["name_matches"] is False
    v = _judge([der(leaf), der(root)], url="https://wrong.example/")
    assert (v["level"], v["path"]["name_matches"]) == ("interception", False)
    assert _judge([der(leaf), der(root)])["path"]["name_matches"] is None


# --- the cases of "What was measured" -------------------------------------------------------------------

def test_private_leaf_with_isrg_root_appended_is_interception(tmp_path, host):
    root, key = make_root("Appended Root Test CA")
    leaf, _ = issue_leaf(root, key, "bank.example")
    ders = [der(leaf), der(root), _pem("isrg-root-x1")]
    v = _judge(ders)
    assert (v["level"], v["reason"]) == ("interception", "non_public_anchor")
    assert v["names"]["root"] == "Appended Root Test CA" and v["path"]["indices"] == [0, 1]
    assert v["chain"][2]["public_root"] is True and v["chain"][2]["on_path"] is False
    # leaf + ISRG Root X1 only: the private root is not sent, its name is
    v = _judge([der(leaf), _pem("isrg-root-x1")])
    assert (v["level"], v["reason"], v["anchor"]["sent"]) == ("interception", "non_public_anchor", False)
    code, cv, _ = _cli(tmp_path, pem_chain(leaf, root) + (LE / "isrg-root-x1.pem").read_bytes())
    assert (code, cv["level"]) == (1, "interception")
    reply = host.request({"type": "check", "id": 1, "chain": [b64(d) for d in ders]})
    assert (reply["level"], reply["reason"], reply["path"]["outcome"]) == ("interception", "non_public_anchor",
                                                                          "private_anchor")


def test_superfish_leaf_with_isrg_root_appended_stays_banned(tmp_path, host):
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    x1 = _pem("isrg-root-x1")
    v = _judge([der(leaf), x1])
    assert (v["level"], v["category"], v["reason"]) == ("banned", "malware-mitm", "blocklist_issuer")
    v = _judge([der(leaf), der(sf_cert), x1])
    assert (v["level"], v["reason"]) == ("banned", "blocklist_spki")
    code, cv, _ = _cli(tmp_path, pem_chain(leaf) + (LE / "isrg-root-x1.pem").read_bytes())
    assert (code, cv["level"]) == (2, "banned")
    reply = host.request({"type": "check", "id": 2, "chain": [b64(der(leaf)), b64(x1)]})
    assert (reply["level"], reply["category"]) == ("banned", "malware-mitm")


def test_leaf_copying_isrg_name_and_key_id_is_not_ok(tmp_path, host):
    """Signed by another key, the leaf names ISRG Root X1 and carries its key id. The store has that root's
    key and the signature fails: an imitation of the public root's name, so ``interception``
    (``imitated_issuer``, issue 22 item 7; before, ``unknown``/``incomplete_chain``)."""
    x1 = _cert("isrg-root-x1")
    ski = x509.SubjectKeyIdentifier.from_public_key(x1.public_key()).digest
    leaf, _ = issue_leaf(None, new_key(), "bank.example", issuer_name=x1.subject, aki=ski)
    for ders in ([der(leaf)], [der(leaf), _pem("isrg-root-x1")]):
        v = _judge(ders)
        assert (v["level"], v["reason"], v["path"]["outcome"]) == ("interception", "imitated_issuer", "imitation")
        assert v["path"]["bad_signature"] is True and v["anchor"]["public"] is False
        assert "ISRG Root X1" in v["explanation"] and "does not verify" in v["explanation"]
    code, cv, _ = _cli(tmp_path, pem_chain(leaf, x1))
    assert (code, cv["reason"]) == (1, "imitated_issuer")
    reply = host.request({"type": "check", "id": 3, "chain": [b64(der(leaf))]})
    assert (reply["level"], reply["reason"]) == ("interception", "imitated_issuer")


def test_a_forged_intermediate_under_a_real_root_is_not_ok():
    """A CA certificate named like R11, carrying R11's key id, but with another key, and a leaf under it."""
    r11 = _cert("r11")
    fake_key = new_key()
    fake_r11 = (x509.CertificateBuilder().subject_name(r11.subject).issuer_name(r11.issuer)
                .public_key(fake_key.public_key()).serial_number(1)
                .not_valid_before(r11.not_valid_before_utc).not_valid_after(r11.not_valid_after_utc)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(r11.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value, critical=False)
                .sign(new_key(), __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()))
    leaf, _ = issue_leaf(fake_r11, fake_key, "bank.example")
    v = _judge([der(leaf), der(fake_r11), _pem("isrg-root-x1")])
    assert v["level"] != "ok"
    assert (v["level"], v["reason"]) == ("interception", "imitated_issuer")
    assert v["path"]["indices"] == [0, 1]


def test_garbage_then_isrg_root_is_never_ok(tmp_path, host):
    garbage = b"\x30\x82\x01\x00" + b"\x00" * 16
    v = _judge([garbage, _pem("isrg-root-x1")])
    assert (v["level"], v["reason"]) == ("unknown", "unparseable_leaf")
    assert "not an X.509 certificate" in v["explanation"]
    reply = host.request({"type": "check", "id": 4, "chain": [b64(garbage), b64(_pem("isrg-root-x1"))]})
    assert (reply["level"], reply["reason"]) == ("unknown", "unparseable_leaf")
    code, cv, _ = _cli(tmp_path, _pem_of(garbage, _pem("isrg-root-x1")))
    assert (code, cv["reason"]) == (3, "unparseable_leaf")


def test_pem_holding_base64_of_plain_text_is_not_interception(tmp_path):
    with pytest.raises(BadDER, match="not an X.509 certificate"):
        chain_from_bytes(_pem_of(b"this is not a certificate at all, just words"))
    code, out, err = _cli(tmp_path, _pem_of(b"this is not a certificate at all, just words"))
    assert code == 3 and (out["type"], out["code"]) == ("error", "bad_der")  # --json: one error object (issue 10)
    assert err.count("\n") == 1 and "not an X.509 certificate" in err and "Traceback" not in err


def test_security_info_is_built_in_root_false_is_never_overridden():
    chain = [_pem("r11"), _pem("isrg-root-x1")]  # in the store, but this Firefox says it is not built in
    v = judge(chain_from_security_info(security_info(chain, builtin_root=False)), bundled(), store())
    assert (v["level"], v["reason"]) == ("interception", "not_builtin_root")
    assert v["path"]["verified_by"] == "browser"
    v = judge(chain_from_security_info(security_info(chain, builtin_root=True)), bundled(), store())
    assert v["level"] == "ok"


def test_security_info_broken_is_verified_here():
    x1 = _cert("isrg-root-x1")
    ski = x509.SubjectKeyIdentifier.from_public_key(x1.public_key()).digest
    leaf, _ = issue_leaf(None, new_key(), "bank.example", issuer_name=x1.subject, aki=ski)
    info = security_info([der(leaf), _pem("isrg-root-x1")], builtin_root=True)
    info["state"] = "broken"
    v = judge(chain_from_security_info(info), bundled(), store())
    assert (v["level"], v["reason"], v["path"]["verified_by"]) == ("interception", "imitated_issuer", "rootsentinel")
    info = security_info([_pem("r11"), _pem("isrg-root-x1")])
    info["state"] = "broken"
    assert judge(chain_from_security_info(info), bundled(), store())["level"] == "ok"


def _banned_subjects():
    out = [("superfish", x509.load_pem_x509_certificate((LEAKED / "superfish.crt.pem").read_bytes()).subject)]
    for e in bundled().entries:
        if e["evidence_file"] and e["name"].startswith("Qaznet Trust Network / Kazakhstan ISCA"):
            (_, blob), = pem_blocks((SOURCES / e["evidence_file"]).read_bytes())
            subject = x509.load_der_x509_certificate(blob).subject
            cn = subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            if cn not in {n for n, _ in out}:
                out.append((cn, subject))
    return out


@pytest.mark.parametrize("label, subject", _banned_subjects(), ids=lambda x: x if isinstance(x, str) else "")
def test_fresh_key_root_with_a_banned_subject_is_banned_name(label, subject, tmp_path):
    key = new_key()
    root = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(7).not_valid_before(dt.datetime(2024, 1, 1)).not_valid_after(dt.datetime(2034, 1, 1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()))
    leaf, _ = issue_leaf(root, key, "mail.example.org")
    v = _judge([der(leaf), der(root)])
    assert (v["level"], v["reason"], v["matched"]["by"]) == ("banned", "banned_name", "subject_name")
    assert v["category"] in ("state-mitm", "malware-mitm")
    assert "rotated or imitating" in v["explanation"] and v["anchor"]["sent"] is True
    # the root not sent: named as the leaf's issuer, with another key id
    v = _judge([der(leaf)])
    assert (v["level"], v["reason"], v["anchor"]["sent"]) == ("banned", "banned_name", False)
    code, _, _ = _cli(tmp_path, pem_chain(leaf, root))
    assert code == 2


def test_shop_kz_leaf_under_a_us_proxy_root_is_not_kz():
    root, key = make_root("Example US Proxy CA", country="US")
    leaf_key = new_key()
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "shop.kz")]))
            .issuer_name(root.subject).public_key(leaf_key.public_key()).serial_number(3)
            .not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2035, 1, 1))
            .sign(key, __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()))
    for ders in ([der(leaf), der(root)], [der(leaf)]):
        v = _judge(ders)
        assert (v["level"], v["reason"]) == ("interception", "non_public_anchor")
    kz_root, kz_key = make_root("Example Kazakh Proxy", country="KZ")
    kz_leaf, _ = issue_leaf(kz_root, kz_key, "shop.example")
    assert _judge([der(kz_leaf), der(kz_root)])["reason"] == "kz_issuer"
    assert _judge([der(kz_leaf)])["reason"] == "kz_issuer"  # named as the leaf's issuer


def test_formerly_public_root_has_its_own_reason():
    root, key = make_root("Removed Public Root Test")
    leaf, _ = issue_leaf(root, key, "old.example")
    removed = {"program": "mozilla", "last_release": "certifi 2024.2.2", "last_release_date": "2024-02-02"}
    roots = PublicRoots([PublicRoot(cert_facts(der(root)), (), removed)])
    for ders in ([der(leaf), der(root)], [der(leaf)]):
        v = judge(chain_from_base64([b64(d) for d in ders]), bundled(), roots)
        assert (v["level"], v["category"], v["reason"]) == ("unknown", None, "formerly_public_root")
        assert "Mozilla removed it after 2024-02-02" in v["explanation"] and "not interception" in v["explanation"]
    trusted = PublicRoots([PublicRoot(cert_facts(der(root)), ("mozilla",), None)])
    assert judge(chain_from_base64([b64(der(leaf))]), bundled(), trusted)["level"] == "ok"


def test_lone_self_signed_input_is_a_root_and_sentences_do_not_repeat(tmp_path):
    root, _ = make_root("Lone Test Root")
    code, v, _ = _cli(tmp_path, pem_chain(root))
    assert code == 1 and v["chain"][0]["role"] == "root"
    assert "anchored here" in v["explanation"] and "this site" not in v["explanation"]
    qaznet = next(e for e in bundled().entries if e["evidence_file"] and e["name"].endswith(": Qaznet Trust Network"))
    v = judge(chain_from_bytes((SOURCES / qaznet["evidence_file"]).read_bytes()), bundled(), store())
    assert v["level"] == "banned" and v["chain"][0]["role"] == "root"
    assert "Qaznet Trust Network / Kazakhstan ISCA: Qaznet Trust Network" not in v["explanation"]
    assert v["explanation"].count("Qaznet Trust Network") == 2  # the root's name, and the entry's own part
    policy = Policy.from_json({"banned": [{"cert_sha256": cert_facts(der(root)).cert_sha256, "reason": "ex-vendor"}]})
    v = judge(Chain([cert_facts(der(root))]), bundled(), store(), policy)
    assert "banned root banned" not in v["explanation"] and "your organisation has banned" in v["explanation"]


def test_allowlisted_root_counts_only_on_the_path():
    corp, corp_key = make_root("Corp Inspection Root")
    other, other_key = make_root("Some Other Root")
    leaf, _ = issue_leaf(other, other_key, "x.example")
    policy = Policy.from_json({"allow_spki_sha256": [cert_facts(der(corp)).spki_sha256]})
    v = judge(chain_from_base64([b64(der(leaf)), b64(der(other)), b64(der(corp))]), bundled(), store(), policy)
    assert v["level"] == "interception"  # the allow-listed root was appended, it did not sign the chain
    leaf2, _ = issue_leaf(corp, corp_key, "x.example")
    v = judge(chain_from_base64([b64(der(leaf2)), b64(der(corp))]), bundled(), store(), policy)
    assert v["level"] == "notice"


# --- bounds and caches ----------------------------------------------------------------------------------

def test_cycles_and_depth_are_bounded():
    # two CA certificates that sign each other's names: A issued by B, B issued by A
    ka, kb = new_key(), new_key()
    na = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cycle A")])
    nb = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cycle B")])
    sha256 = __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256

    def ca(subject, issuer, key, signer):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(dt.datetime(2025, 1, 1))
                .not_valid_after(dt.datetime(2035, 1, 1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(signer, sha256()))
    a, b = ca(na, nb, ka, kb), ca(nb, na, kb, ka)
    leaf, _ = issue_leaf(a, ka, "loop.example")
    result = verify.build_path([cert_facts(d) for d in (der(leaf), der(a), der(b))], store())
    assert result.outcome == "unknown_issuer" and result.indices == [0, 1, 2]
    v = _judge([der(leaf), der(a), der(b)])
    assert v["level"] == "interception"


def test_link_results_are_cached_and_bounded():
    verify.clear_caches()
    child, parent = cert_facts(_pem("r11")), store().issuers_for(cert_facts(_pem("r11")))[0]
    assert verify.link_error(child, parent.facts) is None
    assert verify._LINKS.get((child.cert_sha256, parent.facts.cert_sha256), False) is None
    assert verify._CERTS.max_entries == 2048 and verify._LINKS.size == 8192
    lru = verify._LRU(2)
    for i in range(5):
        lru.put(i, i)
    assert (lru.get(0), lru.get(3), lru.get(4)) == (None, 3, 4)


def test_more_cases_through_the_host_protocol(host):
    chain = [_pem("r11"), _pem("isrg-root-x1")]
    info = security_info(chain, builtin_root=False)
    reply = host.request({"type": "check", "id": "ff", "securityInfo": info})
    assert (reply["level"], reply["reason"]) == ("interception", "not_builtin_root")
    reply = host.request({"type": "check", "id": "le", "chain": [b64(d) for d in chain]})
    assert (reply["level"], reply["reason"], reply["path"]["indices"]) == ("ok", "public_anchor", [0, 1])
    sf_subject = x509.load_pem_x509_certificate((LEAKED / "superfish.crt.pem").read_bytes()).subject
    key = new_key()
    fake_sf = (x509.CertificateBuilder().subject_name(sf_subject).issuer_name(sf_subject).public_key(key.public_key())
               .serial_number(9).not_valid_before(dt.datetime(2024, 1, 1)).not_valid_after(dt.datetime(2034, 1, 1))
               .sign(key, __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()))
    leaf, _ = issue_leaf(fake_sf, key, "bank.example")
    reply = host.request({"type": "check", "id": "sf", "chain": [b64(der(leaf)), b64(der(fake_sf))]})
    assert (reply["level"], reply["category"], reply["reason"]) == ("banned", "malware-mitm", "banned_name")
    us_root, us_key = make_root("Example US Proxy CA", country="US")
    kz_leaf, _ = issue_leaf(us_root, us_key, "shop.kz")
    reply = host.request({"type": "check", "id": "kz", "chain": [b64(der(kz_leaf)), b64(der(us_root))]})
    assert reply["reason"] == "non_public_anchor"


REMOVED = [r for r in getattr(store(), "roots", ())
           if not r.trusted and bundled().lookup(r.facts.cert_sha256, r.facts.spki_sha256) is None]


@pytest.mark.skipif(not REMOVED, reason="this store has no removed roots (the bundled store of issue 11a has)")
def test_a_real_removed_root_is_formerly_public(tmp_path):
    root = REMOVED[0]
    v = judge(Chain([root.facts]), bundled(), store())
    assert (v["level"], v["reason"]) == ("unknown", "formerly_public_root")
    assert "this is not interception" in v["explanation"]
    code, cv, _ = _cli(tmp_path, _pem_of(root.facts.der))
    assert (code, cv["reason"]) == (3, "formerly_public_root")
