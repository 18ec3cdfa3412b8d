"""Fleet scan: banned and non-public roots installed in the OS and browser trust stores, and where.

``rootsentinel scan`` (:mod:`native_host.scan.cli`) runs :func:`scan`. The stores and how each is read:

- Linux: the system bundle, the anchors and distrust folders (:mod:`._files`);
- NSS databases: Firefox profiles, Chromium's ``~/.pki/nssdb``, ``/etc/pki/nssdb`` (:mod:`._nss`:
  ``cert9.db`` read as SQLite, no NSS code runs);
- Windows: ``Root`` and ``CA``, machine and user (:mod:`._windows`, PowerShell);
- macOS: the system, login and Apple root keychains (:mod:`._macos`, ``security``).

:mod:`.readers` chooses the readers for the OS, in that one place; :mod:`.report` judges what they found
against the blocklist (by SPKI or certificate hash), Mozilla's root store (certifi) and the system
policy; :mod:`.remove` says how to remove each finding (the commands only); :mod:`.fix` is the only module that
changes a store (``scan --fix`` / ``--undo``, with a backup). Nothing in this package prints.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this package to build its parser: keep that import light
    from native_host.engine.blocklist import Blocklist
    from native_host.engine.publicroots import PublicRoots
    from native_host.scan.model import ScanContext
    from native_host.scan.report import ScanReport
    from native_host.engine.verdict import Policy

__all__ = ["scan", "scan_with"]


def scan_with(ctx: ScanContext, readers: tuple[ModuleType, ...], blocklist: Blocklist | None = None,
              public: PublicRoots | None = None, policy: Policy | None = None) -> ScanReport:
    """Discover and read every store with ``readers``, then judge what was found.

    A store that cannot be read (``StoreUnreadable``, ``ToolMissing``) is recorded with its error and the
    scan goes on; no error is raised for a store.

    Args:
        ctx: paths, homes and the tool runner.
        readers: reader modules (:func:`native_host.scan.readers.for_os`).
        blocklist / public / policy: default the bundled blocklist, the bundled public store, no policy.
    """
    from native_host.engine.blocklist import bundled
    from native_host.errors import RootSentinelError
    from native_host.engine.publicroots import store as public_store
    from native_host.scan.model import Installed
    from native_host.scan import _windows
    from native_host.scan.remove import plan_finding
    from native_host.scan.report import ScanReport, StoreResult, judge_all
    from native_host.engine.verdict import Policy

    results: list[StoreResult] = []
    items: list[Installed] = []
    notes: list[str] = []
    for reader in readers:
        for store in reader.discover(ctx):
            result = StoreResult(store)
            ctx.notes = []
            try:
                found = reader.read(store, ctx)
            except RootSentinelError as exc:
                result.error = str(exc)
            else:
                result.certificates = len(found)
                items.extend(found)
            notes.extend(f"{store.location}: {note}" for note in ctx.notes)
            results.append(result)
    blocklist = blocklist or bundled()
    findings, problems = judge_all(items, blocklist, public or public_store(), policy or Policy())
    problems = notes + problems
    windows = _windows in readers  # the scan ran with the Windows readers: show Windows quoting
    for finding in findings:
        finding.remove = plan_finding(finding, ctx, windows=windows)
    return ScanReport(results, findings, problems, blocklist.summary())


def scan(root: Path | None = None, homes: list[str] | None = None, all_users: bool = False,
         blocklist: Blocklist | None = None, policy: Policy | None = None) -> ScanReport:
    """Scan this machine (or the tree under ``root``): see :func:`native_host.scan.readers.context`."""
    from native_host.scan.readers import context

    ctx, readers = context(root=root, homes=homes, all_users=all_users)
    return scan_with(ctx, readers, blocklist=blocklist, policy=policy)
