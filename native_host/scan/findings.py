"""A judged certificate: one :class:`Place` per place it was found, grouped into a :class:`Finding`.

The statuses and what they mean are in :mod:`native_host.scan.report`; this module holds only the shapes,
so that the report (which judges) and :mod:`native_host.scan.remove` (which plans removals) both use them
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from native_host.engine.certfacts import CertFacts
from native_host.scan.model import Installed

STATUS_ORDER = ("banned", "non-public", "allowlisted", "distrusted", "vendor", "public", "intermediate")
"""Statuses, worst first."""

LEVEL = {"banned": "banned", "non-public": "interception", "allowlisted": "notice", "distrusted": "ok",
         "vendor": "ok", "public": "ok", "intermediate": "ok"}
EXIT = {"ok": 0, "notice": 1, "interception": 1, "banned": 2}
"""Exit code per level, as ``rootsentinel check`` (3 is for errors)."""


@dataclass
class Place:
    """One place a certificate was found, judged: the :class:`Installed` plus ``status`` and ``reason``."""

    installed: Installed
    status: str
    reason: str


@dataclass
class Finding:
    """One certificate with every place it was found.

    Attributes:
        facts: the certificate's facts (hashes, names, validity).
        places: where it was found, each with its own status.
        status / reason: of the worst place.
        matched: ``{"by": ..., "entry": {...}}`` for a blocklist or policy match, else None.
        interceptor: for a banned, non-public or allow-listed anchor the catalogue knows (by its subject name
            or its key): ``{"product", "vendor", "kind", "advice", "by", "catalogue"}`` (what the name claims),
            else None.
        remove: the removal steps (:mod:`native_host.scan.remove`), empty when there is nothing to remove.
    """

    facts: CertFacts
    places: list[Place] = field(default_factory=list)
    status: str = "public"
    reason: str = ""
    matched: dict[str, Any] | None = None
    interceptor: dict[str, Any] | None = None
    remove: list[Any] = field(default_factory=list)
    """How to remove it, one :class:`native_host.scan.remove.Step` per place (set by the scan)."""

    @property
    def level(self) -> str:
        return LEVEL[self.status]
