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
import queue
import re
import shlex
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath

from native_host import HOST_NAME
from native_host.install import locations, registry
from native_host.install.extension_ids import (
    CHROMIUM_UNPACKED_ID,
    chromium_origin,
    is_chromium_extension_id,
    split_extension_ids,
)
from native_host.install.launcher import is_our_launcher
from native_host.install.model import (
    SCOPES,
    Environment,
    HostLocation,
    InstallError,
    family,
    pure_path_class,
    under_root,
)

MAX_REPLY = 1024 * 1024
"""Browsers drop a host->browser frame above 1 MiB (field report A2); larger means garbage on stdout."""

_WINDOWS_RUNNABLE = (".exe", ".bat", ".cmd", ".com")


@dataclass(frozen=True)
class Check:
    """One diagnostic line.

    Attributes:
        ok: True (passed), False (failed: the browser cannot use the host), None (skipped/info).
        browser: which browser the check is about.
        message: what was found, one line.
        fix: what to do about a failure, one line ('' when ok).
    """

    ok: bool | None
    browser: str
    message: str
    fix: str = ""

    def line(self) -> str:
        """``✓ firefox: ...``, ``✗ chrome: ... — fix: ...`` or ``- edge: ...``."""
        mark = {True: "✓", False: "✗", None: "-"}[self.ok]
        text = f"{mark} {self.browser}: {self.message}"
        if self.ok is False and self.fix:
            text += f" — fix: {self.fix}"
        return text


@dataclass(frozen=True)
class HelloResult:
    """Outcome of one hello round trip with a host process.

    ``reply`` is the decoded JSON reply (or None); ``error`` a one-line reason when it failed.
    """

    ok: bool
    reply: dict | None
    error: str | None
    elapsed_ms: float
    stderr_tail: str = ""


def encode_frame(message: dict) -> bytes:
    """A native-messaging frame: ``struct.pack('=I', len(body)) + body`` (native byte order, UTF-8 JSON)."""
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return struct.pack("=I", len(body)) + body


