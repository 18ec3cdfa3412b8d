"""``rootsentinel doctor``: each fault in a temporary --root tree is found; a good install passes."""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from native_host.install import Environment, InstallError, install
from native_host.install import cli as install_cli
from native_host.install.doctor import Check, diagnose, encode_frame, hello_roundtrip
from native_host.install.extension_ids import CHROMIUM_UNPACKED_ID

ENV = Environment(home=PurePosixPath("/home/alice"))
WIN_ENV = Environment(home=PureWindowsPath(r"C:\Users\alice"),
                      local_app_data=PureWindowsPath(r"C:\Users\alice\AppData\Local"),
                      program_files=PureWindowsPath(r"C:\Program Files"))
FF = "home/alice/.mozilla/native-messaging-hosts/io.rootsentinel.host.json"
CHROME = "home/alice/.config/google-chrome/NativeMessagingHosts/io.rootsentinel.host.json"

# A stand-in host whose behaviour each test picks; it reads one frame like a real host.
FAKE_HOST = '''#!{python}
import json, struct, sys, time
mode = {mode!r}
raw = sys.stdin.buffer.read(4)
(n,) = struct.unpack("=I", raw)
msg = json.loads(sys.stdin.buffer.read(n))
out = sys.stdout.buffer
def send(obj):
    body = json.dumps(obj).encode()
    out.write(struct.pack("=I", len(body)) + body); out.flush()
if mode == "echo":
    send({{"type": "hello", "id": msg["id"], "version": "echo", "argv": sys.argv[1:]}})
elif mode == "print":
    out.write(b"debug: starting\\n"); out.flush()
elif mode == "exit":
    sys.stderr.write("Traceback: ImportError: no module named cryptography\\n"); sys.exit(3)
elif mode == "sleep":
    time.sleep(30)
elif mode == "wrongtype":
    send({{"type": "verdict", "id": msg["id"]}})
elif mode == "wrongid":
    send({{"type": "hello", "id": 99}})
elif mode == "error":
    send({{"type": "error", "id": None, "code": "bad_json", "message": "no"}})
'''


def _fake_host(root: Path, mode: str) -> str:
    """Write a fake host inside ``root`` (paths in manifests are DESTDIR-relative) and return its final path."""
    final = f"/opt/fake/host-{mode}"
    path = root / final.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE_HOST.format(python=sys.executable, mode=mode))
    path.chmod(0o755)
    return final


def _fails(checks: list[Check]) -> list[str]:
    return [c.line() for c in checks if c.ok is False]


def _install_chrome_and_firefox(root: Path, host: str) -> None:
    install(["firefox", "chrome"], "user", "linux", ENV, host_path=host, root=root)


def _edit(root: Path, rel: str, **changes) -> None:
    path = root / rel
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def test_good_install_with_real_host_passes(tmp_path, capsys, monkeypatch):
    """The real host (``python -m native_host host`` through the launcher) answers hello for every browser."""
    install(["all"], "user", "linux", ENV, root=tmp_path, python=sys.executable)
    checks = diagnose(["all"], "linux", ENV, root=tmp_path, timeout=20)
    assert _fails(checks) == []
    hello = [c for c in checks if "host answered hello" in c.message]
    assert len(hello) == 5 and all("version 0." in c.message for c in hello)
    # and through the CLI verb: exit 0, one ✓ line per check
    monkeypatch.setattr(install_cli, "detect_environment", lambda target_os, root=None: ENV)
    parser = argparse.ArgumentParser()
    install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["doctor", "--os", "linux", "--root", str(tmp_path), "--browser", "firefox",
                              "--timeout", "20"])
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and all(line.startswith("✓ firefox: ") for line in lines[:6])
    assert lines[6].startswith("- config: no system config at ")


def test_host_gets_browser_style_argv(tmp_path):
    host = _fake_host(tmp_path, "echo")
    _install_chrome_and_firefox(tmp_path, str(host))
    checks = diagnose(["firefox", "chrome"], "linux", ENV, root=tmp_path, timeout=10)
    assert _fails(checks) == []
    result = hello_roundtrip([str(tmp_path / host.lstrip("/")), f"chrome-extension://{CHROMIUM_UNPACKED_ID}/"], timeout=10)
    assert result.ok and result.reply["argv"] == [f"chrome-extension://{CHROMIUM_UNPACKED_ID}/"]


