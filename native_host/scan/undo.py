"""``rootsentinel scan --undo BACKUP``: put back what a ``scan --fix`` removed, from its backup folder
(:mod:`native_host.scan.fix` writes it).

The manifest is untrusted input, and ``--undo`` often runs as root: before the first change the backup folder
and its manifest must be the invoking user's and not writable by group or others, the manifest must pass its
schema, every entry must restore into a trust store of the kind it names (an anchors file only into one of the
distributions' anchors folders, under the manifest's root or this system's ``/``; an NSS file only
``cert9.db``/``key4.db``/``cert8.db``/``key3.db`` of a folder holding a database) and only the file names
that store has (:func:`check_entry`), and every backup file must match its sha256.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from native_host.atomicfile import atomic_write_in
from native_host.errors import BadDER
from native_host.scan._files import ANCHOR_DIRS, BUNDLES, parse_cert_file
from native_host.scan.backup import CERT_SUFFIXES, MANIFEST, NSS_FILES, FixError, _sha256_file
from native_host.scan.fix import (Result, Runner, _atomic_write, _regenerate, fix_event, parse_certutil_delstore,
                                  parse_security)
from native_host.scan.model import ScanContext
from native_host.scan.remove import _WINDOWS_STORE, DEBIAN_CONF, command_line
from native_host.textsafe import escape


def load_manifest(folder: Path) -> dict[str, Any]:
    """The validated manifest of the backup ``folder``, every entry checked (see :func:`check_entry`) and
    every backup file's sha256 verified.

    Raises:
        FixError: no manifest, not JSON, fails ``backup.schema.json``, a path escapes its location, or a
            backup file is missing or does not match its sha256.
    """
    from native_host.errors import SchemaError
    from native_host.schemas import validate

    path = folder / MANIFEST
    _check_private(folder, path)
    try:
        if path.stat().st_size > 8 << 20:
            raise FixError(f"{escape(str(path))}: over 8 MiB, not a manifest")
        doc = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise FixError(f"--undo {escape(str(folder))}: no readable {MANIFEST} ({exc.strerror})") from exc
    except ValueError as exc:
        raise FixError(f"--undo {escape(str(folder))}: {MANIFEST} is not JSON: {escape(str(exc))}") from exc
    try:
        validate("backup", doc)
    except SchemaError as exc:
        raise FixError(f"--undo {escape(str(folder))}: {MANIFEST} refused: {escape(str(exc))}") from exc
    root = Path(doc["root"]) if doc["root"] else None
    if root is not None and (not root.is_absolute() or not root.is_dir()):
        raise FixError(f"--undo: the manifest's root {escape(str(root))} is not a folder")
    for i, entry in enumerate(doc["entries"]):
        check_entry(entry, root, folder, i)
    return doc


def _check_private(folder: Path, manifest: Path) -> None:
    """Refuse a backup folder or manifest that is not the invoking user's, or that group or others may write:
    ``--undo`` often runs as root, and a manifest someone else could write would choose what root restores.

    Raises:
        FixError: naming the owner or mode.
    """
    if not hasattr(os, "geteuid"):
        return
    euid = os.geteuid()
    for what in (folder, manifest):
        try:
            st = os.stat(what, follow_symlinks=False)
        except OSError:
            return  # a missing manifest is reported by the caller
        if st.st_uid != euid:
            raise FixError(f"--undo {escape(str(folder))}: {escape(what.name)} belongs to uid {st.st_uid}, not to you "
                           f"(uid {euid}): refused (a backup must be the restoring user's own)")
        if st.st_mode & 0o022:
            raise FixError(f"--undo {escape(str(folder))}: {escape(what.name)} is writable by group or others "
                           f"(mode {st.st_mode & 0o777:o}): refused")


def _inside(path: Path, folder: Path) -> bool:
    """``path`` (resolved through symlinks) is ``folder`` or below it (resolved too)."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except (OSError, ValueError):
        return False


