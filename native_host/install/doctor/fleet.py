"""``rootsentinel doctor``'s checks of what the browser will actually do (issue 23 item 6): the extension id a
Chromium policy force-installs against the host manifest's ``allowed_origins``, the system config against the
one settings schema, and whether the extension is installed in the browser profiles this user can see.

Finding classes (``Check.kind``) and the exit code each gives (docs/install.md "doctor"; the first failing class
in this order decides): ``host`` 3 (a browser cannot reach the host: manifest, ids, path, hello, policy),
``config`` 4 (config.json is unusable: the host ignores it), ``audit`` 5 (an audit destination is refused or
events were dropped), ``extension`` 6 (the extension is in none of the profiles found).

Sources: Chrome Enterprise policy list (``ExtensionInstallForcelist``: ``"<id>;<update url>"`` or a bare id);
Chromium's profile layout (``<user data dir>/Default``, ``Profile N``; ``Extensions/<id>/`` holds a packed
extension, ``Local Extension Settings/<id>/`` the storage of one that ran, ``Preferences``
``extensions.settings.<id>`` names every installed one); Firefox's profile layout
(``~/.mozilla/firefox/<profile>/extensions.json`` lists add-ons by ``id``; ``extensions/<id>.xpi``).
"""

from __future__ import annotations

import json
from pathlib import Path

from native_host.install import locations
from native_host.install.doctor.checks import Check
from native_host.install.extension_ids import (
    CHROMIUM_STORE_ID_PLACEHOLDER,
    CHROMIUM_UNPACKED_ID,
    is_chromium_extension_id,
)
from native_host.install.model import Environment, InstallError, family, under_root

EXIT_CODES = {"host": 3, "config": 4, "audit": 5, "extension": 6}
"""The exit code of each finding class; the first failing class in this order decides."""


def config_path_for(target_os: str, root: Path | None) -> Path | None:
    """Where the host on ``target_os`` reads its config, under ``root`` when given (None: the running host's)."""
    if root is None:
        return None
    from native_host.enterprise.config import default_config_path

    platform = {"linux": "linux", "macos": "darwin", "windows": "win32"}.get(target_os, target_os)
    try:
        return under_root(root, default_config_path(platform))
    except InstallError:
        return None


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed, else the :data:`EXIT_CODES` value of the first failing class in its order."""
    failed = {c.kind for c in checks if c.ok is False}
    for kind, code in EXIT_CODES.items():
        if kind in failed:
            return code
    return 0


def forced_chromium_ids(browser: str, target_os: str, root: Path | None) -> list[str]:
    """The extension ids the browser's JSON policy files force-install (``ExtensionInstallForcelist``), Linux."""
    ids: list[str] = []
    for directory in locations.managed_policy_dirs(browser, target_os):
        try:
            folder = under_root(root, directory)
        except InstallError:
            continue
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            entries = doc.get("ExtensionInstallForcelist") if isinstance(doc, dict) else None
            for entry in entries if isinstance(entries, list) else ():
                ext_id = entry.split(";", 1)[0].strip() if isinstance(entry, str) else ""
                if is_chromium_extension_id(ext_id) and ext_id not in ids:
                    ids.append(ext_id)
    return ids


def install_fix(browser: str, scope: str | None, chromium_ids: list[str] | tuple[str, ...] = ()) -> str:
    """The install command that fixes a manifest, naming every real Chromium id (never the placeholder; the
    unpacked build's id is in every install already)."""
    fix = f"rootsentinel install --browser {browser}" + (f" --scope {scope}" if scope == "system" else "")
    for ext_id in chromium_ids:
        if ext_id not in (CHROMIUM_STORE_ID_PLACEHOLDER, CHROMIUM_UNPACKED_ID):
            fix += f" --extension-id {ext_id}"
    return fix


def config_check(path: Path | None = None) -> Check:
    """``config``: the system config at ``path`` (default: where the host reads it) against the one settings
    schema (``settings.schema.json``), loaded exactly as the host loads it."""
    import contextlib
    import io

    from native_host.enterprise.config import load_system_config

    with contextlib.redirect_stderr(io.StringIO()):  # the host's stderr line; doctor says it in its own line
        config = load_system_config(path)
    if config.error:
        return Check(False, "config", f"{config.error}; the host ignores it and runs with the defaults",
                     f"correct {config.path} (native_host/schemas/settings.schema.json, docs/enterprise.md section 1)",
                     kind="config")
    if not config.path.exists():
        return Check(None, "config", f"no system config at {config.path}: defaults", kind="config")
    return Check(True, "config", f"{config.path} is valid against settings.schema.json", kind="config")


def _chromium_profiles(browser: str, target_os: str, env: Environment, root: Path | None) -> list[Path]:
    user = locations.host_location(browser, "user", target_os, env)
    try:
        data = under_root(root, user.manifest_path.parent.parent)
    except InstallError:
        return []
    if not data.is_dir():
        return []
    return sorted(p for p in data.iterdir() if p.is_dir() and (p.name == "Default" or p.name.startswith("Profile ")))


def _chromium_has(profile: Path, ids: tuple[str, ...]) -> bool:
    # Extensions/<id>: a packed one; "Local Extension Settings/<id>": its storage, there from its first run
    # (Preferences is written about 10 s after a change, so a browser just started may not list it yet)
    folders = ("Extensions", "Local Extension Settings", "Managed Extension Settings")
    if any((profile / f / i).is_dir() for f in folders for i in ids):
        return True
    for name in ("Secure Preferences", "Preferences"):
        try:
            prefs = json.loads((profile / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        settings = (prefs.get("extensions") or {}).get("settings") if isinstance(prefs, dict) else None
        if isinstance(settings, dict) and any(i in settings for i in ids):
            return True
    return False


def _firefox_profiles(target_os: str, env: Environment, root: Path | None) -> list[Path]:
    if target_os != "linux":
        return []
    try:
        base = under_root(root, Path(env.home) / ".mozilla" / "firefox")
    except InstallError:
        return []
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and ((p / "prefs.js").exists() or (p / "times.json").exists()))


def _firefox_has(profile: Path, ext_id: str) -> bool:
    if (profile / "extensions" / f"{ext_id}.xpi").exists():
        return True
    try:
        doc = json.loads((profile / "extensions.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    addons = doc.get("addons") if isinstance(doc, dict) else None
    return any(isinstance(a, dict) and a.get("id") == ext_id for a in addons or ())


def extension_check(browser: str, target_os: str, env: Environment, root: Path | None,
                    firefox_id: str, chromium_ids: tuple[str, ...]) -> Check | None:
    """Whether the extension is installed in the profiles of ``browser`` found for this user; None when no
    profile was found (nothing to say)."""
    if family(browser) == "firefox":
        profiles = _firefox_profiles(target_os, env, root)
        has = [p for p in profiles if _firefox_has(p, firefox_id)]
        ids = firefox_id
    else:
        profiles = _chromium_profiles(browser, target_os, env, root)
        has = [p for p in profiles if _chromium_has(p, chromium_ids)]
        ids = ", ".join(chromium_ids)
    if not profiles:
        return None
    names = ", ".join(p.name for p in has)
    if has:
        return Check(True, browser, f"the extension ({ids}) is installed in {len(has)} of {len(profiles)} profile(s): {names}",
                     kind="extension")
    return Check(False, browser, f"the extension ({ids}) is in none of the {len(profiles)} profile(s) found "
                                 f"({', '.join(p.name for p in profiles)})",
                 "install it (docs/install.md), or force-install it with rootsentinel policy; a browser that "
                 "was not started since the policy arrived installs it at its next start", kind="extension")
