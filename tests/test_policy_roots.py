"""Root certificates an administrator gives in the settings: ``allow_roots_pem`` and ``banned[].pem``
(issue 23 item 3). The settings are accepted by every schema that carries settings, and each PEM must be
one readable certificate, else a clear error and the safe defaults."""

from __future__ import annotations

import json

import jsonschema
import pytest

from certkit import make_root
from native_host.engine.verdict import Policy
from native_host.enterprise.config import load_system_config
from native_host.errors import SchemaError
from native_host.install.policy import MANAGED_SCHEMA
from native_host.schemas import validate

from cryptography.hazmat.primitives import serialization


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _spki(cert) -> str:
    import hashlib

    return hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def test_pem_settings_in_every_schema():
    allowed, _ = make_root("Corp Inspection Root")
    bad_root, _ = make_root("Bad Root")
    settings = {"allow_roots_pem": [_pem(allowed)], "banned": [{"pem": _pem(bad_root), "reason": "ours"}]}
    jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(settings)
    validate("config", settings)
    validate("hello.request", {"type": "hello", "id": 1, "policy": settings})
    for bad in ({"allow_roots_pem": "not a list"}, {"allow_roots_pem": ["no armour here"]},
                {"banned": [{"pem": "plain text", "reason": "x"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(settings | bad)
        with pytest.raises(SchemaError):
            validate("config", settings | bad)


def test_policy_reads_the_roots_keys():
    allowed, _ = make_root("Corp Inspection Root")
    bad_root, _ = make_root("Bad Root")
    policy = Policy.from_json({"allow_roots_pem": [_pem(allowed)], "banned": [{"pem": _pem(bad_root), "reason": "ours"}]})
    assert _spki(allowed) in policy.allow_spki_sha256
    assert policy.banned[_spki(bad_root)] == "ours"
    assert {r.spki_sha256 for r in policy.roots} == {_spki(allowed), _spki(bad_root)}
    merged = Policy().merged(policy).merged(policy)
    assert len(merged.roots) == 2 and merged == policy


@pytest.mark.parametrize("text,message", [
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not an X.509 certificate"),
    ("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n", "not valid base64"),
    ("-----BEGIN CERTIFICATE----- nothing ends", "exactly one"),
])
def test_bad_pem_is_refused_by_the_config_loader(tmp_path, text, message):
    root, _ = make_root()
    for settings, where, expected in (({"allow_roots_pem": [_pem(root), text]}, "allow_roots_pem[1]", message),
                                      ({"banned": [{"pem": text}]}, "banned[0].pem", message),
                                      ({"allow_roots_pem": [_pem(root) + _pem(root)]}, "allow_roots_pem[0]", "exactly one")):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(settings))
        config = load_system_config(path)
        assert config.policy == Policy()
        assert where in config.error and expected in config.error, config.error


def test_good_pem_config_loads(tmp_path):
    root, _ = make_root("Corp Inspection Root")
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"allow_roots_pem": [_pem(root)]}))
    config = load_system_config(path)
    assert config.error is None
    assert config.policy.allow_spki_sha256 == {_spki(root)}
