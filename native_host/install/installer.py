"""Install and uninstall host manifests: plan what to write, then write it (or only show it).

A plan is pure data (target paths, exact bytes, file modes, registry values), so ``--dry-run``,
tests and the real install all see the same thing. Writing is idempotent: a file whose bytes and
mode already match is reported ``unchanged`` and not touched. ``root`` prefixes every path like
``DESTDIR``; the paths *inside* manifests and ``.reg`` files stay the final, unprefixed ones.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from native_host import HOST_NAME
from native_host.atomicfile import atomic_write
from native_host.install import locations, registry
from native_host.install.extension_ids import resolve_extension_ids
from native_host.install.launcher import is_our_launcher, launcher_script
from native_host.install.manifest import HostManifest
from native_host.install.model import (
    BROWSERS,
    Environment,
    HostLocation,
    InstallError,
    family,
    pure_path_class,
    under_root,
)

MANIFEST_MODE = 0o644
LAUNCHER_MODE = 0o755


@dataclass(frozen=True)
class PlannedFile:
    """One file to write: final ``path`` (target OS spelling), exact ``content``, ``mode``, and why."""

    path: PurePath
    content: bytes
    mode: int
    kind: str  # "manifest" | "launcher" | "registry"
    browsers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """What happened (or would happen) to one file or registry key.

    ``action`` is one of ``written``, ``updated``, ``unchanged``, ``removed``, ``absent``, ``kept``;
    with ``dry_run`` the writes read ``would write`` / ``would update`` / ``would remove``.
    """

    action: str
    target: str
    kind: str
    content: bytes | None = None
    note: str = ""


@dataclass
class Plan:
    """Everything one ``install`` writes for one OS and scope."""

    target_os: str
    scope: str
    root: Path | None
    host_path: str
    locations: list[HostLocation]
    files: list[PlannedFile] = field(default_factory=list)
    registry_values: list[registry.RegistryValue] = field(default_factory=list)  # winreg mode only
    use_winreg: bool = False
    env: Environment | None = None  # where the install record goes (None: no record)


def _default_use_winreg(target_os: str, root: Path | None) -> bool:
    return locations.current_os() == "windows" and target_os == "windows" and root is None


def expand_browsers(browsers: list[str] | tuple[str, ...]) -> list[str]:
    """Expand ``all`` and drop duplicates, keeping :data:`BROWSERS` order.

    Raises:
        InstallError: for an unknown browser name or an empty list.
    """
    chosen: set[str] = set()
    for b in browsers:
        if b == "all":
            chosen.update(BROWSERS)
        elif b in BROWSERS:
            chosen.add(b)
        else:
            raise InstallError(f"unknown browser {b!r}; expected one of {', '.join(BROWSERS)} or all")
    if not chosen:
        raise InstallError("no browser given")
    return [b for b in BROWSERS if b in chosen]


def plan_install(
    browsers: list[str] | tuple[str, ...],
    scope: str,
    target_os: str,
    env: Environment,
    *,
    host_path: str | None = None,
    extension_ids: list[str] | tuple[str, ...] = (),
    root: Path | None = None,
    use_winreg: bool | None = None,
    python: str | None = None,
) -> Plan:
    """Work out every file (and registry value) an install writes.

    Args:
        browsers: browser names or ``all``.
        scope: ``user`` or ``system``.
        target_os: ``linux``, ``macos`` or ``windows``.
        env: home and folder facts of the target (see :class:`Environment`).
        host_path: absolute path of a host executable (a PyInstaller bundle); default: the running
            bundle itself when frozen, else write a launcher script and name it.
        extension_ids: ``--extension-id`` values (see :func:`resolve_extension_ids`).
        root: ``DESTDIR``-like prefix for every written path.
        use_winreg: write registry keys with winreg instead of ``.reg`` files (default: only when
            running on Windows for Windows without ``root``).
        python: interpreter the launcher runs (default ``sys.executable``).

    Raises:
        InstallError: unknown names, a relative ``host_path``, malformed ids, or a launcher for
            another OS requested without ``host_path`` (this machine's Python cannot run there).
    """
    names = expand_browsers(browsers)
    try:
        firefox_ids, chromium_ids = resolve_extension_ids(list(extension_ids))
    except ValueError as exc:
        raise InstallError(str(exc)) from None
    if use_winreg is None:
        use_winreg = _default_use_winreg(target_os, root)
    path_cls = pure_path_class(target_os)
    files: list[PlannedFile] = []
    if host_path:
        host = path_cls(host_path)
        if not host.is_absolute():
            raise InstallError(f"--host-path must be absolute (browsers require it): {host_path}")
    elif getattr(sys, "frozen", False) and python is None and target_os == locations.current_os():
        # a bundled host (PyInstaller) is itself the executable: native_host.cli.main recognises a
        # browser's arguments (manifest path / chrome-extension:// origin) and runs the host
        host = path_cls(sys.executable)
    else:
        if target_os != locations.current_os() and python is None:
            raise InstallError(
                f"this machine's Python cannot run the host on {target_os}; pass --host-path with the host's path there"
            )
        host = locations.launcher_path(scope, target_os, env)
        files.append(PlannedFile(host, launcher_script(target_os, python=python), LAUNCHER_MODE, "launcher", tuple(names)))
    plan = Plan(target_os, scope, root, str(host), [], use_winreg=use_winreg, env=env)
    by_path: dict[PurePath, int] = {}
    for browser in names:
        loc = locations.host_location(browser, scope, target_os, env)
        plan.locations.append(loc)
        ids = firefox_ids if family(browser) == "firefox" else chromium_ids
        content = HostManifest(browser, str(host), tuple(ids)).render()
        for path in loc.manifest_paths:
            if path in by_path:  # Brave and Chromium share one system directory: one file serves both
                old = files[by_path[path]]
                files[by_path[path]] = PlannedFile(path, old.content, old.mode, old.kind, old.browsers + (browser,))
                continue
            by_path[path] = len(files)
            files.append(PlannedFile(path, content, MANIFEST_MODE, "manifest", (browser,)))
        if loc.registry_key:
            value = registry.RegistryValue(loc.registry_key, str(loc.manifest_path))
            if use_winreg:
                plan.registry_values.append(value)
            else:
                files.append(PlannedFile(loc.manifest_path.with_suffix(".reg"), registry.render_reg([value]),
                                         MANIFEST_MODE, "registry", (browser,)))
    plan.files = files
    return plan


RECORD_NAME = "install-record.json"
"""The file, beside the default launcher (``rootsentinel/`` in the scope's data folder), where ``install``
records the folders it created, so that ``uninstall`` removes them again once they are empty. Not written
under ``--root`` (a staging tree for a package: the package manager owns the folders there)."""


def record_path(scope: str, target_os: str, env: Environment, root: Path | None) -> Path:
    """Where the install record of ``scope`` lives (under ``root``)."""
    return under_root(root, locations.launcher_path(scope, target_os, env)).parent / RECORD_NAME


def _missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet, outermost first (what ``mkdir -p`` creates)."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _read_record(path: Path) -> list[str]:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return []
    dirs = doc.get("created_dirs") if isinstance(doc, dict) else None
    return [d for d in dirs if isinstance(d, str)] if isinstance(dirs, list) else []


def _write_record(path: Path, dirs: list[str]) -> None:
    body = {"comment": "folders 'rootsentinel install' created; 'rootsentinel uninstall' removes them once empty",
            "created_dirs": sorted(set(dirs))}
    _write_atomic(path, (json.dumps(body, indent=1) + "\n").encode(), MANIFEST_MODE)


def _write_atomic(dest: Path, content: bytes, mode: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dest, content, mode)


def _mode_matches(dest: Path, mode: int) -> bool:
    if os.name == "nt":
        return True
    return stat.S_IMODE(dest.stat().st_mode) == mode


def apply_plan(plan: Plan, *, dry_run: bool = False) -> list[Change]:
    """Write a plan's files (and registry values); with ``dry_run`` only report what would change.

    Returns:
        one :class:`Change` per file and registry value, in plan order.

    Raises:
        InstallError: another OS's locations without ``root`` (unless ``dry_run``).
        OSError: the filesystem refused (e.g. permission denied for system scope without root).
    """
    if plan.root is None and not dry_run and plan.target_os != locations.current_os():
        raise InstallError(f"writing {plan.target_os} locations on {locations.current_os()} needs --root DIR (or --dry-run)")
    changes: list[Change] = []
    created_dirs: list[Path] = []
    for item in plan.files:
        note = ", ".join(item.browsers)
        try:
            dest = under_root(plan.root, item.path)
        except InstallError:
            if not dry_run:
                raise
            # a dry run for another OS without --root: show the target path as that OS spells it
            changes.append(Change("would write", str(item.path), item.kind, item.content, note))
            continue
        if dest.is_file() and dest.read_bytes() == item.content and _mode_matches(dest, item.mode):
            changes.append(Change("unchanged", str(dest), item.kind, item.content, note))
            continue
        action = "updated" if dest.exists() else "written"
        if dry_run:
            verb = "would update" if action == "updated" else "would write"
            changes.append(Change(verb, str(dest), item.kind, item.content, note))
            continue
        created_dirs.extend(_missing_dirs(dest.parent))
        _write_atomic(dest, item.content, item.mode)
        changes.append(Change(action, str(dest), item.kind, item.content, note))
    for value in plan.registry_values:
        current = registry.read_default(value.key)
        if current == value.value:
            changes.append(Change("unchanged", value.key, "registry", value.value.encode()))
        elif dry_run:
            changes.append(Change("would write", value.key, "registry", value.value.encode()))
        else:
            registry.write_default(value.key, value.value)
            changes.append(Change("written" if current is None else "updated", value.key, "registry", value.value.encode()))
    if created_dirs and plan.env is not None and plan.root is None:  # under --root a package manager owns folders
        record = record_path(plan.scope, plan.target_os, plan.env, plan.root)
        created_dirs.extend(_missing_dirs(record.parent))
        _write_record(record, _read_record(record) + [str(d) for d in created_dirs])
    return changes


def install(browsers, scope, target_os, env, *, dry_run: bool = False, **kwargs) -> list[Change]:
    """:func:`plan_install` then :func:`apply_plan`; the keyword arguments are :func:`plan_install`'s."""
    return apply_plan(plan_install(browsers, scope, target_os, env, **kwargs), dry_run=dry_run)


def _manifest_host_path(dest: Path) -> str | None:
    try:
        doc = json.loads(dest.read_bytes())
    except (OSError, ValueError):
        return None
    return doc.get("path") if isinstance(doc, dict) and doc.get("name") == HOST_NAME else None


def _remove_created_dirs(record: Path) -> list[Change]:
    """Remove the folders the install record names once they are empty (deepest first); keep the record for
    the ones still in use, delete it when none is left."""
    dirs = _read_record(record)
    if not dirs:
        return []
    changes: list[Change] = []
    try:
        record.unlink()
    except FileNotFoundError:
        pass
    kept: list[str] = []
    for name in sorted(set(dirs), key=lambda d: len(Path(d).parts), reverse=True):
        folder = Path(name)
        if not folder.is_dir():
            continue
        try:
            folder.rmdir()
        except OSError:  # not empty: something else (another browser's manifest, the browser itself) uses it
            kept.append(name)
            continue
        changes.append(Change("removed", str(folder), "folder", None, "created by rootsentinel install"))
    if kept:
        _write_record(record, kept)
    return changes


def uninstall(
    browsers: list[str] | tuple[str, ...],
    scope: str,
    target_os: str,
    env: Environment,
    *,
    root: Path | None = None,
    dry_run: bool = False,
    use_winreg: bool | None = None,
) -> list[Change]:
    """Remove what :func:`install` wrote for ``browsers`` at ``scope``, and nothing else.

    Removes each browser's manifest(s) and ``.reg`` file (or, on Windows, its registry key when it
    still names our manifest), then the launcher when it is ours and no remaining RootSentinel
    manifest of this scope names it, then the folders install created (listed in its record,
    :data:`RECORD_NAME`) once they are empty, and our own empty ``rootsentinel`` folders. Brave and
    Chromium read the same system file, so removing it for one removes it for both (the change says so).
    Browser folders that existed before the install are left in place.

    Raises:
        InstallError: for unknown names.
        OSError: the filesystem refused.
    """
    names = expand_browsers(browsers)
    if root is None and not dry_run and target_os != locations.current_os():
        raise InstallError(f"removing {target_os} locations on {locations.current_os()} needs --root DIR (or --dry-run)")
    if use_winreg is None:
        use_winreg = _default_use_winreg(target_os, root)
    changes: list[Change] = []
    removed: set[Path] = set()

    def remove(dest: Path, kind: str, note: str = "") -> None:
        if dest in removed:
            return
        removed.add(dest)
        if not dest.exists():
            changes.append(Change("absent", str(dest), kind, None, note))
        elif dry_run:
            changes.append(Change("would remove", str(dest), kind, None, note))
        else:
            dest.unlink()
            changes.append(Change("removed", str(dest), kind, None, note))

    for browser in names:
        loc = locations.host_location(browser, scope, target_os, env)
        others = [b for b in loc.shared_with if b not in names]
        for path in loc.manifest_paths:
            dest = under_root(root, path)
            if dest.exists() and _manifest_host_path(dest) is None:
                changes.append(Change("kept", str(dest), "manifest", None, f"not a {HOST_NAME} manifest"))
                continue
            note = browser + (f"; {', '.join(others)} read the same file" if others else "")
            remove(dest, "manifest", note)
        if loc.registry_key:
            if use_winreg:
                current = registry.read_default(loc.registry_key)
                if current is None:
                    changes.append(Change("absent", loc.registry_key, "registry"))
                elif current != str(loc.manifest_path):
                    changes.append(Change("kept", loc.registry_key, "registry", None, f"names {current}, not ours"))
                elif dry_run:
                    changes.append(Change("would remove", loc.registry_key, "registry"))
                else:
                    registry.delete_key(loc.registry_key)
                    changes.append(Change("removed", loc.registry_key, "registry"))
            else:
                remove(under_root(root, loc.manifest_path.with_suffix(".reg")), "registry", browser)

    launcher = locations.launcher_path(scope, target_os, env)
    launcher_dest = under_root(root, launcher)
    still_used = []
    for browser in BROWSERS:
        for path in locations.host_location(browser, scope, target_os, env).manifest_paths:
            dest = under_root(root, path)
            if dest in removed:
                continue
            if dest.exists() and _manifest_host_path(dest) == str(launcher):
                still_used.append(browser)
    if launcher_dest.exists():
        if still_used:
            changes.append(Change("kept", str(launcher_dest), "launcher", None, f"still named by {', '.join(sorted(set(still_used)))}"))
        elif not is_our_launcher(launcher_dest.read_bytes()):
            changes.append(Change("kept", str(launcher_dest), "launcher", None, "not written by rootsentinel install"))
        else:
            remove(launcher_dest, "launcher")
    if not dry_run:
        changes.extend(_remove_created_dirs(record_path(scope, target_os, env, root)))
        for folder in {launcher_dest.parent, *(d.parent for d in removed if d.parent.name == "RootSentinel")}:
            if folder.name in ("rootsentinel", "RootSentinel") and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return changes
