"""Host-manifest locations on Linux.

Sources:
- Firefox: MDN "Native manifests" (https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/Native_manifests),
  lookup in ``toolkit/components/extensions/NativeManifests.sys.mjs``; user manifests stay in
  ``~/.mozilla/native-messaging-hosts`` even after the Firefox 147 XDG profile move (Bugzilla 2005167);
  system: ``/usr/lib/mozilla/native-messaging-hosts``, or ``/usr/lib64/...`` on builds with
  ``HAVE_USR_LIB64_DIR`` (``nsXREDirProvider.cpp``).
- Chromium family: Chrome "Native messaging" doc (https://developer.chrome.com/docs/extensions/develop/concepts/native-messaging),
  chromium ``chrome/common/chrome_paths.cc`` (``DIR_NATIVE_MESSAGING``: ``/etc/opt/chrome/...`` when
  Google-branded, else ``/etc/chromium/...``; ``DIR_USER_NATIVE_MESSAGING`` = ``<user-data-dir>/NativeMessagingHosts``)
  and ``chrome_paths_linux.cc`` (user-data-dir under ``$XDG_CONFIG_HOME``, default ``~/.config``).
- Edge: Microsoft Edge "Native messaging" doc (``/etc/opt/edge/native-messaging-hosts``, ``~/.config/microsoft-edge``).
- Brave: user-data-dir ``~/.config/BraveSoftware/Brave-Browser``; brave-core does not override
  ``DIR_NATIVE_MESSAGING`` (``chromium_src/chrome/common/chrome_paths.cc``) and builds unbranded, so the
  system directory is Chromium's ``/etc/chromium/native-messaging-hosts``.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from native_host import HOST_NAME
from native_host.install.model import Environment, HostLocation

_USER_DATA_DIRS = {
    "chrome": "google-chrome",
    "chromium": "chromium",
    "edge": "microsoft-edge",
    "brave": "BraveSoftware/Brave-Browser",
}
_SYSTEM_DIRS = {
    "chrome": "/etc/opt/chrome/native-messaging-hosts",
    "chromium": "/etc/chromium/native-messaging-hosts",
    "edge": "/etc/opt/edge/native-messaging-hosts",
    "brave": "/etc/chromium/native-messaging-hosts",
}
_FIREFOX_SYSTEM = PurePosixPath("/usr/lib/mozilla/native-messaging-hosts")
_FIREFOX_SYSTEM_LIB64 = PurePosixPath("/usr/lib64/mozilla/native-messaging-hosts")


def _config_home(env: Environment) -> PurePosixPath:
    if env.xdg_config_home is not None:
        return PurePosixPath(env.xdg_config_home)
    return PurePosixPath(env.home) / ".config"


def host_location(browser: str, scope: str, env: Environment) -> HostLocation:
    """Return where ``browser`` reads the ``io.rootsentinel.host`` manifest at ``scope`` on Linux."""
    name = f"{HOST_NAME}.json"
    shared: tuple[str, ...] = ()
    if browser == "firefox":
        if scope == "user":
            paths = (PurePosixPath(env.home) / ".mozilla/native-messaging-hosts" / name,)
            lookup = paths
        else:
            lookup = (_FIREFOX_SYSTEM / name, _FIREFOX_SYSTEM_LIB64 / name)
            paths = lookup if env.usr_lib64 else lookup[:1]
    elif scope == "user":
        paths = (_config_home(env) / _USER_DATA_DIRS[browser] / "NativeMessagingHosts" / name,)
        lookup = paths
    else:
        paths = (PurePosixPath(_SYSTEM_DIRS[browser]) / name,)
        lookup = paths
        shared = tuple(b for b, d in _SYSTEM_DIRS.items() if b != browser and d == _SYSTEM_DIRS[browser])
    return HostLocation(browser, "linux", scope, paths, None, lookup, shared)


_POLICY_DIRS = {
    "chrome": "/etc/opt/chrome/policies/managed",
    "chromium": "/etc/chromium/policies/managed",
    "edge": "/etc/opt/edge/policies/managed",
    "brave": "/etc/brave/policies/managed",
}


def managed_policy_dirs(browser: str) -> tuple[PurePosixPath, ...]:
    """Directories of mandatory JSON policy files (chromium ``DIR_POLICY_FILES`` + ``/managed``;
    Edge and Brave Linux admin docs). Firefox has no native-messaging policy."""
    return (PurePosixPath(_POLICY_DIRS[browser]),) if browser in _POLICY_DIRS else ()


def launcher_path(scope: str, env: Environment) -> PurePosixPath:
    """Where the default launcher script goes: ``$XDG_DATA_HOME/rootsentinel`` or ``/usr/local/lib/rootsentinel``."""
    if scope == "user":
        data = PurePosixPath(env.xdg_data_home) if env.xdg_data_home else PurePosixPath(env.home) / ".local/share"
        return data / "rootsentinel" / "rootsentinel-host"
    return PurePosixPath("/usr/local/lib/rootsentinel/rootsentinel-host")
