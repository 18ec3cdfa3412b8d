"""Linux (and other Unix) trust stores that are plain files: the system bundle, the anchors folders
where admins and installers drop extra roots, and the p11-kit folders of explicitly distrusted roots.

Locations (first match per real file; a bundle reached twice through symlinks is read once):

- bundles, as Go's ``crypto/x509/root_linux.go`` lists them: ``/etc/ssl/certs/ca-certificates.crt``
  (Debian, Ubuntu, Gentoo, Arch), ``/etc/pki/tls/certs/ca-bundle.crt`` (Fedora, RHEL 6),
  ``/etc/ssl/ca-bundle.pem`` (openSUSE), ``/etc/pki/tls/cacert.pem`` (OpenELEC),
  ``/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem`` (CentOS, RHEL 7+), ``/etc/ssl/cert.pem`` (Alpine);
- anchors folders: ``/usr/local/share/ca-certificates`` (Debian ``update-ca-certificates(8)``),
  ``/etc/pki/ca-trust/source/anchors`` and ``/usr/share/pki/ca-trust-source/anchors`` (RHEL
  ``update-ca-trust(8)``), ``/etc/pki/trust/anchors`` and ``/usr/share/pki/trust/anchors`` (SUSE),
  ``/etc/ca-certificates/trust-source/anchors`` (Arch, p11-kit ``trust(1)``);
- distrust folders (certificates there are *refused*): ``/etc/pki/ca-trust/source/blocklist`` and the
  older ``.../blacklist`` (RHEL), ``/etc/ca-certificates/trust-source/blocklist`` (Arch),
  ``/etc/pki/trust/blacklist`` (SUSE).

A bundle entry that the distribution's own ``ca-certificates`` package ships (Debian and Ubuntu
``/usr/share/ca-certificates/mozilla/*.crt``; Fedora and RHEL
``/usr/share/pki/ca-trust-source/ca-bundle.trust.p11-kit``; Arch
``/usr/share/ca-certificates/trust-source/mozilla.trust.p11-kit``) is marked ``vendor``: the distribution's
copy of Mozilla's store is older or newer than the bundled public store's, and a root it still ships is its
choice, not an installed interception root. Whatever else is in the bundle was added locally.

An anchor dropped in a folder is trusted only after ``update-ca-certificates`` / ``update-ca-trust``
has merged it into the bundle; the scan reports it from the folder either way (it is on its way in).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from native_host.engine.certfacts import pem_blocks
from native_host.engine.der import read_tlv, split_concatenated
from native_host.errors import BadDER
from native_host.scan.model import Installed, ScanContext, Store, StoreUnreadable, is_dir, is_file

BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
)
ANCHOR_DIRS = (
    "/usr/local/share/ca-certificates",
    "/etc/pki/ca-trust/source/anchors",
    "/usr/share/pki/ca-trust-source/anchors",
    "/etc/pki/trust/anchors",
    "/usr/share/pki/trust/anchors",
    "/etc/ca-certificates/trust-source/anchors",
)
DISTRUST_DIRS = (
    "/etc/pki/ca-trust/source/blocklist",
    "/etc/pki/ca-trust/source/blacklist",
    "/etc/ca-certificates/trust-source/blocklist",
    "/etc/pki/trust/blacklist",
)
DISTRO_SOURCES = (
    "/usr/share/ca-certificates/mozilla",
    "/usr/share/pki/ca-trust-source/ca-bundle.trust.p11-kit",
    "/usr/share/ca-certificates/trust-source/mozilla.trust.p11-kit",
)
MAX_FILE_BYTES = 64 << 20
"""Refuse files over 64 MiB (a real bundle is about 220 KB)."""


def parse_cert_file(data: bytes) -> list[bytes]:
    """The certificates in a PEM or DER file, as DER, in file order.

    PEM ``CERTIFICATE`` blocks and OpenSSL ``TRUSTED CERTIFICATE`` blocks (the certificate followed by
    OpenSSL's trust settings; only the certificate is kept) count; other blocks (keys, CRLs) are
    ignored. A file without ``-----BEGIN`` is read as one or more back-to-back DER certificates.

    Returns:
        A list of DER certificates, empty when the file holds none.

    Raises:
        BadDER: a PEM body is not base64, or the bytes are neither PEM nor DER.
    """
    if b"-----BEGIN" in data:
        out = []
        for label, der in pem_blocks(data):
            if label == "CERTIFICATE":
                out.append(der)
            elif label == "TRUSTED CERTIFICATE":
                _, _, end = read_tlv(der, 0)
                out.append(der[:end])
        return out
    if not data.strip():
        return []
    return split_concatenated(data)


def _resolve(ctx: ScanContext, system_path: str) -> Path:
    """Follow symlinks of the last component inside ``ctx.root`` (an absolute link target is re-rooted)."""
    real = ctx.real(system_path)
    for _ in range(40):
        try:
            if not real.is_symlink():
                return real
        except OSError:
            return real
        target = os.readlink(real)
        real = ctx.real(target) if target.startswith("/") else real.parent / target
    return real


def discover(ctx: ScanContext) -> list[Store]:
    """The bundles, anchors folders and distrust folders present (under ``ctx.root``)."""
    stores: list[Store] = []
    seen: set[tuple[int, int]] = set()
    for name in BUNDLES:
        real = _resolve(ctx, name)
        try:
            st = real.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen or not is_file(real):
            continue
        seen.add((st.st_dev, st.st_ino))
        stores.append(Store("linux-bundle", name, real))
    for kind, names in (("linux-anchors", ANCHOR_DIRS), ("linux-distrust", DISTRUST_DIRS)):
        for name in names:
            real = _resolve(ctx, name)
            if is_dir(real):
                stores.append(Store(kind, name, real, anchors=kind == "linux-anchors",
                                    distrust=kind == "linux-distrust"))
    return stores


def _read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise StoreUnreadable(f"{path.name} is over {MAX_FILE_BYTES >> 20} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise StoreUnreadable(f"cannot read {path.name}: {exc.strerror}") from exc


def distro_files(ctx: ScanContext) -> dict[str, str]:
    """SHA-256 (hex) of every certificate the distribution's ``ca-certificates`` package ships
    (:data:`DISTRO_SOURCES`) -> the file that ships it, as the scanned system names it (kept in ``ctx.cache``).
    Unreadable or odd files are skipped; the first file that ships a certificate wins."""
    cached = ctx.cache.get("distro_files")
    if isinstance(cached, dict):
        return cached
    files_by_hash: dict[str, str] = {}
    for name in DISTRO_SOURCES:
        real = _resolve(ctx, name)
        files = sorted(p for p in real.rglob("*") if is_file(p)) if is_dir(real) else [real]
        for path in files:
            try:
                ders = parse_cert_file(_read_file(path))
            except (BadDER, StoreUnreadable):
                continue
            shown = name if path == real else f"{name}/{path.relative_to(real).as_posix()}"
            for d in ders:
                files_by_hash.setdefault(hashlib.sha256(d).hexdigest(), shown)
    ctx.cache["distro_files"] = files_by_hash
    return files_by_hash


def distro_hashes(ctx: ScanContext) -> frozenset[str]:
    """SHA-256 (hex) of every certificate the distribution's ``ca-certificates`` package ships
    (the keys of :func:`distro_files`)."""
    return frozenset(distro_files(ctx))


def read(store: Store, ctx: ScanContext) -> list[Installed]:
    """Every certificate in a bundle file, or in every regular file under a folder (recursively).

    Labels: ``#N`` (0-based position in a bundle) or ``FILE#N`` (path relative to the folder). Bundle
    entries the distribution ships are marked ``vendor``, with the file that ships them (:func:`distro_files`).
    A file in a folder that holds no certificate (a README, a key) is skipped, and so is one that is not
    PEM/DER or cannot be read (the rest of the folder still counts).

    Raises:
        StoreUnreadable: the bundle cannot be read or is not PEM/DER; a folder cannot be listed.
    """
    assert store.path is not None
    out: list[Installed] = []
    anchor = store.anchors and not store.distrust
    if store.path.is_file():
        try:
            ders = parse_cert_file(_read_file(store.path))
        except BadDER as exc:
            raise StoreUnreadable(f"{store.location}: {exc}") from exc
        shipped = distro_files(ctx) if store.kind == "linux-bundle" else {}
        out = []
        for i, d in enumerate(ders):
            source = shipped.get(hashlib.sha256(d).hexdigest())
            out.append(Installed(d, store, f"#{i}", anchor=anchor, distrusted=store.distrust,
                                 vendor=source is not None, source=source))
        return out
    try:
        files = sorted(p for p in store.path.rglob("*") if p.is_file())
    except OSError as exc:
        raise StoreUnreadable(f"cannot list {store.location}: {exc.strerror}") from exc
    for path in files:
        try:
            ders = parse_cert_file(_read_file(path))
        except (BadDER, StoreUnreadable):
            continue
        rel = path.relative_to(store.path).as_posix()
        out.extend(Installed(d, store, f"{rel}#{i}", anchor=anchor, distrusted=store.distrust)
                   for i, d in enumerate(ders))
    return out
