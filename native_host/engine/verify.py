"""Path building by signatures: from the leaf, through the certificates sent, to a trust anchor.

A server (or a file, or an interceptor) may send anything after the leaf: the real intermediates, junk,
duplicates, certificates out of order, public roots it does not chain to. The verdict must depend only
on the path the leaf's signatures actually prove, so :func:`build_path` walks it link by link:

1. candidates for the issuer of the current certificate are, in this order: the store's roots whose subject
   Name (exact DER) equals its issuer Name (every key: key ids agreeing first, so an imitation with a copied
   or a fresh key id is told from a real link), the roots the administrator gave as certificates
   (``anchors``), the certificates sent of that name with authority/subject key ids agreeing where both are
   present (RFC 5280 4.2.1.1); when those reach no anchor, the public intermediates the product knows
   (:mod:`native_host.engine.intermediates`), then certificates fetched from its AIA caIssuers URL when a
   ``fetch`` callable is given;
2. each link is checked with ``cryptography``'s ``Certificate.verify_directly_issued_by`` (the issuer's
   key verifies the child's signature, and the child's issuer Name equals the issuer's subject), and the
   issuer must be a CA (:func:`ca_error`: basicConstraints, pathLen, keyUsage);
3. the walk stops at a root of the store (trusted: ``public``; removed by its program: ``formerly_public``),
   at a self-issued certificate not in the store or a root the administrator gave (``private_anchor``), or
   where no candidate verifies: ``imitation`` when the issuer's name is a public root's or a known
   intermediate's and none of them verifies the signature, ``not_a_ca`` when only a non-CA does,
   ``missing_issuer`` for a lone leaf whose issuer nobody has but its AIA URL names.

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

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable

from native_host.engine.certchecks import (  # noqa: F401 - re-exported: the engine's one verification API
    _CERTS, _LINKS, _LRU, ca_error, ca_issuers_urls, clear_caches, expired, link_error, load_certificate,
    name_matches, utc_stamp)

if TYPE_CHECKING:
    from native_host.engine.certfacts import CertFacts
    from native_host.engine.publicroots import PublicRoot, PublicRoots

MAX_DEPTH = 8
"""Certificates on a path at most, leaf and anchor included (real paths have 2-4)."""

MAX_LINK_CHECKS = 64
"""Signature checks per chain at most (a hostile chain of many same-named certificates stays cheap)."""

MAX_FETCHES = 2
"""AIA fetches per chain at most."""

OUTCOMES = ("public", "formerly_public", "private_anchor", "imitation", "not_a_ca", "incomplete_chain", "missing_issuer",
            "unknown_issuer", "unparseable_leaf")
"""Outcomes of :func:`build_path`, best first (the order used to pick among several partial paths)."""

FetchIssuers = Callable[[str], list[bytes]]
"""``fetch(url) -> [DER certificate, ...]``: the AIA caIssuers fetcher (:class:`native_host.messaging.aia.Fetcher`).
Must never raise for network or format errors (it returns ``[]``)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One certificate on a path.

    Attributes:
        facts: the certificate.
        index: its index in the chain as sent, or None (a store root, a known intermediate, a root the
            administrator gave or a fetched certificate).
        root: the store's :class:`PublicRoot` when this certificate is one, else None.
        fetched: it came from an AIA caIssuers URL.
        source: ``"intermediate"`` (a public intermediate the product knows,
            :mod:`native_host.engine.intermediates`), ``"policy"`` (a root the administrator gave as PEM,
            an anchor), else None.
    """

    facts: CertFacts
    index: int | None
    root: PublicRoot | None = None
    fetched: bool = False
    source: str | None = None


@dataclass(frozen=True, slots=True)
class PathResult:
    """What :func:`build_path` found.

    Attributes:
        outcome: one of :data:`OUTCOMES`:
            ``public`` (the path ends at a trusted store root), ``formerly_public`` (at a root its program
            removed), ``private_anchor`` (at a self-issued certificate not in the store, or at a root the
            administrator gave), ``imitation`` (the top certificate names a public root or a known public
            intermediate as its issuer, and no certificate of that name verifies its signature: another key
            signed it under a borrowed name), ``not_a_ca`` (the top certificate's signature verifies under a
            certificate that may not issue certificates: basicConstraints cA=FALSE or absent, pathLen
            exceeded, or keyUsage without keyCertSign), ``incomplete_chain`` (the top certificate's issuer Name
            is a public one, but no signature can be checked), ``missing_issuer`` (the leaf alone, an end-entity
            certificate whose issuer was neither sent nor known, and whose AIA caIssuers URL was not fetched or
            gave nothing), ``unknown_issuer`` (the top
            certificate's issuer is neither sent, nor in the store, nor fetched, or none of that name
            verifies), ``unparseable_leaf``.
        steps: the path, leaf first (the anchor last for the first three outcomes).
        anchor: the anchor step (for ``public``/``formerly_public``/``private_anchor``), else None.
        top: the last certificate on the path (the anchor, or the certificate whose issuer is missing).
        failures: one-line reasons of the links tried and refused (attacker-influenced text).
        bad_signature: a candidate issuer of the top certificate was at hand and its signature failed.
        fetched: how many certificates the path took from AIA URLs.
        detail: one line on why the path stops where it does, or None.
        claimed: for ``imitation`` and ``incomplete_chain``: the public certificate whose name the top
            certificate gives as its issuer (a store root or a known intermediate), else None.
    """

    outcome: str
    steps: tuple[Step, ...]
    anchor: Step | None = None
    failures: tuple[str, ...] = ()
    bad_signature: bool = False
    fetched: int = 0
    detail: str | None = None
    claimed: Step | None = None

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
    anchors: tuple[CertFacts, ...] = ()
    known: KnownIntermediates | None = None
    checks: int = 0
    fetches: int = 0
    fetched: dict[str, list[CertFacts]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class KnownIntermediates:
    """What :func:`build_path` needs of a set of known public intermediates (see
    :class:`native_host.engine.intermediates.Intermediates`)."""

    def by_subject(self, name_der: bytes) -> list[CertFacts]:  # pragma: no cover - interface
        """Every known intermediate whose subject Name DER is ``name_der`` (any key)."""
        raise NotImplementedError


def _rank(result: PathResult) -> int:
    return OUTCOMES.index(result.outcome)


def build_path(certs: list[CertFacts], store: PublicRoots, fetch: FetchIssuers | None = None, *,
               anchors: tuple[CertFacts, ...] | list[CertFacts] = (),
               known: KnownIntermediates | None | bool = True) -> PathResult:
    """Build the best path from ``certs[0]`` (the leaf) by signatures.

    Args:
        certs: the chain as sent, leaf first (may hold junk, duplicates, any order).
        store: the public roots.
        fetch: AIA caIssuers fetcher, or None to use only what was sent, the store and ``known``.
        anchors: root certificates the administrator gave (``allow_roots_pem``, ``banned[].pem``): issuers
            the path may end at (``private_anchor``) although they were not sent.
        known: the public intermediates the product knows, consulted when what was sent does not reach an
            anchor; True (default) for the bundled set (:func:`native_host.engine.intermediates.bundled`,
            loaded on first need), None or False for none.

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
    if known is True:
        from native_host.engine.intermediates import bundled

        known_set: KnownIntermediates | None = _LazyKnown(bundled)
    else:
        known_set = known or None
    walk = _Walk(list(certs), store, fetch, tuple(anchors), known_set)
    result = _extend(walk, (first,))
    return PathResult(result.outcome, result.steps, result.anchor, tuple(walk.failures), result.bad_signature,
                      sum(1 for s in result.steps if s.fetched), result.detail, result.claimed)


