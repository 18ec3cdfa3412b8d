"""``rootsentinel doctor``'s manifest checks: find the host manifest the browser reads, read the
native-messaging policies, check the extension ids and the host's path (field reports, section A)."""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath

from native_host import HOST_NAME
from native_host.install import locations, registry
from native_host.install.doctor.checks import Check
from native_host.install.extension_ids import chromium_origin, is_chromium_extension_id
from native_host.install.launcher import is_our_launcher
from native_host.install.model import (
    Environment,
    HostLocation,
    InstallError,
    family,
    pure_path_class,
    under_root,
)

_WINDOWS_RUNNABLE = (".exe", ".bat", ".cmd", ".com")

def _install_fix(browser: str, scope: str | None, ids: tuple[str, ...] = ()) -> str:
    from native_host.install.doctor.fleet import install_fix

    return install_fix(browser, scope, ids)


@dataclass
class _Found:
    loc: HostLocation
    path: PurePath  # as the browser sees it
    dest: Path  # where to read it here (under root)


def _find_manifest(browser: str, target_os: str, env: Environment, scopes, root: Path | None,
                   use_winreg: bool, checks: list[Check], fix_ids: tuple[str, ...] = ()) -> _Found | None:
    looked: list[str] = []
    for loc in locations.lookup_order(browser, target_os, env):
        if loc.scope not in scopes:
            continue
        if loc.registry_key:
            if use_winreg:
                value = registry.read_default(loc.registry_key)
                where = loc.registry_key
            else:
                reg_dest = under_root(root, loc.manifest_path.with_suffix(".reg"))
                where = str(reg_dest)
                value = None
                if reg_dest.is_file():
                    try:
                        entries = registry.parse_reg(reg_dest.read_bytes())
                    except (ValueError, UnicodeDecodeError) as exc:
                        checks.append(Check(False, browser, f"{reg_dest} is not a valid .reg file: {exc}",
                                            _install_fix(browser, loc.scope, fix_ids)))
                        return None
                    match = [e for e in entries if e.key.lower() == loc.registry_key.lower()]
                    if not match:
                        keys = ", ".join(e.key for e in entries) or "none"
                        checks.append(Check(False, browser, f"{reg_dest} sets {keys}, not {loc.registry_key}",
                                            _install_fix(browser, loc.scope, fix_ids)))
                        return None
                    value = match[0].value
            looked.append(where)
            if value is None:
                continue
            checks.append(Check(True, browser, f"registry key {loc.registry_key} names {value}"))
            path = PureWindowsPath(value)
            if not path.is_absolute():
                checks.append(Check(False, browser, f"the registry value {value!r} is not an absolute path",
                                    _install_fix(browser, loc.scope, fix_ids)))
                return None
            dest = Path(value) if use_winreg else under_root(root, path)
            if not dest.is_file():
                checks.append(Check(False, browser, f"the registry key names {value}, which does not exist",
                                    _install_fix(browser, loc.scope, fix_ids)))
                return None
            return _Found(loc, path, dest)
        for path in loc.lookup_paths:
            dest = under_root(root, path)
            looked.append(str(dest))
            if dest.is_file():
                return _Found(loc, path, dest)
    checks.append(Check(False, browser, f"no host manifest for {HOST_NAME} (looked in: {'; '.join(looked)})",
                        _install_fix(browser, scopes[0] if len(scopes) == 1 else "user", fix_ids)))
    return None


def read_native_messaging_policy(browser: str, target_os: str, root: Path | None) -> dict:
    """Merge the native-messaging policies from the browser's JSON policy files (Linux).

    Returns:
        ``{"NativeMessagingUserLevelHosts": bool, "NativeMessagingAllowlist": [...],
        "NativeMessagingBlocklist": [...], "_files": [paths read]}`` with only the keys found.
        Unreadable or invalid files are skipped (the browser skips them too).

    Source: https://chromeenterprise.google/policies/ (NativeMessagingUserLevelHosts,
    NativeMessagingAllowlist, NativeMessagingBlocklist; the legacy ...Whitelist/...Blacklist names).
    """
    merged: dict = {"_files": []}
    legacy = {"NativeMessagingWhitelist": "NativeMessagingAllowlist", "NativeMessagingBlacklist": "NativeMessagingBlocklist"}
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
            if not isinstance(doc, dict):
                continue
            merged["_files"].append(str(path))
            for key, value in doc.items():
                key = legacy.get(key, key)
                if key == "NativeMessagingUserLevelHosts" and isinstance(value, bool):
                    merged[key] = value
                elif key in ("NativeMessagingAllowlist", "NativeMessagingBlocklist") and isinstance(value, list):
                    merged.setdefault(key, []).extend(v for v in value if isinstance(v, str))
    return merged


