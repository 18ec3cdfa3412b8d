"""The native messaging host (``rootsentinel host``, what host manifests launch).

Protocol: docs/protocol.md; framing: :mod:`native_host.messaging.framing`. Guarantees:

- nothing but frames reaches stdout: at start the real stdout fd is duplicated for frames and fd 1 is
  pointed at stderr, so a stray ``print`` or C-level write cannot corrupt the channel (field report A.1);
- every bad frame gets an ``error`` frame and the host keeps serving; EOF on stdin exits 0;
- replies stay under 1 MiB (chain detail is cut and ``truncated`` is set; field report A.2);
- ``probe`` requests run on worker threads so a slow server does not hold up ``check`` replies; they are
  bounded, shared per origin, have a deadline from when they were asked and are cancelled at EOF
  (:class:`ProbeScheduler`);
- an AIA caIssuers fetch never runs on the main thread nor holds a probe worker: a ``check`` or probe whose
  verdict needs one is completed on the AIA workers (:class:`AiaWorkers`), inside its deadline;
- hostile JSON (lone surrogates, deep nesting, huge integers) is ``bad_json``, never ``internal``;
- unknown extra argv from browsers (manifest path, extension id, ``--parent-window=``) is ignored.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, BinaryIO

from native_host.errors import BadFrame, FrameTooLarge, RootSentinelError, SchemaError, TruncatedFrame
from native_host.messaging.framing import DEFAULT_MAX_FRAME, FrameReader, decode_message, encode_frame, write_all
from native_host.messaging.scheduler import (CHECK_DEADLINE, EOF_GRACE, PROBE_DEADLINE, PROBE_QUEUE,  # noqa: F401
                                             PROBE_WORKERS, AiaWorkers, ProbeScheduler)
from native_host.messaging.service import (PROTOCOL, Deferred, Service, der_wanted_verdict,  # noqa: F401
                                           log_exception)

# cryptography, jsonschema and pyOpenSSL cost ~120 ms to import: the host answers a bare ``hello`` before
# importing them (cold start is what a browser waits for on every connectNative) and warms them up on a
# background thread while it waits for the next frame.

_FIELD_CAP = 2048


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
        self.aia = AiaWorkers()  # checks and probes that need an AIA fetch: never on this thread
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
        """Answer one decoded message; returns None when the reply will be sent later (a probe, or a check
        that needs an AIA fetch: both are answered from worker threads)."""
        kind = msg.get("type")
        if kind not in ("hello", "check", "probe", "blocked"):
            raise SchemaError(f"unknown message type {str(kind)[:50]!r}; expected hello, check, probe or blocked")
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
        if kind == "blocked":
            return self.service.blocked(msg)
        if kind == "check":
            import time

            reply = self.service.check(msg, network=False)
            if isinstance(reply, Deferred):  # answered from an AIA worker
                msg_id = msg["id"]
                self.aia.submit(reply, time.monotonic() + CHECK_DEADLINE,
                                lambda v, e: self.send(v if v is not None else {**e, "id": msg_id}))
                return None
            return reply
        port = msg.get("port", 443)
        if not self.service.probing:  # probing: false (system config or hello policy): no connection at all
            reply = self.service.probing_disabled(msg["host"], int(port), msg.get("url"))
            reply["id"] = msg["id"]
            return reply
        if self.probes is None:
            self.probes = ProbeScheduler(self.service, self.send, self.probe_workers, self.probe_queue,
                                         self.probe_deadline, aia=self.aia)
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
                    log_exception("internal error")
                    reply = {"type": "error", "id": _id_of(msg), "code": "internal",
                             "message": f"internal error: {type(exc).__name__}"}
                if reply is not None:
                    self.send(reply)
        finally:
            if self.probes is not None:
                self.probes.close(grace=EOF_GRACE)
            self.aia.close()


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
