"""Certificates for the end-to-end tests, made at test time with ``cryptography``.

Every key and certificate is fresh per run except the real leaked Superfish root, read from
``tests/fixtures/leaked-roots/`` (see PROVENANCE.md there). Servers present leaf + intermediate and
keep the root out of the handshake, as real interceptors usually do; Firefox builds the chain to
the root it trusts in the profile (browser-apis.md 1.3).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAKED = Path(__file__).resolve().parent.parent / "fixtures" / "leaked-roots"
NOW = dt.datetime.now(dt.timezone.utc)


@dataclass
class Issuer:
    """A CA that can sign: its certificate and private key."""

    cert: x509.Certificate
    key: object

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class ServerIdentity:
    """What a TLS server presents: leaf and chain (leaf first, root excluded) plus the leaf key."""

    chain: list[x509.Certificate]
    key: object

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Writes ``<stem>.chain.pem`` and ``<stem>.key.pem`` for ``ssl.SSLContext.load_cert_chain``."""
        directory.mkdir(parents=True, exist_ok=True)
        chain_path = directory / f"{stem}.chain.pem"
        key_path = directory / f"{stem}.key.pem"
        chain_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain))
        key_path.write_bytes(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        return chain_path, key_path


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _ski(key) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def private_root(cn: str, org: str | None = None) -> Issuer:
    """A fresh self-signed root CA (P-256), valid from yesterday for 30 days."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(cn, org)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(_ski(key), critical=False)
            .sign(key, hashes.SHA256()))
    return Issuer(cert, key)


def leaked_root(name: str) -> Issuer:
    """A real root with its leaked key from ``tests/fixtures/leaked-roots`` (e.g. ``"superfish"``)."""
    cert = x509.load_pem_x509_certificate((LEAKED / f"{name}.crt.pem").read_bytes())
    key = serialization.load_pem_private_key((LEAKED / f"{name}.key.pem").read_bytes(), password=None)
    return Issuer(cert, key)


def intermediate(parent: Issuer, cn: str) -> Issuer:
    """An intermediate CA signed by ``parent`` (SHA-256 even when the parent is an old RSA-1024 root)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(parent.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(_ski(key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.cert.public_key()), critical=False)
            .sign(parent.key, hashes.SHA256()))
    return Issuer(cert, key)


def server_identity(issuer: Issuer, *, chain_above: list[Issuer] = (), cn: str = "localhost",
                    sans: tuple[str, ...] = ("localhost", "127.0.0.1")) -> ServerIdentity:
    """A TLS server leaf for ``sans`` signed by ``issuer``; ``chain_above`` are sent after the leaf.

    ``cn`` is free text on purpose: the markup test puts HTML in it.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.IPAddress(ipaddress.ip_address(s)) if s.replace(".", "").isdigit() else x509.DNSName(s) for s in sans]
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(hours=1)).not_valid_after(NOW + dt.timedelta(days=10))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()), critical=False)
            .sign(issuer.key, hashes.SHA256()))
    return ServerIdentity([cert, *[i.cert for i in chain_above]], key)


def spki_sha256(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate's SubjectPublicKeyInfo (data/README.md conventions)."""
    import hashlib

    return hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()
