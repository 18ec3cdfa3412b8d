"""A minimal, strict-enough DER walker for X.509 certificates.

It finds the raw bytes of the parts of a certificate that matching needs (the SubjectPublicKeyInfo, the
issuer and subject Names, the serial number) *without* a full parse, so blocklist matching never depends on
``cryptography`` accepting the certificate (field report C.15: an explicitly encoded ``critical=FALSE``
makes ``load_der_x509_certificate`` itself raise). Structure from RFC 5280 section 4.1:

    Certificate  ::=  SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    TBSCertificate  ::=  SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER, signature AlgorithmIdentifier,
                                    issuer Name, validity Validity, subject Name, subjectPublicKeyInfo, ... }
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from native_host.errors import BadDER

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_CONTEXT_0 = 0xA0

# Short names of RFC 4514 section 3 plus the common extras browsers show.
_OID_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "STREET",
    "2.5.4.10": "O", "2.5.4.11": "OU", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID", "1.2.840.113549.1.9.1": "emailAddress",
    "2.5.4.5": "serialNumber",
}


def read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """Read one DER tag-length header at ``pos``.

    Returns ``(tag, content_start, content_end)`` as byte offsets into ``data``. Only single-byte tags and
    definite lengths of up to 4 length bytes are accepted (X.509 needs no more).

    Raises:
        BadDER: truncated input, indefinite or over-long length, content running past the end.
    """
    n = len(data)
    if pos + 2 > n:
        raise BadDER("truncated DER: no room for a tag and length")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BadDER("multi-byte DER tags are not used in X.509")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise BadDER("indefinite or over-long DER length")
        if pos + count > n:
            raise BadDER("truncated DER length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    end = pos + length
    if end > n:
        raise BadDER(f"truncated DER: element needs {end - n} more bytes")
    return tag, pos, end


class CertParts(NamedTuple):
    """Raw DER slices of one certificate, found by :func:`split_certificate`.

    ``spki``, ``issuer`` and ``subject`` are complete TLVs (tag + length + content) exactly as they occur in
    the certificate; ``serial`` is the INTEGER's content octets (two's complement, big-endian).
    """

    spki: bytes
    issuer: bytes
    subject: bytes
    serial: bytes


def split_certificate(der: bytes) -> CertParts:
    """Locate serial, issuer, subject and SubjectPublicKeyInfo in a DER certificate (RFC 5280 4.1).

    Trailing bytes after the outer SEQUENCE are rejected, so a concatenation is never taken for one
    certificate.

    Raises:
        BadDER: the bytes are not shaped like an X.509 certificate.
    """
    tag, start, end = read_tlv(der, 0)
    if tag != _SEQUENCE:
        raise BadDER("not a certificate: outer element is not a SEQUENCE")
    if end != len(der):
        raise BadDER(f"{len(der) - end} trailing bytes after the certificate")
    tag, pos, tbs_end = read_tlv(der, start)
    if tag != _SEQUENCE:
        raise BadDER("not a certificate: tbsCertificate is not a SEQUENCE")
    tag, c0, c1 = read_tlv(der, pos)
    if tag == _CONTEXT_0:  # explicit [0] version
        pos = c1
        tag, c0, c1 = read_tlv(der, pos)
    if tag != _INTEGER:
        raise BadDER("not a certificate: serialNumber is not an INTEGER")
    serial = der[c0:c1]
    pos = c1
    fields = []
    for _ in range(4):  # signature, issuer, validity, subject
        tag, c0, c1 = read_tlv(der, pos)
        if tag != _SEQUENCE:
            raise BadDER("not a certificate: unexpected element in tbsCertificate")
        fields.append(der[pos:c1])
        pos = c1
    tag, c0, c1 = read_tlv(der, pos)
    if tag != _SEQUENCE or c1 > tbs_end:
        raise BadDER("not a certificate: subjectPublicKeyInfo missing")
    return CertParts(spki=der[pos:c1], issuer=fields[1], subject=fields[3], serial=serial)


def split_concatenated(data: bytes) -> list[bytes]:
    """Split back-to-back DER certificates (a ``.der`` chain file) into single certificates.

    Raises:
        BadDER: a piece is not a complete SEQUENCE.
    """
    out = []
    pos = 0
    while pos < len(data):
        tag, _, end = read_tlv(data, pos)
        if tag != _SEQUENCE:
            raise BadDER(f"byte {pos}: not a DER SEQUENCE")
        out.append(data[pos:end])
        pos = end
    return out


@lru_cache(maxsize=512)
def _decode_oid(content: bytes) -> str:
    # Cached: the same few attribute OIDs occur in nearly every Name (bounded, so hostile OIDs cannot grow it).
    if not content:
        return ""
    parts = [str(content[0] // 40), str(content[0] % 40)] if content[0] < 80 else ["2", str(content[0] - 80)]
    value = 0
    for b in content[1:]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(str(value))
            value = 0
    return ".".join(parts)


def _decode_string(tag: int, content: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return content.decode("utf-16-be", errors="replace")
    if tag == 0x1C:  # UniversalString
        return content.decode("utf-32-be", errors="replace")
    if tag in (0x13, 0x16, 0x1A, 0x14):  # Printable, IA5, Visible, Teletex: bytes <= 0x7f expected
        return content.decode("latin-1")
    return content.decode("utf-8", errors="replace")


_NEEDS_ESCAPE = re.compile(r'[,+"\\<>;=\x00-\x1f\x7f]')


def _escape(value: str) -> str:
    if not _NEEDS_ESCAPE.search(value) and not value.startswith(("#", " ")) and not value.endswith(" "):
        return value  # fast path: nothing to escape (most names); same result as the loop below
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\%02X" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def name_attributes(name_der: bytes) -> list[tuple[str, str]]:
    """Decode a DER Name into ``[(short name or dotted OID, value), ...]`` in encoding order.

    Invalid UTF-8 (field report C.14) is replaced with U+FFFD instead of raising, so an attacker's name is
    always shown, never a crash.

    Raises:
        BadDER: the Name is not a SEQUENCE of SETs of (OID, value).
    """
    tag, pos, end = read_tlv(name_der, 0)
    if tag != _SEQUENCE:
        raise BadDER("Name is not a SEQUENCE")
    attrs = []
    while pos < end:
        tag, s0, s1 = read_tlv(name_der, pos)
        if tag != _SET:
            raise BadDER("RDN is not a SET")
        p = s0
        while p < s1:
            tag, a0, a1 = read_tlv(name_der, p)
            t_oid, o0, o1 = read_tlv(name_der, a0)
            if tag != _SEQUENCE or t_oid != 0x06:
                raise BadDER("AttributeTypeAndValue malformed")
            v_tag, v0, v1 = read_tlv(name_der, o1)
            oid = _decode_oid(name_der[o0:o1])
            attrs.append((_OID_NAMES.get(oid, oid), _decode_string(v_tag, name_der[v0:v1])))
            p = a1
        pos = s1
    return attrs


def name_to_string(name_der: bytes) -> str:
    """Render a DER Name as an RFC 4514 string (last RDN first, ``CN=...,O=...,C=..``).

    Values are escaped per RFC 4514 section 2.4; control characters become ``\\XX``. The result is still
    attacker-controlled text: display it as text only.

    Raises:
        BadDER: as :func:`name_attributes`.
    """
    return ",".join(f"{k}={_escape(v)}" for k, v in reversed(name_attributes(name_der)))


def name_key(pairs: list[tuple[str, str]]) -> str:
    """A comparison key for a Name: attributes upper-cased by type, values case-folded and trimmed, sorted.

    Used to match a certificate's issuer against blocklist entries known only by their subject text.
    """
    return "|".join(sorted(f"{k.upper()}={' '.join(v.split()).casefold()}" for k, v in pairs))


def parse_name_string(text: str) -> list[tuple[str, str]]:
    """Parse an RFC 4514-style DN string (``CN=a\\,b,C=KZ``) into ``[(type, value), ...]``.

    Handles backslash escapes of single characters and of two hex digits, and values in double quotes
    (RFC 1779, as Firefox/NSS write them: ``O="Superfish, Inc."``, where ``,`` and ``+`` are part of the
    value); multi-valued RDNs (``+``) are split into separate attributes.
    """
    pairs = []
    key, buf, in_value, quoted = "", [], False, False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"' and in_value and (quoted or not "".join(buf).strip()):
            quoted = not quoted
            i += 1
            continue
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1:i + 3]
            if len(nxt) == 2 and all(c in "0123456789abcdefABCDEF" for c in nxt):
                buf.append(chr(int(nxt, 16)))
                i += 3
                continue
            buf.append(text[i + 1])
            i += 2
            continue
        if ch == "=" and not in_value:
            key, buf, in_value = "".join(buf).strip(), [], True
        elif ch in ",+" and in_value and not quoted:
            pairs.append((key, "".join(buf).strip()))
            buf, in_value, quoted = [], False, False
        else:
            buf.append(ch)
        i += 1
    if in_value:
        pairs.append((key, "".join(buf).strip()))
    return pairs
