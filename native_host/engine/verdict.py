"""The verdict engine: a pure function of (chain, blocklist, policy, public roots) -> verdict object.

Levels, worst last (docs/protocol.md, design.md "Verdict model"): ``ok`` < ``notice`` (an interception
root the enterprise allow-listed) < ``interception`` (anchored in a non-public root) < ``banned`` (a
blocklist match). ``unknown`` means the product cannot tell (and says why); it is never shown as safe.

The chain's trust is judged on its *path*, not on its last certificate. Where the browser's own verifier
built the chain (Firefox ``securityInfo`` in state ``secure`` or ``weak``), the path is the chain as
Firefox built it and Firefox's ``isBuiltInRoot`` decides whether its root is public (the store never
overrides ``false``). Everywhere else (probe, chain files, ``check`` with ``chain``, Firefox ``broken``)
the path is built by signatures from the leaf (:func:`native_host.engine.verify.build_path`); only a
verified path to a trusted public root is ``ok``.

Order of the checks, first hit wins:

1. enterprise policy bans (by SPKI or certificate hash), anywhere in the chain sent;
2. the blocklist by SPKI or certificate hash, anywhere in the chain sent, from the top down;
3. a leaf that cannot be read -> ``unknown`` (``unparseable_leaf``);
   1b. enterprise bans on the path, where it reaches a root the administrator gave as a certificate
   (``banned[].pem``) that was not sent;
4. the blocklist by the path's top certificate's issuer Name (+ authority key id), when the path has no
   anchor (its root was not sent);
5. a banned name: no public path, and the anchor (sent, or named as the top's issuer) has the subject of
   a banned entry but another key -> ``banned`` (``banned_name``: a rotated or imitating root);
6. an enterprise allow-listed root (by SPKI) on the path -> ``notice``;
7. the path: to a trusted public root -> ``ok``; to a root its program removed -> ``unknown``
   (``formerly_public_root``); issuer named like a public root but unverifiable -> ``unknown``
   (``incomplete_chain``); a lone leaf whose issuer nobody has -> ``unknown`` (``missing_issuer``); an issuer
   named like a public root or known intermediate whose key did not sign -> ``interception``
   (``imitated_issuer``); signed by a certificate that may not issue -> ``interception`` (``issuer_not_ca``);
   otherwise ``interception`` (``kz_issuer`` when the anchor's own subject names
   ``C=KZ``: Kazakhstan's roots rotate, an unknown one is high risk).

Expiry and a leaf that does not name the host are reported (``path``, chain rows) but decide nothing.
The engine never asks which OS or browser it runs on, reads no files and keeps only caches.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from native_host.engine.naming import cut_text, display_name, name_interceptor

if TYPE_CHECKING:  # keep this module light: the host imports it before its first check
    from native_host.engine.blocklist import Blocklist, BlocklistEntry
    from native_host.engine.catalogue import Catalogue
    from native_host.engine.certfacts import CertFacts
    from native_host.engine.publicroots import PublicRoots
    from native_host.engine.verify import FetchIssuers

LEVELS = ("ok", "notice", "interception", "banned")
"""Ordered levels, best first; ``unknown`` stands apart (see :func:`worst`)."""

_CATEGORY_TEXT = {
    "state-mitm": "government interception root",
    "malware-mitm": "adware or malware root whose private key is public",
    "compromised-ca": "compromised certificate authority",
    "distrusted-ca": "distrusted certificate authority",
}


class Policy:
    """Enterprise overlay on the bundled blocklist (treat as immutable).

    Attributes:
        allow_spki_sha256: SPKI hashes (lowercase hex) of the company's own inspection roots -> ``notice``
            (the keys of ``allow_roots_pem`` included).
        banned: extra bans, hash (lowercase hex, SPKI or certificate) -> reason text (the keys and certificate
            hashes of ``banned[].pem`` included).
        roots: the root certificates the administrator gave (``allow_roots_pem``, ``banned[].pem``) as
            :class:`CertFacts`: extra anchors the path builder verifies to, sent or not.
    """

    __slots__ = ("allow_spki_sha256", "banned", "roots")

    def __init__(self, allow_spki_sha256: frozenset[str] = frozenset(), banned: dict[str, str] | None = None,
                 roots: tuple[CertFacts, ...] = ()):
        self.allow_spki_sha256 = frozenset(allow_spki_sha256)
        self.banned = dict(banned or {})
        self.roots = tuple(roots)

    def _key(self) -> tuple:
        return self.allow_spki_sha256, self.banned, tuple(sorted(r.cert_sha256 for r in self.roots))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self._key() == other._key()

    def __repr__(self) -> str:
        return f"Policy(allow={len(self.allow_spki_sha256)}, banned={len(self.banned)}, roots={len(self.roots)})"

    @classmethod
    def from_json(cls, obj: dict[str, Any] | None) -> "Policy":
        """Build from the ``policy`` object of ``common.schema.json`` (already validated); None -> empty.

        Raises:
            SchemaError: more than :data:`native_host.engine.policyroots.MAX_ROOTS` of them, or an
                ``allow_roots_pem`` item or a ``banned[].pem`` is not one readable certificate
                (:func:`native_host.engine.policyroots.root_from_pem`; the message names the item).
        """
        if not obj:
            return cls()
        banned: dict[str, str] = {}
        allow = {h.lower() for h in obj.get("allow_spki_sha256", ())}
        roots: list[CertFacts] = []
        pems = obj.get("allow_roots_pem") or ()
        banned_pems = sum(1 for i in obj.get("banned", ()) if isinstance(i, dict) and i.get("pem"))
        if pems or banned_pems:
            from native_host.engine.policyroots import MAX_ROOTS, root_from_pem  # cryptography: only when given
            from native_host.errors import SchemaError

            if len(pems) + banned_pems > MAX_ROOTS:
                raise SchemaError(f"{len(pems) + banned_pems} root certificates given as PEM (allow_roots_pem and "
                                  f"banned[].pem), over the {MAX_ROOTS} the host reads")
        for n, text in enumerate(pems):
            facts = root_from_pem(text, f"allow_roots_pem[{n}]")
            allow.add(facts.spki_sha256)
            roots.append(facts)
        for n, item in enumerate(obj.get("banned", ())):
            reason = item.get("reason") or "banned by your organisation"
            for key in ("spki_sha256", "cert_sha256"):
                if item.get(key):
                    banned[item[key].lower()] = reason
            if item.get("pem"):
                facts = root_from_pem(item["pem"], f"banned[{n}].pem")
                banned[facts.spki_sha256] = reason
                banned[facts.cert_sha256] = reason
                roots.append(facts)
        return cls(frozenset(allow), banned, tuple(roots))

    def merged(self, other: "Policy") -> "Policy":
        """This policy with ``other``'s entries added (used for system config + per-connection policy)."""
        seen = {r.cert_sha256 for r in self.roots}
        return Policy(self.allow_spki_sha256 | other.allow_spki_sha256, {**self.banned, **other.banned},
                      self.roots + tuple(r for r in other.roots if r.cert_sha256 not in seen))


