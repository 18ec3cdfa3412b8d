"""Reading an NSS ``cert9.db`` directly: it is a SQLite database, so no NSS code runs to read it.

Why not ``certutil -L``: NSS loads every PKCS #11 module its configuration folder names (``pkcs11.txt``
beside ``cert9.db``). A user who writes ``library=~/x.so`` there makes any process that opens the database
with NSS run ``x.so``, and ``rootsentinel scan --all-users`` runs as root. Reading the SQLite file with the
standard library loads nothing.

Layout (NSS ``lib/softoken/sdb.c``: ``CREATE TABLE nssPublic (id PRIMARY KEY ..., a0, a1, ...)``, one
column per PKCS #11 attribute type named ``a`` + the type in lowercase hex; ``lib/softoken/sftkdb.c``:
``CK_ULONG`` attributes are stored as 4-byte big-endian values; an attribute set to nothing is the 3 bytes
``a5 00 5a``, ``SQLITE_EXPLICIT_NULL``). Every object is one row of ``nssPublic``:

- a certificate: ``CKA_CLASS`` (``a0``) = ``CKO_CERTIFICATE`` 1, ``CKA_LABEL`` (``a3``) the nickname (UTF-8),
  ``CKA_VALUE`` (``a11``) the DER, ``CKA_ISSUER`` (``a81``) and ``CKA_SERIAL_NUMBER`` (``a82``);
- its trust: an object with the same issuer and serial number, either NSS's own ``CKO_NSS_TRUST``
  0xCE534353 with ``CKA_NSS_TRUST_SERVER_AUTH`` 0xCE536358, ``_CLIENT_AUTH`` 0xCE536359, ``_CODE_SIGNING``
  0xCE53635A, ``_EMAIL_PROTECTION`` 0xCE53635B (``lib/util/pkcs11n.h``), or, since NSS 3.113, a PKCS #11 3.2
  ``CKO_TRUST`` 0xB with ``CKA_PKCS_TRUST_SERVER_AUTH`` 0x62C .. ``_EMAIL_PROTECTION`` 0x62F
  (``lib/util/pkcs11t.h``). NSS looks for a ``CKO_TRUST`` first, then a ``CKO_NSS_TRUST``
  (``nssToken_FindTrustForCertificate`` in ``lib/dev/devtoken.c``), and so does :func:`read_cert9`.

Trust values become the ``certutil -L`` notation (``C,,``, ``p,p,p``, ``CT,C,C``) exactly as NSS derives it:
``get_nss_trust`` (``lib/dev/ckhelper.c``), ``get_nss3trust_from_nss4trust`` and
``cert_trust_from_stan_trust`` (``lib/pki/pki3hack.c``), ``printflags`` (``cmd/lib/secutil.c``).

The file is hostile input: it is read once (a regular file, at most :data:`MAX_DB_BYTES`) into an
in-memory SQLite database (``Connection.deserialize``: no journal, no lock, nothing written beside the
user's file), with ``trusted_schema`` off, ``cell_size_check`` on, a length limit and a time budget;
``nssPublic`` must be a table (a view would run the file's own SQL). One odd object (a class that is not 4
bytes, a certificate without a value) is a note and the rest of the database is still read.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from native_host.scan.model import StoreUnreadable

MAX_DB_BYTES = 64 << 20
"""A ``cert9.db`` larger than this is not read (a profile's holds kilobytes to a few MB)."""

MAX_OBJECTS = 100_000
"""Rows of ``nssPublic`` read at most; more is a note."""

TIME_BUDGET = 10.0
"""Seconds SQLite may spend on one database (a hostile file could make a query slow)."""

CKA_CLASS, CKA_LABEL, CKA_VALUE, CKA_ISSUER, CKA_SERIAL_NUMBER = 0x0, 0x3, 0x11, 0x81, 0x82
CKO_CERTIFICATE = 0x1
CKO_TRUST = 0xB
CKO_NSS_TRUST = 0xCE534353
NSS_TRUST_ATTRS = (0xCE536358, 0xCE536359, 0xCE53635B, 0xCE53635A)
"""``CKA_NSS_TRUST_`` SERVER_AUTH, CLIENT_AUTH, EMAIL_PROTECTION, CODE_SIGNING (certutil's field order)."""
PKCS_TRUST_ATTRS = (0x62C, 0x62D, 0x62F, 0x62E)
"""``CKA_PKCS_TRUST_`` SERVER_AUTH, CLIENT_AUTH, EMAIL_PROTECTION, CODE_SIGNING."""
EXPLICIT_NULL = b"\xa5\x00\x5a"

# nssTrustLevel from a CK_TRUST value of either kind (get_nss_trust, lib/dev/ckhelper.c)
_TRUSTED, _DELEGATOR, _VALID_DELEGATOR, _NOT_TRUSTED = "trusted", "delegator", "valid-delegator", "not-trusted"
_LEVEL = {
    0xCE53435A: _NOT_TRUSTED, 0x3: _NOT_TRUSTED,          # CKT_NSS_NOT_TRUSTED, CKT_NOT_TRUSTED
    0xCE534352: _DELEGATOR, 0x2: _DELEGATOR,              # CKT_NSS_TRUSTED_DELEGATOR, CKT_TRUST_ANCHOR
    0xCE53435B: _VALID_DELEGATOR,                         # CKT_NSS_VALID_DELEGATOR
    0xCE534351: _TRUSTED, 0x1: _TRUSTED,                  # CKT_NSS_TRUSTED, CKT_TRUSTED
}  # everything else (MUST_VERIFY, UNKNOWN, garbage): no flags

# CERTCertTrust flags (lib/certdb/certt.h) and the letters certutil prints for them
_VALID_CA, _TRUSTED_CA, _TERMINAL, _TRUSTED_PEER, _CLIENT_CA = 1 << 4, 1 << 3, 1 << 0, 1 << 1, 1 << 7
_FLAGS = {_TRUSTED: _TERMINAL | _TRUSTED_PEER, _DELEGATOR: _VALID_CA | _TRUSTED_CA,
          _NOT_TRUSTED: _TERMINAL, _VALID_DELEGATOR: _VALID_CA}


def _letters(flags: int) -> str:
    """``printflags`` of cmd/lib/secutil.c (without ``u``, which needs the private key database)."""
    out = ""
    if flags & _VALID_CA and not flags & (_TRUSTED_CA | _CLIENT_CA):
        out += "c"
    if flags & _TERMINAL and not flags & _TRUSTED_PEER:
        out += "p"
    if flags & _TRUSTED_CA:
        out += "C"
    if flags & _CLIENT_CA:
        out += "T"
    if flags & _TRUSTED_PEER:
        out += "P"
    return out


def trust_string(server: int | None, client: int | None, email: int | None, code: int | None) -> str:
    """The ``certutil -L`` trust column (``SSL,S/MIME,JAR/XPI``) for four ``CK_TRUST`` values (None: absent).

    >>> trust_string(0xCE534352, 0xCE53435B, None, None)
    'C,,'
    """
    def flags(value: int | None) -> int:
        return _FLAGS.get(_LEVEL.get(value, ""), 0) if value is not None else 0

    ssl = flags(server)
    client_flags = flags(client)
    if client_flags & _TRUSTED_CA:  # a CA trusted for client auth is "T" in the SSL field
        client_flags &= ~_TRUSTED_CA
        ssl |= _CLIENT_CA
    ssl |= client_flags
    return f"{_letters(ssl)},{_letters(flags(email))},{_letters(flags(code))}"


@dataclass(frozen=True)
class Cert:
    """One certificate object of the database: DER, nickname (None without ``CKA_LABEL``), trust notation."""

    der: bytes
    label: str | None
    trust: str
    object_id: int


def read_file(path: Path, limit: int = MAX_DB_BYTES) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes (a FIFO or a device
    planted under the name would block or never end: opened non-blocking and refused).

    Raises:
        StoreUnreadable: not a regular file, too large, or unreadable (with the reason).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise StoreUnreadable(f"{path.name}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StoreUnreadable(f"{path.name} is not a regular file")
        if st.st_size > limit:
            raise StoreUnreadable(f"{path.name} is {st.st_size} bytes, over the {limit >> 20} MiB read")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise StoreUnreadable(f"{path.name} grew over {limit >> 20} MiB while being read")
        return b"".join(chunks)
    except OSError as exc:
        raise StoreUnreadable(f"{path.name}: {exc.strerror}") from exc
    finally:
        os.close(fd)


def _ulong(value: object) -> int | None:
    return int.from_bytes(value, "big") if isinstance(value, bytes) and len(value) == 4 else None


def _blob(value: object) -> bytes | None:
    """An attribute's bytes, or None when absent or set to nothing (``SQLITE_EXPLICIT_NULL``)."""
    if not isinstance(value, bytes) or value == EXPLICIT_NULL:
        return None
    return value


def _connect(data: bytes, budget: float) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 4 << 20)
    con.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000)
    con.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, 2000)
    con.deserialize(data)
    deadline = time.monotonic() + budget
    con.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    for pragma in ("PRAGMA trusted_schema=OFF", "PRAGMA cell_size_check=ON", "PRAGMA query_only=ON"):
        con.execute(pragma)
    return con


