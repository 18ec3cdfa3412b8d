"""AIA completion: fetch a missing issuer from the caIssuers URL of the certificate it signed.

Servers often forget to send their intermediate; browsers then fetch it from the Authority Information
Access caIssuers URL (RFC 5280 4.2.2.1; Chrome on Windows/Android/macOS and Firefox's intermediate
preloading). The host does the same for its probes and checks (the CLI only with ``--fetch-issuers``)
so that such a server is not called interception. The verdict engine stays pure: it receives a
:class:`Fetcher` as a plain callable (:data:`native_host.engine.verify.FetchIssuers`).

Bounds: ``http://`` only (what CAs publish; https would need a verified chain to fetch a chain), at
most :data:`MAX_BYTES` per response, :data:`TIMEOUT` seconds per read and for the whole body (a server
that trickles bytes is cut off after about twice that), no proxy from the environment,
results (also failures) cached per URL in a bounded LRU. A fetched certificate is only a *candidate*:
the path builder verifies its signature over the child and goes on from it like from a sent one, so a
forged issuer served at that URL gains nothing.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict

MAX_BYTES = 64 * 1024
"""Response size cap (a DER intermediate is 1-2 KB; a PKCS#7 bundle a few)."""

TIMEOUT = 3.0
"""Seconds per fetch (connect + read)."""

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


class Fetcher:
    """A bounded, cached caIssuers fetcher; call it with a URL to get DER certificates.

    Args:
        timeout: seconds per fetch (default :data:`TIMEOUT`).
        max_bytes: response size cap (default :data:`MAX_BYTES`); a larger response counts as a failure.

    Calling never raises: any network, HTTP or format problem gives ``[]`` (and is remembered for
    :data:`TTL_FAILED` seconds). ``last_errors`` keeps the latest one-line failures for diagnostics.
    """

    def __init__(self, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._cache: OrderedDict[str, tuple[float, list[bytes]]] = OrderedDict()
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.last_errors: list[str] = []
        self.fetches = 0

    def __call__(self, url: str) -> list[bytes]:
        if not isinstance(url, str) or not url.lower().startswith("http://") or len(url) > 2048:
            return []
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(url)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(url)
                return list(hit[1])
        ders = self._fetch(url)
        with self._lock:
            self._cache[url] = (now + (TTL_OK if ders else TTL_FAILED), ders)
            self._cache.move_to_end(url)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return list(ders)

    def _fetch(self, url: str) -> list[bytes]:
        self.fetches += 1
        deadline = time.monotonic() + self.timeout
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "RootSentinel-AIA/1",
                                                           "Accept": "application/pkix-cert, */*"})
            with self._opener.open(request, timeout=self.timeout) as response:
                if not response.geturl().lower().startswith("http://"):
                    raise ValueError("redirected away from http://")
                body = bytearray()
                while len(body) <= self.max_bytes:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"no full answer within {self.timeout:g} s")
                    chunk = response.read1(8192)  # what has arrived, not a full 8 KiB
                    if not chunk:
                        break
                    body += chunk
                if len(body) > self.max_bytes:
                    raise ValueError(f"response over {self.max_bytes} bytes")
        except (OSError, ValueError, urllib.error.URLError) as exc:  # TimeoutError is an OSError
            self._note(f"{url[:200]}: {' '.join(str(exc).split())[:200]}")
            return []
        ders = parse_issuers(bytes(body))
        if not ders:
            self._note(f"{url[:200]}: not a certificate (DER, PEM or PKCS#7)")
        return ders

    def _note(self, message: str) -> None:
        with self._lock:
            self.last_errors = (self.last_errors + [message])[-8:]
