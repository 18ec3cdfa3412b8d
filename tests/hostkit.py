"""Test kit: the real host process over pipes, and local TLS servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class HostProcess:
    """``python -m native_host host`` with pipes, speaking the framing (4-byte native length + JSON)."""

    def __init__(self, *extra_args: str, env: dict | None = None, argv: list[str] | None = None):
        self.proc = subprocess.Popen(
            argv or [sys.executable, "-m", "native_host", "host", *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})})
        self._buf = b""

    def write(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send_frame(self, payload: bytes) -> None:
        self.write(struct.pack("=I", len(payload)) + payload)

    def send(self, obj) -> None:
        self.send_frame(json.dumps(obj).encode("utf-8"))

    def _read(self, n: int, timeout: float) -> bytes:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError(f"host sent {len(self._buf)} of {n} bytes")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError("host closed stdout")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv_raw(self, timeout: float = 20.0) -> bytes:
        (n,) = struct.unpack("=I", self._read(4, timeout))
        return self._read(n, timeout)

    def recv(self, timeout: float = 20.0) -> dict:
        return json.loads(self.recv_raw(timeout))

    def request(self, obj, timeout: float = 20.0) -> dict:
        self.send(obj)
        return self.recv(timeout)

    def close(self, timeout: float = 10.0) -> tuple[int, bytes, bytes]:
        """Close stdin (the browser's "disconnect") and return (exit code, rest of stdout, stderr)."""
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        code = self.proc.wait(timeout)
        rest = self._buf + self.proc.stdout.read()
        return code, rest, self.proc.stderr.read()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"<!doctype html><title>ok</title>ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def tls_server(chain_pem: bytes, key_pem: bytes, bind: str = "127.0.0.1"):
    """An HTTPS server on ``bind`` (default 127.0.0.1) at a free port presenting ``chain_pem`` (leaf first).
    Yields the port."""
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "chain.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(chain_pem)
        key_file.write_bytes(key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        server = ThreadingHTTPServer((bind, 0), _Handler)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()
            server.server_close()


@contextlib.contextmanager
def trickler(delay: float = 0.3, seconds: float = 20.0):
    """A TCP server that answers ``HTTP/1.1 200 OK`` and then one header byte every ``delay`` seconds."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    stop = threading.Event()

    def serve(conn):
        with conn:
            try:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                end = time.monotonic() + seconds
                while not stop.is_set() and time.monotonic() < end:
                    conn.sendall(b"X")
                    time.sleep(delay)
            except OSError:
                pass

    def accept():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        srv.close()
