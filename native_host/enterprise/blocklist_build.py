"""Build a new blocklist version for publishing: ``rootsentinel blocklist build INPUT --out FILE``.

INPUT is either an edited blocklist (a document as ``blocklist show``'s file or the bundled
``native_host/engine/data/blocklist.json``: ``{"format": 1, "version": ..., "entries": [...]}``) or a
sources file: a JSON array of entries in the shape of ``build/blocklist-sources/roots.json``
(``name, category, country, subject, cert_sha256, spki_sha256, source, notes``).

Every entry may name ``"certificate": "PATH"`` (a PEM or DER file, relative to INPUT's folder): then its
``cert_sha256``, ``spki_sha256``, ``subject``, ``subject_key`` and ``ski`` are computed from the file's raw
DER (the key ``certificate`` itself is not kept; ``evidence_file`` records the path) and
``verified_from_pem`` is true. Without it the fingerprints given are normalised (lowercase, colons
dropped) and ``subject_key`` is derived from ``subject``. Then ``size`` and the content hash ``sha256``
(:func:`native_host.engine.blocklist.canonical_entries_sha256`) are recomputed, the version is bumped
(:func:`next_version`), and the result is validated as a host would load it before it is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from native_host.errors import BadInput

ENTRY_FIELDS = ("name", "category", "country", "subject", "subject_key", "cert_sha256", "spki_sha256", "ski",
                "chromium_list", "source", "verified_from_pem", "evidence_file", "notes")
"""The fields of a blocklist entry (native_host/schemas/blocklist.schema.json), in that order."""

_HEX = re.compile(r"^[0-9a-f]{64}$")


def next_version(*previous: str | None, today: dt.date | None = None) -> str:
    """The version after every one of ``previous``: today's ``YYYY.MM.DD`` if that is newer, else the newest
    previous one with its re-issue counter raised (``2026.12.01`` -> ``2026.12.01.1`` -> ``2026.12.01.2``).

    Versions compare as dotted integers (:func:`native_host.enterprise.blocklist_update.version_tuple`), which is how a
    host decides whether an update is newer than what it has.
    """
    from native_host.enterprise.blocklist_update import version_tuple

    today = today or dt.datetime.now(dt.timezone.utc).date()
    candidate = today.strftime("%Y.%m.%d")
    known = [v for v in previous if v]
    if not known:
        return candidate
    newest = max(known, key=version_tuple)
    if version_tuple(candidate) > version_tuple(newest):
        return candidate
    parts = newest.split(".")
    if len(parts) == 3:
        return newest + ".1"
    return ".".join(parts[:3] + [str(int(parts[3]) + 1)])


def _hex(value: Any, field: str, name: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower().replace(":", "")
    if not _HEX.match(text):
        raise BadInput(f"entry {name!r}: {field} must be 64 hex digits (SHA-256), not {str(value)[:80]!r}")
    return text


def _from_certificate(entry: dict, path: Path, name: str) -> None:
    from native_host.engine.certfacts import cert_facts, pem_blocks

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"entry {name!r}: cannot read its certificate {path}: {exc.strerror}") from exc
    blocks = [der for label, der in pem_blocks(data) if label == "CERTIFICATE"] if b"-----BEGIN" in data else [data]
    if len(blocks) != 1:
        raise BadInput(f"entry {name!r}: {path} must hold exactly one certificate, it holds {len(blocks)}")
    facts = cert_facts(blocks[0])  # hashes of the raw DER first; names as far as the parse got
    entry.update(cert_sha256=facts.cert_sha256, spki_sha256=facts.spki_sha256, subject=facts.subject or None,
                 subject_key=facts.subject_key or None, ski=facts.ski, verified_from_pem=True)


def build_entry(src: dict, base: Path) -> dict:
    """One blocklist entry from an input entry (see the module doc); ``base`` resolves ``certificate``.

    Raises:
        BadInput: not an object, no name, a malformed fingerprint, an unreadable certificate file.
    """
    from native_host.engine import der

    if not isinstance(src, dict) or not isinstance(src.get("name"), str) or not src["name"]:
        raise BadInput(f"every entry needs a name; got {json.dumps(src)[:120]}")
    name = src["name"]
    unknown = set(src) - set(ENTRY_FIELDS) - {"certificate"}
    if unknown:
        raise BadInput(f"entry {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    entry = {field: src.get(field) for field in ENTRY_FIELDS}
    entry["verified_from_pem"] = bool(src.get("verified_from_pem"))
    for field in ("cert_sha256", "spki_sha256"):
        entry[field] = _hex(entry[field], field, name)
    if src.get("certificate"):
        cert_path = Path(src["certificate"])
        _from_certificate(entry, cert_path if cert_path.is_absolute() else base / cert_path, name)
        entry["evidence_file"] = str(src["certificate"])
    elif entry["subject"] and not entry["subject_key"]:
        text = re.sub(r"\s*\([^)]*\)\s*$", "", entry["subject"])
        pairs = der.parse_name_string(text)
        entry["subject_key"] = der.name_key(pairs) if pairs else None
    return entry


def build_document(doc: Any, base: Path, *, version: str | None = None, generated_from: str = "",
                   today: dt.date | None = None) -> dict:
    """A complete, validated blocklist document from an edited list or a sources array.

    Args:
        doc: the parsed INPUT (an object with ``entries``, or an array of entries).
        base: folder that ``certificate`` paths are relative to.
        version: the version to give it (default :func:`next_version` after the input's and the bundled one).
        generated_from: what to record in ``generated_from``.

    Raises:
        BadInput: the input's shape, an entry (see :func:`build_entry`), or a version not newer than the input's.
        SchemaError: the result does not match the blocklist schema.
    """
    from native_host.enterprise.blocklist_update import version_tuple
    from native_host.engine.blocklist import bundled, canonical_entries_sha256, load_document

    if isinstance(doc, dict) and isinstance(doc.get("entries"), list):
        sources, previous = doc["entries"], doc.get("version")
    elif isinstance(doc, list):
        sources, previous = doc, None
    else:
        raise BadInput("the input must be a blocklist (an object with \"entries\") or a JSON array of entries")
    entries = [build_entry(src, base) for src in sources]
    entries.sort(key=lambda e: (e["category"] or "", e["name"], e["spki_sha256"] or "", e["cert_sha256"] or ""))
    if version is None:
        version = next_version(previous if isinstance(previous, str) else None, bundled().version, today=today)
    elif isinstance(previous, str) and version_tuple(version) <= version_tuple(previous):
        raise BadInput(f"--version {version} is not newer than the input's {previous}; hosts would refuse it")
    out = {"format": 1, "version": version, "generated_from": generated_from or "rootsentinel blocklist build",
           "size": len(entries), "sha256": canonical_entries_sha256(entries), "entries": entries}
    load_document(out, verify=True)  # exactly what a host checks: schema and content hash
    return out


def build_file(input_path: Path, output: Path, *, version: str | None = None) -> dict:
    """Read INPUT, build the document (:func:`build_document`), write it to ``output`` atomically.

    Raises:
        BadInput: unreadable or non-JSON input, ``output`` equal to the input, an unwritable output.
        SchemaError / BadDER: as :func:`build_document`.
    """
    from native_host.enterprise.blocklist_update import atomic_write

    try:
        raw = input_path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {input_path}: {exc.strerror}") from exc
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{input_path} is not UTF-8 JSON: {exc}") from exc
    if output.exists() and output.resolve() == input_path.resolve():
        raise BadInput("--out must be a new file, not the input")
    result = build_document(doc, input_path.parent, version=version,
                            generated_from=f"rootsentinel blocklist build {input_path.name}")
    text = json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        atomic_write(output, text.encode("utf-8"))
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}") from exc
    return result


__all__ = ["ENTRY_FIELDS", "build_document", "build_entry", "build_file", "next_version"]
