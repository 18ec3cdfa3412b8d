"""NSS certificate databases: Firefox profiles (``cert9.db``), Chromium's ``~/.pki/nssdb`` on Linux, and
Fedora's shared system database ``/etc/pki/nssdb``, read with NSS ``certutil`` (``libnss3-tools``).

Firefox's built-in roots live in ``libnssckbi`` and are not in ``cert9.db``: what a profile database holds
is what a user, an installer, an antivirus or a ``Certificates.Install`` policy added, plus cached
intermediates without trust. That is exactly what a scan is after.

Commands (NSS Tools ``certutil`` documentation, "-L" and "-a"; ``sql:`` selects the SQLite databases
``cert9.db``/``key4.db`` used since Firefox 58)::

    certutil -L -d sql:DIR              # nickname + trust attributes, one line per certificate
    certutil -L -d sql:DIR -n NICK -a   # that nickname's certificate(s) as PEM

Trust attributes are three comma-separated fields, SSL,S/MIME,JAR/XPI, each a set of letters:
``C`` trusted CA, ``c`` valid CA, ``T`` trusted CA for client certificates, ``P`` trusted peer,
``p`` valid peer (on a CA: *distrusted*; Firefox's "Distrust" writes ``p,p,p``), ``u`` user, ``w`` warn.
Here a certificate is a TLS trust anchor when its SSL field has ``C``, and distrusted when the SSL field
has ``p`` without ``C`` or ``P``.

On Windows ``certutil.exe`` is Microsoft's unrelated tool: :mod:`native_host.scan.readers` passes NSS's
``certutil`` only from ``ROOTSENTINEL_NSS_CERTUTIL`` there.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path, PurePath

from native_host.engine.certfacts import pem_blocks
from native_host.errors import BadDER
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


def parse_list(output: bytes) -> list[tuple[str, str]]:
    """Parse ``certutil -L -d sql:DIR`` output into ``[(nickname, trust), ...]`` in output order.

    The nickname is everything before the trailing trust column (nicknames contain spaces and commas);
    the two header lines are skipped.

    Raises:
        StoreUnreadable: a non-header line is not "nickname  x,y,z".
    """
    out = []
    for raw in output.decode("utf-8", "replace").splitlines():
        line = raw.rstrip()
        if not line or line.startswith("Certificate Nickname") or line.strip() == "SSL,S/MIME,JAR/XPI":
            continue
        m = _LIST_LINE.match(line)
        if not m:
            raise StoreUnreadable(f"unexpected certutil -L line: {line[:120]!r}")
        out.append((m.group("nick"), m.group("trust")))
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


def discover(ctx: ScanContext) -> list[Store]:
    """NSS databases with a ``cert9.db``: Firefox profiles and ``~/.pki/nssdb`` of every home in
    ``ctx.homes``, and the system database."""
    stores: list[Store] = []
    seen: set[Path] = set()

    def add(folder: Path, owner: str) -> None:
        key = folder.resolve()
        if key in seen or not is_file(folder / "cert9.db"):
            return
        seen.add(key)
        stores.append(Store("nss", f"sql:{ctx.shown(folder)}", folder, owner=owner))

    for home in ctx.homes:
        real_home = ctx.real(str(PurePath(home).as_posix())) if ctx.root else Path(home)
        for rel in FIREFOX_PROFILE_DIRS:
            for folder in _profiles(ctx, real_home / rel):
                add(folder, "firefox")
        add(real_home / USER_NSSDB, "chromium")
    add(ctx.real(SYSTEM_NSSDB), "system")
    return stores


def read(store: Store, ctx: ScanContext) -> list[Installed]:
    """Every certificate in one NSS database, with its nickname and trust.

    The tool is ``ctx.nss_certutil`` (None: not available on this OS without configuration).

    Raises:
        ToolMissing: no NSS ``certutil`` (Debian/Ubuntu: ``apt-get install libnss3-tools``; Fedora:
            ``nss-tools``; macOS: ``brew install nss``).
        StoreUnreadable: ``certutil`` failed or printed something unexpected.
    """
    certutil = ctx.nss_certutil
    if not certutil:
        raise ToolMissing("NSS certutil is not configured (set ROOTSENTINEL_NSS_CERTUTIL)")
    assert store.path is not None
    db = f"sql:{store.path}"
    try:
        listing = parse_list(ctx.run([certutil, "-L", "-d", db]))
    except ToolMissing as exc:
        raise ToolMissing(f"{exc} (NSS tools: apt-get install libnss3-tools)") from exc
    out: list[Installed] = []
    done: set[str] = set()
    for nick, trust in listing:
        if nick in done:
            continue
        done.add(nick)
        anchor, distrusted = trust_flags(trust)
        for der in parse_pem(ctx.run([certutil, "-L", "-d", db, "-n", nick, "-a"])):
            out.append(Installed(der, store, nick, trust=trust, anchor=anchor, distrusted=distrusted))
    return out
