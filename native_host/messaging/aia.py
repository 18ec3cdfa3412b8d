"""AIA completion: fetch a missing issuer from the caIssuers URL of the certificate it signed.

Servers often forget to send their intermediate; browsers then fetch it from the Authority Information
Access caIssuers URL (RFC 5280 4.2.2.1; Chrome on Windows/Android/macOS and Firefox's intermediate
preloading). The host does the same for its probes and checks (the CLI only with ``--fetch-issuers``)
so that such a server is not called interception. The verdict engine stays pure: it receives a
:class:`Fetcher` as a plain callable (:data:`native_host.engine.verify.FetchIssuers`).

The URL comes from a certificate the page's server (or an interceptor) chose, so a fetch is a request the
attacker aims. Bounds:

- ``http://`` only (what CAs publish; https would need a verified chain to fetch a chain), on any redirect
  too (at most :data:`MAX_REDIRECTS`);
- only to public addresses: the name is resolved first and every address that is loopback, private,
  link-local, multicast, reserved, unspecified or shared (CGNAT), also inside an IPv4-mapped, 6to4, Teredo
  or NAT64 IPv6 address, is refused (:func:`public_address`); the connection goes to the checked address,
  so a second lookup cannot move it;
- one total deadline per fetch (resolution, connect, redirects, headers, body): :data:`TIMEOUT` seconds or
  less when the caller's deadline is nearer; a watchdog shuts the socket when it passes, so a server that
  trickles header bytes is cut off on time;
- at most :data:`MAX_BYTES`; no proxy from the environment; one fetch per URL at a time (callers of the
  same URL wait for it); results (also failures) cached per URL in a bounded LRU.

Every fetch a verdict asked for is reported to the caller (``log``): ``fetched``, ``failed`` (with the
reason), ``refused`` (with the reason: not http, a non-public address), ``deferred`` (not fetched on this
thread: the host fetches on a worker and answers then) or ``skipped``. A fetched certificate is only a
*candidate*: the path builder verifies its signature over the child and goes on from it like from a sent
one, so a forged issuer served at that URL gains nothing.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict
from typing import Callable

from native_host.errors import ProbeFailed
from native_host.messaging.route import is_ip, resolve

MAX_BYTES = 64 * 1024
"""Response size cap (a DER intermediate is 1-2 KB; a PKCS#7 bundle a few)."""

TIMEOUT = 3.0
"""Seconds per fetch in all: resolution, connect, redirects, headers and body."""

CACHE_SIZE = 256
"""URLs remembered (successes for :data:`TTL_OK`, failures for :data:`TTL_FAILED` seconds)."""

TTL_OK = 24 * 3600.0
TTL_FAILED = 300.0


def parse_issuers(data: bytes) -> list[bytes]:
    """The DER certificates in a caIssuers response: one DER certificate (RFC 5280 says DER
    ``application/pkix-cert``), PEM, or a PKCS#7 "certs-only" bundle (``application/pkcs7-mime``), DER or PEM.

    Returns:
        DER certificates, ``[]`` when the body is none of these (never raises).
    """
    from cryptography import x509

    from native_host.engine.certfacts import pem_blocks
    from native_host.errors import BadDER

    if not data:
        return []
    if b"-----BEGIN" in data:
        try:
            blocks = pem_blocks(data)
        except BadDER:
            return []
        out = [d for label, d in blocks if label in ("CERTIFICATE", "X509 CERTIFICATE")]
        for label, d in blocks:
            if label == "PKCS7":
                out += _pkcs7_ders(d)
        return out[:8]
    try:
        x509.load_der_x509_certificate(data)
        return [data]
    except ValueError:
        pass
    return _pkcs7_ders(data)[:8]


def _pkcs7_ders(data: bytes) -> list[bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    try:
        certs = pkcs7.load_der_pkcs7_certificates(data)
    except Exception:  # noqa: BLE001 - ValueError, UnsupportedAlgorithm: not a certs-only bundle we can read
        return []
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


MAX_REDIRECTS = 3
"""Redirects followed per fetch at most (each checked like the first URL)."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def public_address(address: str) -> str | None:
    """Why ``address`` (an IPv4 or IPv6 literal) may not be fetched from, or None when it is a public one.

    Refused: anything Python's :mod:`ipaddress` does not call global (loopback, RFC 1918 and RFC 4193
    private, link-local, shared 100.64/10, documentation, benchmarking...), multicast, reserved and
    unspecified addresses; for IPv6 also the IPv4 address inside an IPv4-mapped (``::ffff:a.b.c.d``), 6to4,
    Teredo or NAT64 (``64:ff9b::/96``) address.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address[:60]!r} is not an IP address"
    inner = []
    if isinstance(ip, ipaddress.IPv6Address):
        inner = [a for a in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None) if a is not None]
        if ip in _NAT64:
            inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    for candidate in (ip, *inner):
        if (not candidate.is_global or candidate.is_multicast or candidate.is_reserved
                or candidate.is_unspecified or candidate.is_loopback or candidate.is_link_local):
            return f"{ip} is not a public address"
    return None


