"""Domain objects of host-manifest installation: browsers, scopes, target systems, locations.

A *host manifest* is the JSON file that tells a browser how to start the native messaging host
``io.rootsentinel.host``; a *location* is where one browser looks for it on one OS at one scope
(``user``: only this account; ``system``: every account, needs administrator rights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Literal

Browser = Literal["firefox", "chrome", "chromium", "edge", "brave"]
Scope = Literal["user", "system"]
TargetOS = Literal["linux", "macos", "windows"]

BROWSERS: tuple[str, ...] = ("firefox", "chrome", "chromium", "edge", "brave")
"""Every browser the installer knows, Firefox first."""

CHROMIUM_FAMILY: frozenset[str] = frozenset({"chrome", "chromium", "edge", "brave"})
"""Browsers whose manifests use ``allowed_origins`` (chrome-extension:// origins)."""

SCOPES: tuple[str, ...] = ("user", "system")
OSES: tuple[str, ...] = ("linux", "macos", "windows")

BROWSER_NAMES: dict[str, str] = {
    "firefox": "Firefox",
    "chrome": "Google Chrome",
    "chromium": "Chromium",
    "edge": "Microsoft Edge",
    "brave": "Brave",
}


class InstallError(Exception):
    """A request the installer cannot carry out; the message is one line for the CLI (exit 3)."""


def family(browser: str) -> Literal["firefox", "chromium"]:
    """``"firefox"`` or ``"chromium"``: which manifest dialect a browser reads.

    Raises:
        InstallError: for an unknown browser name.
    """
    if browser == "firefox":
        return "firefox"
    if browser in CHROMIUM_FAMILY:
        return "chromium"
    raise InstallError(f"unknown browser {browser!r}; expected one of {', '.join(BROWSERS)}")


def pure_path_class(target_os: str) -> type[PurePath]:
    """``PureWindowsPath`` for ``windows``, else ``PurePosixPath``."""
    return PureWindowsPath if target_os == "windows" else PurePosixPath


@dataclass(frozen=True)
class Environment:
    """The facts about the target machine that decide paths; explicit so tests can fix them.

    Attributes:
        home: the user's home directory (user scope on Linux and macOS).
        xdg_config_home: ``$XDG_CONFIG_HOME`` if set and absolute (Linux Chromium user-data-dirs).
        xdg_data_home: ``$XDG_DATA_HOME`` if set and absolute (Linux user launcher).
        local_app_data: ``%LOCALAPPDATA%`` (Windows user scope folder).
        program_files: ``%ProgramFiles%`` (Windows system scope folder).
        usr_lib64: whether ``/usr/lib64`` is a directory: Firefox builds with ``HAVE_USR_LIB64_DIR``
            (Fedora, openSUSE) read system manifests from ``/usr/lib64/mozilla`` instead of
            ``/usr/lib/mozilla`` (MDN Native_manifests, Linux).
    """

    home: PurePath
    xdg_config_home: PurePath | None = None
    xdg_data_home: PurePath | None = None
    local_app_data: PureWindowsPath = field(default=PureWindowsPath(r"C:\Users\user\AppData\Local"))
    program_files: PureWindowsPath = field(default=PureWindowsPath(r"C:\Program Files"))
    usr_lib64: bool = False


@dataclass(frozen=True)
class HostLocation:
    """Where one browser looks for the host manifest on one OS and scope.

    Attributes:
        browser, os, scope: what this location is for.
        manifest_paths: absolute paths the manifest JSON is written to (the first is the one the
            registry key names on Windows; Linux system Firefox may add the ``lib64`` twin).
        registry_key: Windows only: the full key whose default value is the manifest path, e.g.
            ``HKEY_CURRENT_USER\\Software\\Mozilla\\NativeMessagingHosts\\io.rootsentinel.host``.
        lookup_paths: paths the browser reads, in its order (doctor looks here; on Windows the
            manifest path comes from the registry instead).
        shared_with: other browsers that read the very same file at this location (Brave and
            Chromium share the system directory), so uninstall can say so.
    """

    browser: str
    os: str
    scope: str
    manifest_paths: tuple[PurePath, ...]
    registry_key: str | None = None
    lookup_paths: tuple[PurePath, ...] = ()
    shared_with: tuple[str, ...] = ()

    @property
    def manifest_path(self) -> PurePath:
        """The primary manifest path."""
        return self.manifest_paths[0]


def under_root(root: Path | None, target: PurePath) -> Path:
    """Map an absolute target path into ``root`` (like ``DESTDIR``), or return it as a real path.

    ``/etc/x`` under ``/tmp/r`` is ``/tmp/r/etc/x``; ``C:\\Program Files\\x`` under ``/tmp/r`` is
    ``/tmp/r/C/Program Files/x``.

    Raises:
        InstallError: if ``target`` is not absolute, or is a Windows path with no ``root`` while
            this machine is not Windows (and the reverse).
    """
    if not target.is_absolute():
        raise InstallError(f"not an absolute path: {target}")
    if root is None:
        real = Path(str(target))
        if isinstance(target, PureWindowsPath) and not isinstance(PurePath(), PureWindowsPath):
            raise InstallError(f"cannot write the Windows path {target} here; use --root DIR or --dry-run")
        if isinstance(target, PurePosixPath) and isinstance(PurePath(), PureWindowsPath):
            raise InstallError(f"cannot write the POSIX path {target} here; use --root DIR or --dry-run")
        return real
    parts = []
    for part in list(target.parts)[1:]:  # ".." resolved against the anchor, as the OS would: "/../x" is "/x"
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    if isinstance(target, PureWindowsPath):
        drive = target.parts[0].rstrip("\\/").rstrip(":") or "drive"
        parts.insert(0, drive.replace("\\", "_").replace("/", "_"))
    dest = Path(root).joinpath(*parts)
    real_root = Path(root).resolve()
    resolved = dest.resolve()  # symlinks already under the root are followed too
    if resolved != real_root and real_root not in resolved.parents:
        raise InstallError(f"{target} under --root {root} leads to {resolved}, outside the root; refusing")
    return dest
