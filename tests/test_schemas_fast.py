"""The hand-written fast checks in native_host.schemas agree with jsonschema: never valid where jsonschema
says invalid, and validate() raises the same first error either way."""

from __future__ import annotations

import copy
import random
import re

import pytest

from native_host.errors import SchemaError
from native_host.schemas import _SURELY_VALID, validate, validator
from tests.certkit import der, issue_leaf, make_root, security_info

ODD = [256, -1, 0, 255, 1.0, 2.5, True, False, None, "1", "", "x" * 201, [1], [], {}, {"sha256": 1},
       {"sha256": "ab"}, "check", "secure", "bogus", 2**40]


def _chain():
    root, key = make_root()
    leaf, _ = issue_leaf(root, key, "example.org")
    return [der(leaf), der(root)]


def _mutate(rng: random.Random, msg: dict) -> None:
    for _ in range(rng.randint(0, 4)):
        target = msg
        if "securityInfo" in msg and isinstance(msg["securityInfo"], dict) and rng.random() < 0.7:
            target = msg["securityInfo"]
            certs = target.get("certificates")
            if isinstance(certs, list) and certs and rng.random() < 0.7:
                cert = rng.choice(certs)
                if isinstance(cert, dict):
                    target = cert
                    raw = cert.get("rawDER")
                    if isinstance(raw, list) and raw and rng.random() < 0.4:
                        raw[rng.randrange(len(raw))] = rng.choice(ODD)
                        continue
        elif "chain" in msg and isinstance(msg["chain"], list) and msg["chain"] and rng.random() < 0.3:
            msg["chain"][rng.randrange(len(msg["chain"]))] = rng.choice(ODD)
            continue
        keys = list(target) + ["extra", "url", "chain", "securityInfo", "state", "certificates", "rawDER",
                               "isBuiltInRoot", "fingerprint", "subjectPublicKeyInfoDigest", "fromCache",
                               "errorMessage", "subject", "issuer", "type", "id"]
        key = rng.choice(keys)
        if rng.random() < 0.2:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(rng.choice(ODD))


@pytest.mark.parametrize("seed", range(4))
def test_fast_checks_agree_with_jsonschema(seed):
    rng = random.Random(seed)
    chain = _chain()
    from base64 import b64encode

    for _ in range(400):
        if rng.random() < 0.5:
            info = security_info(chain[:rng.randint(1, 2)])
            for cert in info["certificates"]:
                cert["rawDER"] = cert["rawDER"][:rng.randint(0, 30)]
            msg = {"type": "check", "id": rng.choice([1, "a"]), "url": "https://example.org/", "securityInfo": info}
        else:
            msg = {"type": "check", "id": 7, "chain": [b64encode(d).decode() for d in chain]}
        _mutate(rng, msg)
        cases = [("check.request", msg)]
        if isinstance(msg.get("securityInfo"), dict):
            cases.append(("securityinfo", msg["securityInfo"]))
        for name, instance in cases:
            first = next(iter(validator(name).iter_errors(instance)), None)
            if _SURELY_VALID[name](instance):
                assert first is None, (name, instance)
            if first is None:
                validate(name, instance)
            else:
                where = "/".join(str(p) for p in first.absolute_path) or "(top)"
                with pytest.raises(SchemaError, match="^" + re.escape(f"{name}: at {where}:")):
                    validate(name, instance)


def test_fast_checks_take_the_usual_messages():
    from base64 import b64encode

    chain = _chain()
    info = security_info(chain)
    assert _SURELY_VALID["securityinfo"](info)
    assert _SURELY_VALID["check.request"]({"type": "check", "id": 1, "url": "https://a/", "securityInfo": info})
    assert _SURELY_VALID["check.request"]({"type": "check", "id": "x", "chain": [b64encode(d).decode() for d in chain]})


BLOCKLIST_ODD = ODD + ["A" * 64, "a" * 64 + "\n", "a" * 63, "g" * 64, "0" * 64, "2026.01.01", "2026.01.01\n",
                       "2026.1.1", "state-mitm", "block", "interception", "ab", "AB", 1.5, -3]


def _small_blocklist(rng: random.Random) -> dict:
    import json

    from native_host import blocklist as bl

    doc = json.loads(json.dumps({"format": 1, "version": bl.bundled().version, "size": 0, "sha256": bl.bundled().sha256,
                                 "entries": rng.sample(bl.bundled().entries, 4)}))
    return doc


@pytest.mark.parametrize("seed", range(3))
def test_fast_blocklist_check_agrees_with_jsonschema(seed):
    rng = random.Random(100 + seed)
    entry_keys = ["name", "category", "country", "subject", "subject_key", "cert_sha256", "spki_sha256", "ski",
                  "chromium_list", "source", "verified_from_pem", "evidence_file", "notes", "extra"]
    doc_keys = ["format", "version", "generated_from", "size", "sha256", "entries", "extra"]
    accepted = 0
    for _ in range(300):
        doc = _small_blocklist(rng)
        for _ in range(rng.randint(0, 3)):
            entries = doc.get("entries")
            if isinstance(entries, list) and entries and isinstance(entries[0], dict) and rng.random() < 0.75:
                target, key = rng.choice([e for e in entries if isinstance(e, dict)]), rng.choice(entry_keys)
            else:
                target, key = doc, rng.choice(doc_keys)
            if rng.random() < 0.2:
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(rng.choice(BLOCKLIST_ODD))
        first = next(iter(validator("blocklist").iter_errors(doc)), None)
        if _SURELY_VALID["blocklist"](doc):
            accepted += 1
            assert first is None, doc
        if first is None:
            validate("blocklist", doc)
        else:
            where = "/".join(str(p) for p in first.absolute_path) or "(top)"
            with pytest.raises(SchemaError, match="^" + re.escape(f"blocklist: at {where}:")):
                validate("blocklist", doc)
    assert accepted > 20


def test_fast_blocklist_check_takes_the_bundled_list():
    import json

    from native_host import blocklist as bl

    text = open(bl.__file__.replace("blocklist.py", "data/blocklist.json"), encoding="utf-8").read()
    assert _SURELY_VALID["blocklist"](json.loads(text))


@pytest.mark.parametrize("seed", range(2))
def test_fast_probe_check_agrees_with_jsonschema(seed):
    rng = random.Random(200 + seed)
    values = ODD + ["example.org", "[::1]", "127.0.0.1", "a" * 253, "a" * 254, "exa mple", "host\n", 443, 65535,
                    65536, 0, "https://example.org/"]
    accepted = 0
    for _ in range(600):
        msg = {"type": "probe", "id": rng.choice([1, "p"]), "host": "example.org", "port": 443}
        for _ in range(rng.randint(0, 3)):
            key = rng.choice(["type", "id", "host", "port", "url", "extra"])
            if rng.random() < 0.2:
                msg.pop(key, None)
            else:
                msg[key] = rng.choice(values)
        first = next(iter(validator("probe.request").iter_errors(msg)), None)
        if _SURELY_VALID["probe.request"](msg):
            accepted += 1
            assert first is None, msg
        if first is None:
            validate("probe.request", msg)
        else:
            where = "/".join(str(p) for p in first.absolute_path) or "(top)"
            with pytest.raises(SchemaError, match="^" + re.escape(f"probe.request: at {where}:")):
                validate("probe.request", msg)
    assert accepted > 50
