"""NSS certificate databases: Firefox profiles (``cert9.db``), Chromium's ``~/.pki/nssdb`` on Linux, and
Fedora's shared system database ``/etc/pki/nssdb``.

Firefox's built-in roots live in ``libnssckbi`` and are not in ``cert9.db``: what a profile database holds
is what a user, an installer, an antivirus or a ``Certificates.Install`` policy added, plus cached
intermediates without trust. That is exactly what a scan is after.

A ``cert9.db`` (SQLite, Firefox 58 on) is read directly (:mod:`native_host.scan._nssdb`): no NSS code runs,
so the database's ``pkcs11.txt`` (which names modules NSS would load) is never looked at. A folder with only
a legacy ``cert8.db`` (Berkeley DB) is read with NSS ``certutil`` (``libnss3-tools``), through
:mod:`native_host.scan._nsstool` (a private module configuration, as the folder's owner; never under
``--root``)::

    certutil -L -d dbm:DIR              # nickname + trust attributes, one line per certificate
    certutil -L -d dbm:DIR -n NICK -a   # that nickname's certificate(s) as PEM

Trust attributes are three comma-separated fields, SSL,S/MIME,JAR/XPI, each a set of letters:
``C`` trusted CA, ``c`` valid CA, ``T`` trusted CA for client certificates, ``P`` trusted peer,
``p`` valid peer (on a CA: *distrusted*; Firefox's "Distrust" writes ``p,p,p``), ``u`` user, ``w`` warn.
Here a certificate is a TLS trust anchor when its SSL field has ``C``, and distrusted when the SSL field
has ``p`` without ``C`` or ``P``.

One odd entry (a nickname with a line break, an object without a value) is a note in the report's
``problems``; the rest of the database is still read.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path, PurePath

from native_host.engine.certfacts import pem_blocks
from native_host.errors import BadDER
from native_host.scan._nssdb import read_cert9
from native_host.scan.model import Installed, ScanContext, Store, StoreUnreadable, ToolMissing, is_file

FIREFOX_PROFILE_DIRS = (
    ".mozilla/firefox",                                   # Linux
    "snap/firefox/common/.mozilla/firefox",               # Linux, Ubuntu's snap
    ".var/app/org.mozilla.firefox/.mozilla/firefox",      # Linux, Flatpak
    "Library/Application Support/Firefox",                # macOS (profiles.ini; Profiles/*)
    "AppData/Roaming/Mozilla/Firefox",                    # Windows (profiles.ini; Profiles\*)
)
"""Folders under a home that hold Firefox's ``profiles.ini`` and profile folders."""

USER_NSSDB = ".pki/nssdb"
"""Chromium's and Chrome's NSS database on Linux (per user)."""

SYSTEM_NSSDB = "/etc/pki/nssdb"
"""Fedora/RHEL's shared system NSS database."""

_LIST_LINE = re.compile(r"^(?P<nick>.*\S)\s+(?P<trust>[A-Za-z]*,[A-Za-z]*,[A-Za-z]*)$")


def parse_list(output: bytes, notes: list[str] | None = None) -> list[tuple[str, str]]:
    """Parse ``certutil -L -d DIR`` output into ``[(nickname, trust), ...]`` in output order.

    The nickname is everything before the trailing trust column (nicknames contain spaces and commas);
    the two header lines are skipped. A nickname with a line break spans several lines: the lines without
    a trust column are joined (with ``\\n``) to the next line that has one. Output that ends in such lines
    is a note in ``notes``, not an error: the entries before are still listed.

    Raises:
        StoreUnreadable: no line of the output is a certificate and some line is not a header (certutil
            printed an error, not a listing).
    """
    out: list[tuple[str, str]] = []
    pending: list[str] = []
    odd = False
    for raw in output.decode("utf-8", "replace").split("\n"):
        line = raw.rstrip("\r")
        if not pending and (not line.strip() or line.startswith("Certificate Nickname")
                            or line.strip() == "SSL,S/MIME,JAR/XPI"):
            continue
        m = _LIST_LINE.match(line.rstrip())
        if m:
            out.append(("\n".join([*pending, m.group("nick")]), m.group("trust")))
            pending = []
        elif line.strip() or pending:
            pending.append(line)
            odd = True
    if pending and any(p.strip() for p in pending):
        if not out:
            raise StoreUnreadable(f"unexpected certutil -L line: {pending[0][:120]!r}")
        if notes is not None:
            notes.append(f"certutil -L ended with lines that are not an entry: {pending[0][:120]!r}")
    elif odd and notes is not None:
        notes.append("a nickname spans several lines (a line break in it)")
    return out


def parse_pem(output: bytes) -> list[bytes]:
    """The DER certificates in ``certutil -L -n NICK -a`` output (one or more PEM blocks).

    Raises:
        StoreUnreadable: no certificate in the output, or a block is not base64.
    """
    try:
        ders = [der for label, der in pem_blocks(output) if label == "CERTIFICATE"]
    except BadDER as exc:
        raise StoreUnreadable(f"certutil -a: {exc}") from exc
    if not ders:
        raise StoreUnreadable("certutil -a printed no certificate")
    return ders


def trust_flags(trust: str) -> tuple[bool, bool]:
    """``(anchor, distrusted)`` from a trust string like ``C,,`` or ``p,p,p`` (see module doc)."""
    ssl = trust.split(",", 1)[0]
    anchor = "C" in ssl
    distrusted = "p" in ssl and not anchor and "P" not in ssl
    return anchor, distrusted


