"""Blocklist publisher keys and detached signatures (Ed25519, RFC 8032), and why an update is refused.

The signature file of ``<name>.json`` is ``<name>.json.sig``: base64 (RFC 4648) of the 64-byte Ed25519
signature over the file's exact bytes, on one line. The pinned publisher key is base64 of the raw 32-byte
public key (RFC 8032 section 5.1.5), as ``blocklist_public_key`` in the system config. Nothing here parses
the list: :func:`verify_signature` runs before any byte of an update is read as JSON
(:mod:`native_host.enterprise.blocklist_update` installs, ``blocklist_cli`` signs and keygens).

Keys and signatures use ``cryptography``'s Ed25519 (``Ed25519PrivateKey`` / ``Ed25519PublicKey``:
https://cryptography.io/en/latest/hazmat/primitives/asymmetric/ed25519/).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import TYPE_CHECKING

from native_host.errors import RootSentinelError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class UpdateRejected(RootSentinelError):
    """A blocklist update was refused; the installed (or bundled) list stays in use."""

    code = "update_rejected"


class UnsignedUpdate(UpdateRejected):
    """The update has no signature file, or the signature file is not base64 of 64 bytes."""

    code = "unsigned"


class BadSignature(UpdateRejected):
    """The signature does not verify under the pinned key: tampered bytes, or another publisher's key."""

    code = "bad_signature"


class CorruptUpdate(UpdateRejected):
    """Correctly signed, but not a valid blocklist: not JSON, fails the schema or its content hash."""

    code = "corrupt_update"


class NotNewer(UpdateRejected):
    """The update's version is not greater than the installed or the bundled list's (a downgrade or replay)."""

    code = "not_newer"


class NoPinnedKey(UpdateRejected):
    """The system config pins no ``blocklist_public_key`` (or an unusable one): no update can be accepted."""

    code = "no_pinned_key"


# --- keys --------------------------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 signing key for a blocklist publisher."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``), what :func:`load_private_key` reads."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Base64 of the raw 32-byte public key: the value of ``blocklist_public_key`` in the system config."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a publisher's signing key (PKCS#8 PEM, unencrypted, as written by ``blocklist keygen``).

    Raises:
        UpdateRejected: unreadable, not PEM, or not an Ed25519 key.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise UpdateRejected(f"cannot read signing key {path}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:
        raise UpdateRejected(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UpdateRejected(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def parse_public_key(text: str | None) -> Ed25519PublicKey:
    """The pinned publisher key from its config form (base64 of the raw 32 bytes).

    Raises:
        NoPinnedKey: ``text`` is empty, not base64, or not 32 bytes.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not text:
        raise NoPinnedKey("no blocklist_public_key in the system config: blocklist updates cannot be verified")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoPinnedKey(f"blocklist_public_key is not base64: {exc}") from exc
    if len(raw) != 32:
        raise NoPinnedKey(f"blocklist_public_key is {len(raw)} bytes; an Ed25519 public key is 32")
    return Ed25519PublicKey.from_public_bytes(raw)


# --- sign and verify ---------------------------------------------------------------------------------


def sign_bytes(data: bytes, key: Ed25519PrivateKey) -> bytes:
    """The signature file's content for ``data``: base64 of the 64-byte Ed25519 signature, plus a newline."""
    return base64.b64encode(key.sign(data)) + b"\n"


def decode_signature(sig_file: bytes) -> bytes:
    """The 64 raw signature bytes from a ``.sig`` file's content (surrounding whitespace ignored).

    Raises:
        UnsignedUpdate: empty, not base64, or not 64 bytes.
    """
    text = sig_file.strip()
    if not text:
        raise UnsignedUpdate("the signature file is empty")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnsignedUpdate(f"the signature file is not base64: {exc}") from exc
    if len(raw) != 64:
        raise UnsignedUpdate(f"the signature is {len(raw)} bytes; an Ed25519 signature is 64")
    return raw


def verify_signature(data: bytes, sig_file: bytes, public_key: Ed25519PublicKey) -> None:
    """Check the detached signature of ``data`` under the pinned key (nothing is parsed).

    Raises:
        UnsignedUpdate: the signature file is empty or malformed.
        BadSignature: the signature does not match ``data`` under ``public_key``.
    """
    from cryptography.exceptions import InvalidSignature

    signature = decode_signature(sig_file)
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise BadSignature("the signature does not verify under the pinned blocklist_public_key "
                           "(the file was changed, or signed by another key)") from None
