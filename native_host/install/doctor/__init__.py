"""``rootsentinel doctor``: why a browser cannot reach the host, one check per line, with the fix.

For each browser it finds the manifest the browser would read (user scope first, then system; on
Windows through the registry key, or the ``.reg`` file written off Windows), then checks what the
field reports say breaks hosts (docs/reference/field-reports.md section A): the manifest is missing,
not JSON, names another host, lacks our extension id (or lists an origin without its trailing ``/``
or with a wildcard), names a relative, missing or non-executable ``path``; and finally starts the
host as the browser would and speaks the protocol: a frame is a 4-byte native-order length plus
UTF-8 JSON; it sends ``{"type": "hello", "id": "doctor"}`` and wants ``{"type": "hello", "id": "doctor", ...}``
back within a timeout. Stray text on stdout (field report A1) shows up as an absurd length and is
named as such.

Sources: MDN Native_messaging / Native_manifests; Chrome "Native messaging" (the error strings
"Specified native messaging host not found", "Access to the specified native messaging host is
forbidden", "Error when communicating with the native messaging host"); ../docs/protocol.md.
"""


from __future__ import annotations

import json
import os
from pathlib import Path

from native_host import HOST_NAME
from native_host.install import locations
from native_host.install.doctor.checks import MAX_REPLY, Check, HelloResult  # noqa: F401 - the public names
from native_host.install.doctor.hello import encode_frame, hello_roundtrip  # noqa: F401
from native_host.install.doctor.manifests import (  # noqa: F401
    _check_host_path,
    _check_ids,
    _find_manifest,
    _has_manifest,
    _install_fix,
    _profile_exists,
    read_native_messaging_policy,
)
from native_host.install.doctor.fleet import extension_check, forced_chromium_ids, install_fix
from native_host.install.extension_ids import (
    CHROMIUM_UNPACKED_ID,
    chromium_origin,
    is_chromium_extension_id,
    split_extension_ids,
)
from native_host.install.model import SCOPES, Environment, InstallError, family


