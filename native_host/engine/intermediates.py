"""The public intermediates the product knows, as Firefox preloads them (issue 24 item 3).

A server may leave out its intermediate (Let's Encrypt's R11, say); the browser that knows it completes
the path, and so does the path builder here (:func:`native_host.engine.verify.build_path` consults these
certificates when what was sent does not reach an anchor, and checks every signature with their keys).
A certificate that names one of them as its issuer but does not verify under its key is an imitation.

The set is generated into the package (``native_host/engine/data/intermediates.json``) by
``build/make_intermediates.py`` from a pinned, committed source (cloudflare/cfssl_trust ``int-bundle.crt``;
``build/intermediates-sources/PROVENANCE.md``), keeping only CA certificates valid at the source's date whose
signatures verify up to a root the bundled public store trusts. Nothing on the machine is read. Loaded on
first need (a complete chain never loads it); loading parses no certificate: entries are indexed by their
subject Name DER and turned into :class:`CertFacts` only when a path asks for that name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from typing import Any

from native_host.engine.certfacts import CertFacts, cert_facts


def canonical_sha256(entries: list[dict[str, Any]]) -> str:
    """SHA-256 hex of the ``intermediates`` list serialised canonically (sorted keys, no spaces)."""
    blob = json.dumps(entries, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


class Intermediates:
    """Known public intermediates indexed by subject Name DER.

    Attributes:
        version / sha256 / source / counts: the bundled document's facts (see ``build/make_intermediates.py``).
    """

    def __init__(self, entries: list[dict[str, Any]], *, version: str | None = None, sha256: str | None = None,
                 source: dict | None = None, counts: dict | None = None) -> None:
        self.version, self.sha256, self.source, self.counts = version, sha256, source, dict(counts or {})
        index: dict[str, list[str]] = {}
        for e in entries:
            index.setdefault(e["subject_der"], []).append(e["der"])
        self._index = index
        self._facts: dict[str, list[CertFacts]] = {}
        self._lock = threading.Lock()
        self._count = len(entries)

    def __len__(self) -> int:
        return self._count

    def by_subject(self, name_der: bytes) -> list[CertFacts]:
        """Every known intermediate whose subject Name DER equals ``name_der`` (any key), as
        :class:`CertFacts` (parsed on first request for that name, then kept)."""
        key = base64.b64encode(name_der).decode("ascii")
        ders = self._index.get(key)
        if not ders:
            return []
        with self._lock:
            hit = self._facts.get(key)
            if hit is None:
                hit = self._facts[key] = [cert_facts(base64.b64decode(d)) for d in ders]
        return list(hit)

    @classmethod
    def from_certificates(cls, ders: list[bytes]) -> "Intermediates":
        """A set made of the given DER certificates (for tests and tools)."""
        return cls([{"subject_der": base64.b64encode(cert_facts(d).subject_der).decode("ascii"),
                     "der": base64.b64encode(d).decode("ascii")} for d in ders])


_BUNDLED: Intermediates | None = None
_LOCK = threading.Lock()


def bundled() -> Intermediates:
    """The bundled set, loaded on first use and kept for the process.

    Raises:
        OSError: the package's ``data/intermediates.json`` is missing (a broken install).
    """
    global _BUNDLED
    if _BUNDLED is None:
        with _LOCK:
            if _BUNDLED is None:
                try:
                    with open(os.path.join(os.path.dirname(__file__), "data", "intermediates.json"), encoding="utf-8") as f:
                        text = f.read()
                except OSError:
                    from importlib import resources

                    text = resources.files("native_host.engine").joinpath("data/intermediates.json").read_text("utf-8")
                doc = json.loads(text)
                _BUNDLED = Intermediates(doc["intermediates"], version=doc["version"], sha256=doc["sha256"],
                                         source=doc["source"], counts=doc["counts"])
    return _BUNDLED
