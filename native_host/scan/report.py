"""Judging installed certificates and the scan report.

Every certificate found is judged once per place it was found (:func:`judge_place`) and the places are
then grouped by certificate (``cert_sha256``) into one :class:`Finding` whose status is the worst of its
places. Statuses, worst first, with the verdict level they map to (``check``'s exit codes):

=================  ==============  =====================================================================
status             level (exit)    meaning
=================  ==============  =====================================================================
``banned``         banned (2)      blocklist or system-policy match by SPKI or certificate hash (or, for a
                                   certificate that is not self-issued, by its issuer: issued by a banned
                                   root), and the store does not distrust it
``non-public``     interception    a trust anchor that no root program of the public store trusts, nor
                   (1)             allow-listed; reason ``kz_issuer`` when it names ``C=KZ``
``allowlisted``    notice (1)      a trust anchor allow-listed in the system config (``allow_spki_sha256``)
``distrusted``     ok (0)          the store explicitly refuses it (NSS ``p``, a p11-kit blocklist folder)
``vendor``         ok (0)          a non-public root that the OS vendor ships: Apple's root keychain, or a
                                   Linux bundle entry from the distribution's ``ca-certificates`` package
                                   (an older or newer copy of Mozilla's store than the bundled one)
``public``         ok (0)          trusted by Mozilla or Chrome (the bundled public store), by certificate
                                   or key hash
``intermediate``   ok (0)          not a trust anchor in that store (Windows ``CA``, NSS without ``C``)
=================  ==============  =====================================================================
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass
from typing import Any

from native_host import __version__
from native_host.engine.blocklist import Blocklist
from native_host.engine.certfacts import CertFacts, cert_facts
from native_host.errors import BadDER
from native_host.engine.publicroots import PublicRoots
from native_host.scan.findings import EXIT, STATUS_ORDER, Finding, Place
from native_host.scan.model import Installed, Store
from native_host.scan.remove import REMOVE_SCHEMA, removal_json
from native_host.engine.verdict import Policy

def _match(facts: CertFacts, blocklist: Blocklist, policy: Policy) -> tuple[str, dict[str, Any]] | None:
    """``(reason, matched)`` for a banned certificate, else None."""
    for key, by in ((facts.spki_sha256, "spki_sha256"), (facts.cert_sha256, "cert_sha256")):
        if key and key in policy.banned:
            return "policy_banned", {"by": by, "entry": {"name": policy.banned[key], "category": "policy",
                                                         "country": None, "list": "policy", "source": "system config"}}
    hit = blocklist.lookup(facts.cert_sha256, facts.spki_sha256)
    if hit is None and not facts.self_issued and facts.issuer_key:
        hit = blocklist.lookup_issuer(facts.issuer_key, facts.aki)
    if hit is None:
        return None
    entry, by = hit
    reason = {"spki_sha256": "blocklist_spki", "cert_sha256": "blocklist_cert"}.get(by, "blocklist_issuer")
    keep = ("name", "category", "country", "source", "spki_sha256", "cert_sha256")
    return reason, {"by": by, "entry": {k: entry.get(k) for k in keep} | {"list": entry.get("chromium_list") or "block"}}


def _issued_by_public_root(facts: CertFacts, public: PublicRoots) -> bool:
    """True when a trusted store root of ``facts``' issuer Name signed it and may issue (its key verifies the
    signature, :func:`native_host.engine.verify.link_error` and :func:`~native_host.engine.verify.ca_error`):
    a name alone, or a copied key id, is never enough (issue 22 item 7)."""
    from dataclasses import replace

    from native_host.engine.verify import ca_error, link_error

    for root in public.issuers_for(replace(facts, aki=None)):
        if not root.trusted:
            continue
        try:
            cert = root.certificate()
        except ValueError:
            continue
        if link_error(facts, root.facts, cert) is None and ca_error(cert, 0, anchor=True) is None:
            return True
    return False


def judge_place(item: Installed, facts: CertFacts, banned: tuple[str, dict[str, Any]] | None,
                public: PublicRoots, policy: Policy) -> Place:
    """The status of one certificate in one place (see the module table)."""
    if item.distrusted:
        return Place(item, "distrusted", "store_distrusts")
    if banned:
        return Place(item, "banned", banned[0])
    if not item.anchor:
        return Place(item, "intermediate", "not_anchor")
    if facts.spki_sha256 in policy.allow_spki_sha256:
        return Place(item, "allowlisted", "allowlisted_root")
    if public.is_public(facts) or (not facts.self_issued and _issued_by_public_root(facts, public)):
        return Place(item, "public", "public_anchor")
    if item.store.vendor or item.vendor:
        return Place(item, "vendor", "vendor_store")
    return Place(item, "non-public", "kz_issuer" if "KZ" in facts.subject_country else "non_public_anchor")


def judge_all(items: list[Installed], blocklist: Blocklist, public: PublicRoots,
              policy: Policy) -> tuple[list[Finding], list[str]]:
    """Group ``items`` by certificate and judge every place.

    Returns:
        ``(findings, problems)``: findings sorted worst first then by subject; problems are one-line
        notes on certificates that are not DER at all (they are skipped).
    """
    by_hash: dict[str, Finding] = {}
    banned_by_hash: dict[str, tuple[str, dict[str, Any]] | None] = {}
    problems: list[str] = []
    for item in items:
        try:
            facts = cert_facts(item.der)
        except BadDER as exc:
            problems.append(f"{item.store.location} {item.label or ''}: {exc}".strip())
            continue
        key = facts.cert_sha256
        if key not in by_hash:
            by_hash[key] = Finding(facts)
            banned_by_hash[key] = _match(facts, blocklist, policy)
        by_hash[key].places.append(judge_place(item, facts, banned_by_hash[key], public, policy))
    for key, finding in by_hash.items():
        worst = min(finding.places, key=lambda p: STATUS_ORDER.index(p.status))
        finding.status, finding.reason = worst.status, worst.reason
        banned = banned_by_hash[key]
        # a distrusted banned root keeps its match: the report says what the store refuses
        finding.matched = banned[1] if banned and finding.status in ("banned", "distrusted") else None
        if finding.status in ("banned", "non-public", "allowlisted"):
            finding.interceptor = _interceptor(finding.facts, banned[1] if banned else None)
    findings = sorted(by_hash.values(), key=lambda f: (STATUS_ORDER.index(f.status), f.facts.subject))
    return findings, problems


def _interceptor(facts: CertFacts, matched: dict[str, Any] | None) -> dict[str, Any] | None:
    """Who the catalogue says this root belongs to (:func:`native_host.engine.catalogue.name_root`): for a banned
    root the owner of its blocklist group, else what its key or subject name claims; None when nobody. Never
    raises."""
    from native_host.engine.catalogue import name_root

    banned = matched if matched and (matched.get("entry") or {}).get("category") != "policy" else None
    return name_root(facts.subject_der, facts.spki_sha256, banned=banned)


@dataclass
class StoreResult:
    """One store and what reading it gave: a certificate count, or an error (one line)."""

    store: Store
    certificates: int = 0
    error: str | None = None


@dataclass
class ScanReport:
    """The result of a scan.

    Attributes:
        stores: every store found, with counts or errors.
        findings: every distinct certificate, worst first.
        problems: certificates that could not be decoded.
        blocklist: the blocklist summary used (``{"version", "size", "sha256"}``).
    """

    stores: list[StoreResult]
    findings: list[Finding]
    problems: list[str]
    blocklist: dict[str, Any]

    @property
    def level(self) -> str:
        """The worst level among the findings (``ok`` when none)."""
        levels = {f.level for f in self.findings}
        for level in ("banned", "interception", "notice"):
            if level in levels:
                return level
        return "ok"

    @property
    def errors(self) -> list[str]:
        return [f"{r.store.location}: {r.error}" for r in self.stores if r.error]

    @property
    def exit_code(self) -> int:
        """2 any banned, 1 any non-public or allow-listed anchor, 0 none; 3 when nothing was found to
        worry about but a store could not be read (the answer is unknown)."""
        code = EXIT[self.level]
        return 3 if code == 0 and self.errors else code

    def counts(self) -> dict[str, int]:
        """Distinct certificates per status, plus ``certificates`` (all distinct) and ``stores``."""
        out = {s.replace("-", "_"): 0 for s in STATUS_ORDER}
        for f in self.findings:
            out[f.status.replace("-", "_")] += 1
        out["certificates"] = len(self.findings)
        out["stores"] = len(self.stores)
        return out

    def to_json(self, include_ok: bool = False) -> dict[str, Any]:
        """The ``--json`` document (shape: :data:`REPORT_SCHEMA`); ok findings only with ``include_ok``.
        ``timestamp`` (UTC, ISO 8601) and ``hostname`` make each machine's report self-describing in a SIEM."""
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "type": "scan", "version": __version__, "timestamp": now, "hostname": socket.gethostname(),
            "level": self.level, "exit_code": self.exit_code,
            "blocklist": self.blocklist, "counts": self.counts(),
            "stores": [{"kind": r.store.kind, "location": r.store.location, "owner": r.store.owner,
                        "certificates": r.certificates, "error": r.error} for r in self.stores],
            "findings": [_finding_json(f, now) for f in self.findings if include_ok or f.level != "ok"],
            "problems": self.problems,
        }


