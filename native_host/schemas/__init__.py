"""JSON Schemas for every message and file the host reads or writes, validated with ``jsonschema``.

Each schema is ``<name>.schema.json`` beside this file (draft 2020-12). Validators are compiled once per
process.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from native_host.errors import SchemaError


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>.schema.json``.

    Raises:
        FileNotFoundError: no such schema.
    """
    return json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    files = resources.files(__name__)
    docs = [json.loads(f.read_text("utf-8")) for f in files.iterdir() if f.name.endswith(".schema.json")]
    return Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in docs)


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """A compiled validator for ``<name>.schema.json``; ``$ref`` between our schemas resolve by ``$id``."""
    return Draft202012Validator(schema(name), registry=_registry())


def validate(name: str, instance: Any) -> None:
    """Validate ``instance`` against schema ``name``.

    Raises:
        SchemaError: with a one-line message naming the first failing path and why.
    """
    error = next(iter(validator(name).iter_errors(instance)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        raise SchemaError(f"{name}: at {where}: {message}")