class Chain:
    """A chain to judge.

    Attributes:
        certs: :class:`CertFacts`, leaf first, as the browser built it or the server presented it.
        evidence: ``"chain"`` (a file or base64 list), ``"securityInfo"`` (Firefox) or ``"probe"``.
        builtin_root: Firefox's ``isBuiltInRoot`` for the last certificate, None when not known.
        url / host: where the chain came from, for the explanation (attacker-influenced text).
        from_cache: Firefox said the response came from the HTTP cache (the handshake is an old one).
        insecure: the page had no TLS at all (Firefox ``state: "insecure"``).
        browser_verified: the browser's own verifier built and accepted this chain (Firefox ``state``
            ``secure`` or ``weak``); then its ``isBuiltInRoot`` decides, else the path is built here.
    """

    __slots__ = ("certs", "evidence", "builtin_root", "url", "host", "from_cache", "insecure", "browser_verified")

    def __init__(self, certs: list[CertFacts], evidence: str = "chain", builtin_root: bool | None = None,
                 url: str | None = None, host: str | None = None, from_cache: bool = False,
                 insecure: bool = False, browser_verified: bool = False) -> None:
        self.browser_verified = browser_verified
        self.certs = certs
        self.evidence = evidence
        self.builtin_root = builtin_root
        self.url = url
        self.host = host
        self.from_cache = from_cache
        self.insecure = insecure


