"""The probe's route: which address it connects to and through which proxy, so that the host's own TLS
connection takes the path the browser's connection took (issue 15).

Two situations make a probe that goes straight to the page's name see something else than the browser:

- an explicit proxy (a corporate TLS-inspection proxy, a developer proxy) that the browser uses and the
  host does not: the probe then sees the origin's own chain while every byte of the page is decrypted;
- another address for the same name (Chrome's Secure DNS, a hosts-file entry, split DNS): the probe then
  reaches another server, or none.

So the browser tells the host the address it connected to and the proxy in force (docs/protocol.md,
``probe`` ``route``), and the CLI takes the same facts from ``--connect-to`` and ``--proxy``.

Tunnels (what the browser does through the same proxy):

- HTTP ``CONNECT host:port`` (RFC 9110 section 9.3.6); a ``407`` answer means the proxy wants
  credentials, which are out of scope: :class:`ProxyAuthRequired`.
- SOCKS5 ``CONNECT`` with the host *name* (RFC 1928 address type 3, as Chromium sends it: the proxy
  resolves), "no authentication" only; a proxy that insists on a method (username/password, RFC 1929)
  gives :class:`ProxyAuthRequired`.

What a route cannot carry: which proxy a PAC script or the OS settings picked for one request (the
browser does not tell extensions), and QUIC (HTTP/3 goes over UDP; the probe speaks TCP TLS only).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from native_host.errors import BadInput, ProbeFailed

PROXY_SCHEMES = ("http", "socks5")
"""Proxy schemes the probe can tunnel through (``socks5h`` is read as ``socks5``: the name is always sent)."""

PROXY_MODES = ("direct", "fixed_servers", "pac_script", "system", "auto_detect")
"""Chromium's ``chrome.proxy`` modes (developer.chrome.com/docs/extensions/reference/api/proxy, ``Mode``)."""

UNKNOWN_PROXY_MODES = ("pac_script", "system", "auto_detect")
"""Modes in which the browser decides per request and does not tell the extension which proxy it used."""

_MAX_CONNECT_REPLY = 16 * 1024
_HOST_TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")


class ProxyAuthRequired(ProbeFailed):
    """The proxy asked for credentials (HTTP 407, or a SOCKS5 proxy that accepts no anonymous clients).
    Credentials are out of scope: the probe's verdict is ``unknown`` and says so."""


class ProxyUnsupported(ProbeFailed):
    """The browser uses a kind of proxy the probe cannot tunnel through (HTTPS proxies, SOCKS4, QUIC)."""


def _clean(text: str, limit: int = 200) -> str:
    """Proxy answers are attacker-controlled: printable ASCII only, capped."""
    out = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return out[:limit]


def is_ip(host: str) -> bool:
    """True for an IPv4 or IPv6 literal (IPv6 with or without brackets)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Proxy:
    """A proxy the probe tunnels through.

    Attributes:
        scheme: ``"http"`` (HTTP CONNECT) or ``"socks5"``.
        host: its name or IP address (IPv6 without brackets).
        port: its TCP port.
    """

    scheme: str
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> "Proxy":
        """Parse ``http://HOST:PORT``, ``socks5://HOST:PORT`` (``socks5h`` too; port default 80 / 1080).

        Raises:
            BadInput: not such a URL, a scheme the probe cannot tunnel through, or credentials in it
                (out of scope, and they must not end up in logs or verdicts).
        """
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise BadInput(f"bad proxy URL {_clean(url)!r}: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme == "socks5h":
            scheme = "socks5"
        if scheme not in PROXY_SCHEMES:
            raise BadInput(f"proxy scheme {_clean(parts.scheme)!r} is not supported; use http:// or socks5://")
        if parts.username or parts.password:
            raise BadInput("proxy credentials are out of scope: give the proxy URL without user:password")
        if not parts.hostname:
            raise BadInput(f"no host in proxy URL {_clean(url)!r}")
        return cls(scheme, parts.hostname, port or (1080 if scheme == "socks5" else 80))

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Proxy":
        """From a probe request's ``route.proxy`` (``{"mode": "fixed_servers", "scheme", "host", "port"}``;
        Chromium's ``ProxyServer`` names the schemes ``http``, ``https``, ``socks4``, ``socks5``, ``quic``).

        Raises:
            ProxyUnsupported: a scheme the probe cannot tunnel through.
        """
        scheme = str(obj.get("scheme") or "http").lower()
        if scheme not in PROXY_SCHEMES:
            raise ProxyUnsupported(f"the browser uses a {_clean(scheme, 20)} proxy, which the probe cannot go through "
                                   "(it speaks HTTP CONNECT and SOCKS5)")
        return cls(scheme, str(obj["host"]).strip("[]"), int(obj.get("port") or (1080 if scheme == "socks5" else 80)))

    def url(self) -> str:
        """``scheme://host:port`` (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True)
