"""Every kind of event RootSentinel emits, from real inputs, through one :class:`AuditLog`: verdicts
(banned, interception with a named product, notice, a probe), enforce-mode blocks (the verdict known, and
not), ``scan --fix`` removal and restore, scan findings and the scan summary (a real scan of an anchors
folder holding the real Superfish root and a private root), and the heartbeat. Used by the ECS validation
test and by the rsyslog tests (run in a subprocess: ``python tests/telemetry_events.py CONFIG.json``
prints the events it queued as one JSON object)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from certkit import b64, der, issue_leaf, load_leaked, make_root, pem_chain, sha256  # noqa: E402

EVENT_TYPES = ("banned", "interception", "notice", "probe", "page-blocked", "page-blocked-unknown",
               "fix-removed", "fix-restored", "scan-finding", "scan-summary", "heartbeat")


def zscaler_like_root():
    """A private root named like Zscaler's (``O=Zscaler Inc., CN=Zscaler Root CA``), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Zscaler Inc."),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Zscaler Root CA")])
    root, key = make_root("placeholder")
    root = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(root.not_valid_before_utc)
            .not_valid_after(root.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return root, key


def _scan_report(folder: Path) -> dict:
    """A real ``scan --anchors`` report over ``folder`` (the Superfish root and a private root)."""
    from native_host.scan import scan_with
    from native_host.scan.cli import _given_stores
    from native_host.scan.readers import context

    sf_cert, _ = load_leaked("superfish")
    private, _ = make_root("Example Corp TLS Inspection Root")
    (folder / "superfish.crt").write_bytes(pem_chain(sf_cert))
    (folder / "corp.crt").write_bytes(pem_chain(private))
    ctx, _ = context()
    return scan_with(ctx, _given_stores([], [str(folder)])).to_json()


def emit_all(audit, work: Path) -> dict[str, dict]:
    """Queue one event of every type on ``audit`` (an AuditLog with window 0); returns them by type."""
    from cryptography.hazmat.primitives import serialization

    from hostkit import tls_server
    from native_host.engine.certfacts import cert_facts
    from native_host.engine.chains import chain_from_base64
    from native_host.engine.verdict import Policy
    from native_host.enterprise.heartbeat import heartbeat_event, inventory
    from native_host.messaging.host import Service
    from native_host.scan.events import scan_events
    from native_host.scan.fix import fix_event

    out: dict[str, dict] = {}
    audit.hello({"type": "hello", "id": 1, "client": "firefox/0.1.0"})
    sf_cert, sf_key = load_leaked("superfish")
    leaf, leaf_key = issue_leaf(sf_cert, sf_key, "localhost")
    banned = Service().judge(chain_from_base64([b64(der(leaf)), b64(der(sf_cert))], url="https://bank.example/login"))
    out["banned"] = audit(banned)
    z_root, z_key = zscaler_like_root()
    z_leaf, _ = issue_leaf(z_root, z_key, "intranet.example")
    out["interception"] = audit(Service().judge(chain_from_base64([b64(der(z_leaf)), b64(der(z_root))],
                                                                  url="https://intranet.example/")))
    corp, corp_key = make_root("Example Corp Proxy Root")
    corp_leaf, _ = issue_leaf(corp, corp_key, "mail.example")
    allow = Policy(frozenset({cert_facts(der(corp)).spki_sha256}))
    out["notice"] = audit(Service(policy=allow).judge(chain_from_base64([b64(der(corp_leaf)), b64(der(corp))],
                                                                        url="https://mail.example/")))
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    with tls_server(pem_chain(leaf), key_pem) as port:
        probed = Service().probe("localhost", port)
    out["probe"] = audit(probed)
    out["page-blocked"] = audit.blocked("https://bank.example/login", banned["chain"][0]["cert_sha256"])
    out["page-blocked-unknown"] = audit.blocked("https://elsewhere.example/x?token=1", "ab" * 32)
    for name, action, ok in (("fix-removed", "trusted-root-removed", True), ("fix-restored", "trusted-root-restored", False)):
        event = audit.enrich(fix_event(action, store="nss", location="sql:/home/ana/.pki/nssdb", label="Superfish, Inc.",
                                       cert_sha256=sha256(der(sf_cert)),
                                       ok=ok, message="deleted" if ok else "certutil failed",
                                       backup=str(work / "backup"), status="banned"))
        audit.record(event, "banned", "fix", enriched=True)
        out[name] = event
    anchors = work / "anchors"
    anchors.mkdir(parents=True, exist_ok=True)
    report = _scan_report(anchors)
    for event, level in scan_events(report):
        event = audit.enrich(event)
        audit.record(event, level, "scan", enriched=True)
        kind = "scan-summary" if event["event"]["action"] == "trust-store-scan" else "scan-finding"
        out.setdefault(kind, event)
    beat = audit.enrich(heartbeat_event(inventory(scan=report, own_state=work / "state")))
    audit.record(beat, "info", "heartbeat", enriched=True)
    out["heartbeat"] = beat
    assert set(out) == set(EVENT_TYPES) and all(out.values()), {k: bool(v) for k, v in out.items()}
    return out


def main(argv: list[str]) -> int:
    """``telemetry_events.py CONFIG``: build an AuditLog from CONFIG (a JSON object of AuditLog keyword
    arguments plus ``path``), emit every event type, flush, print ``{"pid", "events", "dropped"}``."""
    from native_host.enterprise.audit import AuditLog

    kwargs = json.loads(Path(argv[0]).read_text())
    path = kwargs.pop("path", None)
    if "state_dir" in kwargs:
        kwargs["state_dir"] = Path(kwargs["state_dir"])
    audit = AuditLog(Path(path) if path else None, window_seconds=0, **kwargs)
    with tempfile.TemporaryDirectory() as work:
        events = emit_all(audit, Path(work))
    ok = audit.flush(60)
    print(json.dumps({"pid": os.getpid(), "events": events, "dropped": audit.dropped, "flushed": ok}))
    audit.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
