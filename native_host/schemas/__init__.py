"""JSON Schemas for every message and file the host reads or writes, validated with ``jsonschema``.

Each schema is ``<name>.schema.json`` beside this file (draft 2020-12). Validators are compiled once per
process. The messages of every page load (``check``, ``probe``) and blocklist documents first go through
hand-written checks that accept only what their schema accepts; ``jsonschema`` (imported on first use:
about 7 MB and 60 ms) judges everything else and words every error.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from typing import TYPE_CHECKING

from native_host.errors import SchemaError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>.schema.json``.

    Raises:
        FileNotFoundError: no such schema.
    """
    return json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    from referencing import Registry, Resource

    files = resources.files(__name__)
    docs = [json.loads(f.read_text("utf-8")) for f in files.iterdir() if f.name.endswith(".schema.json")]
    return Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in docs)


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """A compiled validator for ``<name>.schema.json``; ``$ref`` between our schemas resolve by ``$id``."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(name), registry=_registry())


_MAX_RAW_DER = 2_000_000
"""``maxItems`` of ``rawDER`` in ``securityinfo.schema.json``."""


def _is_byte_array(value: list[Any]) -> bool:
    """True when every item is an ``int`` (not a bool, not a float) in 0..255 and there are at most
    :data:`_MAX_RAW_DER`: exactly what the ``rawDER`` subschema accepts, checked in C instead of per item."""
    if len(value) > _MAX_RAW_DER or not set(map(type, value)) <= {int}:
        return False
    try:
        bytes(value)
    except ValueError:
        return False
    return True


def _without_raw_der(name: str, instance: Any) -> Any:
    """A copy of a ``securityinfo`` or ``check.request`` instance whose ``rawDER`` byte arrays are all
    valid and replaced by ``[]``; None when there is nothing to replace or some array is not valid.

    ``rawDER`` is constrained only by its own subschema, so the copy is valid exactly when the original
    is. jsonschema checks arrays item by item (about 10 µs a byte: 20 ms for a 2 KB chain, twice per
    ``check``), which this avoids.
    """
    if not isinstance(instance, dict):
        return None
    if name == "check.request":
        info = instance.get("securityInfo")
    elif name == "securityinfo":
        info = instance
    else:
        return None
    certs = info.get("certificates") if isinstance(info, dict) else None
    if not isinstance(certs, list):
        return None
    new_certs, changed = [], False
    for cert in certs:
        if isinstance(cert, dict) and isinstance(cert.get("rawDER"), list):
            if not _is_byte_array(cert["rawDER"]):
                return None
            cert = {**cert, "rawDER": []}
            changed = True
        new_certs.append(cert)
    if not changed:
        return None
    new_info = {**info, "certificates": new_certs}
    return new_info if name == "securityinfo" else {**instance, "securityInfo": new_info}


_STATES = ("insecure", "weak", "broken", "secure")


def _certinfo_surely_valid(cert: Any) -> bool:
    if type(cert) is not dict:
        return False
    for key in ("subject", "issuer"):
        if key in cert and type(cert[key]) is not str:
            return False
    if "isBuiltInRoot" in cert and type(cert["isBuiltInRoot"]) is not bool:
        return False
    for key in ("fingerprint", "subjectPublicKeyInfoDigest"):
        if key in cert:
            value = cert[key]
            if type(value) is not dict or ("sha256" in value and type(value["sha256"]) is not str):
                return False
    if "rawDER" in cert:
        raw = cert["rawDER"]
        if type(raw) is not list or not _is_byte_array(raw):
            return False
    return True


def _securityinfo_surely_valid(info: Any) -> bool:
    """Sound, not complete: True only for what ``securityinfo.schema.json`` accepts (exact Python types)."""
    if type(info) is not dict or type(info.get("state")) is not str or info["state"] not in _STATES:
        return False
    if "errorMessage" in info and type(info["errorMessage"]) is not str:
        return False
    if "fromCache" in info and type(info["fromCache"]) is not bool:
        return False
    if "certificates" in info:
        certs = info["certificates"]
        if type(certs) is not list or len(certs) > 64 or not all(map(_certinfo_surely_valid, certs)):
            return False
    return True


def _check_request_surely_valid(msg: Any) -> bool:
    """Sound, not complete: True only for what ``check.request.schema.json`` accepts."""
    if type(msg) is not dict or msg.get("type") != "check" or type(msg["type"]) is not str or "id" not in msg:
        return False
    msg_id = msg["id"]
    if not (type(msg_id) is int or (type(msg_id) is str and len(msg_id) <= 200)):
        return False
    if "url" in msg and (type(msg["url"]) is not str or len(msg["url"]) > 65536):
        return False
    if ("chain" in msg) == ("securityInfo" in msg):  # oneOf: exactly one
        return False
    if "chain" in msg:
        chain = msg["chain"]
        return (type(chain) is list and len(chain) <= 64
                and all(type(item) is str and len(item) <= 2_000_000 for item in chain))
    return _securityinfo_surely_valid(msg["securityInfo"])


_HEX = "0123456789abcdef"
_VERSION = re.compile(r"[0-9]{4}\.[0-9]{2}\.[0-9]{2}(\.[0-9]+)?")
_CATEGORIES = frozenset({"state-mitm", "malware-mitm", "compromised-ca", "distrusted-ca"})
_CHROMIUM_LISTS = ("block", "interception", "block+interception")
_ENTRY_REQUIRED = ("name", "category", "cert_sha256", "spki_sha256", "source", "verified_from_pem")
_ENTRY_OPTIONAL_TEXT = ("country", "subject", "subject_key", "evidence_file", "notes")


def _hex64(value: Any) -> bool:
    return type(value) is str and len(value) == 64 and not value.strip(_HEX)


def _entry_surely_valid(e: Any) -> bool:
    if type(e) is not dict:
        return False
    for key in _ENTRY_REQUIRED:
        if key not in e:
            return False
    name, category = e["name"], e["category"]
    if type(name) is not str or not name or type(category) is not str or category not in _CATEGORIES:
        return False
    spki, cert = e["spki_sha256"], e["cert_sha256"]
    spki_ok, cert_ok = _hex64(spki), _hex64(cert)
    if not (spki_ok or spki is None) or not (cert_ok or cert is None):
        return False
    if type(e["source"]) is not str or type(e["verified_from_pem"]) is not bool:
        return False
    for key in _ENTRY_OPTIONAL_TEXT:
        if key in e and e[key] is not None and type(e[key]) is not str:
            return False
    if "ski" in e:
        ski = e["ski"]
        if ski is not None and (type(ski) is not str or ski.strip(_HEX)):
            return False
    if "chromium_list" in e:
        chromium = e["chromium_list"]
        if chromium is not None and (type(chromium) is not str or chromium not in _CHROMIUM_LISTS):
            return False
    subject_key = e.get("subject_key")
    return spki_ok or cert_ok or (type(subject_key) is str and len(subject_key) >= 1)


def _blocklist_surely_valid(doc: Any) -> bool:
    """Sound, not complete: True only for documents ``blocklist.schema.json`` accepts (exact Python types;
    hex and version strings without the trailing newline that ``pattern``'s ``$`` would let through).
    About 1 µs an entry where jsonschema takes hundreds."""
    if type(doc) is not dict:
        return False
    for key in ("format", "version", "size", "sha256", "entries"):
        if key not in doc:
            return False
    if type(doc["format"]) is not int or doc["format"] != 1:
        return False
    if type(doc["version"]) is not str or not _VERSION.fullmatch(doc["version"]):
        return False
    if type(doc["size"]) is not int or doc["size"] < 0 or not _hex64(doc["sha256"]):
        return False
    if "generated_from" in doc and type(doc["generated_from"]) is not str:
        return False
    entries = doc["entries"]
    return type(entries) is list and all(map(_entry_surely_valid, entries))


_PROBE_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]{1,253}")


def _probe_request_surely_valid(msg: Any) -> bool:
    """Sound, not complete: True only for what ``probe.request.schema.json`` accepts."""
    if type(msg) is not dict or msg.get("type") != "probe" or type(msg["type"]) is not str:
        return False
    if "id" not in msg or "host" not in msg:
        return False
    msg_id = msg["id"]
    if not (type(msg_id) is int or (type(msg_id) is str and len(msg_id) <= 200)):
        return False
    if type(msg["host"]) is not str or not _PROBE_HOST.fullmatch(msg["host"]):
        return False
    if "port" in msg and (type(msg["port"]) is not int or not 1 <= msg["port"] <= 65535):
        return False
    return "url" not in msg or (type(msg["url"]) is str and len(msg["url"]) <= 65536)


_SURELY_VALID = {"securityinfo": _securityinfo_surely_valid, "check.request": _check_request_surely_valid,
                 "probe.request": _probe_request_surely_valid, "blocklist": _blocklist_surely_valid}
"""Hand-written checks for the messages on every page load. Each returns True only for instances its
schema accepts (a test compares them with jsonschema); anything else goes to jsonschema, whose verdict and
error message stand."""


def validate(name: str, instance: Any) -> None:
    """Validate ``instance`` against schema ``name``.

    Raises:
        SchemaError: with a one-line message naming the first failing path and why.
    """
    fast = _SURELY_VALID.get(name)
    if fast is not None and fast(instance):
        return
    light = _without_raw_der(name, instance)
    if light is not None and next(iter(validator(name).iter_errors(light)), None) is None:
        return
    # Not valid (or nothing to lighten): validate the instance itself, so errors name the real values.
    error = next(iter(validator(name).iter_errors(instance)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        raise SchemaError(f"{name}: at {where}: {message}")