def check_entry(entry: dict[str, Any], root: Path | None, folder: Path, index: int = 0) -> None:
    """Refuse one manifest entry that would write outside what ``--fix`` could have changed.

    Rules: paths absolute, without ``..``, under ``root`` when the manifest has one; ``nss``: the original is
    ``DIR/NAME`` with ``NAME`` in :data:`NSS_FILES` and ``location`` ``sql:DIR``; anchors files: inside the
    recorded folder, which is one of :data:`native_host.scan._files.ANCHOR_DIRS` (under the root, or this
    system's when it is null), a certificate file name (:data:`CERT_SUFFIXES`) and certificates inside; a bundle:
    one of :data:`native_host.scan._files.BUNDLES`; ``distribution``: the tree's ``/etc/ca-certificates.conf``;
    ``windows``: a ``Cert:\\...\\Root|CA`` store; ``macos``: an absolute ``.keychain``/``.keychain-db``;
    the backup file: a plain name in ``folder`` (not a symlink) whose sha256 matches.

    Raises:
        FixError: naming the entry and the rule it breaks.
    """
    def refuse(why: str) -> FixError:
        return FixError(f"--undo: manifest entry {index} refused: {why}")

    store, action, original, location = entry["store"], entry["action"], entry["original"], entry["location"]
    backup = folder / entry["backup"]
    if backup.is_symlink() or not backup.is_file():
        raise refuse(f"backup file {escape(entry['backup'])} is missing")
    if _sha256_file(backup) != entry["sha256"]:
        raise refuse(f"backup file {escape(entry['backup'])} does not match its sha256")

    def real(system_path: str) -> Path:
        return ScanContext(root=root).real(system_path)

    if store in ("windows", "macos"):
        if action != "run":
            raise refuse(f"{store} entries only run a tool")
        if store == "windows" and not _WINDOWS_STORE.match(location):
            raise refuse(f"{escape(location)} is not a Windows certificate store")
        if store == "macos" and not (location.startswith("/") and location.endswith((".keychain", ".keychain-db"))
                                     and ".." not in Path(location).parts):
            raise refuse(f"{escape(location)} is not a keychain")
        _must_be_cert(backup, refuse)
        return
    orig = Path(original)
    if not orig.is_absolute() or ".." in orig.parts:
        raise refuse(f"{escape(original)} is not an absolute path without '..'")
    if root is not None and not _inside(_existing(orig.parent), root):
        raise refuse(f"{escape(original)} escapes the manifest's root {escape(str(root))}")
    if store == "nss":
        db = Path(location[4:] if location.startswith(("sql:", "dbm:")) else location)
        if action != "nss-delete" or orig.name not in NSS_FILES or orig.parent != db:
            raise refuse(f"{escape(original)} is not an NSS database file of {escape(location)}")
        if not _inside(orig.parent, db) or not orig.parent.is_dir():
            raise refuse(f"{escape(original)} escapes {escape(location)}")
        if not any((db / name).is_file() for name in ("cert9.db", "cert8.db")):
            raise refuse(f"{escape(location)} is not an NSS database folder")
    elif store == "distribution":
        if action != "conf-disable" or orig != real(DEBIAN_CONF) or location != original:
            raise refuse(f"{escape(original)} is not {escape(str(real(DEBIAN_CONF)))}")
    elif action == "regenerate":
        if orig not in {real(b) for b in BUNDLES}:
            raise refuse(f"{escape(original)} is not a system bundle")
        _must_be_cert(backup, refuse)
    elif action in ("delete-file", "rewrite-file"):
        loc = Path(location)
        if not loc.is_absolute() or ".." in loc.parts or not orig.is_relative_to(loc) or orig == loc:
            raise refuse(f"{escape(original)} escapes the recorded location {escape(location)}")
        existing = orig.parent
        while not existing.exists() and existing != loc and existing.parent != existing:
            existing = existing.parent  # the folders --undo would make start below this one
        if not _inside(existing, loc):
            raise refuse(f"{escape(original)} escapes the recorded location {escape(location)} (a symlink)")
        if location not in {str(real(a)) for a in ANCHOR_DIRS}:  # with or without a root (issue 22 item 14)
            raise refuse(f"{escape(location)} is not an anchors folder of the "
                         f"{'tree' if root is not None else 'system'}")
        if not orig.name.endswith(CERT_SUFFIXES):
            raise refuse(f"{escape(orig.name)} is not a certificate file name")
        _must_be_cert(backup, refuse)
    else:
        raise refuse(f"action {action} does not belong to store {store}")


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (what a symlink check must look at)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _must_be_cert(path: Path, refuse: Callable[[str], FixError]) -> None:
    try:
        if not parse_cert_file(path.read_bytes()):
            raise refuse(f"{path.name} holds no certificate")
    except BadDER as exc:
        raise refuse(f"{path.name} is not a certificate file") from exc


