"""What places an event in a fleet and the periodic events: agent.id (checked against systemd's own
app-specific machine id), the browser and profile from hello and /proc, the blocked message through the
real host, scan --events (NDJSON), the heartbeat's inventory, and the systemd units that schedule them."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certkit import b64, der, issue_leaf, load_leaked, make_root, pem_chain
from ecskit import validate
from hostkit import HostProcess
from native_host.enterprise import identity
from native_host.enterprise.state import append_drop, note_client, read_clients

REPO = Path(__file__).parent.parent
SYSTEMD = REPO / "build" / "systemd"


@pytest.mark.skipif(not shutil.which("systemd-id128") or not Path("/etc/machine-id").exists(),
                    reason="needs systemd-id128 and /etc/machine-id")
def test_agent_id_is_systemds_app_specific_machine_id():
    out = subprocess.run(["systemd-id128", "machine-id", f"--app-specific={identity.APP_ID}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert identity.agent_id() == out
    assert out not in Path("/etc/machine-id").read_text()  # the machine id itself is not revealed


def test_agent_id_file_beside_the_config_wins(tmp_path):
    (tmp_path / "agent-id").write_text("fleet-7f3a\n")
    assert identity.agent_id(tmp_path / "config.json") == "fleet-7f3a"
    (tmp_path / "agent-id").write_text("bad id with spaces\n")
    assert identity.agent_id(tmp_path / "config.json") != "bad id with spaces"


def test_browser_process_and_profile_from_proc(tmp_path):
    """A fake /proc: Firefox's parent holds its profile's .parentlock open; Chromium names its profile."""
    fx = tmp_path / "proc" / "100"
    (fx / "fd").mkdir(parents=True)
    os.symlink("/usr/lib/firefox-esr/firefox-esr", fx / "exe")
    (fx / "cmdline").write_bytes(b"/usr/lib/firefox-esr/firefox-esr\0")
    os.symlink("/home/ana/.mozilla/firefox/k3x9.default-esr/places.sqlite", fx / "fd" / "3")
    os.symlink("/home/ana/.mozilla/firefox/k3x9.default-esr/.parentlock", fx / "fd" / "4")
    got = identity.browser_process(100, tmp_path / "proc")
    assert got == {"pid": 100, "executable": "/usr/lib/firefox-esr/firefox-esr",
                   "profile": "/home/ana/.mozilla/firefox/k3x9.default-esr"}
    cr = tmp_path / "proc" / "200"
    (cr / "fd").mkdir(parents=True)
    (cr / "cmdline").write_bytes(b"/usr/lib/chromium/chromium\0--user-data-dir=/home/ana/.config/work\0"
                                 b"--profile-directory=Profile 2\0")
    assert identity.browser_process(200, tmp_path / "proc")["profile"] == "/home/ana/.config/work/Profile 2"
    assert identity.browser_process(300, tmp_path / "proc") == {"pid": 300, "executable": None, "profile": None}
    assert identity.parse_client("firefox/0.1.0") == {"name": "firefox", "extension_version": "0.1.0",
                                                      "original": "firefox/0.1.0"}
    assert identity.parse_client("chromium/1.2\u202e\n") ["extension_version"] == "1.2"
    assert identity.parse_client(5) is None


def _superfish_chain(host="bank.example"):
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, host)
    return [b64(der(leaf)), b64(der(sf_cert))]


def test_the_host_names_the_browser_and_audits_a_block(tmp_path):
    """Through the real host: hello's client becomes rootsentinel.client and the browsers seen; a
    ``blocked`` message becomes a page-blocked event tied to the verdict's event."""
    log, state = tmp_path / "audit.jsonl", tmp_path / "xdg"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit": True, "audit_log": str(log)}))
    chain = _superfish_chain()
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(config), "XDG_STATE_HOME": str(state)})
    try:
        assert h.request({"type": "hello", "id": 1, "client": "chromium/0.1.0"})["type"] == "hello"
        verdict = h.request({"type": "check", "id": 2, "url": "https://bank.example/a", "chain": chain})
        leaf = verdict["chain"][0]["cert_sha256"]
        reply = h.request({"type": "blocked", "id": 3, "url": "https://bank.example/a", "cert_sha256": leaf})
        assert reply == {"type": "blocked", "id": 3, "audited": True}
        again = h.request({"type": "blocked", "id": 4, "url": "https://bank.example/b", "cert_sha256": leaf})
        assert again["audited"] is False  # the same block within the window: counted as a repeat
        bad = h.request({"type": "blocked", "id": 5, "url": "https://x.example/", "cert_sha256": "zz"})
        assert bad["type"] == "error" and bad["code"] == "schema"
    finally:
        code, _, err = h.close()
    assert code == 0, err
    from native_host.schemas import validate as schema_validate
    schema_validate("blocked.reply", reply)
    detected, blocked = [json.loads(line) for line in log.read_text().splitlines()]
    for event in (detected, blocked):
        assert validate(event) == []
        assert event["event"]["provider"] == "browser"
        assert event["rootsentinel"]["client"]["name"] == "chromium"
        assert event["process"]["parent"]["pid"] == os.getpid()  # the "browser" here is this test
    assert blocked["event"]["action"] == "page-blocked" and blocked["event"]["type"] == ["denied"]
    assert blocked["rootsentinel"]["verdict_event_id"] == detected["event"]["id"]
    (seen,) = read_clients(state / "rootsentinel")
    assert (seen["name"], seen["extension_version"]) == ("chromium", "0.1.0") and seen["last_seen"] >= seen["first_seen"]