class _LazyKnown(KnownIntermediates):
    """Loads the bundled intermediates only when a path needs them (most chains are complete as sent)."""

    def __init__(self, loader: Callable[[], KnownIntermediates]) -> None:
        self._loader = loader

    def by_subject(self, name_der: bytes) -> list[CertFacts]:
        return self._loader().by_subject(name_der)


def _terminal(step: Step) -> str | None:
    if step.root is not None:
        return "public" if step.root.trusted else "formerly_public"
    if step.source == "policy" or step.facts.self_issued:
        return "private_anchor"
    return None


def _key_ids_agree(child: CertFacts, issuer: CertFacts) -> bool:
    return child.aki is None or issuer.ski is None or child.aki == issuer.ski


def _candidates(walk: _Walk, child: CertFacts, on_path: set[str]) -> list[Step]:
    """Store roots of the child's issuer Name (every key: one of another key is checked too, so an imitation
    is told from a broken link; key ids agreeing first), roots the administrator gave, then what was sent."""
    out: list[Step] = []
    seen: set[str] = set()
    named = walk.store.issuers_for(replace(child, aki=None))
    for root in sorted(named, key=lambda r: not _key_ids_agree(child, r.facts)):
        sha = root.facts.cert_sha256
        if sha not in on_path and sha not in seen:
            seen.add(sha)
            # A store root that was also sent keeps its chain index (the anchor was sent).
            index = next((i for i, c in enumerate(walk.certs) if c.cert_sha256 == sha), None)
            out.append(Step(root.facts, index, root))
    for c in walk.anchors:
        if (c.cert_sha256 not in on_path and c.cert_sha256 not in seen and c.subject_der
                and c.subject_der == child.issuer_der and _key_ids_agree(child, c)):
            seen.add(c.cert_sha256)
            out.append(Step(c, None, walk.store.root_for(c), source="policy"))
    for i, c in enumerate(walk.certs):
        if (c.cert_sha256 in on_path or c.cert_sha256 in seen or not c.subject_der
                or c.subject_der != child.issuer_der):
            continue
        if not _key_ids_agree(child, c):
            continue
        seen.add(c.cert_sha256)
        out.append(Step(c, i, walk.store.root_for(c)))
    return out


