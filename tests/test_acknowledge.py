"""Issue 24: "I know this root" (item 5) through the real host process, and ``installed_in`` on the probe of a
refused certificate (item 1).

- ``hello`` carries ``acknowledged_spki_sha256``; an interception verdict anchored in one of those keys is
  ``notice`` / ``acknowledged`` / ``acknowledged_root``, and the audit event written for it says the same;
- a banned root, a C=KZ root and a root the chain did not carry are never acknowledged;
- a probe with ``installed_in: true`` gets ``installed_in: []`` for a self-signed server whose certificate is
  in no store of this machine, and the store and command for one that is installed (a real NSS database).
"""

from __future__ import annotations

import json

from certkit import b64, der, issue_leaf, load_leaked, make_root, pem_chain
from hostkit import HostProcess, tls_server
from test_probe_cli import _key_pem
from test_scan import needs_certutil, nss_db

from native_host.engine.acknowledge import acknowledge, key_set
from native_host.engine.certfacts import cert_facts
from native_host.schemas import validate


def _private(cn: str = "Dev Tool Local Root", country: str | None = None):
    root, key = make_root(cn, country=country)
    leaf, _ = issue_leaf(root, key, "bank.example")
    return root, [b64(der(leaf)), b64(der(root))]


def _spki(cert) -> str:
    return cert_facts(der(cert)).spki_sha256


def _host(tmp_path, **config) -> HostProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return HostProcess(env={"ROOTSENTINEL_CONFIG": str(cfg), "HOME": str(home)})


def test_acknowledged_root_is_notice_and_the_audit_event_agrees(tmp_path):
    log = tmp_path / "audit.jsonl"
    root, chain = _private()
    other_root, other_chain = _private("Someone Else's Root")
    h = _host(tmp_path, audit=True, audit_log=str(log), installed_roots=False)
    try:
        before = h.request({"type": "check", "id": 1, "url": "https://bank.example/", "chain": chain})
        assert (before["level"], before["reason"]) == ("interception", "non_public_anchor")
        hello = h.request({"type": "hello", "id": 2, "acknowledged_spki_sha256": [_spki(root).upper(), "00" * 32]})
        assert hello["type"] == "hello"
        after = h.request({"type": "check", "id": 3, "url": "https://bank.example/", "chain": chain})
        validate("verdict.reply", after)
        assert (after["level"], after["category"], after["reason"]) == ("notice", "acknowledged", "acknowledged_root")
        assert after["names"]["root"] == "Dev Tool Local Root" and after["chain"][1]["matched"] is True
        assert "marked as one they know" in after["explanation"]
        other = h.request({"type": "check", "id": 4, "url": "https://other.example/", "chain": other_chain})
        assert other["level"] == "interception"  # only the acknowledged key
        h.request({"type": "hello", "id": 5, "acknowledged_spki_sha256": []})  # revoked
        again = h.request({"type": "check", "id": 6, "url": "https://third.example/", "chain": chain})
        assert again["level"] == "interception"
    finally:
        code, _, err = h.close()
    assert code == 0, err
    events = [json.loads(line) for line in log.read_text().splitlines()]
    # the same origin and chain before and after: the level differs, so both are written (audit de-duplicates by level)
    bank = [e for e in events if e["url"]["full"] == "https://bank.example/"]
    assert [e["rootsentinel"]["level"] for e in bank] == ["interception", "notice"], bank
    assert (bank[1]["rootsentinel"]["category"], bank[1]["rootsentinel"]["reason"]) == ("acknowledged", "acknowledged_root")
    assert bank[1]["rootsentinel"]["anchor"]["spki_sha256"] == _spki(root)
    assert [e["rootsentinel"]["level"] for e in events if e["url"]["full"] == "https://third.example/"] == ["interception"]


def test_banned_kz_and_unsent_roots_are_never_acknowledged(tmp_path):
    sf_cert, sf_key = load_leaked("superfish")
    sf_leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    kz_root, kz_chain = _private("Some Kazakh Root", country="KZ")
    root, key = make_root("Not Sent Root")
    leaf_only = [b64(der(issue_leaf(root, key, "bank.example")[0]))]
    h = _host(tmp_path, installed_roots=False)
    try:
        h.request({"type": "hello", "id": 1, "acknowledged_spki_sha256": [_spki(sf_cert), _spki(kz_root), _spki(root)]})
        banned = h.request({"type": "check", "id": 2, "chain": [b64(der(sf_leaf)), b64(der(sf_cert))]})
        assert banned["level"] == "banned"
        kz = h.request({"type": "check", "id": 3, "chain": kz_chain})
        assert (kz["level"], kz["reason"]) == ("interception", "kz_issuer")
        unsent = h.request({"type": "check", "id": 4, "chain": leaf_only})
        assert unsent["level"] == "interception"
        bad = h.request({"type": "hello", "id": 5, "acknowledged_spki_sha256": ["not-hex"]})
        assert bad["type"] == "error" and bad["code"] == "schema"
    finally:
        h.close()


def test_overlay_is_a_pure_function_of_the_verdict():
    root, chain = _private()
    from native_host.engine.blocklist import bundled
    from native_host.engine.chains import chain_from_base64
    from native_host.engine.publicroots import store
    from native_host.engine.verdict import Policy, judge

    verdict = judge(chain_from_base64(chain), bundled(), store(), Policy())
    assert acknowledge(dict(verdict), frozenset()) == verdict
    assert key_set(["A" * 64, "a" * 64, "x", 5, None]) == frozenset({"a" * 64})
    assert len(key_set(f"{i:064x}" for i in range(1000))) == 256
    assert acknowledge(verdict, key_set([_spki(root)]))["level"] == "notice"


def _self_signed(cn: str = "localhost"):
    """A plain self-signed server certificate (a router, a NAS, a dev server): its own anchor."""
    cert, key = make_root(cn)
    return cert, key


def test_probe_asking_installed_in_says_none_for_a_root_nothing_here_trusts(tmp_path):
    cert, key = _self_signed()
    h = _host(tmp_path)
    try:
        with tls_server(pem_chain(cert), _key_pem(key)) as port:
            plain = h.request({"type": "probe", "id": 1, "host": "127.0.0.1", "port": port})
            asked = h.request({"type": "probe", "id": 2, "host": "localhost", "port": port, "installed_in": True})
    finally:
        h.close()
    validate("verdict.reply", asked)
    assert plain["level"] == "interception" and "installed_in" not in plain  # not asked: as before
    assert asked["level"] == "interception" and asked["installed_in"] == []


@needs_certutil
def test_probe_asking_installed_in_names_the_store_that_trusts_it(tmp_path):
    cert, key = _self_signed("nas.local")
    home = tmp_path / "home"
    db = nss_db(home / ".pki/nssdb", ("my nas", "C,,", pem_chain(cert)))
    h = _host(tmp_path)
    try:
        with tls_server(pem_chain(cert), _key_pem(key)) as port:
            asked = h.request({"type": "probe", "id": 1, "host": "127.0.0.1", "port": port, "installed_in": True})
    finally:
        h.close()
    validate("verdict.reply", asked)
    assert asked["level"] == "interception"
    assert {"store": "nss", "location": f"sql:{db}", "remove": f"certutil -D -d sql:{db} -n 'my nas'"} in asked["installed_in"]
