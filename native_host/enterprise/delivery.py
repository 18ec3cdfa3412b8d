"""Delivery of audit events: one worker thread and one bounded queue per destination, so writing an event
never blocks the thread that answers the browser, and one slow destination never holds up another.

- :meth:`Delivery.submit` only puts the event on each destination's queue (never waits); a full queue
  (:data:`QUEUE_SIZE` events) drops the event for that destination.
- Each worker formats the event for its destination (JSON line, BSD syslog datagram, RFC 5424 frame) and
  delivers it (:mod:`native_host.enterprise.sinks`); a line the destination did not take is dropped.
- Every drop is counted per destination: the next event that destination does take carries
  ``rootsentinel.audit.dropped`` (events that destination lost since its previous one), and drops are
  recorded in the user's drop log (:func:`native_host.enterprise.state.append_drop`), which ``doctor``
  and the heartbeat report. The first failure of each kind is also one line on stderr.
- Events are numbered per process (``event.sequence``) by the caller, so a gap is visible downstream
  even where a count could not be written.
- At exit (``atexit``) the queues are flushed for at most :data:`EXIT_FLUSH` seconds; what is left is
  counted as dropped.
"""

from __future__ import annotations

import atexit
import collections
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from native_host.enterprise import syslog as fmt
from native_host.enterprise.sinks import Sink, Undelivered

QUEUE_SIZE = 1024
"""Events waiting per destination at most."""

EXIT_FLUSH = 2.0
"""Seconds the process waits at exit for queued events."""

SYSLOG_JSON_LIMIT = 7900
"""Bytes of JSON in one syslog message at most: rsyslog's default ``maxMessageSize`` is 8 KiB for the
whole message. A bigger event is cut (:func:`fit`) with ``rootsentinel.audit.truncated`` set."""

_DROP_LOG_INTERVAL = 1.0
_BATCH = 64  # events a worker takes from its queue at once (one lock and one write for a file)


def fit(event: dict[str, Any], limit: int) -> tuple[str, bool]:
    """The event's one-line JSON within ``limit`` UTF-8 bytes: first as it is; then with every string cut
    at 200 characters; then without the chain lists (``rootsentinel.chain_cert_sha256``, ``related.hash``).
    Returns ``(json, truncated)``."""
    from native_host.textsafe import dumps_json

    text = dumps_json(event)
    if len(text.encode("utf-8", "backslashreplace")) <= limit:
        return text, False

    def cut(value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= 200 else value[:200] + "\u2026"
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value]
        return value

    small = cut(event)
    rs = small.setdefault("rootsentinel", {})
    rs.setdefault("audit", {})["truncated"] = True
    text = dumps_json(small)
    if len(text.encode("utf-8", "backslashreplace")) > limit:
        rs.pop("chain_cert_sha256", None)
        small.pop("related", None)
        text = dumps_json(small)
    return text, True


class Formatter:
    """Turns ``(event, level, msgid, when)`` into the bytes one sink kind expects.

    Args:
        facility: syslog facility name (:data:`native_host.enterprise.syslog.FACILITIES`).
        hostname: RFC 5424 HOSTNAME.
        pid: this process id.
    """

    def __init__(self, facility: str = "user", hostname: str = "-", pid: int = 0) -> None:
        fmt.pri(facility, "info")  # KeyError for an unknown facility, at configuration time
        self.facility, self.hostname, self.pid = facility, hostname, pid

    def line(self, kind: str, event: dict[str, Any], level: str, msgid: str, when: float) -> bytes:
        """The bytes for one sink kind (``file``, ``syslog``, ``remote``); the syslog severity follows the
        event's ``log.level``, else ``level``."""
        level = (event.get("log") or {}).get("level") or level
        if kind == "file":
            from native_host.textsafe import dumps_json

            return (dumps_json(event) + "\n").encode("utf-8", "backslashreplace")
        text, _ = fit(event, SYSLOG_JSON_LIMIT)
        if kind == "syslog":
            return fmt.bsd_line(text, facility=self.facility, level=level, pid=self.pid, when=when)
        return fmt.octet_counted(fmt.rfc5424_line(text, facility=self.facility, level=level,
                                                  hostname=self.hostname, pid=self.pid, msgid=msgid, when=when))


