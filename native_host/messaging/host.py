"""The native messaging host (``rootsentinel host``, what host manifests launch).

Protocol: docs/protocol.md; framing: :mod:`native_host.messaging.framing`. Guarantees:

- nothing but frames reaches stdout: at start the real stdout fd is duplicated for frames and fd 1 is
  pointed at stderr, so a stray ``print`` or C-level write cannot corrupt the channel (field report A.1);
- every bad frame gets an ``error`` frame and the host keeps serving; EOF on stdin exits 0;
- replies stay under 1 MiB (chain detail is cut and ``truncated`` is set; field report A.2);
- ``probe`` requests run on worker threads so a slow server does not hold up ``check`` replies; they are
  bounded, shared per origin, have a deadline from when they were asked and are cancelled at EOF
  (:class:`ProbeScheduler`);
- hostile JSON (lone surrogates, deep nesting, huge integers) is ``bad_json``, never ``internal``;
- unknown extra argv from browsers (manifest path, extension id, ``--parent-window=``) is ignored.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, Callable

from native_host import __version__
from native_host.engine.blocklist import Blocklist, bundled
from native_host.errors import BadFrame, FrameTooLarge, RootSentinelError, SchemaError, TruncatedFrame
from native_host.messaging.framing import DEFAULT_MAX_FRAME, FrameReader, decode_message, encode_frame, write_all
from native_host.engine.verdict import Chain, Policy, judge

if TYPE_CHECKING:
    from native_host.enterprise.config import SystemConfig
    from native_host.engine.publicroots import PublicRoots
    from native_host.scan.installed import InstalledRoots
    from native_host.messaging.route import Route

# cryptography, jsonschema and pyOpenSSL cost ~120 ms to import: the host answers a bare ``hello`` before
# importing them (cold start is what a browser waits for on every connectNative) and warms them up on a
# background thread while it waits for the next frame.



def _log_exception(what: str) -> None:
    """Log the current exception to stderr (which the browser keeps; never stdout)."""
    import traceback

    sys.stderr.write(f"rootsentinel host: {what}\n{traceback.format_exc()}")
    sys.stderr.flush()

PROTOCOL = 1
_FIELD_CAP = 2048


class Service:
    """The judging service shared by the host and the CLI.

    Args:
        blocklist: default the bundled one.
        public: default the bundled public store (:func:`native_host.engine.publicroots.store`), loaded on
            first use (so ``hello`` stays fast).
        policy: the system policy (enterprise config); a connection's ``hello`` may add to it.
        audit: called with every ``check`` and ``probe`` verdict (:class:`native_host.enterprise.audit.AuditLog`), or None.
    """

    def __init__(self, blocklist: Blocklist | None = None, public: PublicRoots | None = None,
                 policy: Policy | None = None, config_error: str | None = None,
                 audit: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.audit = audit
        self.blocklist = blocklist or bundled()
        self._public = public
        self.system_policy = policy or Policy()
        self.policy = self.system_policy
        self.config_error = config_error
        self._fetcher = None
        self.installed: "InstalledRoots | None" = None  # the host sets it: installed_in on banned verdicts
        self.acknowledged: frozenset[str] = frozenset()  # roots the person knows (hello; engine/acknowledge.py)
        from native_host.engine.chains import CertMemory

        self.cert_memory = CertMemory()

    @classmethod
    def from_config(cls, config: "SystemConfig") -> "Service":
        """The service a loaded system config asks for (policy, installed blocklist, audit log)."""
        audit = None
        if config.audit:  # imported only when enabled: keeps the host's start fast
            from native_host.enterprise.audit import AuditLog

            audit = AuditLog.from_config(config)
        return cls(blocklist=config.blocklist, policy=config.policy, config_error=config.error, audit=audit)

    def record(self, verdict: dict[str, Any], installed: bool = False) -> dict[str, Any]:
        """Hand a finished verdict to the audit log, if any, then add ``installed_in`` to a banned one
        (:mod:`native_host.scan.installed`, when :attr:`installed` is set); with ``installed`` (a probe
        request's ``installed_in: true``) also to an interception or notice one, and ``[]`` when the scan
        finished and found the root nowhere. Returns the verdict."""
        if self.audit is not None:
            self.audit(verdict)
        level = verdict.get("level")
        if self.installed is not None and (level == "banned" or (installed and level in ("interception", "notice"))):
            self.installed.annotate(verdict, say_none=installed)
        return verdict

    def enable_installed(self, installed: "InstalledRoots | None" = None) -> None:
        """Look banned roots up in this machine's trust stores (the host does, unless
        ``installed_roots: false``)."""
        from native_host.scan.installed import InstalledRoots

        self.installed = installed or InstalledRoots()
        self.installed.bind(self.blocklist, lambda: self.public, self.system_policy)

    @property
    def public(self) -> PublicRoots:
        if self._public is None:
            from native_host.engine.publicroots import store

            self._public = store()
        return self._public

    def warm_up(self) -> None:
        """Import what the first ``check`` needs and load the public roots (run on a background thread).
        pyOpenSSL (about 5 MB) waits for the first probe, which Firefox rarely asks for."""
        import native_host.engine.chains  # noqa: F401 - cryptography
        import native_host.engine.verify  # noqa: F401 - the path builder
        from native_host.schemas import validator

        validator("check.request")  # jsonschema
        _ = self.public

    def hello(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer ``hello``; a ``policy`` in it applies to the rest of the connection."""
        if "policy" in msg:
            self.policy = self.system_policy.merged(Policy.from_json(msg["policy"]))
        if "acknowledged_spki_sha256" in msg:
            from native_host.engine.acknowledge import key_set

            self.acknowledged = key_set(msg["acknowledged_spki_sha256"])
        return {"type": "hello", "id": msg["id"], "version": __version__, "protocol": PROTOCOL,
                "blocklist": self.blocklist.summary(), "config_error": self.config_error}

    @property
    def fetcher(self):  # noqa: ANN201 - native_host.messaging.aia.Fetcher
        """The AIA caIssuers fetcher shared by this service's checks and probes (created on first use)."""
        if self._fetcher is None:
            from native_host.messaging.aia import Fetcher

            self._fetcher = Fetcher()
        return self._fetcher

    def judge(self, chain: Chain, *, fetch_issuers: bool = False) -> dict[str, Any]:
        """Run the verdict engine with this service's blocklist, public roots and policy.

        Args:
            fetch_issuers: complete a path whose top issuer was not sent from its AIA caIssuers URL
                (:mod:`native_host.messaging.aia`); the host does for its checks and probes, the CLI for files only
                with ``--fetch-issuers``.
        """
        verdict = judge(chain, self.blocklist, self.public, self.policy,
                        fetch=self._fetch_issuers if fetch_issuers else None)
        if self.acknowledged:
            from native_host.engine.acknowledge import acknowledge

            acknowledge(verdict, self.acknowledged)
        return verdict

    def _fetch_issuers(self, url: str) -> list[bytes]:
        # urllib is imported only when a path really needs a fetch (rare: most servers send their intermediates)
        return self.fetcher(url)

    def check(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer ``check`` (``chain`` or ``securityInfo``).

        Raises:
            BadBase64, BadDER, SchemaError: bad certificates.
        """
        from native_host.engine.chains import chain_from_base64, chain_from_security_info

        url = msg.get("url")
        missing: list[int] = []
        if "chain" in msg:
            chain = chain_from_base64(msg["chain"], url=url)
        else:
            chain = chain_from_security_info(msg["securityInfo"], url=url, validated=True,  # check.request covered it
                                             memory=self.cert_memory, missing=missing)
        verdict = self.judge(chain, fetch_issuers=True)
        if missing:
            verdict = der_wanted_verdict(verdict, missing)
        verdict = self.record(verdict)
        verdict["id"] = msg["id"]
        return verdict

    def probe(self, host: str, port: int = 443, url: str | None = None, timeout: float = 5.0,
              route: "Route | None" = None, installed: bool = False) -> dict[str, Any]:
        """Probe ``host:port`` along ``route`` and judge the presented chain (evidence ``probe``).

        Args:
            route: the address and proxy to use (:class:`native_host.messaging.route.Route`, from the browser's
                probe request or the CLI's ``--connect-to`` / ``--proxy``); default: resolve, go direct.

        A failed handshake gives an ``unknown`` verdict with reason ``probe_failed`` and the error in
        ``probe.error`` (a verdict, not an error frame: "the network presented nothing" is an answer);
        ``probe.route`` records the route facts either way (docs/protocol.md).
        """
        from native_host.engine.certfacts import cert_facts
        from native_host.messaging.probe import probe
        from native_host.messaging.route import Route

        route = route or Route()
        if installed and self.installed is not None:
            self.installed.start()  # the scan runs during the handshake, not after it
        try:
            result = probe(host, port, timeout=timeout, route=route)
        except RootSentinelError as exc:
            verdict = self.judge(Chain(certs=[], evidence="probe", url=url, host=host.strip("[]")))
            verdict.update(reason="probe_failed", explanation=f"The probe could not see a certificate: {exc}")
            verdict["probe"] = {"host": host, "port": port, "sni": None, "elapsed_ms": 0.0, "error": str(exc),
                                "route": route.facts(None, exc)}
        else:
            chain = Chain(certs=[cert_facts(d) for d in result.chain], evidence="probe", url=url,
                          host=host.strip("[]"))
            verdict = self.judge(chain, fetch_issuers=True)
            verdict["probe"] = {"host": host, "port": port, "sni": result.sni, "elapsed_ms": result.elapsed_ms,
                                "error": None, "route": route.facts(result.connected)}
        return self.record(verdict, installed=installed)


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
                 queue: int = PROBE_QUEUE, deadline: float = PROBE_DEADLINE) -> None:
        import collections

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
                                                 route=Route.from_request(job.route), installed=job.installed)
                error = None
            except Exception as exc:  # noqa: BLE001 - a worker must always answer
                _log_exception("probe failed")
                verdict, error = None, {"type": "error", "code": "internal",
                                        "message": f"internal error: {type(exc).__name__}"}
            with self._cond:
                self._jobs.pop(job.key, None)
                self._running -= 1
                self._cond.notify_all()
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


_FINGERPRINT_MATCH = ("spki_sha256", "cert_sha256")


def der_wanted_verdict(verdict: dict[str, Any], missing: list[int]) -> dict[str, Any]:
    """A ``check`` whose certificates ``missing`` came without DER and are not remembered
    (:class:`native_host.engine.chains.CertMemory`): the browser's strings are not evidence for an ``ok``,
    so the verdict is a provisional ``unknown`` (reason ``der_wanted``) and ``der_wanted: true`` asks the
    extension for the DER on its next response. Only a ban by a fingerprint (the SHA-256 of a certificate
    or of its key, which Firefox computes from the DER) is kept, with ``der_wanted`` too.
    """
    verdict["der_wanted"] = True
    verdict["der_missing"] = list(missing)
    matched = verdict.get("matched") or {}
    if verdict.get("level") == "banned" and matched.get("by") in _FINGERPRINT_MATCH:
        return verdict
    verdict.update(level="unknown", category=None, reason="der_wanted",
                   explanation="certificates without DER that the host has not parsed before: not judged until "
                               "the browser sends their DER")
    verdict.pop("interceptor", None)
    return verdict


def _cap_strings(value: Any) -> Any:
    """``value`` with every string over :data:`_FIELD_CAP` characters cut (an ellipsis added), at any depth."""
    if isinstance(value, str):
        return value if len(value) <= _FIELD_CAP else value[:_FIELD_CAP] + "\u2026"
    if isinstance(value, dict):
        return {k: _cap_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_strings(v) for v in value]
    return value


def fit_reply(reply: dict[str, Any]) -> bytes:
    """Encode a reply as a frame under 1 MiB, cutting detail if needed (``truncated: true``).

    Steps: cap every string of the reply (chain rows, ``matched.entry``, ``names``, explanation, url, probe)
    at 2,048 characters; then keep only the leaf, the matched row and the top row; then drop the chain rows
    entirely; a reply that still does not fit (it cannot, after the cuts, unless a caller built one
    outside the schemas) becomes an ``internal`` error frame, never an exception.
    """
    try:
        return encode_frame(reply)
    except ValueError:
        pass
    if reply.get("type") == "verdict":
        reply["truncated"] = True
    reply.update(_cap_strings({k: v for k, v in reply.items() if k not in ("type", "id")}))
    try:
        return encode_frame(reply)
    except ValueError:
        pass
    rows = reply.get("chain", [])
    if isinstance(rows, list) and rows:
        keep = {0, len(rows) - 1}
        if reply.get("matched"):
            keep.add(reply["matched"]["index"])
        reply["chain"] = [r for r in rows if r["index"] in keep]
        try:
            return encode_frame(reply)
        except ValueError:
            reply["chain"] = []
    try:
        return encode_frame(reply)
    except ValueError:
        return encode_frame({"type": "error", "id": _id_of(reply), "code": "internal",
                             "message": "the reply could not be cut under the browsers' 1 MiB limit"})


def is_bare_hello(msg: dict[str, Any]) -> bool:
    """True for a ``hello`` with nothing but ``type``, ``id`` and ``client``, each as
    ``hello.request.schema.json`` allows. Such a hello is answered without loading ``jsonschema`` (a test
    checks this agrees with the schema); every other message is validated with ``jsonschema``."""
    if not set(msg) <= {"type", "id", "client"} or msg.get("type") != "hello" or "id" not in msg:
        return False
    msg_id, client = msg["id"], msg.get("client", "")
    id_ok = (isinstance(msg_id, int) and not isinstance(msg_id, bool)) or (isinstance(msg_id, str) and len(msg_id) <= 200)
    return id_ok and isinstance(client, str) and len(client) <= 200


def _error(msg_id: Any, exc: RootSentinelError) -> dict[str, Any]:
    text = " ".join(str(exc).split())[:900]
    return {"type": "error", "id": msg_id, "code": exc.code, "message": text}


def _id_of(obj: Any) -> Any:
    if isinstance(obj, dict):
        value = obj.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return value if not isinstance(value, str) else value[:200]
    return None


class Host:
    """One host process serving one browser connection.

    Args:
        in_stream: binary stream of frames from the browser.
        out_fd: file descriptor for frames to the browser.
        service: the judging service.
        max_frame: cap on incoming frames in bytes.
    """

    def __init__(self, in_stream: BinaryIO, out_fd: int, service: Service, max_frame: int = DEFAULT_MAX_FRAME):
        self.reader = FrameReader(in_stream, max_frame)
        self.out_fd = out_fd
        self.service = service
        self._write_lock = threading.Lock()
        self.probes: ProbeScheduler | None = None  # made at the first probe
        self.probe_workers, self.probe_queue, self.probe_deadline = PROBE_WORKERS, PROBE_QUEUE, PROBE_DEADLINE
        self._warm: threading.Thread | None = None

    def send(self, reply: dict[str, Any]) -> None:
        """Write one reply frame (thread-safe). A reader that has gone away (EPIPE) is not an error here:
        the serve loop ends at EOF on stdin."""
        frame = fit_reply(reply)
        with self._write_lock:
            try:
                write_all(self.out_fd, frame)
            except BrokenPipeError:
                pass

    def handle(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        """Answer one decoded message; returns None when the reply will be sent later (probe)."""
        kind = msg.get("type")
        if kind not in ("hello", "check", "probe"):
            raise SchemaError(f"unknown message type {str(kind)[:50]!r}; expected hello, check or probe")
        if kind == "hello" and is_bare_hello(msg):
            reply = self.service.hello(msg)
            if self._warm is None:
                self._warm = threading.Thread(target=self.service.warm_up, name="warm-up", daemon=True)
                self._warm.start()
            return reply
        from native_host.schemas import validate

        validate(f"{kind}.request", msg)
        if kind == "hello":
            return self.service.hello(msg)
        if kind == "check":
            return self.service.check(msg)
        if self.probes is None:
            self.probes = ProbeScheduler(self.service, self.send, self.probe_workers, self.probe_queue,
                                         self.probe_deadline)
        port = msg.get("port", 443)
        # JSON Schema counts 443.0 as an integer (2020-12 validation 6.1.1); the socket needs an int
        return self.probes.submit(msg["id"], msg["host"], int(port), msg.get("url"),  # a busy verdict, or None
                                  route=msg.get("route"), installed=msg.get("installed_in") is True)

    def serve(self) -> int:
        """Serve until EOF on stdin. Returns the process exit code (0)."""
        try:
            while True:
                msg = None
                try:
                    payload = self.reader.read()
                    if payload is None:
                        return 0
                    msg = decode_message(payload)
                    reply = self.handle(msg)
                except FrameTooLarge as exc:
                    self.send(_error(None, exc))
                    if not self.reader.skip_pending():
                        return 0
                    continue
                except BadFrame as exc:
                    self.send(_error(None, exc))
                    if isinstance(exc, TruncatedFrame):
                        return 0
                    continue
                except RootSentinelError as exc:
                    reply = _error(_id_of({"id": getattr(exc, "msg_id", None)} if msg is None else msg), exc)
                except RecursionError:  # a message nested just under json's limit, too deep for the schema walk
                    reply = {"type": "error", "id": _id_of(msg), "code": "bad_json",
                             "message": "payload is not usable JSON: arrays or objects nested too deep"}
                except Exception as exc:  # noqa: BLE001 - never die on one message
                    _log_exception("internal error")
                    reply = {"type": "error", "id": _id_of(msg), "code": "internal",
                             "message": f"internal error: {type(exc).__name__}"}
                if reply is not None:
                    self.send(reply)
        finally:
            if self.probes is not None:
                self.probes.close(grace=EOF_GRACE)


def protect_stdout() -> int:
    """Reserve the real stdout for frames and point fd 1 (and ``sys.stdout``) at stderr.

    Returns:
        The new file descriptor of the original stdout, for :class:`Host`.
    """
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if os.name == "nt":  # CPython 3 opens fds 0/1/2 in O_BINARY already; make it explicit for the dup
        import msvcrt

        msvcrt.setmode(out_fd, os.O_BINARY)  # type: ignore[attr-defined]
    return out_fd


def run(max_frame: int = DEFAULT_MAX_FRAME) -> int:
    """Entry point of ``rootsentinel host``: protect stdout, load the config, serve stdin."""
    out_fd = protect_stdout()
    from native_host.enterprise.config import load_system_config

    config = load_system_config()
    service = Service.from_config(config)
    if config.installed_roots:
        service.enable_installed()
    return Host(sys.stdin.buffer, out_fd, service, max_frame).serve()


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def main_from_argv(argv: list[str]) -> int:
    """Run the host from command-line words: ``--max-frame N`` (or ``=N``) is read, every other word
    (``host``, the manifest path and extension id Firefox passes, Chrome's origin and
    ``--parent-window=``) is ignored (browser-apis.md 3.1).

    Typed in a terminal (stdin is a TTY, which a browser never gives it) it says in one line on stderr what it
    is for and returns 3 instead of waiting for frames nobody will send."""
    if _stdin_is_terminal():
        sys.stderr.write("rootsentinel host: this is the native messaging host that browsers start (it reads "
                         "length-prefixed JSON frames on stdin); to judge a site yourself run "
                         "'rootsentinel check https://example.org'\n")
        return 3
    max_frame = DEFAULT_MAX_FRAME
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--max-frame" and i + 1 < len(argv) else (
            arg.split("=", 1)[1] if arg.startswith("--max-frame=") else None)
        if value is not None and value.isdigit():
            max_frame = int(value)
    return run(max_frame=max_frame)
