"""Roots the person acknowledged ("I know this root", issue 24 item 5): an overlay on a finished verdict.

A developer's mkcert root, a person's own company proxy or a filter a parent chose is an interception root
that this person knows about. From the popup they may acknowledge it, by the SHA-256 of its
SubjectPublicKeyInfo, for their browser profile; the extension keeps the list in its ``storage.local`` and
sends it in ``hello`` (``acknowledged_spki_sha256``, docs/protocol.md) unless managed policy forbids it
(``allow_user_acknowledge: false``). The host applies it here, after the engine and before the audit log, so
the audit event says what the badge says: ``notice``, category ``acknowledged``, reason ``acknowledged_root``.

What it never does:
- change a verdict other than ``interception``: a banned root (blocklist, policy, a banned name with another
  key), an allow-listed one, an ``unknown`` or an ``ok`` verdict stay as they are;
- acknowledge a root that names Kazakhstan (``kz_issuer``): in 2019 people there were told to install the
  state's root "for security"; an unknown C=KZ root stays a government-interception warning, which only an
  administrator can allow-list;
- match a root the chain did not carry: the key is the anchor's own ``spki_sha256`` (a root named only as an
  issuer has no key to compare).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

MAX_ACKNOWLEDGED = 256
"""Keys a ``hello`` may carry (the schema's ``maxItems``)."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def key_set(values: Iterable[Any] | None) -> frozenset[str]:
    """The well-formed lowercase hex SPKI SHA-256 values of ``values``, at most :data:`MAX_ACKNOWLEDGED`."""
    out: list[str] = []
    for v in values or ():
        if isinstance(v, str) and _HEX64.match(v.lower()) and v.lower() not in out:
            out.append(v.lower())
    return frozenset(out[:MAX_ACKNOWLEDGED])


def anchor_spki(verdict: dict[str, Any]) -> str | None:
    """The ``spki_sha256`` of the verdict's anchor when the chain carried it (``anchor.sent``), else None."""
    anchor = verdict.get("anchor") or {}
    rows = verdict.get("chain") or []
    index = anchor.get("index")
    if not anchor.get("sent") or not isinstance(index, int) or not 0 <= index < len(rows):
        return None
    spki = rows[index].get("spki_sha256")
    return spki if isinstance(spki, str) else None


def acknowledge(verdict: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """Turn an ``interception`` verdict whose anchor key is in ``keys`` into ``notice`` (changed in place).

    The verdict keeps its names, interceptor and chain; ``category`` becomes ``acknowledged``, ``reason``
    ``acknowledged_root``, the anchor row is marked ``matched`` and ``explanation`` says whose decision this
    was. Returns the verdict.
    """
    if not keys or verdict.get("level") != "interception" or verdict.get("reason") == "kz_issuer":
        return verdict
    spki = anchor_spki(verdict)
    if spki is None or spki not in keys:
        return verdict
    verdict["chain"][verdict["anchor"]["index"]]["matched"] = True
    name = (verdict.get("names") or {}).get("root") or "an unnamed root"
    verdict.update(level="notice", category="acknowledged", reason="acknowledged_root",
                   explanation=(f"This connection is decrypted by \u201c{name}\u201d, a root that is not publicly "
                                "trusted and that the person using this browser marked as one they know; whoever "
                                "holds its key can read this traffic."))
    return verdict
