"""Root's ``scan`` never runs code that a user's NSS database names (issue 22, item 1).

A user writes ``library=~/evil.so`` into their own ``pkcs11.txt``; NSS loads every module listed there
whenever a process opens the database with NSS. The test makes that real: inside a private mount namespace
(``/etc`` and ``/root`` overlaid, ``/home`` on tmpfs, so the user and every file vanish with it) it creates
a real user, who builds a shared object whose constructor writes a marker file, lists it in the
``pkcs11.txt`` of their Chromium database and of a Firefox profile, and plants the banned Superfish root in
both (plus a certificate whose nickname holds a line break, issue 22 item 9). First the user opens the
database with ``certutil`` themselves: the marker appears (the module is live). Then root runs the
scheduled job of docs/enterprise.md, ``scan --all-users --json``, then ``--fix --yes``, then ``--undo``:
the marker must never appear again, as root or as anyone, while the scan reports the banned root in both
databases (exit 2), the fix removes it (run as the user, files stay theirs) and the undo restores it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_scan import SUPERFISH_PEM, SUPERFISH_SHA, needs_certutil

from certkit import make_root, pem_chain

REPO = Path(__file__).resolve().parent.parent
needs_root_tools = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0
    or not all(shutil.which(t) for t in ("unshare", "useradd", "runuser", "gcc")),
    reason="needs root, unshare, useradd, runuser and gcc (make setup installs gcc)")

MODULE_C = r"""
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
    char path[256];
    snprintf(path, sizeof path, "/home/.marks/ran-as-uid-%d", (int)geteuid());
    FILE *f = fopen(path, "a");
    if (f) { fputs("the user's PKCS #11 module ran\n", f); fclose(f); }
}
"""

SCRIPT = r"""
set -eu
mount -t overlay overlay -o lowerdir=/etc,upperdir="$T/upper",workdir="$T/work" /etc
mount -t tmpfs -o mode=0755 tmpfs /home
mount -t overlay overlay -o lowerdir=/root,upperdir="$T/root-upper",workdir="$T/root-work" /root
mkdir -m 1777 /home/.marks
useradd -m -u "$UID_" -s /bin/sh rsmallory
as_user() { runuser -u rsmallory -- "$@"; }
H=/home/rsmallory
as_user gcc -shared -fPIC -o "$H/evil.so" "$T/module.c"
for db in "$H/.pki/nssdb" "$H/.mozilla/firefox/k3x9.default-release"; do
    as_user mkdir -p "$db"
    as_user certutil -N --empty-password -d "sql:$db"
    as_user certutil -A -d "sql:$db" -n "Superfish, Inc." -t C,, -i "$T/superfish.pem"
    as_user certutil -A -d "sql:$db" -n "$(printf 'Printer\nname&calc.exe')" -t C,, -i "$T/odd.pem"
    as_user sh -c "printf '\nlibrary=$H/evil.so\nname=evil\n' >> '$db/pkcs11.txt'"
done
# the control: the user opening the database with NSS runs the module
as_user certutil -L -d "sql:$H/.pki/nssdb" > /dev/null
ls -A /home/.marks > "$T/control.txt"
rm -f /home/.marks/*
cd "$REPO"
export ROOTSENTINEL_CONFIG="$T/no-config.json"
set +e
"$PY" -m native_host scan --all-users --json > "$T/scan.json" 2> "$T/scan.err"; echo $? > "$T/scan.rc"
"$PY" -m native_host scan --all-users --fix --yes --backup /root/backup > "$T/fix.txt" 2>&1; echo $? > "$T/fix.rc"
stat -c '%U %n' "$H/.pki/nssdb"/* > "$T/owners.txt"
"$PY" -m native_host scan --all-users --json > "$T/rescan.json" 2>/dev/null; echo $? > "$T/rescan.rc"
"$PY" -m native_host scan --undo /root/backup > "$T/undo.txt" 2>&1; echo $? > "$T/undo.rc"
"$PY" -m native_host scan --all-users --json > "$T/after-undo.json" 2>/dev/null; echo $? > "$T/after-undo.rc"
stat -c '%U %n' "$H/.pki/nssdb"/* > "$T/owners-after-undo.txt"
ls -A /home/.marks > "$T/marks.txt"
"""


def _free_uid() -> int:
    import pwd

    for uid in range(61000, 62000):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise AssertionError("no free uid")


@needs_root_tools
@needs_certutil
def test_root_scan_fix_and_undo_never_run_a_users_pkcs11_module(tmp_path):
    t = tmp_path
    (t / "upper").mkdir()
    (t / "work").mkdir()
    (t / "root-upper").mkdir()
    (t / "root-work").mkdir()
    (t / "module.c").write_text(MODULE_C)
    (t / "superfish.pem").write_bytes(SUPERFISH_PEM)
    odd, _ = make_root("Odd Nickname Private Root")
    (t / "odd.pem").write_bytes(pem_chain(odd))
    os.chmod(t, 0o755)  # the user reads module.c and the PEM files
    for parent in t.parents:
        if parent == Path("/tmp"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o005)
    env = {**os.environ, "T": str(t), "UID_": str(_free_uid()), "REPO": str(REPO), "PY": sys.executable}
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "bash", "-c", SCRIPT],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    read = lambda name: (t / name).read_text()  # noqa: E731

    # the module is real: the user's own certutil ran it
    assert read("control.txt").split() == [f"ran-as-uid-{env['UID_']}"]
    # root's scan, fix, rescan and undo never did, as root or as anyone
    assert read("marks.txt").split() == [], read("marks.txt")

    assert read("scan.rc").strip() == "2", read("scan.err")
    report = json.loads(read("scan.json"))
    superfish = [f for f in report["findings"] if f["cert_sha256"] == SUPERFISH_SHA][0]
    assert superfish["status"] == "banned"
    assert sorted(p["location"] for p in superfish["found_in"]) == [
        "sql:/home/rsmallory/.mozilla/firefox/k3x9.default-release", "sql:/home/rsmallory/.pki/nssdb"]
    # item 9: the nickname with a line break is one more entry, read like the others
    labels = {p["label"] for f in report["findings"] for p in f["found_in"]}
    assert "Printer\nname&calc.exe" in labels
    assert all(s["error"] is None for s in report["stores"] if s["kind"] == "nss"), report["stores"]

    assert read("fix.rc").strip() == "0", read("fix.txt")
    assert "rescan: all" in read("fix.txt")
    # certutil -D ran as the user: what NSS wrote in their folder is still theirs
    assert {line.split()[0] for line in read("owners.txt").splitlines()} == {"rsmallory"}, read("owners.txt")
    rescan = json.loads(read("rescan.json"))
    assert not [f for f in rescan["findings"] if f["cert_sha256"] == SUPERFISH_SHA]

    assert read("undo.rc").strip() == "0", read("undo.txt")
    after = json.loads(read("after-undo.json"))
    assert [f["status"] for f in after["findings"] if f["cert_sha256"] == SUPERFISH_SHA] == ["banned"]
    # the restored database is still the user's (root wrote it back, with the replaced file's owner)
    assert {line.split()[0] for line in read("owners-after-undo.txt").splitlines()} == {"rsmallory"}, \
        read("owners-after-undo.txt")

