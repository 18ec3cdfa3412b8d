"""Every shared setting does what docs/enterprise.md says, in the system config and in the managed settings
(issue 23 item 4, issue 22 item 15): ``probing: false`` makes the host connect nowhere (probes, AIA fetches),
``audit`` turns events on and off (managed over config), ``mode`` / ``notifications`` reach the extension in
the ``hello`` reply. The real host process over pipes, real certificates, real local servers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading

import pytest

from certkit import b64, der, issue_leaf, load_leaked, make_root
from hostkit import HostProcess
from native_host.messaging import aia
from native_host.messaging.host import Service
from native_host.schemas import validate
from test_aia import _ca, _leaf, http_server, loopback_one
from native_host.engine.certfacts import cert_facts
from native_host.engine.publicroots import PublicRoot, PublicRoots


@contextlib.contextmanager
def listener():
    """A TCP socket on 127.0.0.1 that counts the connections made to it. Yields (port, count())."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.close()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1], lambda: len(accepted)
    finally:
        stop.set()
        thread.join(2)
        srv.close()


def _host(tmp_path, **config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return HostProcess(env={"ROOTSENTINEL_CONFIG": str(path)})


def _superfish_b64(host: str = "bank.example") -> list[str]:
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, host)
    return [b64(der(leaf)), b64(der(sf_cert))]


@pytest.mark.parametrize("where", ["config", "hello"])
def test_probing_false_answers_probes_unknown_and_connects_nowhere(tmp_path, where):
    h = _host(tmp_path, probing=False, installed_roots=False) if where == "config" else _host(tmp_path, installed_roots=False)
    try:
        hello = {"type": "hello", "id": 1, "client": "chromium/1.0"}
        if where == "hello":
            hello["policy"] = {"probing": False}
        reply = h.request(hello)
        validate("hello.reply", reply)
        assert reply["settings"]["probing"] is False
        with listener() as (port, count):
            v = h.request({"type": "probe", "id": 2, "host": "127.0.0.1", "port": port, "url": f"https://127.0.0.1:{port}/"})
            assert count() == 0
        validate("verdict.reply", v)
        assert (v["level"], v["reason"], v["evidence"]) == ("unknown", "probing_disabled", "probe")
        assert "probing disabled by policy" in v["explanation"].lower()
        assert v["probe"]["error"] == "probing disabled by policy"
    finally:
        code, _, err = h.close()
    assert code == 0, err


def test_managed_probing_true_wins_over_config_false(tmp_path):
    """Managed settings win where both set a key: the probe then connects (and fails on a non-TLS socket)."""
    h = _host(tmp_path, probing=False, installed_roots=False)
    try:
        assert h.request({"type": "hello", "id": 1, "policy": {"probing": True}})["settings"]["probing"] is True
        with listener() as (port, count):
            v = h.request({"type": "probe", "id": 2, "host": "127.0.0.1", "port": port})
            assert count() == 1
        assert v["reason"] == "probe_failed"
        # a later hello without the key: the system config's value again
        assert h.request({"type": "hello", "id": 3})["settings"]["probing"] is False
    finally:
        h.close()


@pytest.fixture
def aia_pki(monkeypatch):
    monkeypatch.setattr(aia, "public_address", loopback_one)  # 127.0.0.1 stands for a public server
    root, root_key = make_root("AIA Settings Test Public Root")
    inter, inter_key = _ca("AIA Settings Test Intermediate", root, root_key)
    public = PublicRoots([PublicRoot(cert_facts(der(root)), ("mozilla",), None)])
    return inter, inter_key, public


