"""How to remove each finding of a scan, for the store it was found in (issue 14, item 4).

:func:`plan_finding` turns every place a banned, non-public or allow-listed anchor was found into a
:class:`Step`: the commands that remove it from that store (argv lists, never shell strings: nicknames,
paths and subjects are attacker-controlled) plus what an automatic removal needs (``action``, ``data``:
``scan --fix`` carries them out in :mod:`native_host.scan.fix`; this module only plans). :func:`removal_json` is the ``remove`` field of a ``scan --json`` finding; :func:`command_line`
quotes argv for display (:func:`shlex.quote` on POSIX; on Windows for cmd.exe and PowerShell both,
:func:`windows_command_line`).

Commands per store (sources: NSS Tools ``certutil`` "-D" (delete a certificate by nickname); Debian
``update-ca-certificates(8)`` ("Certificates ... prefixed with ! in /etc/ca-certificates.conf are
removed") and the script itself (/usr/sbin/update-ca-certificates: ``--certsconf``, ``--certsdir``,
``--localcertsdir``, ``--etccertsdir``, ``--hooksdir``); RHEL ``update-ca-trust(8)`` (``extract``; files
in ``/etc/pki/ca-trust/source/blocklist`` are distrusted); Microsoft Learn "certutil" (``-delstore
CertificateStoreName CertId``, ``-user`` for the current user's stores); ``security(1)``
(``delete-certificate -Z hash keychain``, hash the SHA-1 of the certificate)):

============== ========================================================================================
store          commands
============== ========================================================================================
nss            ``certutil -D -d sql:DIR -n NICK`` (``scan --fix`` runs it with a private module configuration
               as the database's owner: :mod:`native_host.scan._nsstool`)
anchors        ``rm -- FILE`` then ``update-ca-certificates`` (Debian, Ubuntu, SUSE folders) or
               ``update-ca-trust extract`` (Fedora, RHEL, Arch folders); a file that holds other
               certificates too is rewritten without this one (no single command: the text says so)
distribution   Debian/Ubuntu: ``!mozilla/NAME.crt`` in ``/etc/ca-certificates.conf`` (the ``sed`` line
               shown does exactly that), then ``update-ca-certificates``; Fedora/RHEL: a copy of the
               certificate in ``/etc/pki/ca-trust/source/blocklist/``, then ``update-ca-trust extract``
               (text only, not done by ``--fix``)
windows        ``certutil -delstore Root THUMBPRINT`` (machine), ``certutil -user -delstore Root
               THUMBPRINT`` (user); the same with ``CA`` for the intermediate stores
macos          ``security delete-certificate -Z SHA1 KEYCHAIN`` (``sudo`` for the System keychain);
               Apple's own root keychain is read-only (SIP): nothing to run
============== ========================================================================================

A system bundle entry that no anchors file and no distribution file explains was appended to the
generated bundle by hand: regenerating the bundle drops it (the ``anchors`` store, location the bundle).

Paths in commands are the real paths to open on this machine (under ``--root`` with the tree's prefix),
as the text report shows them.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from native_host.errors import BadDER
from native_host.scan._files import _read_file, parse_cert_file
from native_host.scan.findings import Finding, Place
from native_host.scan.model import ScanContext, StoreUnreadable, is_dir, is_file
from native_host.textsafe import escape

REMOVABLE = ("banned", "non-public", "allowlisted")
"""Place statuses that get a removal step (``scan --fix`` removes only ``banned``, and ``non-public`` with
``--include-interception``; an allow-listed root is the organisation's own and is never removed by it)."""

DEBIAN_CONF = "/etc/ca-certificates.conf"
DEBIAN_CERTSDIR = "/usr/share/ca-certificates"
DEBIAN_LOCAL = "/usr/local/share/ca-certificates"
DEBIAN_ETCCERTS = "/etc/ssl/certs"
RHEL_BLOCKLIST = "/etc/pki/ca-trust/source/blocklist"

_FAMILY_OF_ANCHOR_DIR = {
    "/usr/local/share/ca-certificates": "debian",
    "/etc/pki/ca-trust/source/anchors": "rhel",
    "/usr/share/pki/ca-trust-source/anchors": "rhel",
    "/etc/pki/trust/anchors": "suse",
    "/usr/share/pki/trust/anchors": "suse",
    "/etc/ca-certificates/trust-source/anchors": "arch",
}
"""Which distribution's tool merges each anchors folder (:data:`native_host.scan._files.ANCHOR_DIRS`)."""

REGENERATE = {"debian": ["update-ca-certificates"], "suse": ["update-ca-certificates"],
              "rhel": ["update-ca-trust", "extract"], "arch": ["update-ca-trust"]}
"""The command that rebuilds the system bundle from the anchors, per distribution family."""


def regenerate_argv(family: str, ctx: ScanContext) -> list[str]:
    """The command that rebuilds the bundle of ``family`` (:data:`REGENERATE`) for the scanned system.

    On this machine that is the plain command. Under ``--root`` it must not touch this machine's store:
    Debian's ``update-ca-certificates`` takes every path as an option (``--certsconf``, ``--certsdir``,
    ``--localcertsdir``, ``--etccertsdir``; read in /usr/sbin/update-ca-certificates) and they all point
    inside the tree, with ``--hooksdir /dev/null`` (not a folder: the tree's hooks, which a mounted disk
    could plant, are not run). The symbolic links it makes in the tree's ``/etc/ssl/certs`` then carry the
    tree's prefix: run ``update-ca-certificates --fresh`` once that system runs again. The other tools have
    no such options: under ``--root`` they are shown as ``chroot DIR ...`` and not run by ``--fix``.
    """
    argv = REGENERATE[family]
    if ctx.root is None:
        return list(argv)
    if family == "debian":
        return [argv[0], "--certsconf", str(ctx.real(DEBIAN_CONF)), "--certsdir", str(ctx.real(DEBIAN_CERTSDIR)),
                "--localcertsdir", str(ctx.real(DEBIAN_LOCAL)), "--etccertsdir", str(ctx.real(DEBIAN_ETCCERTS)),
                "--hooksdir", "/dev/null"]
    return ["chroot", str(ctx.root), *argv]


def distro_family(ctx: ScanContext) -> str | None:
    """``debian``, ``rhel``, ``suse``, ``arch`` or None, from what the scanned tree (``ctx.root``) shows:
    ``/etc/debian_version``, ``/etc/pki/ca-trust``, ``/etc/pki/trust``, ``/etc/arch-release``."""
    if is_file(ctx.real("/etc/debian_version")):
        return "debian"
    if is_dir(ctx.real("/etc/pki/ca-trust")):
        return "rhel"
    if is_file(ctx.real("/etc/arch-release")):
        return "arch"
    if is_dir(ctx.real("/etc/pki/trust")):
        return "suse"
    if is_file(ctx.real(DEBIAN_CONF)):
        return "debian"
    return None


_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_\-.:/\\=+]+$")
"""Characters that mean themselves, unquoted, in cmd.exe and in PowerShell alike."""

