"""What the trust-store readers share: a :class:`Store` (one place certificates are installed), an
:class:`Installed` certificate found in it, the :class:`ScanContext` they read with, and their errors.

Every reader module (``_files``, ``_nss``, ``_windows``, ``_macos``) has the same two functions::

    discover(ctx: ScanContext) -> list[Store]          # the stores of that kind on this machine
    read(store: Store, ctx: ScanContext) -> list[Installed]   # raises StoreUnreadable

plus a pure ``parse_*`` function for the tool output or file bytes it reads, which the tests feed with
recorded output. :mod:`native_host.scan.readers` is the only place that chooses readers per OS.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from native_host.errors import RootSentinelError


class StoreUnreadable(RootSentinelError):
    """A trust store exists but could not be read (permission denied, tool failed, bad output)."""

    code = "store_unreadable"


class ToolMissing(StoreUnreadable):
    """The tool that reads a store (NSS ``certutil``, ``powershell``, ``security``) is not installed."""

    code = "tool_missing"


@dataclass(frozen=True, slots=True)
class Store:
    """One trust store: a bundle file, an anchors folder, an NSS database, a Windows store, a keychain.

    Attributes:
        kind: ``linux-bundle``, ``linux-anchors``, ``linux-distrust``, ``nss``, ``windows``, ``macos-keychain``.
        location: where it is, as the scanned system names it (``/etc/ssl/certs/ca-certificates.crt``,
            ``sql:/home/ana/.pki/nssdb``, ``Cert:\\LocalMachine\\Root``, ``/Library/Keychains/System.keychain``).
            Under ``--root`` this is the path inside the scanned tree, without the prefix.
        path: the real path to open (``--root`` prefix included), or None for a tool-addressed store.
        anchors: True when every certificate in it is a trust anchor unless marked otherwise (a system
            bundle, a Windows ``Root`` store); False for intermediate stores (Windows ``CA``).
        vendor: True for the OS vendor's own read-only root program (macOS ``SystemRootCertificates``):
            only a banned root counts there, a root Mozilla does not ship is the vendor's choice.
        distrust: True for a store whose certificates are explicitly *distrusted* (p11-kit blocklist).
        owner: the browser or program that uses it, for the report (``firefox``, ``chromium``, ``system``...).
    """

    kind: str
    location: str
    path: Path | None = None
    anchors: bool = True
    vendor: bool = False
    distrust: bool = False
    owner: str = "system"


@dataclass(frozen=True, slots=True)
class Installed:
    """One certificate found in a store.

    Attributes:
        der: the certificate's DER bytes, as stored (hashes are of these bytes).
        store: where it was found.
        label: what the store calls it (NSS nickname, Windows thumbprint, file name and index), or None.
        trust: the store's own trust notation when it has one (NSS ``C,,``), else None.
        anchor: the store trusts it as a root for TLS servers.
        distrusted: the store explicitly distrusts it (NSS ``p`` in the SSL field, a p11-kit blocklist).
        vendor: it came with the OS's own root program (a Linux bundle entry that the distribution's
            ``ca-certificates`` package ships, see :mod:`native_host.scan._files`).
        source: for a ``vendor`` bundle entry, the distribution's file that ships it, as the scanned system
            names it (``/usr/share/ca-certificates/mozilla/TrustCor_RootCert_CA-1.crt``), else None.
    """

    der: bytes
    store: Store
    label: str | None = None
    trust: str | None = None
    anchor: bool = True
    distrusted: bool = False
    vendor: bool = False
    source: str | None = None


def is_file(path: Path) -> bool:
    """``path.is_file()``, but False instead of raising for a path this user may not look at (EACCES)."""
    try:
        return path.is_file()
    except OSError:
        return False


def is_dir(path: Path) -> bool:
    """``path.is_dir()``, but False instead of raising for a path this user may not look at (EACCES)."""
    try:
        return path.is_dir()
    except OSError:
        return False


Runner = Callable[[Sequence[str]], bytes]
"""Runs a tool: ``argv -> stdout bytes``. Raises :class:`ToolMissing` or :class:`StoreUnreadable`."""


def run_captured(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``argv`` without a shell, with no stdin, stdout and stderr captured, for at most ``timeout``
    seconds; the exit code is the caller's to judge (the one place the scan and ``scan --fix`` start tools).

    Raises:
        ToolMissing: ``argv[0]`` is not installed.
        StoreUnreadable: it did not finish in ``timeout`` seconds.
    """
    try:
        return subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise ToolMissing(f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise StoreUnreadable(f"{argv[0]} did not finish in {timeout:.0f} s") from exc


def run_tool(argv: Sequence[str], timeout: float = 60.0) -> bytes:
    """The default :data:`Runner`: :func:`run_captured`, then its stdout.

    Raises:
        ToolMissing: ``argv[0]`` is not installed.
        StoreUnreadable: it exited non-zero (the message carries its first stderr line) or timed out.
    """
    proc = run_captured(argv, timeout)
    if proc.returncode != 0:
        err = " ".join(proc.stderr.decode("utf-8", "replace").split())[:300]
        raise StoreUnreadable(f"{Path(argv[0]).name} exited {proc.returncode}: {err or 'no message'}")
    return proc.stdout


@dataclass
class ScanContext:
    """What the readers read with.

    Attributes:
        root: prefix for every file path (``--root``: a mounted or test tree), or None for ``/``.
        homes: home folders to look in for per-user stores (Firefox profiles, ``~/.pki/nssdb``,
            login keychains), as the scanned system names them.
        run: how tools are run (tests pass recorded output).
        env: environment variables.
        nss_certutil: NSS's ``certutil`` to run, or None where it is not known (Windows without
            ``ROOTSENTINEL_NSS_CERTUTIL``: there ``certutil.exe`` is Microsoft's unrelated tool).
    """

    root: Path | None = None
    homes: list[PurePosixPath | Path] = field(default_factory=list)
    run: Runner = run_tool
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    nss_certutil: str | None = "certutil"
    cache: dict[str, object] = field(default_factory=dict)
    """Readers keep tool output here that serves several stores (one PowerShell run for four stores)."""
    deadline: float | None = None
    """A ``time.monotonic()`` value by which every tool run must be over (the host's bounded scan), or None."""
    notes: list[str] = field(default_factory=list)
    """Odd entries of the store being read (a reader appends one line each; the scan reports them under
    ``problems`` with the store's location and clears the list before the next store)."""

    def tool_timeout(self, default: float = 60.0) -> float:
        """Seconds the next tool run may take: ``default``, or less when :attr:`deadline` is nearer.

        Raises:
            StoreUnreadable: the deadline is (nearly) over: the tool is not started.
        """
        if self.deadline is None:
            return default
        import time

        left = self.deadline - time.monotonic()
        if left <= 0.1:
            raise StoreUnreadable("not run: the scan's time is over")
        return min(default, left)

    def real(self, system_path: str | PurePosixPath) -> Path:
        """The path to open for ``system_path`` (``/etc/...``) under :attr:`root`."""
        if self.root is None:
            return Path(system_path)
        return self.root / str(system_path).lstrip("/")

    def shown(self, real_path: Path) -> str:
        """How the report names ``real_path``: the path inside the scanned tree (root prefix removed)."""
        if self.root is None:
            return str(real_path)
        try:
            return "/" + real_path.relative_to(self.root).as_posix()
        except ValueError:
            return str(real_path)
