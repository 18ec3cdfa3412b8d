#!/usr/bin/env python3
"""Regenerate ``native_host/engine/data/blocklist.json`` from ``build/blocklist-sources/``.

Every ``cert_sha256`` and ``spki_sha256`` that has a certificate or key file behind it is recomputed from
the file's raw DER; a recomputed hash that disagrees with ``roots.json`` stops the build. Entries keep name,
category, country, source, notes and ``verified_from_pem``; Chromium's two SPKI lists
(``net/cert/cert_verify_proc_blocklist.inc``: ``kSPKIBlockList`` = hard block, ``kKnownInterceptionList`` =
known interception) become each entry's ``chromium_list``.

Usage: ``python build/make_blocklist.py [--check]`` (``--check`` compares instead of writing; exit 1 on a
difference). The output is deterministic: the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from native_host.engine import der  # noqa: E402
from native_host.engine.blocklist import canonical_entries_sha256  # noqa: E402
from native_host.engine.certfacts import cert_facts, pem_blocks  # noqa: E402

SOURCES = ROOT / "build" / "blocklist-sources"
OUTPUT = ROOT / "native_host" / "engine" / "data" / "blocklist.json"
VERSION = "2026.11.29"
"""Bump when the sources change; signed updates must carry a greater version (compared as integers)."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _chromium_list(spki: str | None, lists: dict) -> str | None:
    block = spki in set(lists["kSPKIBlockList"].values())
    intercept = spki in set(lists["kKnownInterceptionList"].values())
    return {(True, True): "block+interception", (True, False): "block", (False, True): "interception"}.get(
        (block, intercept))


def _subject_key(text: str | None) -> str | None:
    if not text:
        return None
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text)  # drop "(as printed in ...)" commentary
    pairs = der.parse_name_string(text)
    return der.name_key(pairs) if pairs else None


def build() -> dict:
    """Return the blocklist document (see ``native_host/schemas/blocklist.schema.json``).

    Raises:
        SystemExit: a recomputed hash disagrees with ``roots.json``, or a hash is malformed.
    """
    roots = json.loads((SOURCES / "roots.json").read_text("utf-8"))
    lists = json.loads((SOURCES / "chromium_lists.json").read_text("utf-8"))
    certs = {}
    for path in sorted((SOURCES / "certs").glob("*.pem")):
        for label, blob in pem_blocks(path.read_bytes()):
            if label == "CERTIFICATE":
                facts = cert_facts(blob)
                certs[facts.cert_sha256] = (facts, path.name)
    keys = {}
    for path in sorted((SOURCES / "keys").glob("*.pem")):
        for label, blob in pem_blocks(path.read_bytes()):
            if label == "PUBLIC KEY":
                keys[hashlib.sha256(blob).hexdigest()] = path.name

    entries = []
    for src in roots:
        entry = {
            "name": src["name"], "category": src["category"], "country": src.get("country"),
            "subject": src.get("subject"), "subject_key": None,
            "cert_sha256": src.get("cert_sha256"), "spki_sha256": src.get("spki_sha256"),
            "ski": None, "chromium_list": None, "source": src["source"],
            "verified_from_pem": bool(src.get("verified_from_pem")), "evidence_file": None,
            "notes": src.get("notes"),
        }
        for field in ("cert_sha256", "spki_sha256"):
            if entry[field] is not None and not _HEX64.match(entry[field]):
                raise SystemExit(f"{src['name']}: {field} {entry[field]!r} is not 64 lowercase hex digits")
        if entry["cert_sha256"] in certs:
            facts, fname = certs[entry["cert_sha256"]]
            if entry["spki_sha256"] != facts.spki_sha256:
                raise SystemExit(f"{fname}: spki_sha256 {facts.spki_sha256} != roots.json {entry['spki_sha256']}")
            entry.update(subject=facts.subject, subject_key=facts.subject_key, ski=facts.ski,
                         evidence_file=f"certs/{fname}")
        elif entry["spki_sha256"] in keys:
            entry["evidence_file"] = f"keys/{keys[entry['spki_sha256']]}"
        elif entry["verified_from_pem"]:
            raise SystemExit(f"{src['name']}: verified_from_pem but no certificate or key file matches")
        if entry["subject_key"] is None:
            entry["subject_key"] = _subject_key(entry["subject"])
        entry["chromium_list"] = _chromium_list(entry["spki_sha256"], lists)
        entries.append(entry)
    entries.sort(key=lambda e: (e["category"], e["name"], e["spki_sha256"] or "", e["cert_sha256"] or ""))
    return {
        "format": 1,
        "version": VERSION,
        "generated_from": "build/blocklist-sources (roots.json, chromium_lists.json, certs/, keys/)",
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
        print("blocklist is up to date" if same else f"{args.output} differs from a fresh regeneration")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, "utf-8")
    print(f"wrote {args.output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
