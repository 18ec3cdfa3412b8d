"""Host-manifest locations on macOS.

Sources:
- Firefox: MDN "Native manifests" (``~/Library/Application Support/Mozilla/NativeMessagingHosts``,
  ``/Library/Application Support/Mozilla/NativeMessagingHosts``).
- Chromium family: Chrome "Native messaging" doc; chromium ``chrome/common/chrome_paths.cc``
  (``DIR_NATIVE_MESSAGING``: ``/Library/Google/Chrome/NativeMessagingHosts`` when Google-branded, else
  ``/Library/Application Support/Chromium/NativeMessagingHosts``; user: ``<user-data-dir>/NativeMessagingHosts``)
  and ``chrome_paths_mac.mm`` (user-data-dir under ``~/Library/Application Support``).
- Edge: Microsoft Edge "Native messaging" doc (``/Library/Microsoft/Edge/NativeMessagingHosts``;
  user data dir ``Microsoft Edge`` for the stable channel).
- Brave: user-data-dir ``~/Library/Application Support/BraveSoftware/Brave-Browser``; brave-core keeps
  Chromium's unbranded system directory (``chromium_src/chrome/common/chrome_paths.cc``).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from native_host import HOST_NAME
from native_host.install.model import Environment, HostLocation

_USER_DATA_DIRS = {
    "firefox": "Mozilla",
    "chrome": "Google/Chrome",
    "chromium": "Chromium",
    "edge": "Microsoft Edge",
    "brave": "BraveSoftware/Brave-Browser",
}
_SYSTEM_DIRS = {
    "firefox": "/Library/Application Support/Mozilla/NativeMessagingHosts",
    "chrome": "/Library/Google/Chrome/NativeMessagingHosts",
    "chromium": "/Library/Application Support/Chromium/NativeMessagingHosts",
    "edge": "/Library/Microsoft/Edge/NativeMessagingHosts",
    "brave": "/Library/Application Support/Chromium/NativeMessagingHosts",
}


def host_location(browser: str, scope: str, env: Environment) -> HostLocation:
    """Return where ``browser`` reads the ``io.rootsentinel.host`` manifest at ``scope`` on macOS."""
    name = f"{HOST_NAME}.json"
    shared: tuple[str, ...] = ()
    if scope == "user":
        base = PurePosixPath(env.home) / "Library/Application Support" / _USER_DATA_DIRS[browser]
        paths = (base / "NativeMessagingHosts" / name,)
    else:
        paths = (PurePosixPath(_SYSTEM_DIRS[browser]) / name,)
        shared = tuple(b for b, d in _SYSTEM_DIRS.items() if b != browser and d == _SYSTEM_DIRS[browser])
    return HostLocation(browser, "macos", scope, paths, None, paths, shared)


def managed_policy_dirs(browser: str) -> tuple:
    """No JSON policy directories: policies come from configuration profiles (plist), not read here."""
    return ()


def launcher_path(scope: str, env: Environment) -> PurePosixPath:
    """Where the default launcher script goes (``Application Support/RootSentinel``)."""
    if scope == "user":
        return PurePosixPath(env.home) / "Library/Application Support/RootSentinel/rootsentinel-host"
    return PurePosixPath("/Library/Application Support/RootSentinel/rootsentinel-host")
