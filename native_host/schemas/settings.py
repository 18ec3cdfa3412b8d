"""The one settings schema (``settings.schema.json``) and what is generated from it.

``settings.schema.json`` (JSON Schema draft 2020-12) describes every RootSentinel setting once. Each
property carries ``x-rootsentinel-scope``:

- ``"both"``: a setting of the system config (``config.json``, :mod:`native_host.enterprise.config`) and of
  the extension's managed settings (Firefox ``policies.json`` ``3rdparty``, Chrome managed storage). Where
  both set it, the managed settings win (docs/enterprise.md "Which setting wins").
- ``"host"``: the host's system config only (audit destinations, blocklist key...). ``rootsentinel policy``
  and the managed schema do not have them.

Generated from it (``build/make_managed_schema.py``; ``tests/test_settings_schema.py`` checks the committed
copies equal a fresh generation):

- :func:`chrome_managed_schema`: Chrome's ``managed_schema`` dialect (components/policy/core/common/schema.cc:
  top-level ``type: object``; the attributes ``type``, ``title``, ``description``, ``properties``, ``items``,
  ``enum``, ``pattern``, ``minimum``, ``maximum``; no ``$ref`` across definitions, no ``anyOf``), written to
  ``extension/managed_schema.json`` and kept as ``native_host.install.policy.MANAGED_SCHEMA``;
- :func:`managed_validation_schema`: the same keys as a draft 2020-12 schema with everything the full one
  checks (``anyOf``, lengths), which ``rootsentinel policy`` validates its output with.
"""

from __future__ import annotations

import copy
from typing import Any

from native_host.schemas import schema

SCOPE = "x-rootsentinel-scope"
"""The annotation naming where a setting belongs: ``both`` or ``host``."""

_CHROME_ATTRIBUTES = ("type", "title", "description", "properties", "items", "enum", "pattern", "minimum", "maximum")


def settings_schema() -> dict[str, Any]:
    """The parsed ``settings.schema.json`` (shared, do not modify)."""
    return schema("settings")


def keys(scope: str) -> tuple[str, ...]:
    """The setting names whose scope is ``scope`` (``both`` or ``host``), in schema order."""
    return tuple(k for k, v in settings_schema()["properties"].items() if v.get(SCOPE) == scope)


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with local ``#/$defs/...`` references replaced by their targets (recursively)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _resolve(defs[ref[len("#/$defs/"):]], defs)
            rest = {k: _resolve(v, defs) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _resolve(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, defs) for v in node]
    return node


def _chrome(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in _CHROME_ATTRIBUTES:
        if attr not in node:
            continue
        value = node[attr]
        if attr == "properties":
            value = {k: _chrome(v) for k, v in value.items()}
        elif attr == "items":
            value = _chrome(value)
        out[attr] = value
    return out


def chrome_managed_schema() -> dict[str, Any]:
    """The managed settings (scope ``both``) in Chrome's ``managed_schema`` dialect (module doc)."""
    full = settings_schema()
    defs = full.get("$defs", {})
    props = {k: _chrome(_resolve(v, defs)) for k, v in full["properties"].items() if v.get(SCOPE) == "both"}
    return {
        "type": "object",
        "title": "RootSentinel managed settings",
        "description": "Enterprise settings for RootSentinel; they win over the user's options and the system config.",
        "properties": props,
    }


def managed_validation_schema() -> dict[str, Any]:
    """A draft 2020-12 schema of the managed settings: the full schema's ``both`` keys, no others."""
    full = copy.deepcopy(settings_schema())
    full["properties"] = {k: v for k, v in full["properties"].items() if v.get(SCOPE) == "both"}
    full.pop("$id", None)
    return full
