"""Signed blocklist updates: an Ed25519-signed blocklist file, accepted only under a pinned key.

An *update* is two files:

- ``<name>.json``: a blocklist document with the schema ``native_host/schemas/blocklist.schema.json``
  (the shape of the bundled ``native_host/engine/data/blocklist.json``), whose declared ``sha256`` is its content
  hash (:func:`native_host.engine.blocklist.canonical_entries_sha256`);
- ``<name>.json.sig``: a detached Ed25519 signature (RFC 8032, 64 bytes) over the *exact bytes* of that
  file, base64 (RFC 4648) on one line.

The host trusts one publisher key, pinned in the system config as ``blocklist_public_key`` (base64 of the
raw 32-byte Ed25519 public key, RFC 8032 section 5.1.5). :func:`install_update` accepts an update only when

1. the signature verifies under the pinned key (checked first, so unsigned bytes are never parsed);
2. the document is JSON, matches the schema and its content hash;
3. its version is newer than both the installed and the bundled list (``YYYY.MM.DD[.N]`` compared as
   integer tuples, :func:`version_tuple`),

and then writes both files into the blocklist dir atomically (temp file in the same dir, fsync, rename)
and commits by replacing one pointer file.
Any refusal raises an :class:`UpdateRejected` subclass and leaves the installed files untouched, so the
last good list stays in use. The installer records the SHA-256 of the bytes it validated beside the list
(``<list>.verified``); at start the host checks the installed pair's signature and that digest
(:func:`load_installed`; the schema walk is done once, at install) and falls back to the bundled list,
with a reported error, when anything is wrong.

Keys, signatures and the refusals live in :mod:`native_host.enterprise.blocklist_signing` (re-exported here).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from native_host.atomicfile import atomic_write as _atomic_write
from native_host.engine.blocklist import Blocklist, bundled, load_document
from native_host.enterprise.blocklist_signing import (  # noqa: F401 - re-exported: the update API in one place
    BadSignature, CorruptUpdate, NoPinnedKey, NotNewer, UnsignedUpdate, UpdateRejected, decode_signature,
    generate_private_key, load_private_key, parse_public_key, private_key_pem, public_key_b64, sign_bytes,
    verify_signature)
from native_host.errors import SchemaError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CURRENT_NAME = "current"
"""Name of the pointer file in the blocklist dir (see the layout under "the installed list" below)."""

SIG_SUFFIX = ".sig"
_LOCK_NAME = ".install.lock"
_INSTALLED_RE = re.compile(r"^blocklist-[0-9]{4}\.[0-9]{2}\.[0-9]{2}(\.[0-9]+)?\.json$")
MAX_UPDATE_BYTES = 16 * 1024 * 1024
"""Cap on a blocklist file's size. The bundled list is ~140 KB for 116 entries; a compact entry is ~250
bytes, so about 65,000 such entries fit: for most lists this cap binds before the schema's 100,000-entry
cap, which bounds a list of tiny entries."""
_MAX_UPDATE_BYTES = MAX_UPDATE_BYTES
VERIFIED_SUFFIX = ".verified"
"""Suffix of the file beside an installed list holding the SHA-256 of the bytes the installer validated."""


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2026.11.29"`` -> ``(2026, 11, 29)``; ``"2026.11.29.2"`` -> ``(2026, 11, 29, 2)``.

    Tuples compare element-wise, and a longer tuple with an equal prefix is greater, so a same-day re-issue
    ``YYYY.MM.DD.1`` is newer than ``YYYY.MM.DD``.

    Raises:
        CorruptUpdate: a part is not a decimal integer.
    """
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError as exc:
        raise CorruptUpdate(f"blocklist version {version[:40]!r} is not dotted integers") from exc


def signature_path(list_path: Path) -> Path:
    """Where the detached signature of ``list_path`` lives: the same name plus ``.sig``."""
    return list_path.with_name(list_path.name + SIG_SUFFIX)


