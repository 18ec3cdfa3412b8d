"""Audit events: every notice, interception and banned verdict, every enforce-mode block, every
``scan --fix`` change (and, through the same destinations, scan findings and heartbeats) as one JSON
object in Elastic Common Schema, delivered to the system logger, a remote collector and/or the user's
own file.

- :mod:`native_host.enterprise.ecs` builds the ECS documents; :mod:`native_host.enterprise.identity`
  says who produced them (agent, host, user, browser and profile);
- :mod:`native_host.enterprise.ratewindow` keeps one event per fact per window;
- :mod:`native_host.enterprise.delivery` queues each event per destination on worker threads (never on
  the thread that answers the browser) and counts what is dropped; :mod:`native_host.enterprise.sinks`
  and :mod:`native_host.enterprise.syslog` write and frame the lines.

``unknown`` verdicts are not audited: they mean "no evidence" (plain HTTP, host unreachable, a failed
probe) and would flood the log with facts about the network, not about interception. ``ok`` is not
audited either.

Destinations (system config, docs/enterprise.md section 7, "Audit events in a SIEM"): ``syslog`` (the local system logger, the
one destination no user can forge for another or erase), ``syslog_remote`` (RFC 5424 over TCP or TLS),
``syslog_facility``, and the user's own JSON-lines file ``audit_log`` (on unless ``audit_file`` is false).
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from native_host.enterprise.ecs import ECS_VERSION, blocked_event, clean_url, common_fields, ecs_event, origin_of
from native_host.enterprise.ratewindow import DEFAULT_WINDOW_SECONDS, RateWindow, dedup_key

if TYPE_CHECKING:
    from native_host.enterprise.config import SystemConfig
    from native_host.enterprise.sinks import Sink

__all__ = ["AUDITED_LEVELS", "AuditLog", "ECS_VERSION", "DEFAULT_WINDOW_SECONDS", "clean_url", "dedup_key",
           "ecs_event", "origin_of"]

AUDITED_LEVELS = frozenset({"notice", "interception", "banned"})
"""Verdict levels that become audit events (see the module doc for why not ``unknown``)."""

_REMEMBERED = 256  # banned verdicts kept for the extension's ``blocked`` report


class AuditLog:
    """The audit sink the host's :class:`~native_host.messaging.host.Service` calls with every verdict.

    Args:
        path: the user's JSON-lines file, or None for no file.
        syslog: send each event to the local system logger (:class:`~native_host.enterprise.sinks.LocalSyslogSink`).
        syslog_address: its socket (default: the first of ``/dev/log``, ``/var/run/syslog`` that exists).
        remote: ``{"host", "port", "transport": "tcp" | "tls", "ca_file", "cert_file", "key_file",
            "server_name"}`` for a remote collector, or None.
        facility: syslog facility name (default ``user``).
        window_seconds: de-duplication window (0: every verdict is written).
        clock: seconds since the epoch (tests pass a fake one).
        hostname, user: ``host.hostname`` / ``user.name`` (default: this machine, this user).
        blocklist_version: for ``rootsentinel.blocklist_version``.
        agent_id: ``agent.id`` (default :func:`native_host.enterprise.identity.agent_id` of ``config_path``).
        state_dir: where the drop log and the browsers seen are kept (default the user's state folder).
        sinks: destinations to use instead of the ones above (tests).
        lock_wait: seconds the file sink tries for its lock.

    Calling it is thread-safe (probes are judged on worker threads), never blocks on a destination and
    never raises.
    """

    def __init__(self, path: Path | None, *, syslog: bool = False, syslog_address: str | None = None,
                 remote: dict[str, Any] | None = None, facility: str = "user",
                 window_seconds: float = DEFAULT_WINDOW_SECONDS, clock: Callable[[], float] = time.time,
                 hostname: str | None = None, user: str | None = None, blocklist_version: str | None = None,
                 agent_id: str | None = None, config_path: Path | None = None, state_dir: Path | None = None,
                 sinks: list[Sink] | None = None, lock_wait: float | None = None) -> None:
        from native_host.enterprise import identity, sinks as sink_mod
        from native_host.enterprise.delivery import Delivery, Formatter
        from native_host.enterprise.state import state_dir as default_state_dir

        self._window = RateWindow(window_seconds)
        self.clock = clock
        host_name, host_hostname = identity.host_names()
        self.hostname = hostname or host_hostname
        self.host_name = self.hostname.lower()
        self.user = identity.user_fields()
        if user is not None:
            self.user["name"] = user
        self.blocklist_version = blocklist_version
        self.agent_id = agent_id or identity.agent_id(config_path)
        self.ephemeral_id = os.urandom(8).hex()
        self.provider = "cli"
        self.client: dict[str, Any] | None = None
        self.parent: dict[str, Any] | None = None
        self._sequence = 0
        self._lock = threading.Lock()
        self._remembered: OrderedDict[tuple, tuple[dict[str, Any], str]] = OrderedDict()
        self._reported: set[str] = set()
        self._hello_thread: threading.Thread | None = None
        self.state_dir = state_dir or default_state_dir()
        self.file = None
        if sinks is None:
            sinks = []
            if path:
                kwargs = {} if lock_wait is None else {"lock_wait": lock_wait}
                self.file = sink_mod.FileSink(path, **kwargs)
                sinks.append(self.file)
            if syslog:
                sinks.append(sink_mod.LocalSyslogSink(syslog_address))
            if remote:
                sinks.append(sink_mod.RemoteSyslogSink(
                    remote["host"], int(remote.get("port") or (6514 if remote.get("transport", "tls") == "tls" else 514)),
                    remote.get("transport", "tls"), ca_file=remote.get("ca_file"), cert_file=remote.get("cert_file"),
                    key_file=remote.get("key_file"), server_name=remote.get("server_name")))
        self.delivery = Delivery(sinks, Formatter(facility, self.hostname, os.getpid()), state_dir=self.state_dir,
                                 report=self._report)

    @classmethod
    def from_config(cls, config: SystemConfig) -> AuditLog:
        """Build from the system config: ``audit_log``, ``audit_file``, ``syslog``, ``syslog_facility``,
        ``syslog_remote``, ``audit_window_seconds``."""
        from native_host.engine.blocklist import bundled

        settings = config.settings
        window = settings.get("audit_window_seconds", DEFAULT_WINDOW_SECONDS)
        if not math.isfinite(window):  # JSON NaN/Infinity pass the schema's bounds
            window = DEFAULT_WINDOW_SECONDS
        path = config.audit_log if settings.get("audit_file", True) else None
        return cls(path, syslog=bool(settings.get("syslog", False)), remote=settings.get("syslog_remote"),
                   facility=settings.get("syslog_facility", "user"), window_seconds=window,
                   blocklist_version=(config.blocklist or bundled()).version, config_path=config.path)

    # --- what the host and the CLI call ---

    def __call__(self, verdict: dict[str, Any]) -> dict[str, Any] | None:
        """Record ``verdict`` if its level is audited and it is not a repeat within the window.

        Returns:
            The event queued for delivery, or None (not audited, a repeat, or no destination took it).
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
                event = ecs_event(verdict, timestamp=now, hostname=self.hostname, user=self.user.get("name"),
                                  blocklist_version=self.blocklist_version, repeats=repeats,
                                  common=self._common(now))
                if verdict["level"] == "banned":
                    self._remember(verdict, event["event"]["id"])
            if not self.delivery.submit(event, verdict["level"], "verdict", now):
                with self._lock:
                    self._window.forget(key)  # not recorded: the next identical verdict tries again
                return None
            return event
        except Exception as exc:  # noqa: BLE001 - auditing must never break judging
            self._report(f"audit event failed: {type(exc).__name__}: {exc}")
            return None

    def hello(self, msg: dict[str, Any]) -> None:
        """A browser connected (``hello``): events from now on are ``event.provider`` ``browser`` and name
        the browser, its profile and the extension (:mod:`native_host.enterprise.identity`: a few reads in
        ``/proc`` on Linux); the user's list of browsers seen is updated on a background thread, so the
        ``hello`` reply never waits for the disk. Never raises."""
        try:
            from native_host.enterprise import identity, state

            client = identity.parse_client(msg.get("client")) or {}
            parent = identity.browser_process()
            client["profile"] = parent.pop("profile", None)
            extension = next((a for a in sys.argv[1:] if a.startswith("chrome-extension://") or "@" in a), None)
            client["extension_id"] = extension[:200] if extension else None
            with self._lock:
                self.provider, self.client, self.parent = "browser", client, parent
            seen = {**client, "executable": parent.get("executable")}
            thread = threading.Thread(target=state.note_client, args=(self.state_dir, seen), name="audit-hello",
                                      daemon=True)
            thread.start()
            if self._hello_thread is None:
                atexit.register(self._join_hello)
            self._hello_thread = thread
        except Exception as exc:  # noqa: BLE001 - auditing must never break the connection
            self._report(f"audit hello failed: {type(exc).__name__}: {exc}")

    def blocked(self, url: str | None, cert_sha256: str | None) -> dict[str, Any] | None:
        """The extension replaced ``url`` with its blocked page (enforce mode): one ``page-blocked`` event
        (:func:`native_host.enterprise.ecs.blocked_event`), de-duplicated like verdicts. Never raises."""
        try:
            now = self.clock()
            leaf = cert_sha256.lower() if isinstance(cert_sha256, str) else None
            origin = origin_of({"url": url})
            with self._lock:
                known = self._remembered.get((origin, leaf))
                verdict, verdict_id = known if known else (None, None)
                key = (*(dedup_key(verdict)[:3] if verdict else (origin, leaf, None)), "page-blocked")
                repeats = self._window.admit(key, now)
                if repeats is None:
                    return None
                event = blocked_event(verdict, url=url, cert_sha256=leaf, timestamp=now, hostname=self.hostname,
                                      common=self._common(now), verdict_event_id=verdict_id)
                event.setdefault("rootsentinel", {})["repeats"] = repeats
            if not self.delivery.submit(event, "banned", "verdict", now):
                return None
            return event
        except Exception as exc:  # noqa: BLE001
            self._report(f"audit event failed: {type(exc).__name__}: {exc}")
            return None

    def enrich(self, event: dict[str, Any]) -> dict[str, Any]:
        """``event`` with the common fields (agent, host, user, ``event.created``, ``event.sequence``,
        ``event.provider``) merged under it (the event's own values win); the next sequence number is used."""
        from native_host.enterprise.ecs import merge

        with self._lock:
            common = self._common(self.clock())
        out = merge(common, event)
        return {**{k: out[k] for k in event}, **out}  # the event's own fields first, as written

    def record(self, event: dict[str, Any], level: str = "notice", msgid: str = "fix",
               enriched: bool = False) -> bool:
        """Deliver one event that is not a verdict (``scan --fix`` removals and ``--undo`` restores, scan
        findings, heartbeats), without de-duplication, to the same destinations, after :meth:`enrich`.

        Args:
            event: an ECS document (JSON-serialisable dict).
            level: ``banned``, ``interception``, ``notice`` or ``info``: the syslog severity.
            msgid: the RFC 5424 MSGID (``fix``, ``scan``, ``heartbeat``).
            enriched: the event went through :meth:`enrich` already.

        Returns:
            True when it was queued for at least one destination; never raises.
        """
        try:
            full = event if enriched else self.enrich(event)
            return self.delivery.submit(full, level, msgid, self.clock())
        except Exception as exc:  # noqa: BLE001 - auditing must never break the command
            self._report(f"audit event failed: {type(exc).__name__}: {exc}")
            return False

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was delivered or dropped (False on timeout)."""
        return self.delivery.flush(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Flush for at most ``timeout`` seconds and release the destinations."""
        self._join_hello()
        self.delivery.close(timeout)

    def _join_hello(self) -> None:
        if self._hello_thread is not None:
            self._hello_thread.join(2.0)  # the browsers-seen file is replaced atomically; let it finish

    @property
    def window(self) -> float:
        """The de-duplication window in seconds."""
        return self._window.window

    @property
    def dropped(self) -> int:
        """Events lost by this process (per destination, summed)."""
        return self.delivery.dropped

    # --- internals ---

    def _common(self, now: float) -> dict[str, Any]:
        """The placing fields of the next event (caller holds ``self._lock``)."""
        self._sequence += 1
        return common_fields(agent_id=self.agent_id, ephemeral_id=self.ephemeral_id, host_name=self.host_name,
                             hostname=self.hostname, user=self.user, created=time.time(), sequence=self._sequence,
                             provider=self.provider, client=self.client, parent=self.parent)

    def _remember(self, verdict: dict[str, Any], event_id: str) -> None:
        rows = verdict.get("chain") or []
        key = (origin_of(verdict), rows[0].get("cert_sha256") if rows else None)
        self._remembered.pop(key, None)
        self._remembered[key] = (verdict, event_id)
        while len(self._remembered) > _REMEMBERED:
            self._remembered.popitem(last=False)

    def _report(self, message: str) -> None:
        import re

        key = re.sub(r"\d+", "#", message)[:200]  # one line per kind of failure, whatever the counts
        if key not in self._reported and len(self._reported) < 100:
            self._reported.add(key)
            sys.stderr.write(f"rootsentinel: {message}\n")
            sys.stderr.flush()


def _user_name() -> str | None:
    from native_host.enterprise.identity import user_fields

    return user_fields().get("name")
