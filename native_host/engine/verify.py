"""Path building by signatures: from the leaf, through the certificates sent, to a trust anchor.

A server (or a file, or an interceptor) may send anything after the leaf: the real intermediates, junk,
duplicates, certificates out of order, public roots it does not chain to. The verdict must depend only
on the path the leaf's signatures actually prove, so :func:`build_path` walks it link by link:

1. candidates for the issuer of the current certificate are the certificates sent whose subject Name
   (exact DER) equals its issuer Name, with authority/subject key ids agreeing where both are present
   (RFC 5280 4.2.1.1), plus the store's roots of that name (:meth:`PublicRoots.issuers_for`), plus
   certificates fetched from its AIA caIssuers URL when a ``fetch`` callable is given;
2. each link is checked with ``cryptography``'s ``Certificate.verify_directly_issued_by`` (the issuer's
   key verifies the child's signature, and the child's issuer Name equals the issuer's subject);
3. the walk stops at a root of the store (trusted: ``public``; removed by its program: ``formerly_public``),
   at a self-issued certificate not in the store (``private_anchor``), or where no candidate verifies.

Depth is bounded (:data:`MAX_DEPTH`), a certificate appears at most once on a path, and the number of
signature checks per chain is bounded (:data:`MAX_LINK_CHECKS`). Expiry is *reported* (``expired``), never
part of the path decision: an expired private root still intercepts, an expired public chain is still
public (the browser, not this product, refuses it).

Why not ``cryptography.x509.verification.PolicyBuilder``: its server verifier also enforces validity
dates, EKU and the host name, and fails as a whole, so it cannot tell "anchored in a private root"
from "expired" from "wrong name", and it cannot end a path at a private root. bench/bench_verify.py
measures both.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from native_host.engine.bounded import BoundedCache

if TYPE_CHECKING:
    from native_host.engine.certfacts import CertFacts
    from native_host.engine.publicroots import PublicRoot, PublicRoots

MAX_DEPTH = 8
"""Certificates on a path at most, leaf and anchor included (real paths have 2-4)."""

MAX_LINK_CHECKS = 64
"""Signature checks per chain at most (a hostile chain of many same-named certificates stays cheap)."""

MAX_FETCHES = 2
"""AIA fetches per chain at most."""

OUTCOMES = ("public", "formerly_public", "private_anchor", "incomplete_chain", "unknown_issuer", "unparseable_leaf")
"""Outcomes of :func:`build_path`, best first (the order used to pick among several partial paths)."""

FetchIssuers = Callable[[str], list[bytes]]
"""``fetch(url) -> [DER certificate, ...]``: the AIA caIssuers fetcher (:class:`native_host.messaging.aia.Fetcher`).
Must never raise for network or format errors (it returns ``[]``)."""


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


@dataclass(frozen=True, slots=True)
class Step:
    """One certificate on a path.

    Attributes:
        facts: the certificate.
        index: its index in the chain as sent, or None (a store root or a fetched certificate).
        root: the store's :class:`PublicRoot` when this certificate is one, else None.
        fetched: it came from an AIA caIssuers URL.
    """

    facts: CertFacts
    index: int | None
    root: PublicRoot | None = None
    fetched: bool = False


@dataclass(frozen=True, slots=True)
class PathResult:
    """What :func:`build_path` found.

    Attributes:
        outcome: one of :data:`OUTCOMES`:
            ``public`` (the path ends at a trusted store root), ``formerly_public`` (at a root its program
            removed), ``private_anchor`` (at a self-issued certificate not in the store),
            ``incomplete_chain`` (the top certificate's issuer Name is a store root's, or a candidate was
            found, but no signature verifies or can be checked), ``unknown_issuer`` (the top certificate's
            issuer is neither sent, nor in the store, nor fetched), ``unparseable_leaf``.
        steps: the path, leaf first (the anchor last for the first three outcomes).
        anchor: the anchor step (for ``public``/``formerly_public``/``private_anchor``), else None.
        top: the last certificate on the path (the anchor, or the certificate whose issuer is missing).
        failures: one-line reasons of the links tried and refused (attacker-influenced text).
        bad_signature: a candidate issuer of the top certificate was at hand and its signature failed.
        fetched: how many certificates the path took from AIA URLs.
        detail: one line on why the path stops where it does, or None.
    """

    outcome: str
    steps: tuple[Step, ...]
    anchor: Step | None = None
    failures: tuple[str, ...] = ()
    bad_signature: bool = False
    fetched: int = 0
    detail: str | None = None

    @property
    def top(self) -> CertFacts:
        """The last certificate on the path."""
        return self.steps[-1].facts

    @property
    def indices(self) -> list[int | None]:
        """Chain indices of the path's certificates (None for store roots and fetched certificates)."""
        return [s.index for s in self.steps]