def test_missing_manifest(tmp_path):
    fails = _fails(diagnose(["edge"], "linux", ENV, root=tmp_path, spawn=False))
    assert len(fails) == 1
    assert "no host manifest" in fails[0] and "microsoft-edge/NativeMessagingHosts" in fails[0]
    assert "/etc/opt/edge/native-messaging-hosts" in fails[0]
    assert fails[0].endswith("fix: rootsentinel install --browser edge")


def test_system_manifest_is_found_when_user_one_is_absent(tmp_path):
    host = _fake_host(tmp_path, "echo")
    install(["chrome"], "system", "linux", ENV, host_path=str(host), root=tmp_path)
    checks = diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10)
    assert _fails(checks) == []
    assert "(system scope)" in checks[0].message


def test_invalid_json(tmp_path):
    _install_chrome_and_firefox(tmp_path, "/bin/true")
    (tmp_path / FF).write_text('{"name": "io.rootsentinel.host",')
    fails = _fails(diagnose(["firefox"], "linux", ENV, root=tmp_path))
    assert len(fails) == 1 and "not valid JSON" in fails[0]


@pytest.mark.parametrize("rel,changes,expected", [
    (FF, {"name": "io.rootsentinel.hostx"}, "names host 'io.rootsentinel.hostx', expected 'io.rootsentinel.host'"),
    (FF, {"type": "pipe"}, "type is 'pipe', expected 'stdio'"),
    (FF, {"allowed_extensions": ["other@example.org"]}, "lacks rootsentinel@rootsentinel.io"),
    (FF, {"allowed_extensions": "rootsentinel@rootsentinel.io"}, "allowed_extensions is missing or not a list"),
    (CHROME, {"allowed_origins": [f"chrome-extension://{CHROMIUM_UNPACKED_ID}"]}, "lacks the trailing '/'"),
    (CHROME, {"allowed_origins": ["chrome-extension://*/"]}, "has a wildcard"),
    (CHROME, {"allowed_origins": ["chrome-extension://" + "b" * 32 + "/"]}, f"lacks chrome-extension://{CHROMIUM_UNPACKED_ID}/"),
    (CHROME, {"allowed_origins": ["https://example.org/"]}, "is not chrome-extension://<32 letters a-p>/"),
    (CHROME, {"allowed_extensions": ["rootsentinel@rootsentinel.io"], "allowed_origins": None}, "allowed_origins is missing"),
    (CHROME, {"path": "rootsentinel-host"}, "is not absolute"),
    (CHROME, {"path": "/opt/nowhere/rootsentinel-host"}, "/opt/nowhere/rootsentinel-host does not exist"),
])
def test_manifest_faults(tmp_path, rel, changes, expected):
    host = _fake_host(tmp_path, "echo")
    _install_chrome_and_firefox(tmp_path, str(host))
    _edit(tmp_path, rel, **changes)
    browser = "firefox" if rel == FF else "chrome"
    fails = _fails(diagnose([browser], "linux", ENV, root=tmp_path, timeout=10))
    assert len(fails) == 1, fails
    assert expected in fails[0]
    assert f"fix: rootsentinel install --browser {browser}" in fails[0]


def test_path_not_executable(tmp_path):
    host = _fake_host(tmp_path, "echo")
    (tmp_path / host.lstrip("/")).chmod(0o644)
    _install_chrome_and_firefox(tmp_path, str(host))
    fails = _fails(diagnose(["chrome"], "linux", ENV, root=tmp_path))
    assert len(fails) == 1 and "is not executable" in fails[0] and "chmod +x" in fails[0]


def test_launcher_whose_python_is_gone(tmp_path):
    install(["firefox"], "user", "linux", ENV, root=tmp_path, python="/nonexistent/venv/bin/python3")
    fails = _fails(diagnose(["firefox"], "linux", ENV, root=tmp_path))
    assert len(fails) == 1 and "runs /nonexistent/venv/bin/python3, which is gone" in fails[0]


@pytest.mark.parametrize("mode,expected", [
    ("print", "non-frame bytes to stdout (b'debu' read as a length)"),
    ("exit", "exited (code 3) without replying; its last stderr line: Traceback: ImportError"),
    ("sleep", "no reply within 1 s"),
    ("wrongtype", "type 'verdict', expected 'hello'"),
    ("wrongid", "reply id 99 does not echo the request id 'doctor'"),
    ("error", "answered with an error: bad_json: no"),
])
def test_host_faults(tmp_path, mode, expected):
    host = _fake_host(tmp_path, mode)
    _install_chrome_and_firefox(tmp_path, str(host))
    fails = _fails(diagnose(["firefox"], "linux", ENV, root=tmp_path, timeout=1 if mode == "sleep" else 10))
    assert len(fails) == 1, fails
    assert "host did not answer hello" in fails[0] and expected in fails[0]