_SIMPLE_QUOTED = re.compile(r"^[A-Za-z0-9_\-.:/\\=+ ,]*[A-Za-z0-9_\-.:/=+ ,]$")
"""Words that mean themselves inside double quotes in both shells (no ``"$`%!^``, no trailing backslash,
which the C runtime would read as an escaped quote)."""

_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
"""What PowerShell takes as a single quote (its tokenizer accepts the typographic ones too)."""


def powershell_word(arg: str) -> str:
    """``arg`` as one PowerShell literal: single-quoted, every single quote (ASCII or typographic) doubled;
    nothing inside a single-quoted string is expanded (about_Quoting_Rules)."""
    return "'" + "".join(c + c if c in _PS_QUOTES else c for c in arg) + "'"


def windows_command_line(argv: list[str]) -> str:
    """``argv`` as text a person pastes into a Windows shell without it being misread.

    When every word is plain (:data:`_PLAIN_WORD`, or :data:`_SIMPLE_QUOTED` in double quotes) the line
    means the same in cmd.exe and PowerShell and is shown once. Otherwise both forms are shown: ``in cmd.exe: ...`` quoted for cmd.exe and the Microsoft
    C runtime (``mslex.quote``: ``&|<>^%!()"`` escaped with ``^`` outside quotes, so cmd.exe runs nothing
    else and expands no variable), and ``in PowerShell: & '...' '...'`` (every word a single-quoted literal,
    run with the call operator). ``list2cmdline``, used before, quoted only spaces: a nickname
    ``Printer&calc.exe`` started ``calc.exe`` in cmd.exe.
    """
    import mslex

    if all(_PLAIN_WORD.match(a) or _SIMPLE_QUOTED.match(a) for a in argv):
        return " ".join(a if _PLAIN_WORD.match(a) else f'"{a}"' for a in argv)
    cmd = " ".join(mslex.quote(a, for_cmd=True) for a in argv)
    return f"in cmd.exe: {cmd}  in PowerShell: & {' '.join(powershell_word(a) for a in argv)}"


