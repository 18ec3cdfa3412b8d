"""``scan`` pointed at one NSS database or anchors folder, ``--home`` checked (alone and with ``--root``),
"found in" with the ``--root`` prefix, and singular counts. Real roots in real NSS databases (certutil)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from certkit import LEAKED, der, load_leaked, make_root, pem_chain, sha256
from test_scan import KZ_2019, needs_certutil, nss_db

SUPERFISH_PEM = (LEAKED / "superfish.crt.pem").read_bytes()
SUPERFISH_SHA = sha256(der(load_leaked("superfish")[0]))


def scan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ROOTSENTINEL_CONFIG": os.path.join(os.sep, "nonexistent", "rootsentinel.json")}
    return subprocess.run([sys.executable, "-m", "native_host", "scan", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=cwd)


@needs_certutil
def test_nss_db_scans_only_that_database(tmp_path):
    db = nss_db(tmp_path / "profile", ("Superfish, Inc. SuperFish, Inc.", "C,,", SUPERFISH_PEM))
    out = scan("--nss-db", str(db), "--json")
    assert out.returncode == 2, out.stderr
    report = json.loads(out.stdout)
    assert [(s["kind"], s["location"], s["certificates"]) for s in report["stores"]] == [("nss", f"sql:{db}", 1)]
    (f,) = report["findings"]
    assert (f["cert_sha256"], f["status"], f["category"]) == (SUPERFISH_SHA, "banned", "malware-mitm")
    text = scan("--nss-db", str(db)).stdout
    assert "scanned 1 store, 1 distinct certificate: 1 banned" in text
    assert f"found in nss sql:{db} (Superfish, Inc. SuperFish, Inc., trust C,,): banned" in text


def test_anchors_scans_only_that_folder(tmp_path):
    folder = tmp_path / "anchors"
    folder.mkdir()
    (folder / "kz.crt").write_bytes(KZ_2019.read_bytes())
    private, _ = make_root("Corp Inspection Root")
    (folder / "corp.pem").write_bytes(pem_chain(private))
    out = scan("--anchors", str(folder), "--json")
    assert out.returncode == 2, out.stderr
    report = json.loads(out.stdout)
    assert [(s["kind"], s["location"], s["certificates"]) for s in report["stores"]] == [
        ("linux-anchors", str(folder), 2)]
    assert sorted(f["status"] for f in report["findings"]) == ["banned", "non-public"]


def test_nss_db_without_a_database_and_anchors_that_is_a_file_are_refused(tmp_path):
    out = scan("--nss-db", str(tmp_path))
    assert out.returncode == 3 and out.stdout == ""
    assert "no cert9.db" in out.stderr
    (tmp_path / "f.pem").write_bytes(KZ_2019.read_bytes())
    out = scan("--anchors", str(tmp_path / "f.pem"), "--json")
    assert out.returncode == 3 and json.loads(out.stdout)["code"] == "bad_input"


def test_home_that_does_not_exist_is_refused(tmp_path):
    out = scan("--home", str(tmp_path / "nonexistent"))
    assert out.returncode == 3 and out.stdout == ""
    assert "not a folder" in out.stderr and "nonexistent" in out.stderr


def test_home_with_root_must_be_inside_the_tree(tmp_path):
    root = tmp_path / "disk"
    (root / "home/ana").mkdir(parents=True)
    out = scan("--root", str(root), "--home", str(tmp_path / "elsewhere"))
    assert out.returncode == 3 and out.stdout == ""
    assert "no such folder inside --root" in out.stderr
    out = scan("--root", str(root), "--home", "/home/ana")
    assert out.returncode in (0, 1, 2), out.stderr  # accepted: the home is in the scanned tree


def test_found_in_under_root_shows_the_prefix(tmp_path):
    root = tmp_path / "disk"
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    (root / "usr/local/share/ca-certificates/kz.crt").write_bytes(KZ_2019.read_bytes())
    out = scan("--root", str(root))
    assert out.returncode == 2, out.stderr
    assert f"found in linux-anchors {root}/usr/local/share/ca-certificates (kz.crt#0): banned" in out.stdout
    assert "scanned 1 store, 1 distinct certificate:" in out.stdout
    assert f"  linux-anchors   {root}/usr/local/share/ca-certificates  (system; 1 certificate)" in out.stdout
