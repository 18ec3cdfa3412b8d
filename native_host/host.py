"""The native messaging host (``rootsentinel host``, what host manifests launch).

Protocol: docs/protocol.md; framing: :mod:`native_host.framing`. Guarantees:

- nothing but frames reaches stdout: at start the real stdout fd is duplicated for frames and fd 1 is
  pointed at stderr, so a stray ``print`` or C-level write cannot corrupt the channel (field report A.1);
- every bad frame gets an ``error`` frame and the host keeps serving; EOF on stdin exits 0;
- replies stay under 1 MiB (chain detail is cut and ``truncated`` is set; field report A.2);
- ``probe`` requests run on worker threads so a slow server does not hold up ``check`` replies;
- unknown extra argv from browsers (manifest path, extension id, ``--parent-window=``) is ignored.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, Callable

from native_host import __version__
from native_host.engine.blocklist import Blocklist, bundled
from native_host.errors import BadFrame, FrameTooLarge, RootSentinelError, SchemaError, TruncatedFrame
from native_host.framing import DEFAULT_MAX_FRAME, FrameReader, decode_message, encode_frame, write_all
from native_host.engine.verdict import Chain, Policy, judge

if TYPE_CHECKING:
    from native_host.config import SystemConfig
    from native_host.engine.publicroots import PublicRoots
    from native_host.route import Route

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
        public: default Mozilla's store from certifi, loaded on first use (so ``hello`` stays fast).
        policy: the system policy (enterprise config); a connection's ``hello`` may add to it.
        audit: called with every ``check`` and ``probe`` verdict (:class:`native_host.audit.AuditLog`), or None.
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

    @classmethod
    def from_config(cls, config: "SystemConfig") -> "Service":
        """The service a loaded system config asks for (policy, installed blocklist, audit log)."""
        audit = None
        if config.audit:  # imported only when enabled: keeps the host's start fast
            from native_host.audit import AuditLog

            audit = AuditLog.from_config(config)
        return cls(blocklist=config.blocklist, policy=config.policy, config_error=config.error, audit=audit)

    def record(self, verdict: dict[str, Any]) -> dict[str, Any]:
        """Hand a finished verdict to the audit log, if any; returns the verdict."""
        if self.audit is not None:
            self.audit(verdict)
        return verdict

    @property
    def public(self) -> PublicRoots:
        if self._public is None:
            from native_host.engine.publicroots import mozilla

            self._public = mozilla()
        return self._public

    def warm_up(self) -> None:
        """Import what the first ``check`` needs and load the public roots (run on a background thread).
        pyOpenSSL (about 5 MB) waits for the first probe, which Firefox rarely asks for."""
        import native_host.engine.chains  # noqa: F401 - cryptography
        from native_host.schemas import validator

        validator("check.request")  # jsonschema
        _ = self.public

    def hello(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer ``hello``; a ``policy`` in it applies to the rest of the connection."""
        if "policy" in msg:
            self.policy = self.system_policy.merged(Policy.from_json(msg["policy"]))
        return {"type": "hello", "id": msg["id"], "version": __version__, "protocol": PROTOCOL,
                "blocklist": self.blocklist.summary(), "config_error": self.config_error}

    def judge(self, chain: Chain) -> dict[str, Any]:
        """Run the verdict engine with this service's blocklist, public roots and policy."""
        return judge(chain, self.blocklist, self.public, self.policy)

    def check(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer ``check`` (``chain`` or ``securityInfo``).

        Raises:
            BadBase64, BadDER, SchemaError: bad certificates.
        """
        from native_host.engine.chains import chain_from_base64, chain_from_security_info

        url = msg.get("url")
        if "chain" in msg:
            chain = chain_from_base64(msg["chain"], url=url)
        else:
            chain = chain_from_security_info(msg["securityInfo"], url=url, validated=True)  # check.request covered it
        verdict = self.record(self.judge(chain))
        verdict["id"] = msg["id"]
        return verdict

    def probe(self, host: str, port: int = 443, url: str | None = None, timeout: float = 5.0,
              route: "Route | None" = None) -> dict[str, Any]:
        """Probe ``host:port`` along ``route`` and judge the presented chain (evidence ``probe``).

        Args:
            route: the address and proxy to use (:class:`native_host.route.Route`, from the browser's
                probe request or the CLI's ``--connect-to`` / ``--proxy``); default: resolve, go direct.

        A failed handshake gives an ``unknown`` verdict with reason ``probe_failed`` and the error in
        ``probe.error`` (a verdict, not an error frame: "the network presented nothing" is an answer);
        ``probe.route`` records the route facts either way (docs/protocol.md).
        """
        from native_host.engine.certfacts import cert_facts
        from native_host.probe import probe
        from native_host.route import Route

        route = route or Route()
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
            verdict = self.judge(chain)
            verdict["probe"] = {"host": host, "port": port, "sni": result.sni, "elapsed_ms": result.elapsed_ms,
                                "error": None, "route": route.facts(result.connected)}
        return self.record(verdict)


def fit_reply(reply: dict[str, Any]) -> bytes:
    """Encode a reply as a frame under 1 MiB, cutting chain detail if needed (``truncated: true``).

    Steps: cap every chain row's text fields at 2,048 characters; then keep only the leaf, the matched
    row and the top row; then drop the chain rows entirely.
    """
    try:
        return encode_frame(reply)
    except ValueError:
        pass
    reply["truncated"] = True
    for row in reply.get("chain", ()):
        for key, value in row.items():
            if isinstance(value, str) and len(value) > _FIELD_CAP:
                row[key] = value[:_FIELD_CAP] + "\u2026"
    for key in ("explanation", "url"):
        if isinstance(reply.get(key), str) and len(reply[key]) > _FIELD_CAP:
            reply[key] = reply[key][:_FIELD_CAP] + "\u2026"
    try:
        return encode_frame(reply)
    except ValueError:
        pass
    rows = reply.get("chain", [])
    keep = {0, len(rows) - 1}
    if reply.get("matched"):
        keep.add(reply["matched"]["index"])
    reply["chain"] = [r for r in rows if r["index"] in keep]
    try:
        return encode_frame(reply)
    except ValueError:
        reply["chain"] = []
        return encode_frame(reply)


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
        self._pool = None  # a ThreadPoolExecutor, made at the first probe
        self._warm: threading.Thread | None = None

    def send(self, reply: dict[str, Any]) -> None:
        """Write one reply frame (thread-safe)."""
        frame = fit_reply(reply)
        with self._write_lock:
            write_all(self.out_fd, frame)

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
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe")
        self._pool.submit(self._probe_job, msg)
        return None

    def _probe_job(self, msg: dict[str, Any]) -> None:
        try:
            host, port = msg["host"], msg.get("port", 443)
            from native_host.route import Route

            verdict = self.service.probe(host, port, msg.get("url"), route=Route.from_request(msg.get("route")))
            verdict["id"] = msg["id"]
            self.send(verdict)
        except Exception as exc:  # noqa: BLE001 - a worker must always answer
            _log_exception("probe failed")
            self.send({"type": "error", "id": msg.get("id"), "code": "internal", "message": str(exc)[:900]})

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
                    reply = _error(_id_of(msg), exc)
                except Exception as exc:  # noqa: BLE001 - never die on one message
                    _log_exception("internal error")
                    reply = {"type": "error", "id": _id_of(msg), "code": "internal",
                             "message": f"internal error: {type(exc).__name__}"}
                if reply is not None:
                    self.send(reply)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


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
    from native_host.config import load_system_config

    return Host(sys.stdin.buffer, out_fd, Service.from_config(load_system_config()), max_frame).serve()


def main_from_argv(argv: list[str]) -> int:
    """Run the host from command-line words: ``--max-frame N`` (or ``=N``) is read, every other word
    (``host``, the manifest path and extension id Firefox passes, Chrome's origin and
    ``--parent-window=``) is ignored (browser-apis.md 3.1)."""
    max_frame = DEFAULT_MAX_FRAME
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--max-frame" and i + 1 < len(argv) else (
            arg.split("=", 1)[1] if arg.startswith("--max-frame=") else None)
        if value is not None and value.isdigit():
            max_frame = int(value)
    return run(max_frame=max_frame)
