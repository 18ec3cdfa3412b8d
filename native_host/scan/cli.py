"""The ``scan`` verb: ``rootsentinel scan [--json] [--all] [--root DIR] [--home DIR]... [--all-users]``.

Exit codes as ``check``: 2 a banned root is installed, 1 a non-public (or allow-listed) root is trusted,
0 none, 3 an error, or nothing found while some store could not be read. This module is the only part of
:mod:`native_host.scan` that prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from native_host.errors import BadInput

if TYPE_CHECKING:
    from native_host.scan.report import ScanReport


def _text(report: ScanReport, include_ok: bool) -> str:
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
            lines.append(f"    found in {p.installed.store.kind} {safe_text(p.installed.store.location)}{label}: {p.status}")
    c = report.counts()
    lines.append(f"scanned {c['stores']} stores, {c['certificates']} distinct certificates: {c['banned']} banned, "
                 f"{c['non_public']} non-public, {c['allowlisted']} allow-listed, {c['distrusted']} distrusted, "
                 f"{c['public']} public, {c['vendor']} vendor, {c['intermediate']} not anchors")
    for r in report.stores:
        state = f"error: {safe_text(r.error)}" if r.error else f"{r.certificates} certificate{'' if r.certificates == 1 else 's'}"
        lines.append(f"  {r.store.kind:<15} {safe_text(r.store.location)}  ({r.store.owner}; {state})")
    for problem in report.problems:
        lines.append(f"  skipped: {safe_text(problem)}")
    return "\n".join(lines)


def cmd_scan(args: argparse.Namespace) -> int:
    """Run the scan, print the report (text or ``--json``), return the exit code."""
    from native_host.config import load_system_config
    from native_host.scan import scan

    root = None
    if args.root:
        root = Path(args.root)
        if not root.is_dir():
            raise BadInput(f"--root {args.root}: not a folder")
    config = load_system_config()
    if config.error:
        print(f"rootsentinel: {config.error} (defaults in force)", file=sys.stderr)
    report = scan(root=root, homes=args.home, all_users=args.all_users, blocklist=config.blocklist,
                  policy=config.policy)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(include_ok=args.all), ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(_text(report, args.all) + "\n")
    for error in report.errors:
        print(f"rootsentinel: cannot read {error}", file=sys.stderr)
    return report.exit_code


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
    p.set_defaults(func=cmd_scan)
