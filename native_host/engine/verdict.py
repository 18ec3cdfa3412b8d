"""The verdict engine: a pure function of (chain, blocklist, policy, public roots) -> verdict object.

Levels, worst last (docs/protocol.md, design.md "Verdict model"): ``ok`` < ``notice`` (an interception
root the enterprise allow-listed) < ``interception`` (anchored in a non-public root) < ``banned`` (a
blocklist match). ``unknown`` means no evidence and is never shown as safe.

Order of the checks, first hit wins:

1. enterprise policy bans (by SPKI or certificate hash), anywhere in the chain;
2. the blocklist by SPKI or certificate hash, anywhere in the chain, looked up from the top down;
3. the blocklist by the top certificate's issuer Name (+ authority key id), for chains whose root was
   not sent;
4. an enterprise allow-listed root (by SPKI) anywhere in the chain -> ``notice``;
5. the anchor: public (Firefox ``isBuiltInRoot``, or Mozilla's store from certifi, by the top certificate
   itself or by its issuer) -> ``ok``; otherwise ``interception`` (``kz_issuer`` when the anchor names
   ``C=KZ``: Kazakhstan's roots rotate, an unknown one is high risk).

The engine never asks which OS or browser it runs on, reads no files and has no state.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from native_host.engine import der as _der

if TYPE_CHECKING:  # keep this module light: the host imports it before its first check
    from native_host.engine.blocklist import Blocklist, BlocklistEntry
    from native_host.engine.certfacts import CertFacts
    from native_host.engine.publicroots import PublicRoots

LEVELS = ("ok", "notice", "interception", "banned")
"""Ordered levels, best first; ``unknown`` stands apart (see :func:`worst`)."""

_CATEGORY_TEXT = {
    "state-mitm": "government interception root",
    "malware-mitm": "adware or malware root whose private key is public",
    "compromised-ca": "compromised certificate authority",
    "distrusted-ca": "distrusted certificate authority",
    "policy": "root banned by your organisation",
}


class Policy:
    """Enterprise overlay on the bundled blocklist (treat as immutable).

    Attributes:
        allow_spki_sha256: SPKI hashes (lowercase hex) of the company's own inspection roots -> ``notice``.
        banned: extra bans, hash (lowercase hex, SPKI or certificate) -> reason text.
    """

    __slots__ = ("allow_spki_sha256", "banned")

    def __init__(self, allow_spki_sha256: frozenset[str] = frozenset(), banned: dict[str, str] | None = None):
        self.allow_spki_sha256 = frozenset(allow_spki_sha256)
        self.banned = dict(banned or {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and (self.allow_spki_sha256, self.banned) == (other.allow_spki_sha256, other.banned)

    def __repr__(self) -> str:
        return f"Policy(allow={len(self.allow_spki_sha256)}, banned={len(self.banned)})"

    @classmethod
    def from_json(cls, obj: dict[str, Any] | None) -> "Policy":
        """Build from the ``policy`` object of ``common.schema.json`` (already validated); None -> empty."""
        if not obj:
            return cls()
        banned = {}
        for item in obj.get("banned", ()):
            reason = item.get("reason") or "banned by your organisation"
            for key in ("spki_sha256", "cert_sha256"):
                if item.get(key):
                    banned[item[key].lower()] = reason
        return cls(frozenset(h.lower() for h in obj.get("allow_spki_sha256", ())), banned)

    def merged(self, other: "Policy") -> "Policy":
        """This policy with ``other``'s entries added (used for system config + per-connection policy)."""
        return Policy(self.allow_spki_sha256 | other.allow_spki_sha256, {**self.banned, **other.banned})


class Chain:
    """A chain to judge.

    Attributes:
        certs: :class:`CertFacts`, leaf first, as the browser built it or the server presented it.
        evidence: ``"chain"`` (a file or base64 list), ``"securityInfo"`` (Firefox) or ``"probe"``.
        builtin_root: Firefox's ``isBuiltInRoot`` for the last certificate, None when not known.
        url / host: where the chain came from, for the explanation (attacker-influenced text).
        from_cache: Firefox said the response came from the HTTP cache (the handshake is an old one).
        insecure: the page had no TLS at all (Firefox ``state: "insecure"``).
    """

    __slots__ = ("certs", "evidence", "builtin_root", "url", "host", "from_cache", "insecure")

    def __init__(self, certs: list[CertFacts], evidence: str = "chain", builtin_root: bool | None = None,
                 url: str | None = None, host: str | None = None, from_cache: bool = False,
                 insecure: bool = False) -> None:
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