def command_line(argv: list[str], windows: bool = False) -> str:
    """``argv`` as one command line to show: each word quoted for a POSIX shell (:func:`shlex.quote`), or for
    cmd.exe and PowerShell when ``windows`` (:func:`windows_command_line`); then made safe for a terminal
    (:func:`native_host.textsafe.escape`: a control character in a nickname is shown as ``\\xNN``, never
    sent raw)."""
    text = windows_command_line(argv) if windows else " ".join(shlex.quote(a) for a in argv)
    return escape(text)


def sed_disable(line: str, conf: str) -> list[str]:
    """``sed -i`` argv that turns the line ``line`` of ``conf`` into ``!line`` (BRE metacharacters of the
    file name escaped, ``/`` included), what :func:`native_host.scan.fix` does in Python."""
    pattern = re.sub(r"([\\/.*\[\]^$])", r"\\\1", line)
    return ["sed", "-i", "-e", f"s/^{pattern}$/!&/", conf]


@dataclass
class Step:
    """How to remove one certificate from one place.

    Attributes:
        store: ``nss``, ``anchors``, ``distribution``, ``windows``, ``macos``.
        location: where, as a person can open it here (an NSS ``sql:DIR``, an anchors or bundle file, a
            Windows store ``Cert:\\LocalMachine\\Root``, a keychain file).
        label: the store's name for it (nickname, file#index, thumbprint), or None.
        status: the place's status (``banned``, ``non-public``, ``allowlisted``).
        commands: the commands that remove it, in order (argv lists).
        text: one line saying what to do (display text, already made terminal-safe).
        action: what ``scan --fix`` does: ``nss-delete``, ``delete-file``, ``rewrite-file``,
            ``conf-disable``, ``regenerate``, ``run`` (Windows/macOS through the runner), or None (manual).
        data: what that action needs (paths, nickname, conf line, undo argv).
        regenerate: the distribution family whose bundle must be rebuilt afterwards, or None.
        windows: commands are shown with Windows quoting.
    """

    store: str
    location: str
    label: str | None
    status: str
    commands: list[list[str]]
    text: str
    action: str | None
    data: dict[str, Any] = field(default_factory=dict)
    regenerate: str | None = None
    windows: bool = False

    @property
    def fixable(self) -> bool:
        """``scan --fix`` can carry it out on this machine."""
        return self.action is not None

    def one_line(self) -> str:
        """The commands as one line (``a && b``), for the popup (``installed_in[].remove``)."""
        return " && ".join(command_line(c, self.windows) for c in self.commands)

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "location": self.location, "label": self.label, "status": self.status,
                "commands": [list(c) for c in self.commands], "text": self.text, "fix": self.fixable}


def _nss_step(place: Place, ctx: ScanContext, windows: bool) -> Step:
    store = place.installed.store
    assert store.path is not None
    scheme = "dbm" if store.location.startswith("dbm:") else "sql"
    db = f"{scheme}:{store.path}"
    nick = place.installed.label
    certutil = ctx.nss_certutil or "certutil"
    argv = [certutil, "-D", "-d", db, "-n", nick or ""]
    if not nick:  # certutil addresses a certificate by nickname only
        return Step("nss", db, None, place.status, [],
                    f"it has no nickname in the NSS database {escape(db)}: delete it in the browser's certificate "
                    f"manager", None)
    # the argv shown is what a person would run; scan --fix runs it through native_host.scan._nsstool (a private
    # module configuration, as the database's owner), from the data below
    return Step("nss", db, nick, place.status, [argv],
                f"delete it from the NSS database {escape(db)} (close the browser first): "
                f"{command_line(argv, windows)}", "nss-delete",
                {"db": str(store.path), "nickname": nick, "scheme": scheme, "certutil": certutil,
                 "rooted": ctx.root is not None}, windows=windows)