def worst(levels: list[str]) -> str:
    """The worst of several levels; ``unknown`` only when there is nothing else."""
    known = [lvl for lvl in levels if lvl in LEVELS]
    return max(known, key=LEVELS.index) if known else "unknown"


def _host_of(chain: Chain) -> str | None:
    if chain.host:
        return chain.host
    if chain.url:
        from urllib.parse import urlsplit  # not at the top: the host imports this module before its first reply

        try:
            return urlsplit(chain.url).hostname
        except ValueError:
            return None
    return None


def _row(i: int, facts: CertFacts, n: int, public: PublicRoots, now: str) -> dict[str, Any]:
    from native_host.engine import verify as _verify  # cryptography: not imported before the host's first reply

    if i == n - 1 and facts.self_issued and (i > 0 or n == 1):
        role = "root"  # a lone self-signed certificate is a root, not a leaf
    elif i == 0:
        role = "leaf"
    else:
        role = "intermediate"
    return {
        "index": i, "role": role, "cert_sha256": facts.cert_sha256, "spki_sha256": facts.spki_sha256,
        "subject": facts.subject, "issuer": facts.issuer, "serial": facts.serial,
        "not_before": facts.not_before, "not_after": facts.not_after, "ski": facts.ski, "aki": facts.aki,
        "public_root": public.is_public(facts), "matched": False, "parse_error": facts.parse_error,
        "on_path": False, "expired": _verify.expired(facts, now),
    }


def _entry_view(entry: BlocklistEntry) -> dict[str, Any]:
    return {
        "name": cut_text(entry["name"]), "category": entry["category"], "country": cut_text(entry.get("country")),
        "list": entry.get("chromium_list") or "rootsentinel", "source": cut_text(entry["source"], 2048),
        "verified_from_pem": entry.get("verified_from_pem", False),
        "spki_sha256": entry.get("spki_sha256"), "cert_sha256": entry.get("cert_sha256"),
    }


def _country_of(name_key: str) -> set[str]:
    return {part[2:].upper() for part in name_key.split("|") if part.startswith("C=")}


def _whom(host: str | None) -> str:
    return f"everything sent to {host}" if host else "any connection whose chain is anchored here"


def _entry_label(entry_name: str, root_name: str) -> str:
    """The entry's name without a trailing copy of the root's own name ("Superfish (Lenovo): Superfish, Inc.")."""
    if entry_name == root_name:
        return ""
    suffix = f": {root_name}"
    return entry_name[: -len(suffix)] if entry_name.endswith(suffix) else entry_name


class _Path:
    """The path the verdict is about: built here by signatures, or taken from the browser's verifier."""

    __slots__ = ("result", "steps", "top", "anchor", "anchor_index", "anchor_sent", "outcome", "verified_by")

    def __init__(self, chain: Chain, public: PublicRoots, fetch: FetchIssuers | None,
                 anchors: tuple[CertFacts, ...] = ()) -> None:
        from native_host.engine import verify as _verify

        certs = chain.certs
        if chain.browser_verified:
            self.result = None
            self.verified_by = "browser"
            self.steps = [(i, c) for i, c in enumerate(certs)]
            self.top = certs[-1]
            top_public = public.is_public(self.top)
            is_public = chain.builtin_root if chain.builtin_root is not None else top_public
            if is_public:
                self.outcome = "public"
            else:
                self.outcome = "private_anchor" if self.top.self_issued else "unknown_issuer"
            self.anchor = self.top if (self.top.self_issued or is_public) else None
            self.anchor_index = len(certs) - 1
            self.anchor_sent = self.anchor is not None
            return
        result = _verify.build_path(certs, public, fetch, anchors=anchors)
        self.result = result
        self.verified_by = "rootsentinel"
        self.outcome = result.outcome
        self.steps = [(s.index, s.facts) for s in result.steps]
        self.top = result.top
        self.anchor = result.anchor.facts if result.anchor is not None else None
        sent_indices = [s.index for s in result.steps if s.index is not None]
        self.anchor_index = sent_indices[-1] if sent_indices else 0
        self.anchor_sent = result.anchor is not None and result.anchor.index is not None

    def view(self, leaf_name_ok: bool | None, any_expired: bool) -> dict[str, Any]:
        r = self.result
        return {
            "outcome": self.outcome, "verified_by": self.verified_by,
            "indices": [i for i, _ in self.steps],
            "bad_signature": bool(r and r.bad_signature), "fetched": r.fetched if r else 0,
            "detail": r.detail if r else None, "expired": any_expired, "name_matches": leaf_name_ok,
        }


