"""``installed_in`` on banned verdicts (issue 14, item 7): the real host process with a throw-away HOME
holding a real NSS database (certutil) with the real Superfish root; the switch, non-banned verdicts and a
scan that fails or hangs."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import threading
import time

from certkit import b64, der, issue_leaf, load_leaked, make_root
from hostkit import HostProcess
from test_scan import SUPERFISH_PEM, needs_certutil, nss_db

from native_host.messaging.host import Host, Service
from native_host.scan.installed import InstalledRoots
from native_host.schemas import validate

NICK = "Superfish; $(touch x)"


def _superfish_chain() -> list[str]:
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    return [b64(der(leaf)), b64(der(sf_cert))]


def _private_chain() -> list[str]:
    root, key = make_root("Test Private Inspection Root")
    leaf, _ = issue_leaf(root, key, "bank.example")
    return [b64(der(leaf)), b64(der(root))]


def _home(tmp_path):
    home = tmp_path / "home"
    db = nss_db(home / ".pki/nssdb", (NICK, "C,,", SUPERFISH_PEM))
    return home, db


def _host(tmp_path, home, config: dict | None = None, extra_env: dict | None = None) -> HostProcess:
    cfg = tmp_path / "config.json"
    if config is not None:
        cfg.write_text(json.dumps(config))
    return HostProcess(env={"HOME": str(home), "ROOTSENTINEL_CONFIG": str(cfg), **(extra_env or {})})


@needs_certutil
def test_banned_verdict_names_the_nss_db_and_its_certutil_command(tmp_path):
    home, db = _home(tmp_path)
    h = _host(tmp_path, home)
    try:
        reply = h.request({"type": "check", "id": 1, "chain": _superfish_chain()})
        validate("verdict.reply", reply)
        assert reply["level"] == "banned"
        places = [p for p in reply["installed_in"] if p["location"] == f"sql:{db}"]
        assert places == [{"store": "nss", "location": f"sql:{db}",
                           "remove": f"certutil -D -d sql:{db} -n 'Superfish; $(touch x)'"}]
        ok = h.request({"type": "check", "id": 2, "chain": _private_chain()})  # interception: never the field
        validate("verdict.reply", ok)
        assert ok["level"] == "interception" and "installed_in" not in ok
        again = h.request({"type": "check", "id": 3, "chain": _superfish_chain()})  # cached
        assert again["installed_in"] == reply["installed_in"]
    finally:
        h.close()


@needs_certutil
def test_switch_off_leaves_the_field_out(tmp_path):
    home, _ = _home(tmp_path)
    h = _host(tmp_path, home, {"installed_roots": False})
    try:
        reply = h.request({"type": "check", "id": 1, "chain": _superfish_chain()})
        validate("verdict.reply", reply)
        assert reply["level"] == "banned" and "installed_in" not in reply
    finally:
        h.close()


@needs_certutil
def test_a_hanging_scan_does_not_delay_the_verdict(tmp_path):
    """A legacy ``cert8.db`` is the one NSS store read with ``certutil``: one that never ends is bounded."""
    home = tmp_path / "home"
    (home / ".pki/nssdb").mkdir(parents=True)
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"dbm:{home / '.pki/nssdb'}"], check=True,
                   capture_output=True)
    pidfile = tmp_path / "certutil.pid"
    fake = tmp_path / "certutil"
    fake.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 60\n")
    fake.chmod(0o755)
    h = _host(tmp_path, home, extra_env={"ROOTSENTINEL_NSS_CERTUTIL": str(fake)})
    try:
        start = time.monotonic()
        reply = h.request({"type": "check", "id": 1, "chain": _superfish_chain()})
        assert time.monotonic() - start < 8
        validate("verdict.reply", reply)
        assert reply["level"] == "banned" and "installed_in" not in reply
        start = time.monotonic()
        reply = h.request({"type": "check", "id": 2, "chain": _superfish_chain()})  # no second wait
        assert time.monotonic() - start < 1.5 and "installed_in" not in reply
    finally:
        h.close()
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except (ProcessLookupError, ValueError):
                pass


def _serve(service: Service, messages: list[dict]) -> list[dict]:
    data = b"".join(struct.pack("=I", len(p)) + p for p in (json.dumps(m).encode() for m in messages))
    r, w = os.pipe()
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(os.fdopen(r, "rb").read()))
    reader.start()
    Host(io.BytesIO(data), w, service).serve()
    os.close(w)
    reader.join()
    raw, replies = out[0], []
    while raw:
        (n,) = struct.unpack("=I", raw[:4])
        replies.append(json.loads(raw[4:4 + n]))
        raw = raw[4 + n:]
    return replies


def test_a_failing_scan_leaves_the_verdict_intact(capfd):
    def boom():
        raise RuntimeError("store exploded\nsecond line")

    service = Service()
    service.enable_installed(InstalledRoots(scan=boom))
    replies = _serve(service, [{"type": "check", "id": 1, "chain": _superfish_chain()},
                               {"type": "check", "id": 2, "chain": _superfish_chain()}])
    for reply in replies:
        validate("verdict.reply", reply)
        assert reply["level"] == "banned" and "installed_in" not in reply
    err = capfd.readouterr().err
    assert err.count("installed-roots scan failed") == 1 and "store exploded second line" in err  # one line, once


def test_scan_runs_only_for_banned_and_is_cached_with_a_ttl():
    calls = []
    now = [1000.0]
    from native_host.engine.certfacts import cert_facts

    sf_spki = cert_facts(der(load_leaked("superfish")[0])).spki_sha256

    def scan():
        calls.append(1)
        return {sf_spki: [{"store": "nss", "location": "sql:/h/.pki/nssdb", "remove": "certutil -D ..."}]}

    service = Service()
    roots = InstalledRoots(scan=scan, clock=lambda: now[0])
    service.enable_installed(roots)
    verdict = service.check({"type": "check", "id": 1, "chain": _private_chain()})
    assert "installed_in" not in verdict and calls == []  # not banned: no scan
    service.check({"type": "check", "id": 2, "chain": _superfish_chain()})
    verdict = service.check({"type": "check", "id": 3, "chain": _superfish_chain()})
    validate("verdict.reply", verdict)
    assert verdict["installed_in"][0]["store"] == "nss" and len(calls) == 1
    now[0] += 301  # past the TTL: scanned again
    service.check({"type": "check", "id": 4, "chain": _superfish_chain()})
    assert len(calls) == 2


def test_config_switch_defaults_on(tmp_path):
    from native_host.enterprise.config import load_system_config

    cfg = tmp_path / "config.json"
    assert load_system_config(cfg).installed_roots is True  # no file
    cfg.write_text('{"installed_roots": false}')
    config = load_system_config(cfg)
    assert config.error is None and config.installed_roots is False


def test_items_are_terminal_safe_and_bounded():
    from native_host.scan.installed import MAX_TEXT, item_of
    from native_host.scan.remove import Step

    db = "sql:/home/ana/\u202eevil\x1b[31m"
    step = Step("nss", db, "n\u2028ick", "banned", [["certutil", "-D", "-d", db, "-n", "n\u2028ick"]], "text",
                "nss-delete")
    item = item_of(step)
    assert item["store"] == "nss"
    for text in (item["location"], item["remove"]):
        assert not any(ch in text for ch in "\u202e\x1b\u2028"), text
    assert "\\u202e" in item["location"] and "\\x1b" in item["remove"]
    manual = Step("anchors", "/x/bundle.pem", None, "banned", [["update-ca-certificates"]],
                  "delete this one from the file", "rewrite-file")
    assert item_of(manual)["remove"] == "delete this one from the file"  # the commands alone do not remove it
    long = Step("anchors", "/" + "a" * 5000, None, "banned", [["rm", "--", "/" + "a" * 5000]], "t", "delete-file")
    item = item_of(long)
    assert item["remove"] == "rootsentinel scan" and len(item["location"]) == MAX_TEXT
