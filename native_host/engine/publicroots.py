"""Public roots: Mozilla's root store as shipped by ``certifi``, indexed to tell whether a chain is public.

A root is *public* when its key (``spki_sha256``) or certificate (``cert_sha256``) is in the store. When a
chain's root was not sent (typical of a probe: servers send leaf + intermediates), the top certificate's
issuer Name (exact DER) plus, where present, its authority key id against the root's subject key id tells
whether it chains to a public root. Source of the store: https://github.com/certifi/python-certifi (the
Mozilla CA bundle, ``certifi.where()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

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


class PublicRoots:
    """Index of public roots, by certificate hash, key hash and subject Name.

    Args:
        roots: :class:`PublicRoot` items (issue 11 part A replaces this module with the bundled store; the
            constructor and the lookups below are that store's interface).
    """

    def __init__(self, roots: Iterable[PublicRoot] = ()) -> None:
        self.roots: tuple[PublicRoot, ...] = tuple(roots)
        self._by_cert: dict[str, PublicRoot] = {}
        self._by_spki: dict[str, PublicRoot] = {}
        self._by_subject: dict[bytes, list[PublicRoot]] = {}
        for root in sorted(self.roots, key=lambda r: not r.trusted):  # trusted first in every index
            f = root.facts
            self._by_cert.setdefault(f.cert_sha256, root)
            if f.spki_sha256:
                self._by_spki.setdefault(f.spki_sha256, root)
            if f.subject_der:
                self._by_subject.setdefault(f.subject_der, []).append(root)

    def __len__(self) -> int:
        return sum(1 for r in self.roots if r.trusted)

    def root_for(self, facts: CertFacts) -> PublicRoot | None:
        """The store's root that is this very certificate (by ``cert_sha256``, else by ``spki_sha256``), or None."""
        return self._by_cert.get(facts.cert_sha256) or self._by_spki.get(facts.spki_sha256 or "")

    def issuers_for(self, facts: CertFacts) -> list[PublicRoot]:
        """Roots whose subject DER equals ``facts.issuer_der`` (AKI/SKI agreeing where both are present,
        RFC 5280 4.2.1.1), trusted roots first. No signature is checked."""
        if not facts.issuer_der:
            return []
        return [r for r in self._by_subject.get(facts.issuer_der, ())
                if facts.aki is None or r.facts.ski is None or r.facts.ski == facts.aki]

    def is_public(self, facts: CertFacts) -> bool:
        """True when this very certificate (by key or by hash) is a trusted public root."""
        root = self.root_for(facts)
        return root is not None and root.trusted

    def issuer_is_public(self, facts: CertFacts) -> bool:
        """True when a trusted public root may have issued ``facts`` (by name and key id; see :meth:`issuers_for`)."""
        return any(r.trusted for r in self.issuers_for(facts))


def load_pem_bundle(path: str | Path) -> PublicRoots:
    """Index every certificate of a PEM bundle (default store: ``certifi.where()``).

    Raises:
        OSError: the file cannot be read.
    """
    return PublicRoots(PublicRoot(cert_facts(der)) for label, der in pem_blocks(Path(path).read_bytes())
                       if label == "CERTIFICATE")


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