def undo(folder: Path, runner: Runner, audit: Any | None = None) -> tuple[list[str], bool]:
    """Restore every entry of the backup ``folder``: files copied back (atomically), Windows/macOS
    certificates added back, then each bundle rebuilt whose anchors or configuration changed, then
    hand-edited bundles copied back last (so they end byte for byte as before).

    Returns:
        ``(lines, ok)``: one line per restored entry and rebuild; ``ok`` False when a tool failed.

    Raises:
        FixError: the manifest is refused (:func:`load_manifest`); nothing was changed then.
    """
    doc = load_manifest(folder)
    root = Path(doc["root"]) if doc["root"] else None
    ctx = ScanContext(root=root)
    lines, ok = [], True
    families: list[str] = []
    later = []
    for entry in doc["entries"]:
        backup = folder / entry["backup"]
        store, location = entry["store"], entry["location"]
        if entry["action"] == "run":
            argv = _undo_argv(entry, backup)
            try:
                res = runner(argv)
            except FixError as exc:
                res = Result(127, b"", str(exc).encode())
            done, msg = (parse_certutil_delstore if store == "windows" else parse_security)(res)
            line = f"added back to {store} {escape(location)}: {command_line(argv, store == 'windows')}"
            line += "" if done else f": FAILED {msg}"
        else:
            if entry["action"] == "regenerate":
                later.append(entry)
            orig = Path(entry["original"])
            if store == "nss":  # a folder a user may own: pinned, and the restored file stays theirs
                atomic_write_in(orig.parent, orig.name, backup.read_bytes(), backup.stat().st_mode & 0o777,
                                keep_owner=True)
            else:
                orig.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write(orig, backup.read_bytes(), backup.stat().st_mode & 0o777)  # copy2 kept the mode
            done, line = True, f"restored {escape(str(orig))} ({store})"
            if entry.get("family") and entry["action"] in ("delete-file", "rewrite-file", "conf-disable"):
                families.append(entry["family"])
        ok = ok and done
        lines.append(line)
        if audit is not None:
            audit.record(fix_event("trusted-root-restored", store=store, location=location, label=entry.get("label"),
                                   cert_sha256=entry.get("cert_sha256"), ok=done, message=line, backup=str(folder)),
                         "notice")
    for note in _regenerate(list(dict.fromkeys(families)), ctx, runner):
        ok = ok and "failed" not in note
        lines.append(note)
    for entry in later:
        _atomic_write(Path(entry["original"]), (folder / entry["backup"]).read_bytes())
    return lines, ok


def _undo_argv(entry: dict[str, Any], backup: Path) -> list[str]:
    """The command that adds a backed-up certificate back, built from the checked entry (never an argv
    read from the manifest)."""
    if entry["store"] == "windows":
        m = _WINDOWS_STORE.match(entry["location"])
        assert m
        return ["certutil", *(["-user"] if m.group(1) == "CurrentUser" else []), "-addstore", m.group(2), str(backup)]
    return ["security", "add-certificates", "-k", entry["location"], str(backup)]
