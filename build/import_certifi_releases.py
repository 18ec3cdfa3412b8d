#!/usr/bin/env python3
"""Write ``build/publicroots-sources/mozilla/`` from a folder of downloaded certifi wheels.

This is how the Mozilla part of the public store's sources was made; it runs by hand, never at build or
test time, and reads nothing but the wheels given. Download the wheels first with pip's ordinary client::

    python -m pip download --no-deps --only-binary=:all: certifi==VERSION -d WHEELS   # once per release

then ``python build/import_certifi_releases.py WHEELS``. It writes:

- ``mozilla/cacert.pem``: ``certifi/cacert.pem`` of the newest release, byte for byte;
- ``mozilla/releases.json``: per release (oldest first) its version, date, wheel file name, the wheel's and
  the bundle's SHA-256, its root count and the roots (``cert_sha256``) added and removed against the
  release before it (the oldest lists all its roots as added);
- ``mozilla/removed/<cert_sha256>.pem``: every root that some release carried and the newest does not,
  taken from the last release that carried it.

certifi's versions are dates (``2024.2.2`` is 2024-02-02; a ``.post1`` or fourth part keeps the date), which
is the release date recorded. Exit 3 with one line when a wheel has no ``certifi/cacert.pem``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "publicroots-sources" / "mozilla"
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n(.*?)-----END CERTIFICATE-----", re.S)


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a certifi version (``2022.6.15.2``, ``2026.10.19.post1``): its numbers in order."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def version_date(version: str) -> str:
    """The ISO date a certifi version names (its first three numbers)."""
    y, m, d = version_key(version)[:3]
    return f"{y:04d}-{m:02d}-{d:02d}"


def bundle_roots(pem: bytes) -> dict[str, bytes]:
    """``cert_sha256`` -> the PEM block text (BEGIN to END line, LF endings) of each root in a bundle."""
    out = {}
    for match in _PEM.finditer(pem):
        der = base64.b64decode(match.group(1))
        out[hashlib.sha256(der).hexdigest()] = match.group(0).replace(b"\r\n", b"\n") + b"\n"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", type=Path, help="folder of certifi-*.whl files")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    releases = []
    for wheel in sorted(args.wheels.glob("certifi-*.whl")):
        version = wheel.name.split("-")[1]
        data = wheel.read_bytes()
        try:
            pem = zipfile.ZipFile(wheel).read("certifi/cacert.pem")
        except (KeyError, zipfile.BadZipFile) as exc:
            print(f"{wheel.name}: no certifi/cacert.pem ({exc})", file=sys.stderr)
            return 3
        releases.append({"version": version, "wheel": wheel.name, "wheel_sha256": hashlib.sha256(data).hexdigest(),
                         "pem": pem, "roots": bundle_roots(pem)})
    if not releases:
        print(f"{args.wheels}: no certifi-*.whl", file=sys.stderr)
        return 3
    releases.sort(key=lambda r: version_key(r["version"]))
    newest = releases[-1]
    (args.out / "removed").mkdir(parents=True, exist_ok=True)
    (args.out / "cacert.pem").write_bytes(newest["pem"])
    last_block: dict[str, tuple[str, bytes]] = {}
    doc, before = [], set()
    for rel in releases:
        now = set(rel["roots"])
        for h, block in rel["roots"].items():
            last_block[h] = (rel["version"], block)
        doc.append({"version": rel["version"], "date": version_date(rel["version"]), "wheel": rel["wheel"],
                    "wheel_sha256": rel["wheel_sha256"], "cacert_sha256": hashlib.sha256(rel["pem"]).hexdigest(),
                    "roots": len(now), "added": sorted(now - before), "removed": sorted(before - now)})
        before = now
    for h in sorted(set(last_block) - set(newest["roots"])):
        version, block = last_block[h]
        (args.out / "removed" / f"{h}.pem").write_bytes(
            f"# cert_sha256 {h}\n# last carried by certifi {version} (certifi/cacert.pem)\n".encode() + block)
    (args.out / "releases.json").write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
    print(f"{len(releases)} releases, newest certifi {newest['version']} ({len(newest['roots'])} roots), "
          f"{len(set(last_block) - set(newest['roots']))} removed roots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