def test_scan_events_are_ndjson_one_per_finding_plus_a_summary(tmp_path):
    sf_cert, _ = load_leaked("superfish")
    private, _ = make_root("Example Corp TLS Inspection Root")
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "superfish.crt").write_bytes(pem_chain(sf_cert))
    (anchors / "corp.crt").write_bytes(pem_chain(private))
    proc = subprocess.run([sys.executable, "-m", "native_host", "scan", "--events", "--anchors", str(anchors)],
                          capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "ROOTSENTINEL_CONFIG": str(tmp_path / "none.json")})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == 3  # two findings, one summary; one line each
    banned, corp, summary = events
    assert banned["rootsentinel"]["finding"]["status"] == "banned" and banned["event"]["kind"] == "alert"
    assert banned["rootsentinel"]["finding"]["entry"].startswith("Superfish")
    assert corp["rootsentinel"]["finding"]["status"] == "non-public"
    assert "Example Corp TLS Inspection Root" in corp["file"]["x509"]["subject"]["distinguished_name"]
    assert summary["event"]["action"] == "trust-store-scan" and summary["rootsentinel"]["scan"]["exit_code"] == 2
    assert summary["rootsentinel"]["scan"]["counts"]["banned"] == 1
    assert len({e["rootsentinel"]["scan_id"] for e in events}) == 1
    assert [e["event"]["sequence"] for e in events] == [1, 2, 3]
    assert all(validate(e) == [] for e in events)
    bad = subprocess.run([sys.executable, "-m", "native_host", "scan", "--send"], capture_output=True, text=True,
                         cwd=REPO)
    assert bad.returncode == 3 and bad.stderr.strip() == "rootsentinel: --send goes with --events"


def test_scan_events_send_to_the_configured_file(tmp_path):
    sf_cert, _ = load_leaked("superfish")
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "superfish.crt").write_bytes(pem_chain(sf_cert))
    log = tmp_path / "audit.jsonl"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit_log": str(log)}))  # audit off: --send is the administrator's ask
    proc = subprocess.run([sys.executable, "-m", "native_host", "scan", "--events", "--send", "--anchors",
                           str(anchors)], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "ROOTSENTINEL_CONFIG": str(config)})
    assert proc.returncode == 2, proc.stderr
    printed = [json.loads(line) for line in proc.stdout.splitlines()]
    written = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"]["id"] for e in written] == [e["event"]["id"] for e in printed]