class Refused(Exception):
    """A fetch that is not made: not ``http://``, or to a non-public address (the message says which)."""


class Fetcher:
    """A bounded, cached caIssuers fetcher; call it with a URL to get DER certificates (module doc).

    Args:
        timeout: seconds per fetch in all (default :data:`TIMEOUT`).
        max_bytes: response size cap (default :data:`MAX_BYTES`); a larger response counts as a failure.
        allow_address: ``(address) -> reason | None`` deciding which resolved addresses may be fetched from
            (default :func:`public_address`). A constructor argument only, for tests that serve issuers on
            loopback: no request, configuration file or environment variable reaches it.

    Calling never raises: any network, HTTP or format problem gives ``[]`` (and is remembered for
    :data:`TTL_FAILED` seconds). ``last_errors`` keeps the latest one-line failures for diagnostics.
    """

    def __init__(self, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES,
                 allow_address: Callable[[str], str | None] | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._allow = allow_address or public_address
        self._cache: OrderedDict[str, tuple[float, list[bytes], str, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Event] = {}
        self.last_errors: list[str] = []
        self.fetches = 0

    def __call__(self, url: str, deadline: float | None = None, log: list[dict] | None = None,
                 network: bool = True, skip: str | None = None) -> list[bytes]:
        """DER certificates served at ``url``.

        Args:
            deadline: a ``time.monotonic()`` value the fetch must end by (default now + :attr:`timeout`).
            log: gets one ``{"url", "outcome", "reason"}`` per call (outcomes in the module doc).
            network: False: answer from the cache only; a URL not cached is ``deferred`` (returns ``[]``).
            skip: answer from the cache only; a URL not cached is ``skipped`` for this reason.
        """
        def note(outcome: str, reason: str | None) -> None:
            if log is not None:
                log.append({"url": str(url)[:300], "outcome": outcome, "reason": reason})

        if not isinstance(url, str) or len(url) > 2048 or not url.lower().startswith("http://"):
            note("refused", "not an http:// URL")
            return []
        while True:
            now = time.monotonic()
            with self._lock:
                hit = self._cache.get(url)
                if hit is not None and hit[0] > now:
                    self._cache.move_to_end(url)
                    note(hit[2], hit[3])
                    return list(hit[1])
                if not network or skip:
                    note("skipped" if skip else "deferred", skip)
                    return []
                busy = self._inflight.get(url)
                if busy is None:
                    done = self._inflight[url] = threading.Event()
                    break
            end = deadline if deadline is not None else now + self.timeout
            if not busy.wait(max(0.0, end - time.monotonic())):  # another caller is fetching it
                note("failed", "no answer in time (fetched for another request)")
                return []
        try:
            end = min(deadline, now + self.timeout) if deadline is not None else now + self.timeout
            ders, outcome, reason = self._fetch(url, end)
            with self._lock:
                self._cache[url] = (time.monotonic() + (TTL_OK if ders else TTL_FAILED), ders, outcome, reason)
                self._cache.move_to_end(url)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        finally:
            with self._lock:
                self._inflight.pop(url, None)
            done.set()
        note(outcome, reason)
        return list(ders)

    def _fetch(self, url: str, deadline: float) -> tuple[list[bytes], str, str | None]:
        """``(ders, outcome, reason)`` of one fetch of ``url`` with its redirects, all before ``deadline``."""
        self.fetches += 1
        try:
            body = self._get(url, deadline)
        except Refused as exc:
            reason = " ".join(str(exc).split())[:200]
            self._note(f"{url[:200]}: refused: {reason}")
            return [], "refused", reason
        except (OSError, ValueError, http.client.HTTPException, ProbeFailed) as exc:
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            self._note(f"{url[:200]}: {reason}")
            return [], "failed", reason
        ders = parse_issuers(body)
        if not ders:
            self._note(f"{url[:200]}: not a certificate (DER, PEM or PKCS#7)")
            return [], "failed", "not a certificate (DER, PEM or PKCS#7)"
        return ders, "fetched", None

    def _get(self, url: str, deadline: float) -> bytes:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(current)
            if parts.scheme.lower() != "http":
                raise Refused(f"redirected to a {parts.scheme or 'relative'}: URL, not http://")
            host, port = parts.hostname, parts.port or 80  # .port raises ValueError for a bad port
            if not host:
                raise ValueError("no host in the URL")
            sock = self._connect(host, port, deadline)
            status, location, body = self._exchange(sock, host, port, parts, deadline)
            if status in (301, 302, 303, 307, 308) and location:
                current = urllib.parse.urljoin(current, location)
                continue
            if status != 200:
                raise ValueError(f"HTTP {status}")
            return body
        raise Refused(f"more than {MAX_REDIRECTS} redirects")

    def _connect(self, host: str, port: int, deadline: float) -> socket.socket:
        if is_ip(host):
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
        else:
            infos = resolve(host, port, deadline)
        allowed = [info for info in infos if self._allow(info[4][0]) is None]
        if not allowed:
            raise Refused(f"{host[:100]} is not fetched from: {self._allow(infos[0][4][0])}")
        last: OSError | None = None
        for family, kind, proto, _, address in allowed[:4]:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(left)
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise TimeoutError(f"no connection within {self.timeout:g} s") if last is None else last

    def _exchange(self, sock: socket.socket, host: str, port: int, parts: urllib.parse.SplitResult,
                  deadline: float) -> tuple[int, str | None, bytes]:
        """One GET on ``sock``; a watchdog shuts the socket at ``deadline`` whatever it is waiting for."""
        expired = threading.Event()

        def cut() -> None:
            expired.set()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
        watchdog.daemon = True
        watchdog.start()
        conn = http.client.HTTPConnection(host, port)
        conn.sock = sock
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            path = parts.path or "/"
            conn.request("GET", path + (f"?{parts.query}" if parts.query else ""),
                         headers={"User-Agent": "RootSentinel-AIA/1", "Accept": "application/pkix-cert, */*",
                                  "Connection": "close"})
            response = conn.getresponse()
            if response.status != 200:
                return response.status, response.getheader("Location"), b""
            body = bytearray()
            while len(body) <= self.max_bytes:
                if time.monotonic() > deadline:
                    raise TimeoutError("deadline")
                chunk = response.read1(8192)  # what has arrived, not a full 8 KiB
                if not chunk:
                    break
                body += chunk
            if len(body) > self.max_bytes:
                raise ValueError(f"response over {self.max_bytes} bytes")
            return 200, None, bytes(body)
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set() or time.monotonic() >= deadline:
                raise TimeoutError(f"no full answer within {self.timeout:g} s") from exc
            raise
        finally:
            watchdog.cancel()
            conn.close()
            sock.close()

    def _note(self, message: str) -> None:
        with self._lock:
            self.last_errors = (self.last_errors + [message])[-8:]
