"""``scan`` as ECS events: one event per finding plus one summary event, for ``rootsentinel scan --events``
(NDJSON on stdout) and ``--events --send`` (the audit destinations of the system config), so a scheduled
scan lands in a SIEM with no glue.

Built from the ``--json`` document (:meth:`native_host.scan.report.ScanReport.to_json`), field names as in
:mod:`native_host.enterprise.ecs`:

- a finding (``event.dataset`` ``rootsentinel.scan``, ``event.action`` ``trusted-root-found``): the root
  as ``file.x509.*`` (ECS reuses the x509 field set under ``file``: a certificate found in a file or
  store), ``related.hash`` (its certificate and key SHA-256), ``event.category`` ``["configuration"]``
  (a trust store is a setting of the system) plus ``intrusion_detection`` for a banned or non-public root,
  ``event.type`` ``["info"]``; ``event.kind`` ``alert`` for banned and non-public roots (a SIEM rule
  triggers on them), ``state`` for the others (``--all``); ``event.severity`` and ``log.level`` as for
  verdicts; ``rootsentinel.finding`` {``status``, ``level``, ``reason``, ``category``, ``cert_sha256``,
  ``spki_sha256``, ``entry``, ``matched_by``, ``expired``, ``places`` [{``kind``, ``location``, ``owner``,
  ``label``, ``status``}], ``remove`` (the one-line removal text)}; ``threat.software.*`` when the
  catalogue names the product;
- the summary (``event.action`` ``trust-store-scan``, ``event.kind`` ``event``, ``event.outcome``
  ``success``, or ``failure`` when a store could not be read): ``rootsentinel.scan`` {``level``,
  ``exit_code``, ``counts``, ``stores``, ``problems``, ``blocklist_version``, ``findings``}.

Every event of one scan shares ``rootsentinel.scan_id`` and ``@timestamp`` (when the scan ran).
"""

from __future__ import annotations

from typing import Any

from native_host import __version__

_SEVERITY = {"banned": 99, "interception": 47, "notice": 21, "ok": 0}
_LOG = {"banned": "critical", "interception": "warning", "notice": "notice", "ok": "info"}
_CAP = 1024


def _cap(text: Any) -> Any:
    return text[:_CAP] + "\u2026" if isinstance(text, str) and len(text) > _CAP else text


def finding_event(finding: dict[str, Any], *, timestamp: str, scan_id: str, hostname: str) -> dict[str, Any]:
    """The ECS event of one ``--json`` finding (see the module doc)."""
    from native_host.enterprise.ecs import ECS_VERSION, _drop_none, event_id

    level, status = finding["level"], finding["status"]
    matched = finding.get("matched") or {}
    entry = matched.get("entry") or {}
    who = finding.get("interceptor") or {}
    worrying = status in ("banned", "non-public")
    remove = finding.get("remove") or {}
    places = [{"kind": p["kind"], "location": _cap(p["location"]), "owner": p["owner"], "label": _cap(p["label"]),
               "status": p["status"]} for p in finding.get("found_in", [])[:32]]
    where = places[0]["location"] if places else "a trust store"
    return _drop_none({
        "@timestamp": timestamp,
        "message": _cap(f"{status} root installed: {finding.get('subject') or '(no subject)'} in {where}"),
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "alert" if worrying else "state",
                  "category": ["configuration", "intrusion_detection"] if worrying else ["configuration"],
                  "type": ["info"], "action": "trusted-root-found", "dataset": "rootsentinel.scan",
                  "module": "rootsentinel", "id": event_id(), "severity": _SEVERITY.get(level, 0),
                  "reason": finding.get("reason") or None},
        "log": {"level": _LOG.get(level, "info")},
        "file": {"x509": {"subject": {"distinguished_name": _cap(finding.get("subject"))},
                          "issuer": {"distinguished_name": _cap(finding.get("issuer"))},
                          "not_before": finding.get("not_before"), "not_after": finding.get("not_after")}},
        "related": {"hash": [h for h in (finding.get("cert_sha256"), finding.get("spki_sha256")) if h] or None},
        "observer": {"product": "RootSentinel", "vendor": "RootSentinel", "version": __version__},
        "host": {"hostname": hostname},
        "threat": {"software": {"name": _cap(who.get("product")),
                                "type": ("Malware" if who.get("kind") == "adware" else "Tool") if who else None}},
        "rootsentinel": {
            "scan_id": scan_id,
            "finding": {"status": status, "level": level, "reason": finding.get("reason") or None,
                        "category": finding.get("category"), "cert_sha256": finding.get("cert_sha256"),
                        "spki_sha256": finding.get("spki_sha256"), "entry": _cap(entry.get("name")),
                        "matched_by": matched.get("by"), "expired": finding.get("expired"), "places": places,
                        "remove": _cap(remove.get("text")) if isinstance(remove, dict) else None},
        },
    })


def summary_event(report: dict[str, Any], *, scan_id: str, findings: int) -> dict[str, Any]:
    """The ECS summary event of a ``--json`` report (see the module doc)."""
    from native_host.enterprise.ecs import ECS_VERSION, _drop_none, event_id

    counts = report["counts"]
    failed = any(s.get("error") for s in report["stores"])
    return _drop_none({
        "@timestamp": report["timestamp"],
        "message": (f"trust store scan: {counts.get('banned', 0)} banned, {counts.get('non_public', 0)} non-public, "
                    f"{counts.get('allowlisted', 0)} allow-listed roots in {counts.get('stores', 0)} stores"),
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "category": ["configuration"], "type": ["info"], "action": "trust-store-scan",
                  "outcome": "failure" if failed else "success", "dataset": "rootsentinel.scan",
                  "module": "rootsentinel", "id": event_id(), "severity": _SEVERITY.get(report["level"], 0)},
        "log": {"level": _LOG.get(report["level"], "info")},
        "observer": {"product": "RootSentinel", "vendor": "RootSentinel", "version": __version__},
        "host": {"hostname": report["hostname"]},
        "rootsentinel": {"scan_id": scan_id, "scan": {
            "level": report["level"], "exit_code": report["exit_code"], "counts": counts, "findings": findings,
            "blocklist_version": report["blocklist"].get("version"),
            "stores": [{"kind": s["kind"], "location": _cap(s["location"]), "owner": s["owner"],
                        "certificates": s["certificates"], "error": _cap(s["error"])} for s in report["stores"][:256]],
            "problems": [_cap(p) for p in report.get("problems", [])[:32]]}},
    })


def scan_events(report: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """``(event, level)`` for every finding of a ``--json`` report, then the summary (``level`` is the
    syslog severity key: the finding's level, ``info`` for ``ok``)."""
    import os

    scan_id = os.urandom(8).hex()
    out = [(finding_event(f, timestamp=report["timestamp"], scan_id=scan_id, hostname=report["hostname"]),
            f["level"] if f["level"] != "ok" else "info") for f in report["findings"]]
    level = report["level"] if report["level"] != "ok" else "info"
    out.append((summary_event(report, scan_id=scan_id, findings=len(out)), level))
    return out
