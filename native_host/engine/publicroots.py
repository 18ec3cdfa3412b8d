"""Public roots: Mozilla's root store as shipped by ``certifi``, indexed to tell whether a chain is public.

A root is *public* when its key (``spki_sha256``) or certificate (``cert_sha256``) is in the store. When a
chain's root was not sent (typical of a probe: servers send leaf + intermediates), the top certificate's
issuer Name (exact DER) plus, where present, its authority key id against the root's subject key id tells
whether it chains to a public root. Source of the store: https://github.com/certifi/python-certifi (the
Mozilla CA bundle, ``certifi.where()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import certifi

from native_host.engine.certfacts import CertFacts, cert_facts, pem_blocks


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


def mozilla() -> PublicRoots:
    """Mozilla's root store from ``certifi`` (loaded on first use, once per process)."""
    global _MOZILLA
    if _MOZILLA is None:
        _MOZILLA = load_pem_bundle(certifi.where())
    return _MOZILLA
