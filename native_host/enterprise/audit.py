"""Audit events: every notice, interception and banned verdict as one JSON line in Elastic Common Schema.

Security teams collect these lines (Elastic Agent / Filebeat, Splunk, any syslog collector) to learn
which machines see intercepted or banned chains, with the evidence. Field names follow the ECS field
reference (https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html), written as nested JSON
objects the way ECS documents them (``{"event": {"kind": "alert"}}``, not ``{"event.kind": ...}``):

- base: ``@timestamp`` (ISO 8601 UTC, milliseconds), ``message`` (the verdict's explanation),
  ``ecs.version``;
- ``event.*`` (https://www.elastic.co/guide/en/ecs/current/ecs-event.html): ``kind`` = ``"alert"``,
  ``category`` = ``["network", "intrusion_detection"]`` and ``type`` = ``["info"]`` (allowed values and
  their pairing: https://www.elastic.co/guide/en/ecs/current/ecs-allowed-values-event-category.html;
  the host reports and does not block, hence ``info`` rather than ``denied``), ``action``, ``severity``
  (Elastic's risk-score bands: 21 low, 47 medium, 73 high, 99 critical), ``dataset`` =
  ``"rootsentinel.verdict"``, ``module``, ``id`` (random, for de-duplication downstream);
- ``log.level``; ``url.full`` (userinfo, query and fragment removed: they carry credentials and session
  tokens) and ``url.domain`` (https://www.elastic.co/guide/en/ecs/current/ecs-url.html);
- ``tls.server.x509.*`` of the *leaf* (``subject.distinguished_name``, ``issuer.distinguished_name``,
  ``not_before``, ``not_after``, ``serial_number`` in uppercase hex without colons) and
  ``tls.server.hash.sha256``, the SHA-256 of the leaf's DER in uppercase hex as ECS asks
  (https://www.elastic.co/guide/en/ecs/current/ecs-tls.html);
- ``related.hash`` (every certificate and key SHA-256 of the chain and the matched entry, for pivoting);
  ``server.domain`` / ``server.port`` for probes; ``observer.product`` / ``vendor`` / ``version``
  (https://www.elastic.co/guide/en/ecs/current/ecs-observer.html); ``host.hostname``; ``user.name``;
  ``process.pid`` (one host process per browser profile);
- ``rootsentinel.*`` (custom fields go in their own namespace, ECS "Custom fields"): ``level``,
  ``category``, ``reason``, ``evidence``, ``entry`` (matched blocklist entry name), ``matched_by``,
  ``anchor`` {``name``, ``spki_sha256``, ``cert_sha256``, ``public``, ``sent``}, ``chain_cert_sha256``
  (leaf first), ``from_cache``, ``blocklist_version``, ``repeats`` (identical verdicts suppressed by the
  de-duplication window before this one), and ``interceptor`` {``product``, ``vendor``, ``kind``,
  ``owner``, ``advice``, ``by``, ``catalogue_version``} when the catalogue knows the anchor (what its name or
  key claims, not proof; ``owner`` for a banned root: the government, vendor or CA that holds it);
- ``threat.software.name`` / ``threat.software.type`` for that product
  (https://www.elastic.co/guide/en/ecs/current/ecs-threat.html; type ``"Malware"`` for adware and a vendor's
  root with a leaked key, else ``"Tool"``, the two ECS values), so a SIEM can count interception by product.

``unknown`` verdicts are not audited: they mean "no evidence" (plain HTTP, host unreachable, a failed
probe) and would flood the log with facts about the network, not about interception. ``ok`` is not
audited either.

De-duplication: one event per (origin, leaf ``cert_sha256``, anchor key, level) per window (default
3,600 s; ``audit_window_seconds``); the next event after the window counts the repeats it stood for.
The window is per host process (one per browser profile): several profiles seeing the same page are
several facts.

Several host processes append to one file: each line is written with a single ``os.write`` on an
``O_APPEND`` descriptor while holding an advisory lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on
Windows, where the C runtime's append is a seek plus a write), so lines are never lost or interleaved.
A file renamed away by log rotation is noticed and reopened. The default file is per user
(:func:`native_host.enterprise.config.default_audit_log_path`); for one file per machine an administrator creates
it writable by every user and names it in ``audit_log``. Writing never raises into the host: a failure
is reported once on stderr and the verdict is still answered.

Syslog (``"syslog": true``): the same JSON as the message of an RFC 5424-shaped line
(``<PRI>1 TIMESTAMP HOSTNAME rootsentinel PID verdict - JSON``) sent with
:class:`logging.handlers.SysLogHandler` to ``/dev/log`` (Linux) or ``/var/run/syslog`` (macOS), facility
``user``; Windows has no local syslog socket and it is reported as unavailable.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from native_host import __version__

if TYPE_CHECKING:
    from native_host.enterprise.config import SystemConfig

ECS_VERSION = "8.11.0"
"""``ecs.version``: the ECS release whose field reference these events were written against."""

AUDITED_LEVELS = frozenset({"notice", "interception", "banned"})
"""Verdict levels that become audit events (see the module doc for why not ``unknown``)."""

DEFAULT_WINDOW_SECONDS = 3600.0
"""De-duplication window in seconds, unless the config sets ``audit_window_seconds``."""

SYSLOG_ADDRESSES = ("/dev/log", "/var/run/syslog")
"""Local syslog sockets tried in order (Linux, macOS)."""

_FIELD_CAP = 1024  # certificate text is attacker-controlled: keep every line small (one write, one datagram)
_MAX_KEYS = 50_000  # de-duplication memory bound per process

_ACTION = {"banned": "banned-root-detected", "interception": "tls-interception-detected",
           "notice": "allowlisted-inspection-seen"}
_LOG_LEVEL = {"banned": "critical", "interception": "warning", "notice": "notice"}


def _cap(text: Any) -> Any:
    if isinstance(text, str) and len(text) > _FIELD_CAP:
        return text[:_FIELD_CAP] + "\u2026"
    return text


def _severity(verdict: dict[str, Any]) -> int:
    """ECS ``event.severity`` on Elastic's risk-score bands: notice 21, interception 47 (73 for a
    ``C=KZ`` anchor: likely state interception), banned 73 (99 for state or malware roots)."""
    level = verdict["level"]
    if level == "banned":
        return 99 if verdict.get("category") in ("state-mitm", "malware-mitm") else 73
    if level == "interception":
        return 73 if verdict.get("reason") == "kz_issuer" else 47
    return 21


def clean_url(url: str | None) -> str | None:
    """``url`` without userinfo, query and fragment (``https://h:8443/p``); None when not a URL."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            return None
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return None
    return _cap(urlunsplit((parts.scheme.lower(), netloc, parts.path, "", "")))


def origin_of(verdict: dict[str, Any]) -> str:
    """The web origin a verdict is about, ``scheme://host[:port]`` lowercase (RFC 6454); for a probe
    without URL ``https://host:port``; else the host; ``"-"`` when nothing is known."""
    url = verdict.get("url")
    if url:
        try:
            parts = urlsplit(url)
            if parts.hostname:
                port = parts.port
                return f"{parts.scheme.lower()}://{parts.hostname}" + (f":{port}" if port else "")
        except ValueError:
            pass
    probe = verdict.get("probe") or {}
    if probe.get("host"):
        return f"https://{str(probe['host']).lower()}:{probe.get('port', 443)}"
    return str(verdict.get("host") or "-").lower()


def _anchor(verdict: dict[str, Any]) -> dict[str, Any]:
    """The trust anchor's identity: its row when it was sent, else the matched entry's hashes."""
    rows = verdict.get("chain") or []
    anchor = verdict.get("anchor") or {}
    out = {"name": _cap((verdict.get("names") or {}).get("root")), "spki_sha256": None, "cert_sha256": None,
           "public": anchor.get("public"), "sent": anchor.get("sent")}
    index = anchor.get("index")
    if anchor.get("sent") and isinstance(index, int) and 0 <= index < len(rows):
        out["spki_sha256"], out["cert_sha256"] = rows[index].get("spki_sha256"), rows[index].get("cert_sha256")
    elif verdict.get("matched"):
        entry = verdict["matched"]["entry"]
        out["spki_sha256"], out["cert_sha256"] = entry.get("spki_sha256"), entry.get("cert_sha256")
    return out


def dedup_key(verdict: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    """``(origin, leaf cert_sha256, anchor spki_sha256 or cert_sha256 or name, level)``."""
    rows = verdict.get("chain") or []
    leaf = rows[0].get("cert_sha256") if rows else None
    anchor = _anchor(verdict)
    return origin_of(verdict), leaf, anchor["spki_sha256"] or anchor["cert_sha256"] or anchor["name"], verdict["level"]


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _drop_none(obj: dict[str, Any]) -> dict[str, Any]:
    """ECS leaves absent fields out rather than null: drop None values and objects left empty, recursively."""
    out = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if not value:
                continue
        if value is None:
            continue
        out[key] = value
    return out


def ecs_event(verdict: dict[str, Any], *, timestamp: float, hostname: str, user: str | None = None,
              blocklist_version: str | None = None, repeats: int = 0) -> dict[str, Any]:
    """The ECS document for one verdict (nested objects; fields with no value are left out).

    Args:
        verdict: a verdict object (docs/protocol.md); not modified.
        timestamp: when it was judged, seconds since the epoch.
        hostname: ``host.hostname``.
        user: ``user.name`` of the browser's user, if known.
        blocklist_version: the blocklist that judged it.
        repeats: identical verdicts suppressed before this one (see :class:`AuditLog`).

    Returns:
        A JSON-serialisable dict; shape in the module doc.
    """
    rows = verdict.get("chain") or []
    leaf = rows[0] if rows else {}
    matched = verdict.get("matched") or {}
    probe = verdict.get("probe") or {}
    serial = leaf.get("serial")
    cert_hash = leaf.get("cert_sha256")
    url_full = clean_url(verdict.get("url"))
    domain = verdict.get("host") or (urlsplit(url_full).hostname if url_full else None)
    level = verdict["level"]
    who = verdict.get("interceptor") or {}
    doc = {
        "@timestamp": _iso(timestamp),
        "message": _cap(verdict.get("explanation")),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert", "category": ["network", "intrusion_detection"], "type": ["info"],
            "action": _ACTION.get(level, level), "severity": _severity(verdict),
            "dataset": "rootsentinel.verdict", "module": "rootsentinel", "id": os.urandom(16).hex(),
            "reason": verdict.get("reason"),
        },
        "log": {"level": _LOG_LEVEL.get(level, "info")},
        "url": {"full": url_full, "domain": _cap(domain)},
        "server": {"domain": _cap(probe.get("host")), "port": probe.get("port")} if probe else None,
        "tls": {"server": {
            "x509": {
                "subject": {"distinguished_name": _cap(leaf.get("subject"))},
                "issuer": {"distinguished_name": _cap(leaf.get("issuer"))},
                "not_before": leaf.get("not_before"), "not_after": leaf.get("not_after"),
                "serial_number": serial.upper() if isinstance(serial, str) else None,
            },
            "hash": {"sha256": cert_hash.upper() if isinstance(cert_hash, str) else None},
        }},
        "observer": {"product": "RootSentinel", "vendor": "RootSentinel", "version": __version__},
        "host": {"hostname": hostname},
        "user": {"name": user},
        "process": {"pid": os.getpid()},
        "related": {"hash": _related_hashes(rows, verdict)},
        "threat": {"software": {"name": _cap(who.get("product")),
                                "type": ("Malware" if who.get("kind") in ("adware", "vendor") else "Tool") if who else None}},
        "rootsentinel": {
            "level": level, "category": verdict.get("category"), "reason": verdict.get("reason"),
            "evidence": verdict.get("evidence"), "entry": _cap((matched.get("entry") or {}).get("name")),
            "matched_by": matched.get("by"), "anchor": _anchor(verdict),
            "chain_cert_sha256": [r.get("cert_sha256") for r in rows[:16]],
            "from_cache": verdict.get("from_cache"), "blocklist_version": blocklist_version,
            "repeats": repeats,
            "interceptor": {"product": _cap(who.get("product")), "vendor": _cap(who.get("vendor")),
                            "kind": who.get("kind"), "owner": _cap(who.get("owner")), "advice": who.get("advice"),
                            "by": who.get("by"), "catalogue_version": who.get("catalogue")},
        },
    }
    return _drop_none(doc)


def _json_line(event: dict[str, Any]) -> str:
    """One line of JSON, UTF-8 text kept readable (Cyrillic names stay Cyrillic).

    Written by :func:`native_host.textsafe.dumps_json`: every control, format, line or paragraph
    separator and bidi character (U+0085 and U+2028 included) and every lone surrogate is a JSON escape,
    so an event is exactly one line by any line-splitting rule and valid UTF-8.
    """
    from native_host.textsafe import dumps_json

    return dumps_json(event)


def _related_hashes(rows: list[dict[str, Any]], verdict: dict[str, Any]) -> list[str] | None:
    """ECS ``related.hash`` ("all the hashes seen on your event", for pivoting): every certificate's and
    key's SHA-256 in the chain, then the matched entry's, lowercase hex, without repeats."""
    seen: dict[str, None] = {}
    for row in rows[:16]:
        for key in ("cert_sha256", "spki_sha256"):
            if row.get(key):
                seen[row[key]] = None
    entry = (verdict.get("matched") or {}).get("entry") or {}
    for key in ("spki_sha256", "cert_sha256"):
        if entry.get(key):
            seen[entry[key]] = None
    return list(seen) or None


class AppendLog:
    """A log file that several processes append whole lines to.

    Each :meth:`append` takes the advisory lock, writes the line with one ``os.write`` on an ``O_APPEND``
    descriptor (looping only on a short write, still under the lock) and releases it. The descriptor is
    kept open; when the path no longer names the same file (rotated away or deleted) it is reopened.

    Args:
        path: the log file; missing parent folders are created (mode 0700), a new file gets mode 0600
            (it lists sites the user visited).

    Raises (from :meth:`append`):
        OSError: the file cannot be opened, locked or written.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None

    def _open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        st = os.fstat(fd)
        self._fd, self._ident = fd, (st.st_dev, st.st_ino)

    def _current(self) -> int:
        if self._fd is not None:
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == self._ident:
                    return self._fd
            except FileNotFoundError:
                pass
            self.close()
        self._open()
        assert self._fd is not None
        return self._fd

    def append(self, line: bytes) -> None:
        """Append one line (``line`` must end with ``\\n`` and hold no other newline)."""
        fd = self._current()
        _lock(fd)
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            _unlock(fd)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None


if os.name == "nt":
    import msvcrt

    _LOCK_OFFSET = 0x7FFFFFF0
    # msvcrt.locking locks bytes from the current position, and Windows byte-range locks are mandatory
    # (they also stop other processes *reading* the range): lock one byte past any realistic end of file,
    # which log shippers never read and which is legal to lock (LockFile: "beyond the current end-of-file
    # position is not an error"); below 2**31 for C runtimes with 32-bit _locking offsets.

    def _lock(fd: int) -> None:
        # LK_LOCK retries once a second for 10 s, then raises OSError (the event is dropped and reported):
        # a writer holds the lock for microseconds, so 10 s means a stuck process, not contention.
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


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
        self.window = float(window_seconds)
        self.clock = clock
        self.hostname = hostname or socket.gethostname()
        self.user = user if user is not None else _user_name()
        self.blocklist_version = blocklist_version
        self._seen: dict[tuple, list] = {}  # key -> [time logged, repeats suppressed since]
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
                seen = self._seen.get(key)
                if seen is not None and now - seen[0] < self.window:
                    seen[1] += 1
                    return None
                repeats = seen[1] if seen else 0
                self._remember(key, now)
                event = ecs_event(verdict, timestamp=now, hostname=self.hostname, user=self.user,
                                  blocklist_version=self.blocklist_version, repeats=repeats)
                written = self._write(event, verdict["level"], now)
                if not written:
                    self._seen.pop(key, None)  # not recorded: the next identical verdict tries again
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

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self._syslog is not None:
            self._syslog.close()

    # --- internals ---

    def _remember(self, key: tuple, now: float) -> None:
        self._seen.pop(key, None)
        self._seen[key] = [now, 0]  # dicts keep insertion order: oldest first
        if len(self._seen) > _MAX_KEYS:
            cutoff = now - self.window
            for old in [k for k, v in self._seen.items() if v[0] < cutoff]:
                del self._seen[old]
            while len(self._seen) > _MAX_KEYS * 9 // 10:
                self._seen.pop(next(iter(self._seen)))

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


class _Rfc5424Formatter:
    """``1 TIMESTAMP HOSTNAME rootsentinel PID verdict - MSG`` (RFC 5424 section 6; SysLogHandler adds
    ``<PRI>``; the message is the event JSON, no BOM)."""

    def __init__(self, hostname: str) -> None:
        self.hostname = "".join(c for c in hostname if 33 <= ord(c) <= 126)[:255] or "-"

    def format(self, record) -> str:
        return f"1 {_iso(record.created)} {self.hostname} rootsentinel {os.getpid()} verdict - {record.getMessage()}"


def _user_name() -> str | None:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not an error (containers, services)
        return None
