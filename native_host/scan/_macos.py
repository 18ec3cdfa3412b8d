"""macOS keychains, read with ``security find-certificate -a -p KEYCHAIN``.

Source: the ``security(1)`` man page: ``find-certificate`` with ``-a`` ("find all matching
certificates, not just the first one") and ``-p`` ("output certificate in pem format"); the output is the
keychain's certificates as concatenated PEM blocks.

Keychains read:

- ``/Library/Keychains/System.keychain``: where admins, MDM profiles (Jamf ``com.apple.security.root``
  payloads) and installers (antivirus, proxies) put machine-wide roots;
- ``~/Library/Keychains/login.keychain-db`` (and the pre-10.12 ``login.keychain``) of every home scanned;
- ``/System/Library/Keychains/SystemRootCertificates.keychain``: Apple's own root program, read-only
  (SIP). Apple trusts roots Mozilla does not ship, so there only a *banned* root counts.

Not run on a real Mac yet: :func:`parse_output` and the keychain discovery are tested on output in this
format (tests/fixtures/scan/macos-*.pem); ``security`` itself is not.

A keychain holds any certificate, and whether macOS trusts one as a root is decided by separate trust
settings (``security dump-trust-settings -d``), which this reader does not read: a self-issued certificate
in a keychain is reported as an anchor, any other as an intermediate.
"""

from __future__ import annotations

from pathlib import Path

from native_host.engine.certfacts import cert_facts, pem_blocks
from native_host.errors import BadDER
from native_host.scan.model import Installed, ScanContext, Store, StoreUnreadable, is_file

SYSTEM_KEYCHAIN = "/Library/Keychains/System.keychain"
APPLE_ROOTS = "/System/Library/Keychains/SystemRootCertificates.keychain"
LOGIN_KEYCHAINS = ("Library/Keychains/login.keychain-db", "Library/Keychains/login.keychain")


def command(keychain: str) -> list[str]:
    """``security find-certificate -a -p KEYCHAIN``."""
    return ["security", "find-certificate", "-a", "-p", keychain]


def parse_output(output: bytes) -> list[bytes]:
    """The DER certificates in ``security find-certificate -a -p`` output (empty for an empty keychain).

    Raises:
        StoreUnreadable: a PEM block is not base64.
    """
    try:
        return [der for label, der in pem_blocks(output) if label == "CERTIFICATE"]
    except BadDER as exc:
        raise StoreUnreadable(f"security find-certificate: {exc}") from exc


def discover(ctx: ScanContext) -> list[Store]:
    """The system keychain, Apple's root keychain and each scanned home's login keychain, if present."""
    stores = []
    for name, vendor, owner in ((SYSTEM_KEYCHAIN, False, "machine"), (APPLE_ROOTS, True, "apple")):
        if is_file(ctx.real(name)):
            stores.append(Store("macos-keychain", name, ctx.real(name), vendor=vendor, owner=owner))
    for home in ctx.homes:
        for rel in LOGIN_KEYCHAINS:
            real = ctx.real(f"{home}/{rel}") if ctx.root else Path(home) / rel
            if is_file(real):
                stores.append(Store("macos-keychain", ctx.shown(real), real, owner="user"))
                break
    return stores


def read(store: Store, ctx: ScanContext) -> list[Installed]:
    """Every certificate in one keychain; self-issued ones count as anchors (see module doc).

    Raises:
        ToolMissing: no ``security`` (not macOS).
        StoreUnreadable: ``security`` failed (a locked or damaged keychain) or printed bad PEM.
    """
    assert store.path is not None
    out = []
    for i, der in enumerate(parse_output(ctx.run(command(str(store.path))))):
        out.append(Installed(der, store, f"#{i}", anchor=cert_facts(der).self_issued))
    return out
