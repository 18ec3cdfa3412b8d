"""The probe's route (native_host/messaging/route.py, issue 15): through a real mitmproxy as an explicit HTTP or SOCKS5
proxy, to another loopback address than the name resolves to, and a proxy that asks for credentials.
Everything on 127.0.0.0/8; the CLI and the host process are the real ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certkit import issue_leaf, make_root, pem_chain
from hostkit import tls_server
from mitmkit import Mitmdump
from native_host.errors import BadInput
from native_host.messaging.route import Proxy, Route
from native_host.schemas import validate

# A name the host cannot resolve (RFC 6761 reserves .test; there is no DNS here), so only a route
# that carries the address reaches the server.
UNRESOLVABLE = "site.test"


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _spki(cert: x509.Certificate) -> str:
    import hashlib

    return hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def _check(*args: str, config: Path | None = None) -> tuple[int, dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    if config is not None:
        env["ROOTSENTINEL_CONFIG"] = str(config)
    out = subprocess.run([sys.executable, "-m", "native_host", "check", *args, "--json"],
                         capture_output=True, text=True, timeout=120, env=env)
    return out.returncode, (json.loads(out.stdout) if out.stdout.strip() else {}), out.stderr


@pytest.fixture
def allowlisted_origin(tmp_path):
    """An origin on 127.0.0.1 whose root (sent in the handshake) the host config allow-lists: ``notice``.
    Yields ``(port, config_path, root)``."""
    root, root_key = make_root("Example Corp Inspection Root")
    leaf, leaf_key = issue_leaf(root, root_key, "localhost", sans=["localhost", "127.0.0.1"])
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"allow_spki_sha256": [_spki(root)]}))
    with tls_server(pem_chain(leaf, root), _key_pem(leaf_key)) as port:
        yield port, config, root


def _issuer_cn(verdict: dict) -> str:
    return verdict["chain"][0]["issuer"]


def test_check_through_mitmproxy_sees_its_root_not_the_origins(allowlisted_origin, tmp_path):
    port, config, root = allowlisted_origin
    code, direct, _ = _check(f"https://localhost:{port}/", config=config)
    assert (code, direct["level"], direct["reason"]) == (1, "notice", "allowlisted_root")
    assert direct["probe"]["route"] == {"address": None, "proxy": None, "proxy_mode": None, "proxy_known": True,
                                        "from_browser": False, "connected": f"localhost:{port}", "problem": None}
    with Mitmdump(tmp_path / "mitm", extra=["--ssl-insecure"]) as mitm:
        proxy = f"http://127.0.0.1:{mitm.port}"
        code, via, err = _check(f"https://localhost:{port}/", "--proxy", proxy, config=config)
        mitm_root = x509.load_pem_x509_certificate(mitm.ca_cert.read_bytes())
    assert code == 1, err
    assert via["level"] == "interception", via["explanation"]
    assert via["chain"][0]["issuer"] == mitm_root.subject.rfc4514_string()
    assert "mitmproxy" in via["chain"][0]["issuer"]
    assert via["chain"][0]["cert_sha256"] != direct["chain"][0]["cert_sha256"]
    assert via["probe"]["sni"] == "localhost"
    assert via["probe"]["route"]["proxy"] == proxy
    assert via["probe"]["route"]["connected"] == f"127.0.0.1:{mitm.port}"


def test_check_through_mitmproxy_as_socks5(allowlisted_origin, tmp_path):
    port, config, _ = allowlisted_origin
    with Mitmdump(tmp_path / "mitm", mode="socks5", extra=["--ssl-insecure"]) as mitm:
        code, via, err = _check(f"https://localhost:{port}/", "--proxy", f"socks5://127.0.0.1:{mitm.port}", config=config)
    assert code == 1, err
    assert via["level"] == "interception"
    assert "mitmproxy" in _issuer_cn(via)
    assert via["probe"]["route"]["proxy"] == f"socks5://127.0.0.1:{mitm.port}"


def test_a_proxy_that_wants_credentials_gives_unknown_and_says_why(allowlisted_origin, tmp_path):
    port, config, _ = allowlisted_origin
    with Mitmdump(tmp_path / "mitm", extra=["--ssl-insecure", "--set", "proxyauth=user:secret"]) as mitm:
        code, verdict, err = _check(f"https://localhost:{port}/", "--proxy", f"http://127.0.0.1:{mitm.port}", config=config)
    assert code == 3
    assert (verdict["level"], verdict["reason"]) == ("unknown", "probe_failed")
    assert verdict["probe"]["route"]["problem"] == "proxy_auth_required"
    assert "407" in verdict["probe"]["error"] and "credentials are out of scope" in verdict["probe"]["error"]
    assert err.count("\n") == 1 and "credentials are out of scope" in err


def test_connect_to_reaches_a_name_the_host_cannot_resolve(tmp_path):
    root, root_key = make_root("Unknown Interceptor Root")
    leaf, leaf_key = issue_leaf(root, root_key, UNRESOLVABLE, sans=[UNRESOLVABLE])
    with tls_server(pem_chain(leaf), _key_pem(leaf_key), bind="127.0.0.2") as port:
        code, by_name, _ = _check(f"https://{UNRESOLVABLE}:{port}/", "--timeout", "5")
        assert (code, by_name["level"], by_name["reason"]) == (3, "unknown", "probe_failed")
        code, verdict, err = _check(f"https://{UNRESOLVABLE}:{port}/", "--connect-to", "127.0.0.2")
    assert code == 1, err
    assert (verdict["level"], verdict["reason"]) == ("interception", "non_public_anchor")
    assert verdict["chain"][0]["issuer"] == "CN=Unknown Interceptor Root"
    assert verdict["probe"]["sni"] == UNRESOLVABLE
    assert verdict["probe"]["route"]["address"] == "127.0.0.2"
    assert verdict["probe"]["route"]["connected"] == f"127.0.0.2:{port}"


@pytest.mark.parametrize("args, message", [
    (["--connect-to", "not-an-address"], "--connect-to wants an IP address"),
    (["--proxy", "http://user:pw@127.0.0.1:3128"], "proxy credentials are out of scope"),
    (["--proxy", "ftp://127.0.0.1:21"], "proxy scheme 'ftp' is not supported"),
])
def test_bad_route_arguments_are_one_line_and_exit_3(args, message):
    code, out, err = _check("https://localhost:1/", *args)
    assert code == 3 and out["type"] == "error"  # --json: one error object (issue 10)
    assert err.strip().splitlines() == [f"rootsentinel: {err.strip().split(': ', 1)[1]}"]
    assert message in err and "user:pw" not in err


def test_probe_request_route_through_the_host_process(host, tmp_path):
    """The host follows a probe request's ``route.address`` (the browser's ``details.ip``)."""
    root, root_key = make_root("Unknown Interceptor Root")
    leaf, leaf_key = issue_leaf(root, root_key, UNRESOLVABLE, sans=[UNRESOLVABLE])
    with tls_server(pem_chain(leaf), _key_pem(leaf_key), bind="127.0.0.2") as port:
        reply = host.request({"type": "probe", "id": "r1", "host": UNRESOLVABLE, "port": port,
                              "url": f"https://{UNRESOLVABLE}:{port}/",
                              "route": {"address": "127.0.0.2", "proxy": {"mode": "system"}}})
    assert (reply["id"], reply["level"]) == ("r1", "interception")
    assert reply["probe"]["route"] == {"address": "127.0.0.2", "proxy": None, "proxy_mode": "system",
                                       "proxy_known": False, "from_browser": True,
                                       "connected": f"127.0.0.2:{port}", "problem": None}
    validate("verdict.reply", reply)


def test_a_proxy_kind_the_probe_cannot_use_is_unknown_with_the_reason(host):
    reply = host.request({"type": "probe", "id": 3, "host": "localhost", "port": 443,
                          "route": {"address": "127.0.0.1",
                                    "proxy": {"mode": "fixed_servers", "scheme": "https", "host": "127.0.0.1", "port": 1}}})
    assert (reply["level"], reply["reason"]) == ("unknown", "probe_failed")
    assert reply["probe"]["route"]["problem"] == "proxy_unsupported"
    assert "https proxy" in reply["probe"]["error"]


def test_route_from_request_and_schema():
    ok = {"type": "probe", "id": 1, "host": "a.test", "route": {"address": "::1", "proxy": {"mode": "direct"}}}
    validate("probe.request", ok)
    route = Route.from_request(ok["route"])
    assert (route.address, route.proxy, route.proxy_mode, route.proxy_known, route.from_browser) == ("::1", None, "direct", True, True)
    fixed = Route.from_request({"proxy": {"mode": "fixed_servers", "scheme": "socks5", "host": "10.0.0.1", "port": 1080}})
    assert fixed.proxy == Proxy("socks5", "10.0.0.1", 1080) and fixed.proxy.url() == "socks5://10.0.0.1:1080"
    assert Route.from_request({"proxy": {"mode": "pac_script"}}).proxy_known is False
    from native_host.errors import SchemaError

    for bad in ({"address": "example.org"}, {"proxy": {"mode": "magic"}}, {"proxy": {"mode": "fixed_servers", "host": "a b"}},
                {"extra": 1}):
        with pytest.raises(SchemaError):
            validate("probe.request", {**ok, "route": bad})


def test_proxy_urls():
    assert Proxy.from_url("127.0.0.1:3128") == Proxy("http", "127.0.0.1", 3128)
    assert Proxy.from_url("socks5h://[::1]") == Proxy("socks5", "::1", 1080)
    assert Proxy("http", "::1", 8080).url() == "http://[::1]:8080"
    with pytest.raises(BadInput):
        Proxy.from_url("http://")


class _OneShotProxy:
    """A listening socket on 127.0.0.1 that reads one request and answers ``reply`` bytes (a proxy that
    refuses, or answers with attacker-controlled junk)."""

    def __init__(self, reply: bytes):
        import socket
        import threading

        self.reply = reply
        self.seen = b""
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            while b"\r\n\r\n" not in self.seen and len(self.seen) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                self.seen += chunk
            conn.sendall(self.reply)

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("reply, message", [
    (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "the proxy refused CONNECT to xn--bcher-kva.test:8443: HTTP/1.1 403 Forbidden"),
    (b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n", "credentials are out of scope"),
    (b"SSH-2.0-\x1b[31mevil\r\n\r\n", "not HTTP"),
])
def test_http_connect_answers(reply, message):
    from native_host.errors import ProbeFailed
    from native_host.messaging.probe import probe

    proxy = _OneShotProxy(reply)
    try:
        with pytest.raises(ProbeFailed) as info:
            probe("b\u00fccher.test", 8443, timeout=5, route=Route(proxy=Proxy("http", "127.0.0.1", proxy.port)))
        proxy.thread.join(5)
    finally:
        proxy.close()
    assert message in str(info.value)
    assert "\x1b" not in str(info.value)
    # the name goes to the proxy IDNA-encoded, as a browser sends it
    assert proxy.seen.startswith(b"CONNECT xn--bcher-kva.test:8443 HTTP/1.1\r\nHost: xn--bcher-kva.test:8443\r\n")


def test_a_proxy_that_does_not_answer_is_named():
    import socket

    from native_host.errors import ProbeFailed
    from native_host.messaging.probe import probe

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(ProbeFailed, match=rf"the proxy http://127.0.0.1:{port} does not answer: cannot connect"):
        probe("localhost", 443, timeout=3, route=Route(proxy=Proxy("http", "127.0.0.1", port)))


def test_a_resolver_that_never_answers_is_bounded_by_the_probe_deadline(monkeypatch):
    """getaddrinfo takes no timeout; a stuck resolver must not hold the probe past its own deadline. The fake
    resolver blocks until the test releases it (a timer releases it after 30 s, so a regression fails the
    test instead of hanging it)."""
    import socket
    import threading

    from native_host.messaging import route as route_mod
    from native_host.errors import ProbeFailed
    from native_host.messaging.probe import probe

    release = threading.Event()
    timer = threading.Timer(30, release.set)
    timer.start()
    calls = []

    def stuck_getaddrinfo(*args, **kwargs):
        calls.append(args[0])
        release.wait()
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", stuck_getaddrinfo)
    try:
        with pytest.raises(ProbeFailed) as caught:
            probe("stuck.test", 443, timeout=0.3)
        returned_before_release = not release.is_set()
    finally:
        release.set()
        timer.cancel()
    assert calls == ["stuck.test"]
    assert returned_before_release
    assert str(caught.value) == "resolving stuck.test timed out"


def test_a_name_that_does_not_resolve_says_so():
    from native_host.errors import ProbeFailed
    from native_host.messaging.probe import probe

    with pytest.raises(ProbeFailed) as caught:
        probe(UNRESOLVABLE, 443, timeout=5)
    assert str(caught.value).startswith(f"cannot resolve {UNRESOLVABLE}: ")
