"""AIA completion (native_host/messaging/aia.py) against a local HTTP server on 127.0.0.1: the missing intermediate
(DER, PEM, PKCS#7), garbage, a stalling server, an oversized answer and a forged issuer."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import subprocess
import sys
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from certkit import b64, der, make_root, new_key
from native_host.messaging import aia
from native_host.messaging.aia import Fetcher, parse_issuers, public_address


def loopback_one(address: str) -> str | None:
    """The tests' explicit seam (a constructor argument, never a setting): 127.0.0.1 stands for a public
    server; every other address is judged by the real rule (so 127.0.0.2, ::1, mapped forms stay refused)."""
    return None if address == "127.0.0.1" else public_address(address)


@pytest.fixture(autouse=True)
def _seam(monkeypatch, request):
    if "real_rule" not in request.keywords:  # fetchers made by the code under test get the seam too
        monkeypatch.setattr(aia, "public_address", loopback_one)
from native_host.engine.blocklist import bundled
from native_host.engine.certfacts import cert_facts
from native_host.engine.chains import chain_from_base64
from native_host.engine.publicroots import PublicRoot, PublicRoots
from native_host.engine.verdict import judge
from native_host.messaging.host import Service


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802
        action = self.routes.get(self.path)
        if action is None:
            self.send_error(404)
            return
        if action == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b"\x30")
            self.wfile.flush()
            time.sleep(8)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(action)))
        self.end_headers()
        self.wfile.write(action)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_server(routes: dict):
    handler = type("H", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _ca(subject: str, issuer_cert, issuer_key, key=None):
    key = key or new_key()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2035, 1, 1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    return cert, key


def _leaf(issuer_cert, issuer_key, aia_url: str, host: str = "aia.example"):
    key = new_key()
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(issuer_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2035, 1, 1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url))]),
                critical=False)
            .sign(issuer_key, hashes.SHA256()))


@pytest.fixture
def pki():
    """A root the test declares public (its own store), an intermediate under it, and a leaf whose AIA URL
    points at a local server that has not been told what to serve yet."""
    root, root_key = make_root("AIA Test Public Root")
    inter, inter_key = _ca("AIA Test Intermediate", root, root_key)
    public = PublicRoots([PublicRoot(cert_facts(der(root)), ("mozilla",), None)])
    return root, inter, inter_key, public


def _verdict(leaf, public, fetch):
    return judge(chain_from_base64([b64(der(leaf))]), bundled(), public, fetch=fetch)


@pytest.mark.parametrize("form", ["der", "pem", "pkcs7"])
def test_missing_intermediate_is_fetched_and_verified(pki, form):
    root, inter, inter_key, public = pki
    body = {"der": der(inter), "pem": inter.public_bytes(serialization.Encoding.PEM),
            "pkcs7": pkcs7.serialize_certificates([inter], serialization.Encoding.DER)}[form]
    with http_server({"/i.crt": body}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        without = _verdict(leaf, public, None)
        assert (without["level"], without["reason"], without["path"]["outcome"]) == ("unknown", "missing_issuer", "missing_issuer")
        assert "--fetch-issuers" in without["explanation"]
        fetcher = Fetcher()
        v = _verdict(leaf, public, fetcher)
        assert (v["level"], v["reason"]) == ("ok", "public_anchor")
        assert v["path"]["fetched"] == 1 and v["path"]["indices"] == [0, None, None]
        _verdict(leaf, public, fetcher)
        assert fetcher.fetches == 1  # cached


def test_garbage_is_not_an_issuer(pki):
    root, inter, inter_key, public = pki
    with http_server({"/i.crt": b"<html>not a certificate</html>"}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        fetcher = Fetcher()
        v = _verdict(leaf, public, fetcher)
    assert (v["level"], v["path"]["outcome"], v["path"]["fetched"]) == ("unknown", "missing_issuer", 0)
    assert "not a certificate" in fetcher.last_errors[-1]


def test_stalling_server_is_cut_off(pki):
    root, inter, inter_key, public = pki
    with http_server({"/i.crt": "stall"}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        fetcher = Fetcher(timeout=1.0)
        started = time.monotonic()
        v = _verdict(leaf, public, fetcher)
        elapsed = time.monotonic() - started
    assert (v["level"], v["reason"]) == ("unknown", "missing_issuer") and v["path"]["fetched"] == 0
    assert elapsed < 5, elapsed  # a bound on the fetch, far from the server's 8 s stall
    assert fetcher.last_errors


def test_oversized_answer_is_refused(pki):
    root, inter, inter_key, public = pki
    with http_server({"/i.crt": der(inter) + b"\x00" * (70 * 1024)}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        fetcher = Fetcher()
        assert fetcher(f"{base}/i.crt") == []
    assert "over 65536 bytes" in fetcher.last_errors[-1]


def test_forged_issuer_is_not_trusted(pki):
    """The URL serves a certificate with the intermediate's name (and key id) but another key."""
    root, inter, inter_key, public = pki
    forged, _ = _ca("AIA Test Intermediate", root, new_key())  # self-consistent but not the leaf's signer
    with http_server({"/i.crt": der(forged)}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        v = _verdict(leaf, public, Fetcher())
    assert v["level"] != "ok"
    assert (v["level"], v["path"]["bad_signature"], v["path"]["fetched"]) == ("interception", True, 0)


def test_only_http_urls_are_fetched():
    fetcher = Fetcher()
    assert fetcher("https://127.0.0.1:1/x") == [] and fetcher("ldap://x/y") == [] and fetcher.fetches == 0


def test_parse_issuers_forms():
    root, _ = make_root("Parse Test Root")
    d = der(root)
    assert parse_issuers(d) == [d]
    assert parse_issuers(root.public_bytes(serialization.Encoding.PEM)) == [d]
    assert parse_issuers(pkcs7.serialize_certificates([root], serialization.Encoding.DER)) == [d]
    assert parse_issuers(pkcs7.serialize_certificates([root], serialization.Encoding.PEM)) == [d]
    assert parse_issuers(b"") == [] and parse_issuers(b"\x30\x03\x02\x01\x00") == []


def test_host_service_check_fetches_and_cli_only_with_the_flag(pki, tmp_path, capsys):
    root, inter, inter_key, public = pki
    with http_server({"/i.crt": der(inter)}) as base:
        leaf = _leaf(inter, inter_key, f"{base}/i.crt")
        reply = Service(public=public).check({"type": "check", "id": 1, "chain": [b64(der(leaf))]})
        assert (reply["level"], reply["path"]["fetched"]) == ("ok", 1)
        path = tmp_path / "leaf.pem"
        path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        runs = {}
        from native_host.cli import main

        for flag in ((), ("--fetch-issuers",)):  # in this process: the seam is not a setting a run can give
            code = main(["check", str(path), "--json", *flag])
            runs[flag] = (code, json.loads(capsys.readouterr().out)["path"])
    # the real store does not have the test root: without the flag the issuer is missing (unknown, exit 3,
    # the verdict says --fetch-issuers); with it, the path ends at that non-public root (interception)
    assert runs[()][0] == 3 and runs[()][1]["fetched"] == 0 and runs[()][1]["outcome"] == "missing_issuer"
    assert runs[("--fetch-issuers",)][0] == 1 and runs[("--fetch-issuers",)][1]["fetched"] == 1
