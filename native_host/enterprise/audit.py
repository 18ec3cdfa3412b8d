"""Audit events: every notice, interception and banned verdict, and every ``scan --fix`` change, as one
JSON line in Elastic Common Schema, written to a file and/or the system logger.

- :mod:`native_host.enterprise.ecs` builds the ECS document of a verdict;
- :mod:`native_host.enterprise.ratewindow` keeps one event per fact per window;
- :mod:`native_host.enterprise.sinks` writes the lines (file, syslog).

``unknown`` verdicts are not audited: they mean "no evidence" (plain HTTP, host unreachable, a failed
probe) and would flood the log with facts about the network, not about interception. ``ok`` is not
audited either.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from native_host.enterprise.ecs import ECS_VERSION, clean_url, ecs_event, origin_of
from native_host.enterprise.ecs import _json_line
from native_host.enterprise.ratewindow import DEFAULT_WINDOW_SECONDS, RateWindow, dedup_key
from native_host.enterprise.sinks import SYSLOG_ADDRESSES, AppendLog, _Rfc5424Formatter

if TYPE_CHECKING:
    from native_host.enterprise.config import SystemConfig

__all__ = ["AUDITED_LEVELS", "AuditLog", "ECS_VERSION", "DEFAULT_WINDOW_SECONDS", "clean_url", "dedup_key",
           "ecs_event", "origin_of"]

AUDITED_LEVELS = frozenset({"notice", "interception", "banned"})
"""Verdict levels that become audit events (see the module doc for why not ``unknown``)."""


class AuditLog:
    """The audit sink the host's :class:`~native_host.messaging.host.Service` calls with every verdict.

    Args:
        path: the JSON-lines file, or None for syslog only.
        syslog: also send each event to the local syslog socket.
        syslog_address: the socket path (default: the first of :data:`SYSLOG_ADDRESSES` that exists).
        window_seconds: de-duplication window (0: every verdict is written).
        clock: seconds since the epoch (tests pass a fake one).
        hostname, user: for ``host.hostname`` / ``user.name`` (default: this machine, this user).
        blocklist_version: for ``rootsentinel.blocklist_version``.

    Calling it is thread-safe (probes are judged on worker threads) and never raises.
    """

    def __init__(self, path: Path | None, *, syslog: bool = False, syslog_address: str | None = None,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS, clock: Callable[[], float] = time.time,
                 hostname: str | None = None, user: str | None = None,
                 blocklist_version: str | None = None) -> None:
        self.file = AppendLog(path) if path else None
        self._window = RateWindow(window_seconds)
        self.clock = clock
        self.hostname = hostname or socket.gethostname()
        self.user = user if user is not None else _user_name()
        self.blocklist_version = blocklist_version
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        self._syslog = self._open_syslog(syslog_address) if syslog else None

    @classmethod
    def from_config(cls, config: SystemConfig) -> AuditLog:
        """Build from the system config: ``audit_log``, ``syslog``, ``audit_window_seconds``."""
        from native_host.engine.blocklist import bundled

        settings = config.settings
        window = settings.get("audit_window_seconds", DEFAULT_WINDOW_SECONDS)
        if not math.isfinite(window):  # JSON NaN/Infinity pass the schema's bounds
            window = DEFAULT_WINDOW_SECONDS
        return cls(config.audit_log, syslog=bool(settings.get("syslog", False)), window_seconds=window,
                   blocklist_version=(config.blocklist or bundled()).version)

    def __call__(self, verdict: dict[str, Any]) -> dict[str, Any] | None:
        """Record ``verdict`` if its level is audited and it is not a repeat within the window.

        Returns:
            The event written, or None (not audited, a repeat, or writing failed: reported on stderr).
        """
        try:
            if verdict.get("level") not in AUDITED_LEVELS:
                return None
            now = self.clock()
            key = dedup_key(verdict)
            with self._lock:
                repeats = self._window.admit(key, now)
                if repeats is None:
                    return None
                event = ecs_event(verdict, timestamp=now, hostname=self.hostname, user=self.user,
                                  blocklist_version=self.blocklist_version, repeats=repeats)
                written = self._write(event, verdict["level"], now)
                if not written:
                    self._window.forget(key)  # not recorded: the next identical verdict tries again
            return event if written else None
        except Exception as exc:  # noqa: BLE001 - auditing must never break judging
            self._report(f"audit event failed: {type(exc).__name__}: {exc}")
            return None

    def record(self, event: dict[str, Any], level: str = "notice") -> bool:
        """Write one event that is not a verdict (``scan --fix`` removals and ``--undo`` restores, built
        by :func:`native_host.scan.fix.fix_event`), without de-duplication, to the same file and syslog.

        Args:
            event: an ECS document (JSON-serialisable dict).
            level: ``banned``, ``interception`` or ``notice``: the syslog severity, as for verdicts.

        Returns:
            True when it was written somewhere; never raises (a failure is reported once on stderr).
        """
        try:
            with self._lock:
                return self._write(event, level, self.clock())
        except Exception as exc:  # noqa: BLE001 - auditing must never break the command
            self._report(f"audit event failed: {type(exc).__name__}: {exc}")
            return False

    def _write(self, event: dict[str, Any], level: str, now: float) -> bool:
        """One event as one line to the file and to syslog (caller holds ``self._lock``); True if written."""
        line = _json_line(event)
        written = False
        if self.file is not None:
            try:
                self.file.append((line + "\n").encode("utf-8", "backslashreplace"))
                written = True
            except OSError as exc:
                self.file.close()
                self._report(f"audit log {self.file.path}: {exc.strerror or exc}; events are dropped until it can be written")
        if self._syslog is not None:
            self._send_syslog(line, level, now)
            written = True
        return written

    @property
    def window(self) -> float:
        """The de-duplication window in seconds."""
        return self._window.window

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self._syslog is not None:
            self._syslog.close()

    # --- internals ---

    def _report(self, message: str) -> None:
        if message not in self._reported and len(self._reported) < 100:
            self._reported.add(message)
            sys.stderr.write(f"rootsentinel: {message}\n")
            sys.stderr.flush()

    def _open_syslog(self, address: str | None):
        import logging
        import logging.handlers

        if address is None:
            address = next((a for a in SYSLOG_ADDRESSES if os.path.exists(a)), None)
        if address is None:
            self._report("syslog requested but this system has no local syslog socket (/dev/log, /var/run/syslog)")
            return None
        try:
            handler = logging.handlers.SysLogHandler(address=address, facility=logging.handlers.SysLogHandler.LOG_USER)
        except OSError as exc:
            self._report(f"syslog socket {address}: {exc.strerror or exc}")
            return None
        handler.append_nul = False  # RFC 5424 framing has no trailing NUL
        handler.handleError = lambda record: self._report(  # type: ignore[method-assign]
            f"syslog socket {address}: {sys.exc_info()[1]}")
        handler.setFormatter(_Rfc5424Formatter(self.hostname))
        return handler

    def _send_syslog(self, line: str, level: str, now: float) -> None:
        import logging

        lvl = {"banned": logging.CRITICAL, "interception": logging.WARNING}.get(level, logging.INFO)
        text = line.encode("utf-8", "backslashreplace").decode("utf-8")  # see _json_line
        record = logging.LogRecord("rootsentinel.audit", lvl, __file__, 0, text, None, None)
        record.created = now
        self._syslog.emit(record)


def _user_name() -> str | None:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not an error (containers, services)
        return None
