"""rootsentinel: is your HTTPS connection intercepted? Judge certificate chains against banned and public roots.

Verbs: ``check`` (judge a chain file, a Firefox SecurityInfo JSON, or a live ``https://host[:port]``),
``host`` (what host manifests launch), and the install, doctor, policy, blocklist, scan verbs registered
by their own modules. Exit codes of ``check`` follow the monitoring-plugin convention: 0 ok, 1 notice or
interception, 2 banned, 3 unknown or error (with a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from native_host import __version__
from native_host.errors import BadInput, RootSentinelError
from native_host.textsafe import dumps_json, escape

EXIT = {"ok": 0, "notice": 1, "interception": 1, "banned": 2, "unknown": 3}
"""``check`` exit code per verdict level."""


def safe_text(text: str | None) -> str:
    """Attacker-controlled text made safe for a terminal: :func:`native_host.textsafe.escape` (the one
    escaping rule; controls, format, separator and bidi characters become ``\\xNN`` / ``\\uNNNN``)."""
    return escape(text)


_HOSTPORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})(/.*)?$")
"""``host:port``, optionally followed by a path (``example.org:8443/login``)."""

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})\.?$")
"""A DNS name with at least two labels whose last one looks like a top-level domain (letters, or an IDNA
``xn--`` label): ``example.org``, ``mail.example.co.uk``; not ``chain``, ``192.0.2.1`` or ``a.b1``."""

ACCEPTED_TARGETS = ("a PEM/DER chain file, a SecurityInfo JSON file, https://host[:port], host:port "
                    "or a host name such as example.org")
"""What ``check TARGET`` accepts, as the one-line error messages name it."""

_FILE_SUFFIXES = (".pem", ".der", ".crt", ".cer", ".json", ".txt", ".p7b", ".p7c", ".key", ".csr", ".p12",
                  ".pfx", ".log", ".html", ".htm", ".xml", ".yaml", ".yml", ".conf", ".cfg", ".ini")
"""Endings that say "a file" even where they could be a top-level domain: ``chain.pem`` that does not exist
is a missing file, never a probe of a host called ``chain.pem``."""


def _looks_like_host(text: str) -> bool:
    """True for a bare host name (:data:`_HOSTNAME`, not ending like a file) or an IP address literal."""
    from native_host.messaging.route import is_ip

    if is_ip(text) and (":" not in text.strip("[]") or text.startswith("[")):
        return True
    return bool(_HOSTNAME.match(text)) and not text.lower().endswith(_FILE_SUFFIXES)


def parse_target(target: str) -> tuple[str, int] | Path:
    """Decide what ``check TARGET`` means: an existing file, or an address to probe.

    An existing file always wins. Otherwise ``https://host[:port][/...]``, ``host:port[/path]``, and a bare
    host name or address with an optional path (``example.org``, ``example.org/login``, ``192.0.2.7``) are
    probes, port 443 unless given; a name that ends like a file (``chain.pem``) is a missing file.

    Returns:
        A :class:`Path`, or ``(host, port)``.

    Raises:
        BadInput: neither an existing file nor an address.
    """
    path = Path(target)
    if path.is_file():
        return path
    if target.lower().startswith("https://"):
        try:
            parts = urlsplit(target)
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise BadInput(f"bad URL {safe_text(target)!r}: {exc}") from exc
        if not host:
            raise BadInput(f"no host in URL {safe_text(target)!r}")
        if port == 0:
            raise BadInput(f"port 0 in URL {safe_text(target)!r}: a probe needs a port from 1 to 65535")
        return host, 443 if port is None else port
    m = _HOSTPORT.match(target)
    if m:
        port = int(m.group(2))
        if not 0 < port < 65536:
            raise BadInput(f"{safe_text(target)}: port {port} is out of range: a probe needs a port from 1 to 65535")
        return m.group(1).strip("[]"), port
    bare = target.split("/", 1)[0]
    if not path.exists() and bare and _looks_like_host(bare):
        return bare.strip("[]").rstrip("."), 443
    if path.exists():
        raise BadInput(f"{safe_text(target)} is not a regular file")
    raise BadInput(_not_a_target(target))


def _not_a_target(target: str) -> str:
    """The one-line reason ``target`` is neither a file nor an address ``check`` can probe."""
    shown = safe_text(target)
    if target.lower().startswith("http://"):
        return (f"{shown}: plain HTTP has no certificate to judge; for the same site over TLS use "
                f"https://{safe_text(target[7:])} (accepted: {ACCEPTED_TARGETS})")
    if re.fullmatch(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]", target) and not target.lower().endswith(_FILE_SUFFIXES):
        return (f"{shown}: no such file; to probe a server give https://{shown} or {shown}:PORT "
                f"(accepted: {ACCEPTED_TARGETS})")
    return f"{shown}: no such file (accepted: {ACCEPTED_TARGETS})"


def positive_seconds(text: str) -> float:
    """``--timeout``: a number of seconds above 0 and at most 300 (argparse type; ValueError otherwise)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0 or value > 300:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0 and at most 300")
    return value