def read_cert9(path: Path, notes: list[str], budget: float = TIME_BUDGET) -> list[Cert]:
    """Every certificate object of the NSS database file ``path`` (``cert9.db``), with its trust.

    Args:
        path: the ``cert9.db`` file.
        notes: one line is appended per odd object (the others are still read).
        budget: seconds SQLite may spend.

    Returns:
        The certificates in object order; a certificate whose value is not DER is still returned (the
        scan reports it as not DER).

    Raises:
        StoreUnreadable: the file cannot be read, is not SQLite, or has no ``nssPublic`` table.
    """
    data = read_file(path)
    if not data.startswith(b"SQLite format 3\x00"):
        raise StoreUnreadable(f"{path.name} is not an SQLite database")
    try:
        con = _connect(data, budget)
    except (sqlite3.Error, OverflowError) as exc:
        raise StoreUnreadable(f"{path.name}: not readable as SQLite ({exc})") from exc
    try:
        return _objects(con, path.name, notes)
    except sqlite3.Error as exc:
        why = "took too long" if isinstance(exc, sqlite3.OperationalError) and "interrupt" in str(exc) else str(exc)
        raise StoreUnreadable(f"{path.name}: {why}") from exc
    finally:
        con.close()


def _objects(con: sqlite3.Connection, name: str, notes: list[str]) -> list[Cert]:
    kind = con.execute("SELECT type FROM sqlite_master WHERE name = 'nssPublic'").fetchall()
    if kind != [("table",)]:
        raise StoreUnreadable(f"{name} has no nssPublic table (not an NSS certificate database)")
    columns = {row[1] for row in con.execute("PRAGMA table_info(nssPublic)")}
    wanted = (CKA_CLASS, CKA_LABEL, CKA_VALUE, CKA_ISSUER, CKA_SERIAL_NUMBER, *NSS_TRUST_ATTRS, *PKCS_TRUST_ATTRS)
    # column names come from this list of numbers, never from the file
    select = ", ".join(f"a{t:x}" if f"a{t:x}" in columns else "NULL" for t in wanted)
    rows = con.execute(f"SELECT id, {select} FROM nssPublic ORDER BY id LIMIT {MAX_OBJECTS + 1}").fetchall()  # noqa: S608
    if len(rows) > MAX_OBJECTS:
        notes.append(f"{name}: more than {MAX_OBJECTS} objects; only the first {MAX_OBJECTS} were read")
        rows = rows[:MAX_OBJECTS]
    certs: list[tuple[int, bytes | None, bytes | None, bytes | None, bytes | None]] = []
    trust: dict[tuple[bytes, bytes], tuple[int, tuple]] = {}  # (issuer, serial) -> (rank, values)
    for row in rows:
        oid, cls, label, value, issuer, serial = row[0], _ulong(row[1]), row[2], row[3], _blob(row[4]), _blob(row[5])
        if cls is None:
            notes.append(f"{name}: object {oid!s:.20} has no readable class; skipped")
            continue
        if cls == CKO_CERTIFICATE:
            certs.append((oid, _blob(label), _blob(value), issuer, serial))
        elif cls in (CKO_TRUST, CKO_NSS_TRUST) and issuer is not None and serial is not None:
            values = row[6:10] if cls == CKO_NSS_TRUST else row[10:14]
            rank = 0 if cls == CKO_TRUST else 1  # a PKCS #11 trust object wins, as in NSS
            key = (issuer, serial)
            if key not in trust or rank < trust[key][0]:
                trust[key] = (rank, tuple(_ulong(v) for v in values))
    out = []
    for oid, label, value, issuer, serial in certs:
        if value is None:
            notes.append(f"{name}: certificate object {oid!s:.20} has no value; skipped")
            continue
        nick = None
        if label is not None:
            nick = label.decode("utf-8", "replace")
            if "\ufffd" in nick:
                notes.append(f"{name}: certificate object {oid!s:.20} has a nickname that is not UTF-8")
        values = trust.get((issuer, serial), (0, (None, None, None, None)))[1] if issuer and serial else (None,) * 4
        out.append(Cert(value, nick, trust_string(*values), oid if isinstance(oid, int) else -1))
    return out
