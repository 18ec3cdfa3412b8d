"""The backup ``scan --fix`` writes before its first change (read back by :mod:`native_host.scan.undo`):
every file a step changes copied in under a numbered name (NSS database files never through a link), a
Windows or macOS certificate saved as DER, and ``manifest.json`` (``native_host/schemas/backup.schema.json``)
rewritten after each entry::

    {"version": 1, "created": "2026-12-02T18:00:00Z", "root": "/srv/tree" | null,
     "entries": [{"store", "location", "action", "original", "backup", "sha256",
                  "label", "cert_sha256", "family"}, ...]}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from native_host.errors import RootSentinelError
from native_host.scan.model import ScanContext
from native_host.textsafe import escape

if TYPE_CHECKING:
    from native_host.scan.findings import Finding
    from native_host.scan.remove import Step

NSS_FILES = ("cert9.db", "key4.db", "cert8.db", "key3.db")
"""The files of an NSS database that the backup copies and ``--undo`` may restore (SQLite and legacy dbm).
Never the module list (``pkcs11.txt``, ``secmod.db``): ``certutil -D`` does not change it, and a restore that
wrote one would let a backup name code for NSS to load."""

CERT_SUFFIXES = (".crt", ".pem", ".cer", ".der")
"""An anchors file restored by ``--undo`` must end in one of these (and hold certificates)."""

MANIFEST = "manifest.json"


class FixError(RootSentinelError):
    """``--fix`` or ``--undo`` cannot go on: a bad manifest, a backup that does not match, a tool missing.
    One line, exit code 3."""

    code = "fix_failed"


def default_backup_dir(platform: str | None = None, now: dt.datetime | None = None) -> Path:
    """A new folder name for a backup, per user: ``$XDG_STATE_HOME/rootsentinel/backups/STAMP``
    (``~/.local/state`` when unset; macOS ``~/Library/Application Support/RootSentinel/backups/STAMP``;
    Windows ``%LOCALAPPDATA%\\RootSentinel\\backups\\STAMP``), STAMP the UTC time ``20261202T180000Z``."""
    from native_host.scan.readers import os_name

    name = os_name(platform)  # the one place that asks which OS this is
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    home = Path.home()
    if name == "windows":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "RootSentinel"
    elif name == "macos":
        base = home / "Library" / "Application Support" / "RootSentinel"
    else:
        base = Path(os.environ.get("XDG_STATE_HOME") or home / ".local" / "state") / "rootsentinel"
    return base / "backups" / stamp


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Backup:
    """Writes the backup folder: files copied in under numbered names, the manifest rewritten after each."""

    def __init__(self, folder: Path, root: Path | None) -> None:
        self.folder = folder
        self.entries: list[dict[str, Any]] = []
        self.root = root.absolute() if root is not None else None
        self.created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._copied: set[str] = set()

    def open(self) -> None:
        if self.folder.exists() and (not self.folder.is_dir() or any(self.folder.iterdir())):
            raise FixError(f"--backup {escape(str(self.folder))}: exists and is not an empty folder")
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise FixError(f"cannot make the backup folder {escape(str(self.folder))}: {exc.strerror}") from exc
        self.save()

    def _name(self, base: str) -> str:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in base).lstrip(".") or "file"
        return f"{len(self.entries) + 1:04d}-{safe[:120]}"

    def add_file(self, step: Step, finding: Finding, original: Path, location: str) -> None:
        if str(original) in self._copied:
            return
        self._copied.add(str(original))
        name = self._name(original.name)
        try:
            if step.store == "nss":  # a folder a user may own: never follow a link planted there
                _copy_regular(original, self.folder / name)
            else:
                shutil.copy2(original, self.folder / name)
        except OSError as exc:
            raise FixError(f"cannot back up {escape(str(original))}: {exc.strerror}") from exc
        self._entry(step, finding, str(original), location, name)

    def add_bytes(self, step: Step, finding: Finding, data: bytes, suffix: str, location: str) -> None:
        name = self._name(finding.facts.cert_sha256[:16] + suffix)
        (self.folder / name).write_bytes(data)
        self._entry(step, finding, location, location, name)

    def _entry(self, step: Step, finding: Finding, original: str, location: str, name: str) -> None:
        self.entries.append({
            "store": step.store, "location": location, "action": step.action, "original": original,
            "backup": name, "sha256": _sha256_file(self.folder / name), "label": step.label,
            "cert_sha256": finding.facts.cert_sha256, "family": step.regenerate})
        self.save()

    def manifest(self) -> dict[str, Any]:
        return {"version": 1, "created": self.created, "root": str(self.root) if self.root else None,
                "entries": self.entries}

    def save(self) -> None:
        tmp = self.folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.manifest(), indent=1, ensure_ascii=False) + "\n", "utf-8")
        os.replace(tmp, self.folder / MANIFEST)


def _copy_regular(src: Path, dst: Path) -> None:
    """Copy ``src`` to a new ``dst`` (its mode kept) only when ``src`` is a regular file and not a symbolic
    link: root backing up a user's database must not copy whatever a link planted there points at.

    Raises:
        OSError: ``src`` is a link (``ELOOP``), not a regular file, or cannot be read.
    """
    import stat

    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file", str(src))
        data = fh.read()
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(st.st_mode) & 0o777)
    with os.fdopen(out, "wb") as fh:
        fh.write(data)


def _back_up(chosen: list[tuple[Finding, Step]], folder: Path, ctx: ScanContext) -> _Backup:
    """Copy everything the fixable steps change into ``folder`` before any change.

    Raises:
        FixError: the folder is not new/empty, or a file cannot be copied.
    """
    backup = _Backup(folder, ctx.root)
    backup.open()
    for finding, step in chosen:
        if not step.fixable:
            continue
        # every path absolute (a relative --root or --nss-db would not mean the same place at --undo time)
        if step.action == "nss-delete":
            db = Path(step.data["db"]).absolute()
            for name in NSS_FILES:
                if (db / name).is_file():
                    backup.add_file(step, finding, db / name, f"{step.data.get('scheme', 'sql')}:{db}")
        elif step.action in ("delete-file", "rewrite-file"):
            path = Path(step.data["path"]).absolute()
            backup.add_file(step, finding, path, str(Path(_anchor_folder(step)).absolute()))
        elif step.action == "conf-disable":
            conf = Path(step.data["conf"]).absolute()
            backup.add_file(step, finding, conf, str(conf))
        elif step.action == "regenerate":
            bundle = Path(step.data["path"]).absolute()
            backup.add_file(step, finding, bundle, str(bundle))
        elif step.action == "run":
            der = finding.places[0].installed.der
            # the store as certutil names it; the keychain as security(1) opens it (--root prefix included)
            where = step.location if step.store == "windows" else str(Path(step.data["argv"][-1]).absolute())
            backup.add_bytes(step, finding, der, ".cer", where)
    return backup


def _anchor_folder(step: Step) -> str:
    """The anchors folder of an anchors step (its location is FOLDER/REL, its label REL#N)."""
    rel = (step.label or "").rsplit("#", 1)[0]
    loc = step.location
    return loc[: -len(rel) - 1] if rel and loc.endswith("/" + rel) else str(Path(loc).parent)


