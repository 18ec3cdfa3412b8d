"""JSON Schemas for every message and file the host reads or writes, validated with ``jsonschema``.

Each schema is ``<name>.schema.json`` beside this file (draft 2020-12). Validators are compiled once per
process. ``jsonschema`` is imported on first use (about 7 MB and 60 ms), so a host that has only said
hello has not paid for it. The one shortcut: Firefox ``rawDER`` byte arrays are checked in C by
``bytes()`` (see :func:`_without_raw_der`) instead of item by item.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from native_host.errors import SchemaError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry


ALIASES = {"config": "settings"}
"""Former names: the system config's schema is the one settings schema (``settings.schema.json``)."""


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>.schema.json`` (``config`` is ``settings``: :data:`ALIASES`).

    Raises:
        FileNotFoundError: no such schema.
    """
    name = ALIASES.get(name, name)
    return json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    from referencing import Registry, Resource

    names = [f.name[:-len(".schema.json")] for f in resources.files(__name__).iterdir()
             if f.name.endswith(".schema.json")]
    docs = [schema(name) for name in names]  # the same cached documents the validators compile
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


def validate(name: str, instance: Any) -> None:
    """Validate ``instance`` against schema ``name``.

    Raises:
        SchemaError: with a one-line message naming the first failing path and why.
    """
    light = _without_raw_der(name, instance)
    if light is not None and next(iter(validator(name).iter_errors(light)), None) is None:
        return
    # Not valid (or nothing to lighten): validate the instance itself, so errors name the real values.
    error = next(iter(validator(name).iter_errors(instance)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        raise SchemaError(f"{name}: at {where}: {message}")
