"""Host-manifest locations on Windows: a JSON file in a folder plus a registry key naming it.

The browser reads the default value of ``<hive>\\<browser key>\\NativeMessagingHosts\\<name>`` and
loads the manifest from that path. ``user`` scope writes ``HKEY_CURRENT_USER`` and
``%LOCALAPPDATA%\\RootSentinel``; ``system`` scope writes ``HKEY_LOCAL_MACHINE`` and
``%ProgramFiles%\\RootSentinel`` (HKCU is ignored when the policy ``NativeMessagingUserLevelHosts``
is false: keepassxreboot/keepassxc#5253).

Sources:
- Firefox: MDN "Native manifests" (``HKEY_CURRENT_USER\\SOFTWARE\\Mozilla\\NativeMessagingHosts\\<name>``,
  HKLM likewise; NativeManifests.sys.mjs checks HKCU, then HKLM 32-bit, then 64-bit view).
- Chrome/Chromium: Chrome "Native messaging" doc; chromium
  ``chrome/browser/extensions/api/messaging/native_process_launcher_win.cc`` (key
  ``install_static::GetRegistryPath() + \\NativeMessagingHosts``: ``Software\\Google\\Chrome`` or
  ``Software\\Chromium``).
- Edge: Microsoft Edge "Native messaging" doc (``Software\\Microsoft\\Edge\\NativeMessagingHosts``).
- Brave: ``Software\\BraveSoftware\\Brave-Browser\\NativeMessagingHosts`` (Brave's install_static
  registry path).
"""

from __future__ import annotations

from pathlib import PureWindowsPath

from native_host import HOST_NAME
from native_host.install.model import Environment, HostLocation

_KEYS = {
    "firefox": r"Software\Mozilla\NativeMessagingHosts",
    "chrome": r"Software\Google\Chrome\NativeMessagingHosts",
    "chromium": r"Software\Chromium\NativeMessagingHosts",
    "edge": r"Software\Microsoft\Edge\NativeMessagingHosts",
    "brave": r"Software\BraveSoftware\Brave-Browser\NativeMessagingHosts",
}
_HIVES = {"user": "HKEY_CURRENT_USER", "system": "HKEY_LOCAL_MACHINE"}


def folder(scope: str, env: Environment) -> PureWindowsPath:
    """``%LOCALAPPDATA%\\RootSentinel`` (user) or ``%ProgramFiles%\\RootSentinel`` (system)."""
    base = env.local_app_data if scope == "user" else env.program_files
    return PureWindowsPath(base) / "RootSentinel"


def registry_key(browser: str, scope: str) -> str:
    """The full registry key, e.g. ``HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\io.rootsentinel.host``."""
    return f"{_HIVES[scope]}\\{_KEYS[browser]}\\{HOST_NAME}"


def host_location(browser: str, scope: str, env: Environment) -> HostLocation:
    """Return the manifest file and registry key for ``browser`` at ``scope`` on Windows.

    One manifest per browser (``io.rootsentinel.host-<browser>.json``) so each browser's key can
    be removed alone and Firefox never reads a Chromium manifest.
    """
    path = folder(scope, env) / f"{HOST_NAME}-{browser}.json"
    return HostLocation(browser, "windows", scope, (path,), registry_key(browser, scope), (path,), ())


def managed_policy_dirs(browser: str) -> tuple:
    """No JSON policy directories: policies come from registry policies, not read here."""
    return ()


def launcher_path(scope: str, env: Environment) -> PureWindowsPath:
    """Where the default launcher batch file goes: next to the manifests."""
    return folder(scope, env) / "rootsentinel-host.bat"
