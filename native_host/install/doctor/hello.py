"""``rootsentinel doctor``'s hello round trip: start the host as the browser would and speak the protocol
(a frame is a 4-byte native-order length plus UTF-8 JSON; docs/protocol.md)."""

from __future__ import annotations

import json
import queue
import struct
import subprocess
import threading
import time

from native_host.install.doctor.checks import MAX_REPLY, HelloResult

def encode_frame(message: dict) -> bytes:
    """A native-messaging frame: ``struct.pack('=I', len(body)) + body`` (native byte order, UTF-8 JSON)."""
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return struct.pack("=I", len(body)) + body


def _read_exact(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def hello_roundtrip(argv: list[str], *, cwd: str | None = None, timeout: float = 5.0,
                    request_id: str = "doctor") -> HelloResult:
    """Start a host like a browser does, send ``hello``, and read one reply frame.

    Args:
        argv: the host command (browser-style arguments included).
        cwd: working directory (Firefox uses the host's directory).
        timeout: seconds to wait for the reply.
        request_id: the ``id`` sent and expected back.

    Returns:
        a :class:`HelloResult`; never raises for host misbehaviour (that is what it diagnoses).
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    except OSError as exc:
        return HelloResult(False, None, f"cannot start the host: {exc.strerror or exc}", 0.0)
    results: queue.Queue = queue.Queue()
    err_chunks: list[bytes] = []

    def read_reply() -> None:
        header = _read_exact(proc.stdout, 4)
        if len(header) < 4:
            results.put(("eof", header))
            return
        (length,) = struct.unpack("=I", header)
        if length > MAX_REPLY:
            results.put(("garbage", header))
            return
        results.put(("frame", _read_exact(proc.stdout, length), length))

    def drain_stderr() -> None:
        for chunk in iter(lambda: proc.stderr.read(4096), b""):
            err_chunks.append(chunk)
            if sum(map(len, err_chunks)) > 65536:
                err_chunks.pop(0)

    threading.Thread(target=read_reply, daemon=True).start()
    err_thread = threading.Thread(target=drain_stderr, daemon=True)
    err_thread.start()
    try:
        try:
            proc.stdin.write(encode_frame({"type": "hello", "id": request_id}))
            proc.stdin.flush()
        except OSError:
            pass  # the host may already have died; the reader reports it
        try:
            got = results.get(timeout=timeout)
        except queue.Empty:
            got = ("timeout",)
    finally:
        elapsed = (time.monotonic() - start) * 1000
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err_thread.join(timeout=1)
    tail = b"".join(err_chunks).decode("utf-8", "replace").strip().splitlines()
    last = tail[-1][:200] if tail else ""
    kind = got[0]
    if kind == "timeout":
        return HelloResult(False, None, f"no reply within {timeout:g} s", elapsed, last)
    if kind == "eof":
        why = f"the host exited (code {proc.returncode}) without replying"
        if last:
            why += f"; its last stderr line: {last}"
        return HelloResult(False, None, why, elapsed, last)
    if kind == "garbage":
        return HelloResult(False, None,
                           f"the host wrote non-frame bytes to stdout ({got[1]!r} read as a length); "
                           "something prints to stdout", elapsed, last)
    body = got[1]
    if len(body) < got[2]:
        return HelloResult(False, None, f"the reply frame was cut short ({len(body)} of {got[2]} bytes)", elapsed, last)
    try:
        reply = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return HelloResult(False, None, f"the reply is not UTF-8 JSON: {exc}", elapsed, last)
    if not isinstance(reply, dict):
        return HelloResult(False, None, "the reply is not a JSON object", elapsed, last)
    if reply.get("type") == "error":
        return HelloResult(False, reply, f"the host answered with an error: {reply.get('code')}: {reply.get('message')}", elapsed, last)
    if reply.get("type") != "hello":
        return HelloResult(False, reply, f"the reply has type {reply.get('type')!r}, expected 'hello'", elapsed, last)
    if reply.get("id") != request_id:
        return HelloResult(False, reply, f"the reply id {reply.get('id')!r} does not echo the request id {request_id!r}", elapsed, last)
    return HelloResult(True, reply, None, elapsed, last)


