"""Reading ``cert9.db`` directly (native_host/scan/_nssdb.py): the same nicknames, DER and trust notation as
NSS's own ``certutil -L`` on real databases; hostile files (a view instead of the table, odd objects, a FIFO,
not SQLite) refused or noted without losing the rest; the NSS ``certutil`` runner never reading the
database's own module list (native_host/scan/_nsstool.py)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from certkit import make_root, pem_chain
from test_scan import EDELL_PEM, SUPERFISH_PEM, needs_certutil, nss_db

from native_host.scan import _nss
from native_host.scan._nssdb import read_cert9, trust_string
from native_host.scan._nsstool import Refused, owner_for, run_certutil
from native_host.scan.model import StoreUnreadable

TRUSTS = ["C,,", "p,p,p", "CT,C,C", ",,", "P,,", "c,c,c", "T,,", "C,C,C", "cT,p,", ",C,p"]


@needs_certutil
def test_every_certificate_and_trust_matches_certutil(tmp_path):
    certs = [(f"nick {i} {t}", t, pem_chain(make_root(f"Trust Test {i}")[0])) for i, t in enumerate(TRUSTS)]
    certs.append(("Superfish, Inc.", "C,,", SUPERFISH_PEM))
    db = nss_db(tmp_path / "db", *certs)
    listed = _nss.parse_list(subprocess.run(["certutil", "-L", "-d", f"sql:{db}"], capture_output=True,
                                            check=True).stdout)
    notes: list[str] = []
    read = read_cert9(db / "cert9.db", notes)
    assert notes == []
    assert sorted((c.label, c.trust) for c in read) == sorted(listed)
    for cert in read:  # the DER is the certificate certutil prints for that nickname
        pem = subprocess.run(["certutil", "-L", "-d", f"sql:{db}", "-n", cert.label, "-a"], capture_output=True,
                             check=True).stdout
        assert _nss.parse_pem(pem) == [cert.der]


def test_trust_notation_follows_nss():
    nss = lambda low: 0xCE534350 + low  # noqa: E731 - CKT_NSS + n
    assert trust_string(nss(2), nss(0xB), None, None) == "C,,"  # what certutil -t C,, stores
    assert trust_string(nss(0xA), nss(0xA), nss(0xA), nss(0xA)) == "p,p,p"
    assert trust_string(2, 2, 2, 2) == "CT,C,C"  # PKCS #11 3.2 CKT_TRUST_ANCHOR, as NSS 3.113+ stores it
    assert trust_string(3, None, None, None) == "p,,"  # CKT_NOT_TRUSTED
    assert trust_string(None, None, None, None) == ",,"


def _db_copy(tmp_path: Path, src: Path) -> Path:
    out = tmp_path / "copy"
    out.mkdir()
    shutil.copy(src / "cert9.db", out / "cert9.db")
    return out / "cert9.db"


@needs_certutil
def test_an_odd_object_is_a_note_and_the_rest_is_read(tmp_path):
    db = nss_db(tmp_path / "db", ("Superfish", "C,,", SUPERFISH_PEM), ("eDellRoot", "p,p,p", EDELL_PEM))
    path = _db_copy(tmp_path, db)
    con = sqlite3.connect(path)
    ids = [r[0] for r in con.execute("SELECT id FROM nssPublic WHERE a3 = ?", (b"eDellRoot",))]
    con.execute("UPDATE nssPublic SET a0 = x'0001' WHERE id = ?", (ids[0],))  # a class that is not 4 bytes
    con.execute("INSERT INTO nssPublic (id, a0, a3) VALUES (1, x'00000001', x'6e6f2076616c7565')")  # no CKA_VALUE
    con.commit()
    con.close()
    notes: list[str] = []
    read = read_cert9(path, notes)
    assert [(c.label, c.trust) for c in read] == [("Superfish", "C,,")]
    assert len(notes) == 2 and "no readable class" in notes[0] and "has no value" in notes[1]


@needs_certutil
def test_a_view_named_nsspublic_is_refused(tmp_path):
    db = nss_db(tmp_path / "db", ("Superfish", "C,,", SUPERFISH_PEM))
    path = _db_copy(tmp_path, db)
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE nssPublic RENAME TO real")
    con.execute("CREATE VIEW nssPublic AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
                "SELECT * FROM real, n")
    con.commit()
    con.close()
    with pytest.raises(StoreUnreadable, match="no nssPublic table"):
        read_cert9(path, [])


def test_not_sqlite_and_a_fifo_are_refused_at_once(tmp_path):
    (tmp_path / "cert9.db").write_bytes(b"\x00" * 100)
    with pytest.raises(StoreUnreadable, match="not an SQLite database"):
        read_cert9(tmp_path / "cert9.db", [])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(StoreUnreadable, match="not a regular file"):
        read_cert9(fifo, [])
    assert time.monotonic() - start < 2


def test_list_parser_joins_a_nickname_with_a_line_break():
    out = (b"\nCertificate Nickname                                         Trust Attributes\n"
           b"                                                             SSL,S/MIME,JAR/XPI\n\n"
           b"Superfish                                                    C,,  \n"
           b"Printer\nname&calc.exe                                       CT,C,C\n")
    notes: list[str] = []
    assert _nss.parse_list(out, notes) == [("Superfish", "C,,"), ("Printer\nname&calc.exe", "CT,C,C")]
    assert notes == ["a nickname spans several lines (a line break in it)"]


@needs_certutil
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc (make setup installs it)")
def test_certutil_runner_never_loads_the_databases_module(tmp_path):
    """A ``pkcs11.txt`` naming a real module whose constructor writes a marker: certutil run on the database
    loads it (the control); the runner (private module configuration) lists and deletes without loading it."""
    marker = tmp_path / "marker"
    (tmp_path / "m.c").write_text('#include <stdio.h>\n__attribute__((constructor)) static void m(void) '
                                  f'{{ FILE *f = fopen("{marker}", "a"); if (f) {{ fputs("ran", f); fclose(f); }} }}\n')
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "m.so"), str(tmp_path / "m.c")], check=True)
    db = nss_db(tmp_path / "db", ("Superfish", "C,,", SUPERFISH_PEM), ("eDellRoot", "p,p,p", EDELL_PEM))
    with open(db / "pkcs11.txt", "a") as fh:
        fh.write(f"\nlibrary={tmp_path}/m.so\nname=marker\n")
    subprocess.run(["certutil", "-L", "-d", f"sql:{db}"], capture_output=True, check=True)
    assert marker.read_text() == "ran"  # the module is live
    marker.unlink()
    proc = run_certutil("certutil", "sql", db, ["-L"])
    assert proc.returncode == 0 and _nss.parse_list(proc.stdout) == [("Superfish", "C,,"), ("eDellRoot", "p,p,p")]
    assert run_certutil("certutil", "sql", db, ["-D", "-n", "eDellRoot"]).returncode == 0
    assert [c.label for c in read_cert9(db / "cert9.db", [])] == ["Superfish"]
    assert not marker.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX")
def test_owner_rules(tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(Refused, match="writable by others"):
        owner_for(os.stat(folder))
    folder.chmod(0o700)
    if os.geteuid() == 0:
        assert owner_for(os.stat(folder)).uid is None  # root's own folder: no switch
        with pytest.raises(Refused, match="uid 0 of the scanned tree"):
            owner_for(os.stat(folder), rooted=True)
        os.chown(folder, 4242424, 4242424)
        with pytest.raises(Refused, match="no account here"):
            owner_for(os.stat(folder))