def check_document_bytes(data: bytes, what: str = "signed, but") -> Blocklist:
    """Everything that makes bytes an acceptable blocklist, signature aside: at most
    :data:`MAX_UPDATE_BYTES`, UTF-8 JSON, an object matching ``blocklist.schema.json`` (with its limits on
    entries and text per field), its content hash, a dotted-integer version. ``blocklist sign`` and
    ``blocklist install`` both call it, so nothing is signed that no host would install.

    Raises:
        CorruptUpdate: any of these fails (``what`` starts the message).
    """
    if len(data) > MAX_UPDATE_BYTES:
        raise CorruptUpdate(f"{what} {len(data)} bytes, over the {MAX_UPDATE_BYTES >> 20} MiB of a blocklist")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptUpdate(f"{what} not UTF-8 JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise CorruptUpdate(f"{what} the JSON is not an object")
    try:
        blocklist = load_document(doc, verify=True)  # jsonschema + content hash
    except SchemaError as exc:
        raise CorruptUpdate(f"{what} not a valid blocklist: {exc}") from exc
    version_tuple(blocklist.version)
    return blocklist


def verify_update_bytes(data: bytes, sig_file: bytes, public_key: Ed25519PublicKey) -> Blocklist:
    """Check a signed update held in memory and build its :class:`Blocklist` (the full check, as at install).

    Args:
        data: the exact bytes of the blocklist file.
        sig_file: the content of its ``.sig`` file.
        public_key: the pinned publisher key.

    Raises:
        UnsignedUpdate: the signature file is empty or malformed.
        BadSignature: the signature does not match ``data`` under ``public_key``.
        CorruptUpdate: signed, but as :func:`check_document_bytes`.
    """
    verify_signature(data, sig_file, public_key)  # first: unsigned bytes are never parsed
    return check_document_bytes(data)


def verified_path(list_path: Path) -> Path:
    """Where the installer records the digest of the bytes it validated: ``<list>.verified``."""
    return list_path.with_name(list_path.name + VERIFIED_SUFFIX)


def _sha256_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def read_update(list_path: Path, sig_path: Path | None = None) -> tuple[bytes, bytes]:
    """Read an update's two files once: ``(list bytes, signature file bytes)``.

    Raises:
        UpdateRejected: the list cannot be read, or is over 16 MiB.
        UnsignedUpdate: there is no signature file (default ``<list_path>.sig``).
    """
    list_path = Path(list_path)
    sig_path = Path(sig_path) if sig_path else signature_path(list_path)
    try:
        with open(list_path, "rb") as f:  # read at most the cap (+1 to see it is over), whatever stat says
            data = f.read(MAX_UPDATE_BYTES + 1)
        if len(data) > MAX_UPDATE_BYTES:
            raise UpdateRejected(f"{list_path} is over {MAX_UPDATE_BYTES >> 20} MiB: not a blocklist")
    except OSError as exc:
        raise UpdateRejected(f"cannot read {list_path}: {exc.strerror}") from exc
    try:
        sig = sig_path.read_bytes()[:4096]
    except FileNotFoundError:
        raise UnsignedUpdate(f"{list_path} is unsigned: no {sig_path.name}") from None
    except OSError as exc:
        raise UnsignedUpdate(f"cannot read {sig_path}: {exc.strerror}") from exc
    return data, sig


def verify_update(list_path: Path, public_key: Ed25519PublicKey, sig_path: Path | None = None) -> Blocklist:
    """Check a signed update on disk (see :func:`verify_update_bytes`; same errors, plus :func:`read_update`'s)."""
    data, sig = read_update(list_path, sig_path)
    return verify_update_bytes(data, sig, public_key)


# --- the installed list ------------------------------------------------------------------------------
#
# Layout of the blocklist dir:
#
#     current                              one line: the file name of the list in use
#     blocklist-2026.12.01.json            an installed list (never modified once written)
#     blocklist-2026.12.01.json.sig        its signature
#     blocklist-2026.12.01.json.verified   SHA-256 hex of the bytes the installer validated
#     blocklist-2026.11.30.json(.sig)      the previous pair, kept for one more install
#     .install.lock                        advisory lock (installers exclusive, readers shared)
#
# Replacing ``current`` is the single atomic commit point: a crash before it leaves the old pair in use,
# a crash after it leaves the new one; a list and a signature from different updates are never paired.


@dataclass
class InstallResult:
    """What :func:`install_update` did.

    Attributes:
        blocklist: the newly installed list.
        previous_version: the version it replaced (installed, else bundled).
        path: where the list now lives (its signature is beside it).
    """

    blocklist: Blocklist
    previous_version: str
    path: Path


def current_pointer(blocklist_dir: Path) -> Path:
    """The pointer file naming the installed list; nothing is installed while it is absent."""
    return Path(blocklist_dir) / CURRENT_NAME


def installed_paths(blocklist_dir: Path) -> tuple[Path, Path] | None:
    """``(list, signature)`` paths of the installed update, or None when nothing is installed.

    Raises:
        CorruptUpdate: the pointer is unreadable or names something other than ``blocklist-<version>.json``
            (never a path: the dir's files only).
    """
    pointer = current_pointer(blocklist_dir)
    try:
        name = pointer.read_text("ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptUpdate(f"cannot read {pointer}: {exc}") from exc
    if not _INSTALLED_RE.match(name):
        raise CorruptUpdate(f"{pointer} names {name[:80]!r}, not blocklist-<version>.json")
    path = Path(blocklist_dir) / name
    return path, signature_path(path)


def load_installed(blocklist_dir: Path, public_key: Ed25519PublicKey) -> Blocklist | None:
    """Re-verify the installed update, as the host does at every start.

    Checked at every start: the pointer, the Ed25519 signature over the exact bytes, and the SHA-256 of
    those bytes against the digest the installer recorded beside them (``<list>.verified``) after its full
    check (schema, limits, content hash). The schema walk (seconds for a 50,000-entry list) is done once,
    at install. A signed pair without a digest file (planted without the installer, or installed by an
    older version) gets the full check at every start; a digest that does not match is refused.

    Returns:
        The installed list when it verifies and is newer than the bundled one; None when nothing is
        installed, or when the bundled list is at least as new (after a package upgrade: not an error).

    Raises:
        UpdateRejected (any subclass): the installed files are missing, unsigned, tampered, signed by
            another key or corrupt; the caller falls back to the bundled list and reports the error.
    """
    with _install_lock(Path(blocklist_dir), exclusive=False):
        blocklist = _load_installed_unlocked(Path(blocklist_dir), public_key)
    if blocklist is None or version_tuple(blocklist.version) <= version_tuple(bundled().version):
        return None
    return blocklist


def install_update(list_path: Path, blocklist_dir: Path, public_key: Ed25519PublicKey,
                   sig_path: Path | None = None) -> InstallResult:
    """Verify an update and install it as the list the host uses from its next start.

    The list and its signature are each written to a temp file in ``blocklist_dir``, fsynced and renamed
    (``os.replace``) to ``blocklist-<version>.json(.sig)``; then the ``current`` pointer is replaced the
    same way, which is the commit (see the layout above); the directory is fsynced after each step
    (POSIX). Pairs older than the previous one are removed. Installers serialise on an exclusive lock in
    the dir, so the version comparison cannot race another install.

    Args:
        list_path: the update's blocklist file.
        blocklist_dir: the host's blocklist dir (created if missing).
        public_key: the pinned publisher key.
        sig_path: the detached signature; default ``<list_path>.sig``.

    Raises:
        UnsignedUpdate, BadSignature, CorruptUpdate: as :func:`verify_update_bytes`.
        NotNewer: the version is not greater than the installed (if it verifies) and the bundled version.
        UpdateRejected: the blocklist dir cannot be written (the installed list stays in use).
    """
    data, sig = read_update(Path(list_path), sig_path)
    blocklist = verify_update_bytes(data, sig, public_key)
    blocklist_dir = Path(blocklist_dir)
    try:
        blocklist_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UpdateRejected(f"cannot create {blocklist_dir}: {exc.strerror}") from exc
    check_private_dir(blocklist_dir)
    with _install_lock(blocklist_dir, exclusive=True):
        current = bundled()
        try:
            installed = _load_installed_unlocked(blocklist_dir, public_key)
        except UpdateRejected:
            installed = None  # a broken installed pair is not in use (the host falls back): do not compare
        if installed is not None and version_tuple(installed.version) > version_tuple(current.version):
            current = installed
        if version_tuple(blocklist.version) <= version_tuple(current.version):
            which = "installed" if current is installed else "bundled"
            raise NotNewer(f"update version {blocklist.version} is not newer than the {which} "
                           f"version {current.version}")
        previous = installed_paths_or_none(blocklist_dir)
        name = f"blocklist-{blocklist.version}.json"
        target = blocklist_dir / name
        try:
            atomic_write(signature_path(target), sig)
            atomic_write(verified_path(target), (_sha256_hex(data) + "\n").encode("ascii"))
            atomic_write(target, data)
            fsync_dir(blocklist_dir)
            atomic_write(current_pointer(blocklist_dir), (name + "\n").encode("ascii"))
            fsync_dir(blocklist_dir)
        except OSError as exc:
            raise UpdateRejected(f"cannot write into {blocklist_dir}: {exc.strerror}") from exc
        keep = {name, signature_path(target).name, verified_path(target).name}
        if previous is not None:
            keep |= {previous[0].name, previous[1].name, verified_path(previous[0]).name}
        _prune(blocklist_dir, keep)
    return InstallResult(blocklist, current.version, target)


def installed_paths_or_none(blocklist_dir: Path) -> tuple[Path, Path] | None:
    """:func:`installed_paths`, with an unreadable pointer read as nothing installed."""
    try:
        return installed_paths(blocklist_dir)
    except CorruptUpdate:
        return None


def _load_installed_unlocked(blocklist_dir: Path, public_key: Ed25519PublicKey) -> Blocklist | None:
    paths = installed_paths(blocklist_dir)
    if paths is None:
        return None
    data, sig = read_update(*paths)
    try:
        recorded = verified_path(paths[0]).read_bytes()[:200].decode("ascii", "replace").strip()
    except OSError:
        return verify_update_bytes(data, sig, public_key)
    verify_signature(data, sig, public_key)
    if recorded != _sha256_hex(data):
        raise CorruptUpdate(f"{paths[0].name} is not the file the installer validated "
                            f"(its SHA-256 differs from {verified_path(paths[0]).name})")
    from native_host.engine.blocklist import Blocklist

    doc = json.loads(data.decode("utf-8"))  # the bytes the installer validated: no schema walk again
    return Blocklist(version=doc["version"], sha256=doc["sha256"], entries=doc["entries"])


def _prune(blocklist_dir: Path, keep: set[str]) -> None:
    """Remove installed pairs other than ``keep`` (best effort: a leftover file is harmless)."""
    for path in blocklist_dir.iterdir():
        name = path.name
        base = name
        for suffix in (SIG_SUFFIX, VERIFIED_SUFFIX):
            base = base[: -len(suffix)] if base.endswith(suffix) else base
        if name not in keep and (_INSTALLED_RE.match(base) or (name.startswith(".") and name.endswith(".tmp"))):
            with contextlib.suppress(OSError):
                path.unlink()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0644 (readable by every user's host process):
    :func:`native_host.atomicfile.atomic_write`.

    Raises:
        OSError: the temp file cannot be created or renamed (it is removed; ``path`` is unchanged).
    """
    _atomic_write(path, data, 0o644)


def check_private_dir(directory: Path) -> None:
    """Refuse to write into a directory that other users can write (group- or world-writable, or owned by
    someone other than this user or root): there they could plant links or swap files between our steps.

    Raises:
        UpdateRejected: such a directory (or one that cannot be examined). A no-op on Windows (ACLs).
    """
    if os.name == "nt":
        return
    import stat

    try:
        st = os.stat(directory)
    except OSError as exc:
        raise UpdateRejected(f"cannot examine {directory}: {exc.strerror}") from exc
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or st.st_uid not in (0, os.geteuid()):
        raise UpdateRejected(f"refusing to write into {directory}: other users can write it "
                             f"(mode {stat.S_IMODE(st.st_mode):04o}, owner uid {st.st_uid}); "
                             "make it owned by this user or root and not group- or world-writable")


def fsync_dir(directory: Path) -> None:
    """Persist the renames (POSIX; Windows has no directory fds and NTFS journals the rename)."""
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _install_lock(directory: Path, exclusive: bool) -> Iterator[None]:
    """Advisory lock on ``<dir>/.install.lock`` (``fcntl.flock``; a no-op where it cannot be had).

    Installers take it exclusive, so two installs cannot both pass the version check. Readers (a
    starting host, as an ordinary user) take it shared when they can open the file: installed pairs are
    never rewritten, so a reader always sees a matching list and signature through the pointer, and the
    lock only keeps pruning from removing the pair a reader has just resolved. On Windows no lock is
    taken (``os.replace`` and unlink fail there while another process has the file open).
    """
    if os.name == "nt":
        yield
        return
    import fcntl

    import stat

    path = directory / _LOCK_NAME
    nofollow = getattr(os, "O_NOFOLLOW", 0)  # a symlink planted as the lock file is refused, not followed
    try:
        if exclusive:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | nofollow, 0o644)
        else:
            fd = os.open(path, os.O_RDONLY | nofollow)
    except OSError as exc:
        if exclusive:
            raise UpdateRejected(f"cannot lock {path}: {exc.strerror or exc}") from exc
        yield
        return
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        if exclusive:
            raise UpdateRejected(f"cannot lock {path}: not a regular file")
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the fd releases the flock
