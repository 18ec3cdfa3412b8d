"""The ``scan`` verb: ``rootsentinel scan [--json] [--all] [--root DIR] [--home DIR]... [--all-users]``, or
``rootsentinel scan --nss-db DIR... --anchors DIR...`` for only the stores named.

Exit codes as ``check``: 2 a banned root is installed, 1 a non-public (or allow-listed) root is trusted,
0 none, 3 an error, or nothing found while some store could not be read. This module is the only part of
:mod:`native_host.scan` that prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from native_host.errors import BadInput

if TYPE_CHECKING:
    from native_host.scan.report import ScanReport


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _where(location: str, root: Path | None) -> str:
    """A store's location as the reader of the report can open it: under ``--root`` with the prefix
    (``sql:/mnt/disk/home/ana/.pki/nssdb``), since the same path without it names this machine's store."""
    if root is None or not location.startswith(("/", "sql:/", "dbm:/")):
        return location
    scheme = location[:4] if location.startswith(("sql:", "dbm:")) else ""
    return f"{scheme}{str(root).rstrip('/')}{location[len(scheme):]}"


def _text(report: ScanReport, include_ok: bool, root: Path | None = None) -> str:
    from native_host.cli import safe_text

    lines = []
    for f in report.findings:
        if f.level == "ok" and not include_ok:
            continue
        head = f"{f.status.upper()}: {safe_text(f.facts.subject) or '(no subject)'}"
        if f.matched:
            entry = f.matched["entry"]
            head += f"  [{safe_text(entry.get('name'))}; {entry.get('category')}; matched by {f.matched['by']}]"
        elif f.reason == "kz_issuer":
            head += "  [names C=KZ: likely government interception]"
        if f.interceptor:
            who = f.interceptor
            how = "key" if who["by"] == "spki_sha256" else "name"
            head += (f"  [looks like {safe_text(who['product'])} ({safe_text(who['vendor'])}), {who['kind']}, "
                     f"by its {how}]")
        lines.append(head)
        lines.append(f"    cert_sha256 {f.facts.cert_sha256}  spki_sha256 {f.facts.spki_sha256}")
        if f.facts.not_after:
            lines.append(f"    valid {f.facts.not_before} .. {f.facts.not_after}")
        for p in f.places:
            extra = f", trust {p.installed.trust}" if p.installed.trust is not None else ""
            label = f" ({safe_text(p.installed.label)}{extra})" if p.installed.label else ""
            lines.append(f"    found in {p.installed.store.kind} {safe_text(_where(p.installed.store.location, root))}"
                         f"{label}: {p.status}")
        for step in f.remove:
            lines.append(f"    to remove from {step.store} {safe_text(step.location)}: {step.text}")
    c = report.counts()
    lines.append(f"scanned {_plural(c['stores'], 'store')}, {_plural(c['certificates'], 'distinct certificate')}: "
                 f"{c['banned']} banned, "
                 f"{c['non_public']} non-public, {c['allowlisted']} allow-listed, {c['distrusted']} distrusted, "
                 f"{c['public']} public, {c['vendor']} vendor, {c['intermediate']} not anchors")
    for r in report.stores:
        state = f"error: {safe_text(r.error)}" if r.error else f"{r.certificates} certificate{'' if r.certificates == 1 else 's'}"
        lines.append(f"  {r.store.kind:<15} {safe_text(_where(r.store.location, root))}  ({r.store.owner}; {state})")
    for problem in report.problems:
        lines.append(f"  skipped: {safe_text(problem)}")
    return "\n".join(lines)


def _check_homes(homes: list[str], root: Path | None) -> None:
    """Refuse a ``--home`` that is not a folder (inside the ``--root`` tree when one is given).

    Raises:
        BadInput: naming the folder looked for.
    """
    from native_host.cli import safe_text

    for home in homes:
        if root is not None:
            if not home.startswith("/"):
                raise BadInput(f"--home {safe_text(home)}: with --root give the home as the scanned system names it "
                               f"(/home/NAME)")
            real = root / home.lstrip("/")
            if not real.is_dir():
                raise BadInput(f"--home {safe_text(home)}: no such folder inside --root {safe_text(str(root))} "
                               f"(looked for {safe_text(str(real))}); with --root, --home is a path in the scanned tree")
        elif not Path(home).is_dir():
            raise BadInput(f"--home {safe_text(home)}: not a folder")


class _GivenStores:
    """A reader (the interface of :mod:`native_host.scan.model`) for the stores named with ``--nss-db`` and
    ``--anchors``: it discovers exactly those and reads each with the NSS or the folder reader."""

    def __init__(self, stores):
        self.stores = stores

    def discover(self, ctx):
        return list(self.stores)

    def read(self, store, ctx):
        from native_host.scan import _files, _nss

        return (_nss if store.kind == "nss" else _files).read(store, ctx)