def _check_ids(browser: str, doc: dict, required_firefox, required_chromium, fix: str, checks: list[Check]) -> str | None:
    """Check allowed_extensions / allowed_origins; return the id to launch with, or None on failure."""
    if family(browser) == "firefox":
        allowed = doc.get("allowed_extensions")
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            checks.append(Check(False, browser, "allowed_extensions is missing or not a list of strings", fix))
            return None
        missing = [i for i in required_firefox if i not in allowed]
        if missing:
            checks.append(Check(False, browser, f"allowed_extensions {allowed} lacks {', '.join(missing)}", fix))
            return None
        checks.append(Check(True, browser, f"allowed_extensions lists {', '.join(required_firefox)}"))
        return required_firefox[0]
    allowed = doc.get("allowed_origins")
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        checks.append(Check(False, browser, "allowed_origins is missing or not a list of strings", fix))
        return None
    bad = False
    for origin in allowed:
        m = re.fullmatch(r"chrome-extension://([^/]*)(/?)(.*)", origin)
        if "*" in origin:
            checks.append(Check(False, browser, f"allowed_origins entry {origin!r} has a wildcard; Chrome allows none", fix))
            bad = True
        elif not m or not is_chromium_extension_id(m.group(1)) or m.group(3):
            checks.append(Check(False, browser, f"allowed_origins entry {origin!r} is not chrome-extension://<32 letters a-p>/", fix))
            bad = True
        elif not m.group(2):
            checks.append(Check(False, browser, f"allowed_origins entry {origin!r} lacks the trailing '/' "
                                                "(Chrome: 'Failed to parse pattern')", fix))
            bad = True
    if bad:
        return None
    missing = [chromium_origin(i) for i in required_chromium if chromium_origin(i) not in allowed]
    if missing:
        checks.append(Check(False, browser, f"allowed_origins lacks {', '.join(missing)}", fix))
        return None
    checks.append(Check(True, browser, f"allowed_origins lists {', '.join(chromium_origin(i) for i in required_chromium)}"))
    return required_chromium[0]


def _launcher_interpreter(data: bytes) -> str | None:
    """The program our POSIX launcher execs (first word after ``exec``), if it is one of ours."""
    if not is_our_launcher(data):
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("exec "):
            try:
                return shlex.split(line)[1]
            except (ValueError, IndexError):
                return None
    return None


def _check_host_path(browser: str, target_os: str, found: _Found, doc: dict, root: Path | None,
                     fix: str, checks: list[Check]) -> Path | None:
    raw = doc.get("path")
    if not isinstance(raw, str) or not raw:
        checks.append(Check(False, browser, "the manifest has no 'path'", fix))
        return None
    path_cls = pure_path_class(target_os)
    path = path_cls(raw)
    if not path.is_absolute():
        if target_os == "windows" and family(browser) == "firefox":
            path = found.path.parent / path  # Firefox on Windows resolves it against the manifest
        else:
            checks.append(Check(False, browser, f"path {raw!r} is not absolute (required on {target_os})", fix))
            return None
    dest = under_root(root, path)
    if not dest.exists():
        checks.append(Check(False, browser, f"path {path} does not exist", fix))
        return None
    if not dest.is_file():
        checks.append(Check(False, browser, f"path {path} is not a file", fix))
        return None
    if target_os == "windows":
        if dest.suffix.lower() not in _WINDOWS_RUNNABLE:
            checks.append(Check(False, browser, f"path {path} is not an .exe or .bat", fix))
            return None
    elif not os.access(dest, os.X_OK):
        checks.append(Check(False, browser, f"path {path} is not executable", f"chmod +x '{path}' or {fix}"))
        return None
    else:
        interpreter = _launcher_interpreter(dest.read_bytes()[:4096])
        if interpreter and not (os.path.isfile(interpreter) and os.access(interpreter, os.X_OK)):
            checks.append(Check(False, browser, f"the launcher {path} runs {interpreter}, which is gone or not executable",
                                f"re-run {fix} with the Python that has rootsentinel installed"))
            return None
    if found.loc.scope == "system" and target_os != "windows" and os.name != "nt" and dest.stat().st_mode & 0o111 != 0o111:
        checks.append(Check(False, browser, f"path {path} is not executable by every user "
                                            f"(mode {dest.stat().st_mode & 0o777:o})", f"chmod 755 '{path}'"))
        return None
    checks.append(Check(True, browser, f"path {path} exists and is executable"))
    return dest


def _has_manifest(browser: str, target_os: str, env: Environment, root: Path | None) -> bool:
    try:
        return any(under_root(root, p).is_file() for loc in locations.lookup_order(browser, target_os, env)
                   for p in loc.lookup_paths)
    except InstallError:
        return False


def _profile_exists(browser: str, target_os: str, env: Environment, root: Path | None) -> bool:
    """Whether the browser's per-user folder (the parent of its user manifest folder) exists."""
    user = locations.host_location(browser, "user", target_os, env)
    try:
        return under_root(root, user.manifest_path.parent.parent).is_dir()
    except InstallError:
        return False

