"""Enterprise policy output and the managed settings schema (Chrome ``managed_schema`` dialect)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jsonschema
import pytest

from native_host import FIREFOX_EXTENSION_ID, HOST_NAME
from native_host.install import cli as install_cli
from native_host.install.model import InstallError
from native_host.install.policy import (
    DEFAULT_SETTINGS,
    MANAGED_SCHEMA,
    chromium_policies,
    firefox_policies,
    managed_settings,
)

REPO = Path(__file__).resolve().parents[1]
SPKI = "5f" * 32
CERT = "0a" * 32
STORE_ID = "b" * 32

# Attributes Chrome accepts per type: components/policy/core/common/schema.cc kAttributesAndTypesFor*.
CHROME_ATTRIBUTES = {
    "array": {"description", "id", "items", "sensitiveValue", "title", "type"},
    "boolean": {"description", "id", "sensitiveValue", "title", "type"},
    "integer": {"description", "enum", "id", "maximum", "minimum", "sensitiveValue", "title", "type"},
    "number": {"description", "id", "sensitiveValue", "title", "type"},
    "object": {"additionalProperties", "description", "id", "patternProperties", "properties", "required",
               "sensitiveValue", "title", "type"},
    "string": {"description", "enum", "id", "pattern", "sensitiveValue", "title", "type"},
}


def chrome_schema_errors(schema: dict, where: str = "$") -> list[str]:
    """Mirror of schema.cc ``IsValidSchema`` (without $ref) plus the project rule: no additionalProperties."""
    errors = []
    kind = schema.get("type")
    if kind not in CHROME_ATTRIBUTES:
        return [f"{where}: unknown or missing type {kind!r}"]
    for key in schema:
        if key not in CHROME_ATTRIBUTES[kind]:
            errors.append(f"{where}: attribute {key!r} not allowed for {kind}")
    if "additionalProperties" in schema:
        errors.append(f"{where}: additionalProperties (the extension must accept new keys from newer policies)")
    if "enum" in schema and (not schema["enum"] or not all(isinstance(v, str if kind == "string" else int) for v in schema["enum"])):
        errors.append(f"{where}: enum must be a non-empty list of {kind}")
    if kind == "array":
        if not isinstance(schema.get("items"), dict):
            errors.append(f"{where}: array without an items schema")
        else:
            errors += chrome_schema_errors(schema["items"], f"{where}[]")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            errors += chrome_schema_errors(sub, f"{where}.{name}")
    return errors


# Documented policy shapes. Firefox: mozilla/policy-templates docs ("ExtensionSettings", "3rdparty").
FIREFOX_POLICY_SHAPE = {
    "type": "object",
    "required": ["policies"],
    "additionalProperties": False,
    "properties": {"policies": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "ExtensionSettings": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["installation_mode"],
                    "properties": {
                        "installation_mode": {"enum": ["allowed", "blocked", "force_installed", "normal_installed"]},
                        "install_url": {"type": "string", "pattern": "^(https://|file:///)"},
                    },
                },
            },
            # Preferences: only the ESR signature preference, locked (issue 23 item 2)
            "Preferences": {"type": "object", "additionalProperties": False, "properties": {
                "xpinstall.signatures.required": {"const": {"Value": False, "Status": "locked"}}}},
            # Extensions.Uninstall: ids to remove (decommission)
            "Extensions": {"type": "object", "additionalProperties": False, "properties": {
                "Uninstall": {"type": "array", "items": {"type": "string"}}}},
            "3rdparty": {
                "type": "object",
                "required": ["Extensions"],
                "properties": {"Extensions": {"type": "object", "additionalProperties": {"type": "object"}}},
            },
        },
    }},
}
# Chrome / Edge: chromeenterprise.google/policies (ExtensionInstallForcelist "<id>;<update url>",
# NativeMessagingAllowlist list of host names), "3rdparty" -> "extensions" -> id (storage.managed).
CHROMIUM_POLICY_SHAPE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ExtensionInstallForcelist", "NativeMessagingAllowlist", "3rdparty"],
    "properties": {
        "ExtensionInstallForcelist": {"type": "array", "minItems": 1,
                                      "items": {"type": "string", "pattern": "^[a-p]{32};https?://[^;\\s]+$"}},
        "NativeMessagingAllowlist": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9_]+(\\.[a-z0-9_]+)*$"}},
        "3rdparty": {"type": "object", "required": ["extensions"], "properties": {
            "extensions": {"type": "object", "propertyNames": {"pattern": "^[a-p]{32}$"},
                           "additionalProperties": {"type": "object"}}}},
    },
}


def test_committed_schema_is_the_module_constant():
    on_disk = json.loads((REPO / "extension/managed_schema.json").read_text())
    assert on_disk == MANAGED_SCHEMA


def test_schema_is_valid_chrome_managed_schema():
    assert MANAGED_SCHEMA["type"] == "object"
    assert chrome_schema_errors(MANAGED_SCHEMA) == []
    assert set(MANAGED_SCHEMA["properties"]) == {"mode", "allow_spki_sha256", "banned", "notifications", "probing", "audit",
                                                 "capture", "allow_user_acknowledge", "allow_roots_pem"}
    assert MANAGED_SCHEMA["properties"]["capture"]["enum"] == ["probe", "debugger"]
    assert MANAGED_SCHEMA["properties"]["mode"]["enum"] == ["warn", "enforce"]
    assert set(MANAGED_SCHEMA["properties"]["banned"]["items"]["properties"]) == {"spki_sha256", "cert_sha256", "pem", "reason"}


def test_chrome_dialect_checker_catches_violations():
    assert chrome_schema_errors({"type": "object", "additionalProperties": {"type": "string"}})
    assert chrome_schema_errors({"type": "object", "$schema": "http://json-schema.org/draft-07/schema#"})
    assert chrome_schema_errors({"type": "array"})
    assert chrome_schema_errors({"type": "boolean", "enum": [True]})
    assert chrome_schema_errors({"type": "string", "format": "uri"})


def test_settings_validate_and_schema_has_teeth():
    settings = managed_settings(mode="enforce", allow_spki_sha256=[SPKI.upper()],
                                banned=[{"spki_sha256": SPKI, "reason": "KZ"}, {"cert_sha256": "0A:" * 31 + "0A"}],
                                notifications=False, probing=False, audit=True)
    jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(settings)
    assert settings["allow_spki_sha256"] == [SPKI]
    assert settings["banned"] == [{"spki_sha256": SPKI, "reason": "KZ"}, {"cert_sha256": CERT, "reason": "banned by policy"}]
    jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(DEFAULT_SETTINGS)
    for bad in ({"mode": "block"}, {"allow_spki_sha256": ["AB" * 31]}, {"banned": [{"spki_sha256": "12"}]},
                {"notifications": "yes"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft7Validator(MANAGED_SCHEMA).validate({**DEFAULT_SETTINGS, **bad})


@pytest.mark.parametrize("kwargs,match", [
    ({"mode": "block"}, "mode"),
    ({"allow_spki_sha256": ["xyz"]}, "64 hex"),
    ({"banned": [{"spki_sha256": SPKI, "cert_sha256": CERT}]}, "exactly one"),
    ({"banned": [{"reason": "none"}]}, "exactly one"),
])
def test_settings_errors(kwargs, match):
    with pytest.raises(InstallError, match=match):
        managed_settings(**kwargs)


def test_firefox_policy_shape():
    settings = managed_settings(allow_spki_sha256=[SPKI])
    doc = firefox_policies(settings, xpi_url="https://intranet.example/rs.xpi")
    jsonschema.Draft7Validator(FIREFOX_POLICY_SHAPE).validate(doc)
    entry = doc["policies"]["ExtensionSettings"][FIREFOX_EXTENSION_ID]
    assert entry == {"installation_mode": "force_installed", "install_url": "https://intranet.example/rs.xpi"}
    managed = doc["policies"]["3rdparty"]["Extensions"][FIREFOX_EXTENSION_ID]
    jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(managed)
    assert managed["allow_spki_sha256"] == [SPKI]
    with pytest.raises(InstallError):
        firefox_policies(settings, xpi_url="http://insecure.example/rs.xpi")


@pytest.mark.parametrize("browser,update_url", [
    ("chrome", "https://clients2.google.com/service/update2/crx"),
    ("chromium", "https://clients2.google.com/service/update2/crx"),
    ("edge", "https://edge.microsoft.com/extensionwebstorebase/v1/crx"),
    ("brave", "https://clients2.google.com/service/update2/crx"),
])
def test_chromium_policy_shape(browser, update_url):
    doc = chromium_policies(browser, managed_settings(mode="enforce"), extension_id=STORE_ID)
    jsonschema.Draft7Validator(CHROMIUM_POLICY_SHAPE).validate(doc)
    assert doc["ExtensionInstallForcelist"] == [f"{STORE_ID};{update_url}"]
    assert doc["NativeMessagingAllowlist"] == [HOST_NAME]
    jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(doc["3rdparty"]["extensions"][STORE_ID])
    own = chromium_policies(browser, DEFAULT_SETTINGS, extension_id=STORE_ID, update_url="https://intranet.example/updates.xml")
    assert own["ExtensionInstallForcelist"] == [f"{STORE_ID};https://intranet.example/updates.xml"]
    with pytest.raises(InstallError):
        chromium_policies(browser, DEFAULT_SETTINGS, extension_id="not-an-id")
    # an intranet http:// update URL is accepted (Chromium fetches it; issue 23 item 1), other schemes are not
    plain = chromium_policies(browser, DEFAULT_SETTINGS, extension_id=STORE_ID, update_url="http://10.1.2.3/updates.xml")
    assert plain["ExtensionInstallForcelist"] == [f"{STORE_ID};http://10.1.2.3/updates.xml"]
    for bad in ("ftp://x/updates.xml", "file:///srv/updates.xml", "updates.xml", "http://"):
        with pytest.raises(InstallError):
            chromium_policies(browser, DEFAULT_SETTINGS, extension_id=STORE_ID, update_url=bad)


def test_cli_policy_http_update_url_warns(capsys):
    assert _run(["policy", "--browser", "chromium", "--extension-id", STORE_ID,
                 "--update-url", "http://intranet.example/rs/updates.xml"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ExtensionInstallForcelist"] == [f"{STORE_ID};http://intranet.example/rs/updates.xml"]
    warnings = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "plain http" in warnings[0]
    assert _run(["policy", "--browser", "chromium", "--extension-id", STORE_ID,
                 "--update-url", "https://intranet.example/rs/updates.xml"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_firefox_esr_policy_locks_the_signature_preference(capsys):
    doc = firefox_policies(DEFAULT_SETTINGS, xpi_url="file:///opt/rootsentinel/rootsentinel.xpi", esr_unsigned=True)
    jsonschema.Draft7Validator(FIREFOX_POLICY_SHAPE).validate(doc)
    assert doc["policies"]["Preferences"] == {"xpinstall.signatures.required": {"Value": False, "Status": "locked"}}
    assert "Preferences" not in firefox_policies(DEFAULT_SETTINGS, xpi_url="https://x.example/rs.xpi")["policies"]
    assert _run(["policy", "--browser", "firefox", "--esr", "--xpi-url", "https://x.example/rs.xpi"]) == 0
    assert json.loads(capsys.readouterr().out)["policies"]["Preferences"]["xpinstall.signatures.required"]["Value"] is False
    assert _run(["policy", "--browser", "chrome", "--esr"]) == 3


def test_decommission_policies(capsys):
    from native_host.install.policy import decommission_policy

    ff = decommission_policy("firefox")
    jsonschema.Draft7Validator(FIREFOX_POLICY_SHAPE).validate(ff)
    assert ff["policies"]["ExtensionSettings"] == {FIREFOX_EXTENSION_ID: {"installation_mode": "blocked"}}
    assert ff["policies"]["Extensions"] == {"Uninstall": [FIREFOX_EXTENSION_ID]}
    for browser in ("chrome", "chromium", "edge", "brave"):
        doc = decommission_policy(browser, extension_id=STORE_ID)
        assert doc == {"ExtensionSettings": {STORE_ID: {"installation_mode": "removed"}},
                       "ExtensionInstallBlocklist": [STORE_ID]}
    with pytest.raises(InstallError):
        decommission_policy("chrome", extension_id="nope")
    assert _run(["policy", "--browser", "edge", "--decommission", "--extension-id", STORE_ID]) == 0
    assert "ExtensionInstallForcelist" not in json.loads(capsys.readouterr().out)


def test_chromium_policy_shape_rejects_wrong_output():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(CHROMIUM_POLICY_SHAPE).validate(
            {"ExtensionInstallForcelist": [STORE_ID], "NativeMessagingAllowlist": [HOST_NAME],
             "3rdparty": {"extensions": {}}})


def _run(argv):
    parser = argparse.ArgumentParser()
    install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_policy(capsys):
    assert _run(["policy", "--browser", "edge", "--extension-id", STORE_ID, "--mode", "enforce",
                 "--allow-spki-sha256", SPKI, "--ban-cert-sha256", f"{CERT}=leaked key", "--no-probing"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    jsonschema.Draft7Validator(CHROMIUM_POLICY_SHAPE).validate(doc)
    settings = doc["3rdparty"]["extensions"][STORE_ID]
    assert settings["banned"] == [{"cert_sha256": CERT, "reason": "leaked key"}] and settings["probing"] is False
    assert captured.err == ""
    assert _run(["policy", "--browser", "firefox"]) == 0
    captured = capsys.readouterr()
    jsonschema.Draft7Validator(FIREFOX_POLICY_SHAPE).validate(json.loads(captured.out))
    assert "placeholder" in captured.err
    assert _run(["policy", "--browser", "chrome", "--ban-spki-sha256", "zz"]) == 3
    assert capsys.readouterr().err.startswith("rootsentinel: error: ")