def _given_stores(nss_dbs: list[str], anchors: list[str]) -> tuple:
    """The readers for ``--nss-db`` / ``--anchors`` (empty when neither is given).

    Raises:
        BadInput: an NSS folder without ``cert9.db``, or an anchors path that is not a folder.
    """
    from native_host.cli import safe_text
    from native_host.scan.model import Store

    stores = []
    for db in nss_dbs:
        folder = Path(db[4:] if db.startswith("sql:") else db)
        if not (folder / "cert9.db").is_file():
            raise BadInput(f"--nss-db {safe_text(db)}: no cert9.db in that folder (an NSS database folder, such as "
                           f"a Firefox profile or ~/.pki/nssdb)")
        stores.append(Store("nss", f"sql:{folder.absolute()}", folder, owner="given"))
    for name in anchors:
        folder = Path(name)
        if not folder.is_dir():
            raise BadInput(f"--anchors {safe_text(name)}: not a folder")
        stores.append(Store("linux-anchors", str(folder.absolute()), folder, anchors=True, owner="given"))
    return (_GivenStores(stores),) if stores else ()


def cmd_scan(args: argparse.Namespace) -> int:
    """Run the scan, print the report (text or ``--json``), return the exit code; with ``--fix`` remove
    what it found (:func:`_fix`), with ``--undo`` restore a backup (:func:`_undo`).

    Raises:
        BadInput: a bad option or combination (one line, exit 3).
    """
    from native_host.enterprise.config import load_system_config
    from native_host.scan import scan_with
    from native_host.scan.readers import context

    _check_fix_options(args)
    if args.undo:
        config = load_system_config()
        if config.error:
            print(f"rootsentinel: {config.error} (defaults in force)", file=sys.stderr)
        return _undo(args, config)
    root = None
    if args.root:
        root = Path(args.root)
        if not root.is_dir():
            raise BadInput(f"--root {args.root}: not a folder")
    _check_homes(args.home or [], root)
    given = _given_stores(args.nss_db or [], args.anchors or [])
    if given and (args.root or args.home or args.all_users):
        raise BadInput("--nss-db and --anchors scan only the stores given; drop --root, --home and --all-users")
    config = load_system_config()
    if config.error:
        print(f"rootsentinel: {config.error} (defaults in force)", file=sys.stderr)
    if given:
        ctx, _ = context()
        readers = given
    else:
        ctx, readers = context(root=root, homes=args.home, all_users=args.all_users)
    report = scan_with(ctx, readers, blocklist=config.blocklist, policy=config.policy)
    if args.fix:
        return _fix(args, report, ctx, readers, config)
    if args.json:
        from native_host.textsafe import dumps_json  # certificate names and labels are attacker text

        sys.stdout.write(dumps_json(report.to_json(include_ok=args.all), indent=1) + "\n")
    else:
        sys.stdout.write(_text(report, args.all, root) + "\n")
    for error in report.errors:
        print(f"rootsentinel: cannot read {error}", file=sys.stderr)
    return report.exit_code


def _check_fix_options(args: argparse.Namespace) -> None:
    """Refuse option combinations ``--fix`` / ``--undo`` do not take.

    Raises:
        BadInput: naming the options.
    """
    fix_only = [name for name, on in (("--yes", args.yes), ("--dry-run", args.dry_run),
                                      ("--include-interception", args.include_interception),
                                      ("--backup", args.backup is not None)) if on]
    if args.undo and (args.fix or fix_only or args.root or args.home or args.all_users or args.nss_db or args.anchors):
        raise BadInput("--undo BACKUP takes no other option: the backup's manifest says what to restore")
    if args.undo and args.json:
        raise BadInput("--undo prints text: drop --json")
    if fix_only and not args.fix:
        raise BadInput(f"{fix_only[0]} goes with --fix")
    if args.fix and args.json:
        raise BadInput("--fix prints text: run scan --json first to see the plan as JSON, then --fix")


def _audit(config):
    if not config.audit:
        return None
    from native_host.enterprise.audit import AuditLog

    return AuditLog.from_config(config)


def _runner():
    """The one command runner for ``--fix`` and ``--undo``: every tool they run goes through it (tests pass
    a runner answering from recorded output to :func:`native_host.scan.fix.apply` / ``undo`` instead)."""
    from native_host.scan.fix import CommandRunner

    return CommandRunner()


