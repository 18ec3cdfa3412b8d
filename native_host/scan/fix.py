"""``rootsentinel scan --fix`` and ``scan --undo``: carry out the removal steps :mod:`.remove` plans, with a
backup first, and put everything back from that backup (issue 14, item 5).

:mod:`.remove` stays the planner (every :class:`~native_host.scan.remove.Step` says its ``action`` and the
``data`` it needs); this module is the executor:

==================  ===================================================================================
action              what ``--fix`` does (after the backup, :mod:`native_host.scan.backup`)
==================  ===================================================================================
``nss-delete``      ``certutil -D -d sql:DIR -n NICK``, run by :mod:`native_host.scan._nsstool` (a private
                    module configuration, as the database's owner); backup: ``cert9.db``, ``key4.db``
                    (``cert8.db``, ``key3.db`` for dbm)
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

``--undo`` is :mod:`native_host.scan.undo`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from native_host.atomicfile import atomic_write
from native_host.errors import BadDER
from native_host.scan._files import parse_cert_file
from native_host.scan.backup import (CERT_SUFFIXES, MANIFEST, NSS_FILES, FixError, _back_up,  # noqa: F401
                                    default_backup_dir)  # the names --fix's callers use
from native_host.scan.model import ScanContext, StoreUnreadable, run_captured
from native_host.scan.remove import Step, command_line, regenerate_argv
from native_host.textsafe import escape

if TYPE_CHECKING:
    from native_host.scan.findings import Finding
    from native_host.scan.report import ScanReport

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
            res = nss_delete(step)
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


def nss_delete(step: Step) -> Result:
    """``certutil -D -n NICK`` on the step's database through :func:`native_host.scan._nsstool.run_certutil`:
    never with the database's own module list, as its owner (so a user's ``pkcs11.txt`` runs nothing).

    Raises:
        FixError: refused (owner, mode, ``--root``), ``certutil`` missing or hung.
    """
    from native_host.scan._nsstool import run_certutil

    data = step.data
    try:
        proc = run_certutil(data["certutil"], data["scheme"], Path(data["db"]), ["-D", "-n", data["nickname"]],
                            rooted=data["rooted"], timeout=120.0)
    except StoreUnreadable as exc:
        raise FixError(str(exc)) from exc
    return Result(proc.returncode, proc.stdout, proc.stderr)


def fix_event(action: str, *, store: str, location: str, label: str | None, cert_sha256: str | None,
              ok: bool, message: str, backup: str, status: str | None = None) -> dict[str, Any]:
    """The ECS audit document of one removal (``action`` ``trusted-root-removed``) or restore
    (``trusted-root-restored``): ``event.category`` ``["configuration"]``, ``type`` ``["deletion"]`` or
    ``["creation"]``, ``outcome`` ``success``/``failure``, dataset ``rootsentinel.fix``, and
    ``rootsentinel.fix`` {store, location, label, status, cert_sha256, backup}."""
    import socket
    import time

    from native_host import __version__
    from native_host.enterprise.audit import ECS_VERSION, _drop_none, _iso, _user_name

    kind = "deletion" if action == "trusted-root-removed" else "creation"
    return _drop_none({
        "@timestamp": _iso(time.time()), "message": f"{action} {store} {location}: {message}"[:1024],
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "category": ["configuration"], "type": [kind], "action": action,
                  "outcome": "success" if ok else "failure", "dataset": "rootsentinel.fix",
                  "module": "rootsentinel", "id": os.urandom(16).hex()},
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
