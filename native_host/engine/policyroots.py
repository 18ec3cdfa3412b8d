"""Root certificates an administrator gives in the settings (``allow_roots_pem``, ``banned[].pem``).

An inspection proxy does not send its own root, so a ban or an allow-list by key alone never sees it on a
probe. Given the root itself, the path builder (:func:`native_host.engine.verify.build_path`) can verify a
chain up to it, and the verdict matches it by key wherever the path reaches it, sent or not
(``docs/design.md`` "Verdict model").
"""

from __future__ import annotations

import warnings

from native_host.engine.certfacts import CertFacts, cert_facts, pem_blocks
from native_host.errors import BadDER, SchemaError

MAX_PEM_CHARS = 65536
"""Characters of one PEM setting at most (a root is 1-2 KB; the schemas say the same)."""

MAX_ROOTS = 1024
"""Root certificates given as PEM at most, ``allow_roots_pem`` and ``banned[].pem`` together (each is parsed
when the settings are read; a fleet has a handful)."""


def root_from_pem(text: str, what: str) -> CertFacts:
    """The facts of the one certificate in ``text``.

    Args:
        text: PEM text holding exactly one ``CERTIFICATE`` block (other text around it is ignored).
        what: where the text came from, for the error (``"allow_roots_pem[0]"``, ``"banned[2].pem"``).

    Returns:
        :class:`CertFacts` with DER, both fingerprints and names.

    Raises:
        SchemaError: not a string, too long, no or several ``CERTIFICATE`` blocks, bad base64, or a block that
            ``cryptography`` cannot read as an X.509 certificate (the message names ``what``).
    """
    if not isinstance(text, str):
        raise SchemaError(f"{what}: expected PEM text, got {type(text).__name__}")
    if len(text) > MAX_PEM_CHARS:
        raise SchemaError(f"{what}: {len(text)} characters, over the {MAX_PEM_CHARS} of one root certificate")
    try:
        blocks = [der for label, der in pem_blocks(text.encode("utf-8", "replace")) if label == "CERTIFICATE"]
    except BadDER as exc:
        raise SchemaError(f"{what}: {exc}") from exc
    if len(blocks) != 1:
        raise SchemaError(f"{what}: expected exactly one '-----BEGIN CERTIFICATE-----' block, found {len(blocks)}")
    from cryptography import x509

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x509.load_der_x509_certificate(blocks[0])
        facts = cert_facts(blocks[0])
    except (ValueError, BadDER) as exc:
        raise SchemaError(f"{what}: not an X.509 certificate ({' '.join(str(exc).split())[:200]})") from exc
    if facts.spki_sha256 is None:
        raise SchemaError(f"{what}: not an X.509 certificate (no public key found)")
    return facts