class _Worker:
    """One destination's queue and thread (started at the first event)."""

    def __init__(self, sink: Sink, formatter: Formatter, owner: Delivery, queue_size: int) -> None:
        self.sink, self.formatter, self.owner = sink, formatter, owner
        self.queue: collections.deque = collections.deque()
        self.queue_size = queue_size
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.busy = False
        self.closed = False
        self.missed = 0  # lost since the last delivered event (carried by the next one)
        self.dropped = 0  # lost in this process
        self.delivered = 0
        self.unlogged = 0  # lost and not yet in the drop log
        self.last_logged = 0.0
        self.last_reason = ""

    def put(self, item: tuple) -> bool:
        with self.cond:
            full = self.closed or len(self.queue) >= self.queue_size
            if full:
                reason = f"{self.sink.name}: {len(self.queue)} events already waiting"
                self._drop_locked(reason)
            else:
                self.queue.append(item)
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name=f"audit-{self.sink.kind}", daemon=True)
                    self.thread.start()
                self.cond.notify()
        if full:
            self.owner.report(reason)  # outside the lock: stderr may be slow, the caller is a verdict
        return not full

    def _drop_locked(self, reason: str, count: int = 1) -> None:
        """Count ``count`` lost events (caller holds ``self.cond``; it reports ``reason`` after releasing)."""
        self.missed += count
        self.dropped += count
        self.unlogged += count
        self.last_reason = reason

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.closed:
                    self.cond.wait()
                if not self.queue:
                    return
                batch = [self.queue.popleft() for _ in range(min(len(self.queue), _BATCH))]
                self.busy = True
                missed = self.missed
            try:
                lines = []
                for n, (event, level, msgid, when) in enumerate(batch):
                    stamped = dict(event)
                    stamped["rootsentinel"] = {**event.get("rootsentinel", {}),
                                               "audit": {"dropped": missed if n == 0 else 0}}
                    lines.append(self.formatter.line(self.sink.kind, stamped, level, msgid, when))
                self.sink.deliver_many(lines)
                with self.cond:
                    self.missed -= missed
                    self.delivered += len(batch)
            except Undelivered as exc:
                with self.cond:
                    done = min(max(exc.delivered, 0), len(batch))
                    if done:
                        self.missed -= missed
                        self.delivered += done
                    self._drop_locked(str(exc), len(batch) - done)
                self.owner.report(str(exc))
            except Exception as exc:  # noqa: BLE001 - a worker never dies on one event
                reason = f"{self.sink.name}: {type(exc).__name__}: {exc}"
                with self.cond:
                    self._drop_locked(reason, len(batch))
                self.owner.report(reason)
            self._log_drops(force=False)
            with self.cond:
                self.busy = False
                self.cond.notify_all()

    def _log_drops(self, force: bool) -> None:
        with self.cond:
            count, reason = self.unlogged, self.last_reason
            now = time.monotonic()
            if not count or (not force and now - self.last_logged < _DROP_LOG_INTERVAL):
                return
            self.unlogged, self.last_logged = 0, now
        if self.owner.state_dir is not None:
            from native_host.enterprise.state import append_drop

            if not append_drop(self.owner.state_dir, self.sink.name, count, reason):
                self.owner.report(f"cannot write the drop log in {self.owner.state_dir}")

    def flush(self, deadline: float) -> bool:
        with self.cond:
            while self.queue or self.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def close(self, deadline: float) -> None:
        self.flush(deadline)
        reason = f"{self.sink.name}: still queued when the process ended"
        with self.cond:
            self.closed = True
            left = len(self.queue)
            self.queue.clear()
            if left:
                self._drop_locked(reason, left)
            self.cond.notify_all()
        if left:
            self.owner.report(reason)
        self._log_drops(force=True)
        if not self.busy:
            self.sink.close()


class Delivery:
    """Fans events out to sinks (see the module doc).

    Args:
        sinks: the destinations.
        formatter: how lines are shaped per sink kind.
        state_dir: the user's state folder for the drop log (None: drops are only counted in memory).
        report: called with a one-line message on the first failure of each kind (default: stderr).
        queue_size: events waiting per destination (:data:`QUEUE_SIZE`).
    """

    def __init__(self, sinks: list[Sink], formatter: Formatter, *, state_dir: Path | None = None,
                 report: Callable[[str], None] | None = None, queue_size: int = QUEUE_SIZE) -> None:
        self.state_dir = state_dir
        self._report = report or _stderr_once()  # AuditLog passes its own (one line per kind of failure)
        self.workers = [_Worker(s, formatter, self, queue_size) for s in sinks]
        self._closed = False
        atexit.register(self.close)
        _LIVE.add(self)

    def report(self, message: str) -> None:
        self._report(message)

    def submit(self, event: dict[str, Any], level: str, msgid: str, when: float) -> bool:
        """Queue ``event`` for every destination; True when at least one took it. Never blocks."""
        took = False
        for worker in self.workers:
            took = worker.put((event, level, msgid, when)) or took
        return took

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was delivered or dropped; False on timeout."""
        deadline = time.monotonic() + timeout
        ok = all([w.flush(deadline) for w in self.workers])
        for w in self.workers:
            w._log_drops(force=True)
        return ok

    def close(self, timeout: float = EXIT_FLUSH) -> None:
        """Flush for at most ``timeout`` seconds, count what is left as dropped, release the sinks."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.close(deadline)
        atexit.unregister(self.close)

    def stats(self) -> dict[str, dict[str, int]]:
        """``{sink name: {"delivered", "dropped", "queued"}}`` for this process."""
        return {w.sink.name: {"delivered": w.delivered, "dropped": w.dropped, "queued": len(w.queue)}
                for w in self.workers}

    @property
    def dropped(self) -> int:
        """Events lost (per destination, summed) in this process."""
        return sum(w.dropped for w in self.workers)


_LIVE: weakref.WeakSet[Delivery] = weakref.WeakSet()


def flush_all(timeout: float = 5.0) -> bool:
    """Flush every live :class:`Delivery` of this process (a CLI command that ends, tests); False on timeout."""
    deadline = time.monotonic() + timeout
    return all([d.flush(max(0.0, deadline - time.monotonic())) for d in list(_LIVE)])


def _stderr_once() -> Callable[[str], None]:
    seen: set[str] = set()
    lock = threading.Lock()

    def report(message: str) -> None:
        key = re.sub(r"\d+", "#", message)[:200]  # one line per kind of failure, whatever the counts
        with lock:
            if key in seen or len(seen) >= 100:
                return
            seen.add(key)
        sys.stderr.write(f"rootsentinel: audit: {message}\n")
        sys.stderr.flush()

    return report
