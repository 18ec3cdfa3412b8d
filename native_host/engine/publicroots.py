"""Public roots: Mozilla's root store as shipped by ``certifi``, indexed to tell whether a chain is public.

A root is *public* when its key (``spki_sha256``) or certificate (``cert_sha256``) is in the store. When a
chain's root was not sent (typical of a probe: servers send leaf + intermediates), the top certificate's
issuer Name (exact DER) plus, where present, its authority key id against the root's subject key id tells
whether it chains to a public root. Source of the store: https://github.com/certifi/python-certifi (the
Mozilla CA bundle, ``certifi.where()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import certifi

from native_host.engine.certfacts import CertFacts, cert_facts, pem_blocks


@dataclass(frozen=True)
class PublicRoot:
    """One root of the store and the programs that trust it.

    (Interface of the bundled store of issue 11, part A; here every certifi root is a Mozilla root that was
    never removed.)

    Attributes:
        facts: the root certificate's :class:`CertFacts`.
        programs: root programs that trust it now, a subset of ``("mozilla", "chrome")``; ``()`` when removed.
        removed: ``{"program", "last_release", "last_release_date"}`` for a root its program removed, else None.
    """

    facts: CertFacts
    programs: tuple[str, ...] = ("mozilla",)
    removed: dict[str, Any] | None = None

    @property
    def trusted(self) -> bool:
        """True when at least one root program trusts this root now."""
        return bool(self.programs)

    @cached_property
    def _certificate(self):  # noqa: ANN202 - cryptography.x509.Certificate
        from cryptography import x509

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # negative serials warn on load (pyca#6626)
            return x509.load_der_x509_certificate(self.facts.der)

    def certificate(self):  # noqa: ANN201
        """The root as a ``cryptography.x509.Certificate`` (parsed once). Raises ValueError if unparseable."""
        return self._certificate


@dataclass
class PublicRoots:
    """Index of public roots.

    Attributes:
        by_spki / by_cert: lowercase hex SHA-256 -> the root's :class:`CertFacts`.
        by_subject: the root's raw DER subject Name -> list of roots with that name.
    """

    by_spki: dict[str, CertFacts] = field(default_factory=dict)
    by_cert: dict[str, CertFacts] = field(default_factory=dict)
    by_subject: dict[bytes, list[CertFacts]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_cert)

    def add(self, facts: CertFacts) -> None:
        """Index one root certificate."""
        self.by_cert[facts.cert_sha256] = facts
        if facts.spki_sha256:
            self.by_spki[facts.spki_sha256] = facts
        if facts.subject_der:
            self.by_subject.setdefault(facts.subject_der, []).append(facts)

    def _root(self, facts: CertFacts) -> PublicRoot:
        root = self._roots.get(facts.cert_sha256)
        if root is None:
            root = self._roots[facts.cert_sha256] = PublicRoot(facts)
        return root

    @property
    def _roots(self) -> dict[str, PublicRoot]:
        cache = self.__dict__.get("_root_cache")
        if cache is None:
            cache = self.__dict__["_root_cache"] = {}
        return cache

    def root_for(self, facts: CertFacts) -> PublicRoot | None:
        """The store's root that is this very certificate (by ``cert_sha256``, else by ``spki_sha256``), or None."""
        hit = self.by_cert.get(facts.cert_sha256) or (self.by_spki.get(facts.spki_sha256) if facts.spki_sha256 else None)
        return self._root(hit) if hit is not None else None

    def issuers_for(self, facts: CertFacts) -> list[PublicRoot]:
        """Roots whose subject DER equals ``facts.issuer_der`` (AKI/SKI agreeing where both are present),
        trusted roots first."""
        out = [self._root(r) for r in self.by_subject.get(facts.issuer_der, ())
               if facts.aki is None or r.ski is None or r.ski == facts.aki]
        return sorted(out, key=lambda r: not r.trusted)

    def is_public(self, facts: CertFacts) -> bool:
        """True when this very certificate (by key or by hash) is a public root."""
        return facts.cert_sha256 in self.by_cert or (facts.spki_sha256 or "") in self.by_spki

    def issuer_is_public(self, facts: CertFacts) -> bool:
        """True when ``facts`` was issued by a public root that is not in the chain.

        Matches the issuer Name byte for byte; when the certificate has an authority key id and the root a
        subject key id, they must agree too (RFC 5280 4.2.1.1).
        """
        for root in self.by_subject.get(facts.issuer_der, ()):
            if facts.aki is None or root.ski is None or root.ski == facts.aki:
                return True
        return False


def load_pem_bundle(path: str | Path) -> PublicRoots:
    """Index every certificate of a PEM bundle (default store: ``certifi.where()``).

    Raises:
        OSError: the file cannot be read.
    """
    roots = PublicRoots()
    for label, der in pem_blocks(Path(path).read_bytes()):
        if label == "CERTIFICATE":
            roots.add(cert_facts(der))
    return roots


_MOZILLA: PublicRoots | None = None


def store() -> PublicRoots:
    """The public store (alias of :func:`mozilla`)."""
    return mozilla()


def mozilla() -> PublicRoots:
    """Mozilla's root store from ``certifi`` (loaded on first use, once per process)."""
    global _MOZILLA
    if _MOZILLA is None:
        _MOZILLA = load_pem_bundle(certifi.where())
    return _MOZILLA
