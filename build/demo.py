#!/usr/bin/env python3
"""Demo of the main job on real input: a local HTTPS server on 127.0.0.1 presents a leaf certificate signed
with the real leaked Superfish root key (tests/fixtures/leaked-roots, from badssl.com), and
``rootsentinel check https://127.0.0.1:PORT`` probes it and prints the verdict (exit code 2 = banned).
"""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LEAKED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "leaked-roots"


def superfish_leaf() -> tuple[bytes, bytes]:
    """``(leaf PEM, leaf key PEM)`` for 127.0.0.1, signed by the real Superfish key."""
    root = x509.load_pem_x509_certificate((LEAKED / "superfish.crt.pem").read_bytes())
    root_key = serialization.load_pem_private_key((LEAKED / "superfish.key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bank.example")]))
            .issuer_name(root.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(root_key, hashes.SHA256()))
    return (leaf.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> int:
    leaf_pem, key_pem = superfish_leaf()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "leaf.pem").write_bytes(leaf_pem)
        Path(tmp, "key.pem").write_bytes(key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(Path(tmp, "leaf.pem"), Path(tmp, "key.pem"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"https://127.0.0.1:{server.server_address[1]}/"
        print(f"$ rootsentinel check {url}", flush=True)
        code = subprocess.call([sys.executable, "-m", "native_host", "check", url])
        server.shutdown()
    print(f"exit code {code} (2 = banned)")
    return 0 if code == 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