def test_unstartable_host(tmp_path):
    host = tmp_path / "host-noshebang"
    host.write_bytes(b"\x00\x01 not a program")
    host.chmod(0o755)
    result = hello_roundtrip([str(host)], timeout=2)
    assert not result.ok and result.error.startswith("cannot start the host")


def test_frame_encoding_is_native_order_length_plus_utf8_json():
    frame = encode_frame({"type": "hello", "id": "doctor"})
    assert struct.unpack("=I", frame[:4])[0] == len(frame) - 4
    assert json.loads(frame[4:].decode("utf-8")) == {"type": "hello", "id": "doctor"}


def test_windows_tree_via_reg_files(tmp_path):
    host = r"C:\Program Files\RootSentinel\rootsentinel-host.exe"
    install(["edge", "firefox"], "system", "windows", WIN_ENV, host_path=host, root=tmp_path)
    exe = tmp_path / "C/Program Files/RootSentinel/rootsentinel-host.exe"
    exe.write_bytes(b"MZ")
    checks = diagnose(["edge", "firefox"], "windows", WIN_ENV, root=tmp_path)
    assert _fails(checks) == []
    assert any(c.ok and "registry key HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Edge" in c.message for c in checks)
    assert any(c.ok is None and "host not started" in c.message for c in checks)  # a .exe cannot run here
    # the key names a manifest that is gone
    (tmp_path / "C/Program Files/RootSentinel/io.rootsentinel.host-edge.json").unlink()
    fails = _fails(diagnose(["edge"], "windows", WIN_ENV, root=tmp_path))
    assert len(fails) == 1 and "which does not exist" in fails[0]
    # a .reg file that sets another browser's key
    reg = tmp_path / "C/Program Files/RootSentinel/io.rootsentinel.host-firefox.reg"
    reg.write_bytes(reg.read_bytes().decode("utf-16").replace("Mozilla", "Google\\Chrome").encode("utf-16"))
    fails = _fails(diagnose(["firefox"], "windows", WIN_ENV, root=tmp_path))
    assert len(fails) == 1 and "not HKEY_LOCAL_MACHINE\\Software\\Mozilla" in fails[0]
    # no key at all
    reg.unlink()
    fails = _fails(diagnose(["firefox"], "windows", WIN_ENV, root=tmp_path))
    assert len(fails) == 1 and "no host manifest" in fails[0]


def test_windows_host_path_must_be_runnable(tmp_path):
    host = r"C:\Program Files\RootSentinel\rootsentinel-host.py"
    install(["chrome"], "user", "windows", WIN_ENV, host_path=host, root=tmp_path)
    fails = _fails(diagnose(["chrome"], "windows", WIN_ENV, root=tmp_path))
    assert len(fails) == 1 and "does not exist" in fails[0]
    (tmp_path / "C/Program Files/RootSentinel").mkdir(parents=True)
    (tmp_path / "C/Program Files/RootSentinel/rootsentinel-host.py").write_text("print()")
    fails = _fails(diagnose(["chrome"], "windows", WIN_ENV, root=tmp_path))
    assert len(fails) == 1 and "is not an .exe or .bat" in fails[0]


def test_cli_doctor_exit_3_on_failure(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(install_cli, "detect_environment", lambda target_os, root=None: ENV)
    parser = argparse.ArgumentParser()
    install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["doctor", "--os", "linux", "--root", str(tmp_path), "--browser", "brave"])
    assert args.func(args) == 3
    out = capsys.readouterr().out
    assert out.startswith("✗ brave: no host manifest") and out.count("\n") == 2
    assert out.splitlines()[1].startswith("- config: no system config at ")


def _chrome_policy(root: Path, doc: dict) -> None:
    folder = root / "etc/opt/chrome/policies/managed"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corp.json").write_text(json.dumps(doc))


def test_policy_disabling_user_level_hosts(tmp_path):
    """keepassxc#5253: a user-level manifest is ignored when NativeMessagingUserLevelHosts is false."""
    host = _fake_host(tmp_path, "echo")
    install(["chrome"], "user", "linux", ENV, host_path=host, root=tmp_path)
    _chrome_policy(tmp_path, {"NativeMessagingUserLevelHosts": False})
    checks = diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10)
    fails = _fails(checks)
    assert len(fails) == 1 and "no host manifest" in fails[0] and "google-chrome" not in fails[0]
    assert fails[0].endswith("fix: rootsentinel install --browser chrome --scope system")
    assert any(c.ok is None and "NativeMessagingUserLevelHosts is false" in c.message for c in checks)
    install(["chrome"], "system", "linux", ENV, host_path=host, root=tmp_path)
    assert _fails(diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10)) == []


