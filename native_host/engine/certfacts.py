"""Facts about one certificate: fingerprints first, then whatever a strict parse can add.

``cert_sha256`` (SHA-256 of the DER certificate) and ``spki_sha256`` (SHA-256 of the DER
SubjectPublicKeyInfo), both lowercase hex, are computed from the raw bytes before ``cryptography`` sees
them (conventions: Chromium ``net/cert/cert_verify_proc_blocklist.inc``; Firefox ``CertificateInfo``).
A certificate that ``cryptography`` refuses (field reports C.12-C.16) still gets its hashes, its names
(from our own DER walker, with invalid UTF-8 replaced) and a ``parse_error``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from native_host.engine import der as _der
from native_host.engine.bounded import cached_by_bytes
from native_host.errors import BadDER

MAX_CERT_BYTES = 1 << 20
"""Per-certificate size cap (1 MiB): the 10,000-SAN leaf is about 200 KB (field report C.16)."""


@dataclass(slots=True)
class CertFacts:
    """What the verdict engine and the UI need to know about one certificate.

    Attributes:
        der: the DER bytes.
        cert_sha256 / spki_sha256: lowercase hex SHA-256 of the certificate / its SubjectPublicKeyInfo.
            ``spki_sha256`` is None only when the DER walker could not find the SPKI.
        subject / issuer: RFC 4514 strings (attacker-controlled text), "" when undecodable.
        subject_der / issuer_der: the raw DER Names (b"" when not found), for exact name matching.
        subject_key / issuer_key: :func:`native_host.engine.der.name_key` of the names, for matching by text.
        serial: hex of the serial number's two's-complement bytes with a leading "-" when negative.
        not_before / not_after: ISO 8601 UTC strings, or None.
        ski / aki: subjectKeyIdentifier / authorityKeyIdentifier.keyIdentifier as hex, or None.
        self_issued: subject Name == issuer Name (byte-identical DER).
        parse_error: one line when any part of the strict parse failed, else None.
    """

    der: bytes
    cert_sha256: str
    spki_sha256: str | None = None
    subject: str = ""
    issuer: str = ""
    subject_der: bytes = b""
    issuer_der: bytes = b""
    subject_key: str = ""
    issuer_key: str = ""
    serial: str | None = None
    not_before: str | None = None
    not_after: str | None = None
    ski: str | None = None
    aki: str | None = None
    self_issued: bool = False
    parse_errors: list[str] = field(default_factory=list)

    @property
    def parse_error(self) -> str | None:
        """All parse problems joined into one line, or None."""
        return "; ".join(self.parse_errors) or None

    @property
    def subject_country(self) -> set[str]:
        """Country codes (``C=``) found in subject or issuer, upper-cased."""
        out = set()
        for key in (self.subject_key, self.issuer_key):
            for part in key.split("|"):
                if part.startswith("C="):
                    out.add(part[2:].upper())
        return out


def _iso(dt: datetime) -> str:
    if dt.year >= 1000:  # same text as strftime, without its cost (glibc does not zero-pad years < 1000)
        return f"{dt.year}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _serial_hex(content: bytes) -> str:
    value = int.from_bytes(content, "big", signed=True)
    return ("-" if value < 0 else "") + format(abs(value), "x")


def _strict_parse(facts: CertFacts) -> None:
    """Add validity and key identifiers from ``cryptography``; record failures per field."""
    with warnings.catch_warnings():
        # Negative serials (DSDTestProvider) raise CryptographyDeprecationWarning on load (pyca#6626):
        # keep it out of every stream; the host's stdout carries frames only.
        warnings.simplefilter("ignore")
        try:
            cert = x509.load_der_x509_certificate(facts.der)
        except Exception as exc:  # noqa: BLE001 - ValueError, InvalidVersion, ...: any refusal is a fact
            facts.parse_errors.append(f"cryptography refused the certificate: {_one_line(exc)}")
            return
        try:
            facts.not_before = _iso(cert.not_valid_before_utc)
            facts.not_after = _iso(cert.not_valid_after_utc)
        except Exception as exc:  # noqa: BLE001
            facts.parse_errors.append(f"validity: {_one_line(exc)}")
        try:
            exts = cert.extensions
        except Exception as exc:  # noqa: BLE001 - ValueError, DuplicateExtension (pyca#11833, sslyze#420)
            facts.parse_errors.append(f"extensions: {_one_line(exc)}")
            return
        # One pass for both (what get_extension_for_oid does per OID, without an exception for a missing one;
        # duplicates never get here: cert.extensions refuses them).
        ski_ext = aki_ext = None
        for ext in exts:
            if ext.oid == _SKI and ski_ext is None:
                ski_ext = ext
            elif ext.oid == _AKI and aki_ext is None:
                aki_ext = ext
        if ski_ext is not None:
            try:
                facts.ski = ski_ext.value.digest.hex()
            except Exception as exc:  # noqa: BLE001
                facts.parse_errors.append(f"subjectKeyIdentifier: {_one_line(exc)}")
        if aki_ext is not None:
            try:
                kid = aki_ext.value.key_identifier
                facts.aki = kid.hex() if kid else None
            except Exception as exc:  # noqa: BLE001
                facts.parse_errors.append(f"authorityKeyIdentifier: {_one_line(exc)}")


_SKI = ExtensionOID.SUBJECT_KEY_IDENTIFIER
_AKI = ExtensionOID.AUTHORITY_KEY_IDENTIFIER


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def cert_facts(der: bytes) -> CertFacts:
    """Compute :class:`CertFacts` for one DER certificate.

    The result is cached by content (an LRU of 4,096 certificates): intermediates and roots repeat on
    every page, and a warm verdict should cost hashing, not parsing. Treat the result as read-only.

    Raises:
        BadDER: empty input, or over :data:`MAX_CERT_BYTES`. Any other malformation is *not* raised: it
            becomes ``parse_errors`` and the hashes are still there.
    """
    if not der:
        raise BadDER("empty certificate")
    if len(der) > MAX_CERT_BYTES:
        raise BadDER(f"certificate of {len(der)} bytes is over the {MAX_CERT_BYTES}-byte cap")
    return _cert_facts_cached(bytes(der))


@cached_by_bytes(max_entries=4096, max_bytes=8 << 20)  # issue 22 item 12: bounded in bytes too
def _cert_facts_cached(der: bytes) -> CertFacts:
    facts = CertFacts(der=der, cert_sha256=hashlib.sha256(der).hexdigest())
    try:
        parts = _der.split_certificate(der)
    except BadDER as exc:
        facts.parse_errors.append(f"not an X.509 certificate: {exc}")
        return facts
    facts.spki_sha256 = hashlib.sha256(parts.spki).hexdigest()
    facts.subject_der, facts.issuer_der = parts.subject, parts.issuer
    facts.self_issued = parts.subject == parts.issuer
    facts.serial = _serial_hex(parts.serial) if parts.serial else None
    for attr, name_der in (("subject", parts.subject), ("issuer", parts.issuer)):
        try:
            text, key = _name_text_and_key(name_der)
        except BadDER as exc:
            facts.parse_errors.append(f"{attr}: {exc}")
            continue
        setattr(facts, attr, text)
        setattr(facts, attr + "_key", key)
    _strict_parse(facts)
    return facts


def _name_text_and_key(name_der: bytes) -> tuple[str, str]:
    """RFC 4514 text and :func:`native_host.engine.der.name_key` of a DER Name; small Names are cached, since a
    CA's name recurs as the issuer of every certificate it signs (and a root's as both of its own)."""
    if len(name_der) <= 1024:
        return _name_text_and_key_cached(name_der)
    return _decode_name(name_der)


def _decode_name(name_der: bytes) -> tuple[str, str]:
    pairs = _der.name_attributes(name_der)
    return ",".join(f"{k}={_der._escape(v)}" for k, v in reversed(pairs)), _der.name_key(pairs)


@lru_cache(maxsize=2048)
def _name_text_and_key_cached(name_der: bytes) -> tuple[str, str]:
    return _decode_name(name_der)


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """Split PEM text (RFC 7468) into ``[(label, der), ...]``, e.g. ``("CERTIFICATE", b"0\\x82...")``.

    The DER is base64-decoded as is, never re-encoded, so hashes are of the original bytes.

    Raises:
        BadDER: a block's body is not valid base64.
    """
    out = []
    for m in _PEM_RE.finditer(data):
        try:
            out.append((m.group(1).decode("ascii"), base64.b64decode(b"".join(m.group(2).split()), validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise BadDER(f"PEM block {m.group(1).decode('ascii', 'replace')!r} is not valid base64") from exc
    return out


_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
