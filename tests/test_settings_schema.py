"""One schema, one meaning (issue 23 item 4): ``native_host/schemas/settings.schema.json`` is the only source;
the Chromium ``managed_schema.json`` and the policy module's schema are generated from it, and config.json is
validated against it with ``jsonschema``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from native_host.enterprise.config import load_system_config
from native_host.install.model import InstallError
from native_host.install.policy import MANAGED_SCHEMA, managed_settings, validate_managed
from native_host.schemas import validate
from native_host.schemas.settings import chrome_managed_schema, keys, settings_schema
from native_host.errors import SchemaError

REPO = Path(__file__).resolve().parents[1]


def test_managed_schema_file_equals_a_fresh_generation():
    run = subprocess.run([sys.executable, "build/make_managed_schema.py", "--check"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads((REPO / "extension/managed_schema.json").read_text()) == chrome_managed_schema() == MANAGED_SCHEMA


def test_every_managed_key_is_a_config_key_with_the_same_meaning():
    props = settings_schema()["properties"]
    assert set(MANAGED_SCHEMA["properties"]) == set(keys("both"))
    for name, sub in MANAGED_SCHEMA["properties"].items():
        assert sub["description"] == props[name]["description"]
        assert sub["type"] == props[name]["type"]
    assert set(keys("both")) | set(keys("host")) == set(props)  # every key says where it belongs


def test_no_other_schema_file_describes_the_config():
    names = {p.name for p in (REPO / "native_host/schemas").glob("*.schema.json")}
    assert "config.schema.json" not in names and "settings.schema.json" in names


def test_policy_refuses_host_only_keys_and_bad_values():
    with pytest.raises(InstallError, match="audit_log"):
        validate_managed({**managed_settings(), "audit_log": "/tmp/x"})
    with pytest.raises(InstallError, match="mode"):
        validate_managed({**managed_settings(), "mode": "block"})
    validate_managed(managed_settings(mode="enforce", probing=False, audit=False, capture="probe"))


@pytest.mark.parametrize("bad,key", [({"probing": "no"}, "probing"), ({"audit": 1}, "audit"),
                                     ({"mode": "block"}, "mode"), ({"capture": "x"}, "capture"),
                                     ({"banned": [{"reason": "no key"}]}, "banned"),
                                     ({"unknown_key": True}, "unknown_key")])
def test_config_is_validated_against_the_one_schema(tmp_path, bad, key):
    with pytest.raises(SchemaError):
        validate("settings", bad)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(bad))
    config = load_system_config(path)
    assert config.error and key in config.error and config.settings == {}


def test_a_config_with_every_shared_key_is_valid(tmp_path):
    good = {"mode": "enforce", "notifications": False, "capture": "debugger", "probing": False, "audit": False,
            "allow_user_acknowledge": False, "allow_spki_sha256": ["AB" * 32], "banned": [{"cert_sha256": "cd" * 32, "reason": "x"}]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(good))
    config = load_system_config(path)
    assert config.error is None and not config.probing and not config.allow_user_acknowledge
    assert config.extension_settings() == {"mode": "enforce", "notifications": False, "capture": "debugger",
                                           "allow_user_acknowledge": False}
