"""Audit events: ECS field names on real verdicts, the de-duplication window, syslog framing, and several
host processes appending to one file without losing or interleaving a line."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from certkit import b64, der, issue_leaf, load_leaked, make_root, sha256
from hostkit import HostProcess
from native_host.enterprise.audit import AuditLog, clean_url, dedup_key, ecs_event, origin_of
from native_host.enterprise.delivery import flush_all
from native_host.engine.chains import chain_from_base64
from native_host.cli import main
from native_host.messaging.host import Service

TESTS = Path(__file__).parent
REPO = TESTS.parent


def _superfish_b64(host: str = "bank.example") -> list[str]:
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, host)
    return [b64(der(leaf)), b64(der(sf_cert))]


def _verdict(chain_b64: list[str], url: str | None = "https://bank.example/login") -> dict:
    return Service().judge(chain_from_base64(chain_b64, url=url))


def _lines(path: Path) -> list[dict]:
    """The events in ``path`` once every queued event of this process was delivered."""
    assert flush_all(30)
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the event -------------------------------------------------------------------------------------


def _assert_ecs_banned(event: dict, chain_b64: list[str], url_full: str, domain: str) -> None:
    leaf_der = base64.b64decode(chain_b64[0])
    assert event["@timestamp"].endswith("Z") and "T" in event["@timestamp"]
    assert event["ecs"]["version"]
    ev = event["event"]
    assert ev["kind"] == "alert" and ev["dataset"] == "rootsentinel.verdict"
    assert ev["category"] == ["network", "intrusion_detection"] and ev["type"] == ["info"]
    assert ev["action"] == "banned-root-detected" and ev["severity"] == 99 and len(ev["id"]) == 32
    assert event["url"] == {"full": url_full, "domain": domain}
    x509 = event["tls"]["server"]["x509"]
    assert x509["subject"]["distinguished_name"] == f"CN={domain}"
    assert "Superfish" in x509["issuer"]["distinguished_name"]
    assert x509["not_before"].endswith("Z") and x509["not_after"] > x509["not_before"]
    assert x509["serial_number"] == x509["serial_number"].upper() and ":" not in x509["serial_number"]
    assert event["tls"]["server"]["hash"]["sha256"] == sha256(leaf_der).upper()
    assert event["observer"]["product"] == "RootSentinel" and event["observer"]["version"]
    assert event["host"]["hostname"] == socket.gethostname()
    rs = event["rootsentinel"]
    assert (rs["level"], rs["category"], rs["reason"]) == ("banned", "malware-mitm", "blocklist_spki")
    assert rs["entry"].startswith("Superfish") and rs["matched_by"] == "spki_sha256"
    sf_cert, _ = load_leaked("superfish")
    from cryptography.hazmat.primitives import serialization
    sf_spki = sha256(sf_cert.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo))
    assert rs["anchor"]["spki_sha256"] == sf_spki and rs["anchor"]["public"] is False
    assert rs["chain_cert_sha256"] == [sha256(base64.b64decode(c)) for c in chain_b64]
    assert "Superfish" in event["message"]
    assert sf_spki in event["related"]["hash"] and sha256(leaf_der) in event["related"]["hash"]
    # nested objects as ECS documents them, never dotted keys
    assert not [k for k in _all_keys(event) if "." in k]


def _all_keys(obj, out=None):
    out = [] if out is None else out
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.append(key)
            _all_keys(value, out)
    return out


def test_ecs_fields_on_a_real_banned_verdict_through_the_host(tmp_path):
    log = tmp_path / "audit.jsonl"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit": True, "audit_log": str(log)}))
    chain = _superfish_b64("bank.example")
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(config)})
    try:
        reply = h.request({"type": "check", "id": 1, "url": "https://u:pw@bank.example:8443/a?session=s3cr3t#f",
                           "chain": chain})
        assert reply["level"] == "banned"
        # the same page again (same origin, same chain): de-duplicated; an ok page: not audited
        assert h.request({"type": "check", "id": 2, "url": "https://bank.example:8443/b", "chain": chain})["level"] == "banned"
        assert h.request({"type": "check", "id": 3, "url": "http://plain.example/",
                          "securityInfo": {"state": "insecure"}})["level"] == "unknown"
    finally:
        code, _, err = h.close()
    assert code == 0, err
    events = _lines(log)
    assert len(events) == 1
    _assert_ecs_banned(events[0], chain, "https://bank.example:8443/a", "bank.example")
    assert "s3cr3t" not in log.read_text() and "pw@" not in log.read_text()
    assert events[0]["rootsentinel"]["evidence"] == "chain"


def test_audit_is_off_by_default(tmp_path):
    log = tmp_path / "audit.jsonl"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit_log": str(log)}))
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(config)})
    try:
        assert h.request({"type": "check", "id": 1, "chain": _superfish_b64()})["level"] == "banned"
    finally:
        h.close()
    assert not log.exists()


def test_host_start_does_not_import_audit_when_off(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit": False}))
    code = ("import sys, native_host.messaging.host as h, native_host.enterprise.config as c\n"
            "cfg = c.load_system_config()\n"
            "assert not cfg.audit\n"
            "assert 'native_host.enterprise.audit' not in sys.modules, 'audit imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env={**os.environ, "ROOTSENTINEL_CONFIG": str(config)})


def test_cli_check_writes_an_event(tmp_path, monkeypatch):
    log = tmp_path / "logs" / "audit.jsonl"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit": True, "audit_log": str(log)}))
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(config))
    chain_file = tmp_path / "chain.pem"
    chain = _superfish_b64("shop.example")
    chain_file.write_text("".join("-----BEGIN CERTIFICATE-----\n" + "\n".join(textwrap.wrap(c, 64))
                                  + "\n-----END CERTIFICATE-----\n" for c in chain))
    assert main(["check", str(chain_file)]) == 2
    (event,) = _lines(log)
    assert event["tls"]["server"]["hash"]["sha256"] == sha256(base64.b64decode(chain[0])).upper()
    assert event["rootsentinel"]["level"] == "banned" and "url" not in event
    if os.name != "nt":
        assert log.stat().st_mode & 0o777 == 0o600


def test_interception_and_notice_are_audited_unknown_and_ok_are_not(tmp_path):
    root, key = make_root("Corporate Proxy Root")
    leaf, _ = issue_leaf(root, key, "intranet.example")
    chain = [b64(der(leaf)), b64(der(root))]
    audit = AuditLog(tmp_path / "a.jsonl", window_seconds=0)
    interception = _verdict(chain, "https://intranet.example/")
    assert interception["level"] == "interception"
    event = audit(interception)
    assert (event["event"]["action"], event["event"]["severity"], event["log"]["level"]) == \
        ("tls-interception-detected", 47, "warning")
    from native_host.engine.verdict import Policy
    from native_host.engine.certfacts import cert_facts
    spki = cert_facts(der(root)).spki_sha256
    notice = Service(policy=Policy(frozenset({spki}))).judge(chain_from_base64(chain, url="https://intranet.example/"))
    assert notice["level"] == "notice"
    assert audit(notice)["event"]["action"] == "allowlisted-inspection-seen"
    from native_host.engine.chains import chain_from_security_info
    unknown = Service().judge(chain_from_security_info({"state": "insecure"}, url="http://x.example/"))
    assert unknown["level"] == "unknown" and audit(unknown) is None
    assert len(_lines(tmp_path / "a.jsonl")) == 2


def test_kz_interception_is_high_severity():
    root, key = make_root("Example Kazakh Inspection Root", country="KZ")  # not a banned name (that is banned_name)
    leaf, _ = issue_leaf(root, key, "mail.example")
    verdict = _verdict([b64(der(leaf)), b64(der(root))])
    assert verdict["reason"] == "kz_issuer"
    assert ecs_event(verdict, timestamp=0, hostname="h")["event"]["severity"] == 73


def test_url_cleaning_and_origins():
    assert clean_url("HTTPS://user:pw@Bank.Example:8443/p/a?q=1#frag") == "https://bank.example:8443/p/a"
    assert clean_url("https://[::1]:9/x") == "https://[::1]:9/x"
    assert clean_url("not a url") is None and clean_url(None) is None
    assert origin_of({"url": "https://a.example/x?y"}) == "https://a.example"
    assert origin_of({"url": "https://a.example:444/"}) == "https://a.example:444"
    assert origin_of({"url": None, "probe": {"host": "B.example", "port": 8443}}) == "https://b.example:8443"
    assert origin_of({"url": None, "host": None}) == "-"


# --- de-duplication --------------------------------------------------------------------------------


def test_dedup_window(tmp_path):
    clock = FakeClock()
    log = tmp_path / "a.jsonl"
    audit = AuditLog(log, window_seconds=3600, clock=clock)
    chain = _superfish_b64("bank.example")
    first = _verdict(chain, "https://bank.example/one")
    assert audit(first) is not None
    clock.now += 10
    assert audit(_verdict(chain, "https://bank.example/two?x")) is None  # same origin + chain: one line
    assert len(_lines(log)) == 1
    # another origin, or another leaf under the same root, is another fact
    assert audit(_verdict(chain, "https://other.example/")) is not None
    assert audit(_verdict(_superfish_b64("bank.example"), "https://bank.example/")) is not None
    assert len(_lines(log)) == 3
    clock.now += 3600  # past the window: logged again, counting what it stood for
    again = audit(_verdict(chain, "https://bank.example/three"))
    assert again is not None and again["rootsentinel"]["repeats"] == 1
    events = _lines(log)
    assert len(events) == 4
    assert [e["url"]["full"] for e in events if e["url"]["domain"] == "bank.example"
            and e["tls"]["server"]["hash"]["sha256"] == events[0]["tls"]["server"]["hash"]["sha256"]] == \
        ["https://bank.example/one", "https://bank.example/three"]


def test_dedup_key_is_origin_leaf_anchor_level():
    chain = _superfish_b64("bank.example")
    a = _verdict(chain, "https://bank.example/a")
    b = _verdict(chain, "https://bank.example/b")
    assert dedup_key(a) == dedup_key(b)
    assert dedup_key(a)[0] == "https://bank.example" and dedup_key(a)[3] == "banned"


def test_window_from_config(tmp_path, monkeypatch):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit": True, "audit_log": str(tmp_path / "a.jsonl"), "audit_window_seconds": 5,
                                  "syslog": False}))
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(config))
    from native_host.enterprise.config import load_system_config
    cfg = load_system_config()
    assert cfg.error is None and cfg.audit
    audit = AuditLog.from_config(cfg)
    assert audit.window == 5 and audit.file.path == tmp_path / "a.jsonl" and audit.blocklist_version


def test_default_audit_log_paths(monkeypatch):
    from native_host.enterprise.config import default_audit_log_path
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/state")
    assert default_audit_log_path("linux") == Path("/xdg/state/rootsentinel/audit.jsonl")
    assert default_audit_log_path("darwin").parts[-3:] == ("Logs", "RootSentinel", "audit.jsonl")
    monkeypatch.setenv("LOCALAPPDATA", "/lad")
    assert default_audit_log_path("win32") == Path("/lad/RootSentinel/audit.jsonl")


# --- robustness ------------------------------------------------------------------------------------


def test_unwritable_log_never_breaks_judging(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    state = tmp_path / "state"
    audit = AuditLog(blocker / "sub" / "a.jsonl", window_seconds=0, state_dir=state)  # parent is a file
    service = Service(audit=audit)
    for i in range(3):
        reply = service.check({"type": "check", "id": i, "url": f"https://s{i}.example/", "chain": _superfish_b64()})
        assert reply["level"] == "banned"
    assert audit.flush(30)
    err = capsys.readouterr().err
    assert err.count("rootsentinel: audit log") == 1  # reported once
    assert audit.dropped == 3  # counted, and in the user's drop log for doctor and the heartbeat
    from native_host.enterprise.state import drop_summary
    summary = drop_summary(state)
    assert summary["dropped"] == 3 and summary["by_destination"] == {f"file:{blocker / 'sub' / 'a.jsonl'}": 3}
    assert "cannot create its folder" in summary["last_reason"]


def test_rotation_is_followed(tmp_path):
    log = tmp_path / "a.jsonl"
    audit = AuditLog(log, window_seconds=0)
    chain = _superfish_b64()
    audit(_verdict(chain, "https://one.example/"))
    assert flush_all(30)
    os.replace(log, tmp_path / "a.jsonl.1")  # logrotate's rename
    audit(_verdict(chain, "https://two.example/"))
    assert [e["url"]["domain"] for e in _lines(tmp_path / "a.jsonl.1")] == ["one.example"]
    assert [e["url"]["domain"] for e in _lines(log)] == ["two.example"]


def test_huge_attacker_names_stay_one_small_line(tmp_path):
    root, key = make_root("R" * 60)
    leaf, _ = issue_leaf(root, key, "x.example", cn="A" * 60, sans=["x.example"])
    verdict = _verdict([b64(der(leaf)), b64(der(root))], "https://x.example/" + "p" * 50_000)
    verdict["chain"][0]["subject"] = "CN=" + "\n\u202e" * 100_000  # a line break must not split the line
    audit = AuditLog(tmp_path / "a.jsonl", window_seconds=0)
    audit(verdict)
    assert flush_all(30)
    text = (tmp_path / "a.jsonl").read_text("utf-8")
    assert text.count("\n") == 1 and len(text) < 16_000
    assert json.loads(text)["tls"]["server"]["x509"]["subject"]["distinguished_name"].endswith("\u2026")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix datagram sockets")
def test_local_syslog_gets_the_bsd_form(tmp_path):
    """What /dev/log expects (glibc syslog(3)'s form): <PRI>Mmm dd hh:mm:ss rootsentinel[PID]: JSON, one
    datagram, no NUL; user.crit = 1*8+2 = 10. The real rsyslogd parse is in test_syslog_rsyslog.py."""
    address = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    try:
        audit = AuditLog(None, syslog=True, syslog_address=address, window_seconds=0, hostname="box1")
        event = audit(_verdict(_superfish_b64(), "https://bank.example/"))
        data = sock.recv(65536).decode("utf-8")
        audit.close()
    finally:
        sock.close()
    match = re.fullmatch(r"<10>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) rootsentinel\[(\d+)\]: (\{.*\})", data)
    assert match, data
    assert int(match.group(2)) == os.getpid()
    body = json.loads(match.group(3))
    assert body["event"]["id"] == event["event"]["id"] and body["rootsentinel"]["audit"] == {"dropped": 0}
    assert {k: v for k, v in body.items() if k != "rootsentinel"} == {k: v for k, v in event.items() if k != "rootsentinel"}


def test_syslog_missing_socket_is_reported_not_fatal(tmp_path, capsys):
    audit = AuditLog(tmp_path / "a.jsonl", syslog=True, syslog_address=str(tmp_path / "nope.sock"), window_seconds=0)
    assert audit(_verdict(_superfish_b64())) is not None
    assert len(_lines(tmp_path / "a.jsonl")) == 1
    assert "syslog socket" in capsys.readouterr().err


# --- several processes, one file -------------------------------------------------------------------

WORKER = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, {tests!r})
    from certkit import b64, der, issue_leaf, load_leaked
    from native_host.enterprise.audit import AuditLog
    from native_host.engine.chains import chain_from_base64
    from native_host.messaging.host import Service

    log, go, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    audit = AuditLog(log)  # the default window: every event below has its own origin
    msg = {{"type": "check", "id": 0, "chain": [b64(der(leaf)), b64(der(sf_cert))]}}
    verdict = Service().check({{**msg, "url": "https://warm.example/"}})  # a real banned verdict
    open(go + "." + tag, "w").close()  # ready
    while not os.path.exists(go):
        time.sleep(0.001)
    start = time.perf_counter()
    for i in range(n):  # what the host's hook does with each verdict (judging is not timed)
        audit({{**verdict, "id": i, "url": f"https://{{tag}}-{{i}}.example/"}})
        if i % 256 == 255:  # a host judges far fewer than 10,000 origins a second: keep within the queue
            assert audit.flush(60)
    assert audit.flush(60) and audit.dropped == 0
    audit.close()
    print(json.dumps({{"elapsed": time.perf_counter() - start, "end": time.time()}}))
""")