def _anchor_step(place: Place, ctx: ScanContext, finding: Finding) -> Step:
    store = place.installed.store
    assert store.path is not None
    rel = (place.installed.label or "").rsplit("#", 1)[0]
    path = store.path / rel
    family = _FAMILY_OF_ANCHOR_DIR.get(store.location) or distro_family(ctx) or "debian"
    regen = regenerate_argv(family, ctx)
    others = _other_certs(path, finding.facts.cert_sha256)
    if others:
        return Step("anchors", str(path), place.installed.label, place.status, [regen],
                    f"{escape(str(path))} holds {others} other certificate(s) too: delete this one from the file "
                    f"(cert_sha256 {finding.facts.cert_sha256}), then run {command_line(regen)}",
                    "rewrite-file", {"path": str(path)}, regenerate=family)
    rm = ["rm", "--", str(path)]
    return Step("anchors", str(path), place.installed.label, place.status, [rm, regen],
                f"delete the file and rebuild the system bundle: {command_line(rm)} && {command_line(regen)}",
                "delete-file", {"path": str(path)}, regenerate=family)


def _other_certs(path: Path, cert_sha256: str) -> int:
    """How many certificates in the file at ``path`` are not ``cert_sha256`` (0 when unreadable)."""
    try:  # the reader's own bounded read (MAX_FILE_BYTES) and parser
        ders = parse_cert_file(_read_file(path))
    except (BadDER, StoreUnreadable):
        return 0
    return sum(1 for d in ders if hashlib.sha256(d).hexdigest() != cert_sha256)


def _bundle_step(place: Place, ctx: ScanContext, covered: bool) -> Step | None:
    store = place.installed.store
    assert store.path is not None
    family = distro_family(ctx)
    source = place.installed.source
    if source and source.startswith(DEBIAN_CERTSDIR + "/"):
        line = source[len(DEBIAN_CERTSDIR) + 1:]
        conf = str(ctx.real(DEBIAN_CONF))
        regen = regenerate_argv("debian", ctx)
        sed = sed_disable(line, conf)
        return Step("distribution", str(ctx.real(source)), line, place.status, [sed, regen],
                    f"the distribution's ca-certificates package ships it ({escape(source)}): mark it "
                    f"!{escape(line)} in {escape(conf)} and rebuild the bundle: {command_line(sed)} && "
                    f"{command_line(regen)}", "conf-disable", {"conf": conf, "line": line}, regenerate="debian")
    if source:  # Fedora/RHEL, Arch: one p11-kit file ships the whole store
        regen = regenerate_argv("arch" if family == "arch" else "rhel", ctx)
        blocklist = str(ctx.real(RHEL_BLOCKLIST))
        return Step("distribution", str(ctx.real(source)), None, place.status, [regen],
                    f"the distribution's ca-certificates package ships it ({escape(source)}): save a copy of the "
                    f"certificate in {escape(blocklist)}/ and run {command_line(regen)}", None)
    if covered:
        return None  # an anchors step of the same certificate rebuilds the bundle
    regen = regenerate_argv(family or "debian", ctx)
    return Step("anchors", str(store.path), place.installed.label, place.status, [regen],
                f"it was added to the generated bundle {escape(str(store.path))} by hand: rebuild the bundle "
                f"without it: {command_line(regen)}", "regenerate", {"path": str(store.path)},
                regenerate=family or "debian")


_WINDOWS_STORE = re.compile(r"^Cert:\\(LocalMachine|CurrentUser)\\(Root|CA)$")