def judge(chain: Chain, blocklist: Blocklist, public: PublicRoots, policy: Policy | None = None, *,
          fetch: FetchIssuers | None = None, now: datetime | None = None,
          catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Judge one chain. Pure: the same inputs give the same verdict (``fetch`` aside).

    Args:
        chain: the certificates and where they came from.
        blocklist: the banned roots (:func:`native_host.engine.blocklist.bundled` or an installed update).
        public: the public roots (:func:`native_host.engine.publicroots.store`).
        policy: the enterprise overlay, or None.
        fetch: AIA caIssuers fetcher used to complete a path whose top issuer was not sent
            (:class:`native_host.messaging.aia.Fetcher`), or None for none.
        now: the time for the expiry facts (default: now, UTC); expiry never decides the level.
        catalogue: the interception products that name a non-public anchor (see :func:`_name_interceptor`);
            None for the bundled one (:func:`native_host.engine.catalogue.bundled`, loaded on first use).

    Returns:
        The verdict object of ``native_host/schemas/verdict.reply.schema.json`` with ``id`` None.
    """
    from native_host.engine import verify as _verify

    policy = policy or Policy()
    stamp = _verify.utc_stamp(now)
    host = _host_of(chain)
    verdict: dict[str, Any] = {
        "type": "verdict", "id": None, "level": "unknown", "category": None, "reason": "no_certificates",
        "explanation": "", "names": {"root": None, "entry": None, "host": host}, "evidence": chain.evidence,
        "url": chain.url, "host": host, "matched": None, "anchor": None, "chain": [], "truncated": False,
        "from_cache": chain.from_cache, "probe": None, "path": None,
    }
    certs = chain.certs
    if chain.insecure or not certs:
        verdict["reason"] = "insecure" if chain.insecure else "no_certificates"
        verdict["explanation"] = ("This page was loaded without HTTPS, so there is no certificate to judge."
                                  if chain.insecure else "No certificate was available to judge this connection.")
        return verdict
    n = len(certs)
    rows = [_row(i, c, n, public, stamp) for i, c in enumerate(certs)]
    verdict["chain"] = rows
    whom = _whom(host)

    def banned(i: int, entry_view: dict[str, Any], by: str, reason: str, root_name: str, sent: bool,
               name_der: bytes | None = None, spki: str | None = None) -> dict[str, Any]:
        rows[i]["matched"] = True
        category = entry_view["category"]
        label = _entry_label(entry_view["name"], root_name)
        extra = ", ".join(x for x in (label, entry_view.get("country") or "") if x)
        extra = f" ({extra})" if extra else ""
        if category == "policy":
            what = f"\u201c{root_name}\u201d, which your organisation has banned{extra}"
        else:
            what = f"\u201c{root_name}\u201d, a banned {_CATEGORY_TEXT.get(category, category)}{extra}"
        if reason == "banned_name":
            explanation = (f"This connection runs through a root that calls itself \u201c{root_name}\u201d, which is "
                           f"banned ({_CATEGORY_TEXT.get(category, category)}{', ' + label if label else ''}); this "
                           "key is not the one browsers block, so it is a rotated or imitating root: whoever holds "
                           f"it can read and change {whom}.")
        else:
            explanation = f"This connection runs through {what}: whoever holds its key can read and change {whom}."
        verdict.update(level="banned", category=category, reason=reason,
                       matched={"index": i, "by": by, "entry": entry_view},
                       anchor={"index": i, "public": False, "sent": sent}, explanation=explanation)
        verdict["names"].update(root=root_name, entry=entry_view["name"])
        if category != "policy":
            name_interceptor(verdict, name_der, spki, catalogue, whom, banned=verdict["matched"])
        return verdict

    # 1. enterprise bans, anywhere in what was sent
    for i in range(n - 1, -1, -1):
        c = certs[i]
        for key, by in ((c.spki_sha256, "spki_sha256"), (c.cert_sha256, "cert_sha256")):
            if key and key in policy.banned:
                view = {"name": policy.banned[key], "category": "policy", "country": None, "list": "policy",
                        "source": "enterprise policy", "verified_from_pem": False,
                        "spki_sha256": c.spki_sha256 if by == "spki_sha256" else None,
                        "cert_sha256": c.cert_sha256 if by == "cert_sha256" else None}
                return banned(i, view, by, "policy_banned", display_name(c.subject_der, c.subject), True)
    # 2. blocklist by hash, anywhere in what was sent, from the top down
    for i in range(n - 1, -1, -1):
        c = certs[i]
        hit = blocklist.lookup(c.cert_sha256, c.spki_sha256)
        if hit:
            entry, by = hit
            reason = "blocklist_spki" if by == "spki_sha256" else "blocklist_cert"
            return banned(i, _entry_view(entry), by, reason, display_name(c.subject_der, c.subject), True,
                          c.subject_der, c.spki_sha256)

    path = _Path(chain, public, fetch, policy.roots)
    for i, _facts in path.steps:
        if i is not None:
            rows[i]["on_path"] = True
    leaf = certs[0]
    name_ok = _verify.name_matches(leaf, host) if host else None
    verdict["path"] = path.view(name_ok, any(rows[i]["expired"] for i, _ in path.steps if i is not None))
    # 1b. enterprise bans on the path, where it reaches a root the administrator gave (not sent)
    for i, c in path.steps:
        if i is None and c.spki_sha256 in policy.banned:
            view = {"name": policy.banned[c.spki_sha256], "category": "policy", "country": None, "list": "policy",
                    "source": "enterprise policy", "verified_from_pem": True, "spki_sha256": c.spki_sha256,
                    "cert_sha256": None}
            return banned(path.anchor_index, view, "spki_sha256", "policy_banned",
                          display_name(c.subject_der, c.subject), False)
    # 3. a leaf that cannot be read decides nothing
    if path.outcome == "unparseable_leaf":
        error = leaf.parse_error or (path.result.detail if path.result else None) or "unreadable"
        verdict.update(level="unknown", category=None, reason="unparseable_leaf",
                       explanation=f"The site's own certificate could not be read, so this connection cannot be "
                                   f"judged: {error}")
        return verdict
    top, anchor = path.top, path.anchor
    top_index = path.anchor_index
    # 4. blocklist by the path top's issuer, when the path has no anchor (its root was not sent)
    if anchor is None and top.issuer_key:
        hit = blocklist.lookup_issuer(top.issuer_key, top.aki)
        if hit:
            entry, by = hit
            return banned(top_index, _entry_view(entry), by, "blocklist_issuer",
                          display_name(top.issuer_der, top.issuer), False, top.issuer_der)
    if anchor is not None:
        anchor_der, anchor_text, anchor_key = anchor.subject_der, anchor.subject, anchor.subject_key
    else:
        anchor_der, anchor_text, anchor_key = top.issuer_der, top.issuer, top.issuer_key
    name = display_name(anchor_der, anchor_text)
    not_public = path.outcome in ("private_anchor", "unknown_issuer")
    # 5. a banned name with another key: a rotated or imitating root
    if not_public and anchor_key:
        same_name = blocklist.by_subject.get(anchor_key)
        if same_name:
            entry = same_name[0]
            view = dict(_entry_view(entry))
            return banned(path.anchor_index, view, "subject_name", "banned_name", name, path.anchor_sent,
                          anchor_der, anchor.spki_sha256 if (anchor is not None and path.anchor_sent) else None)
    # 6. enterprise allow-list, on the path
    for i, c in path.steps:
        if c.spki_sha256 and c.spki_sha256 in policy.allow_spki_sha256:
            if i is not None:
                rows[i]["matched"] = True
            allowed = display_name(c.subject_der, c.subject)
            verdict.update(level="notice", category="allowlisted", reason="allowlisted_root",
                           anchor={"index": i if i is not None else top_index, "public": False, "sent": i is not None},
                           explanation=(f"This connection is decrypted by \u201c{allowed}\u201d, which your "
                                        "organisation declared as its own TLS inspection root."))
            verdict["names"]["root"] = allowed
            return verdict
    # 7. the path
    verdict["names"]["root"] = name
    is_public = path.outcome == "public"
    verdict["anchor"] = {"index": top_index, "public": is_public, "sent": path.anchor_sent}
    if is_public:
        how = ("" if path.verified_by == "browser" else
               " (every signature on the path was checked)")
        verdict.update(level="ok", category="public", reason="public_anchor",
                       explanation=f"This connection is anchored in the public root \u201c{name}\u201d{how}.")
        return verdict
    if path.outcome == "formerly_public":
        root = path.result.anchor.root if path.result and path.result.anchor else None
        removed = (root.removed or {}) if root is not None else {}
        program = {"mozilla": "Mozilla", "chrome": "Chrome"}.get(removed.get("program") or "", "Its root program")
        when = removed.get("last_release_date")
        verdict.update(level="unknown", category=None, reason="formerly_public_root",
                       explanation=(f"This connection is anchored in \u201c{name}\u201d, a formerly public root: "
                                    f"{program} removed it{' after ' + when if when else ''}; browsers may refuse "
                                    "it; this is not interception."))
        return verdict
    if path.outcome == "incomplete_chain":
        detail = path.result.detail if path.result else None
        verdict.update(level="unknown", category=None, reason="incomplete_chain",
                       explanation=(f"This chain names the public root \u201c{name}\u201d as its issuer, but it could "
                                    f"not be verified ({detail}); it is not shown as safe."))
        return verdict
    if path.outcome == "missing_issuer":
        detail = path.result.detail if path.result else None
        verdict.update(level="unknown", category=None, reason="missing_issuer",
                       explanation=(f"The certificate that issued this chain (\u201c{name}\u201d) was not sent and is not "
                                    f"a public certificate this product knows, so the chain cannot be judged: {detail}. "
                                    "It is not shown as safe."))
        return verdict
    if path.outcome == "imitation":
        claimed = path.result.claimed if path.result else None
        what = "public root" if (claimed is not None and claimed.root is not None) else "public certificate authority"
        verdict.update(level="interception", category="unknown-interception", reason="imitated_issuer",
                       explanation=(f"This chain names the {what} \u201c{name}\u201d as its issuer, but its signature "
                                    f"does not verify with that authority\u2019s key: another key signed it under a "
                                    f"borrowed name. Whoever holds that key can read {whom}."))
        return verdict
    if path.outcome == "not_a_ca":
        detail = path.result.detail if path.result else None
        verdict.update(level="interception", category="unknown-interception", reason="issuer_not_ca",
                       explanation=(f"This chain was signed by \u201c{name}\u201d, a certificate that may not issue "
                                    f"certificates ({detail}); browsers refuse such a chain. Whoever holds that "
                                    f"key made a certificate for a site it does not own and can read {whom}."))
        return verdict
    reason = "not_builtin_root" if (chain.browser_verified and chain.builtin_root is False) else "non_public_anchor"
    explanation = (f"This connection is anchored in \u201c{name}\u201d, a root that is not publicly trusted: "
                   "something on this device or network (antivirus, a corporate proxy, a development tool or "
                   f"an attacker) can read {whom}.")
    if "KZ" in _country_of(anchor_key):
        reason = "kz_issuer"
        explanation = (f"This connection is anchored in \u201c{name}\u201d, a root registered in Kazakhstan "
                       "(C=KZ) that is not publicly trusted: treat it as government interception; anyone on "
                       f"this network can read {whom}.")
    verdict.update(level="interception", category="unknown-interception", reason=reason, explanation=explanation)
    # a C=KZ anchor stays a government-interception warning, whatever product it calls itself
    name_interceptor(verdict, anchor_der, anchor.spki_sha256 if (anchor is not None and path.anchor_sent) else None,
                      catalogue, whom, state_only=reason == "kz_issuer")
    return verdict
