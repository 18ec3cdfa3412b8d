"""Host-manifest install: every OS x browser x scope, idempotence, uninstall, dry run, ids, .reg files."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from native_host import FIREFOX_EXTENSION_ID, HOST_NAME
from native_host.install import Environment, InstallError, install, plan_install, uninstall
from native_host.install import cli as install_cli
from native_host.install.extension_ids import (
    CHROMIUM_STORE_ID_PLACEHOLDER,
    CHROMIUM_UNPACKED_ID,
    CHROMIUM_UNPACKED_KEY,
    chromium_extension_id,
    chromium_origin,
    resolve_extension_ids,
)
from native_host.install.launcher import launcher_script
from native_host.install.registry import RegistryValue, parse_reg, render_reg

POSIX_ENV = {
    "linux": Environment(home=PurePosixPath("/home/alice")),
    "macos": Environment(home=PurePosixPath("/Users/alice")),
}
WIN_ENV = Environment(
    home=PureWindowsPath(r"C:\Users\alice"),
    local_app_data=PureWindowsPath(r"C:\Users\alice\AppData\Local"),
    program_files=PureWindowsPath(r"C:\Program Files"),
)
ENVS = {**POSIX_ENV, "windows": WIN_ENV}
HOST = {"linux": "/opt/rootsentinel/rootsentinel-host", "macos": "/opt/rootsentinel/rootsentinel-host",
        "windows": r"C:\Program Files\RootSentinel\rootsentinel-host.exe"}

# Expected manifest locations: browser-apis.md 3.3, MDN Native_manifests, chromium chrome_paths.cc.
EXPECTED_PATHS = {
    ("linux", "firefox", "user"): "/home/alice/.mozilla/native-messaging-hosts/io.rootsentinel.host.json",
    ("linux", "firefox", "system"): "/usr/lib/mozilla/native-messaging-hosts/io.rootsentinel.host.json",
    ("linux", "chrome", "user"): "/home/alice/.config/google-chrome/NativeMessagingHosts/io.rootsentinel.host.json",
    ("linux", "chrome", "system"): "/etc/opt/chrome/native-messaging-hosts/io.rootsentinel.host.json",
    ("linux", "chromium", "user"): "/home/alice/.config/chromium/NativeMessagingHosts/io.rootsentinel.host.json",
    ("linux", "chromium", "system"): "/etc/chromium/native-messaging-hosts/io.rootsentinel.host.json",
    ("linux", "edge", "user"): "/home/alice/.config/microsoft-edge/NativeMessagingHosts/io.rootsentinel.host.json",
    ("linux", "edge", "system"): "/etc/opt/edge/native-messaging-hosts/io.rootsentinel.host.json",
    ("linux", "brave", "user"): "/home/alice/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts/io.rootsentinel.host.json",
    ("linux", "brave", "system"): "/etc/chromium/native-messaging-hosts/io.rootsentinel.host.json",
    ("macos", "firefox", "user"): "/Users/alice/Library/Application Support/Mozilla/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "firefox", "system"): "/Library/Application Support/Mozilla/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "chrome", "user"): "/Users/alice/Library/Application Support/Google/Chrome/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "chrome", "system"): "/Library/Google/Chrome/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "chromium", "user"): "/Users/alice/Library/Application Support/Chromium/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "chromium", "system"): "/Library/Application Support/Chromium/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "edge", "user"): "/Users/alice/Library/Application Support/Microsoft Edge/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "edge", "system"): "/Library/Microsoft/Edge/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "brave", "user"): "/Users/alice/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts/io.rootsentinel.host.json",
    ("macos", "brave", "system"): "/Library/Application Support/Chromium/NativeMessagingHosts/io.rootsentinel.host.json",
}
WIN_FOLDER = {"user": r"C:\Users\alice\AppData\Local\RootSentinel", "system": r"C:\Program Files\RootSentinel"}
WIN_KEYS = {
    "firefox": r"Software\Mozilla\NativeMessagingHosts",
    "chrome": r"Software\Google\Chrome\NativeMessagingHosts",
    "chromium": r"Software\Chromium\NativeMessagingHosts",
    "edge": r"Software\Microsoft\Edge\NativeMessagingHosts",
    "brave": r"Software\BraveSoftware\Brave-Browser\NativeMessagingHosts",
}
WIN_HIVE = {"user": "HKEY_CURRENT_USER", "system": "HKEY_LOCAL_MACHINE"}

ALL = [(o, b, s) for o in ("linux", "macos", "windows") for b in ("firefox", "chrome", "chromium", "edge", "brave")
       for s in ("user", "system")]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _expected_manifest(browser: str, host: str) -> dict:
    doc = {"name": HOST_NAME, "description": "RootSentinel: tells you whether your HTTPS connection is intercepted",
           "path": host, "type": "stdio"}
    if browser == "firefox":
        doc["allowed_extensions"] = ["rootsentinel@rootsentinel.io"]
    else:
        doc["allowed_origins"] = [f"chrome-extension://{CHROMIUM_UNPACKED_ID}/",
                                  "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"]
    return doc


@pytest.mark.parametrize("target_os,browser,scope", ALL)
def test_install_writes_the_documented_file(tmp_path, target_os, browser, scope):
    changes = install([browser], scope, target_os, ENVS[target_os], host_path=HOST[target_os], root=tmp_path)
    files = _files(tmp_path)
    if target_os == "windows":
        manifest = f"C/{WIN_FOLDER[scope][3:].replace(chr(92), '/')}/io.rootsentinel.host-{browser}.json"
        reg = manifest[:-5] + ".reg"
        assert sorted(files) == sorted([manifest, reg])
        key = f"{WIN_HIVE[scope]}\\{WIN_KEYS[browser]}\\io.rootsentinel.host"
        value = f"{WIN_FOLDER[scope]}\\io.rootsentinel.host-{browser}.json"
        expected_reg = ("\ufeffWindows Registry Editor Version 5.00\r\n\r\n"
                        f"[{key}]\r\n@=\"{value.replace(chr(92), chr(92) * 2)}\"\r\n\r\n")
        assert files[reg] == expected_reg.encode("utf-16-le")
        assert parse_reg(files[reg]) == [RegistryValue(key, value)]
    else:
        manifest = EXPECTED_PATHS[(target_os, browser, scope)].lstrip("/")
        assert sorted(files) == [manifest]
        assert stat.S_IMODE((tmp_path / manifest).stat().st_mode) == 0o644
    assert json.loads(files[manifest]) == _expected_manifest(browser, HOST[target_os])
    assert list(json.loads(files[manifest])) == ["name", "description", "path", "type",
                                                 "allowed_extensions" if browser == "firefox" else "allowed_origins"]
    assert {c.action for c in changes} == {"written"}


@pytest.mark.parametrize("target_os,browser,scope", ALL)
def test_reinstall_is_unchanged_and_uninstall_removes_exactly_it(tmp_path, target_os, browser, scope):
    (tmp_path / "unrelated.txt").write_text("keep me")
    before = _files(tmp_path)
    install([browser], scope, target_os, ENVS[target_os], host_path=HOST[target_os], root=tmp_path)
    written = _files(tmp_path)
    again = install([browser], scope, target_os, ENVS[target_os], host_path=HOST[target_os], root=tmp_path)
    assert {c.action for c in again} == {"unchanged"}
    assert _files(tmp_path) == written
    removed = uninstall([browser], scope, target_os, ENVS[target_os], root=tmp_path)
    assert "removed" in {c.action for c in removed}
    assert _files(tmp_path) == before


def test_all_browsers_default_launcher_linux_user(tmp_path):
    env = Environment(home=PurePosixPath("/home/alice"))
    changes = install(["all"], "user", "linux", env, root=tmp_path, python="/usr/bin/python3")
    launcher = tmp_path / "home/alice/.local/share/rootsentinel/rootsentinel-host"
    assert stat.S_IMODE(launcher.stat().st_mode) == 0o755
    text = launcher.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert text.rstrip().endswith('exec /usr/bin/python3 -m native_host host "$@"')
    for b in ("firefox", "chrome", "chromium", "edge", "brave"):
        doc = json.loads((tmp_path / EXPECTED_PATHS[("linux", b, "user")].lstrip("/")).read_text())
        assert doc["path"] == "/home/alice/.local/share/rootsentinel/rootsentinel-host"
    assert len(changes) == 6
    # uninstalling one browser keeps the launcher the others still name
    out = uninstall(["firefox"], "user", "linux", env, root=tmp_path)
    assert launcher.exists()
    assert any(c.action == "kept" and c.kind == "launcher" for c in out)
    uninstall(["all"], "user", "linux", env, root=tmp_path)
    assert not launcher.exists()
    assert not (tmp_path / "home/alice/.local/share/rootsentinel").exists()


def test_xdg_config_home_moves_chromium_user_manifests(tmp_path):
    env = Environment(home=PurePosixPath("/home/alice"), xdg_config_home=PurePosixPath("/cfg"),
                      xdg_data_home=PurePosixPath("/data"))
    install(["chrome", "firefox"], "user", "linux", env, root=tmp_path, python="/usr/bin/python3")
    assert (tmp_path / "cfg/google-chrome/NativeMessagingHosts/io.rootsentinel.host.json").is_file()
    # Firefox keeps ~/.mozilla whatever XDG says (Bugzilla 2005167)
    assert (tmp_path / "home/alice/.mozilla/native-messaging-hosts/io.rootsentinel.host.json").is_file()
    assert (tmp_path / "data/rootsentinel/rootsentinel-host").is_file()


def test_linux_system_firefox_also_writes_lib64_when_present(tmp_path):
    env = Environment(home=PurePosixPath("/home/alice"), usr_lib64=True)
    install(["firefox"], "system", "linux", env, root=tmp_path, host_path="/opt/rs/host")
    a = tmp_path / "usr/lib/mozilla/native-messaging-hosts/io.rootsentinel.host.json"
    b = tmp_path / "usr/lib64/mozilla/native-messaging-hosts/io.rootsentinel.host.json"
    assert a.read_bytes() == b.read_bytes()
    uninstall(["firefox"], "system", "linux", env, root=tmp_path)
    assert not a.exists() and not b.exists()


def test_brave_and_chromium_share_the_system_file(tmp_path):
    env = POSIX_ENV["linux"]
    changes = install(["chromium", "brave"], "system", "linux", env, root=tmp_path, host_path="/opt/rs/host")
    assert [c.note for c in changes] == ["chromium, brave"]
    out = uninstall(["brave"], "system", "linux", env, root=tmp_path)
    shared = tmp_path / "etc/chromium/native-messaging-hosts/io.rootsentinel.host.json"
    assert not shared.exists()
    assert out[0].action == "removed" and out[0].note == "brave; chromium read the same file"


def test_changed_content_is_updated(tmp_path):
    env = POSIX_ENV["linux"]
    install(["chrome"], "user", "linux", env, root=tmp_path, host_path="/opt/a")
    out = install(["chrome"], "user", "linux", env, root=tmp_path, host_path="/opt/b")
    assert [c.action for c in out] == ["updated"]
    assert json.loads(Path(out[0].target).read_text())["path"] == "/opt/b"


def test_dry_run_writes_nothing(tmp_path):
    for target_os in ("linux", "macos", "windows"):
        out = install(["all"], "system", target_os, ENVS[target_os], host_path=HOST[target_os],
                      root=tmp_path, dry_run=True)
        assert out and {c.action for c in out} == {"would write"}
        assert all(c.content for c in out)
    assert list(tmp_path.iterdir()) == []
    install(["edge"], "user", "linux", POSIX_ENV["linux"], host_path="/opt/a", root=tmp_path)
    before = _files(tmp_path)
    out = install(["edge"], "user", "linux", POSIX_ENV["linux"], host_path="/opt/b", root=tmp_path, dry_run=True)
    assert [c.action for c in out] == ["would update"]
    assert uninstall(["edge"], "user", "linux", POSIX_ENV["linux"], root=tmp_path, dry_run=True)[0].action == "would remove"
    assert _files(tmp_path) == before


def test_uninstall_keeps_foreign_files(tmp_path):
    env = POSIX_ENV["linux"]
    path = tmp_path / EXPECTED_PATHS[("linux", "chrome", "user")].lstrip("/")
    path.parent.mkdir(parents=True)
    path.write_text('{"name": "someone.else"}')
    launcher = tmp_path / "home/alice/.local/share/rootsentinel/rootsentinel-host"
    launcher.parent.mkdir(parents=True)
    launcher.write_text("#!/bin/sh\necho mine\n")
    out = uninstall(["chrome"], "user", "linux", env, root=tmp_path)
    assert path.exists() and launcher.exists()
    assert [c.action for c in out] == ["kept", "kept"]


def test_relative_host_path_and_foreign_launcher_are_errors(tmp_path):
    with pytest.raises(InstallError, match="absolute"):
        plan_install(["firefox"], "user", "linux", POSIX_ENV["linux"], host_path="bin/host", root=tmp_path)
    with pytest.raises(InstallError, match="absolute"):
        plan_install(["firefox"], "user", "windows", WIN_ENV, host_path=r"RootSentinel\host.exe", root=tmp_path)
    with pytest.raises(InstallError, match="--host-path"):
        plan_install(["firefox"], "user", "windows", WIN_ENV, root=tmp_path)
    with pytest.raises(InstallError, match="unknown browser"):
        plan_install(["safari"], "user", "linux", POSIX_ENV["linux"], root=tmp_path)


@pytest.mark.parametrize("target_os", ["linux", "macos", "windows"])
def test_another_os_without_root_is_refused(target_os):
    from native_host.install.locations import current_os
    if target_os == current_os():
        pytest.skip("this OS may write its own real locations")
    with pytest.raises(InstallError, match="--root"):
        install(["edge"], "user", target_os, ENVS[target_os], host_path=HOST[target_os])
    with pytest.raises(InstallError, match="--root"):
        uninstall(["edge"], "user", target_os, ENVS[target_os])
    out = install(["edge"], "user", target_os, ENVS[target_os], host_path=HOST[target_os], dry_run=True)
    assert out and all(c.action == "would write" for c in out)


def test_windows_launcher_is_a_batch_file(tmp_path):
    script = launcher_script("windows", python=r"C:\Python311\python.exe", frozen=False, pythonpath=None)
    assert script == b'@echo off\r\nrem RootSentinel native messaging host launcher (written by `rootsentinel install`).\r\n"C:\\Python311\\python.exe" -m native_host host %*\r\n'
    frozen = launcher_script("linux", python="/opt/rs/rootsentinel", frozen=True)
    assert frozen.endswith(b'exec /opt/rs/rootsentinel host "$@"\n')
    quoted = launcher_script("macos", python="/Users/a b/venv/bin/python", frozen=False, pythonpath="/src dir")
    assert b"exec '/Users/a b/venv/bin/python' -m native_host host \"$@\"" in quoted
    assert b"PYTHONPATH='/src dir'" in quoted


def test_windows_plan_with_python_writes_bat_launcher(tmp_path):
    plan = plan_install(["firefox"], "user", "windows", WIN_ENV, root=tmp_path, python=r"C:\Py\python.exe")
    assert plan.host_path == r"C:\Users\alice\AppData\Local\RootSentinel\rootsentinel-host.bat"
    assert plan.files[0].kind == "launcher"


# --- extension ids -------------------------------------------------------------------------------

def test_chromium_id_matches_chromium_test_vectors():
    # chromium extensions/common/extension_unittest.cc: GenerateId("test"), GenerateId("_"), long input
    assert chromium_extension_id(base64.b64encode(b"test").decode()) == "jpignaibiiemhngfjkcpokkamffknabf"
    assert chromium_extension_id(base64.b64encode(b"_").decode()) == "ncocknphbhhlhkikpnnlmbcnbgdempcd"
    long = b"this_string_is_longer_than_a_single_sha256_hash_digest"
    assert chromium_extension_id(base64.b64encode(long).decode()) == "jimneklojkjdibfkgiiophfhjhbdgcfi"


def test_unpacked_id_is_derived_from_the_committed_key():
    assert chromium_extension_id(CHROMIUM_UNPACKED_KEY) == CHROMIUM_UNPACKED_ID
    der = base64.b64decode(CHROMIUM_UNPACKED_KEY)
    assert der[:2] == b"\x30\x82"  # a DER SEQUENCE: a SubjectPublicKeyInfo
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    assert load_der_public_key(der).key_size == 2048
    # the placeholder would need a SHA-256 with 128 leading zero bits: no key has that id
    assert CHROMIUM_STORE_ID_PLACEHOLDER == "a" * 32
    assert hashlib.sha256(der).hexdigest()[:32] != "0" * 32


def test_chromium_id_errors_and_origins():
    with pytest.raises(ValueError):
        chromium_extension_id("not base64!!")
    with pytest.raises(ValueError):
        chromium_extension_id("")
    assert chromium_origin(CHROMIUM_UNPACKED_ID) == f"chrome-extension://{CHROMIUM_UNPACKED_ID}/"
    with pytest.raises(ValueError):
        chromium_origin("ABC")


def test_extension_id_option_semantics(tmp_path):
    store = "b" * 32
    ff, cr = resolve_extension_ids([store, "other@example.org"])
    assert ff == ("other@example.org",) and cr == (CHROMIUM_UNPACKED_ID, store)
    assert resolve_extension_ids([]) == ((FIREFOX_EXTENSION_ID,), (CHROMIUM_UNPACKED_ID, CHROMIUM_STORE_ID_PLACEHOLDER))
    with pytest.raises(ValueError, match="unrecognised"):
        resolve_extension_ids(["chrome-extension://x/"])
    install(["edge"], "user", "linux", POSIX_ENV["linux"], host_path="/opt/h", root=tmp_path, extension_ids=[store])
    doc = json.loads((tmp_path / EXPECTED_PATHS[("linux", "edge", "user")].lstrip("/")).read_text())
    assert doc["allowed_origins"] == [f"chrome-extension://{CHROMIUM_UNPACKED_ID}/", f"chrome-extension://{store}/"]


# --- .reg files ------------------------------------------------------------------------------------

def test_reg_round_trip_escapes_quotes_and_backslashes():
    value = RegistryValue(r"HKEY_CURRENT_USER\Software\X", 'C:\\a "b"\\c.json')
    data = render_reg([value])
    assert data.startswith(b"\xff\xfe")
    assert '@="C:\\\\a \\"b\\"\\\\c.json"' in data.decode("utf-16")
    assert parse_reg(data) == [value]
    assert parse_reg(b'REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\K]\r\n@="C:\\\\x"\r\n') == [RegistryValue("HKEY_LOCAL_MACHINE\\K", "C:\\x")]
    with pytest.raises(ValueError):
        parse_reg(b"[HKEY_CURRENT_USER\\K]\r\n")
    with pytest.raises(ValueError):
        render_reg([RegistryValue("HKEY_CURRENT_USER\\K", "a\r\n[HKEY_LOCAL_MACHINE\\evil]")])


# --- the CLI verbs ---------------------------------------------------------------------------------

def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rootsentinel")
    sub = parser.add_subparsers(dest="cmd", required=True)
    install_cli.add_parsers(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_install_dry_run_and_uninstall(tmp_path, capsys):
    root = str(tmp_path)
    assert _run(["install", "--browser", "edge", "--os", "windows", "--scope", "system", "--root", root,
                 "--host-path", HOST["windows"], "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write" in out and r"HKEY_LOCAL_MACHINE\Software\Microsoft\Edge\NativeMessagingHosts" in out
    assert list(tmp_path.iterdir()) == []
    assert _run(["install", "--browser", "all", "--os", "linux", "--root", root, "--host-path", "/opt/h"]) == 0
    assert _run(["install", "--browser", "all", "--os", "linux", "--root", root, "--host-path", "/opt/h"]) == 0
    out = capsys.readouterr().out
    assert out.count("unchanged") == 5
    assert _run(["uninstall", "--browser", "all", "--os", "linux", "--root", root]) == 0
    assert "removed" in capsys.readouterr().out


def test_cli_errors_exit_3_with_one_line(tmp_path, capsys):
    assert _run(["install", "--browser", "firefox", "--os", "linux", "--root", str(tmp_path), "--host-path", "rel"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("rootsentinel: error: ") and err.count("\n") == 1
    assert _run(["install", "--browser", "edge", "--os", "linux", "--root", str(tmp_path),
                 "--host-path", "/h", "--extension-id", "nope"]) == 3


def test_cli_unwritable_target_is_exit_3(tmp_path, capsys):
    (tmp_path / "etc").write_text("a file where a directory must go")
    assert _run(["install", "--browser", "chrome", "--scope", "system", "--os", "linux", "--root", str(tmp_path),
                 "--host-path", "/h"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("rootsentinel: error: ") and "system scope needs root" in err


def test_docs_table_names_every_location():
    doc = (Path(__file__).resolve().parents[1] / "docs/install.md").read_text()
    for (target_os, _browser, scope), path in EXPECTED_PATHS.items():
        parent = path.rsplit("/", 1)[0] + "/"
        if scope == "user":
            parent = parent.replace("/home/alice", "~").replace("/Users/alice", "~")
        assert f"`{parent}`" in doc, parent
    for browser, key in WIN_KEYS.items():
        for scope, hive in WIN_HIVE.items():
            assert f"`{hive}\\{key}\\io.rootsentinel.host`" in doc


def test_frozen_bundle_names_itself(tmp_path, monkeypatch):
    import sys
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/rootsentinel/rootsentinel")
    plan = plan_install(["firefox"], "user", "linux", POSIX_ENV["linux"], root=tmp_path)
    assert plan.host_path == "/opt/rootsentinel/rootsentinel"
    assert [f.kind for f in plan.files] == ["manifest"]


def test_winreg_mode_logic_with_a_fake_registry(tmp_path, monkeypatch):
    """The winreg branch (real Windows) driven through a dict standing in for the registry."""
    from native_host.install import registry as reg
    keys: dict[str, str] = {}
    monkeypatch.setattr(reg, "read_default", lambda key: keys.get(key))
    monkeypatch.setattr(reg, "write_default", lambda key, value: keys.__setitem__(key, value))
    monkeypatch.setattr(reg, "delete_key", lambda key: keys.pop(key, None))
    key = r"HKEY_CURRENT_USER\Software\Microsoft\Edge\NativeMessagingHosts\io.rootsentinel.host"
    manifest = r"C:\Users\alice\AppData\Local\RootSentinel\io.rootsentinel.host-edge.json"
    out = install(["edge"], "user", "windows", WIN_ENV, host_path=HOST["windows"], root=tmp_path, use_winreg=True)
    assert [(c.action, c.kind) for c in out] == [("written", "manifest"), ("written", "registry")]
    assert keys == {key: manifest}
    assert not list(tmp_path.rglob("*.reg"))
    again = install(["edge"], "user", "windows", WIN_ENV, host_path=HOST["windows"], root=tmp_path, use_winreg=True)
    assert {c.action for c in again} == {"unchanged"}
    keys[key] = r"D:\other\host.json"  # another product took the key: uninstall leaves it alone
    out = uninstall(["edge"], "user", "windows", WIN_ENV, root=tmp_path, use_winreg=True)
    assert ("kept", "registry") in [(c.action, c.kind) for c in out] and key in keys
    keys[key] = manifest
    uninstall(["edge"], "user", "windows", WIN_ENV, root=tmp_path, use_winreg=True)
    assert keys == {}
