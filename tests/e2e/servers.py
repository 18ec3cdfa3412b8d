"""Local web servers for the end-to-end tests: HTTPS (Python ``ssl``) and plain HTTP, 127.0.0.1 only.

Each server serves a fixed table of paths, so a test states exactly what each page contains.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    server_version = "RootSentinelTest/1"

    def do_GET(self):  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        self.server.hits.append(path)
        page = self.server.pages.get(path)
        if page is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.later_context is not None:
            # From now on new connections get the other chain (WebServer's ``then_present``).
            self.server.context = self.server.later_context
        ctype, body, *rest = page
        headers = {"Cache-Control": "no-store", **(rest[0] if rest else {})}
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(int(headers.pop("Status", 200)))
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep pytest output clean
        pass


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler, context: ssl.SSLContext | None):
        self.context = context
        self.later_context = None
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.context is None:
            return sock, addr
        sock.settimeout(10)
        try:
            return self.context.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError):
            sock.close()
            raise


class WebServer:
    """A threaded server on ``bind`` (default ``127.0.0.1``) at a free port; HTTPS when given a chain and key.

    ``pages`` maps a path to ``(content type, body)`` or ``(content type, body, headers)``; a
    ``Status`` header sets the status code (e.g. 302 with ``Location``). Responses are ``no-store``
    unless the headers say otherwise. The table may be changed before requests arrive.

    ``then_present=(chain_pem, key_pem)`` makes every connection after the first request present
    another chain: an interceptor that picks its victims, showing the browser one chain and a later
    connection (RootSentinel's probe) another. HTTP/1.0 responses close their connection, so the
    browser's page load is the first request.
    """

    def __init__(self, chain_pem: Path | None = None, key_pem: Path | None = None,
                 then_present: tuple[Path, Path] | None = None, bind: str = "127.0.0.1"):
        ctx = None
        if chain_pem is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(chain_pem, key_pem)
        self.scheme = "https" if ctx else "http"
        self.httpd = _TLSServer((bind, 0), _Handler, ctx)
        if then_present is not None:
            later = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            later.load_cert_chain(*then_present)
            self.httpd.later_context = later
        self.httpd.pages = {}
        self.pages = self.httpd.pages
        self.httpd.hits = []
        self.hits = self.httpd.hits  # paths requested, in order
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def present(self, chain_pem: Path, key_pem: Path) -> None:
        """From now on new connections get this chain (an interceptor that starts now)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(chain_pem, key_pem)
        self.httpd.context = ctx

    def url(self, path: str = "/", host: str = "localhost") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> "WebServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
