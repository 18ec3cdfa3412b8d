"""Per-OS host-manifest locations, chosen in this one place (the truststore ``_api.py`` pattern).

Each sibling module (``_linux``, ``_macos``, ``_windows``) has the same three functions:
``host_location(browser, scope, env) -> HostLocation``, ``launcher_path(scope, env) -> PurePath`` and
``managed_policy_dirs(browser) -> tuple[PurePath, ...]`` (JSON policy directories, Linux only).
Nothing else in the package asks which OS it is running on: :func:`current_os` is the only probe.
"""

from __future__ import annotations

import sys
from pathlib import PurePath
from types import ModuleType

from native_host.install.locations import _linux, _macos, _windows
from native_host.install.model import BROWSERS, OSES, SCOPES, Environment, HostLocation, InstallError

_MODULES: dict[str, ModuleType] = {"linux": _linux, "macos": _macos, "windows": _windows}


def current_os() -> str:
    """``"windows"``, ``"macos"`` or ``"linux"`` (any other POSIX system is treated as Linux)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def _module(target_os: str) -> ModuleType:
    try:
        return _MODULES[target_os]
    except KeyError:
        raise InstallError(f"unknown OS {target_os!r}; expected one of {', '.join(OSES)}") from None


def host_location(browser: str, scope: str, target_os: str, env: Environment) -> HostLocation:
    """Where ``browser`` reads the host manifest at ``scope`` on ``target_os``.

    Raises:
        InstallError: for an unknown browser, scope or OS.
    """
    if browser not in BROWSERS:
        raise InstallError(f"unknown browser {browser!r}; expected one of {', '.join(BROWSERS)}")
    if scope not in SCOPES:
        raise InstallError(f"unknown scope {scope!r}; expected user or system")
    return _module(target_os).host_location(browser, scope, env)


def launcher_path(scope: str, target_os: str, env: Environment) -> PurePath:
    """Where the default launcher (a script that runs ``python -m native_host host``) is written."""
    if scope not in SCOPES:
        raise InstallError(f"unknown scope {scope!r}; expected user or system")
    return _module(target_os).launcher_path(scope, env)


def lookup_order(browser: str, target_os: str, env: Environment) -> list[HostLocation]:
    """The locations a browser consults, first match wins: user scope, then system scope.

    Sources: Chrome "Native messaging" doc (user-level hosts take precedence unless
    ``NativeMessagingUserLevelHosts`` is false); NativeManifests.sys.mjs (user, then system).
    """
    return [host_location(browser, scope, target_os, env) for scope in SCOPES]


def managed_policy_dirs(browser: str, target_os: str) -> tuple[PurePath, ...]:
    """Directories whose ``*.json`` files hold the browser's mandatory policies (empty where policies are not files)."""
    return tuple(_module(target_os).managed_policy_dirs(browser))