def _known_candidates(walk: _Walk, child: CertFacts, on_path: set[str]) -> list[Step]:
    """Known public intermediates of the child's issuer Name (every key, key ids agreeing first)."""
    if walk.known is None or not child.issuer_der:
        return []
    sent = {c.cert_sha256 for c in walk.certs}
    found = [c for c in walk.known.by_subject(child.issuer_der) if c.cert_sha256 not in on_path and c.cert_sha256 not in sent]
    found.sort(key=lambda c: not _key_ids_agree(child, c))
    return [Step(c, None, walk.store.root_for(c), source="intermediate") for c in found]


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


def _end_entity(facts: CertFacts) -> bool:
    cert = load_certificate(facts)
    return not isinstance(cert, str) and ca_error(cert, 0) is not None


def _below(steps: tuple[Step, ...]) -> int:
    return sum(1 for s in steps[1:] if not s.facts.self_issued)


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
    public_named: list[tuple[Step, str]] = []  # store roots / known intermediates of the issuer's name, and why not
    not_ca: str | None = None
    for pool in (_candidates, _known_candidates, _fetched_candidates):
        for cand in pool(walk, child, on_path):
            if walk.checks >= MAX_LINK_CHECKS:
                break
            walk.checks += 1
            tried_any = True
            issuer_cert = cand.root.certificate() if cand.root is not None and _loadable(cand.root) else None
            error = link_error(child, cand.facts, issuer_cert)
            where = (f"chain[{cand.index}]" if cand.index is not None else
                     "store root" if cand.root else {"intermediate": "known public intermediate",
                                                     "policy": "root given by your organisation"}.get(cand.source or "", "fetched"))
            if error is None:
                loaded = issuer_cert if issuer_cert is not None else load_certificate(cand.facts)
                anchor = cand.root is not None or cand.source == "policy" or cand.facts.self_issued
                refused = ca_error(loaded, _below(steps), anchor=anchor) if not isinstance(loaded, str) else None
                if refused is not None:
                    not_ca = not_ca or f"{where} signed {_label(step)}, but {refused}"
                    walk.failures.append(f"{where} as issuer of {_label(step)}: {refused}")
                    continue
            if error is not None:
                bad_signature = bad_signature or error.startswith("the signature does not verify")
                if cand.root is not None or cand.source == "intermediate":
                    public_named.append((cand, error))
                walk.failures.append(f"{where} as issuer of {_label(step)}: {error}")
                continue
            result = _extend(walk, (*steps, cand))
            if best is None or _rank(result) < _rank(best):
                best = result
            if best.outcome == "public":
                return best
        if best is not None and _rank(best) <= OUTCOMES.index("private_anchor"):
            return best  # a verified anchor from what was sent (or known): no need to fetch
    if best is not None:
        return best
    if not_ca is not None:
        return PathResult("not_a_ca", steps, detail=not_ca)
    if public_named:
        claimed = public_named[0][0]
        kind = "a public root" if claimed.root is not None else "a known public intermediate"
        if all(e.startswith("the signature does not verify") for _, e in public_named):
            return PathResult("imitation", steps, bad_signature=True, claimed=claimed,
                              detail=f"its issuer's name is {kind}'s, but the signature does not verify with "
                                     "that certificate's key: another key signed it under a borrowed name")
        return PathResult("incomplete_chain", steps, bad_signature=bad_signature, claimed=claimed,
                          detail=f"its issuer's name is {kind}'s, but the signature cannot be checked")
    if tried_any:
        return PathResult("unknown_issuer", steps, bad_signature=bad_signature,
                          detail="a certificate of its issuer's name was sent, but its signature does not verify")
    urls = ca_issuers_urls(child) if len(steps) == 1 and _end_entity(child) else []
    if any(walk.fetched.get(u) for u in urls):  # the URL answered with certificates, none of them its issuer
        return PathResult("unknown_issuer", steps,
                          detail="its issuer was neither sent nor known, and its AIA URL gave certificates of another name")
    if urls:  # a server that left out its intermediate: the common mistake intermediate preloading exists for
        how = ("fetching it gave no certificate of that name" if walk.fetch is not None
               else "it was not fetched (rootsentinel check --fetch-issuers fetches it)")
        return PathResult("missing_issuer", steps,
                          detail=f"its issuer was not sent and is not a public certificate this product knows; "
                                 f"the certificate names where to get it ({urls[0][:200]}), but {how}")
    return PathResult("unknown_issuer", steps, detail="its issuer was neither sent nor is it in the public store")


def _loadable(root: PublicRoot) -> bool:
    try:
        root.certificate()
        return True
    except Exception:  # noqa: BLE001 - an unreadable store root is simply not a usable issuer
        return False


def _label(step: Step) -> str:
    return f"chain[{step.index}]" if step.index is not None else "a fetched certificate"
