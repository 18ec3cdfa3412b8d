"""The host's system config: validated with jsonschema; a broken file is reported and safe defaults stay
in force; the host reports config errors in ``hello``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostkit import HostProcess
from native_host.enterprise.config import default_blocklist_dir, load_system_config
from native_host.engine.verdict import Policy

REPO = Path(__file__).parent.parent
H = "ab" * 32

FULL = {"mode": "enforce", "allow_spki_sha256": [H], "banned": [{"spki_sha256": H, "reason": "ours"},
                                                                {"cert_sha256": "CD" * 32}],
        "notifications": True, "probing": False, "audit": True, "audit_log": "~/audit.jsonl",
        "audit_window_seconds": 60, "syslog": False, "blocklist_public_key": "A" * 43 + "=", "blocklist_dir": "/srv/bl",
        "installed_roots": False}


def _variants():
    yield "empty", {}
    yield "full", FULL
    for key in FULL:
        yield f"only {key}", {key: FULL[key]}
    bad = {"mode": "block", "allow_spki_sha256": ["ab"], "banned": [{"reason": "no hash"}], "notifications": 1,
           "probing": "yes", "audit": None, "audit_log": "", "audit_window_seconds": -1, "syslog": 0,
           "blocklist_public_key": 5, "blocklist_dir": "", "installed_roots": "no"}
    for key, value in bad.items():
        yield f"bad {key}", {**FULL, key: value}
    yield "window too big", {"audit_window_seconds": 604801}
    yield "window float", {"audit_window_seconds": 0.5}
    yield "window bool", {"audit_window_seconds": True}
    yield "unknown key", {"colour": "red"}
    yield "not an object", []
    yield "ban extra key", {"banned": [{"spki_sha256": H, "note": "x"}]}
    yield "ban both", {"banned": [{"spki_sha256": H, "cert_sha256": H}]}
    yield "ban reason long", {"banned": [{"spki_sha256": H, "reason": "r" * 501}]}
    yield "ban not object", {"banned": [H]}
    yield "allow upper", {"allow_spki_sha256": [H.upper()]}
    yield "allow not list", {"allow_spki_sha256": H}
    yield "mode list", {"mode": ["warn"]}


_INVALID = ("bad ", "window too big", "window bool", "unknown key", "not an object", "ban reason long",
            "ban not object", "allow not list", "mode list")


@pytest.mark.parametrize("label,settings", list(_variants()), ids=[v[0] for v in _variants()])
def test_config_variants_through_the_loader(label, settings, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings))
    config = load_system_config(path)
    if label in ("empty", "full") or label.startswith("only "):
        assert config.error is None and config.settings == settings, label
    elif label.startswith(_INVALID):
        assert config.error and "config" in config.error, label
        assert (config.settings, config.policy) == ({}, Policy()), label  # safe defaults stay in force


def test_missing_config_means_defaults(tmp_path):
    config = load_system_config(tmp_path / "absent.json")
    assert (config.settings, config.policy, config.error, config.blocklist) == ({}, Policy(), None, None)
    assert not config.audit and config.blocklist_dir == tmp_path / "blocklist"


@pytest.mark.parametrize("text,fragment", [
    ("{not json", "is not JSON"),
    (json.dumps({"mode": "block"}), "settings: at mode"),
    (json.dumps({"colour": "red"}), "Additional properties"),
    (json.dumps([1]), "settings: at (top)"),
])
def test_broken_config_is_reported_and_defaults_stay(tmp_path, capsys, text, fragment):
    path = tmp_path / "config.json"
    path.write_text(text)
    config = load_system_config(path)
    assert config.settings == {} and config.policy == Policy() and fragment in config.error
    assert "safe defaults in force" in capsys.readouterr().err


def test_the_host_reports_a_broken_config_in_hello_and_keeps_serving(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"mode": "block"}))
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(path)})
    try:
        hello = h.request({"type": "hello", "id": 1})
        assert "mode" in hello["config_error"]
    finally:
        code, out, err = h.close()
    assert code == 0 and b"safe defaults in force" in err


def test_policy_from_config_reaches_the_host(tmp_path):
    from cryptography.hazmat.primitives import serialization

    from certkit import b64, der, issue_leaf, make_root, sha256

    root, key = make_root("Our Inspection Root")
    leaf, _ = issue_leaf(root, key, "intranet.example")
    spki = sha256(root.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"allow_spki_sha256": [spki]}))
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(path)})
    try:
        reply = h.request({"type": "check", "id": 1, "chain": [b64(der(leaf)), b64(der(root))]})
        assert (reply["level"], reply["reason"]) == ("notice", "allowlisted_root")
        assert h.request({"type": "hello", "id": 2})["config_error"] is None
    finally:
        h.close()


def test_no_config_file_does_not_import_jsonschema_at_start(tmp_path):
    path = tmp_path / "absent.json"
    code = ("import sys\nfrom native_host.enterprise.config import load_system_config\n"
            "c = load_system_config()\nassert c.error is None, c.error\n"
            "assert 'jsonschema' not in sys.modules, 'jsonschema imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env={**os.environ, "ROOTSENTINEL_CONFIG": str(path)})


def test_paths_expand_and_default_beside_the_config(tmp_path, monkeypatch):
    monkeypatch.setenv("RS_TEST_DIR", str(tmp_path))
    path = tmp_path / "etc" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"audit": True, "audit_log": "$RS_TEST_DIR/logs/a.jsonl"}))
    config = load_system_config(path)
    assert config.audit and config.audit_log == tmp_path / "logs" / "a.jsonl"
    assert config.blocklist_dir == default_blocklist_dir(path) == tmp_path / "etc" / "blocklist"