@dataclass
class _Walk:
    certs: list[CertFacts]
    store: PublicRoots
    fetch: FetchIssuers | None
    checks: int = 0
    fetches: int = 0
    fetched: dict[str, list[CertFacts]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _rank(result: PathResult) -> int:
    return OUTCOMES.index(result.outcome)


def build_path(certs: list[CertFacts], store: PublicRoots, fetch: FetchIssuers | None = None) -> PathResult:
    """Build the best path from ``certs[0]`` (the leaf) by signatures.

    Args:
        certs: the chain as sent, leaf first (may hold junk, duplicates, any order).
        store: the public roots.
        fetch: AIA caIssuers fetcher, or None to use only what was sent and the store.

    Returns:
        The best :class:`PathResult` found (``public`` first, then in :data:`OUTCOMES` order).

    Raises:
        ValueError: ``certs`` is empty.
    """
    if not certs:
        raise ValueError("no certificates")
    leaf = certs[0]
    first = Step(leaf, 0, store.root_for(leaf))
    outcome = _terminal(first)
    if outcome is not None:  # a lone root: nothing to verify (an anchor's self-signature proves nothing)
        return PathResult(outcome, (first,), first)
    loaded = load_certificate(leaf)
    if isinstance(loaded, str):
        return PathResult("unparseable_leaf", (first,), detail=loaded)
    walk = _Walk(list(certs), store, fetch)
    result = _extend(walk, (first,))
    return PathResult(result.outcome, result.steps, result.anchor, tuple(walk.failures), result.bad_signature,
                      sum(1 for s in result.steps if s.fetched), result.detail)


def _terminal(step: Step) -> str | None:
    if step.root is not None:
        return "public" if step.root.trusted else "formerly_public"
    if step.facts.self_issued:
        return "private_anchor"
    return None


def _candidates(walk: _Walk, child: CertFacts, on_path: set[str]) -> list[Step]:
    out: list[Step] = []
    seen: set[str] = set()
    for root in walk.store.issuers_for(child):
        sha = root.facts.cert_sha256
        if sha not in on_path and sha not in seen:
            seen.add(sha)
            # A store root that was also sent keeps its chain index (the anchor was sent).
            index = next((i for i, c in enumerate(walk.certs) if c.cert_sha256 == sha), None)
            out.append(Step(root.facts, index, root))
    for i, c in enumerate(walk.certs):
        if (c.cert_sha256 in on_path or c.cert_sha256 in seen or not c.subject_der
                or c.subject_der != child.issuer_der):
            continue
        if child.aki is not None and c.ski is not None and child.aki != c.ski:
            continue
        seen.add(c.cert_sha256)
        out.append(Step(c, i, walk.store.root_for(c)))
    return out


def _fetched_candidates(walk: _Walk, child: CertFacts, on_path: set[str]) -> list[Step]:
    if walk.fetch is None:
        return []
    from native_host.engine.certfacts import cert_facts

    out = []
    for url in ca_issuers_urls(child):
        if url not in walk.fetched:
            if walk.fetches >= MAX_FETCHES:
                continue
            walk.fetches += 1
            facts = []
            for der in walk.fetch(url)[:8]:
                try:
                    facts.append(cert_facts(der))
                except ValueError:
                    continue
            walk.fetched[url] = facts
        for c in walk.fetched[url]:
            if c.cert_sha256 not in on_path and c.subject_der == child.issuer_der:
                out.append(Step(c, None, walk.store.root_for(c), fetched=True))
    return out


def _extend(walk: _Walk, steps: tuple[Step, ...]) -> PathResult:
    step = steps[-1]
    outcome = _terminal(step)
    if outcome is not None:
        return PathResult(outcome, steps, step)
    child = step.facts
    if len(steps) >= MAX_DEPTH:
        return PathResult("unknown_issuer", steps, detail=f"no anchor within {MAX_DEPTH} certificates")
    on_path = {s.facts.cert_sha256 for s in steps}
    best: PathResult | None = None
    bad_signature = False
    tried_any = False
    for pool in (_candidates, _fetched_candidates):
        for cand in pool(walk, child, on_path):
            if walk.checks >= MAX_LINK_CHECKS:
                break
            walk.checks += 1
            tried_any = True
            issuer_cert = cand.root.certificate() if cand.root is not None and _loadable(cand.root) else None
            error = link_error(child, cand.facts, issuer_cert)
            if error is not None:
                bad_signature = bad_signature or error.startswith("the signature does not verify")
                where = f"chain[{cand.index}]" if cand.index is not None else ("store root" if cand.root else "fetched")
                walk.failures.append(f"{where} as issuer of {_label(step)}: {error}")
                continue
            result = _extend(walk, (*steps, cand))
            if best is None or _rank(result) < _rank(best):
                best = result
            if best.outcome == "public":
                return best
        if best is not None and _rank(best) <= OUTCOMES.index("private_anchor"):
            return best  # a verified anchor from what was sent: no need to fetch
    if best is not None:
        return best
    # Named like a store root (by name alone: an imitation may carry another key id).
    claims_public = bool(walk.store.issuers_for(replace(child, aki=None)))
    if claims_public or tried_any:
        if claims_public:
            detail = ("its issuer's name is a public root's, but no signature from that root verifies"
                      if bad_signature else "its issuer's name is a public root's, but the signature cannot be checked")
            return PathResult("incomplete_chain", steps, bad_signature=bad_signature, detail=detail)
        return PathResult("unknown_issuer", steps, bad_signature=bad_signature,
                          detail="a certificate of its issuer's name was sent, but its signature does not verify")
    return PathResult("unknown_issuer", steps, detail="its issuer was neither sent nor is it in the public store")


def _loadable(root: PublicRoot) -> bool:
    try:
        root.certificate()
        return True
    except Exception:  # noqa: BLE001 - an unreadable store root is simply not a usable issuer
        return False


def _label(step: Step) -> str:
    return f"chain[{step.index}]" if step.index is not None else "a fetched certificate"


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