def test_probing_false_fetches_no_missing_issuer(aia_pki):
    inter, inter_key, public = aia_pki
    hits = []
    with http_server({"/i.crt": der(inter)}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        msg = {"type": "check", "id": 1, "chain": [b64(der(leaf))]}
        off = Service(public=public, probing=False)
        v = off.check(msg)
        assert off._fetcher is None or off.fetcher.fetches == 0
        assert v["level"] != "ok"
        assert v["aia"] == [{"url": f"{base}/i.crt", "outcome": "skipped", "reason": "probing disabled by policy"}]
        assert "probing disabled by policy" in v["explanation"]
        # the same service once a hello policy allows probing: fetched, verified, ok
        on = Service(public=public, probing=False)
        on.hello({"type": "hello", "id": 0, "policy": {"probing": True}})
        v = on.check(msg)
        hits.append(on.fetcher.fetches)
    assert (v["level"], v["reason"]) == ("ok", "public_anchor") and hits == [1]


def test_probing_false_in_host_check_defers_nothing(tmp_path, aia_pki):
    """The host's main thread: a check that would need an AIA fetch is answered at once, skipped."""
    inter, inter_key, _ = aia_pki
    with http_server({"/i.crt": der(inter)}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        h = _host(tmp_path, probing=False, installed_roots=False)
        try:
            v = h.request({"type": "check", "id": 1, "chain": [b64(der(leaf))]})
        finally:
            h.close()
    assert v["aia"][0]["outcome"] == "skipped" and v["aia"][0]["reason"] == "probing disabled by policy"


def _events(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.parametrize("config_audit,policy_audit,expected", [
    (True, False, 0),   # policy --no-audit over a config that audits: nothing written
    (False, True, 1),   # managed audit on, config silent on it: written to the config's destination
    (True, None, 1),    # no managed key: the config decides
    (False, None, 0),
])
def test_audit_managed_over_config(tmp_path, config_audit, policy_audit, expected):
    log = tmp_path / "audit.jsonl"
    h = _host(tmp_path, audit=config_audit, audit_log=str(log), installed_roots=False)
    try:
        hello = {"type": "hello", "id": 1, "client": "firefox/1.0"}
        if policy_audit is not None:
            hello["policy"] = {"audit": policy_audit}
        assert h.request(hello)["settings"]["audit"] is bool(expected)
        assert h.request({"type": "check", "id": 2, "url": "https://bank.example/", "chain": _superfish_b64()})["level"] == "banned"
        blocked = h.request({"type": "blocked", "id": 3, "url": "https://bank.example/"})
        assert blocked["audited"] is bool(expected)
    finally:
        code, _, err = h.close()
    assert code == 0, err
    events = _events(log)
    assert len(events) == 2 * expected  # the banned verdict and the page-blocked event, or nothing
    if expected:
        assert {e["event"]["action"] for e in events} >= {"page-blocked"}


def test_mode_and_notifications_in_config_reach_the_extension(tmp_path):
    h = _host(tmp_path, mode="enforce", notifications=False, capture="debugger", installed_roots=False)
    try:
        reply = h.request({"type": "hello", "id": 1})
    finally:
        h.close()
    validate("hello.reply", reply)
    assert reply["config_error"] is None
    assert reply["settings"] == {"mode": "enforce", "notifications": False, "capture": "debugger",
                                 "probing": True, "audit": False}


def test_config_without_those_keys_says_only_probing_and_audit(tmp_path):
    h = _host(tmp_path, installed_roots=False)
    try:
        assert h.request({"type": "hello", "id": 1})["settings"] == {"probing": True, "audit": False}
    finally:
        h.close()


def test_allow_user_acknowledge_false_in_config_ignores_acknowledged_roots(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from certkit import sha256

    root, key = make_root("Settings Test Dev Root")
    leaf, _ = issue_leaf(root, key, "dev.example")
    spki = sha256(root.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    chain = [b64(der(leaf)), b64(der(root))]
    levels = {}
    for allow in (True, False):
        h = _host(tmp_path, allow_user_acknowledge=allow, installed_roots=False)
        try:
            h.request({"type": "hello", "id": 1, "acknowledged_spki_sha256": [spki]})
            levels[allow] = h.request({"type": "check", "id": 2, "chain": chain})["level"]
        finally:
            h.close()
    assert levels == {True: "notice", False: "interception"}


def test_a_config_with_a_wrong_type_is_refused_with_its_key(tmp_path):
    h = _host(tmp_path, probing="no")
    try:
        reply = h.request({"type": "hello", "id": 1})
    finally:
        h.close()
    assert "probing" in reply["config_error"] and reply["settings"]["probing"] is True