def _read_exact(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def hello_roundtrip(argv: list[str], *, cwd: str | None = None, timeout: float = 5.0,
                    request_id: str = "doctor") -> HelloResult:
    """Start a host like a browser does, send ``hello``, and read one reply frame.

    Args:
        argv: the host command (browser-style arguments included).
        cwd: working directory (Firefox uses the host's directory).
        timeout: seconds to wait for the reply.
        request_id: the ``id`` sent and expected back.

    Returns:
        a :class:`HelloResult`; never raises for host misbehaviour (that is what it diagnoses).
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    except OSError as exc:
        return HelloResult(False, None, f"cannot start the host: {exc.strerror or exc}", 0.0)
    results: queue.Queue = queue.Queue()
    err_chunks: list[bytes] = []

    def read_reply() -> None:
        header = _read_exact(proc.stdout, 4)
        if len(header) < 4:
            results.put(("eof", header))
            return
        (length,) = struct.unpack("=I", header)
        if length > MAX_REPLY:
            results.put(("garbage", header))
            return
        results.put(("frame", _read_exact(proc.stdout, length), length))

    def drain_stderr() -> None:
        for chunk in iter(lambda: proc.stderr.read(4096), b""):
            err_chunks.append(chunk)
            if sum(map(len, err_chunks)) > 65536:
                err_chunks.pop(0)

    threading.Thread(target=read_reply, daemon=True).start()
    err_thread = threading.Thread(target=drain_stderr, daemon=True)
    err_thread.start()
    try:
        try:
            proc.stdin.write(encode_frame({"type": "hello", "id": request_id}))
            proc.stdin.flush()
        except OSError:
            pass  # the host may already have died; the reader reports it
        try:
            got = results.get(timeout=timeout)
        except queue.Empty:
            got = ("timeout",)
    finally:
        elapsed = (time.monotonic() - start) * 1000
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err_thread.join(timeout=1)
    tail = b"".join(err_chunks).decode("utf-8", "replace").strip().splitlines()
    last = tail[-1][:200] if tail else ""
    kind = got[0]
    if kind == "timeout":
        return HelloResult(False, None, f"no reply within {timeout:g} s", elapsed, last)
    if kind == "eof":
        why = f"the host exited (code {proc.returncode}) without replying"
        if last:
            why += f"; its last stderr line: {last}"
        return HelloResult(False, None, why, elapsed, last)
    if kind == "garbage":
        return HelloResult(False, None,
                           f"the host wrote non-frame bytes to stdout ({got[1]!r} read as a length); "
                           "something prints to stdout", elapsed, last)
    body = got[1]
    if len(body) < got[2]:
        return HelloResult(False, None, f"the reply frame was cut short ({len(body)} of {got[2]} bytes)", elapsed, last)
    try:
        reply = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return HelloResult(False, None, f"the reply is not UTF-8 JSON: {exc}", elapsed, last)
    if not isinstance(reply, dict):
        return HelloResult(False, None, "the reply is not a JSON object", elapsed, last)
    if reply.get("type") == "error":
        return HelloResult(False, reply, f"the host answered with an error: {reply.get('code')}: {reply.get('message')}", elapsed, last)
    if reply.get("type") != "hello":
        return HelloResult(False, reply, f"the reply has type {reply.get('type')!r}, expected 'hello'", elapsed, last)
    if reply.get("id") != request_id:
        return HelloResult(False, reply, f"the reply id {reply.get('id')!r} does not echo the request id {request_id!r}", elapsed, last)
    return HelloResult(True, reply, None, elapsed, last)


def _install_fix(browser: str, scope: str | None) -> str:
    return f"rootsentinel install --browser {browser}" + (f" --scope {scope}" if scope == "system" else "")


@dataclass
class _Found:
    loc: HostLocation
    path: PurePath  # as the browser sees it
    dest: Path  # where to read it here (under root)


def _find_manifest(browser: str, target_os: str, env: Environment, scopes, root: Path | None,
                   use_winreg: bool, checks: list[Check]) -> _Found | None:
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
                                            _install_fix(browser, loc.scope)))
                        return None
                    match = [e for e in entries if e.key.lower() == loc.registry_key.lower()]
                    if not match:
                        keys = ", ".join(e.key for e in entries) or "none"
                        checks.append(Check(False, browser, f"{reg_dest} sets {keys}, not {loc.registry_key}",
                                            _install_fix(browser, loc.scope)))
                        return None
                    value = match[0].value
            looked.append(where)
            if value is None:
                continue
            checks.append(Check(True, browser, f"registry key {loc.registry_key} names {value}"))
            path = PureWindowsPath(value)
            if not path.is_absolute():
                checks.append(Check(False, browser, f"the registry value {value!r} is not an absolute path",
                                    _install_fix(browser, loc.scope)))
                return None
            dest = Path(value) if use_winreg else under_root(root, path)
            if not dest.is_file():
                checks.append(Check(False, browser, f"the registry key names {value}, which does not exist",
                                    _install_fix(browser, loc.scope)))
                return None
            return _Found(loc, path, dest)
        for path in loc.lookup_paths:
            dest = under_root(root, path)
            looked.append(str(dest))
            if dest.is_file():
                return _Found(loc, path, dest)
    checks.append(Check(False, browser, f"no host manifest for {HOST_NAME} (looked in: {'; '.join(looked)})",
                        _install_fix(browser, scopes[0] if len(scopes) == 1 else "user")))
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
    required_chromium = tuple(chromium_ids) or (CHROMIUM_UNPACKED_ID,)
    if use_winreg is None:
        use_winreg = locations.current_os() == "windows" and target_os == "windows" and root is None
    if root is None and target_os != locations.current_os():
        raise InstallError(f"checking {target_os} locations on {locations.current_os()} needs --root DIR")
    scopes = tuple(s for s in SCOPES if s in scopes)
    checks: list[Check] = []
    for browser in names:
        browser_scopes = scopes
        if family(browser) == "chromium":
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
        found = _find_manifest(browser, target_os, env, browser_scopes, root, use_winreg, checks)
        if found is None:
            continue
        fix = _install_fix(browser, found.loc.scope)
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
    if checks and all(c.ok is None for c in checks):
        checks.append(Check(False, "every browser", f"no host manifest for {HOST_NAME} anywhere, so no browser can reach the host",
                            "rootsentinel install --browser <your browser>"))
    return checks
