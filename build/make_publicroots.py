#!/usr/bin/env python3
"""Regenerate ``native_host/engine/data/publicroots.json`` from ``build/publicroots-sources/``.

The public store is every root that Mozilla's store (as a named certifi release ships it) or the Chrome
Root Store trusts now, plus every root that an older certifi release carried and the newest does not (kept
as *removed*, with the last release that carried it). Sources, all committed (see their PROVENANCE.md):

- ``mozilla/cacert.pem``: the newest certifi release's bundle; ``mozilla/releases.json``: every release
  examined with the roots it added and removed; ``mozilla/removed/*.pem``: the removed roots;
- ``chrome/root_store.json``: the trust anchors (SHA-256) of Chromium's ``root_store.textproto`` at a
  recorded commit; ``chrome/certs/*.pem``: the few Chrome anchors no certifi release carried.

Every hash is recomputed from the DER; a release history that does not add up to the newest bundle, a
bundle whose SHA-256 is not the recorded one, or a Chrome anchor without a certificate stops the build.
Per root the output keeps the facts the engine needs (``native_host.engine.certfacts.cert_facts`` of the
DER, so loading needs no parse) and the DER itself (the verifier needs the key).

Usage: ``python build/make_publicroots.py [--check]`` (``--check`` compares instead of writing; exit 1 on a
difference). The output is deterministic: the same sources give the same bytes. No network.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from native_host.engine.certfacts import cert_facts, pem_blocks  # noqa: E402
from native_host.engine.publicroots import canonical_roots_sha256  # noqa: E402

SOURCES = ROOT / "build" / "publicroots-sources"
OUTPUT = ROOT / "native_host" / "engine" / "data" / "publicroots.json"
VERSION = "2026.12.01"
"""Bump when the sources change."""


def _certs_in(paths) -> dict[str, bytes]:
    """``cert_sha256`` -> DER of every CERTIFICATE block in the given PEM files."""
    out = {}
    for path in paths:
        for label, der in pem_blocks(Path(path).read_bytes()):
            if label == "CERTIFICATE":
                out[hashlib.sha256(der).hexdigest()] = der
    return out


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(der: bytes, programs: list[str], removed: dict | None, sct_not_after: str | None) -> dict:
    f = cert_facts(der)
    if f.parse_error:
        raise SystemExit(f"root {f.cert_sha256}: {f.parse_error}")
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return {
        "cert_sha256": f.cert_sha256, "spki_sha256": f.spki_sha256, "subject": f.subject, "issuer": f.issuer,
        "subject_der": b64(f.subject_der), "issuer_der": b64(f.issuer_der),
        "subject_key": f.subject_key, "issuer_key": f.issuer_key, "serial": f.serial,
        "not_before": f.not_before, "not_after": f.not_after, "ski": f.ski, "aki": f.aki,
        "self_issued": f.self_issued, "der": b64(der),
        "programs": programs, "removed": removed, "chrome_sct_not_after": sct_not_after,
    }


def build() -> dict:
    """Return the public-store document (see ``native_host/schemas/publicroots.schema.json``).

    Raises:
        SystemExit: the sources disagree with each other or with their recorded hashes.
    """
    moz_dir = SOURCES / "mozilla"
    releases = json.loads((moz_dir / "releases.json").read_text("utf-8"))
    newest = releases[-1]
    bundle_bytes = (moz_dir / "cacert.pem").read_bytes()
    if hashlib.sha256(bundle_bytes).hexdigest() != newest["cacert_sha256"]:
        raise SystemExit(f"mozilla/cacert.pem is not certifi {newest['version']}'s bundle (SHA-256 differs)")
    current = _certs_in([moz_dir / "cacert.pem"])
    removed_certs = _certs_in(sorted((moz_dir / "removed").glob("*.pem")))

    # Replay the history: each release's roots, and the last release that carried each root.
    members: set[str] = set()
    last: dict[str, dict] = {}
    for rel in releases:
        members = (members - set(rel["removed"])) | set(rel["added"])
        if len(members) != rel["roots"]:
            raise SystemExit(f"releases.json: certifi {rel['version']} adds up to {len(members)} roots, not {rel['roots']}")
        for h in members:
            last[h] = rel
    if members != set(current):
        raise SystemExit("releases.json does not add up to mozilla/cacert.pem")
    gone = set(last) - set(current)
    if gone != set(removed_certs):
        raise SystemExit(f"mozilla/removed/ holds {len(removed_certs)} roots, the history removes {len(gone)}")

    chrome = json.loads((SOURCES / "chrome" / "root_store.json").read_text("utf-8"))
    chrome_extra = _certs_in(sorted((SOURCES / "chrome" / "certs").glob("*.pem")))
    known = {**removed_certs, **current, **chrome_extra}
    chrome_anchors = {}
    for anchor in chrome["trust_anchors"]:
        h = anchor["sha256_hex"]
        if h not in known:
            raise SystemExit(f"Chrome anchor {h} has no certificate in the sources")
        secs = anchor.get("sct_not_after_sec")
        chrome_anchors[h] = _iso(secs) if secs is not None else None

    roots = []
    for h in sorted(set(current) | gone | set(chrome_anchors)):
        programs = [p for p, inside in (("mozilla", h in current), ("chrome", h in chrome_anchors)) if inside]
        removed = None
        if h in gone:
            rel = last[h]
            removed = {"program": "mozilla", "last_release": f"certifi {rel['version']}",
                       "last_release_date": rel["date"]}
        roots.append(_entry(known[h], programs, removed, chrome_anchors.get(h)))

    def count(pred) -> int:
        return sum(1 for r in roots if pred(r))

    counts = {
        "mozilla": count(lambda r: "mozilla" in r["programs"]),
        "chrome": count(lambda r: "chrome" in r["programs"]),
        "both": count(lambda r: r["programs"] == ["mozilla", "chrome"]),
        "mozilla_only": count(lambda r: r["programs"] == ["mozilla"]),
        "chrome_only": count(lambda r: r["programs"] == ["chrome"]),
        "trusted": count(lambda r: bool(r["programs"])),
        "removed": count(lambda r: r["removed"] is not None),
        "removed_untrusted": count(lambda r: r["removed"] is not None and not r["programs"]),
    }
    return {
        "format": 1,
        "version": VERSION,
        "generated_from": "build/publicroots-sources (mozilla/cacert.pem, mozilla/releases.json, mozilla/removed/, "
                          "chrome/root_store.json, chrome/certs/)",
        "sources": {
            "mozilla": {"release": f"certifi {newest['version']}", "release_date": newest["date"],
                        "wheel": newest["wheel"], "wheel_sha256": newest["wheel_sha256"],
                        "cacert_sha256": newest["cacert_sha256"]},
            "mozilla_history": {"releases": len(releases), "oldest": f"certifi {releases[0]['version']}",
                                "newest": f"certifi {newest['version']}"},
            "chrome": {"repository": chrome["repository"], "path": chrome["path"], "commit": chrome["commit"],
                       "version_major": chrome["version_major"]},
        },
        "counts": counts,
        "size": len(roots),
        "sha256": canonical_roots_sha256(roots),
        "roots": roots,
    }


def render(doc: dict) -> str:
    """Serialise deterministically (sorted keys, one root per line, trailing newline)."""
    head = {k: v for k, v in doc.items() if k != "roots"}
    lines = [json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for r in doc["roots"]]
    text = json.dumps(head, indent=1, sort_keys=True, ensure_ascii=False)
    return text[:-2] + ',\n "roots": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    doc = build()
    text = render(doc)
    if json.loads(text) != doc:
        raise SystemExit("render() lost data")
    if args.check:
        same = args.output.exists() and args.output.read_text("utf-8") == text
        print("public store is up to date" if same else f"{args.output} differs from a fresh regeneration")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, "utf-8")
    print(f"wrote {args.output.relative_to(ROOT)}: {doc['counts']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
