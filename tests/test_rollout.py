"""``rootsentinel rollout``: a whole Linux rollout from one settings file (issue 23, "What a fleet expects").

The settings file is the system config; the tree must carry exactly one meaning of each setting: the
config the host reads, and the same values as every browser's managed settings, with the CRX key's id
in both the Chromium policies and the host manifests' ``allowed_origins``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from native_host import FIREFOX_EXTENSION_ID, HOST_NAME
from native_host.install import cli as install_cli
from native_host.install.extension_ids import CHROMIUM_UNPACKED_ID
from native_host.install.policy import MANAGED_SCHEMA

REPO = Path(__file__).parent.parent
ID = "gbadifihkfbfddainphegpodpdfklnac"
SPKI = "50050e2386a728a71d4e0bb40478d53b040b04b0e6ae4b304663649afff2af4e"
SETTINGS = {"mode": "enforce", "allow_spki_sha256": [SPKI],
            "banned": [{"spki_sha256": "ab" * 32, "reason": "retired proxy"}],
            "notifications": False, "probing": True, "audit": True, "syslog": True, "syslog_facility": "local3"}
CHROMIUM_POLICIES = {"chrome": "etc/opt/chrome/policies/managed/rootsentinel.json",
                     "chromium": "etc/chromium/policies/managed/rootsentinel.json",
                     "edge": "etc/opt/edge/policies/managed/rootsentinel.json",
                     "brave": "etc/brave/policies/managed/rootsentinel.json"}
FIREFOX_POLICIES = ("etc/firefox/policies/policies.json",)
MANIFESTS = {"firefox": "usr/lib/mozilla/native-messaging-hosts/io.rootsentinel.host.json",
             "chrome": "etc/opt/chrome/native-messaging-hosts/io.rootsentinel.host.json",
             "chromium": "etc/chromium/native-messaging-hosts/io.rootsentinel.host.json",
             "edge": "etc/opt/edge/native-messaging-hosts/io.rootsentinel.host.json"}


def _run(argv):
    parser = argparse.ArgumentParser()
    install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(argv)
    return args.func(args)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_rollout_writes_one_meaning_everywhere(tmp_path, capsys):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(SETTINGS))
    out = tmp_path / "tree"
    assert _run(["rollout", str(settings), "--out", str(out), "--extension-id", ID,
                 "--update-url", "http://intranet.example/rs/updates.xml",
                 "--xpi-url", "file:///opt/rootsentinel/rootsentinel-firefox.xpi", "--firefox-esr"]) == 0
    captured = capsys.readouterr()
    assert _files(out) == {"etc/rootsentinel/config.json", *CHROMIUM_POLICIES.values(), *FIREFOX_POLICIES,
                           *MANIFESTS.values()}
    assert captured.err.count("warning") == 1 and "plain http" in captured.err  # the http update URL, once
    assert json.loads((out / "etc/rootsentinel/config.json").read_text()) == SETTINGS
    managed = {k: v for k, v in SETTINGS.items() if k in MANAGED_SCHEMA["properties"]}
    assert managed and "syslog" not in managed  # host-only keys stay in the config
    for browser, rel in CHROMIUM_POLICIES.items():
        doc = json.loads((out / rel).read_text())
        assert doc["ExtensionInstallForcelist"] == [f"{ID};http://intranet.example/rs/updates.xml"], browser
        assert doc["NativeMessagingAllowlist"] == [HOST_NAME]
        assert doc["3rdparty"]["extensions"] == {ID: managed}
    for rel in FIREFOX_POLICIES:
        pol = json.loads((out / rel).read_text())["policies"]
        assert pol["ExtensionSettings"][FIREFOX_EXTENSION_ID] == {
            "installation_mode": "force_installed", "install_url": "file:///opt/rootsentinel/rootsentinel-firefox.xpi"}
        assert pol["Preferences"] == {"xpinstall.signatures.required": {"Value": False, "Status": "locked"}}
        assert pol["3rdparty"]["Extensions"] == {FIREFOX_EXTENSION_ID: managed}
    for browser, rel in MANIFESTS.items():
        doc = json.loads((out / rel).read_text())
        assert doc["path"] == "/opt/rootsentinel/rootsentinel-host/rootsentinel-host"
        if browser == "firefox":
            assert doc["allowed_extensions"] == [FIREFOX_EXTENSION_ID]
        else:  # the CRX key's id is allowed (issue 23 item 1: it was the placeholder only), the unpacked id stays
            assert doc["allowed_origins"] == [f"chrome-extension://{CHROMIUM_UNPACKED_ID}/", f"chrome-extension://{ID}/"]


def test_rollout_refuses_a_bad_settings_file(tmp_path, capsys):
    bad = tmp_path / "settings.json"
    bad.write_text(json.dumps({"mode": "block-everything"}))
    assert _run(["rollout", str(bad), "--out", str(tmp_path / "tree")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rootsentinel: error: settings file:") and "mode" in err[0]
    assert not (tmp_path / "tree" / "etc").exists()
    assert _run(["rollout", str(tmp_path / "missing.json"), "--out", str(tmp_path / "tree")]) == 3
    assert "does not exist" in capsys.readouterr().err
    assert _run(["rollout", "--out", str(tmp_path / "tree")]) == 3


def test_rollout_decommission(tmp_path, capsys):
    out = tmp_path / "tree"
    assert _run(["rollout", "--decommission", "--out", str(out), "--extension-id", ID]) == 0
    assert _files(out) == {*CHROMIUM_POLICIES.values(), *FIREFOX_POLICIES}
    for rel in CHROMIUM_POLICIES.values():
        doc = json.loads((out / rel).read_text())
        assert doc == {"ExtensionSettings": {ID: {"installation_mode": "removed"}}, "ExtensionInstallBlocklist": [ID]}
    for rel in FIREFOX_POLICIES:
        pol = json.loads((out / rel).read_text())["policies"]
        assert pol == {"ExtensionSettings": {FIREFOX_EXTENSION_ID: {"installation_mode": "blocked"}},
                       "Extensions": {"Uninstall": [FIREFOX_EXTENSION_ID]}}


def test_example_settings_file_is_valid(tmp_path):
    from native_host.install.rollout import load_settings

    assert load_settings(REPO / "docs" / "examples" / "rollout-settings.json")["mode"] in ("warn", "enforce")
