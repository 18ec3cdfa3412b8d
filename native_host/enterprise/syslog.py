"""Syslog message formats for audit events: what the local socket expects, and what a remote collector
expects.

- The local socket (``/dev/log`` on Linux, ``/var/run/syslog`` on macOS) gets the BSD form that glibc's
  ``syslog(3)`` writes and that rsyslog's ``imuxsock`` and systemd-journald parse
  (RFC 3164 section 4.1 as glibc shapes it, without a HOSTNAME: the daemon adds its own):
  ``<PRI>Mmm dd hh:mm:ss rootsentinel[PID]: MSG``, local time, the day space-padded. rsyslog then
  reports ``%programname%`` = ``rootsentinel`` and ``%syslogtag%`` = ``rootsentinel[PID]:``. An RFC 5424
  line sent there is mis-parsed by Debian's default ``imuxsock`` (program name ``1``).
- A remote collector gets RFC 5424 (section 6):
  ``<PRI>1 TIMESTAMP HOSTNAME rootsentinel PROCID MSGID - MSG`` with a UTC timestamp in milliseconds and
  no structured data, over TCP with octet-counting framing (RFC 6587 section 3.4.1: ``LEN SP MSG``, so a
  message may hold any byte and needs no trailer) or over TLS (RFC 5425 section 4.3, the same framing).

MSG is the event's JSON, one line, UTF-8 without a BOM (RFC 5424 ``MSG-ANY``: JSON parsers reject a BOM).
PRI is ``facility * 8 + severity`` (RFC 5424 section 6.2.1, tables 1 and 2).
"""

from __future__ import annotations

import datetime as _dt
import time

FACILITIES = {"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
              "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
              **{f"local{n}": 16 + n for n in range(8)}}
"""RFC 5424 table 1 facility codes by their usual names (``syslog.h``); the config's ``syslog_facility``."""

SEVERITIES = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}
"""RFC 5424 table 2 severity codes."""

LEVEL_SEVERITY = {"banned": "crit", "interception": "warning", "notice": "notice", "info": "info",
                  "critical": "crit", "warning": "warning", "error": "err"}
"""Syslog severity by the event's ``log.level`` (``critical``, ``warning``, ``notice``, ``info``), or by
a verdict level where an event has none."""

TAG = "rootsentinel"
"""The syslog tag / RFC 5424 APP-NAME: what ``%programname%`` reports and what collectors filter on."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def pri(facility: str, level: str) -> int:
    """``facility * 8 + severity`` for a facility name of :data:`FACILITIES` and a level of
    :data:`LEVEL_SEVERITY` (unknown levels are ``info``).

    Raises:
        KeyError: an unknown facility name.
    """
    return FACILITIES[facility] * 8 + SEVERITIES[LEVEL_SEVERITY.get(level, "info")]


def bsd_line(msg: str, *, facility: str, level: str, pid: int, when: float | None = None) -> bytes:
    """The local-socket form: ``<PRI>Mmm dd hh:mm:ss rootsentinel[PID]: MSG`` (local time), UTF-8.

    Args:
        msg: the event's JSON (one line).
        facility, level: see :func:`pri`.
        pid: this process id (rsyslog may replace it with the sender's real pid, ``SysSock.UsePIDFromSystem``).
        when: seconds since the epoch (default now).
    """
    t = time.localtime(time.time() if when is None else when)
    stamp = f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"<{pri(facility, level)}>{stamp} {TAG}[{pid}]: {msg}".encode("utf-8", "backslashreplace")


def _printable_ascii(text: str, limit: int) -> str:
    """RFC 5424 header fields are PRINTUSASCII (33-126), at most ``limit`` characters; ``-`` when empty."""
    return "".join(c for c in text if 33 <= ord(c) <= 126)[:limit] or "-"


def rfc5424_line(msg: str, *, facility: str, level: str, hostname: str, pid: int, msgid: str,
                 when: float | None = None) -> bytes:
    """``<PRI>1 TIMESTAMP HOSTNAME rootsentinel PROCID MSGID - MSG`` (RFC 5424 section 6), UTF-8.

    Args:
        msg: the event's JSON (one line).
        hostname: HOSTNAME (printable ASCII, at most 255 characters; RFC 5424 section 6.2.4).
        msgid: MSGID, e.g. ``verdict``, ``fix``, ``scan``, ``heartbeat`` (at most 32 characters).
        when: seconds since the epoch (default now), written in UTC with milliseconds.
    """
    stamp = _dt.datetime.fromtimestamp(time.time() if when is None else when, _dt.timezone.utc)
    ts = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    head = (f"<{pri(facility, level)}>1 {ts} {_printable_ascii(hostname, 255)} {TAG} {pid} "
            f"{_printable_ascii(msgid, 32)} -")
    return f"{head} {msg}".encode("utf-8", "backslashreplace")


def octet_counted(message: bytes) -> bytes:
    """RFC 6587 section 3.4.1 octet-counting frame: ``MSG-LEN SP SYSLOG-MSG`` (MSG-LEN in bytes)."""
    return b"%d %s" % (len(message), message)
