#!/usr/bin/env python3
"""Regenerate ``native_host/engine/data/catalogue.json`` from ``build/catalogue-sources/products.json``.

The source is validated against ``catalogue.schema.json#/$defs/source``; every pattern must compile and be
anchored (``^...$``); every example subject (as the cited source shows it) must be identified as its own
entry and as no earlier one, so the catalogue's order never hides a product; every fixed ``spki_sha256`` must be the hash
of a key in ``build/blocklist-sources/keys/`` or of a certificate in ``build/catalogue-sources/certs/``
(recomputed from the file's raw DER). Entries are sorted by kind
then product.

Usage: ``python build/make_catalogue.py [--check]`` (``--check`` compares instead of writing; exit 1 on a
difference). The output is deterministic: the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from native_host.engine.catalogue import KINDS, Catalogue, canonical_entries_sha256  # noqa: E402
from native_host.engine.certfacts import pem_blocks  # noqa: E402

SOURCES = ROOT / "build" / "catalogue-sources" / "products.json"
KEYS = ROOT / "build" / "blocklist-sources" / "keys"
CERTS = ROOT / "build" / "catalogue-sources" / "certs"
OUTPUT = ROOT / "native_host" / "engine" / "data" / "catalogue.json"


def _validate_source(doc: dict) -> None:
    from jsonschema import Draft202012Validator

    from native_host.schemas import _registry

    ref = {"$ref": "https://rootsentinel.io/schemas/catalogue.schema.json#/$defs/source"}
    error = next(iter(Draft202012Validator(ref, registry=_registry()).iter_errors(doc)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise SystemExit(f"{SOURCES.name}: at {where}: {error.message[:300]}")


def _key_files() -> dict[str, str]:
    """spki_sha256 -> file, for the public keys in blocklist-sources/keys and the certificates in
    catalogue-sources/certs (the key hash recomputed from the file's raw DER)."""
    from native_host.engine.certfacts import cert_facts

    keys = {}
    for path in sorted(CERTS.glob("*.pem")):
        for label, blob in pem_blocks(path.read_bytes()):
            if label == "CERTIFICATE":
                keys[cert_facts(blob).spki_sha256] = path.name
    for path in sorted(KEYS.glob("*.pem")):
        for label, blob in pem_blocks(path.read_bytes()):
            if label == "PUBLIC KEY":
                keys[hashlib.sha256(blob).hexdigest()] = path.name
    return keys


def build() -> dict:
    """Return the catalogue document (see ``native_host/schemas/catalogue.schema.json``).

    Raises:
        SystemExit: the source is not valid, a pattern does not compile, an example is not identified as
            its own entry, a product appears twice, or a fixed key has no key or certificate file with that hash.
    """
    src = json.loads(SOURCES.read_text("utf-8"))
    _validate_source(src)
    entries = sorted(src["products"], key=lambda e: (KINDS.index(e["kind"]), e["product"].lower()))
    names = [e["product"] for e in entries]
    if len(set(names)) != len(names):
        raise SystemExit(f"{SOURCES.name}: a product appears twice")
    try:
        catalogue = Catalogue("0000.00.00", "0" * 64, entries)
    except Exception as exc:  # noqa: BLE001 - re.error: say which
        raise SystemExit(f"{SOURCES.name}: a rule does not compile: {exc}") from exc
    keys = _key_files()
    for entry in entries:
        if not any("spki_sha256" in r for r in entry["rules"]) and not entry["examples"]:
            raise SystemExit(f"{entry['product']}: a name rule needs at least one example subject")
        for example in entry["examples"]:
            hit = catalogue.identify(list(example.items()))
            if hit is not entry:
                got = hit["product"] if hit else "nothing"
                raise SystemExit(f"{entry['product']}: example {example} is identified as {got}")
        for rule in entry["rules"]:
            spki = rule.get("spki_sha256")
            if spki and spki not in keys:
                raise SystemExit(f"{entry['product']}: no key or certificate file has spki_sha256 {spki}")
    return {
        "format": 1,
        "version": src["version"],
        "generated_from": "build/catalogue-sources/products.json",
        "size": len(entries),
        "sha256": canonical_entries_sha256(entries),
        "entries": entries,
    }


def render(doc: dict) -> str:
    """Serialise deterministically (sorted keys, 1-space indent, trailing newline)."""
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = render(build())
    if args.check:
        same = args.output.exists() and args.output.read_text("utf-8") == text
        print("catalogue is up to date" if same else f"{args.output} differs from a fresh regeneration")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, "utf-8")
    print(f"wrote {args.output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
