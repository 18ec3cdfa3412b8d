"""The bundled blocklist: regenerated from its sources, valid, and covering every Kazakhstan root."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from native_host.engine.blocklist import bundled, canonical_entries_sha256, load_path
from native_host.schemas import validate

ROOT = Path(__file__).parent.parent


def test_committed_file_equals_fresh_regeneration():
    out = subprocess.run([sys.executable, str(ROOT / "build" / "make_blocklist.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_schema_and_content_hash():
    doc = json.loads((ROOT / "native_host" / "engine" / "data" / "blocklist.json").read_text("utf-8"))
    validate("blocklist", doc)
    assert doc["sha256"] == canonical_entries_sha256(doc["entries"])
    assert doc["size"] == len(doc["entries"]) == 116
    assert load_path(ROOT / "native_host" / "engine" / "data" / "blocklist.json").summary() == bundled().summary()


def test_chromium_list_meaning_kept():
    entries = bundled().entries
    kz = [e for e in entries if e["category"] == "state-mitm"]
    assert len(kz) == 11
    lists = {e["spki_sha256"][:8]: e["chromium_list"] for e in kz if e["spki_sha256"]}
    assert lists["3472e4f1"] == "interception"           # the one KZ root on the interception list only
    assert lists["b5ba8dd7"] == "block"                  # Qaznet Trust Network 2019
    assert lists["8e12d0cb"] == "block+interception"     # ERR_CERT_KNOWN_INTERCEPTION_BLOCKED
    sf = bundled().by_spki["4bb8f35ba1e126f8dde1b0c420625ed86dce61a7bddadbdea9aba578ff13145e"]
    assert sf["category"] == "malware-mitm" and sf["verified_from_pem"] is True


def test_name_only_entries_are_indexed_by_subject():
    name_only = [e for e in bundled().entries if not e["spki_sha256"] and not e["cert_sha256"]]
    assert {e["country"] for e in name_only} == {"KZ"}
    assert "C=kz|CN=security certificate" in bundled().by_subject
