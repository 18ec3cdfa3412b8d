"""The ``heartbeat`` verb: ``rootsentinel heartbeat [--all-users] [--scan] [--send]``.

Prints one ECS inventory event (:mod:`native_host.enterprise.heartbeat`) as one JSON line; with
``--send`` also delivers it to the audit destinations of the system config (syslog, remote collector,
file; :class:`native_host.enterprise.audit.AuditLog`), whether or not ``audit`` is on. Exit 0 when it was
printed (and, with ``--send``, taken by every destination), 3 otherwise.
"""

from __future__ import annotations

import argparse
import sys


def cmd_heartbeat(args: argparse.Namespace) -> int:
    """Build, print and (``--send``) deliver the heartbeat; returns the exit code."""
    import time

    from native_host.enterprise import heartbeat
    from native_host.enterprise.audit import AuditLog
    from native_host.enterprise.config import load_system_config
    from native_host.enterprise.state import state_dir
    from native_host.textsafe import dumps_json

    config = load_system_config()
    scan = None
    if args.scan:
        from native_host.scan import scan_with
        from native_host.scan.readers import context

        ctx, readers = context(all_users=args.all_users)
        scan = scan_with(ctx, readers, blocklist=config.blocklist, policy=config.policy).to_json()
    now = time.time()
    own = state_dir()
    inv = heartbeat.inventory(all_users=args.all_users, scan=scan, config=config, now=now, own_state=own)
    audit = AuditLog.from_config(config) if args.send else AuditLog(None, sinks=[], config_path=config.path)
    event = audit.enrich(heartbeat.heartbeat_event(inv, timestamp=now))
    sys.stdout.write(dumps_json(event) + "\n")
    sys.stdout.flush()
    ok = True
    if args.send:
        ok = audit.record(event, "warning" if event["log"]["level"] == "warning" else "info", "heartbeat",
                          enriched=True)
        ok = audit.flush(30) and ok and audit.dropped == 0
        audit.close()
    try:
        heartbeat.remember_run(own, now)
    except OSError as exc:
        print(f"rootsentinel: cannot record the heartbeat time in {own}: {exc.strerror}", file=sys.stderr)
    if not ok:
        print("rootsentinel: the heartbeat was not delivered to every audit destination (see above)", file=sys.stderr)
    return 0 if ok else 3


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``heartbeat`` on the ``rootsentinel`` subparsers."""
    p = sub.add_parser(
        "heartbeat", help="print (and --send) one inventory event: versions, browsers seen, scan, dropped events",
        description="Print one ECS inventory event for this install: host, blocklist and extension versions, the "
                    "browsers and profiles that started the host, a trust-store scan summary (--scan), and the audit "
                    "events dropped since the previous heartbeat. Exit 0 delivered, 3 not.")
    p.add_argument("--all-users", action="store_true", help="read every user's state folder (run as root)")
    p.add_argument("--scan", action="store_true", help="run a trust-store scan and include its summary")
    p.add_argument("--send", action="store_true",
                   help="also deliver it to the audit destinations of the system config (syslog, remote, file)")
    p.set_defaults(func=cmd_heartbeat)