def render_text(verdict: dict) -> str:
    """A human summary of a verdict: the level, the explanation, one line per certificate."""
    lines = [f"{verdict['level'].upper()}" + (f" ({verdict['category']})" if verdict.get("category") else ""),
             safe_text(verdict["explanation"])]
    who = verdict.get("interceptor")
    if who and who.get("owner"):
        lines.append(f"owner: {safe_text(who['owner'])} ({who['kind']}: {safe_text(who['product'])})")
    elif who:
        claim = "key (the one the product ships)" if who["by"] == "spki_sha256" else "name (a claim, not proof)"
        lines.append(f"looks like: {safe_text(who['product'])} ({safe_text(who['vendor'])}), {who['kind']}, "
                     f"by its root's {claim}; advice: {who['advice']}")
    if verdict.get("probe") and verdict["probe"].get("error") is None:
        p = verdict["probe"]
        lines.append(f"evidence: probe of {safe_text(p['host'])}:{p['port']} (SNI {safe_text(p['sni']) or '-'}), "
                     f"{p['elapsed_ms']:.1f} ms; a separate connection from the browser's")
        route = p.get("route") or {}
        if route.get("connected"):
            via = f"through the {route['proxy']} proxy" if route.get("proxy") else "direct"
            lines.append(f"route: connected to {safe_text(route['connected'])}, {via}")
    else:
        lines.append(f"evidence: {verdict['evidence']}")
    by_issuer = (verdict.get("matched") or {}).get("by") in ("issuer_name", "issuer_aki")
    for row in verdict["chain"]:
        mark = ("  <- its issuer matched" if by_issuer else "  <- matched") if row["matched"] else ""
        public = " [public root]" if row["public_root"] else ""
        lines.append(f"  [{row['index']}] {row['role']}: {safe_text(row['subject']) or '(no subject)'}{public}{mark}")
        lines.append(f"      issuer {safe_text(row['issuer'])}")
        lines.append(f"      cert_sha256 {row['cert_sha256']}  spki_sha256 {row['spki_sha256']}")
        if row["not_before"] or row["not_after"]:
            lines.append(f"      valid {row['not_before']} .. {row['not_after']}")
        if row["parse_error"]:
            lines.append(f"      parse error: {safe_text(row['parse_error'])}")
    if verdict.get("matched"):
        entry = verdict["matched"]["entry"]
        lines.append(f"matched by {verdict['matched']['by']}: {safe_text(entry['name'])} "
                     f"(list: {entry['list']}; source: {safe_text(entry['source'])[:200]})")
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    from native_host.engine.chains import chain_from_bytes
    from native_host.enterprise.config import load_system_config
    from native_host.messaging.host import Service

    service = Service.from_config(load_system_config())
    service.probing = service.system_probing = True  # the person asked for this check; probing binds the host only
    target = parse_target(args.target)
    if isinstance(target, Path):
        routed = [flag for flag, value in (("--proxy", args.proxy), ("--connect-to", args.connect_to)) if value]
        if routed:
            raise BadInput(f"{' and '.join(routed)} only apply to a probe (https://host, host:port or a host name), "
                           f"not to the file {safe_text(str(target))}")
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise BadInput(f"cannot read {safe_text(str(target))}: {exc.strerror}") from exc
        try:
            chain = chain_from_bytes(data, name=str(target))
        except RootSentinelError as exc:
            if str(target) in str(exc):
                raise
            # the readers name the form ("securityinfo: ..."), not the file: say which file it was
            raise type(exc)(f"{target}: {exc}") from exc
        verdict = service.record(service.judge(chain, fetch_issuers=args.fetch_issuers))
    else:
        from native_host.messaging.route import Route

        route = Route.from_cli(args.connect_to, args.proxy)
        verdict = service.probe(target[0], target[1], timeout=args.timeout, route=route)
    if args.json:
        sys.stdout.write(dumps_json(verdict, indent=1) + "\n")
    else:
        sys.stdout.write(render_text(verdict) + "\n")
    if verdict["reason"] == "probe_failed" and args.json:
        # the text output already says why on stdout; under --json a script may want the line too
        print(f"rootsentinel: {safe_text(verdict['probe']['error'])}", file=sys.stderr)
    return EXIT[verdict["level"]]