def _finding_json(f: Finding, now: str) -> dict[str, Any]:
    c = f.facts
    return {
        "level": f.level, "status": f.status, "reason": f.reason,
        "category": ((f.matched or {}).get("entry", {}).get("category") if f.status == "banned"
                     else (f.interceptor or {}).get("kind") if f.status == "non-public" else None),
        "subject": c.subject, "issuer": c.issuer, "cert_sha256": c.cert_sha256, "spki_sha256": c.spki_sha256,
        "self_issued": c.self_issued, "not_before": c.not_before, "not_after": c.not_after,
        "expired": bool(c.not_after and c.not_after < now),
        "matched": f.matched,
        "interceptor": f.interceptor,
        "found_in": [{"kind": p.installed.store.kind, "location": p.installed.store.location,
                      "owner": p.installed.store.owner, "label": p.installed.label, "trust": p.installed.trust,
                      "anchor": p.installed.anchor, "status": p.status} for p in f.places],
        "remove": removal_json(f.remove),
    }


_HEX = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rootsentinel scan --json",
    "type": "object",
    "required": ["type", "version", "timestamp", "hostname", "level", "exit_code", "blocklist", "counts", "stores",
                 "findings", "problems"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "scan"},
        "version": {"type": "string"},
        "timestamp": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
        "hostname": {"type": "string"},
        "level": {"enum": ["ok", "notice", "interception", "banned"]},
        "exit_code": {"enum": [0, 1, 2, 3]},
        "blocklist": {"type": "object", "required": ["version", "size", "sha256"]},
        "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "stores": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["kind", "location", "owner", "certificates", "error"],
            "properties": {
                "kind": {"enum": ["linux-bundle", "linux-anchors", "linux-distrust", "nss", "windows", "macos-keychain"]},
                "location": {"type": "string"}, "owner": {"type": "string"},
                "certificates": {"type": "integer", "minimum": 0}, "error": {"type": ["string", "null"]}}}},
        "findings": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["level", "status", "reason", "category", "subject", "issuer", "cert_sha256", "spki_sha256",
                         "self_issued", "not_before", "not_after", "expired", "matched", "interceptor", "found_in",
                         "remove"],
            "properties": {
                "level": {"enum": ["ok", "notice", "interception", "banned"]},
                "status": {"enum": list(STATUS_ORDER)},
                "reason": {"type": "string"},
                "category": {"type": ["string", "null"]},
                "subject": {"type": "string"}, "issuer": {"type": "string"},
                "cert_sha256": _HEX, "spki_sha256": {"anyOf": [_HEX, {"type": "null"}]},
                "self_issued": {"type": "boolean"},
                "not_before": {"type": ["string", "null"]}, "not_after": {"type": ["string", "null"]},
                "expired": {"type": "boolean"},
                "matched": {"anyOf": [{"type": "null"}, {"type": "object", "required": ["by", "entry"]}]},
                "interceptor": {"anyOf": [{"type": "null"}, {
                    "type": "object", "required": ["product", "vendor", "kind", "advice", "by", "catalogue"],
                    "properties": {"owner": {"type": "string"}}}]},
                "found_in": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["kind", "location", "owner", "label", "trust", "anchor", "status"],
                    "properties": {"kind": {"type": "string"}, "location": {"type": "string"},
                                   "owner": {"type": "string"}, "label": {"type": ["string", "null"]},
                                   "trust": {"type": ["string", "null"]}, "anchor": {"type": "boolean"},
                                   "status": {"enum": list(STATUS_ORDER)}}}},
                "remove": REMOVE_SCHEMA}}},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}
"""JSON Schema of :meth:`ScanReport.to_json` (the tests validate real output against it)."""