NAME_CAP = 200
"""Characters of a root's name kept in explanations and ``names`` (the chain rows keep the full text)."""


def display_name(name_der: bytes, fallback: str = "") -> str:
    """A short human name for a DER Name: its CN, else O, else OU, else the whole RFC 4514 string; cut at
    :data:`NAME_CAP` characters with an ellipsis (an attacker's 500 KB CN stays out of every sentence)."""
    if type(name_der) is bytes and type(fallback) is str and len(name_der) <= 1024 and len(fallback) <= 2048:
        return _display_name_cached(name_der, fallback)  # small names only: the cache stays under ~3 MB
    return _display_name(name_der, fallback)


@lru_cache(maxsize=1024)
def _display_name_cached(name_der: bytes, fallback: str) -> str:
    # The anchor's name is decoded for every verdict; the same few roots recur.
    return _display_name(name_der, fallback)


def _display_name(name_der: bytes, fallback: str) -> str:
    name = _pick_name(name_der, fallback)
    return name if len(name) <= NAME_CAP else name[:NAME_CAP] + "\u2026"


def _pick_name(name_der: bytes, fallback: str) -> str:
    try:
        attrs = _der.name_attributes(name_der)
    except Exception:  # noqa: BLE001 - an undecodable name still needs a label
        return fallback
    for wanted in ("CN", "O", "OU"):
        for key, value in reversed(attrs):
            if key == wanted and value.strip():
                return value.strip()
    return fallback or ",".join(f"{k}={v}" for k, v in attrs)


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


def _row(i: int, facts: CertFacts, n: int, public: PublicRoots) -> dict[str, Any]:
    if i == 0:
        role = "leaf"
    elif i == n - 1 and facts.self_issued:
        role = "root"
    else:
        role = "intermediate"
    return {
        "index": i, "role": role, "cert_sha256": facts.cert_sha256, "spki_sha256": facts.spki_sha256,
        "subject": facts.subject, "issuer": facts.issuer, "serial": facts.serial,
        "not_before": facts.not_before, "not_after": facts.not_after, "ski": facts.ski, "aki": facts.aki,
        "public_root": public.is_public(facts), "matched": False, "parse_error": facts.parse_error,
    }


def _cut(text: Any, cap: int = NAME_CAP) -> Any:
    """A string cut at ``cap`` characters with an ellipsis, like root names (anything else unchanged):
    a signed list's entry text is bounded by its schema, but a verdict never relies on that."""
    return text[:cap] + "\u2026" if isinstance(text, str) and len(text) > cap else text


def _entry_view(entry: BlocklistEntry) -> dict[str, Any]:
    return {
        "name": _cut(entry["name"]), "category": entry["category"], "country": _cut(entry.get("country")),
        "list": entry.get("chromium_list") or "rootsentinel", "source": _cut(entry["source"], 2048),
        "verified_from_pem": entry.get("verified_from_pem", False),
        "spki_sha256": entry.get("spki_sha256"), "cert_sha256": entry.get("cert_sha256"),
    }


