"""Probe scheduling (issue 13, item 3): bounded worker threads, a bounded queue, one handshake per origin,
a deadline from when a probe was asked, cancellation at EOF (:class:`ProbeScheduler`); and the AIA workers
(:class:`AiaWorkers`, issue 22 item 4) that complete verdicts needing a caIssuers fetch, so that neither
the host's main thread nor a probe worker ever waits on an AIA server."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

from native_host.engine.verdict import Chain
from native_host.messaging.service import Deferred, Service, log_exception


PROBE_WORKERS = 32
"""Probes run at once at most. A probe mostly waits on the network, so threads are cheap: a page that
makes the browser ask for 16 origins that never speak TLS leaves slots free for the page the user is on,
and a flood beyond 32 delays another probe by one handshake timeout (5 s), not by the flood's length."""

PROBE_QUEUE = 64
"""Distinct origins waiting for a free worker at most; a probe beyond that is answered at once with an
``unknown`` verdict of reason ``busy``."""

PROBE_DEADLINE = 15.0
"""Seconds from when a probe was asked to its answer. A probe that waited in the queue gets only what is
left (its handshake timeout shrinks), and one that waited past it is answered ``busy`` without a
connection. Under the extension's 20-second wait (``PROBE_TIMEOUT_MS`` in extension/src/core/sentinel.js), so an answer arrives."""

EOF_GRACE = 1.0
"""Seconds the host waits at EOF for probes already connecting; queued probes are cancelled at once."""


class _ProbeJob:
    """One origin's probe (over one route) and everyone waiting for it: ``waiters`` are ``(id, url)`` pairs;
    ``route`` is the request's ``route`` object (docs/protocol.md, "The probe's route") or None."""

    __slots__ = ("host", "port", "asked", "waiters", "route", "key", "installed")

    def __init__(self, host: str, port: int, asked: float, waiter: tuple[Any, str | None],
                 route: dict[str, Any] | None = None, key: tuple = (), installed: bool = False) -> None:
        self.host, self.port, self.asked, self.waiters = host, port, asked, [waiter]
        self.route, self.key, self.installed = route, key, installed