def cmd_host(args: argparse.Namespace) -> int:
    from native_host.messaging.host import run

    return run(max_frame=args.max_frame)


class UsageError(RootSentinelError):
    """A command line argparse refused (unknown option, missing argument); exit code 3."""

    code = "usage"

    def __init__(self, message: str, parser: argparse.ArgumentParser):
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on exit code 3 (2 means ``banned`` here): :class:`UsageError`, which
    :func:`main` prints (and under ``--json`` also as an error object)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self)


def error_object(exc: RootSentinelError) -> dict:
    """The JSON object ``--json`` prints for an error that ends in exit code 3:
    ``{"type": "error", "code": <the error's protocol code>, "message": <one line>}``."""
    return {"type": "error", "code": exc.code, "message": safe_text(str(exc))}


def _fail(exc: RootSentinelError, as_json: bool) -> int:
    """Report ``exc`` as one line on stderr (and under ``--json`` as one JSON object on stdout); returns 3."""
    if isinstance(exc, UsageError):
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: {safe_text(str(exc))}", file=sys.stderr)
    else:
        print(f"rootsentinel: {safe_text(str(exc))}", file=sys.stderr)
    if as_json:
        sys.stdout.write(dumps_json(error_object(exc)) + "\n")
    return 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb registered."""
    parser = _Parser(prog="rootsentinel", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"rootsentinel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p = sub.add_parser("check", help="judge a chain file, a SecurityInfo JSON, or https://host[:port]",
                       description="Exit codes: 0 ok, 1 notice or interception, 2 banned, 3 unknown or error.")
    p.add_argument("target", help="PEM/DER chain file (leaf first), SecurityInfo JSON file, or a server to probe: "
                                  "https://host[:port], host:port or a host name (example.org)")
    p.add_argument("--json", action="store_true", help="print the verdict object the host would send")
    p.add_argument("--timeout", type=positive_seconds, default=5.0,
                   help="probe timeout in seconds, above 0 and at most 300 (default 5)")
    p.add_argument("--fetch-issuers", action="store_true",
                   help="for a chain file: fetch a missing issuer from its AIA caIssuers http:// URL (64 KiB, 3 s); "
                        "probes always do")
    p.add_argument("--proxy", metavar="URL", help="probe through this proxy, as a browser set to use it does: "
                   "http://HOST:PORT (HTTP CONNECT) or socks5://HOST:PORT")
    p.add_argument("--connect-to", metavar="ADDR", help="probe this IP address instead of resolving the name "
                   "(the name still goes in SNI), e.g. the address the browser connected to")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("host", help="run the native messaging host on stdin/stdout (host manifests launch this)",
                       description="Run the native messaging host: read frames (a 4-byte native-order length, then "
                                   "UTF-8 JSON) on stdin and answer each on stdout. Browsers start this through the "
                                   "host manifest that 'rootsentinel install' writes; you do not run it by hand "
                                   "(docs/protocol.md).")
    p.add_argument("--max-frame", type=int, default=8 * 1024 * 1024,
                   help="largest incoming frame accepted, in bytes (default 8 MiB); a larger one gets an error frame")
    p.set_defaults(func=cmd_host)
    for module in ("native_host.install.cli", "native_host.enterprise.blocklist_cli", "native_host.scan.cli",
                   "native_host.enterprise.telemetry_cli"):
        try:
            mod = __import__(module, fromlist=["add_parsers"])
        except ImportError:
            continue
        mod.add_parsers(sub)
    return parser


def _launched_by_browser(argv: list[str]) -> bool:
    """True when a browser started us directly (a frozen bundle named in a host manifest): Firefox passes
    the manifest path and the extension id, Chrome the ``chrome-extension://ID/`` origin and on Windows
    ``--parent-window=`` (browser-apis.md 3.1)."""
    if not argv:
        return False
    first = argv[0]
    return first.startswith(("chrome-extension://", "--parent-window=")) or first.lower().endswith(".json")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if _launched_by_browser(argv) or (argv[:1] == ["host"] and not {"-h", "--help"} & set(argv)):
        # Fast path for what browsers launch: no parser with every verb (their imports cost start-up time).
        from native_host.messaging.host import main_from_argv

        return main_from_argv(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return _fail(exc, "--json" in argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 3
    try:
        return args.func(args)
    except RootSentinelError as exc:
        return _fail(exc, bool(getattr(args, "json", False)))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure is one line and exit 3 (1 means interception)
        print(f"rootsentinel: internal error ({type(exc).__name__}): {safe_text(' '.join(str(exc).split()))[:300]}",
              file=sys.stderr)
        return 3
