"""Turn the three input forms into a :class:`native_host.engine.verdict.Chain`.

- a list of base64 DER strings, leaf first (the protocol's ``chain``; Chromium ``Network.getCertificate``);
- a Firefox ``SecurityInfo`` object (``webRequest.getSecurityInfo(id, {certificateChain: true, rawDER: true})``;
  MDN ``webRequest/SecurityInfo`` and ``CertificateInfo``; formats checked in ../docs/protocol.md);
- PEM or DER bytes from a file (leaf first).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from native_host.engine import der as _der
from native_host.engine.certfacts import CertFacts, cert_facts, pem_blocks
from native_host.errors import BadBase64, BadDER, BadInput
from native_host.schemas import validate
from native_host.engine.verdict import Chain

MAX_CHAIN = 64
"""At most this many certificates per chain (a real chain has 2-5)."""


def chain_from_base64(items: list[str], *, evidence: str = "chain", url: str | None = None) -> Chain:
    """Decode base64 DER certificates (leaf first).

    Raises:
        BadBase64: an item is not valid base64 (the message names its index).
        BadDER: an item decodes to empty bytes or over the per-certificate cap.
    """
    certs = []
    for i, item in enumerate(items[:MAX_CHAIN]):
        try:
            raw = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadBase64(f"chain[{i}] is not valid base64") from exc
        try:
            certs.append(cert_facts(raw))
        except BadDER as exc:
            raise BadDER(f"chain[{i}]: {exc}") from exc
    _require_one_certificate(certs, "chain")
    return Chain(certs=certs, evidence=evidence, url=url)


def _require_one_certificate(certs: list[CertFacts], what: str) -> None:
    """A chain in which not one item is shaped like a certificate is bad input, not a verdict.

    A chain with *some* damaged certificates is still judged: their raw hashes are still matched.
    """
    if certs and all(c.spki_sha256 is None for c in certs):
        raise BadDER(f"{what}[0] is not an X.509 certificate ({certs[0].parse_error})")


def _hex_fingerprint(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.replace(":", "").strip().lower()
    return text if len(text) == 64 and not text.strip("0123456789abcdef") else None


def _spki_from_digest(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def _iso_from_ms(value: Any) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if value > 1e14:  # older Firefox releases passed PRTime microseconds (browser-apis.md 1.2)
        value /= 1000
    try:
        dt = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    if dt.year >= 1000:  # same text as strftime, without its cost (glibc does not zero-pad years < 1000)
        return f"{dt.year}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


MEMORY_ENTRIES = 4096
"""Certificates whose facts the host remembers from DER it parsed (least recently used dropped above this)."""

MEMORY_BYTES = 8 << 20
"""DER bytes :class:`CertMemory` keeps at most (issue 22 item 12; 4,096 certificates of 2 KB fit)."""


class CertMemory:
    """Facts of certificates the host parsed from their DER, keyed by the SHA-256 of that DER (which the
    host computed itself, so a key can only name the bytes it was computed from).

    The extension asks Firefox for ``rawDER`` only where the host needs it (docs/protocol.md
    ``der_wanted``); a certificate sent without DER whose fingerprint is remembered here is judged from
    the same facts as if its DER had been sent again. Bounded (:data:`MEMORY_ENTRIES`), LRU.
    """

    __slots__ = ("max_entries", "_facts", "_bytes")

    def __init__(self, max_entries: int = MEMORY_ENTRIES) -> None:
        self.max_entries = max_entries
        self._facts: OrderedDict[str, CertFacts] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._facts)

    def remember(self, facts: CertFacts) -> None:
        """Keep the facts of a certificate parsed from DER (one with no SPKI found is not kept: it is
        not a certificate the host could judge again)."""
        if not facts.der or facts.spki_sha256 is None:
            return
        if len(facts.der) > MEMORY_BYTES // 4:  # issue 22 item 12: a huge certificate is not remembered
            return
        old = self._facts.pop(facts.cert_sha256, None)
        self._bytes += len(facts.der) - (len(old.der) if old is not None else 0)
        self._facts[facts.cert_sha256] = facts
        while len(self._facts) > self.max_entries or self._bytes > MEMORY_BYTES:
            _, gone = self._facts.popitem(last=False)
            self._bytes -= len(gone.der)

    def recall(self, cert_sha256: str | None) -> CertFacts | None:
        """The remembered facts of the certificate with this fingerprint, or None."""
        if cert_sha256 is None:
            return None
        facts = self._facts.get(cert_sha256)
        if facts is not None:
            self._facts.move_to_end(cert_sha256)
        return facts


def _facts_from_certinfo(i: int, info: dict[str, Any], memory: CertMemory | None = None,
                         missing: list[int] | None = None) -> CertFacts:
    raw = info.get("rawDER")
    if isinstance(raw, list) and raw:
        try:
            facts = cert_facts(bytes(raw))
        except (ValueError, TypeError) as exc:
            raise BadDER(f"certificates[{i}].rawDER: {exc}") from exc
        if memory is not None:
            memory.remember(facts)
        return facts
    # No DER: the facts the host parsed from this certificate's DER before, if it did.
    cert_sha256 = _hex_fingerprint((info.get("fingerprint") or {}).get("sha256"))
    if cert_sha256 is None:
        raise BadDER(f"certificates[{i}] has neither rawDER nor a SHA-256 fingerprint")
    if memory is not None:
        known = memory.recall(cert_sha256)
        if known is not None:
            return known
    if missing is not None:
        missing.append(i)
    # Else: facts from Firefox's own fingerprints and strings (not evidence enough for an "ok").
    subject = info.get("subject") if isinstance(info.get("subject"), str) else ""
    issuer = info.get("issuer") if isinstance(info.get("issuer"), str) else ""
    validity = info.get("validity") or {}
    return CertFacts(
        der=b"", cert_sha256=cert_sha256,
        spki_sha256=_spki_from_digest((info.get("subjectPublicKeyInfoDigest") or {}).get("sha256")),
        subject=subject, issuer=issuer,
        subject_key=_name_key_of(subject), issuer_key=_name_key_of(issuer),
        serial=(info.get("serialNumber") or "").replace(":", "").lower() or None,
        not_before=_iso_from_ms(validity.get("start")), not_after=_iso_from_ms(validity.get("end")),
        self_issued=bool(subject) and subject == issuer,
        parse_errors=["no rawDER: facts taken from the browser's fingerprints"],
    )


def _name_key_of(text: str) -> str:
    """:func:`native_host.engine.der.name_key` of a DN string; small names cached (the same issuers recur on
    every page once the extension stops sending their DER)."""
    if len(text) <= 2048:
        return _name_key_cached(text)
    return _der.name_key(_der.parse_name_string(text))


@lru_cache(maxsize=2048)
def _name_key_cached(text: str) -> str:
    return _der.name_key(_der.parse_name_string(text))


def chain_from_security_info(info: dict[str, Any], *, url: str | None = None, validated: bool = False,
                             memory: CertMemory | None = None, missing: list[int] | None = None) -> Chain:
    """Read a Firefox ``SecurityInfo`` object.

    ``state: "insecure"`` (plain HTTP) gives an ``insecure`` chain; ``secure`` and ``weak`` mean Firefox's
    verifier built and accepted the chain (:attr:`Chain.browser_verified`), ``broken`` that it did not; ``isBuiltInRoot`` of the last
    certificate becomes :attr:`Chain.builtin_root` (Firefox marks only the built chain's root, per
    ``toolkit/components/extensions/webrequest/SecurityInfo.sys.mjs``); ``fromCache`` is carried along.

    Args:
        validated: the caller has already validated ``info`` against ``securityinfo.schema.json`` (the
            host's ``check.request`` schema includes it), so it is not validated again (about 80 µs of a
            3-certificate chain with ``rawDER``).
        memory: facts of certificates parsed before: certificates with DER are remembered there, those
            without are read from it when their fingerprint is known.
        missing: when given, the indexes of certificates that came without DER and were not in
            ``memory`` are appended (their facts are only the browser's strings and fingerprints).

    Raises:
        SchemaError: the object does not match ``securityinfo.schema.json``.
        BadDER: a certificate has neither usable ``rawDER`` nor a fingerprint.
    """
    if not validated:
        validate("securityinfo", info)
    if info["state"] == "insecure":
        return Chain(certs=[], evidence="securityInfo", url=url, insecure=True)
    infos = info.get("certificates") or []
    certs = [_facts_from_certinfo(i, c, memory, missing) for i, c in enumerate(infos[:MAX_CHAIN])]
    builtin = infos[-1].get("isBuiltInRoot") if infos else None
    return Chain(certs=certs, evidence="securityInfo", url=url,
                 builtin_root=builtin if isinstance(builtin, bool) else None,
                 from_cache=bool(info.get("fromCache")),
                 browser_verified=info["state"] in ("secure", "weak"))


def _looks_like_text(data: bytes) -> bool:
    """True for UTF-8 text with no control bytes but tab/CR/LF: a DER certificate always starts with the
    SEQUENCE tag 0x30 followed by a length byte, and its body holds bytes below 0x20."""
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:  # a multi-byte character cut at the 4096-byte boundary
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(c >= " " or c in "\t\r\n" for c in text)


def chain_from_bytes(data: bytes, *, name: str = "input") -> Chain:
    """Read a chain file: PEM (any number of ``CERTIFICATE`` blocks), a JSON ``SecurityInfo``, or DER
    (one certificate or several back to back). Leaf first.

    Raises:
        BadInput: empty, none of the three forms, or more than :data:`MAX_CHAIN` certificates (refused
            whole, never judged in part).
        BadDER / SchemaError: as the form's reader.
    """
    stripped = data.lstrip()
    if not stripped:
        raise BadInput(f"{name} is empty")
    if stripped.startswith(b"{"):
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadInput(f"{name} looks like JSON but is not valid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise BadInput(f"{name} is JSON but not a SecurityInfo object")
        inner = obj.get("securityInfo", obj)
        return chain_from_security_info(inner, url=obj.get("url"))
    if b"-----BEGIN" in stripped:
        blocks = [d for label, d in pem_blocks(data) if label in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")]
        if not blocks:
            raise BadInput(f"{name} has PEM armour but no CERTIFICATE block")
        _refuse_long(blocks, name)
        certs = [cert_facts(d) for d in blocks]
        _require_one_certificate(certs, name)
        return Chain(certs=certs)
    if _looks_like_text(data):
        raise BadInput(f"{name} is not a certificate: it is text without a '-----BEGIN CERTIFICATE-----' block "
                       "(expected a PEM or DER chain, or a SecurityInfo JSON)")
    try:
        pieces = _der.split_concatenated(data)
    except BadDER as exc:
        raise BadInput(f"{name} is not a certificate: neither PEM, a SecurityInfo JSON nor DER ({exc})") from exc
    _refuse_long(pieces, name)
    certs = [cert_facts(p) for p in pieces]
    _require_one_certificate(certs, name)
    return Chain(certs=certs)


def _refuse_long(ders: list[bytes], name: str) -> None:
    """A file of more than :data:`MAX_CHAIN` certificates is refused whole: a verdict on its first 64 would
    leave the rest (a banned root among them) unjudged without a word. A bundle of roots is the job of
    ``rootsentinel scan``, not of a chain check.

    Raises:
        BadInput: more than :data:`MAX_CHAIN` certificates.
    """
    if len(ders) > MAX_CHAIN:
        raise BadInput(f"{name} holds {len(ders)} certificates, over the {MAX_CHAIN} of a chain; "
                       "nothing was judged (split it, or scan a root bundle with `rootsentinel scan`)")
