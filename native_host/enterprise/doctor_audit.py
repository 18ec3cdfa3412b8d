"""``doctor``'s audit lines: whether audit events can reach each configured destination, and how many
were dropped lately (the user's drop log, :mod:`native_host.enterprise.state`).

:func:`audit_checks` returns :class:`native_host.install.doctor.Check` lines (label ``audit``): ✓ a
destination that takes events, ✗ one that cannot (a refused file, no syslog socket, a collector that does
not answer or whose certificate does not verify) and ✗ when events were dropped in the last
:data:`DROP_WINDOW_DAYS` days, with the count per destination and the last reason. Nothing when auditing
is off and nothing was dropped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

DROP_WINDOW_DAYS = 7
_LABEL = "audit"


def audit_checks(config: Any = None, state: Path | None = None, *, now: float | None = None,
                 timeout: float = 3.0) -> list:
    """The audit lines for ``config`` (default: the loaded system config) and the drop log in ``state``
    (default: this user's state folder). Never raises."""
    from native_host.enterprise.config import load_system_config
    from native_host.enterprise.state import drop_summary, state_dir
    from native_host.install.doctor import Check

    config = config or load_system_config()
    settings = config.settings
    state = state or state_dir()
    checks = []
    if config.audit:
        if settings.get("audit_file", True):
            checks.append(_file_check(config.audit_log))
        if settings.get("syslog"):
            checks.append(_syslog_check())
        remote = settings.get("syslog_remote")
        if remote:
            checks.append(_remote_check(remote, timeout))
    since = (time.time() if now is None else now) - DROP_WINDOW_DAYS * 86400
    summary = drop_summary(state, since=since)
    if summary["dropped"]:
        where = ", ".join(f"{n} to {dest}" for dest, n in sorted(summary["by_destination"].items()))
        checks.append(Check(False, _LABEL, f"{summary['dropped']} audit event(s) dropped in the last {DROP_WINDOW_DAYS} "
                                           f"days ({where}); last: {summary['last_reason']}",
                            "fix the destination named (docs/enterprise.md, section 7); the drop log is "
                            f"{state / 'audit-drops.jsonl'}"))
    elif config.audit:
        checks.append(Check(True, _LABEL, f"no audit event dropped in the last {DROP_WINDOW_DAYS} days"))
    return checks


def _file_check(path: Path):
    from native_host.enterprise.sinks import file_refusal
    from native_host.install.doctor import Check

    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return Check(True, _LABEL, f"audit file {path} will be created (mode 0600) at the first event")
    except OSError as exc:
        return Check(False, _LABEL, f"audit file {path}: {exc.strerror}", "check the folder's permissions")
    why = file_refusal(st)
    if why:
        return Check(False, _LABEL, f"audit file {path} is refused: {why}",
                     f"give each user their own file (the default), or chown it to the user and chmod 600 '{path}'")
    return Check(True, _LABEL, f"audit file {path} is this user's own ({st.st_mode & 0o777:04o})")


def _syslog_check():
    import socket

    from native_host.enterprise.sinks import local_syslog_address
    from native_host.install.doctor import Check

    address = local_syslog_address()
    if address is None or not hasattr(socket, "AF_UNIX"):
        return Check(False, _LABEL, '"syslog": true but this system has no local syslog socket (/dev/log, /var/run/syslog)',
                     "install and start a system logger (rsyslog, systemd-journald), or use syslog_remote")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.connect(address)
    except OSError as exc:
        return Check(False, _LABEL, f"syslog socket {address}: {exc.strerror}", "start the system logger")
    finally:
        sock.close()
    return Check(True, _LABEL, f"the system logger listens on {address}")


def _remote_check(remote: dict[str, Any], timeout: float):
    from native_host.enterprise.sinks import RemoteSyslogSink, Undelivered
    from native_host.install.doctor import Check

    transport = remote.get("transport", "tls")
    port = int(remote.get("port") or (6514 if transport == "tls" else 514))
    sink = RemoteSyslogSink(remote["host"], port, transport, ca_file=remote.get("ca_file"),
                            cert_file=remote.get("cert_file"), key_file=remote.get("key_file"),
                            server_name=remote.get("server_name"), timeout=timeout)
    try:
        sink._connect()
    except Undelivered as exc:
        return Check(False, _LABEL, f"collector {transport}://{remote['host']}:{port} not reachable: {exc}",
                     "check syslog_remote (host, port, ca_file) and the collector")
    finally:
        sink.close()
    verified = " (certificate verified)" if transport == "tls" else ""
    return Check(True, _LABEL, f"collector {transport}://{remote['host']}:{port} accepts connections{verified}")
