"""The ``install``, ``uninstall``, ``doctor`` and ``policy`` verbs of ``rootsentinel``.

``native_host.cli`` calls :func:`add_parsers` with its argparse subparsers object; each verb sets
``func(args) -> int``: 0 ok, 3 on an error (one line on stderr). These functions are the only place
in ``native_host.install`` that prints.

Examples::

    rootsentinel install --browser firefox                      # user scope, this OS
    rootsentinel install --browser all --scope system --host-path /opt/rootsentinel/rootsentinel-host
    rootsentinel install --browser all --os windows --scope system --root pkgroot \\
        --host-path 'C:\\Program Files\\RootSentinel\\rootsentinel-host.exe'   # .reg files off Windows
    rootsentinel uninstall --browser all
    rootsentinel doctor --browser chrome
    rootsentinel policy --browser edge --extension-id <id> --mode enforce
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

from native_host.install import locations, registry
from native_host.install.doctor import diagnose
from native_host.install.installer import Change, install, uninstall
from native_host.install.model import BROWSERS, OSES, SCOPES, Environment, InstallError
from native_host.install.policy import (
    CAPTURE_MODES,
    POLICY_BROWSERS,
    XPI_URL_PLACEHOLDER,
    decommission_policy,
    managed_settings,
    policy_for,
    update_url_warning,
)
from native_host.install.extension_ids import CHROMIUM_STORE_ID_PLACEHOLDER
from native_host.install.rootfiles import ban_pems, public_root_warning, root_pems
from native_host.textsafe import escape

EXIT_OK = 0
EXIT_ERROR = 3


def _abs_env(name: str):
    value = os.environ.get(name)
    return PurePosixPath(value) if value and value.startswith("/") else None


def detect_environment(target_os: str, root: Path | None = None) -> Environment:
    """The :class:`Environment` of this machine for ``target_os`` (env vars, home, ``/usr/lib64``).

    Off Windows, Windows folders come from ``%LOCALAPPDATA%`` / ``%ProgramFiles%`` if set, else
    the defaults ``C:\\Users\\<user>\\AppData\\Local`` and ``C:\\Program Files``.
    """
    if target_os == "windows":
        user = getpass.getuser() or "user"
        lad = os.environ.get("LOCALAPPDATA") or rf"C:\Users\{user}\AppData\Local"
        pf = os.environ.get("ProgramFiles") or r"C:\Program Files"
        return Environment(home=PureWindowsPath(os.path.expanduser("~") if os.name == "nt" else rf"C:\Users\{user}"),
                           local_app_data=PureWindowsPath(lad), program_files=PureWindowsPath(pf))
    home = PurePosixPath(os.path.expanduser("~")) if os.name != "nt" else PurePosixPath(f"/home/{getpass.getuser()}")
    lib64 = False
    if target_os == "linux":
        lib64 = (Path(root) / "usr/lib64" if root else Path("/usr/lib64")).is_dir()
    return Environment(home=home, xdg_config_home=_abs_env("XDG_CONFIG_HOME"),
                       xdg_data_home=_abs_env("XDG_DATA_HOME"), usr_lib64=lib64)


def _print_changes(changes: list[Change], dry_run: bool) -> None:
    width = max((len(c.action) for c in changes), default=0)
    for c in changes:
        note = f"  ({c.note})" if c.note else ""
        print(f"{c.action:<{width}}  {c.target}{note}")
        if dry_run and c.content is not None and c.action.startswith("would"):
            if c.kind == "registry" and c.target.endswith(".reg"):
                text = registry.decode_reg(c.content).lstrip("\ufeff")
            else:
                text = c.content.decode("utf-8", "replace")
            for line in text.splitlines():
                print(f"    {line}")


def _fail(message: str) -> int:
    print(f"rootsentinel: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _os_error(exc: OSError, scope: str) -> int:
    where = f" {exc.filename}" if exc.filename else ""
    hint = " (system scope needs root / administrator rights)" if scope == "system" else ""
    return _fail(f"{exc.strerror or exc}:{where}{hint}")


def _root(args) -> Path | None:
    return Path(args.root).resolve() if args.root else None


def _apply(args: argparse.Namespace, action) -> int:
    """Runs ``action(env, root)`` (install or uninstall) and prints its changes; a failure is one line on stderr."""
    root = _root(args)
    try:
        env = detect_environment(args.os, root)
        changes = action(env, root)
    except InstallError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _os_error(exc, args.scope)
    _print_changes(changes, args.dry_run)
    return EXIT_OK


SYSTEM_HOST_ADVICE = ("for every account, install the bundled host instead: 'make dist-host', copy "
                      "dist/rootsentinel-host/ to /opt/rootsentinel/, then 'rootsentinel install --scope system "
                      "--host-path /opt/rootsentinel/rootsentinel-host/rootsentinel-host' (docs/install.md)")
"""What ``install --scope system`` advises when its launcher would depend on a checkout or virtualenv."""


def _warn_private_launcher(args: argparse.Namespace) -> None:
    """Warn on stderr when a system-scope launcher would run a checkout's or a virtualenv's Python."""
    from native_host.install.launcher import private_interpreter

    if args.scope != "system" or args.host_path or args.os != locations.current_os():
        return
    why = private_interpreter()
    if why:
        print(f"rootsentinel: warning: the system-wide launcher this writes is tied to one folder: {why}; "
              f"{SYSTEM_HOST_ADVICE}", file=sys.stderr)


def cmd_install(args: argparse.Namespace) -> int:
    """``rootsentinel install``: write host manifests (and launcher, registry keys or .reg files)."""
    _warn_private_launcher(args)
    return _apply(args, lambda env, root: install(
        args.browser, args.scope, args.os, env, dry_run=args.dry_run, host_path=args.host_path,
        extension_ids=args.extension_id or (), root=root))


def cmd_uninstall(args: argparse.Namespace) -> int:
    """``rootsentinel uninstall``: remove exactly what install wrote."""
    return _apply(args, lambda env, root: uninstall(args.browser, args.scope, args.os, env, root=root,
                                                    dry_run=args.dry_run))


def cmd_doctor(args: argparse.Namespace) -> int:
    """``rootsentinel doctor``: one ✓/✗ line per check (``--json``: one JSON document); exit 0 when all pass,
    else the code of the first failing finding class (:data:`native_host.install.doctor.fleet.EXIT_CODES`:
    3 host, 4 config, 5 audit, 6 extension); 3 for bad input."""
    root = _root(args)
    scopes = (args.scope,) if args.scope else SCOPES
    try:
        env = detect_environment(args.os, root)
        checks = diagnose(args.browser or ["all"], args.os, env, scopes=scopes, root=root,
                          extension_ids=args.extension_id or (), spawn=not args.no_spawn, timeout=args.timeout,
                          skip_absent=not args.browser)
    except InstallError as exc:
        return _fail(str(exc))
    import dataclasses

    from native_host.enterprise.doctor_audit import audit_checks  # audit destinations and dropped events
    from native_host.install.doctor.fleet import config_check, config_path_for, exit_code

    host_failed = not checks or any(c.ok is False for c in checks)
    checks.append(config_check(config_path_for(args.os, root)))
    checks += [dataclasses.replace(c, kind="audit") for c in audit_checks()]
    code = exit_code(checks) or (EXIT_ERROR if host_failed else EXIT_OK)
    if args.json:
        print(json.dumps({"ok": code == EXIT_OK, "exit_code": code, "findings": [c.as_json() for c in checks]},
                         indent=2, ensure_ascii=False))
        return code
    for check in checks:
        print(check.line())
    return code


def _ban(kind: str):
    def parse(value: str) -> dict:
        fp, _, reason = value.partition("=")
        return {kind: fp, "reason": reason or "banned by policy"}
    return parse


def cmd_policy(args: argparse.Namespace) -> int:
    """``rootsentinel policy``: print a ready policy document (JSON) on stdout."""
    if args.decommission:
        try:
            doc = decommission_policy(args.browser, extension_id=args.extension_id)
        except InstallError as exc:
            return _fail(str(exc))
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    if args.esr and args.browser != "firefox":
        return _fail("--esr is for --browser firefox (the signature preference of Firefox ESR)")
    pem_warnings: list[str] = []  # install/rootfiles.py says, the command shows
    try:
        settings = managed_settings(
            mode=args.mode,
            allow_spki_sha256=args.allow_spki_sha256 or (),
            allow_roots_pem=[pem for path in args.allow_root_pem or () for pem in root_pems(path, pem_warnings)],
            banned=(args.ban_spki_sha256 or []) + (args.ban_cert_sha256 or [])
            + [entry for value in args.ban_root_pem or () for entry in ban_pems(value, pem_warnings)],
            notifications=not args.no_notifications,
            probing=not args.no_probing,
            audit=not args.no_audit,
            capture=args.capture,
        )
        doc = policy_for(args.browser, settings, extension_id=args.extension_id, xpi_url=args.xpi_url,
                         update_url=args.update_url, esr_unsigned=args.esr)
    except InstallError as exc:
        return _fail(str(exc))
    warning = update_url_warning(args.update_url) if args.browser != "firefox" else None
    if warning:
        print(f"rootsentinel: warning: {warning}", file=sys.stderr)
    for line in pem_warnings:
        print(f"rootsentinel: warning: {line}", file=sys.stderr)
    if args.ban_root_pem and (warning := public_root_warning(settings)):
        print(f"rootsentinel: warning: {escape(warning)}", file=sys.stderr)
    if args.browser == "firefox" and not args.xpi_url:
        print(f"rootsentinel: note: install_url is the placeholder {XPI_URL_PLACEHOLDER}; pass --xpi-url", file=sys.stderr)
    if args.browser != "firefox" and not args.extension_id:
        print(f"rootsentinel: note: {CHROMIUM_STORE_ID_PLACEHOLDER} is a placeholder store id; pass --extension-id",
              file=sys.stderr)
    print(json.dumps(doc, indent=2))
    return EXIT_OK


def cmd_rollout(args: argparse.Namespace) -> int:
    """``rootsentinel rollout``: write the system config, host manifests and every browser's policy (Linux)."""
    from native_host.install.rollout import DEFAULT_HOST_PATH, write_rollout

    if not args.decommission and not args.settings:
        return _fail("rollout needs a settings file (the system config, docs/enterprise.md), or --decommission")
    try:
        written = write_rollout(Path(args.settings) if args.settings else None, Path(args.out),
                                extension_id=args.extension_id, update_url=args.update_url, xpi_url=args.xpi_url,
                                firefox_esr=args.firefox_esr, host_path=args.host_path or DEFAULT_HOST_PATH,
                                decommission=args.decommission)
    except InstallError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _os_error(exc, "system")
    warning = update_url_warning(args.update_url)
    if warning:
        print(f"rootsentinel: warning: {warning}", file=sys.stderr)
    if not args.decommission and not args.extension_id:
        print(f"rootsentinel: note: {CHROMIUM_STORE_ID_PLACEHOLDER} is a placeholder store id; pass --extension-id "
              "(dist/chromium-extension-id.txt after make dist)", file=sys.stderr)
    if not args.decommission and not args.xpi_url:
        print(f"rootsentinel: note: install_url is the placeholder {XPI_URL_PLACEHOLDER}; pass --xpi-url", file=sys.stderr)
    for item in written:
        print(f"written  {item.path}  ({item.what})")
    return EXIT_OK


