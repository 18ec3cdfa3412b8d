"""AIA as an attacker aims it (issue 22 items 4 and 11), with real servers on loopback:

- a caIssuers URL at loopback, a private, link-local or mapped address is refused before any connection,
  and the verdict says so (``aia`` and the explanation); redirects to ``ftp://`` or to a loopback address
  are refused the same way;
- a server that trickles header bytes is cut off at the fetch's total deadline;
- a ``check`` whose AIA server stalls never holds the host's main thread (a ``hello`` sent after it is
  answered first), and a page of 32 origins with stalling AIA servers does not delay a good probe.

Loopback stands for "a public server" only through the explicit seam of test_aia.py (127.0.0.1 allowed,
every other address by the real rule), set in this process or in a host started by a launcher that sets it:
never through a request, a configuration file or the environment.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from test_aia import _ca, _leaf, http_server, loopback_one, pki  # noqa: F401 - pki is a fixture

from certkit import b64, der, make_root
from hostkit import HostProcess, tls_server, trickler
from native_host.messaging.aia import Fetcher, public_address

SEAM_HOST = (
    "import sys\n"
    "from native_host.messaging import aia\n"
    "aia.public_address = lambda a, real=aia.public_address: None if a == '127.0.0.1' else real(a)\n"
    "from native_host.messaging.host import main_from_argv\n"
    "sys.exit(main_from_argv([]))\n")


@pytest.mark.parametrize("address", ["127.0.0.2", "10.1.2.3", "192.168.0.1", "169.254.169.254", "100.64.0.1",
                                     "224.0.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
                                     "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1", "240.0.0.1"])
def test_non_public_addresses_are_refused(address):
    assert public_address(address) is not None
    assert public_address("8.8.8.8") is None and public_address("2001:4860:4860::8888") is None


def test_a_loopback_url_is_refused_before_any_connection_and_the_verdict_says_so(pki):  # noqa: F811
    root, inter, inter_key, public = pki
    with http_server({"/i.crt": der(inter)}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        from native_host.messaging.host import Service

        verdict = Service(public=public).check({"type": "check", "id": 1, "chain": [b64(der(leaf))]})
    assert verdict["level"] != "ok" and verdict["path"]["fetched"] == 0
    assert verdict["aia"] == [{"url": f"{base}/i.crt", "outcome": "refused",
                               "reason": "127.0.0.1 is not fetched from: 127.0.0.1 is not a public address"}]
    assert "was not fetched" in verdict["explanation"] and "not a public address" in verdict["explanation"]


def test_redirects_to_ftp_or_to_another_loopback_address_are_refused(pki):  # noqa: F811
    root, inter, inter_key, public = pki
    with http_server({"/i.crt": der(inter)}) as base:
        port = base.rsplit(":", 1)[1]
        for target, why in ((f"ftp://127.0.0.1:{port}/i.crt", "not http://"),
                            (f"http://127.0.0.2:{port}/i.crt", "127.0.0.2 is not a public address"),
                            (f"http://[::ffff:127.0.0.1]:{port}/i.crt", "not a public address")):
            with redirecting(target) as start:
                log: list[dict] = []
                assert Fetcher(allow_address=loopback_one)(start, log=log) == []
                assert log[0]["outcome"] == "refused" and why in log[0]["reason"], log
        log = []  # the same redirect to an allowed server is followed
        with redirecting(f"{base}/i.crt") as start:
            assert Fetcher(allow_address=loopback_one)(start, log=log) == [der(inter)]
        assert log[0]["outcome"] == "fetched"


@contextlib.contextmanager
def redirecting(location: str):
    import http.server

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/r"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_trickles_headers_is_cut_off_at_the_total_deadline():
    with trickler() as port:
        fetcher = Fetcher(timeout=1.0, allow_address=loopback_one)
        log: list[dict] = []
        started = time.monotonic()
        assert fetcher(f"http://127.0.0.1:{port}/i.crt", log=log) == []
        elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed  # one total deadline, not one per read (the trickle lasts 20 s)
    assert log[0]["outcome"] == "failed" and "within 1 s" in log[0]["reason"]


def _host() -> HostProcess:
    return HostProcess(argv=[sys.executable, "-c", SEAM_HOST])


def test_a_check_with_a_stalling_aia_server_never_holds_the_main_thread(tmp_path):
    root, key = make_root("Stall Public Root")
    inter, inter_key = _ca("Stall Intermediate", root, key)
    with trickler() as port:
        leaf = _leaf(inter, inter_key, f"http://127.0.0.1:{port}/i.crt")
        h = _host()
        try:
            h.request({"type": "hello", "id": 0})
            h.send({"type": "check", "id": "slow", "chain": [b64(der(leaf))]})
            started = time.monotonic()
            h.send({"type": "hello", "id": "after"})
            first = h.recv(timeout=10)  # the first reply to arrive
            assert first["id"] == "after" and time.monotonic() - started < 1.5, first
            slow = _read_until(h, "slow", 15)
        finally:
            h.close()
    assert slow["aia"][0]["outcome"] == "failed" and "within 3 s" in slow["aia"][0]["reason"]


def test_32_stalling_aia_origins_do_not_delay_a_good_probe(tmp_path):
    root, key = make_root("Flood Public Root")
    inter, inter_key = _ca("Flood Intermediate", root, key)
    good_root, good_key = make_root("Good Private Root")
    from certkit import issue_leaf, pem_chain

    with trickler(seconds=30) as aia_port, contextlib.ExitStack() as stack:
        ports = []
        for i in range(32):
            ports.append(stack.enter_context(_tls(inter, inter_key, f"http://127.0.0.1:{aia_port}/{i}.crt")))
        glf, glk = issue_leaf(good_root, good_key, "localhost")
        gkey = glk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
        good = stack.enter_context(tls_server(pem_chain(glf, good_root), gkey))
        h = _host()
        try:
            h.request({"type": "hello", "id": 0})
            h.send({"type": "probe", "id": "warm", "host": "127.0.0.1", "port": good})
            _read_until(h, "warm", 30)
            for i, p in enumerate(ports):
                h.send({"type": "probe", "id": f"s{i}", "host": "127.0.0.1", "port": p})
            time.sleep(1.0)  # every stalling probe has its handshake and is waiting on AIA
            started = time.monotonic()
            h.send({"type": "probe", "id": "good", "host": "127.0.0.1", "port": good})
            reply = _read_until(h, "good", 30)
            elapsed = time.monotonic() - started
        finally:
            h.close()
    assert reply["level"] == "interception" and elapsed < 2.0, elapsed


def _read_until(h: HostProcess, want, timeout: float) -> dict:
    end = time.monotonic() + timeout
    while True:
        reply = h.recv(timeout=max(0.1, end - time.monotonic()))
        if reply.get("id") == want:
            return reply


@contextlib.contextmanager
def _tls(inter, inter_key, aia_url: str):
    """A TLS server presenting a leaf (issued by ``inter``, not sent) whose caIssuers URL is ``aia_url``."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    from certkit import new_key

    key = new_key()
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(inter.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2035, 1, 1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url))]),
                critical=False)
            .sign(inter_key, hashes.SHA256()))
    pem = leaf.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    with tls_server(pem, key_pem) as port:
        yield port
