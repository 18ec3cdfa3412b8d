"""Audit events through a real rsyslogd (started and stopped by each test on its own /dev/log inside a
private mount namespace, and on TCP and TLS ports of 127.0.0.1): every event type is received and parsed
(program name, tag, PROCID, MSGID, facility, severity, the JSON body); a second user can neither forge the
first user's events nor erase them; rotation of rsyslog's file loses nothing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ecskit import validate
from syslogkit import Rsyslog, available, body
from telemetry_events import EVENT_TYPES

TESTS = Path(__file__).parent
REPO = TESTS.parent

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

_MSGID = {"rootsentinel.verdict": "verdict", "rootsentinel.fix": "fix", "rootsentinel.scan": "scan",
          "rootsentinel.heartbeat": "heartbeat"}
_SEVERITY = {"critical": "crit", "warning": "warning", "notice": "notice", "info": "info"}


def _emit(rs: Rsyslog, folder: Path, **kwargs) -> dict:
    """Run tests/telemetry_events.py inside the namespace (root, the project's Python) with these
    AuditLog arguments; its report: {"pid", "events", "dropped", "flushed"}."""
    config = folder / "emit.json"
    config.write_text(json.dumps({"state_dir": str(folder / "state"), **kwargs}))
    proc = subprocess.run(rs.cmd([sys.executable, str(TESTS / "telemetry_events.py"), str(config)]),
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["flushed"] and report["dropped"] == 0, report
    return report


def _sent(report: dict) -> dict[str, dict]:
    """event.id -> the event the sender queued (every finding of the scan too)."""
    return {e["event"]["id"]: e for e in report["events"].values()}


def test_every_event_type_over_dev_log_and_tcp(tmp_path):
    with Rsyslog(tmp_path / "rs", tcp=True) as rs:
        report = _emit(rs, tmp_path, syslog=True, facility="local3",
                       remote={"host": "127.0.0.1", "port": rs.tcp_port, "transport": "tcp"})
        pid = report["pid"]
        mine = lambda r: r["appname"] == "rootsentinel"  # noqa: E731
        # 4 verdicts, 2 blocks, 2 fix events, 2 scan findings + 1 summary, 1 heartbeat; over each transport
        local = rs.records(12, where=lambda r: mine(r) and r["input"] == "imuxsock")
        tcp = rs.records(12, where=lambda r: mine(r) and r["input"] == "tcp")
    assert len(local) == 12 and len(tcp) == 12, (len(local), len(tcp))
    sent = _sent(report)
    for rec in local:  # what Debian's imuxsock parsed: the BSD form
        assert (rec["programname"], rec["syslogtag"], rec["procid"]) == ("rootsentinel", f"rootsentinel[{pid}]:", str(pid))
        assert (rec["uid"], rec["pid"]) == ("0", str(pid))  # the kernel's credentials, stamped by the daemon
        assert rec["facility"] == "local3"
        event = body(rec)
        assert validate(event) == [], validate(event)
        assert rec["severity"] == _SEVERITY[event["log"]["level"]]
    for rec in tcp:  # RFC 5424, octet-counted
        assert (rec["programname"], rec["appname"], rec["procid"]) == ("rootsentinel", "rootsentinel", str(pid))
        assert rec["hostname"] == socket.gethostname() and rec["facility"] == "local3"
        event = body(rec)
        assert rec["msgid"] == _MSGID[event["event"]["dataset"]]
        assert validate(event) == [], validate(event)
    for records in (local, tcp):
        received = {body(r)["event"]["id"]: body(r) for r in records}
        assert set(sent) <= set(received)  # every type (the scan's other finding is in received only)
        for event_id, event in sent.items():
            got = received[event_id]
            assert got["rootsentinel"].pop("audit") == {"dropped": 0}
            assert got == event
    kinds = {(body(r)["event"]["dataset"], body(r)["event"]["action"]) for r in local}
    assert kinds == {("rootsentinel.verdict", "banned-root-detected"), ("rootsentinel.verdict", "tls-interception-detected"),
                     ("rootsentinel.verdict", "allowlisted-inspection-seen"), ("rootsentinel.verdict", "page-blocked"),
                     ("rootsentinel.fix", "trusted-root-removed"), ("rootsentinel.fix", "trusted-root-restored"),
                     ("rootsentinel.scan", "trusted-root-found"), ("rootsentinel.scan", "trust-store-scan"),
                     ("rootsentinel.heartbeat", "heartbeat")}
    assert set(report["events"]) == set(EVENT_TYPES)


def test_every_event_type_over_tls(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    with Rsyslog(tmp_path / "rs", tls=ca) as rs:
        report = _emit(rs, tmp_path, remote={"host": "localhost", "port": rs.tls_port, "transport": "tls",
                                             "ca_file": str(rs.ca_file)})
        tls = rs.records(12, where=lambda r: r["appname"] == "rootsentinel" and r["input"] == "tls")
    assert len(tls) == 12
    received = {body(r)["event"]["id"] for r in tls}
    assert set(_sent(report)) <= received
    assert all(validate(body(r)) == [] for r in tls)
    assert all(r["procid"] == str(report["pid"]) and r["facility"] == "user" for r in tls)


def test_tls_to_a_collector_the_ca_does_not_vouch_for_is_refused_and_counted(tmp_path):
    trustme = pytest.importorskip("trustme")
    from native_host.enterprise.audit import AuditLog

    ca, other = trustme.CA(), trustme.CA()
    with Rsyslog(tmp_path / "rs", tls=ca) as rs:
        other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
        audit = AuditLog(None, remote={"host": "localhost", "port": rs.tls_port, "transport": "tls",
                                       "ca_file": str(tmp_path / "other.pem")}, window_seconds=0,
                         state_dir=tmp_path / "state")
        assert audit.record({"@timestamp": "2026-01-01T00:00:00.000Z", "event": {"kind": "event"}}, "info", "test")
        assert audit.flush(30) and audit.dropped == 1
        audit.close()
        assert not rs.records(where=lambda r: r["appname"] == "rootsentinel", timeout=1)
    from native_host.enterprise.state import drop_summary
    assert "CERTIFICATE_VERIFY_FAILED" in drop_summary(tmp_path / "state")["last_reason"]


# --- a second user ------------------------------------------------------------------------------

ALICE, MALLORY = 41001, 41002

SENDER = r"""
import json, os, sys
from pathlib import Path
from native_host.enterprise.audit import AuditLog
args = json.loads(sys.argv[1])
audit = AuditLog(Path(args["path"]) if args.get("path") else None, syslog=True, window_seconds=0,
                 user=args.get("claim_user"), state_dir=Path(args["state"]))
verdict = json.loads(Path(args["verdict"]).read_text())
event = audit(verdict)
assert audit.flush(30), "not flushed"
print(json.dumps({"pid": os.getpid(), "id": event["event"]["id"], "dropped": audit.dropped}))
audit.close()
"""

ATTACK = r"""
import errno, json, os, socket, sys, time
args = json.loads(sys.argv[1])
out = {"pid": os.getpid()}
# forge: a line in rootsentinel's form, claiming Alice's pid, user name and uid
forged = {"@timestamp": "2026-01-01T00:00:00.000Z", "ecs": {"version": "8.11.0"}, "message": "forged",
          "event": {"kind": "alert", "id": "f" * 32, "action": "banned-root-detected"},
          "user": {"name": "alice", "id": str(args["alice_uid"])}}
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/dev/log")
stamp = time.strftime("%b %e %H:%M:%S")
s.send(f"<10>{stamp} rootsentinel[{args['alice_pid']}]: {json.dumps(forged)}".encode())
# erase: Alice's own file, and the logger's file
for name, path in (("alice_file", args["alice_file"]), ("logger_file", args["logger_file"])):
    tries = {}
    for what, fn in (("truncate", lambda p: os.open(p, os.O_WRONLY | os.O_TRUNC)),
                     ("append", lambda p: os.open(p, os.O_WRONLY | os.O_APPEND)),
                     ("unlink", os.unlink), ("rename", lambda p: os.rename(p, p + ".gone"))):
        try:
            fn(path)
            tries[what] = "done"
        except OSError as exc:
            tries[what] = errno.errorcode[exc.errno]
    out[name] = tries
# lock Alice's file (issue 22 item 5): it cannot even be opened
try:
    open(args["alice_file"]).close()
    out["alice_open"] = "done"
except OSError as exc:
    out["alice_open"] = errno.errorcode[exc.errno]
print(json.dumps(out))
"""


def _world_readable_copy_of_the_package() -> Path:
    """The native_host package copied into a folder every uid can read (the project's own checkout and
    Python may sit under a 0700 home): the senders run the system python3 with only the standard library,
    which is all AuditLog needs."""
    folder = Path(tempfile.mkdtemp(prefix="rs-pkg-"))
    os.chmod(folder, 0o755)
    shutil.copytree(REPO / "native_host", folder / "native_host",
                    ignore=shutil.ignore_patterns("__pycache__", "data", "*.pyc"))
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    return folder


def _home(base: Path, uid: int) -> Path:
    home = base / f"home{uid}"
    state = home / ".local" / "state" / "rootsentinel"
    state.mkdir(parents=True)
    for p in (home, home / ".local", home / ".local" / "state", state):
        os.chown(p, uid, uid)
        os.chmod(p, 0o700)
    return home


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3") or not shutil.which("setpriv"),
                    reason="needs the system python3 and setpriv to run as other users")
def test_a_second_user_can_neither_forge_nor_erase_the_first_users_events(tmp_path):
    from certkit import b64, der, issue_leaf, load_leaked
    from native_host.engine.chains import chain_from_base64
    from native_host.messaging.host import Service

    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    verdict = Service().judge(chain_from_base64([b64(der(leaf)), b64(der(sf_cert))], url="https://bank.example/"))
    pkg = _world_readable_copy_of_the_package()
    base = Path(tempfile.mkdtemp(prefix="rs-homes-"))
    os.chmod(base, 0o755)
    try:
        (base / "verdict.json").write_text(json.dumps(verdict))
        os.chmod(base / "verdict.json", 0o644)
        alice_home, mallory_home = _home(base, ALICE), _home(base, MALLORY)
        alice_file = alice_home / ".local" / "state" / "rootsentinel" / "audit.jsonl"
        env = {"PYTHONPATH": str(pkg), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        with Rsyslog(tmp_path / "rs") as rs:
            def run(uid, code, args):
                proc = subprocess.run(rs.cmd(["/usr/bin/python3", "-c", code, json.dumps(args)], uid=uid),
                                      capture_output=True, text=True, timeout=120,
                                      env={**env, "HOME": str(base / f"home{uid}"), "USER": f"u{uid}"})
                assert proc.returncode == 0, proc.stderr
                return json.loads(proc.stdout)

            alice = run(ALICE, SENDER, {"path": str(alice_file), "state": str(alice_file.parent),
                                        "verdict": str(base / "verdict.json"), "claim_user": "alice"})
            # Mallory through the product's own code, claiming to be alice, and by hand
            mallory_tool = run(MALLORY, SENDER, {"state": str(mallory_home / ".local" / "state" / "rootsentinel"),
                                                 "verdict": str(base / "verdict.json"), "claim_user": "alice"})
            attack = run(MALLORY, ATTACK, {"alice_uid": ALICE, "alice_pid": alice["pid"],
                                           "alice_file": str(alice_file), "logger_file": str(rs.out)})
            records = rs.records(3, where=lambda r: r["programname"] == "rootsentinel")
        assert alice["dropped"] == 0 and mallory_tool["dropped"] == 0
        by_id = {body(r)["event"]["id"]: r for r in records}
        genuine, tool, forged = by_id[alice["id"]], by_id[mallory_tool["id"]], by_id["f" * 32]
        # Alice's event carries her uid, as stamped by the logger from the kernel's credentials
        assert (genuine["uid"], genuine["pid"], genuine["syslogtag"]) == \
            (str(ALICE), str(alice["pid"]), f"rootsentinel[{alice['pid']}]:")
        assert body(genuine)["user"]["id"] == str(ALICE)
        # both of Mallory's lines claim alice, but the logger stamps Mallory's uid and real pid on them
        for rec, pid in ((tool, mallory_tool["pid"]), (forged, attack["pid"])):
            assert body(rec)["user"]["name"] == "alice"
            assert (rec["uid"], rec["pid"], rec["procid"]) == (str(MALLORY), str(pid), str(pid))
        assert forged["syslogtag"] == f"rootsentinel[{attack['pid']}]:"  # the claimed pid was replaced
        # erase: nothing Mallory tried on Alice's file or the logger's file worked
        for name in ("alice_file", "logger_file"):
            assert "done" not in attack[name].values(), attack
        assert attack["alice_open"] == "EACCES"
        events = [json.loads(line) for line in alice_file.read_text().splitlines()]
        assert [e["event"]["id"] for e in events] == [alice["id"]]
        assert alice_file.stat().st_uid == ALICE and alice_file.stat().st_mode & 0o777 == 0o600
    finally:
        shutil.rmtree(pkg, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


# --- rotation -----------------------------------------------------------------------------------

PACED = r"""
import json, sys, time
from pathlib import Path
from native_host.enterprise.audit import AuditLog
n = int(sys.argv[1])
audit = AuditLog(None, syslog=True, window_seconds=0, state_dir=Path(sys.argv[2]))
for i in range(n):
    audit.record({"@timestamp": "2026-01-01T00:00:00.000Z", "ecs": {"version": "8.11.0"},
                  "event": {"kind": "event", "dataset": "rootsentinel.test"}, "rootsentinel": {"i": i}}, "info", "test")
    time.sleep(0.004)
assert audit.flush(30)
print(json.dumps({"dropped": audit.dropped}))
"""


def test_rsyslog_rotation_by_rename_and_hup_loses_nothing(tmp_path):
    """logrotate's usual rsyslog recipe (rename, then SIGHUP in postrotate) while events keep coming."""
    n = 400
    with Rsyslog(tmp_path / "rs") as rs:
        sender = subprocess.Popen(rs.cmd([sys.executable, "-c", PACED, str(n), str(tmp_path / "state")]),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                  env={**os.environ, "PYTHONPATH": str(REPO)})
        rotated = []
        for k in range(4):
            time.sleep(0.25)
            target = rs.out.with_name(f"received.jsonl.{k + 1}")
            if rs.out.exists():
                os.rename(rs.out, target)
                rotated.append(target)
                rs.hup()
        out, err = sender.communicate(timeout=120)
        assert sender.returncode == 0, err
        assert json.loads(out)["dropped"] == 0
        rs.records(1, where=lambda r: body(r).get("rootsentinel", {}).get("i") == n - 1
                   if r["programname"] == "rootsentinel" else False)
    seen = []
    for path in [*rotated, rs.out]:
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec["programname"] == "rootsentinel":
                seen.append(body(rec)["rootsentinel"]["i"])
    assert len(rotated) >= 3
    assert sorted(seen) == list(range(n))  # every event once, across the rotated files