def _common(p: argparse.ArgumentParser, *, browser_required: bool) -> None:
    p.add_argument("--browser", action="append", choices=[*BROWSERS, "all"], required=browser_required,
                   help="browser to act on (repeatable; 'all' for every browser)")
    p.add_argument("--os", choices=OSES, default=locations.current_os(),
                   help="target OS whose locations to use (default: this one)")
    p.add_argument("--root", metavar="DIR", help="prefix every path with DIR (like DESTDIR; for packaging and tests)")


def add_parsers(subparsers) -> None:
    """Add the ``install``, ``uninstall``, ``doctor`` and ``policy`` subcommands to an argparse subparsers object."""
    p = subparsers.add_parser("install", help="write the native messaging host manifests for browsers",
                              description="Write one host manifest per browser where it looks for it "
                                          "(and a launcher script; on Windows a registry key, or a .reg file off Windows).")
    _common(p, browser_required=True)
    p.add_argument("--scope", choices=SCOPES, default="user", help="user (this account) or system (all accounts)")
    p.add_argument("--host-path", metavar="PATH", help="absolute path of the host executable (e.g. the bundled host); "
                                                       "default: write a launcher that runs this Python")
    p.add_argument("--extension-id", action="append", metavar="ID",
                   help="extension id to allow (repeatable): 32 letters a-p for Chromium (replaces the store "
                        "placeholder; the unpacked id stays), name@domain for Firefox (replaces the default)")
    p.add_argument("--dry-run", action="store_true", help="print what would be written and write nothing")
    p.set_defaults(func=cmd_install)

    p = subparsers.add_parser("uninstall", help="remove what install wrote")
    _common(p, browser_required=True)
    p.add_argument("--scope", choices=SCOPES, default="user",
                   help="user (default: this account) or system (all accounts): the scope the install used")
    p.add_argument("--dry-run", action="store_true", help="print what would be removed and remove nothing")
    p.set_defaults(func=cmd_uninstall)

    p = subparsers.add_parser("doctor", help="explain why a browser cannot reach the host")
    _common(p, browser_required=False)
    p.add_argument("--scope", choices=SCOPES, help="only look at this scope (default: user, then system)")
    p.add_argument("--extension-id", action="append", metavar="ID", help="extension id that must be allowed (repeatable)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the host's hello reply (default 5)")
    p.add_argument("--no-spawn", action="store_true", help="do not start the host")
    p.add_argument("--json", action="store_true",
                   help="one JSON document for MDM compliance checks: {ok, exit_code, findings: [{ok, class, subject, "
                        "message, fix}]}; exit codes: 0 clean, 3 host unreachable, 4 config invalid, 5 audit destination, "
                        "6 extension not installed")
    p.set_defaults(func=cmd_doctor)

    p = subparsers.add_parser(
        "policy", help="print an enterprise policy that force-installs the extension",
        description="Print a JSON policy that force-installs the extension, passes it managed settings and (Chromium "
                    "family) allows the native host. Save it as Firefox's policies.json, or in "
                    "/etc/opt/chrome/policies/managed/, /etc/chromium/policies/managed/, /etc/opt/edge/policies/managed/ or "
                    "/etc/brave/policies/managed/ "
                    "(docs/enterprise.md).")
    p.add_argument("--browser", required=True, choices=POLICY_BROWSERS, help="which browser's policy format to print")
    p.add_argument("--extension-id", metavar="ID", help="extension id (default: Firefox id / Chromium store placeholder)")
    p.add_argument("--xpi-url", metavar="URL", help="Firefox: where the signed .xpi is served")
    p.add_argument("--update-url", metavar="URL",
                   help="Chrome/Chromium/Edge/Brave: update manifest URL, e.g. the updates.xml of a self-hosted CRX "
                        "(default: the store's); intranet http:// is accepted with a warning")
    p.add_argument("--esr", action="store_true",
                   help="Firefox ESR with the unsigned xpi: also lock xpinstall.signatures.required to false")
    p.add_argument("--decommission", action="store_true",
                   help="print the policy that removes the extension from every profile instead (fleet uninstall)")
    p.add_argument("--mode", choices=["warn", "enforce"], default="warn",
                   help="warn (default): badge and popup only; enforce: a page whose chain is banned is replaced "
                        "by an explanation page")
    p.add_argument("--capture", choices=CAPTURE_MODES,
                   help="Chrome/Chromium/Edge: where the chain comes from: probe (the extension's default; the host "
                        "connects to each new site itself) or debugger (the chain the browser verified; needs the "
                        "--with-debugger build, and the browser shows its debugging bar)")
    p.add_argument("--allow-spki-sha256", action="append", metavar="HEX",
                   help="SPKI SHA-256 of a company inspection root: its chains are a notice, not interception (repeatable)")
    p.add_argument("--ban-spki-sha256", action="append", type=_ban("spki_sha256"), metavar="HEX[=REASON]",
                   help="also treat the root with this SPKI SHA-256 as banned, with an optional reason (repeatable)")
    p.add_argument("--ban-cert-sha256", action="append", type=_ban("cert_sha256"), metavar="HEX[=REASON]",
                   help="also treat the certificate with this SHA-256 as banned, with an optional reason (repeatable)")
    p.add_argument("--allow-root-pem", action="append", metavar="FILE",
                   help="a company inspection root as a certificate (PEM file; every certificate in it): its chains are a "
                        "notice even though the proxy never sends its root (repeatable)")
    p.add_argument("--ban-root-pem", action="append", metavar="FILE[=REASON]",
                   help="also treat the root certificate(s) in this PEM file as banned, sent or not, with an optional "
                        "reason (repeatable)")
    p.add_argument("--no-notifications", action="store_true", help="no desktop notification for a banned chain")
    p.add_argument("--no-probing", action="store_true",
                   help="the host never opens its own TLS connection to a site (no probe evidence)")
    p.add_argument("--no-audit", action="store_true", help="write no audit events")
    p.set_defaults(func=cmd_policy)

    p = subparsers.add_parser(
        "rollout", help="write a whole Linux rollout (config, host manifests, every browser's policy) from one file",
        description="From one settings file (the system config), write under --out, laid out as the target's /: "
                    "etc/rootsentinel/config.json, the host manifests of every browser, and the policies of Chrome, "
                    "Chromium, Edge, Brave and Firefox with the same settings as managed settings "
                    "(docs/enterprise.md, section 4; --decommission: section 8).")
    p.add_argument("settings", nargs="?", metavar="SETTINGS.json", help="the system config (config.json)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the tree into")
    p.add_argument("--extension-id", metavar="ID",
                   help="Chromium-family extension id: the CRX signing key's (dist/chromium-extension-id.txt)")
    p.add_argument("--update-url", metavar="URL", help="URL of updates.xml (intranet http:// accepted with a warning)")
    p.add_argument("--xpi-url", metavar="URL", help="where Firefox fetches the xpi (https:// or file:///)")
    p.add_argument("--firefox-esr", action="store_true",
                   help="the xpi is the unsigned one: lock xpinstall.signatures.required to false (Firefox ESR)")
    p.add_argument("--host-path", metavar="PATH",
                   help="host executable the manifests name (default: the Debian package's, "
                        "/opt/rootsentinel/rootsentinel-host/rootsentinel-host)")
    p.add_argument("--decommission", action="store_true",
                   help="write only the policies that remove the extension from every browser (fleet uninstall)")
    p.set_defaults(func=cmd_rollout)
