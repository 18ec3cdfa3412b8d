"""The public root store: the roots Mozilla and Chrome trust, and the roots Mozilla removed.

The store is the project's own, generated into the package (``native_host/engine/data/publicroots.json``,
schema ``native_host/schemas/publicroots.schema.json``) by ``build/make_publicroots.py`` from pinned,
committed sources in ``build/publicroots-sources/`` (see its PROVENANCE.md): Mozilla's store as a named
certifi release ships it, every root that older certifi releases carried and the newest does not (each
with the last release that carried it), and the Chrome Root Store (chromium/chromium
``net/data/ssl/chrome_root_store/root_store.textproto`` at a recorded commit). Nothing installed on the
machine (``certifi`` included) is read at run time.

A certificate *is* a store root when its ``cert_sha256`` is a root's (that wins) or, failing that, its
``spki_sha256`` is (a re-issued root keeps its key; a trusted root wins over a removed one with the same
key). A certificate is *issued by* a store root when its issuer Name equals the root's subject Name byte for
byte and, where both are present, its authority key id equals the root's subject key id (RFC 5280
4.2.1.1). Nothing here checks a signature: that is the chain verifier's job, with
:meth:`PublicRoot.certificate`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from native_host.engine.certfacts import CertFacts, cert_facts, pem_blocks
from native_host.errors import SchemaError

if TYPE_CHECKING:
    from cryptography import x509

PROGRAMS = ("mozilla", "chrome")
"""The root programs the store records, in this order in :attr:`PublicRoot.programs`."""

_PARSED: dict[str, Any] = {}
"""``cert_sha256`` -> the parsed ``cryptography`` certificate of a store root (parsed on first use)."""


@dataclass(frozen=True, slots=True)
class PublicRoot:
    """One root of the store.

    Attributes:
        facts: :func:`native_host.engine.certfacts.cert_facts` of the root's DER.
        programs: the root programs that trust it now, a subset of :data:`PROGRAMS` in that order; ``()``
            when none does (a removed root that Chrome does not carry either).
        removed: for a root Mozilla removed, ``{"program": "mozilla", "last_release": "certifi 2024.2.2",
            "last_release_date": "2024-02-02"}`` (the last certifi release that carried it and that release's
            date, ISO 8601); None for a root Mozilla still carries or never carried.
    """

    facts: CertFacts
    programs: tuple[str, ...]
    removed: dict | None

    @property
    def trusted(self) -> bool:
        """True when some root program trusts it now."""
        return bool(self.programs)

    def certificate(self) -> x509.Certificate:
        """The root as a ``cryptography`` certificate (parsed once per process, then cached).

        Raises:
            ValueError: ``cryptography`` refuses the DER (never for the bundled store: the build parses
                every root).
        """
        cert = _PARSED.get(self.facts.cert_sha256)
        if cert is None:
            from cryptography import x509

            cert = _PARSED[self.facts.cert_sha256] = x509.load_der_x509_certificate(self.facts.der)
        return cert


def _trusted_first(roots: list[PublicRoot]) -> list[PublicRoot]:
    return sorted(roots, key=lambda r: not r.trusted)  # stable: file order within each group


class PublicRoots:
    """The store, indexed by certificate hash, key hash and subject Name.

    Attributes:
        roots: every root, trusted and removed, in store order.
        version / sha256: the bundled document's version and content hash (None for a PEM bundle).
        counts: the document's per-program counts (``mozilla``, ``chrome``, ``both``, ``removed``, ...).
    """

    def __init__(self, roots: Iterable[PublicRoot] = (), *, version: str | None = None, sha256: str | None = None,
                 counts: dict[str, int] | None = None) -> None:
        self.roots: tuple[PublicRoot, ...] = tuple(roots)
        self.version, self.sha256, self.counts = version, sha256, dict(counts or {})
        by_cert: dict[str, PublicRoot] = {}
        by_spki: dict[str, list[PublicRoot]] = {}
        by_subject: dict[bytes, list[PublicRoot]] = {}
        for root in self.roots:
            f = root.facts
            by_cert.setdefault(f.cert_sha256, root)
            if f.spki_sha256:
                by_spki.setdefault(f.spki_sha256, []).append(root)
            if f.subject_der:
                by_subject.setdefault(f.subject_der, []).append(root)
        self._by_cert = by_cert
        self._by_spki = {k: _trusted_first(v) for k, v in by_spki.items()}
        self._by_subject = {k: _trusted_first(v) for k, v in by_subject.items()}
        self._trusted = sum(1 for r in self.roots if r.trusted)

    def __len__(self) -> int:
        """The number of trusted roots (removed roots that no program trusts are not counted)."""
        return self._trusted

    def __repr__(self) -> str:
        return f"PublicRoots(version={self.version!r}, trusted={self._trusted}, all={len(self.roots)})"

    def root_for(self, facts: CertFacts) -> PublicRoot | None:
        """The store root that *is* this certificate, trusted or removed, or None.

        By ``cert_sha256`` first; else by ``spki_sha256``, a trusted root before a removed one.
        """
        root = self._by_cert.get(facts.cert_sha256)
        if root is not None:
            return root
        same_key = self._by_spki.get(facts.spki_sha256 or "")
        return same_key[0] if same_key else None

    def issuers_for(self, facts: CertFacts) -> list[PublicRoot]:
        """Store roots that may have issued ``facts``, trusted ones first (no signature is checked).

        A root qualifies when its subject Name DER equals ``facts.issuer_der`` and, where the certificate
        has an authority key id and the root a subject key id, the two agree (RFC 5280 4.2.1.1).
        """
        if not facts.issuer_der:
            return []
        aki = facts.aki
        return [r for r in self._by_subject.get(facts.issuer_der, ())
                if aki is None or r.facts.ski is None or r.facts.ski == aki]

    def is_public(self, facts: CertFacts) -> bool:
        """True when this very certificate is a root some program trusts now (see :meth:`root_for`)."""
        root = self.root_for(facts)
        return root is not None and root.trusted

    def issuer_is_public(self, facts: CertFacts) -> bool:
        """True when a trusted store root may have issued ``facts`` (see :meth:`issuers_for`)."""
        return any(r.trusted for r in self.issuers_for(facts))

    def summary(self) -> dict[str, Any]:
        """``{"version", "sha256", "trusted", "counts"}`` of the store."""
        return {"version": self.version, "sha256": self.sha256, "trusted": self._trusted, "counts": self.counts}


def canonical_roots_sha256(roots: list[dict[str, Any]]) -> str:
    """SHA-256 hex of the document's ``roots`` serialised canonically (sorted keys, no spaces, UTF-8).

    The store's content hash: it changes exactly when a root's entry changes.
    """
    blob = json.dumps(roots, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _facts_from_entry(e: dict[str, Any]) -> CertFacts:
    """The :class:`CertFacts` the build computed with ``cert_facts`` (no parse at load time)."""
    b64 = base64.b64decode
    return CertFacts(
        der=b64(e["der"]), cert_sha256=e["cert_sha256"], spki_sha256=e["spki_sha256"],
        subject=e["subject"], issuer=e["issuer"], subject_der=b64(e["subject_der"]), issuer_der=b64(e["issuer_der"]),
        subject_key=e["subject_key"], issuer_key=e["issuer_key"], serial=e["serial"],
        not_before=e["not_before"], not_after=e["not_after"], ski=e["ski"], aki=e["aki"],
        self_issued=e["self_issued"], parse_errors=[])


def load_document(doc: dict[str, Any], *, verify: bool = True) -> PublicRoots:
    """Build the store from a parsed ``publicroots.json`` document.

    Args:
        doc: the JSON document (shape: ``native_host/schemas/publicroots.schema.json``).
        verify: validate against the schema, recompute the content hash and check each root's
            ``cert_sha256`` against its DER (skipped for the bundled file, whose bytes the test suite checks
            against a fresh regeneration).

    Raises:
        SchemaError: the document does not match the schema, its ``sha256`` is not its content hash, or a
            root's DER does not hash to its ``cert_sha256``.
    """
    entries = doc["roots"] if not verify else None
    if verify:
        from native_host.schemas import validate

        validate("publicroots", doc)
        entries = doc["roots"]
        actual = canonical_roots_sha256(entries)
        if actual != doc["sha256"]:
            raise SchemaError(f"public store content hash {actual} does not match the declared {doc['sha256']}")
        for e in entries:
            if hashlib.sha256(base64.b64decode(e["der"])).hexdigest() != e["cert_sha256"]:
                raise SchemaError(f"public root {e['cert_sha256']}: its DER has another SHA-256")
    roots = (PublicRoot(_facts_from_entry(e), tuple(e["programs"]), e["removed"]) for e in entries)
    return PublicRoots(roots, version=doc["version"], sha256=doc["sha256"], counts=doc.get("counts"))


def load_pem_bundle(path: str | Path) -> PublicRoots:
    """A store made of every certificate in a PEM bundle, each trusted by ``"mozilla"`` (for tests and tools).

    Raises:
        OSError: the file cannot be read.
    """
    roots = [PublicRoot(cert_facts(der), ("mozilla",), None)
             for label, der in pem_blocks(Path(path).read_bytes()) if label == "CERTIFICATE"]
    return PublicRoots(roots)


_STORE: PublicRoots | None = None


def store() -> PublicRoots:
    """The bundled public store, loaded on first use and kept for the process.

    Raises:
        OSError: the package's ``data/publicroots.json`` is missing (a broken install).
    """
    global _STORE
    if _STORE is None:
        # A plain open beside this module (also in a PyInstaller onedir bundle, which keeps package data
        # there), as the blocklist does; importlib.resources only as the fallback.
        try:
            with open(os.path.join(os.path.dirname(__file__), "data", "publicroots.json"), encoding="utf-8") as f:
                text = f.read()
        except OSError:
            from importlib import resources

            text = resources.files("native_host.engine").joinpath("data/publicroots.json").read_text("utf-8")
        _STORE = load_document(json.loads(text), verify=False)
    return _STORE


mozilla = store
"""The old name of :func:`store` (the store is no longer Mozilla's alone)."""
