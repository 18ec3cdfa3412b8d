"""Validate an event against the vendored ECS field definitions (tests/fixtures/ecs/ecs_fields-8.11.0.json,
trimmed from elastic/ecs v8.11.0 by build/make_ecs_fields.py), field by field: name, type, array-ness,
allowed values, and the ``event.category`` / ``event.type`` pairing ECS allows. ``rootsentinel.*`` is the
project's custom namespace (ECS "Custom fields") and is not checked here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from functools import lru_cache
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "ecs" / "ecs_fields-8.11.0.json"
CUSTOM = "rootsentinel"
_TEXT = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text"}
_INT = {"long", "integer", "short", "byte", "unsigned_long"}
_FLOAT = {"float", "double", "half_float", "scaled_float"}


@lru_cache(maxsize=1)
def ecs() -> dict:
    return json.loads(FIXTURE.read_text("utf-8"))


def flatten(event: dict, prefix: str = "") -> dict[str, object]:
    """Dotted names to leaf values (a list is a leaf; an empty object is reported as itself)."""
    out: dict[str, object] = {}
    for key, value in event.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            if ecs()["fields"].get(name, {}).get("type") in ("object", "flattened"):
                out[name] = value
            else:
                out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _type_ok(ecs_type: str, value: object) -> bool:
    if ecs_type in _TEXT:
        return isinstance(value, str)
    if ecs_type in _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if ecs_type in _FLOAT:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ecs_type == "boolean":
        return isinstance(value, bool)
    if ecs_type == "date":
        if not isinstance(value, str):
            return False
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return value.endswith("Z") or "+" in value[10:]
        except ValueError:
            return False
    if ecs_type == "ip":
        try:
            ipaddress.ip_address(value)
            return True
        except ValueError:
            return False
    if ecs_type in ("object", "flattened"):
        return isinstance(value, dict)
    return False


def validate(event: dict) -> list[str]:
    """Every way ``event`` departs from ECS 8.11 (empty when it conforms)."""
    fields = ecs()["fields"]
    errors = []
    for required in ("@timestamp", "ecs"):
        if required not in event:
            errors.append(f"missing {required}")
    if event.get("ecs", {}).get("version") != ecs()["ecs_version"]:
        errors.append(f"ecs.version {event.get('ecs', {}).get('version')!r} != {ecs()['ecs_version']}")
    flat = flatten(event)
    for name, value in flat.items():
        if name == CUSTOM or name.startswith(CUSTOM + "."):
            continue
        spec = fields.get(name)
        if spec is None:
            errors.append(f"{name}: not an ECS {ecs()['ecs_version']} field (custom fields go under {CUSTOM}.*)")
            continue
        is_array = "array" in spec.get("normalize", [])
        if isinstance(value, list):
            if not is_array:
                errors.append(f"{name}: a list, but ECS does not normalize it to an array")
            items = value
        else:
            if is_array:
                errors.append(f"{name}: ECS expects an array")
            items = [value]
        for item in items:
            if not _type_ok(spec["type"], item):
                errors.append(f"{name}: {item!r} is not of ECS type {spec['type']}")
            allowed = spec.get("allowed_values")
            if allowed and item not in {a["name"] for a in allowed}:
                errors.append(f"{name}: {item!r} is not an allowed value")
    categories = flat.get("event.category") or []
    types = flat.get("event.type") or []
    if categories and types:
        spec = {a["name"]: set(a.get("expected_event_types", [])) for a in fields["event.category"]["allowed_values"]}
        expected = set().union(*(spec.get(c, set()) for c in categories))
        for t in types:
            if t not in expected:
                errors.append(f"event.type {t!r} is not expected with event.category {categories}")
    return errors
