#!/usr/bin/env python3
"""``make run``: the main job on real input, one step per line of explanation, exit codes shown as meaning.

1. ``rootsentinel check FILE`` on the real Kazakhstan 2019 root ("Qaznet Trust Network", from Chromium's
   blocklist: build/blocklist-sources/certs/) -> banned (exit 2).
2. ``rootsentinel check https://127.0.0.1:PORT`` against a local HTTPS server presenting a leaf signed with the
   real leaked Superfish root key (tests/fixtures/leaked-roots, from badssl.com) -> banned (exit 2).
3. The same against a server whose leaf comes from a private root made here (what an antivirus or a
   corporate proxy does) -> interception (exit 1).

Each step runs the CLI as a user would (``python -m native_host``) with no system config in force. The demo
exits 0 when every step gave the exit code it demonstrates, else 1 naming the step.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parent.parent
LEAKED = REPO / "tests" / "fixtures" / "leaked-roots"
KZ_2019_ROOT = REPO / "build/blocklist-sources/certs/b5ba8dd7f89564c2889d3d6453c84998c77824919b64ea0835aa62986591be50.pem"
MEANING = {0: "ok", 1: "notice or interception", 2: "banned", 3: "unknown or error"}
"""``check`` exit codes (the monitoring-plugin convention, docs/design.md)."""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue_leaf(issuer: x509.Certificate, issuer_key) -> tuple[bytes, bytes]:
    """``(leaf PEM, leaf key PEM)`` for 127.0.0.1 signed by ``issuer_key``, valid for one day."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    leaf = (x509.CertificateBuilder()
            .subject_name(_name("bank.example")).issuer_name(issuer.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(issuer_key, hashes.SHA256()))
    return (leaf.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def superfish_leaf() -> tuple[bytes, bytes]:
    """``(leaf PEM, leaf key PEM)`` for 127.0.0.1, signed by the real Superfish key."""
    root = x509.load_pem_x509_certificate((LEAKED / "superfish.crt.pem").read_bytes())
    root_key = serialization.load_pem_private_key((LEAKED / "superfish.key.pem").read_bytes(), None)
    return issue_leaf(root, root_key)


def private_root_leaf() -> tuple[bytes, bytes]:
    """``(leaf PEM, leaf key PEM)`` signed by a private root made now (in no public root store)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    root = (x509.CertificateBuilder().subject_name(_name("Demo HTTPS Scanning Root")).issuer_name(_name("Demo HTTPS Scanning Root"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return issue_leaf(root, key)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def https_server(leaf_pem: bytes, key_pem: bytes):
    """An HTTPS server on 127.0.0.1:<free port> presenting ``leaf_pem``; yields its URL."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "leaf.pem").write_bytes(leaf_pem)
        Path(tmp, "key.pem").write_bytes(key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(Path(tmp, "leaf.pem"), Path(tmp, "key.pem"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"https://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()
            server.server_close()


def step(number: int, what: str, target: str, expected: int) -> bool:
    """Print what the step shows, run ``rootsentinel check TARGET``, print its exit code as meaning."""
    print(f"\n== {number}. {what}", flush=True)
    shown = os.path.relpath(target, REPO) if os.path.isabs(target) else target
    print(f"$ rootsentinel check {shown}", flush=True)
    env = {**os.environ, "ROOTSENTINEL_CONFIG": os.path.join(tempfile.gettempdir(), "rootsentinel-demo-no-config.json")}
    code = subprocess.call([sys.executable, "-m", "native_host", "check", target], cwd=REPO, env=env)
    verdict = "as expected" if code == expected else f"EXPECTED {expected} ({MEANING[expected]})"
    print(f"-> exit code {code} = {MEANING.get(code, 'crash')} ({verdict})", flush=True)
    return code == expected


def main() -> int:
    """Run the three steps; 0 when each gave its expected exit code."""
    print("RootSentinel demo: three real judgements. Exit codes of check: 0 ok, 1 notice or interception, "
          "2 banned, 3 unknown or error.")
    results = [step(1, "A certificate file: the real Kazakhstan 2019 government interception root (banned in every "
                       "major browser).", str(KZ_2019_ROOT), 2)]
    with https_server(*superfish_leaf()) as url:
        results.append(step(2, "A live HTTPS server whose certificate is signed with the real leaked Superfish adware "
                               "key (the root itself is not sent).", url, 2))
    with https_server(*private_root_leaf()) as url:
        results.append(step(3, "A live HTTPS server signed by a private root made just now, as an antivirus or a "
                               "corporate proxy does.", url, 1))
    failed = [str(i + 1) for i, ok in enumerate(results) if not ok]
    if failed:
        print(f"\ndemo: step {', '.join(failed)} did not give the expected verdict", file=sys.stderr)
        return 1
    print("\ndemo: every step gave the verdict it demonstrates.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
