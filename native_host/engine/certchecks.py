"""One certificate at a time: loading (cached), one signature link, whether an issuer may issue, AIA URLs,
dates and names. The path builder (:mod:`native_host.engine.verify`) is built on these and re-exports them.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from native_host.engine.bounded import BoundedCache

if TYPE_CHECKING:
    from native_host.engine.certfacts import CertFacts


class _LRU:
    """A small thread-safe LRU mapping (the host judges probes on worker threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):  # noqa: ANN001, ANN201
        with self._lock:
            try:
                self._data.move_to_end(key)
            except KeyError:
                return default
            return self._data[key]

    def put(self, key, value) -> None:  # noqa: ANN001
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_CERTS = BoundedCache(2048, 8 << 20)
"""cert_sha256 -> ``cryptography`` Certificate, or the one-line reason it could not be loaded; bounded by the
bytes of the DER too (issue 22 item 12)."""

_LINKS = _LRU(8192)
"""(child cert_sha256, issuer cert_sha256) -> None when the link verifies, else the one-line reason."""


def clear_caches() -> None:
    """Forget parsed certificates and link results (benchmarks measure cold runs with this)."""
    _CERTS.clear()
    _LINKS.clear()


def _one_line(exc: BaseException) -> str:
    return (type(exc).__name__ + (": " + " ".join(str(exc).split()) if str(exc) else ""))[:300]


def load_certificate(facts: CertFacts) -> x509.Certificate | str:
    """The ``cryptography`` certificate for ``facts`` (cached by ``cert_sha256``), or why it cannot be had.

    Returns:
        A ``Certificate``, or a one-line reason string (no DER, or ``cryptography`` refused it).
    """
    hit = _CERTS.get(facts.cert_sha256)
    if hit is not None:
        return hit
    if not facts.der:
        value: x509.Certificate | str = "no DER (the browser sent fingerprints only)"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # negative serials warn on load (pyca#6626); stdout carries frames only
            try:
                value = x509.load_der_x509_certificate(facts.der)
            except Exception as exc:  # noqa: BLE001 - ValueError and friends: any refusal is a fact
                value = f"not a certificate cryptography can read: {_one_line(exc)}"
    _CERTS.put(facts.cert_sha256, value, len(facts.der or b""))
    return value


def link_error(child: CertFacts, issuer: CertFacts, issuer_cert: x509.Certificate | None = None) -> str | None:
    """Check that ``issuer`` signed ``child``: None when it did, else a one-line reason.

    Uses ``child.verify_directly_issued_by(issuer)`` (signature by the issuer's public key and issuer
    Name == subject Name); the result is cached per (child, issuer) ``cert_sha256`` pair.
    """
    key = (child.cert_sha256, issuer.cert_sha256)
    hit = _LINKS.get(key, False)
    if hit is not False:
        return hit
    child_cert = load_certificate(child)
    parent = issuer_cert if issuer_cert is not None else load_certificate(issuer)
    if isinstance(child_cert, str):
        result: str | None = f"certificate: {child_cert}"
    elif isinstance(parent, str):
        result = f"issuer: {parent}"
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                child_cert.verify_directly_issued_by(parent)
            result = None
        except InvalidSignature:
            result = "the signature does not verify with the issuer's key"
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            if "does not match issuer key type" in str(exc):  # an ECDSA signature "from" an RSA root: not its
                result = "the signature does not verify with the issuer's key (another key type)"
            else:
                result = f"the signature cannot be checked: {_one_line(exc)}"
    _LINKS.put(key, result)
    return result


def ca_error(issuer: x509.Certificate, below: int, *, anchor: bool = False) -> str | None:
    """Why ``issuer`` may not issue the certificate below it on a path, or None when it may.

    As browsers require (RFC 5280 6.1.4 (k), (l), (n); mozilla::pkix ``CheckBasicConstraints`` and
    ``CheckKeyUsage``): basicConstraints with cA TRUE (a version 1 certificate without extensions is
    accepted only as a trust anchor), a pathLenConstraint not smaller than the number of non-self-issued
    intermediates below it (``below``), and keyCertSign where keyUsage is present. A trust anchor without
    basicConstraints (a version 1 root, a private root made without extensions) is accepted as given.

    Args:
        issuer: the candidate issuer.
        below: non-self-issued certificates between it and the leaf (0 when it signs the leaf).
        anchor: it is a trust anchor (a store root, a root the administrator gave, a self-issued certificate).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyca#6626 serial warnings; stdout carries frames only
            exts = issuer.extensions
    except Exception as exc:  # noqa: BLE001 - duplicate or malformed extensions
        return f"its extensions cannot be read ({_one_line(exc)})"
    try:
        bc = exts.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        if anchor:  # a trust anchor is trusted as given (RFC 5280 6.1.1 (d)); a v1 root has no extensions
            return None
        return "it is not a CA certificate (no basicConstraints extension)"
    if not bc.ca:
        return "it is not a CA certificate (basicConstraints cA=FALSE)"
    if bc.path_length is not None and below > bc.path_length:
        return (f"its pathLenConstraint {bc.path_length} allows {bc.path_length} intermediate(s) below it, "
                f"the path has {below}")
    try:
        ku = exts.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if not ku.key_cert_sign:
        return "its keyUsage does not allow signing certificates (no keyCertSign)"
    return None


def ca_issuers_urls(facts: CertFacts) -> list[str]:
    """The ``http://`` caIssuers URLs of a certificate's Authority Information Access (RFC 5280 4.2.2.1),
    at most 2; ``[]`` when it has none or cannot be read. Other schemes (ldap, https) are skipped."""
    cert = load_certificate(facts)
    if isinstance(cert, str):
        return []
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except Exception:  # noqa: BLE001 - ExtensionNotFound, duplicate or malformed extensions
        return []
    out = []
    for desc in aia:
        if desc.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS and isinstance(
                desc.access_location, x509.UniformResourceIdentifier):
            url = desc.access_location.value
            if url.lower().startswith("http://") and len(url) <= 2048:
                out.append(url)
    return out[:2]


def utc_stamp(now: datetime | None = None) -> str:
    """``now`` (default: the current time) as the ISO 8601 UTC text :class:`CertFacts` dates use."""
    t = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def expired(facts: CertFacts, now: datetime | str | None = None) -> bool:
    """True when ``now`` (a datetime, a :func:`utc_stamp` text, default the current time) is outside the
    certificate's validity period. A certificate with unknown dates is not called expired."""
    if not facts.not_after or not facts.not_before:
        return False
    stamp = now if isinstance(now, str) else utc_stamp(now)
    return not (facts.not_before <= stamp <= facts.not_after)


def name_matches(facts: CertFacts, host: str) -> bool | None:
    """Whether the leaf names ``host`` (DNS or IP subjectAltName; RFC 6125 6.4: one wildcard, left-most label
    only, never matching a dot). None when it cannot be told (no DER, unreadable extensions)."""
    cert = load_certificate(facts)
    if isinstance(cert, str) or not host:
        return None
    import ipaddress

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    except Exception:  # noqa: BLE001
        return None
    host = host.strip("[]").rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return any(a == ip for a in san.get_values_for_type(x509.IPAddress))
    for name in san.get_values_for_type(x509.DNSName):
        name = name.rstrip(".").lower()
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            first, rest = host.split(".", 1)
            if first and rest == name[2:]:
                return True
    return False