def test_four_processes_append_whole_lines_and_lose_none(tmp_path):
    log, go = tmp_path / "shared.jsonl", tmp_path / "go"
    n, procs = 2_500, 4
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(TESTS)))
    workers = [subprocess.Popen([sys.executable, str(script), str(log), str(go), str(n), f"p{k}"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(procs)]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.p{k}").exists() for k in range(procs)) and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.time()
    go.touch()
    results = []
    for w in workers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err.decode()
        assert not err, err.decode()
        results.append(json.loads(out))
    raw = log.read_bytes()
    lines = raw.split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == procs * n == 10_000
    seen = {f"p{k}": set() for k in range(procs)}
    for line in lines[:-1]:
        event = json.loads(line)  # every line parses: nothing torn or interleaved
        assert event["event"]["kind"] == "alert" and event["rootsentinel"]["level"] == "banned"
        assert event["tls"]["server"]["hash"]["sha256"] and event["@timestamp"]
        tag, _, i = event["url"]["full"].removeprefix("https://").removesuffix(".example/").partition("-")
        assert int(i) not in seen[tag]
        seen[tag].add(int(i))
    assert all(s == set(range(n)) for s in seen.values())
    total = procs * n
    wall = max(r["end"] for r in results) - started
    print(f"\naudit: {total} events from {procs} processes in {wall:.2f} s wall "
          f"({total / wall:,.0f} events/s aggregate; {os.cpu_count()} CPUs)")


def test_probe_verdicts_are_audited_with_the_server(tmp_path):
    """A probe whose root was not sent (matched by issuer): the anchor key comes from the blocklist entry."""
    from cryptography.hazmat.primitives import serialization

    from certkit import pem_chain
    from hostkit import tls_server

    sf_cert, sf_key = load_leaked("superfish")
    leaf, leaf_key = issue_leaf(sf_cert, sf_key, "localhost")
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    audit = AuditLog(tmp_path / "a.jsonl", window_seconds=3600)
    service = Service(audit=audit)
    with tls_server(pem_chain(leaf), key_pem) as port:
        verdict = service.probe("localhost", port)
        service.probe("localhost", port)  # the same origin and chain: de-duplicated
    assert verdict["level"] == "banned" and verdict["evidence"] == "probe"
    (event,) = _lines(tmp_path / "a.jsonl")
    assert event["server"] == {"domain": "localhost", "port": port}
    assert event["rootsentinel"]["evidence"] == "probe" and event["rootsentinel"]["anchor"]["sent"] is False
    assert event["rootsentinel"]["anchor"]["spki_sha256"] == verdict["matched"]["entry"]["spki_sha256"]
    assert "url" not in event or event["url"] == {"domain": "localhost"}
    # a failed probe is "unknown": no evidence, not audited
    failed = service.probe("127.0.0.1", port, timeout=1.0)
    assert failed["reason"] == "probe_failed" and len(_lines(tmp_path / "a.jsonl")) == 1


def test_line_separators_and_lone_surrogates_keep_one_valid_utf8_line(tmp_path):
    root, key = make_root("Қазақстан Root")
    leaf, _ = issue_leaf(root, key, "x.example")
    verdict = _verdict([b64(der(leaf)), b64(der(root))], "https://x.example/")
    verdict["chain"][0]["subject"] = "CN=a\u2028b\u2029c\\\udc80d"
    audit = AuditLog(tmp_path / "a.jsonl", window_seconds=0)
    assert audit(verdict) is not None
    assert flush_all(30)
    raw = (tmp_path / "a.jsonl").read_bytes()
    text = raw.decode("utf-8")  # valid UTF-8
    assert len(text.splitlines()) == 1 and raw.count(b"\n") == 1
    event = json.loads(text)
    assert event["tls"]["server"]["x509"]["subject"]["distinguished_name"] == "CN=a\u2028b\u2029c\\\udc80d"
    assert "Қазақстан" in text  # readable, not \\u-escaped


def test_dedup_memory_is_bounded(tmp_path, monkeypatch):
    import native_host.enterprise.ratewindow as ratewindow

    monkeypatch.setattr(ratewindow, "_MAX_KEYS", 100)
    clock = FakeClock()
    audit = AuditLog(tmp_path / "a.jsonl", window_seconds=3600, clock=clock)
    verdict = _verdict(_superfish_b64())
    for i in range(1000):
        clock.now += 1
        assert audit({**verdict, "url": f"https://s{i}.example/"}) is not None
    assert len(audit._window) <= 100
    # the most recent keys are still remembered
    assert audit({**verdict, "url": "https://s999.example/"}) is None
    assert len(_lines(tmp_path / "a.jsonl")) == 1000


def test_the_interception_product_is_in_the_event(tmp_path):
    """A chain through a root named like Zscaler's: ECS threat.software.* and rootsentinel.interceptor.*;
    the real Superfish root (banned) is named too, as adware ("Malware")."""
    from telemetry_events import zscaler_like_root

    root, key = zscaler_like_root()
    leaf, _ = issue_leaf(root, key, "intranet.example")
    audit = AuditLog(tmp_path / "a.jsonl", window_seconds=0)
    event = audit(_verdict([b64(der(leaf)), b64(der(root))], "https://intranet.example/"))
    assert event["rootsentinel"]["category"] == "corporate-proxy"
    assert event["threat"]["software"] == {"name": "Zscaler", "type": "Tool"}
    who = event["rootsentinel"]["interceptor"]
    assert (who["product"], who["vendor"], who["kind"], who["advice"], who["by"]) == \
        ("Zscaler", "Zscaler, Inc.", "corporate-proxy", "corporate-inspection", "subject_name")
    assert who["catalogue_version"]
    banned = audit(_verdict(_superfish_b64(), "https://bank.example/"))
    assert banned["rootsentinel"]["category"] == "malware-mitm"
    assert banned["threat"]["software"] == {"name": "Superfish", "type": "Malware"}
    plain_root, plain_key = make_root("Some Unknown Root")
    plain_leaf, _ = issue_leaf(plain_root, plain_key, "x.example")
    plain = audit(_verdict([b64(der(plain_leaf)), b64(der(plain_root))], "https://x.example/"))
    assert "threat" not in plain and "interceptor" not in plain["rootsentinel"]