def diagnose(
    browsers: list[str] | tuple[str, ...],
    target_os: str,
    env: Environment,
    *,
    scopes: tuple[str, ...] = SCOPES,
    root: Path | None = None,
    extension_ids: list[str] | tuple[str, ...] = (),
    spawn: bool = True,
    timeout: float = 5.0,
    use_winreg: bool | None = None,
    skip_absent: bool = False,
) -> list[Check]:
    """Run every check for every browser; return the lines in order.

    Args:
        browsers: browser names or ``all``.
        target_os: the OS whose locations to inspect (the host is only started on this OS).
        env: home/folder facts (see :class:`Environment`).
        scopes: which scopes to look in, in the browser's order (user before system).
        root: the ``--root`` the install used.
        extension_ids: ids that must be admitted (default: the Firefox id and the unpacked Chromium id).
        spawn: start the host and speak hello (skipped for another OS).
        timeout: seconds to wait for the hello reply.
        use_winreg: read real registry keys (default: on Windows for Windows without root).
        skip_absent: a browser with no manifest and no user profile folder (not installed or never
            run) gets an informational line instead of a failure (the CLI does this without --browser).

    Raises:
        InstallError: unknown browser or OS names, malformed ids, another OS without ``root``.
    """
    from native_host.install.installer import expand_browsers

    names = expand_browsers(browsers)
    try:
        firefox_ids, chromium_ids = split_extension_ids(list(extension_ids))
    except ValueError as exc:
        raise InstallError(str(exc)) from None
    from native_host import FIREFOX_EXTENSION_ID

    required_firefox = tuple(firefox_ids) or (FIREFOX_EXTENSION_ID,)
    if use_winreg is None:
        use_winreg = locations.current_os() == "windows" and target_os == "windows" and root is None
    if root is None and target_os != locations.current_os():
        raise InstallError(f"checking {target_os} locations on {locations.current_os()} needs --root DIR")
    scopes = tuple(s for s in SCOPES if s in scopes)
    checks: list[Check] = []
    explicit_chromium = tuple(chromium_ids)
    looked_at: list[tuple[str, tuple[str, ...]]] = []
    for browser in names:
        browser_scopes = scopes
        required_chromium = explicit_chromium or (CHROMIUM_UNPACKED_ID,)
        if family(browser) == "chromium":
            forced = forced_chromium_ids(browser, target_os, root)
            if forced and not explicit_chromium:
                # what the browser will run: the id its policy force-installs, not the unpacked build's
                required_chromium = tuple(forced)
                checks.append(Check(None, browser, f"policy ExtensionInstallForcelist force-installs {', '.join(forced)}"))
            policy = read_native_messaging_policy(browser, target_os, root)
            allow = policy.get("NativeMessagingAllowlist", [])
            block = policy.get("NativeMessagingBlocklist", [])
            if ("*" in block or HOST_NAME in block) and HOST_NAME not in allow:
                checks.append(Check(False, browser, f"policy NativeMessagingBlocklist blocks {HOST_NAME} "
                                                    f"({'; '.join(policy['_files'])})",
                                    f"add {HOST_NAME} to NativeMessagingAllowlist (see rootsentinel policy --browser {browser if browser in ('chrome', 'chromium', 'edge') else 'chrome'})"))
                continue
            if policy.get("NativeMessagingUserLevelHosts") is False:
                checks.append(Check(None, browser, "policy NativeMessagingUserLevelHosts is false: "
                                                   "only system-level manifests count"))
                browser_scopes = tuple(s for s in scopes if s == "system")
                if not browser_scopes:
                    checks.append(Check(False, browser, "only user scope was asked for, and policy ignores it",
                                        _install_fix(browser, "system")))
                    continue
        if skip_absent and target_os != "windows" and not _has_manifest(browser, target_os, env, root) \
                and not _profile_exists(browser, target_os, env, root):
            checks.append(Check(None, browser, "not installed (no profile folder and no host manifest): skipped; "
                                               f"rootsentinel doctor --browser {browser} checks it anyway"))
            continue
        looked_at.append((browser, required_chromium))
        found = _find_manifest(browser, target_os, env, browser_scopes, root, use_winreg, checks,
                               required_chromium if family(browser) == "chromium" else ())
        if found is None:
            continue
        fix = install_fix(browser, found.loc.scope, required_chromium if family(browser) == "chromium" else ())
        checks.append(Check(True, browser, f"manifest {found.dest} ({found.loc.scope} scope)"))
        if found.loc.scope == "system" and target_os != "windows" and os.name != "nt" \
                and found.dest.stat().st_mode & 0o444 != 0o444:
            checks.append(Check(False, browser, f"the system manifest is not readable by every user "
                                                f"(mode {found.dest.stat().st_mode & 0o777:o})",
                                f"chmod 644 '{found.path}'"))
            continue
        try:
            doc = json.loads(found.dest.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            checks.append(Check(False, browser, f"the manifest is not valid JSON: {exc}", fix))
            continue
        if not isinstance(doc, dict):
            checks.append(Check(False, browser, "the manifest is not a JSON object", fix))
            continue
        if doc.get("name") != HOST_NAME:
            checks.append(Check(False, browser, f"the manifest names host {doc.get('name')!r}, expected {HOST_NAME!r}", fix))
            continue
        checks.append(Check(True, browser, f"name is {HOST_NAME}"))
        if doc.get("type") != "stdio":
            checks.append(Check(False, browser, f"type is {doc.get('type')!r}, expected 'stdio'", fix))
            continue
        checks.append(Check(True, browser, "type is stdio"))
        if family(browser) == "chromium":  # the fix keeps every real id the manifest admits, never the placeholder
            fix = install_fix(browser, found.loc.scope, _chromium_ids_for_fix(doc, required_chromium))
        ext_id = _check_ids(browser, doc, required_firefox, required_chromium, fix, checks)
        if ext_id is None:
            continue
        host = _check_host_path(browser, target_os, found, doc, root, fix, checks)
        if host is None:
            continue
        if not spawn:
            continue
        if target_os != locations.current_os():
            checks.append(Check(None, browser, f"host not started: it is built for {target_os}, this is {locations.current_os()}"))
            continue
        if family(browser) == "firefox":
            argv = [str(host), str(found.dest), ext_id]
        else:
            argv = [str(host), chromium_origin(ext_id)]
            if target_os == "windows":
                argv.append("--parent-window=0")
        result = hello_roundtrip(argv, cwd=str(host.parent), timeout=timeout)
        if result.ok:
            version = result.reply.get("version", "?") if result.reply else "?"
            checks.append(Check(True, browser, f"host answered hello (version {version}, {result.elapsed_ms:.0f} ms)"))
        else:
            checks.append(Check(False, browser, f"host did not answer hello: {result.error}",
                                f"run '{host}' by hand and read its stderr, then {fix}"))
    for browser, ids in looked_at:
        line = extension_check(browser, target_os, env, root, required_firefox[0], ids)
        if line is not None:
            checks.append(line)
    if checks and all(c.ok is None for c in checks):
        checks.append(Check(False, "every browser", f"no host manifest for {HOST_NAME} anywhere, so no browser can reach the host",
                            "rootsentinel install --browser <your browser>"))
    return checks


def _chromium_ids_for_fix(doc: dict, required: tuple[str, ...]) -> list[str]:
    """The ids an install command must name: the required ones, then the valid ones the manifest lists."""
    ids = list(required)
    allowed = doc.get("allowed_origins")
    for origin in allowed if isinstance(allowed, list) else ():
        if isinstance(origin, str) and origin.startswith("chrome-extension://"):
            ext_id = origin[len("chrome-extension://"):].rstrip("/")
            if is_chromium_extension_id(ext_id) and ext_id not in ids:
                ids.append(ext_id)
    return ids
