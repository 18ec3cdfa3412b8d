"""``rootsentinel scan --fix`` and ``scan --undo``: carry out the removal steps :mod:`.remove` plans, with a
backup first, and put everything back from that backup (issue 14, item 5).

:mod:`.remove` stays the planner (every :class:`~native_host.scan.remove.Step` says its ``action`` and the
``data`` it needs); this module is the executor:

==================  ===================================================================================
action              what ``--fix`` does (after the backup)
==================  ===================================================================================
``nss-delete``      ``certutil -D -d sql:DIR -n NICK``; backup: the database files (``cert9.db``,
                    ``key4.db``, ``pkcs11.txt``, or ``cert8.db``, ``key3.db``, ``secmod.db`` for dbm)
``delete-file``     deletes the anchors file, then the family's rebuild (:func:`.remove.regenerate_argv`)
``rewrite-file``    rewrites the anchors file without this certificate (PEM), then the rebuild
``conf-disable``    turns the line ``NAME`` of ``ca-certificates.conf`` into ``!NAME``, then the rebuild
``regenerate``      the rebuild only (a bundle entry added by hand); backup: the bundle
``run``             Windows ``certutil [-user] -delstore`` / macOS ``security delete-certificate``;
                    backup: the certificate (DER), restored with ``certutil -addstore`` /
                    ``security add-certificates -k``
None                nothing (a manual step: its text is printed)
==================  ===================================================================================

A rebuild that is ``chroot DIR ...`` (not Debian's tool, under ``--root``) is not run: it is printed.

Every command runs through one :class:`CommandRunner` (argv lists, no shell, a timeout, output captured);
tests pass a runner that answers from recorded output. The backup folder holds a ``manifest.json``
(``native_host/schemas/backup.schema.json``)::

    {"version": 1, "created": "2026-12-02T18:00:00Z", "root": "/srv/tree" | null,
     "entries": [{"store", "location", "action", "original", "backup", "sha256",
                  "label", "cert_sha256", "family"}, ...]}

``--undo`` treats the manifest as untrusted: schema, then every entry's paths (inside its recorded
location, under the recorded root, only the file names that store has), then each backup file's sha256,
all before the first change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from native_host.atomicfile import atomic_write
from native_host.errors import BadDER, RootSentinelError
from native_host.scan._files import ANCHOR_DIRS, BUNDLES, parse_cert_file
from native_host.scan.model import ScanContext, StoreUnreadable, run_captured
from native_host.scan.remove import _WINDOWS_STORE, DEBIAN_CONF, Step, command_line, regenerate_argv
from native_host.textsafe import escape

if TYPE_CHECKING:
    from native_host.scan.findings import Finding
    from native_host.scan.report import ScanReport

NSS_FILES = ("cert9.db", "key4.db", "pkcs11.txt", "cert8.db", "key3.db", "secmod.db")
"""The files of an NSS database that the backup copies (SQLite and legacy dbm)."""

CERT_SUFFIXES = (".crt", ".pem", ".cer", ".der")
"""An anchors file restored by ``--undo`` must end in one of these (and hold certificates)."""

MANIFEST = "manifest.json"


class FixError(RootSentinelError):
    """``--fix`` or ``--undo`` cannot go on: a bad manifest, a backup that does not match, a tool missing.
    One line, exit code 3."""

    code = "fix_failed"


@dataclass
class Result:
    """What one command did: exit code and captured output."""

    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def message(self) -> str:
        """The first line of stderr (else stdout), terminal-safe, at most 300 characters."""
        for blob in (self.stderr, self.stdout):
            text = " ".join(blob.decode("utf-8", "replace").split())
            if text:
                return escape(text[:300])
        return ""


class CommandRunner:
    """Runs one command: ``runner(argv) -> Result`` (no shell, stdin closed, output captured, timeout).

    Raises:
        FixError: ``argv[0]`` is not installed, or it did not finish within ``timeout`` seconds.
    """

    def __init__(self, timeout: float = 120.0) -> None:
        self.timeout = timeout

    def __call__(self, argv: Sequence[str]) -> Result:
        try:
            proc = run_captured(argv, self.timeout)
        except StoreUnreadable as exc:  # ToolMissing too: not installed, or did not finish in time
            raise FixError(str(exc)) from exc
        return Result(proc.returncode, proc.stdout, proc.stderr)


Runner = Callable[[Sequence[str]], Result]


def parse_certutil_delstore(result: Result) -> tuple[bool, str]:
    """``(ok, message)`` from Microsoft ``certutil -delstore`` / ``-addstore`` output: it ends with
    ``CertUtil: -delstore command completed successfully.`` or ``... command FAILED: 0x80092004
    (-2146885628 CRYPT_E_NOT_FOUND)``; exit code 0 only on success."""
    text = (result.stdout + b"\n" + result.stderr).decode("utf-8", "replace")
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    failed = next((line for line in lines if "FAILED" in line), None)
    if result.returncode != 0 or failed:
        return False, escape((failed or result.message or f"exit {result.returncode}")[:300])
    done = next((line for line in lines if "completed successfully" in line), "")
    return True, escape(done[:300])


def parse_security(result: Result) -> tuple[bool, str]:
    """``(ok, message)`` from macOS ``security delete-certificate`` / ``add-certificates``: silent with
    exit 0 on success; ``Unable to delete certificate matching "..."`` (or another line) and exit 1."""
    if result.returncode != 0:
        return False, result.message or f"exit {result.returncode}"
    return True, result.message


def targets(report: ScanReport, include_interception: bool = False) -> list[tuple[Finding, Step]]:
    """The steps ``--fix`` carries out or prints: every ``banned`` place's step, plus ``non-public`` ones
    with ``include_interception``; never an ``allowlisted`` one (the organisation's own root).

    A root the distribution still ships but Mozilla distrusted (TrustCor on stock Debian 12) is ``banned``
    (blocklist category ``distrusted-ca``): removed by default, by its ``!mozilla/NAME.crt`` line."""
    wanted = {"banned"} | ({"non-public"} if include_interception else set())
    return [(f, s) for f in report.findings for s in f.remove if s.status in wanted]


def kept_interception(report: ScanReport) -> int:
    """How many ``non-public`` steps ``--fix`` leaves alone without ``--include-interception``."""
    return sum(1 for f in report.findings for s in f.remove if s.status == "non-public")


def plan_lines(chosen: list[tuple[Finding, Step]], ctx: ScanContext) -> list[str]:
    """One line per step (what ``--fix`` shows before asking), then one per rebuild."""
    lines = []
    for finding, step in chosen:
        who = escape(finding.facts.subject or finding.facts.cert_sha256)
        if step.fixable:
            regen = regenerate_argv(step.regenerate, ctx) if step.regenerate else None
            cmds = [c for c in step.commands if c != regen] or step.commands
            if step.action == "conf-disable":
                shown = f"!{escape(step.data['line'])} in {escape(step.data['conf'])}"
            else:
                shown = " && ".join(command_line(c, step.windows) for c in cmds) if cmds != [regen] else "rebuild only"
            lines.append(f"  {step.status}: {who}: {step.store} {escape(step.location)}: {shown}")
        else:
            lines.append(f"  {step.status}: {who}: {step.store} {escape(step.location)}: manual, not done: {step.text}")
    for family in _families(chosen):
        argv = regenerate_argv(family, ctx)
        note = "" if _runnable(argv) else " (not run under --root: run it inside that system)"
        lines.append(f"  then rebuild the bundle: {command_line(argv)}{note}")
    return lines


def _families(chosen: list[tuple[Finding, Step]]) -> list[str]:
    return list(dict.fromkeys(s.regenerate for _, s in chosen if s.fixable and s.regenerate))


def _runnable(argv: list[str]) -> bool:
    return argv[0] != "chroot"


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
                    backup.add_file(step, finding, db / name, f"sql:{db}")
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


@dataclass
class Outcome:
    """One step carried out (or not): ``ok`` and a one-line ``message``."""

    finding: Finding
    step: Step
    ok: bool
    message: str


def _rewrite_without(path: Path, cert_sha256: str) -> None:
    """Rewrite the certificate file at ``path`` as PEM without the certificate ``cert_sha256``."""
    import base64
    import textwrap

    ders = [d for d in parse_cert_file(path.read_bytes()) if hashlib.sha256(d).hexdigest() != cert_sha256]
    pem = "".join("-----BEGIN CERTIFICATE-----\n" + "\n".join(textwrap.wrap(base64.b64encode(d).decode(), 64))
                  + "\n-----END CERTIFICATE-----\n" for d in ders)
    _atomic_write(path, pem.encode("ascii"))


def _atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` (:func:`native_host.atomicfile.atomic_write`), with ``mode`` or else
    the mode ``path`` has now."""
    atomic_write(path, data, mode)


def _disable_line(conf: Path, line: str) -> bool:
    """Turn the line ``line`` of ``conf`` into ``!line`` (what :func:`.remove.sed_disable` shows); False
    when no such line (already disabled or absent)."""
    text = conf.read_text("utf-8")
    lines = text.splitlines(keepends=True)
    changed = False
    for i, raw in enumerate(lines):
        if raw.rstrip("\r\n") == line:
            lines[i] = "!" + raw
            changed = True
    if not changed and f"!{line}" not in {raw.rstrip("\r\n") for raw in lines}:
        lines.append(("" if not lines or lines[-1].endswith("\n") else "\n") + f"!{line}\n")
        changed = True
    if changed:
        _atomic_write(conf, "".join(lines).encode("utf-8"))
    return changed


def _do(finding: Finding, step: Step, runner: Runner) -> Outcome:
    try:
        if step.action == "nss-delete":
            res = runner(step.commands[0])
            ok = res.returncode == 0
            return Outcome(finding, step, ok, "deleted" if ok else f"certutil failed: {res.message}")
        if step.action == "delete-file":
            Path(step.data["path"]).unlink(missing_ok=True)
            return Outcome(finding, step, True, "file deleted")
        if step.action == "rewrite-file":
            _rewrite_without(Path(step.data["path"]), finding.facts.cert_sha256)
            return Outcome(finding, step, True, "file rewritten without it")
        if step.action == "conf-disable":
            _disable_line(Path(step.data["conf"]), step.data["line"])
            return Outcome(finding, step, True, f"!{escape(step.data['line'])} in {escape(step.data['conf'])}")
        if step.action == "regenerate":
            return Outcome(finding, step, True, "the rebuild drops it")
        if step.action == "run":
            res = runner(step.data["argv"])
            parse = parse_certutil_delstore if step.store == "windows" else parse_security
            ok, msg = parse(res)
            return Outcome(finding, step, ok, msg or ("deleted" if ok else "failed"))
    except FixError as exc:  # the tool is missing or hung: this step failed, the others still run
        return Outcome(finding, step, False, str(exc))
    except (OSError, BadDER) as exc:
        return Outcome(finding, step, False, escape(str(getattr(exc, "strerror", None) or exc)))
    return Outcome(finding, step, False, "manual: " + step.text)


def fix_event(action: str, *, store: str, location: str, label: str | None, cert_sha256: str | None,
              ok: bool, message: str, backup: str, status: str | None = None) -> dict[str, Any]:
    """The ECS audit document of one removal (``action`` ``trusted-root-removed``) or restore
    (``trusted-root-restored``): ``event.category`` ``["configuration"]``, ``type`` ``["deletion"]`` or
    ``["creation"]``, ``outcome`` ``success``/``failure``, dataset ``rootsentinel.fix``, and
    ``rootsentinel.fix`` {store, location, label, status, cert_sha256, backup}."""
    import socket
    import time

    from native_host import __version__
    from native_host.enterprise.audit import _user_name
    from native_host.enterprise.ecs import ECS_VERSION, _drop_none, _iso, event_id

    kind = "deletion" if action == "trusted-root-removed" else "creation"
    return _drop_none({
        "@timestamp": _iso(time.time()), "message": f"{action} {store} {location}: {message}"[:1024],
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "category": ["configuration"], "type": [kind], "action": action,
                  "outcome": "success" if ok else "failure", "dataset": "rootsentinel.fix",
                  "module": "rootsentinel", "id": event_id()},
        "log": {"level": "notice" if ok else "warning"},
        "observer": {"product": "RootSentinel", "vendor": "RootSentinel", "version": __version__},
        "host": {"hostname": socket.gethostname()}, "user": {"name": _user_name()}, "process": {"pid": os.getpid()},
        "related": {"hash": [cert_sha256] if cert_sha256 else None},
        "rootsentinel": {"fix": {"store": store, "location": location[:1024], "label": (label or "")[:1024] or None,
                                 "status": status, "cert_sha256": cert_sha256, "backup": backup}},
    })