def test_heartbeat_inventory(tmp_path):
    """Browsers seen and drops since the previous heartbeat, from the user's state; a scan summary."""
    state = tmp_path / "xdg" / "rootsentinel"
    note_client(state, {"name": "firefox", "extension_version": "0.1.0", "profile": "/home/ana/.mozilla/firefox/x",
                        "executable": "/usr/lib/firefox-esr/firefox-esr"})
    note_client(state, {"name": "chromium", "extension_version": "0.2.0", "profile": None, "executable": None})
    append_drop(state, "syslog:/dev/log", 3, "syslog socket /dev/log is full", when=time.time() - 10)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg"), "ROOTSENTINEL_CONFIG": str(tmp_path / "none.json")}
    run = lambda: subprocess.run([sys.executable, "-m", "native_host", "heartbeat"], capture_output=True,  # noqa: E731
                                 text=True, cwd=REPO, env=env, timeout=120)
    first = run()
    assert first.returncode == 0, first.stderr
    event = json.loads(first.stdout)
    assert validate(event) == []
    assert (event["event"]["kind"], event["event"]["category"], event["event"]["action"]) == ("state", ["host"], "heartbeat")
    inv = event["rootsentinel"]["heartbeat"]
    assert inv["extension_versions"] == ["0.1.0", "0.2.0"]
    assert {(b["name"], b["profile"]) for b in inv["browsers"]} == {("firefox", "/home/ana/.mozilla/firefox/x"),
                                                                   ("chromium", None)}
    assert inv["dropped"]["events"] == 3 and "previous" not in inv  # the first heartbeat
    assert inv["blocklist"]["source"] == "bundled" and inv["blocklist"]["version"]
    assert "scan" not in inv
    from native_host.enterprise.heartbeat import remember_scan
    remember_scan(state, {"level": "banned", "exit_code": 2, "counts": {"banned": 1}, "stores": [{"error": None}]})
    second = json.loads(run().stdout)["rootsentinel"]["heartbeat"]
    assert second["dropped"]["events"] == 0 and second["previous"]  # only drops since the previous heartbeat
    assert second["scan"]["level"] == "banned" and second["scan"]["exit_code"] == 2


def _units() -> dict[str, configparser.ConfigParser]:
    out = {}
    for path in sorted(SYSTEMD.iterdir()):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(path)
        out[path.name] = parser
    return out


def test_systemd_units_run_real_commands():
    from native_host.cli import build_parser

    units = _units()
    assert set(units) == {"rootsentinel-scan.service", "rootsentinel-scan.timer", "rootsentinel-heartbeat.service",
                          "rootsentinel-heartbeat.timer"}
    for name, unit in units.items():
        if name.endswith(".timer"):
            assert unit["Timer"]["Persistent"] == "true" and unit["Install"]["WantedBy"] == "timers.target"
            assert (SYSTEMD / name.replace(".timer", ".service")).exists()
            continue
        argv = shlex.split(unit["Service"]["ExecStart"])
        assert argv[0] == "/opt/rootsentinel/rootsentinel-host/rootsentinel-host"  # docs/enterprise.md section 4
        args = build_parser().parse_args(argv[1:])  # the command line the unit runs is one the CLI takes
        assert args.send and args.all_users
        assert unit["Service"]["Environment"] == "XDG_STATE_HOME=/var/lib"
    assert units["rootsentinel-scan.service"]["Service"]["SuccessExitStatus"] == "1 2"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_units_verify(tmp_path):
    for path in SYSTEMD.iterdir():
        # the package installs the bundle; here a command that exists stands in for it
        (tmp_path / path.name).write_text(path.read_text().replace("/opt/rootsentinel/rootsentinel-host/rootsentinel-host", "/bin/true"))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_the_rsyslog_configuration_in_the_docs_is_the_tested_one(tmp_path):
    """docs/enterprise.md section 7 shows the template and imuxsock options tests/syslogkit.py runs."""
    import textwrap

    from syslogkit import TEMPLATE, Rsyslog

    docs = (REPO / "docs" / "enterprise.md").read_text("utf-8")
    assert textwrap.indent(TEMPLATE.strip(), "   ") in docs
    imuxsock = 'SysSock.Annotate="on" SysSock.ParseTrusted="on" SysSock.UsePIDFromSystem="on"'
    assert imuxsock in docs and imuxsock in Rsyslog(tmp_path).config.read_text()


def test_heartbeat_all_users_reads_each_home_but_never_through_a_planted_link(tmp_path, monkeypatch):
    from native_host.enterprise import heartbeat

    ana, eve, outside = tmp_path / "home" / "ana", tmp_path / "home" / "eve", tmp_path / "root-only"
    note_client(ana / ".local" / "state" / "rootsentinel", {"name": "firefox", "extension_version": "0.1.0",
                                                            "profile": None, "executable": None})
    note_client(outside, {"name": "secret-from-root-only-folder", "extension_version": "9", "profile": None,
                          "executable": None})
    (eve / ".local" / "state").mkdir(parents=True)
    (eve / ".local" / "state" / "rootsentinel").symlink_to(outside)  # eve points root's heartbeat elsewhere
    monkeypatch.setattr(heartbeat, "_homes", lambda all_users: [ana, eve])
    inv = heartbeat.inventory(all_users=True, own_state=tmp_path / "own")
    assert [(b["user"], b["name"]) for b in inv["browsers"]] == [("ana", "firefox")]
