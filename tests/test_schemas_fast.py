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