def _profiles(ctx: ScanContext, base: Path) -> list[Path]:
    """Profile folders under a Firefox folder: every ``*/cert9.db`` and ``Profiles/*/cert9.db``, plus
    absolute ``Path=`` entries of ``profiles.ini`` (re-rooted under ``--root``)."""
    found = [p.parent for pattern in ("*/cert9.db", "Profiles/*/cert9.db") for p in sorted(base.glob(pattern))]
    ini = base / "profiles.ini"
    if is_file(ini):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(ini.read_text("utf-8", "replace"))
        except (configparser.Error, OSError):
            return found
        for section in parser.sections():
            path = parser.get(section, "Path", fallback=None)
            if path and parser.get(section, "IsRelative", fallback="1") == "0":
                folder = ctx.real(path) if path.startswith("/") else Path(path)
                if is_file(folder / "cert9.db"):
                    found.append(folder)
    return found


def _is_db(folder: Path) -> bool:
    return is_file(folder / "cert9.db") or is_file(folder / "cert8.db")


def discover(ctx: ScanContext) -> list[Store]:
    """NSS databases with a ``cert9.db`` (or only a legacy ``cert8.db``): Firefox profiles and
    ``~/.pki/nssdb`` of every home in ``ctx.homes``, and the system database."""
    stores: list[Store] = []
    seen: set[Path] = set()

    def add(folder: Path, owner: str) -> None:
        key = folder.resolve()
        if key in seen or not _is_db(folder):
            return
        seen.add(key)
        scheme = "sql" if is_file(folder / "cert9.db") else "dbm"
        stores.append(Store("nss", f"{scheme}:{ctx.shown(folder)}", folder, owner=owner))

    for home in ctx.homes:
        real_home = ctx.real(str(PurePath(home).as_posix())) if ctx.root else Path(home)
        for rel in FIREFOX_PROFILE_DIRS:
            for folder in _profiles(ctx, real_home / rel):
                add(folder, "firefox")
        add(real_home / USER_NSSDB, "chromium")
    add(ctx.real(SYSTEM_NSSDB), "system")
    return stores


def read(store: Store, ctx: ScanContext) -> list[Installed]:
    """Every certificate in one NSS database, with its nickname and trust: ``cert9.db`` read directly
    (:func:`native_host.scan._nssdb.read_cert9`), a legacy ``cert8.db`` with ``certutil`` (:func:`read_dbm`).
    Odd entries are notes in ``ctx.notes``.

    Raises:
        StoreUnreadable: the database cannot be read (with the reason).
        ToolMissing: a legacy database and no NSS ``certutil``.
    """
    assert store.path is not None
    if is_file(store.path / "cert9.db"):
        out = []
        for cert in read_cert9(store.path / "cert9.db", ctx.notes):
            anchor, distrusted = trust_flags(cert.trust)
            out.append(Installed(cert.der, store, cert.label, trust=cert.trust, anchor=anchor, distrusted=distrusted))
        return out
    return read_dbm(store, ctx)


def read_dbm(store: Store, ctx: ScanContext) -> list[Installed]:
    """A legacy ``cert8.db`` (Berkeley DB, Firefox before 58), read with NSS ``certutil`` run by
    :func:`native_host.scan._nsstool.run_certutil` (never with the database's own ``secmod.db``, never as
    root on a folder root does not own, never under ``--root``).

    Raises:
        ToolMissing: no NSS ``certutil`` (Debian/Ubuntu: ``apt-get install libnss3-tools``; Fedora:
            ``nss-tools``; macOS: ``brew install nss``).
        StoreUnreadable: under ``--root``; refused by owner or mode; ``certutil -L`` failed.
    """
    from native_host.scan._nsstool import run_certutil

    certutil = ctx.nss_certutil
    if not certutil:
        raise ToolMissing("NSS certutil is not configured (set ROOTSENTINEL_NSS_CERTUTIL)")
    if ctx.root is not None:
        raise StoreUnreadable("a legacy cert8.db inside --root is not read (it needs NSS certutil, which would "
                              "run on the other system's files): open the profile in Firefox 58 or later to "
                              "convert it, or scan that system itself")
    assert store.path is not None

    def run(args: list[str]) -> bytes:
        try:
            proc = run_certutil(certutil, "dbm", store.path, args, timeout=ctx.tool_timeout())
        except ToolMissing as exc:
            raise ToolMissing(f"{exc} (NSS tools: apt-get install libnss3-tools)") from exc
        if proc.returncode != 0:
            err = " ".join(proc.stderr.decode("utf-8", "replace").split())[:300]
            raise StoreUnreadable(f"certutil exited {proc.returncode}: {err or 'no message'}")
        return proc.stdout

    out: list[Installed] = []
    done: set[str] = set()
    for nick, trust in parse_list(run(["-L"]), ctx.notes):
        if nick in done:
            continue
        done.add(nick)
        anchor, distrusted = trust_flags(trust)
        try:
            ders = parse_pem(run(["-L", "-n", nick, "-a"]))
        except StoreUnreadable as exc:  # one odd nickname: a note, the others are still read
            ctx.notes.append(f"{nick[:120]!r}: not read ({exc})")
            continue
        out.extend(Installed(der, store, nick, trust=trust, anchor=anchor, distrusted=distrusted) for der in ders)
    return out