def _fix(args: argparse.Namespace, report, ctx, readers, config) -> int:
    """``scan --fix``: plan, ask (or ``--yes``), back up, remove, rebuild, rescan; 0 when every targeted root
    is gone, 2 when any remains.

    Raises:
        BadInput: no TTY to ask on and no ``--yes``.
        FixError: the backup could not be made (nothing changed).
    """
    from native_host.cli import safe_text
    from native_host.scan import fix, scan_with

    chosen = fix.targets(report, args.include_interception)
    out = sys.stdout
    kept = 0 if args.include_interception else fix.kept_interception(report)
    keep_note = (f"kept {kept} non-public root place(s) (antivirus, corporate, dev tool): add "
                 f"--include-interception to remove them too") if kept else ""
    for error in report.errors:
        print(f"rootsentinel: cannot read {error}", file=sys.stderr)
    if not chosen:
        out.write("nothing to remove: no banned root found" + (f"; {keep_note}" if keep_note else "") + "\n")
        return 0 if not report.errors else 3
    fixable = [c for c in chosen if c[1].fixable]
    roots = len({f.facts.cert_sha256 for f, _ in chosen})
    out.write(f"scan --fix plan ({len(chosen)} step(s), {len(fixable)} automatic):\n")
    out.write("\n".join(fix.plan_lines(chosen, ctx)) + "\n")
    if keep_note:
        out.write(keep_note + "\n")
    if args.dry_run:
        out.write("dry run: nothing changed\n")
        return report.exit_code
    if not args.yes:
        if not sys.stdin.isatty():
            raise BadInput("scan --fix: no terminal to ask on; add --yes to remove without asking (or --dry-run)")
        out.write(f"Remove {roots} root{'s' if roots != 1 else ''}? [y/N] ")
        out.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            out.write("nothing changed\n")
            return report.exit_code
    backup_dir = Path(args.backup) if args.backup else fix.default_backup_dir()
    which = "given with --backup" if args.backup else "new folder under your state dir"
    fix.back_up(chosen, backup_dir, ctx)
    out.write(f"backup: {safe_text(str(backup_dir))} ({which}); undo with: rootsentinel scan --undo "
              f"{safe_text(str(backup_dir))}\n")
    out.flush()
    outcomes, notes = fix.carry_out(chosen, ctx, backup_dir, _runner(), _audit(config))
    for o in outcomes:
        state = "removed" if o.ok else "FAILED"
        out.write(f"  {state}: {safe_text(o.finding.facts.subject)} from {o.step.store} "
                  f"{safe_text(o.step.location)}: {safe_text(o.message)}\n")
    for note in notes:
        out.write(f"  {safe_text(note)}\n")
    rescan = scan_with(ctx, readers, blocklist=config.blocklist, policy=config.policy)
    left = fix.remaining(chosen, rescan)
    if left:
        for subject, where in left:
            out.write(f"  still there: {safe_text(subject)} in {safe_text(where)}\n")
        out.write(f"rescan: {len(left)} targeted place(s) remain\n")
        return 2
    out.write(f"rescan: all {roots} targeted root{'s' if roots != 1 else ''} gone\n")
    return 0


def _undo(args: argparse.Namespace, config) -> int:
    """``scan --undo BACKUP``: restore it; 0 when everything was restored, 2 when a tool failed.

    Raises:
        FixError: the manifest or a backup file is refused (nothing changed).
    """
    from native_host.cli import safe_text
    from native_host.scan.undo import undo

    folder = Path(args.undo)
    lines, ok = undo(folder, _runner(), _audit(config))
    for line in lines:
        sys.stdout.write(f"  {line}\n")
    sys.stdout.write(f"undo {safe_text(str(folder))}: {len(lines)} step(s), {'done' if ok else 'with failures'}\n")
    return 0 if ok else 2


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``scan`` on the ``rootsentinel`` subparsers."""
    p = sub.add_parser(
        "scan", help="find banned and non-public roots in the OS and browser trust stores",
        description="Find banned and non-public roots installed in the OS and browser trust stores and say "
                    "where each was found. Exit codes: 2 banned, 1 non-public, 0 none, 3 error.")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--all", action="store_true", help="list every certificate found, public ones too")
    p.add_argument("--root", metavar="DIR", help="scan the Linux tree under DIR (a mounted disk, a test tree); "
                                                 "implies --all-users")
    p.add_argument("--home", metavar="DIR", action="append",
                   help="a home folder to scan for Firefox profiles, ~/.pki/nssdb, login keychains (repeatable; "
                        "default: yours)")
    p.add_argument("--all-users", action="store_true", help="scan every home folder (run as root/Administrator)")
    p.add_argument("--nss-db", metavar="DIR", action="append",
                   help="scan only this NSS database folder (holding cert9.db: a Firefox profile, ~/.pki/nssdb); "
                        "repeatable, combines with --anchors")
    p.add_argument("--anchors", metavar="DIR", action="append",
                   help="scan only this folder of trusted root files (PEM or DER, every file under it counts as "
                        "an anchor); repeatable, combines with --nss-db")
    p.add_argument("--fix", action="store_true",
                   help="remove the banned roots found from the stores this OS lets it change (NSS databases, "
                        "Linux anchors and ca-certificates.conf, Windows stores, keychains), after a backup; "
                        "shows the plan and asks unless --yes. Exit 0 all gone (rescanned), 2 some remain")
    p.add_argument("--yes", action="store_true", help="with --fix: remove without asking (needed without a terminal)")
    p.add_argument("--dry-run", action="store_true", help="with --fix: print the plan and commands, change nothing")
    p.add_argument("--include-interception", action="store_true",
                   help="with --fix: also remove non-public roots that are not banned (antivirus, corporate "
                        "proxy, dev tool); allow-listed roots are never removed")
    p.add_argument("--backup", metavar="DIR",
                   help="with --fix: keep the backup in DIR (new or empty; default a new UTC-stamped folder under "
                        "$XDG_STATE_HOME/rootsentinel/backups)")
    p.add_argument("--undo", metavar="BACKUP", help="restore what a --fix removed, from its backup folder")
    p.set_defaults(func=cmd_scan)
