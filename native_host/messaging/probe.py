"""The probe: our own TLS handshake to host:port that records the chain the server *presented*.

Nothing is verified: the point is to see what the network presents, including chains that a browser
refuses (browser-apis.md 2.4). The exact hostname goes in SNI because interception can be SNI-selective
(IMC 2020 Kazakhstan paper; net4people/bbs#66). Python 3.11's ``ssl`` exposes only the leaf, so the
handshake is done with pyOpenSSL (``Connection.get_peer_cert_chain``: the certificates the peer sent).

The route (:mod:`native_host.messaging.route`): the browser tells the host the address it connected to and the proxy
in force, and the probe connects to that address, or tunnels through that proxy, with the page's name in
SNI. What it still cannot follow (a PAC script's per-request choice, QUIC) is recorded in the verdict's
``probe.route`` and shown in the popup; a local antivirus may intercept the host's connection too.
"""

from __future__ import annotations

import select
import time
from dataclasses import dataclass, field

from OpenSSL import SSL, crypto

from native_host.errors import ProbeFailed
from native_host.messaging.route import Route, is_ip, open_route

DEFAULT_TIMEOUT = 5.0
"""Seconds for connect + handshake together."""


@dataclass
class ProbeResult:
    """What a probe saw.

    Attributes:
        host / port: where it connected. sni: the server name sent (None for an IP address).
        chain: DER certificates as presented, leaf first.
        elapsed_ms: connect + handshake time in milliseconds.
        protocol: the negotiated TLS version, e.g. ``"TLSv1.3"``.
        connected: the ``host:port`` the TCP connection went to (a proxy's when tunnelled).
    """

    host: str
    port: int
    sni: str | None
    chain: list[bytes] = field(default_factory=list)
    elapsed_ms: float = 0.0
    protocol: str | None = None
    connected: str | None = None


_NOT_TLS_REASONS = ("wrong version number", "packet length too long", "http request", "record layer failure")
"""OpenSSL reasons for a first reply that is not a TLS record (a plain-HTTP server answering our ClientHello
with ``HTTP/1.1 400``): OpenSSL ``ssl/record`` error strings ``SSL_R_WRONG_VERSION_NUMBER`` (1.1/3.x),
``SSL_R_PACKET_LENGTH_TOO_LONG`` and ``SSL_R_HTTP_REQUEST``."""


def _handshake_failure(host: str, port: int, exc: Exception) -> str:
    """One line for a failed handshake: plain words for a server that does not speak TLS, else OpenSSL's reason."""
    text = str(exc)
    if any(reason in text.lower() for reason in _NOT_TLS_REASONS):
        return (f"{host}:{port}: the server did not answer TLS (a plain-HTTP or other non-TLS service on that port?); "
                "there is no certificate to judge")
    reasons = [r[2] for r in getattr(exc, "args", [[]])[0] if isinstance(r, tuple) and len(r) == 3] \
        if exc.args and isinstance(exc.args[0], list) else []
    return f"TLS handshake with {host}:{port} failed: {'; '.join(reasons) or text}"


def probe(host: str, port: int = 443, *, sni: str | None = None, timeout: float = DEFAULT_TIMEOUT,
          route: Route | None = None) -> ProbeResult:
    """Handshake with ``host:port`` and return the presented chain.

    Args:
        host: DNS name or IP address (IPv6 with or without brackets).
        port: TCP port.
        sni: server name to send; default ``host`` unless it is an IP address (RFC 6066 section 3 forbids
            IP literals in SNI).
        timeout: seconds for the whole connect (and proxy tunnel) + handshake.
        route: the address to connect to and the proxy to go through (:class:`native_host.messaging.route.Route`);
            default: resolve ``host`` and connect directly.

    Raises:
        ProbeFailed: DNS failure, refused, timeout, not TLS, or no certificate presented;
            :class:`native_host.messaging.route.ProxyAuthRequired` when the proxy asks for credentials.
    """
    address = host.strip("[]")
    if sni is None and not is_ip(address):
        sni = address
    started = time.monotonic()
    deadline = started + timeout
    try:
        sock, connected = open_route(address, port, route or Route(), deadline)
    except UnicodeError as exc:  # the idna codec refuses the name (a label over 63 characters, "a..b", "...")
        raise ProbeFailed(f"cannot connect to {host}:{port}: not a valid host name ({exc})") from exc
    try:
        sock.setblocking(False)
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
        conn = SSL.Connection(ctx, sock)
        if sni:
            conn.set_tlsext_host_name(sni.encode("idna"))
        conn.set_connect_state()
        while True:
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                wait = ([sock], [], [])
            except SSL.WantWriteError:
                wait = ([], [sock], [])
            except SSL.Error as exc:
                raise ProbeFailed(_handshake_failure(host, port, exc)) from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not any(select.select(*wait, remaining)):
                raise ProbeFailed(f"TLS handshake with {host}:{port} timed out after {timeout:g} s")
        peer = conn.get_peer_cert_chain() or []
        chain = [crypto.dump_certificate(crypto.FILETYPE_ASN1, c) for c in peer]
        if not chain:
            raise ProbeFailed(f"{host}:{port} presented no certificate")
        return ProbeResult(host=host, port=port, sni=sni, chain=chain,
                           elapsed_ms=round((time.monotonic() - started) * 1000, 3),
                           protocol=conn.get_protocol_version_name(), connected=connected)
    except (OSError, UnicodeError) as exc:
        raise ProbeFailed(f"probe of {host}:{port} failed: {exc}") from exc
    finally:
        sock.close()