class Route:
    """How the probe reaches ``host:port``.

    Attributes:
        address: the IP address to connect to instead of resolving the name (the browser's
            ``details.ip``, or ``--connect-to``); None: resolve the name. With a proxy, the browser's
            address is the proxy's and is only recorded.
        proxy: the proxy to tunnel through, or None (direct).
        proxy_mode: the browser's proxy mode (:data:`PROXY_MODES`), or None when not from a browser.
        from_browser: True when the browser gave these facts, False for the CLI or a default route.
        unsupported: why the browser's proxy cannot be followed (the probe then fails with that), or None.
    """

    address: str | None = None
    proxy: Proxy | None = None
    proxy_mode: str | None = None
    from_browser: bool = False
    unsupported: str | None = None

    @classmethod
    def from_request(cls, obj: dict[str, Any] | None) -> "Route":
        """From a probe request's ``route`` (already valid against probe.request.schema.json); None gives
        the default route (resolve the name, go direct)."""
        if not obj:
            return cls()
        proxy_obj = obj.get("proxy") or {}
        mode = proxy_obj.get("mode")
        proxy, unsupported = None, None
        if mode == "fixed_servers" and proxy_obj.get("host"):
            try:
                proxy = Proxy.from_json(proxy_obj)
            except ProxyUnsupported as exc:
                unsupported = str(exc)
        address = (obj.get("address") or "").strip("[]")
        return cls(address=address if is_ip(address) else None, proxy=proxy, proxy_mode=mode,
                   from_browser=True, unsupported=unsupported)

    @classmethod
    def from_cli(cls, connect_to: str | None, proxy: str | None) -> "Route":
        """From ``rootsentinel check --connect-to ADDR --proxy URL``.

        Raises:
            BadInput: ``ADDR`` is not an IP address, or a bad proxy URL (:meth:`Proxy.from_url`).
        """
        address = None
        if connect_to is not None:
            address = connect_to.strip().strip("[]")
            if not is_ip(address):
                raise BadInput(f"--connect-to wants an IP address, not {_clean(connect_to)!r}")
        return cls(address=address, proxy=Proxy.from_url(proxy) if proxy is not None else None)

    @property
    def proxy_known(self) -> bool:
        """False when the browser picks its proxy per request (PAC, system settings, auto-detect) and did
        not say which one: the probe then goes direct and may not see what the browser saw."""
        return self.proxy_mode not in UNKNOWN_PROXY_MODES

    def facts(self, connected: str | None, error: BaseException | None = None) -> dict[str, Any]:
        """The verdict's ``probe.route`` object (verdict.reply.schema.json): ``address``, ``proxy`` (URL or
        None), ``proxy_mode``, ``proxy_known``, ``from_browser``, ``connected`` (the ``host:port`` the TCP
        connection went to, None when it was not made) and ``problem`` (``"proxy_auth_required"``,
        ``"proxy_unsupported"`` or None), from the probe's ``error`` if it failed."""
        problem = ("proxy_auth_required" if isinstance(error, ProxyAuthRequired)
                   else "proxy_unsupported" if isinstance(error, ProxyUnsupported) else None)
        return {"address": self.address, "proxy": self.proxy.url() if self.proxy else None,
                "proxy_mode": self.proxy_mode, "proxy_known": self.proxy_known, "from_browser": self.from_browser,
                "connected": connected, "problem": problem}


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _remaining(deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProbeFailed(f"{what} timed out")
    return left


RESOLVER_THREADS = 8
"""Threads that run ``getaddrinfo`` for probes. The C resolver takes no timeout, so a name is resolved on one
of these threads while the probe waits at most until its deadline; a resolver that never answers holds a
thread, not the probe, and at most this many threads are ever held (further names wait their turn, inside
their own deadline)."""

_resolver: ThreadPoolExecutor | None = None
_resolver_lock = threading.Lock()


def _resolver_pool() -> ThreadPoolExecutor:
    global _resolver
    with _resolver_lock:
        if _resolver is None:
            _resolver = ThreadPoolExecutor(max_workers=RESOLVER_THREADS, thread_name_prefix="probe-dns")
        return _resolver


def resolve(name: str, port: int, deadline: float) -> list[tuple]:
    """The TCP addresses of ``name:port`` (``socket.getaddrinfo`` entries, in the resolver's order), looked up
    within ``deadline`` (a ``time.monotonic()`` value).

    Raises:
        ProbeFailed: the name does not resolve, or the resolver did not answer before the deadline.
    """
    what = f"resolving {_clean(name)}"
    _remaining(deadline, what)  # no lookup is started for a probe whose time is already up
    future = _resolver_pool().submit(socket.getaddrinfo, name, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=_remaining(deadline, what))
    except (FutureTimeout, ProbeFailed):
        future.cancel()  # a lookup still queued behind stuck ones never runs
        raise ProbeFailed(f"{what} timed out") from None
    except OSError as exc:
        raise ProbeFailed(f"cannot resolve {_clean(name)}: {exc.strerror or exc}") from exc
    if not infos:
        raise ProbeFailed(f"cannot resolve {_clean(name)}: no address")
    return infos


def _connect(address: str, port: int, deadline: float) -> socket.socket:
    """A TCP connection to ``address:port`` (an IP address or a name, resolved within the deadline), trying
    each resolved address in turn as ``socket.create_connection`` does, all inside ``deadline``."""
    if is_ip(address):  # a literal: getaddrinfo only parses it (AI_NUMERICHOST), no lookup
        infos = socket.getaddrinfo(address.strip("[]"), port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    else:
        infos = resolve(address, port, deadline)
    last: OSError | None = None
    for family, type_, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, type_, proto)
        try:
            sock.settimeout(_remaining(deadline, f"connecting to {_clean(address)}"))
            sock.connect(sockaddr)
            return sock
        except ProbeFailed:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            last = exc
    raise ProbeFailed(f"cannot connect to {_hostport(address, port)}: "
                      f"{(last.strerror or last) if last else 'no address'}")


def _recv_exact(sock: socket.socket, n: int, deadline: float, what: str) -> bytes:
    data = b""
    while len(data) < n:
        sock.settimeout(_remaining(deadline, what))
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ProbeFailed(f"{what}: the proxy closed the connection")
        data += chunk
    return data


def http_connect(sock: socket.socket, host: str, port: int, deadline: float) -> None:
    """Ask an HTTP proxy for a tunnel to ``host:port`` (RFC 9110 9.3.6) on a connected socket.

    Raises:
        ProxyAuthRequired: the proxy answered 407.
        ProbeFailed: any other answer than 2xx, a malformed answer, or a timeout.
    """
    try:
        ascii_host = host if is_ip(host) else host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ProbeFailed(f"cannot encode the host name {_clean(host)!r}: {exc}") from exc
    if not _HOST_TOKEN.match(ascii_host):
        raise ProbeFailed(f"cannot ask a proxy for {_clean(host)!r}: not a host name")
    target = _hostport(ascii_host, port)
    request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: RootSentinel-probe\r\n\r\n"
    try:
        sock.settimeout(_remaining(deadline, "proxy CONNECT"))
        sock.sendall(request.encode("ascii"))
        reply = b""
        while b"\r\n\r\n" not in reply:
            sock.settimeout(_remaining(deadline, "proxy CONNECT"))
            chunk = sock.recv(4096)
            if not chunk:
                raise ProbeFailed("the proxy closed the connection before answering CONNECT")
            reply += chunk
            if len(reply) > _MAX_CONNECT_REPLY:
                raise ProbeFailed("the proxy's answer to CONNECT is too long")
    except (socket.timeout, TimeoutError) as exc:
        raise ProbeFailed("the proxy did not answer CONNECT in time") from exc
    except (OSError, UnicodeError) as exc:
        raise ProbeFailed(f"proxy CONNECT failed: {exc}") from exc
    head, _, rest = reply.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProbeFailed(f"the proxy answered CONNECT with {_clean(status_line)!r}, not HTTP")
    status = int(parts[1])
    if status == 407:
        raise ProxyAuthRequired("the proxy asks for credentials (HTTP 407); proxy credentials are out of scope, "
                                "so RootSentinel cannot look through this proxy")
    if not 200 <= status < 300:
        raise ProbeFailed(f"the proxy refused CONNECT to {_clean(target)}: {_clean(status_line)}")
    if rest:
        raise ProbeFailed("the proxy sent data before the TLS handshake")


_SOCKS5_ERRORS = {1: "general failure", 2: "not allowed by ruleset", 3: "network unreachable", 4: "host unreachable",
                  5: "connection refused", 6: "TTL expired", 7: "command not supported", 8: "address type not supported"}


def socks5_connect(sock: socket.socket, host: str, port: int, deadline: float) -> None:
    """Ask a SOCKS5 proxy (RFC 1928, no authentication) for a TCP connection to ``host:port``; a name is
    sent as a name (address type 3) so the proxy resolves it, as Chromium does.

    Raises:
        ProxyAuthRequired: the proxy accepts no unauthenticated client.
        ProbeFailed: a refusal (RFC 1928 reply codes), a malformed answer, or a timeout.
    """
    what = "SOCKS5 handshake"
    try:
        sock.settimeout(_remaining(deadline, what))
        sock.sendall(b"\x05\x01\x00")
        ver, method = _recv_exact(sock, 2, deadline, what)
        if ver != 5:
            raise ProbeFailed("the proxy does not speak SOCKS5")
        if method != 0:
            raise ProxyAuthRequired("the SOCKS5 proxy asks for credentials; proxy credentials are out of scope, "
                                    "so RootSentinel cannot look through this proxy")
        if is_ip(host):
            ip = ipaddress.ip_address(host.strip("[]"))
            addr = (b"\x01" if ip.version == 4 else b"\x04") + ip.packed
        else:
            name = host.encode("idna")
            if len(name) > 255:
                raise ProbeFailed("host name too long for SOCKS5")
            addr = b"\x03" + bytes([len(name)]) + name
        sock.sendall(b"\x05\x01\x00" + addr + port.to_bytes(2, "big"))
        ver, rep, _rsv, atyp = _recv_exact(sock, 4, deadline, what)
        if ver != 5:
            raise ProbeFailed("malformed SOCKS5 reply")
        if rep != 0:
            raise ProbeFailed(f"the SOCKS5 proxy refused the connection to {_clean(_hostport(host, port))}: "
                              f"{_SOCKS5_ERRORS.get(rep, f'code {rep}')}")
        skip = {1: 4, 4: 16}.get(atyp)
        if skip is None:
            if atyp != 3:
                raise ProbeFailed("malformed SOCKS5 reply")
            skip = _recv_exact(sock, 1, deadline, what)[0]
        _recv_exact(sock, skip + 2, deadline, what)
    except (socket.timeout, TimeoutError) as exc:
        raise ProbeFailed("the SOCKS5 proxy did not answer in time") from exc
    except (OSError, UnicodeError) as exc:
        raise ProbeFailed(f"SOCKS5 handshake failed: {exc}") from exc


def open_route(host: str, port: int, route: Route, deadline: float) -> tuple[socket.socket, str]:
    """A TCP connection to ``host:port`` along ``route``, ready for the TLS handshake.

    - a proxy: connect to it and tunnel to the *name* (as the browser does);
    - an address: connect to it; when the browser's proxy mode is unknown (PAC, system) and that fails,
      the name is tried too (the address may have been a proxy's);
    - otherwise: resolve the name.

    Returns:
        ``(socket, connected)``: ``connected`` is the ``host:port`` of the TCP connection (the proxy's).

    Raises:
        ProbeFailed (ProxyAuthRequired, ProxyUnsupported): the route cannot be opened.
    """
    if route.unsupported:
        raise ProxyUnsupported(route.unsupported)
    name = host.strip("[]")
    if route.proxy is not None:
        proxy = route.proxy
        try:
            sock = _connect(proxy.host, proxy.port, deadline)
        except ProbeFailed as exc:
            raise ProbeFailed(f"the proxy {proxy.url()} does not answer: {exc}") from exc
        try:
            (http_connect if proxy.scheme == "http" else socks5_connect)(sock, name, port, deadline)
        except BaseException:
            sock.close()
            raise
        return sock, _hostport(proxy.host, proxy.port)
    if route.address:
        try:
            return _connect(route.address, port, deadline), _hostport(route.address, port)
        except ProbeFailed:
            if route.proxy_known or is_ip(name) or name == route.address:
                raise
    return _connect(name, port, deadline), _hostport(name, port)