def test_policy_blocklist(tmp_path):
    host = _fake_host(tmp_path, "echo")
    install(["chrome"], "user", "linux", ENV, host_path=host, root=tmp_path)
    _chrome_policy(tmp_path, {"NativeMessagingBlocklist": ["*"]})
    fails = _fails(diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10))
    assert len(fails) == 1 and "NativeMessagingBlocklist blocks io.rootsentinel.host" in fails[0]
    assert "NativeMessagingAllowlist" in fails[0]
    _chrome_policy(tmp_path, {"NativeMessagingBlocklist": ["*"], "NativeMessagingAllowlist": ["io.rootsentinel.host"]})
    assert _fails(diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10)) == []


def test_system_install_must_be_usable_by_every_user(tmp_path):
    host = _fake_host(tmp_path, "echo")
    install(["chromium"], "system", "linux", ENV, host_path=host, root=tmp_path)
    manifest = tmp_path / "etc/chromium/native-messaging-hosts/io.rootsentinel.host.json"
    manifest.chmod(0o600)
    fails = _fails(diagnose(["chromium"], "linux", ENV, root=tmp_path))
    assert len(fails) == 1 and "not readable by every user (mode 600)" in fails[0] and "chmod 644" in fails[0]
    manifest.chmod(0o644)
    (tmp_path / host.lstrip("/")).chmod(0o700)
    fails = _fails(diagnose(["chromium"], "linux", ENV, root=tmp_path))
    assert len(fails) == 1 and "not executable by every user (mode 700)" in fails[0]


def test_cli_doctor_without_browser_skips_browsers_not_used_here(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(install_cli, "detect_environment", lambda target_os, root=None: ENV)
    host = _fake_host(tmp_path, "echo")
    install(["firefox"], "user", "linux", ENV, host_path=host, root=tmp_path)
    (tmp_path / "home/alice/.config/chromium").mkdir(parents=True)  # Chromium was run, has no manifest
    parser = argparse.ArgumentParser()
    install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["doctor", "--os", "linux", "--root", str(tmp_path / "empty"), "--timeout", "10"])
    assert args.func(args) == 3  # nothing installed anywhere is a failure, not "all skipped, all good"
    assert any(line.startswith("✗ every browser: no host manifest") for line in capsys.readouterr().out.splitlines())
    args = parser.parse_args(["doctor", "--os", "linux", "--root", str(tmp_path), "--timeout", "10"])
    assert args.func(args) == 3
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("✗")] == [
        next(line for line in lines if line.startswith("✗ chromium: no host manifest"))]
    assert sum(line.startswith("- ") and "skipped" in line for line in lines) == 3  # chrome, edge, brave
    install(["chromium"], "user", "linux", ENV, host_path=host, root=tmp_path)
    assert args.func(args) == 0


def test_another_os_needs_root():
    from native_host.install.locations import current_os
    other = "windows" if current_os() != "windows" else "linux"
    with pytest.raises(InstallError, match="needs --root"):
        diagnose(["edge"], other, WIN_ENV if other == "windows" else ENV)


# --- what the browser will actually do (issue 23 item 6) ---

REAL_ID = "mhjfbmdgcfjbbpaeojofohoefgiehjai"  # a self-hosted CRX's id (any 32 letters a-p)


def _doctor_cli(monkeypatch, *argv):
    monkeypatch.setattr(install_cli, "detect_environment", lambda target_os, root=None: ENV)
    parser = argparse.ArgumentParser()
    install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["doctor", *argv])
    return args.func(args)