def apply(chosen: list[tuple[Finding, Step]], ctx: ScanContext, backup_dir: Path, runner: Runner,
          audit: Any | None = None) -> tuple[list[Outcome], list[str], Path]:
    """Back up, then carry out every fixable step of ``chosen``, then rebuild each bundle once.

    Args:
        chosen: from :func:`targets`.
        ctx: the scan's context (``--root``).
        backup_dir: a new or empty folder.
        runner: runs every command (:class:`CommandRunner`, or recorded output in tests).
        audit: an :class:`native_host.enterprise.audit.AuditLog` (its ``record``), or None.

    Returns:
        ``(outcomes, notes, backup_dir)``: one outcome per fixable step; notes are one-line messages about
        rebuilds (run, failed, or to run by hand).

    Raises:
        FixError: the backup could not be made (nothing was changed).
    """
    _back_up(chosen, backup_dir, ctx)
    outcomes, notes = carry_out(chosen, ctx, backup_dir, runner, audit)
    return outcomes, notes, backup_dir


def back_up(chosen: list[tuple[Finding, Step]], backup_dir: Path, ctx: ScanContext) -> None:
    """Write the backup of everything the fixable steps of ``chosen`` change (first half of :func:`apply`).

    Raises:
        FixError: the folder is not new or empty, or a file cannot be copied (nothing was changed).
    """
    _back_up(chosen, backup_dir, ctx)


