"""Which trust-store readers run on which OS: the only place in :mod:`native_host.scan` that asks.

Each reader module has the interface described in :mod:`native_host.scan.model`
(``discover(ctx) -> list[Store]``, ``read(store, ctx) -> list[Installed]``):

=========  ====================================================================================
OS         readers
=========  ====================================================================================
Linux      ``_files`` (system bundle, anchors and distrust folders), ``_nss`` (Firefox, Chromium,
           ``/etc/pki/nssdb``)
macOS      ``_macos`` (keychains), ``_nss`` (Firefox profiles; needs ``brew install nss``)
Windows    ``_windows`` (Root and CA, machine and user), ``_nss`` (Firefox profiles; only with
           ``ROOTSENTINEL_NSS_CERTUTIL`` naming NSS's certutil.exe)
``--root`` ``_files`` and ``_nss`` on the tree under DIR (a mounted Linux disk, a test tree)
=========  ====================================================================================
"""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath
from types import ModuleType

from native_host.scan import _files, _macos, _nss, _windows
from native_host.scan.model import ScanContext, is_dir


def os_name(platform: str | None = None) -> str:
    """``"windows"``, ``"macos"`` or ``"linux"`` for a ``sys.platform`` value (default this one)."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        return "windows"
    return "macos" if platform == "darwin" else "linux"


def for_os(name: str, rooted: bool = False) -> tuple[ModuleType, ...]:
    """The reader modules for OS ``name``; with ``rooted`` (``--root``) the file-based ones only."""
    if rooted or name == "linux":
        return (_files, _nss)
    if name == "macos":
        return (_macos, _nss)
    return (_windows, _nss)


def _all_homes(ctx_root: Path | None, name: str) -> list[PurePosixPath | Path]:
    """Every home folder: ``/home/*`` and ``/root`` (Linux), ``/Users/*`` (macOS), ``C:\\Users\\*``."""
    if name == "windows" and ctx_root is None:
        base = Path(os.environ.get("SystemDrive", "C:") + "\\Users")
        return sorted(p for p in base.glob("*") if is_dir(p) and p.name not in ("Public", "Default", "All Users"))
    top = ctx_root or Path("/")
    homes: list[PurePosixPath | Path] = []
    for parent in ("home", "Users"):
        folder = top / parent
        try:
            entries = sorted(folder.iterdir()) if is_dir(folder) else []
        except OSError:
            entries = []
        homes.extend(PurePosixPath("/" + parent) / p.name for p in entries if is_dir(p) and p.name != "Shared")
    if is_dir(top / "root"):
        homes.append(PurePosixPath("/root"))
    return homes


def context(root: Path | None = None, homes: list[str] | None = None, all_users: bool = False,
            platform: str | None = None) -> tuple[ScanContext, tuple[ModuleType, ...]]:
    """A :class:`ScanContext` for this machine and the readers to run with it.

    Args:
        root: scan the tree under this folder instead of ``/`` (implies ``all_users``).
        homes: home folders to scan (as the scanned system names them); default this user's home,
            or every home with ``all_users`` or ``root``.
        all_users: scan every home (run as root or Administrator to read them all).
        platform: a ``sys.platform`` value (default this one).
    """
    name = os_name(platform)
    if homes:
        chosen: list[PurePosixPath | Path] = [PurePosixPath(h) if root else Path(h) for h in homes]
    elif all_users or root is not None:
        chosen = _all_homes(root, name)
    else:
        chosen = [Path.home()]
    env = dict(os.environ)
    certutil: str | None = "certutil"
    if name == "windows" and root is None:
        certutil = env.get("ROOTSENTINEL_NSS_CERTUTIL") or None
    elif env.get("ROOTSENTINEL_NSS_CERTUTIL"):
        certutil = env["ROOTSENTINEL_NSS_CERTUTIL"]
    ctx = ScanContext(root=root, homes=chosen, env=env, nss_certutil=certutil)
    return ctx, for_os(name, rooted=root is not None)