def test_policy_forced_id_missing_from_allowed_origins_is_a_failure_and_the_fix_keeps_the_real_id(tmp_path, monkeypatch, capsys):
    host = _fake_host(tmp_path, "echo")
    install(["chrome"], "system", "linux", ENV, host_path=host, root=tmp_path)  # default ids: not the CRX's
    _chrome_policy(tmp_path, {"ExtensionInstallForcelist": [f"{REAL_ID};http://updates.corp.example/updates.xml"],
                              "NativeMessagingAllowlist": ["io.rootsentinel.host"]})
    checks = diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10)
    fails = _fails(checks)
    assert len(fails) == 1 and f"allowed_origins lacks chrome-extension://{REAL_ID}/" in fails[0]
    assert fails[0].endswith(f"fix: rootsentinel install --browser chrome --scope system --extension-id {REAL_ID}")
    assert "a" * 32 not in fails[0]  # never the placeholder
    # the fix, run, makes doctor clean
    install(["chrome"], "system", "linux", ENV, host_path=host, root=tmp_path, extension_ids=[REAL_ID])
    assert _fails(diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10)) == []
    # the CLI: exit 3 (host class), and --json says the class
    install(["chrome"], "system", "linux", ENV, host_path=host, root=tmp_path)
    assert _doctor_cli(monkeypatch, "--os", "linux", "--root", str(tmp_path), "--browser", "chrome", "--json") == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["exit_code"] == 3
    assert [f["class"] for f in doc["findings"] if f["ok"] is False] == ["host"]


def test_an_invalid_config_is_a_failure_with_its_own_exit_code(tmp_path, monkeypatch, capsys):
    install(["firefox"], "user", "linux", ENV, python=sys.executable, root=tmp_path)
    config = tmp_path / "etc/rootsentinel/config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"mode": "block", "probing": True}))
    code = _doctor_cli(monkeypatch, "--os", "linux", "--root", str(tmp_path), "--browser", "firefox", "--no-spawn", "--json")
    doc = json.loads(capsys.readouterr().out)
    assert code == 4 and doc["exit_code"] == 4
    (bad,) = [f for f in doc["findings"] if f["ok"] is False]
    assert bad["class"] == "config" and "mode" in bad["message"] and "ignores it" in bad["message"]
    config.write_text(json.dumps({"mode": "enforce", "probing": False}))
    assert _doctor_cli(monkeypatch, "--os", "linux", "--root", str(tmp_path), "--browser", "firefox", "--no-spawn") == 0
    assert "✓ config: " in capsys.readouterr().out


def test_an_unwritable_audit_destination_gives_the_audit_exit_code(tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        shared = tmp_path / "shared.jsonl"
        shared.write_text("")
        shared.chmod(0o666)  # writable by others: refused (root can write anything, so use that rule)
        target = shared
    else:
        target = tmp_path / "ro" / "audit.jsonl"
        target.parent.mkdir()
        target.parent.chmod(0o500)
    install(["firefox"], "user", "linux", ENV, python=sys.executable, root=tmp_path)
    config = tmp_path / "etc/rootsentinel/config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"audit": True, "audit_log": str(target)}))
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(config))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code = _doctor_cli(monkeypatch, "--os", "linux", "--root", str(tmp_path), "--browser", "firefox", "--no-spawn", "--json")
    doc = json.loads(capsys.readouterr().out)
    assert code == 5, doc
    assert {f["class"] for f in doc["findings"] if f["ok"] is False} == {"audit"}


def test_extension_presence_in_the_profiles_found(tmp_path, monkeypatch, capsys):
    host = _fake_host(tmp_path, "echo")
    install(["chromium"], "user", "linux", ENV, host_path=host, root=tmp_path)
    data = tmp_path / "home/alice/.config/chromium"
    (data / "Default").mkdir(parents=True)
    (data / "Default" / "Preferences").write_text(json.dumps({"extensions": {"settings": {"x" * 32: {}}}}))
    checks = diagnose(["chromium"], "linux", ENV, root=tmp_path, timeout=10)
    (line,) = [c for c in checks if c.kind == "extension"]
    assert line.ok is False and "none of the 1 profile(s)" in line.message
    assert _doctor_cli(monkeypatch, "--os", "linux", "--root", str(tmp_path), "--browser", "chromium") == 6
    capsys.readouterr()
    (data / "Default" / "Preferences").write_text(json.dumps({"extensions": {"settings": {CHROMIUM_UNPACKED_ID: {}}}}))
    (line,) = [c for c in diagnose(["chromium"], "linux", ENV, root=tmp_path, timeout=10) if c.kind == "extension"]
    assert line.ok is True and "1 of 1 profile(s): Default" in line.message


def test_no_manifest_with_a_forced_id_the_fix_names_that_id(tmp_path):
    _chrome_policy(tmp_path, {"ExtensionInstallForcelist": [REAL_ID]})
    fails = _fails(diagnose(["chrome"], "linux", ENV, root=tmp_path, timeout=10))
    assert len(fails) == 1 and "no host manifest" in fails[0]
    assert fails[0].endswith(f"fix: rootsentinel install --browser chrome --extension-id {REAL_ID}")