def _windows_step(place: Place) -> Step:
    store = place.installed.store
    m = _WINDOWS_STORE.match(store.location)
    assert m, store.location
    user = ["-user"] if m.group(1) == "CurrentUser" else []
    thumb = place.installed.label or ""
    argv = ["certutil", *user, "-delstore", m.group(2), thumb]
    undo = ["certutil", *user, "-addstore", m.group(2)]  # + the backed-up certificate file
    who = "as an administrator" if not user else "Windows asks to confirm a user root's removal"
    return Step("windows", store.location, thumb, place.status, [argv],
                f"delete it from {store.location} ({who}): {command_line(argv, True)}; a root pushed by Group "
                f"Policy or Intune comes back until it is removed from that policy", "run",
                {"argv": argv, "undo": undo}, windows=True)


def _macos_step(place: Place, finding: Finding) -> Step:
    store = place.installed.store
    if store.vendor:
        return Step("macos", store.location, place.installed.label, place.status, [],
                    "Apple's own root keychain is read-only: set the root to \"Never Trust\" in Keychain Access",
                    None)
    assert store.path is not None
    sha1 = hashlib.sha1(_der(finding)).hexdigest().upper()  # noqa: S324 - security(1) names certs by SHA-1
    keychain = str(store.path)
    argv = ["security", "delete-certificate", "-Z", sha1, keychain]
    sudo = "sudo " if store.owner == "machine" else ""
    return Step("macos", store.location, place.installed.label, place.status, [argv],
                f"delete it from the keychain: {sudo}{command_line(argv)}", "run",
                {"argv": argv, "undo": ["security", "add-certificates", "-k", keychain]})


def _der(finding: Finding) -> bytes:
    return finding.places[0].installed.der


def plan_finding(finding: Finding, ctx: ScanContext, windows: bool = False) -> list[Step]:
    """The removal steps for every place of ``finding`` whose status is in :data:`REMOVABLE`.

    Args:
        finding: a judged certificate (:class:`native_host.scan.findings.Finding`).
        ctx: the scan's context (``--root`` prefix, NSS certutil).
        windows: show NSS commands with Windows quoting (the scan ran on Windows).

    Returns:
        Steps in place order; empty for a finding with nothing to remove (public, distrusted...).
    """
    steps: list[Step] = []
    places = [p for p in finding.places if p.status in REMOVABLE]
    covered = any(p.installed.store.kind == "linux-anchors" for p in places)
    for place in places:
        kind = place.installed.store.kind
        step: Step | None
        if kind == "nss":
            step = _nss_step(place, ctx, windows)
        elif kind == "linux-anchors":
            step = _anchor_step(place, ctx, finding)
        elif kind == "linux-bundle":
            step = _bundle_step(place, ctx, covered)
        elif kind == "windows":
            step = _windows_step(place)
        elif kind == "macos-keychain":
            step = _macos_step(place, finding)
        else:  # a distrust folder protects: never a removal
            step = None
        if step is not None:
            step.data.setdefault("cert_sha256", finding.facts.cert_sha256)
            steps.append(step)
    return steps


def removal_json(steps: list[Step]) -> dict[str, Any] | None:
    """The ``remove`` field of a ``scan --json`` finding, or None without steps::

        {"commands": [[argv...], ...],        # every step's commands, in order
         "text": "...",                       # one line per step
         "steps": [{"store", "location", "label", "status", "commands", "text", "fix"}, ...]}
    """
    if not steps:
        return None
    return {"commands": [list(c) for s in steps for c in s.commands],
            "text": "\n".join(s.text for s in steps),
            "steps": [s.to_json() for s in steps]}


REMOVE_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "null"}, {
        "type": "object", "additionalProperties": False, "required": ["commands", "text", "steps"],
        "properties": {
            "commands": {"type": "array", "items": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
            "text": {"type": "string"},
            "steps": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["store", "location", "label", "status", "commands", "text", "fix"],
                "properties": {
                    "store": {"enum": ["nss", "anchors", "distribution", "windows", "macos"]},
                    "location": {"type": "string"}, "label": {"type": ["string", "null"]},
                    "status": {"enum": list(REMOVABLE)},
                    "commands": {"type": "array", "items": {"type": "array", "minItems": 1,
                                                            "items": {"type": "string"}}},
                    "text": {"type": "string"}, "fix": {"type": "boolean"}}}}}}]}
"""JSON Schema of :func:`removal_json` (part of ``REPORT_SCHEMA``)."""