class ProbeScheduler:
    """Runs ``probe`` requests on worker threads, bounded and shared (issue 13, item 3).

    - at most ``workers`` probes connect at once (daemon threads, started as needed);
    - at most ``queue`` distinct origins wait; a probe beyond that gets an ``unknown`` verdict, reason
      ``busy``, at once (returned by :meth:`submit` for the caller to send);
    - a probe of an origin (host, case-folded, and port) already queued or connecting joins it: one
      handshake, one verdict per request id (each with its own ``url``);
    - each probe's deadline counts from when it was asked (``deadline`` seconds): the handshake gets the
      time that is left, and a probe whose time ran out in the queue is answered ``busy``;
    - :meth:`close` (EOF on stdin) answers every queued probe ``busy`` and waits at most ``grace`` seconds
      for the connecting ones.

    Args:
        service: the :class:`Service` that probes and judges.
        send: writes one reply frame (thread-safe, never raises for a gone reader).
        workers / queue / deadline: as above; defaults :data:`PROBE_WORKERS`, :data:`PROBE_QUEUE`,
            :data:`PROBE_DEADLINE`.
    """

    def __init__(self, service: Service, send: Callable[[dict[str, Any]], None], workers: int = PROBE_WORKERS,
                 queue: int = PROBE_QUEUE, deadline: float = PROBE_DEADLINE, aia: "AiaWorkers | None" = None) -> None:
        import collections

        self.aia = aia or AiaWorkers()

        self.service, self.send = service, send
        self.workers, self.queue_cap, self.deadline = workers, queue, deadline
        self._cond = threading.Condition()
        self._jobs: dict[tuple, _ProbeJob] = {}  # queued or connecting, by origin and route
        self._queue: collections.deque[_ProbeJob] = collections.deque()
        self._threads = 0
        self._idle = 0
        self._running = 0
        self._closed = False

    def submit(self, msg_id: Any, host: str, port: int, url: str | None,
               route: dict[str, Any] | None = None, installed: bool = False) -> dict[str, Any] | None:
        """Queue (or join) a probe of ``host:port`` over ``route`` (the browser's address and proxy, or None).
        Returns a ``busy`` verdict to send now when the queue is full, else None (the verdict is sent from a
        worker). Probes share a handshake only when origin and route are the same."""
        import json
        import time

        key = (host.lower(), port, json.dumps(route, sort_keys=True) if route else None)
        with self._cond:
            job = self._jobs.get(key)
            if job is not None:
                job.waiters.append((msg_id, url))
                job.installed = job.installed or installed
                return None
            if len(self._queue) >= self.queue_cap or self._closed:
                verdict = self.busy_verdict(host, port, url, f"{len(self._queue)} probes are already waiting")
                verdict["id"] = msg_id
                return verdict
            job = _ProbeJob(host, port, time.monotonic(), (msg_id, url), route, key, installed)
            self._jobs[key] = job
            self._queue.append(job)
            if len(self._queue) > self._idle and self._threads < self.workers:  # more jobs than idle workers
                self._threads += 1
                threading.Thread(target=self._work, name=f"probe-{self._threads}", daemon=True).start()
            else:
                self._cond.notify()
        return None

    def busy_verdict(self, host: str, port: int, url: str | None, why: str) -> dict[str, Any]:
        """An ``unknown`` verdict, reason ``busy``: the host did not probe ``host:port`` (``why``)."""
        verdict = self.service.judge(Chain(certs=[], evidence="probe", url=url, host=host.strip("[]")))
        error = f"not probed: the host is busy ({why})"
        verdict.update(reason="busy", explanation=f"RootSentinel did not probe {host}:{port}: {why}.")
        verdict["probe"] = {"host": host, "port": port, "sni": None, "elapsed_ms": 0.0, "error": error}
        return verdict

    def _work(self) -> None:
        import time

        while True:
            with self._cond:
                self._idle += 1
                while not self._queue and not self._closed:
                    self._cond.wait()
                self._idle -= 1
                if self._closed:
                    return
                job = self._queue.popleft()
                self._running += 1
            try:
                left = job.asked + self.deadline - time.monotonic()
                if left < 0.5:
                    verdict = self.busy_verdict(job.host, job.port, job.waiters[0][1],
                                                f"it waited {self.deadline:g} s for a free probe slot")
                else:
                    from native_host.messaging.probe import DEFAULT_TIMEOUT
                    from native_host.messaging.route import Route

                    verdict = self.service.probe(job.host, job.port, job.waiters[0][1],
                                                 timeout=min(DEFAULT_TIMEOUT, left),
                                                 route=Route.from_request(job.route), network=False,
                                                 installed=job.installed)
                error = None
            except Exception as exc:  # noqa: BLE001 - a worker must always answer
                log_exception("probe failed")
                verdict, error = None, {"type": "error", "code": "internal",
                                        "message": f"internal error: {type(exc).__name__}"}
            with self._cond:
                self._jobs.pop(job.key, None)
                self._running -= 1
                self._cond.notify_all()
            if isinstance(verdict, Deferred):  # an AIA fetch: on the AIA workers, this worker is free again
                self.aia.submit(verdict, job.asked + self.deadline,
                                lambda v, e, job=job: self._answer(job, v, e))
                continue
            self._answer(job, verdict, error)

    def _answer(self, job: _ProbeJob, verdict: dict[str, Any] | None, error: dict[str, Any] | None) -> None:
        """Send one reply per waiter: its own id (and url) on a copy of the verdict."""
        for msg_id, url in job.waiters:
            if verdict is None:
                self.send({**error, "id": msg_id})
                continue
            reply = json.loads(json.dumps(verdict)) if len(job.waiters) > 1 else verdict
            reply["id"] = msg_id
            reply["url"] = url
            self.send(reply)

    def close(self, grace: float = EOF_GRACE) -> None:
        """Stop: answer the queued probes ``busy`` (the browser has gone; the answer is best effort), wake
        the idle workers, and wait at most ``grace`` seconds for the connecting ones."""
        import time

        with self._cond:
            self._closed = True
            queued = list(self._queue)
            self._queue.clear()
            for job in queued:
                self._jobs.pop(job.key, None)
            self._cond.notify_all()
        for job in queued:
            self._answer(job, self.busy_verdict(job.host, job.port, job.waiters[0][1], "the browser disconnected"),
                         None)
        end = time.monotonic() + grace
        with self._cond:
            while self._running and (left := end - time.monotonic()) > 0:
                self._cond.wait(left)




