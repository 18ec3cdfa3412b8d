#!/usr/bin/env python3
"""Trim Elastic's ECS field definitions to the field sets RootSentinel's events use, for the tests that
validate every emitted event field by field (tests/test_ecs_fields.py).

Input: ``build/ecs-sources/ecs_flat-8.11.0.yml.gz``, the ``generated/ecs/ecs_flat.yml`` of elastic/ecs at tag
v8.11.0, gzipped (provenance and hashes in ``build/ecs-sources/PROVENANCE.md``; the uncompressed file's
SHA-256 is checked here). Output: ``tests/fixtures/ecs/ecs_fields-8.11.0.json``:

``{"ecs_version", "source": {...}, "field_sets": [...], "fields": {flat name: {"type", "level",
"normalize"?, "allowed_values"? [{"name", "expected_event_types"?}], "example"?}}}`` for every field whose
flat name starts with one of :data:`FIELD_SETS` (a field set and its nested reuses, e.g. ``tls.server.x509.*``,
``file.x509.*``, ``process.parent.*``). A field set that an event starts to use is added here, and the
output regenerated (``python build/make_ecs_fields.py``); a test checks that the committed file equals a
fresh regeneration.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "build" / "ecs-sources" / "ecs_flat-8.11.0.yml.gz"
OUTPUT = ROOT / "tests" / "fixtures" / "ecs" / "ecs_fields-8.11.0.json"
SOURCE_SHA256 = "da8237f794a519c69ee2c94d9bdbfdfd7983951da936a0c2113f27a4654e0d23"
"""SHA-256 of the uncompressed ecs_flat.yml (elastic/ecs v8.11.0, commit ce703ab38f0c128c0dfeeb2daf0893ff3021cdff)."""

FIELD_SETS = ("@timestamp", "message", "tags", "labels", "agent.", "ecs.", "event.", "log.", "host.", "url.",
              "tls.", "server.", "observer.", "user.", "process.pid", "process.name", "process.executable",
              "process.parent.pid", "process.parent.executable", "process.parent.name", "related.",
              "threat.software.", "file.x509.", "file.path", "file.name", "user_agent.")
"""Flat-name prefixes kept (a name equal to an entry, or starting with an entry that ends in ``.``)."""


def kept(name: str) -> bool:
    return any(name == p or (p.endswith(".") and name.startswith(p)) for p in FIELD_SETS)


def trim(text: str) -> dict:
    """The trimmed document from the ecs_flat.yml text."""
    import yaml

    flat = yaml.safe_load(text)
    fields = {}
    for name in sorted(flat):
        if not kept(name):
            continue
        spec = flat[name]
        out = {"type": spec["type"], "level": spec["level"]}
        if spec.get("normalize"):
            out["normalize"] = list(spec["normalize"])
        if spec.get("allowed_values"):
            out["allowed_values"] = [{k: v for k, v in av.items() if k in ("name", "expected_event_types")}
                                     for av in spec["allowed_values"]]
        fields[name] = out
    return {
        "ecs_version": "8.11.0",
        "source": {"repository": "https://github.com/elastic/ecs", "tag": "v8.11.0",
                   "commit": "ce703ab38f0c128c0dfeeb2daf0893ff3021cdff", "path": "generated/ecs/ecs_flat.yml",
                   "sha256": SOURCE_SHA256, "license": "Apache-2.0",
                   "trimmed_by": "build/make_ecs_fields.py"},
        "field_sets": list(FIELD_SETS),
        "fields": fields,
    }


def render() -> str:
    """The output file's text, from :data:`SOURCE` (its hash checked)."""
    raw = gzip.decompress(SOURCE.read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{SOURCE}: SHA-256 {digest}, expected {SOURCE_SHA256}")
    return json.dumps(trim(raw.decode("utf-8")), indent=1, sort_keys=False) + "\n"


def main() -> int:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render(), "utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