def carry_out(chosen: list[tuple[Finding, Step]], ctx: ScanContext, backup_dir: Path, runner: Runner,
              audit: Any | None = None) -> tuple[list[Outcome], list[str]]:
    """Carry out the fixable steps and the rebuilds (second half of :func:`apply`; call :func:`back_up`
    first). Never raises for a failed step: each is an :class:`Outcome` with ``ok`` False."""
    outcomes = []
    for finding, step in chosen:
        if not step.fixable:
            continue
        outcome = _do(finding, step, runner)
        outcomes.append(outcome)
        if audit is not None:
            audit.record(fix_event("trusted-root-removed", store=step.store, location=step.location,
                                   label=step.label, cert_sha256=finding.facts.cert_sha256, ok=outcome.ok,
                                   message=outcome.message, backup=str(backup_dir), status=step.status),
                         "banned" if step.status == "banned" else "interception")
    return outcomes, _regenerate(_families(chosen), ctx, runner)


def _regenerate(families: list[str], ctx: ScanContext, runner: Runner) -> list[str]:
    notes = []
    for family in families:
        argv = regenerate_argv(family, ctx)
        if not _runnable(argv):
            notes.append(f"run inside that system to rebuild its bundle: {command_line(argv)}")
            continue
        try:
            res = runner(argv)
        except FixError as exc:
            notes.append(f"rebuilding the bundle failed ({command_line(argv)}): {exc}")
            continue
        notes.append(f"rebuilt the bundle: {command_line(argv)}" if res.returncode == 0
                     else f"rebuilding the bundle failed ({command_line(argv)}): {res.message}")
    return notes


def remaining(before: list[tuple[Finding, Step]], rescan: ScanReport) -> list[tuple[str, str]]:
    """``(subject, location)`` of every targeted certificate the rescan still finds with a targeted status
    in any store (the proof ``--fix`` asks for: exit 0 only when this is empty)."""
    wanted = {f.facts.cert_sha256: {s.status for g, s in before if g is f} for f, _ in before}
    out = []
    for f in rescan.findings:
        statuses = wanted.get(f.facts.cert_sha256)
        if statuses:
            out.extend((f.facts.subject or f.facts.cert_sha256, p.installed.store.location)
                       for p in f.places if p.status in statuses)
    return out


# --- undo ---------------------------------------------------------------------------------------------

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
    recorded folder, a certificate file name (:data:`CERT_SUFFIXES`) and certificates inside; a bundle:
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
        db = Path(location[4:] if location.startswith("sql:") else location)
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
        if root is not None and location not in {str(real(a)) for a in ANCHOR_DIRS}:
            raise refuse(f"{escape(location)} is not an anchors folder of the tree")
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