AIA_WORKERS = 8
"""AIA fetches (verdicts completed) at once at most."""

AIA_QUEUE = 64
"""Verdicts waiting for an AIA worker at most; one beyond that is finished at once without a new fetch."""

CHECK_DEADLINE = 8.0
"""Seconds from a ``check`` that needs an AIA fetch to its answer (a probe keeps its own deadline)."""


class AiaWorkers:
    """Completes :class:`~native_host.messaging.service.Deferred` verdicts on worker threads.

    - at most ``workers`` at once (daemon threads, started as needed), at most ``queue`` waiting;
    - each job has a deadline; every fetch it makes ends by it (:class:`native_host.messaging.aia.Fetcher`);
      a job whose deadline is (nearly) over when a worker takes it, one beyond the queue, and the queued ones
      at :meth:`close` are finished at once without a new fetch (the verdict's ``aia`` says why: ``skipped``);
    - ``done(verdict, error)`` is called once per job, from a worker or from :meth:`submit`
      (``error`` an ``internal`` error frame when completing raised).
    """

    def __init__(self, workers: int = AIA_WORKERS, queue: int = AIA_QUEUE) -> None:
        import collections

        self.workers, self.queue_cap = workers, queue
        self._cond = threading.Condition()
        self._queue: collections.deque = collections.deque()
        self._threads = self._idle = 0
        self._closed = False

    def submit(self, deferred: Deferred, deadline: float,
               done: Callable[[dict[str, Any] | None, dict[str, Any] | None], None]) -> None:
        """Queue ``deferred`` to be completed by ``deadline`` (a ``time.monotonic()`` value)."""
        with self._cond:
            if self._closed or len(self._queue) >= self.queue_cap:
                why = "the browser disconnected" if self._closed else f"{len(self._queue)} AIA fetches are waiting"
                job = None
            else:
                job = (deferred, deadline, done)
                self._queue.append(job)
                if len(self._queue) > self._idle and self._threads < self.workers:
                    self._threads += 1
                    threading.Thread(target=self._work, name=f"aia-{self._threads}", daemon=True).start()
                else:
                    self._cond.notify()
        if job is None:
            self._finish(deferred, None, done, f"not fetched: the host is busy ({why})")

    @staticmethod
    def _finish(deferred: Deferred, deadline: float | None, done: Callable, skip: str | None = None) -> None:
        try:
            verdict, error = deferred.complete(deadline, skip), None
        except Exception as exc:  # noqa: BLE001 - every job is answered
            log_exception("AIA completion failed")
            verdict, error = None, {"type": "error", "code": "internal", "message": f"internal error: {type(exc).__name__}"}
        done(verdict, error)

    def _work(self) -> None:
        import time

        while True:
            with self._cond:
                self._idle += 1
                while not self._queue and not self._closed:
                    self._cond.wait()
                self._idle -= 1
                if not self._queue:
                    return
                deferred, deadline, done = self._queue.popleft()
            if deadline - time.monotonic() < 0.3:
                self._finish(deferred, None, done, "not fetched: its time ran out waiting for a free AIA worker")
            else:
                self._finish(deferred, deadline, done)

    def close(self) -> None:
        """Finish every queued job at once without a fetch (the browser has gone) and let the workers end."""
        with self._cond:
            self._closed = True
            queued = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for deferred, _, done in queued:
            self._finish(deferred, None, done, "not fetched: the browser disconnected")
