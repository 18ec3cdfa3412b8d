"""Test certificate kit: real chains from real keys, and hand-encoded DER for the odd cases.

- :func:`issue_leaf` signs a leaf with any CA key (a fresh private root, or a real leaked root key such as
  Superfish from ``tests/fixtures/leaked-roots``).
- :func:`raw_certificate` encodes a complete, correctly signed certificate from DER pieces, so tests can
  produce what ``cryptography``'s builder refuses to: duplicate extensions, ``critical=FALSE`` encoded
  explicitly, invalid UTF-8 in a name (field reports C.13-C.15).
- :func:`security_info` turns a DER chain into the object Firefox's ``getSecurityInfo`` returns.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).parent / "fixtures"
LEAKED = FIXTURES / "leaked-roots"
SOURCES = Path(__file__).parent.parent / "build" / "blocklist-sources"

NOW = dt.datetime.now(dt.timezone.utc)


def load_leaked(name: str):
    """``(certificate, private_key)`` of a real leaked root, e.g. ``"superfish"``."""
    cert = x509.load_pem_x509_certificate((LEAKED / f"{name}.crt.pem").read_bytes())
    key = serialization.load_pem_private_key((LEAKED / f"{name}.key.pem").read_bytes(), password=None)
    return cert, key


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def make_root(cn: str = "RootSentinel Test Private Root", key=None, country: str | None = None):
    """A fresh self-signed CA: ``(certificate, key)``."""
    key = key or new_key()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if country:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    name = x509.Name(attrs)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def issue_leaf(issuer_cert: x509.Certificate | None, issuer_key, hostname: str = "localhost", *,
               issuer_name: x509.Name | None = None, aki: bytes | None = None, ca: bool = False,
               cn: str | None = None, sans: list[str] | None = None, key=None):
    """A certificate for ``hostname`` signed by ``issuer_key``: ``(certificate, key)``.

    ``issuer_name``/``aki`` let a test name an issuer whose certificate it does not have (a banned root
    that is not sent).
    """
    key = key or new_key()
    name = issuer_name or issuer_cert.subject
    if aki is None and issuer_cert is not None:
        aki = x509.SubjectKeyIdentifier.from_public_key(issuer_cert.public_key()).digest
    sans = sans if sans is not None else [hostname]
    alt = [x509.IPAddress(__import__("ipaddress").ip_address(s)) if s.replace(".", "").isdigit()
           else x509.DNSName(s) for s in sans]
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or hostname)]))
               .issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(hours=1)).not_valid_after(NOW + dt.timedelta(days=10))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    if aki is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(key_identifier=aki, authority_cert_issuer=None,
                                        authority_cert_serial_number=None), critical=False)
    if ca:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def pem_chain(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


# --- hand-encoded DER -------------------------------------------------------------------------------

def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _len(len(content)) + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def oid(dotted: str) -> bytes:
    nums = [int(x) for x in dotted.split(".")]
    body = bytes([nums[0] * 40 + nums[1]])
    for n in nums[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


def name(*pairs: tuple[str, bytes], string_tag: int = 0x0C) -> bytes:
    """A Name from ``(dotted oid, raw value bytes)`` pairs; values are put in UTF8String as given."""
    return seq(*(tlv(0x31, seq(oid(o), tlv(string_tag, v))) for o, v in pairs))


def utctime(t: dt.datetime) -> bytes:
    return tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode())


def extension(dotted: str, value: bytes, critical: bool | None = None) -> bytes:
    """An Extension; ``critical=False`` encodes the DEFAULT explicitly (a DER violation on purpose)."""
    crit = b"" if critical is None else tlv(0x01, b"\xff" if critical else b"\x00")
    return seq(oid(dotted), crit, tlv(0x04, value))


def raw_certificate(subject: bytes, issuer: bytes, signer, extensions: list[bytes], *,
                    serial: int = 0x1234, public_key=None) -> bytes:
    """A complete certificate signed by ``signer`` (an RSA key; sha256WithRSAEncryption)."""
    public_key = public_key or signer.public_key()
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    sig_alg = seq(oid("1.2.840.113549.1.1.11"), tlv(0x05, b""))
    serial_bytes = serial.to_bytes((serial.bit_length() + 8) // 8 or 1, "big", signed=True)
    tbs = seq(
        tlv(0xA0, tlv(0x02, b"\x02")), tlv(0x02, serial_bytes), sig_alg, issuer,
        seq(utctime(NOW - dt.timedelta(days=1)), utctime(NOW + dt.timedelta(days=30))),
        subject, spki, tlv(0xA3, seq(*extensions)) if extensions else b"",
    )
    signature = signer.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    return seq(tbs, sig_alg, tlv(0x03, b"\x00" + signature))


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


BASIC_CONSTRAINTS_CA = seq(tlv(0x01, b"\xff"))
OID_BASIC_CONSTRAINTS = "2.5.29.19"
OID_CN = "2.5.4.3"
OID_C = "2.5.4.6"


# --- Firefox SecurityInfo -----------------------------------------------------------------------------

def security_info(chain_der: list[bytes], *, builtin_root: bool = False, raw: bool = True,
                  from_cache: bool = False) -> dict:
    """The object Firefox's ``getSecurityInfo(id, {certificateChain: true, rawDER: raw})`` returns, in the
    formats seen in Firefox ESR 153 (browser-apis.md 1.2): uppercase colon hex fingerprints, base64 SPKI
    digest, validity in ms, ``rawDER`` as an array of byte values."""
    from native_host.engine.certfacts import cert_facts

    certs = []
    for i, d in enumerate(chain_der):
        f = cert_facts(d)
        fp = ":".join(f.cert_sha256[j:j + 2] for j in range(0, 64, 2)).upper()
        info = {
            "subject": f.subject, "issuer": f.issuer,
            "validity": {"start": 1_700_000_000_000, "end": 1_900_000_000_000},
            "fingerprint": {"sha1": "00", "sha256": fp}, "serialNumber": f.serial or "",
            "isBuiltInRoot": builtin_root if i == len(chain_der) - 1 else False,
            "subjectPublicKeyInfoDigest": {"sha256": base64.b64encode(bytes.fromhex(f.spki_sha256)).decode()},
        }
        if raw:
            info["rawDER"] = list(d)
        certs.append(info)
    return {"state": "secure", "protocolVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "certificates": certs, "hsts": False, "hpkp": False, "isExtendedValidation": False,
            "certificateTransparencyStatus": "not_applicable", "fromCache": from_cache}