def judge(chain: Chain, blocklist: Blocklist, public: PublicRoots, policy: Policy | None = None) -> dict[str, Any]:
    """Judge one chain. Pure: the same inputs give the same verdict.

    Args:
        chain: the certificates and where they came from.
        blocklist: the banned roots (:func:`native_host.engine.blocklist.bundled` or an installed update).
        public: the public roots (:func:`native_host.engine.publicroots.mozilla`).
        policy: the enterprise overlay, or None.

    Returns:
        The verdict object of ``native_host/schemas/verdict.reply.schema.json`` with ``id`` None.
    """
    policy = policy or Policy()
    host = _host_of(chain)
    verdict: dict[str, Any] = {
        "type": "verdict", "id": None, "level": "unknown", "category": None, "reason": "no_certificates",
        "explanation": "", "names": {"root": None, "entry": None, "host": host}, "evidence": chain.evidence,
        "url": chain.url, "host": host, "matched": None, "anchor": None, "chain": [], "truncated": False,
        "from_cache": chain.from_cache, "probe": None,
    }
    certs = chain.certs
    if chain.insecure or not certs:
        verdict["reason"] = "insecure" if chain.insecure else "no_certificates"
        verdict["explanation"] = ("This page was loaded without HTTPS, so there is no certificate to judge."
                                  if chain.insecure else "No certificate was available to judge this connection.")
        return verdict
    n = len(certs)
    rows = [_row(i, c, n, public) for i, c in enumerate(certs)]
    verdict["chain"] = rows
    top = certs[-1]

    def banned(i: int, entry_view: dict[str, Any], by: str, reason: str, root_name: str) -> dict[str, Any]:
        rows[i]["matched"] = True
        category = entry_view["category"]
        country = f", {entry_view['country']}" if entry_view.get("country") else ""
        verdict.update(
            level="banned", category=category, reason=reason,
            matched={"index": i, "by": by, "entry": entry_view},
            anchor={"index": n - 1, "public": False, "sent": by not in ("issuer_name", "issuer_aki")},
            explanation=(f"This connection runs through \u201c{root_name}\u201d, a banned "
                         f"{_CATEGORY_TEXT.get(category, category)} ({entry_view['name']}{country}): whoever "
                         f"holds its key can read and change everything sent to {host or 'this site'}."),
        )
        verdict["names"].update(root=root_name, entry=entry_view["name"])
        return verdict

    # 1. enterprise bans
    for i in range(n - 1, -1, -1):
        c = certs[i]
        for key, by in ((c.spki_sha256, "spki_sha256"), (c.cert_sha256, "cert_sha256")):
            if key and key in policy.banned:
                view = {"name": policy.banned[key], "category": "policy", "country": None, "list": "policy",
                        "source": "enterprise policy", "verified_from_pem": False,
                        "spki_sha256": c.spki_sha256 if by == "spki_sha256" else None,
                        "cert_sha256": c.cert_sha256 if by == "cert_sha256" else None}
                return banned(i, view, by, "policy_banned", display_name(c.subject_der, c.subject))
    # 2. blocklist by hash, from the top down
    for i in range(n - 1, -1, -1):
        c = certs[i]
        hit = blocklist.lookup(c.cert_sha256, c.spki_sha256)
        if hit:
            entry, by = hit
            reason = "blocklist_spki" if by == "spki_sha256" else "blocklist_cert"
            return banned(i, _entry_view(entry), by, reason, display_name(c.subject_der, c.subject))
    # 3. blocklist by the top certificate's issuer, when the root was not sent
    if not top.self_issued and top.issuer_key:
        hit = blocklist.lookup_issuer(top.issuer_key, top.aki)
        if hit:
            entry, by = hit
            return banned(n - 1, _entry_view(entry), by, "blocklist_issuer",
                          display_name(top.issuer_der, top.issuer))
    # 4. enterprise allow-list
    for i in range(n - 1, -1, -1):
        c = certs[i]
        if c.spki_sha256 and c.spki_sha256 in policy.allow_spki_sha256:
            rows[i]["matched"] = True
            name = display_name(c.subject_der, c.subject)
            verdict.update(level="notice", category="allowlisted", reason="allowlisted_root",
                           anchor={"index": n - 1, "public": False, "sent": True},
                           explanation=(f"This connection is decrypted by \u201c{name}\u201d, which your "
                                        "organisation declared as its own TLS inspection root."))
            verdict["names"]["root"] = name
            return verdict
    # 5. the anchor
    top_public = rows[-1]["public_root"]  # public.is_public(top), computed once for the chain row
    sent = top.self_issued or top_public
    anchor_der, anchor_text = (top.subject_der, top.subject) if sent else (top.issuer_der, top.issuer)
    name = display_name(anchor_der, anchor_text)
    verdict["names"]["root"] = name
    if chain.builtin_root is not None:
        is_public = chain.builtin_root or top_public
    else:
        is_public = top_public or (not top.self_issued and public.issuer_is_public(top))
    verdict["anchor"] = {"index": n - 1, "public": is_public, "sent": sent}
    if is_public:
        verdict.update(level="ok", category="public", reason="public_anchor",
                       explanation=f"This connection is anchored in the public root \u201c{name}\u201d.")
        return verdict
    reason = "not_builtin_root" if chain.builtin_root is False else "non_public_anchor"
    explanation = (f"This connection is anchored in \u201c{name}\u201d, a root that is not publicly trusted: "
                   "something on this device or network (antivirus, a corporate proxy, a development tool or "
                   f"an attacker) can read what you send to {host or 'this site'}.")
    if "KZ" in top.subject_country:
        reason = "kz_issuer"
        explanation = (f"This connection is anchored in \u201c{name}\u201d, a root registered in Kazakhstan "
                       "(C=KZ) that is not publicly trusted: treat it as government interception; anyone on "
                       f"this network can read what you send to {host or 'this site'}.")
    verdict.update(level="interception", category="unknown-interception", reason=reason, explanation=explanation)
    return verdict
