#!/usr/bin/env python3
"""Regenerate ``native_host/engine/data/intermediates.json`` from ``build/intermediates-sources/``.

The known public intermediates, as Firefox preloads them (its intermediate preloading from CCADB), so a
leaf whose intermediate the server did not send is judged by its real issuer. Source, committed with its
provenance (``build/intermediates-sources/PROVENANCE.md``): cloudflare/cfssl_trust ``int-bundle.crt`` at a
recorded commit (it carries the current Let's Encrypt intermediates R10-R14 and E5-E9).

A certificate of the bundle is kept when ``cryptography`` reads it, it is a CA (basicConstraints cA TRUE,
not self-issued), it is valid on :data:`AS_OF` (the source commit's date, so the output does not depend on
the day of the build), and its signature verifies, link by link, up to a root the bundled public store
(``native_host/engine/data/publicroots.json``) trusts now, each issuer allowed to issue
(:func:`native_host.engine.verify.ca_error`). Everything else is counted, not kept.

Per certificate the output keeps its DER (the verifier needs the key), its SHA-256 and its subject Name
DER (the index the path builder looks issuers up by, so loading parses no certificate).

Usage: ``python build/make_intermediates.py [--check]`` (``--check`` compares instead of writing; exit 1 on
a difference). Deterministic; no network.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402

from native_host.engine.certfacts import cert_facts, pem_blocks  # noqa: E402
from native_host.engine.intermediates import canonical_sha256  # noqa: E402
from native_host.engine.publicroots import store  # noqa: E402
from native_host.engine.verify import ca_error  # noqa: E402

SOURCE = ROOT / "build" / "intermediates-sources" / "cfssl_trust" / "int-bundle.crt"
SOURCE_SHA256 = "c8b7f145e6605fe30c4f4f116419a41713413ec3dcaea5cd4f4caf72dadac4a4"
SOURCE_REPO = "cloudflare/cfssl_trust"
SOURCE_COMMIT = "019559c4ff4a697068d36fe8a3fb0ad7d99832a5"
AS_OF = datetime(2026, 5, 17, 4, 38, 19, tzinfo=timezone.utc)
"""The date of the source's last change (commit ade5ec7, "Trust store release 2026.5.1")."""
OUTPUT = ROOT / "native_host" / "engine" / "data" / "intermediates.json"
VERSION = "2026.5.1"
"""cfssl_trust's release name of the source; bump with the source."""


def _load(der: bytes) -> x509.Certificate | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return x509.load_der_x509_certificate(der)
        except ValueError:
            return None


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            child.verify_directly_issued_by(parent)
        return True
    except Exception:  # noqa: BLE001 - InvalidSignature, another key type, unsupported algorithm
        return False


def build() -> dict:
    """The output document (see the module doc).

    Raises:
        SystemExit: the source's SHA-256 is not the recorded one.
    """
    warnings.simplefilter("ignore")  # odd serials and long names in the source: facts, not build failures
    raw = SOURCE.read_bytes()
    if hashlib.sha256(raw).hexdigest() != SOURCE_SHA256:
        raise SystemExit(f"{SOURCE} has SHA-256 {hashlib.sha256(raw).hexdigest()}, not the recorded {SOURCE_SHA256}")
    counts = {"source": 0, "unreadable": 0, "duplicate": 0, "not_ca": 0, "expired": 0, "no_public_path": 0}
    pool: dict[str, tuple[bytes, x509.Certificate]] = {}
    for label, der in pem_blocks(raw):
        if label != "CERTIFICATE":
            continue
        counts["source"] += 1
        cert = _load(der)
        sha = hashlib.sha256(der).hexdigest()
        if cert is None:
            counts["unreadable"] += 1
        elif sha in pool:
            counts["duplicate"] += 1
        elif cert.subject == cert.issuer or ca_error(cert, 0) is not None:
            counts["not_ca"] += 1
        elif not (cert.not_valid_before_utc <= AS_OF <= cert.not_valid_after_utc):
            counts["expired"] += 1
        else:
            pool[sha] = (der, cert)
    public = store()
    roots = [(r.certificate(), r.facts) for r in public.roots if r.trusted]
    # depth[sha]: intermediates below a trusted root on the shortest verified path (0: issued by a root)
    depth: dict[str, int] = {}
    changed = True
    while changed:
        changed = False
        for sha, (_, cert) in pool.items():
            if sha in depth:
                continue
            for root, facts in roots:
                if root.subject == cert.issuer and ca_error(root, 0, anchor=True) is None and _signed_by(cert, root):
                    depth[sha] = 0
                    break
            else:
                for psha, d in list(depth.items()):
                    parent = pool[psha][1]
                    if parent.subject == cert.issuer and ca_error(parent, d + 1) is None and _signed_by(cert, parent):
                        depth[sha] = d + 1
                        break
            changed = changed or sha in depth
    kept = []
    for sha in sorted(depth):
        der, cert = pool[sha]
        facts = cert_facts(der)
        kept.append({"cert_sha256": sha, "subject_der": base64.b64encode(facts.subject_der).decode("ascii"),
                     "der": base64.b64encode(der).decode("ascii")})
    counts["no_public_path"] = len(pool) - len(kept)
    counts["kept"] = len(kept)
    return {
        "version": VERSION,
        "source": {"repo": SOURCE_REPO, "commit": SOURCE_COMMIT, "path": "int-bundle.crt", "sha256": SOURCE_SHA256,
                   "as_of": AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "public_store": public.version,
        "counts": counts,
        "sha256": canonical_sha256(kept),
        "intermediates": kept,
    }


def render(doc: dict) -> str:
    """The file's text: one intermediate per line, so a source change gives a readable diff."""
    head = {k: v for k, v in doc.items() if k != "intermediates"}
    lines = [json.dumps(e, sort_keys=True, separators=(",", ":")) for e in doc["intermediates"]]
    body = json.dumps(head, sort_keys=True, indent=1)[:-2]
    return body + ',\n "intermediates": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = render(build())
    if args.check:
        current = args.output.read_text("utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} differs from a fresh regeneration; run build/make_intermediates.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
