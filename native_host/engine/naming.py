"""Who a root is, in words: short display names for DER Names, and the catalogue's naming of an anchor.

Certificate names are attacker-controlled text: every name that reaches a sentence or ``names`` is cut at
:data:`NAME_CAP` characters. :func:`name_interceptor` adds the catalogue's view of a non-public or banned
anchor to a verdict (:mod:`native_host.engine.catalogue`, docs/protocol.md ``interceptor``); it never
changes a level. Used by :func:`native_host.engine.verdict.judge`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from native_host.engine import der as _der

if TYPE_CHECKING:
    from native_host.engine.catalogue import Catalogue


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


def cut_text(text: Any, cap: int = NAME_CAP) -> Any:
    """A string cut at ``cap`` characters with an ellipsis, like root names (anything else unchanged):
    a signed list's entry text is bounded by its schema, but a verdict never relies on that."""
    return text[:cap] + "\u2026" if isinstance(text, str) and len(text) > cap else text


_KIND_TEXT = {
    "antivirus": "{product}\u2019s HTTPS scanning",
    "corporate-proxy": "{product}\u2019s TLS inspection (a corporate proxy or secure web gateway)",
    "dev-tool": "the development tool {product}",
    "parental-control": "{product}\u2019s parental-control filtering",
    "adware": "the adware {product}",
    "state": "{product}, a root of {owner}",
    "vendor": "{product}, whose private key {owner} let out",
    "compromised-ca": "{product}, a compromised certificate authority ({owner})",
    "distrusted-ca": "{product}, a distrusted certificate authority ({owner})",
}


def name_interceptor(verdict: dict[str, Any], anchor_der: bytes | None, anchor_spki: str | None,
                      catalogue: Catalogue | None, whom: str, *, banned: dict[str, Any] | None = None,
                      state_only: bool = False) -> None:
    """Name who a non-public (or banned) anchor belongs to, from the catalogue; changes no level.

    On a match: ``names.product`` and ``names.vendor`` are set and ``interceptor`` gets the catalogue's view
    (:func:`native_host.engine.catalogue.name_root`: ``{product, vendor, kind, advice, by, catalogue}`` and
    ``owner`` for a banned root's owner). A banned verdict (``banned``: its ``matched``) keeps its category and
    explanation; it names the owner of the blocklist group first. An interception verdict takes the entry's kind
    as its category (a banned-root owner's name on a root no ban matched: the blocklist category of that kind)
    and the explanation says who the root looks like and that this is only what its name claims.

    Args:
        verdict: the verdict being built (changed in place).
        anchor_der: the DER Name of the anchor: the root's subject, or the top certificate's issuer when the
            root was not sent; None when only the key is known.
        anchor_spki: the root's ``spki_sha256`` when the root itself was sent, else None.
        catalogue: the catalogue, or None for the bundled one.
        whom: who can be read, for the explanation (``verdict._whom``).
        banned: the blocklist match of a banned verdict, else None.
        state_only: name only a government's root (an anchor registered in Kazakhstan keeps its warning).
    """
    from native_host.engine.catalogue import BANNED_KIND_CATEGORY, name_root

    view = name_root(anchor_der, anchor_spki, banned=banned, state_only=state_only, catalogue=catalogue)
    if view is None:
        return
    verdict["names"].update(product=view["product"], vendor=view["vendor"])
    verdict["interceptor"] = view
    if banned is not None or state_only:
        return
    kind = view["kind"]
    what = _KIND_TEXT[kind].format(product=view["product"], owner=view.get("owner", view["vendor"]))
    claim = ("by the key its root carries (the key the product ships)" if view["by"] == "spki_sha256"
             else "by the name its root carries; a name is only a claim, since anyone can give a root any name")
    verdict.update(category=BANNED_KIND_CATEGORY.get(kind, kind), explanation=(
        f"This connection is anchored in \u201c{verdict['names']['root']}\u201d, a root that is not publicly "
        f"trusted. It looks like {what}, {claim}. Whoever holds this root\u2019s key can read "
        f"{whom}."))
