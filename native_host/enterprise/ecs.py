"""The ECS document of an audit event: every notice, interception and banned verdict as one JSON object in
Elastic Common Schema.

Security teams collect these lines (Elastic Agent / Filebeat, Splunk, any syslog collector) to learn
which machines see intercepted or banned chains, with the evidence. Field names follow the ECS field
reference (https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html), written as nested JSON
objects the way ECS documents them (``{"event": {"kind": "alert"}}``, not ``{"event.kind": ...}``):

- base: ``@timestamp`` (ISO 8601 UTC, milliseconds), ``message`` (the verdict's explanation),
  ``ecs.version``;
- ``event.*`` (https://www.elastic.co/guide/en/ecs/current/ecs-event.html): ``kind`` = ``"alert"``,
  ``category`` = ``["network", "intrusion_detection"]`` and ``type`` = ``["info"]`` (allowed values and
  their pairing: https://www.elastic.co/guide/en/ecs/current/ecs-allowed-values-event-category.html;
  the host reports and does not block, hence ``info`` rather than ``denied``), ``action``, ``severity``
  (Elastic's risk-score bands: 21 low, 47 medium, 73 high, 99 critical), ``dataset`` =
  ``"rootsentinel.verdict"``, ``module``, ``id`` (random, for de-duplication downstream);
- ``log.level``; ``url.full`` (userinfo, query and fragment removed: they carry credentials and session
  tokens) and ``url.domain`` (https://www.elastic.co/guide/en/ecs/current/ecs-url.html);
- ``tls.server.x509.*`` of the *leaf* (``subject.distinguished_name``, ``issuer.distinguished_name``,
  ``not_before``, ``not_after``, ``serial_number`` in uppercase hex without colons) and
  ``tls.server.hash.sha256``, the SHA-256 of the leaf's DER in uppercase hex as ECS asks
  (https://www.elastic.co/guide/en/ecs/current/ecs-tls.html);
- ``related.hash`` (every certificate and key SHA-256 of the chain and the matched entry, for pivoting);
  ``server.domain`` / ``server.port`` for probes; ``observer.product`` / ``vendor`` / ``version``
  (https://www.elastic.co/guide/en/ecs/current/ecs-observer.html); ``host.hostname``; ``user.name``;
  ``process.pid`` (one host process per browser profile);
- ``rootsentinel.*`` (custom fields go in their own namespace, ECS "Custom fields"): ``level``,
  ``category``, ``reason``, ``evidence``, ``entry`` (matched blocklist entry name), ``matched_by``,
  ``anchor`` {``name``, ``spki_sha256``, ``cert_sha256``, ``public``, ``sent``}, ``chain_cert_sha256``
  (leaf first), ``from_cache``, ``blocklist_version``, ``repeats`` (identical verdicts suppressed by the
  de-duplication window before this one), and ``interceptor`` {``product``, ``vendor``, ``kind``,
  ``owner``, ``advice``, ``by``, ``catalogue_version``} when the catalogue knows the anchor (what its name or
  key claims, not proof; ``owner`` for a banned root: the government, vendor or CA that holds it);
- ``threat.software.name`` / ``threat.software.type`` for that product
  (https://www.elastic.co/guide/en/ecs/current/ecs-threat.html; type ``"Malware"`` for adware and a vendor's
  root with a leaked key, else ``"Tool"``, the two ECS values), so a SIEM can count interception by product.

Every event (verdicts, ``scan --fix`` changes, scan findings, heartbeats) also carries what places it
(:func:`common_fields`, from :mod:`native_host.enterprise.identity`): ``agent.id`` (stable per install),
``agent.ephemeral_id`` (per process), ``agent.name`` / ``agent.type`` ``rootsentinel``, ``agent.version``;
``host.name`` / ``host.hostname``; ``user.name`` / ``user.id``; ``event.created`` (when the document was
made; ``@timestamp`` is when the fact was observed) and ``event.sequence`` (numbered per process: a gap
is a lost event); ``event.provider`` ``browser`` (a host started by a browser: it sent ``hello``) or
``cli`` (``rootsentinel check``, ``scan``, ``heartbeat``); for browser events ``rootsentinel.client``
{``name``, ``extension_version``, ``original``, ``profile``, ``extension_id``} and
``process.parent.pid`` / ``process.parent.executable`` (the browser process, where the OS shows it).

Detection and enforcement are separate facts. A verdict is ``event.type`` ``["info"]`` (ECS: "purely
informational, and don't report a state change, or any type of action"): RootSentinel saw the chain; the
browser already had the response. In enforce mode the extension replaces a banned page with its blocked
page and tells the host (``blocked`` message): that is its own event, ``event.action`` ``page-blocked``,
``event.type`` ``["denied"]`` (ECS: "something was prevented from happening, e.g. blocked network
connection"; allowed with both ``network`` and ``intrusion_detection``) and ``event.outcome``
``success``. A banned page without a ``page-blocked`` event was shown with the warning only (warn mode).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from native_host import __version__

ECS_VERSION = "8.11.0"
"""``ecs.version``: the ECS release whose field reference these events were written against."""

_FIELD_CAP = 1024  # certificate text is attacker-controlled: keep every line small (one write, one datagram)

_ACTION = {"banned": "banned-root-detected", "interception": "tls-interception-detected",
           "notice": "allowlisted-inspection-seen"}
_LOG_LEVEL = {"banned": "critical", "interception": "warning", "notice": "notice"}


_ID_PREFIX: list[str] = []
_ID_COUNT = itertools.count(1)


def event_id() -> str:
    """A new ``event.id``: 32 hex digits, unique per event (a random 64-bit prefix drawn once per process,
    then a counter; one ``getrandom`` per event costs most of an event's time on some VMs)."""
    if not _ID_PREFIX:
        _ID_PREFIX.append(os.urandom(8).hex())
    return f"{_ID_PREFIX[0]}{next(_ID_COUNT):016x}"


def _cap(text: Any) -> Any:
    if isinstance(text, str) and len(text) > _FIELD_CAP:
        return text[:_FIELD_CAP] + "\u2026"
    return text


def _severity(verdict: dict[str, Any]) -> int:
    """ECS ``event.severity`` on Elastic's risk-score bands: notice 21, interception 47 (73 for a
    ``C=KZ`` anchor: likely state interception), banned 73 (99 for state or malware roots)."""
    level = verdict["level"]
    if level == "banned":
        return 99 if verdict.get("category") in ("state-mitm", "malware-mitm") else 73
    if level == "interception":
        return 73 if verdict.get("reason") == "kz_issuer" else 47
    return 21


def clean_url(url: str | None) -> str | None:
    """``url`` without userinfo, query and fragment (``https://h:8443/p``); None when not a URL."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            return None
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return None
    return _cap(urlunsplit((parts.scheme.lower(), netloc, parts.path, "", "")))


def origin_of(verdict: dict[str, Any]) -> str:
    """The web origin a verdict is about, ``scheme://host[:port]`` lowercase (RFC 6454); for a probe
    without URL ``https://host:port``; else the host; ``"-"`` when nothing is known."""
    url = verdict.get("url")
    if url:
        try:
            parts = urlsplit(url)
            if parts.hostname:
                port = parts.port
                return f"{parts.scheme.lower()}://{parts.hostname}" + (f":{port}" if port else "")
        except ValueError:
            pass
    probe = verdict.get("probe") or {}
    if probe.get("host"):
        return f"https://{str(probe['host']).lower()}:{probe.get('port', 443)}"
    return str(verdict.get("host") or "-").lower()


def _anchor(verdict: dict[str, Any]) -> dict[str, Any]:
    """The trust anchor's identity: its row when it was sent, else the matched entry's hashes."""
    rows = verdict.get("chain") or []
    anchor = verdict.get("anchor") or {}
    out = {"name": _cap((verdict.get("names") or {}).get("root")), "spki_sha256": None, "cert_sha256": None,
           "public": anchor.get("public"), "sent": anchor.get("sent")}
    index = anchor.get("index")
    if anchor.get("sent") and isinstance(index, int) and 0 <= index < len(rows):
        out["spki_sha256"], out["cert_sha256"] = rows[index].get("spki_sha256"), rows[index].get("cert_sha256")
    elif verdict.get("matched"):
        entry = verdict["matched"]["entry"]
        out["spki_sha256"], out["cert_sha256"] = entry.get("spki_sha256"), entry.get("cert_sha256")
    return out


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _drop_none(obj: dict[str, Any]) -> dict[str, Any]:
    """ECS leaves absent fields out rather than null: drop None values and objects left empty, recursively."""
    out = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if not value:
                continue
        if value is None:
            continue
        out[key] = value
    return out


def ecs_event(verdict: dict[str, Any], *, timestamp: float, hostname: str, user: str | None = None,
              blocklist_version: str | None = None, repeats: int = 0,
              common: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ECS document for one verdict (nested objects; fields with no value are left out).

    Args:
        verdict: a verdict object (docs/protocol.md); not modified.
        timestamp: when it was judged, seconds since the epoch.
        hostname: ``host.hostname``.
        user: ``user.name`` of the browser's user, if known.
        blocklist_version: the blocklist that judged it.
        repeats: identical verdicts suppressed before this one (see :class:`AuditLog`).
        common: fields every event carries (:func:`common_fields`), merged in.

    Returns:
        A JSON-serialisable dict; shape in the module doc.
    """
    rows = verdict.get("chain") or []
    leaf = rows[0] if rows else {}
    matched = verdict.get("matched") or {}
    probe = verdict.get("probe") or {}
    serial = leaf.get("serial")
    cert_hash = leaf.get("cert_sha256")
    url_full = clean_url(verdict.get("url"))
    domain = verdict.get("host") or (urlsplit(url_full).hostname if url_full else None)
    level = verdict["level"]
    who = verdict.get("interceptor") or {}
    doc = {
        "@timestamp": _iso(timestamp),
        "message": _cap(verdict.get("explanation")),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert", "category": ["network", "intrusion_detection"], "type": ["info"],
            "action": _ACTION.get(level, level), "severity": _severity(verdict),
            "dataset": "rootsentinel.verdict", "module": "rootsentinel", "id": event_id(),
            "reason": verdict.get("reason"),
        },
        "log": {"level": _LOG_LEVEL.get(level, "info")},
        "url": {"full": url_full, "domain": _cap(domain)},
        "server": {"domain": _cap(probe.get("host")), "port": probe.get("port")} if probe else None,
        "tls": {"server": {
            "x509": {
                "subject": {"distinguished_name": _cap(leaf.get("subject"))},
                "issuer": {"distinguished_name": _cap(leaf.get("issuer"))},
                "not_before": leaf.get("not_before"), "not_after": leaf.get("not_after"),
                "serial_number": serial.upper() if isinstance(serial, str) else None,
            },
            "hash": {"sha256": cert_hash.upper() if isinstance(cert_hash, str) else None},
        }},
        "observer": {"product": "RootSentinel", "vendor": "RootSentinel", "version": __version__},
        "host": {"hostname": hostname},
        "user": {"name": user},
        "process": {"pid": os.getpid()},
        "related": {"hash": _related_hashes(rows, verdict)},
        "threat": {"software": {"name": _cap(who.get("product")),
                                "type": ("Malware" if who.get("kind") in ("adware", "vendor") else "Tool") if who else None}},
        "rootsentinel": {
            "level": level, "category": verdict.get("category"), "reason": verdict.get("reason"),
            "evidence": verdict.get("evidence"), "entry": _cap((matched.get("entry") or {}).get("name")),
            "matched_by": matched.get("by"), "anchor": _anchor(verdict),
            "chain_cert_sha256": [r.get("cert_sha256") for r in rows[:16]],
            "from_cache": verdict.get("from_cache"), "blocklist_version": blocklist_version,
            "repeats": repeats,
            "interceptor": {"product": _cap(who.get("product")), "vendor": _cap(who.get("vendor")),
                            "kind": who.get("kind"), "owner": _cap(who.get("owner")), "advice": who.get("advice"),
                            "by": who.get("by"), "catalogue_version": who.get("catalogue")},
        },
    }
    return _drop_none(merge(doc, common) if common else doc)


def blocked_event(verdict: dict[str, Any] | None, *, url: str | None, cert_sha256: str | None, timestamp: float,
                  hostname: str, common: dict[str, Any] | None = None,
                  verdict_event_id: str | None = None) -> dict[str, Any]:
    """The ECS document of an enforce-mode block (``event.action`` ``page-blocked``, ``event.type``
    ``["denied"]``, ``event.outcome`` ``success``; see the module doc).

    Args:
        verdict: the banned verdict this host gave for that page, when it still has it; else None and the
            event holds what the extension said (``url``, the leaf's ``cert_sha256``) with
            ``rootsentinel.level`` ``banned`` as the extension reported it.
        url: the blocked page (cleaned as ``url.full``).
        cert_sha256: the leaf's certificate SHA-256 the extension named (lowercase hex) or None.
        verdict_event_id: ``event.id`` of the detection event, kept as ``rootsentinel.verdict_event_id``.
    """
    if verdict is not None:
        doc = ecs_event({**verdict, "url": url or verdict.get("url")}, timestamp=timestamp, hostname=hostname,
                        common=common)
    else:
        cert = cert_sha256 if isinstance(cert_sha256, str) else None
        full = clean_url(url)
        doc = _drop_none(merge({
            "@timestamp": _iso(timestamp), "ecs": {"version": ECS_VERSION},
            "event": {"kind": "alert", "category": ["network", "intrusion_detection"], "severity": 73,
                      "dataset": "rootsentinel.verdict", "module": "rootsentinel", "id": event_id()},
            "log": {"level": "critical"},
            "url": {"full": full, "domain": _cap(urlsplit(full).hostname) if full else None},
            "tls": {"server": {"hash": {"sha256": cert.upper() if cert else None}}},
            "observer": {"product": "RootSentinel", "vendor": "RootSentinel", "version": __version__},
            "host": {"hostname": hostname}, "process": {"pid": os.getpid()},
            "related": {"hash": [cert] if cert else None},
            "rootsentinel": {"level": "banned", "verdict_known": False},
        }, common or {}))
    doc["event"].update(type=["denied"], action="page-blocked", outcome="success")
    doc["message"] = _cap(f"RootSentinel blocked {clean_url(url) or 'a page'}: "
                          + ((verdict.get("explanation") or "") if verdict else "the extension reported a banned chain"))
    if verdict_event_id:
        doc.setdefault("rootsentinel", {})["verdict_event_id"] = verdict_event_id
    return doc


def common_fields(*, agent_id: str | None, ephemeral_id: str, host_name: str, hostname: str,
                  user: dict[str, Any], created: float, sequence: int, provider: str,
                  client: dict[str, Any] | None = None, parent: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields that place any event (see the module doc); values None are left out.

    Args:
        agent_id: ``agent.id``; ephemeral_id: ``agent.ephemeral_id``.
        host_name, hostname: ``host.name`` (lowercase) and ``host.hostname``.
        user: ``{"name", "id"}`` (``user.*``).
        created: ``event.created``, seconds since the epoch; sequence: ``event.sequence``.
        provider: ``event.provider``, ``browser`` or ``cli``.
        client: ``rootsentinel.client`` (the browser: name, extension_version, original, profile, extension_id).
        parent: ``process.parent`` ``{"pid", "executable"}``.
    """
    return _drop_none({
        "agent": {"id": agent_id, "ephemeral_id": ephemeral_id, "name": "rootsentinel", "type": "rootsentinel",
                  "version": __version__},
        "host": {"name": host_name, "hostname": hostname},
        "user": {k: user.get(k) for k in ("name", "id")},
        "event": {"created": _iso(created), "sequence": sequence, "provider": provider},
        "process": {"pid": os.getpid(), "parent": parent or {}},
        "rootsentinel": {"client": {k: _cap(v) for k, v in (client or {}).items()}},
    })


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, recursively for objects (``extra`` wins for other values);
    ``base`` is not modified."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _json_line(event: dict[str, Any]) -> str:
    """One line of JSON, UTF-8 text kept readable (Cyrillic names stay Cyrillic).

    Written by :func:`native_host.textsafe.dumps_json`: every control, format, line or paragraph
    separator and bidi character (U+0085 and U+2028 included) and every lone surrogate is a JSON escape,
    so an event is exactly one line by any line-splitting rule and valid UTF-8.
    """
    from native_host.textsafe import dumps_json

    return dumps_json(event)


def _related_hashes(rows: list[dict[str, Any]], verdict: dict[str, Any]) -> list[str] | None:
    """ECS ``related.hash`` ("all the hashes seen on your event", for pivoting): every certificate's and
    key's SHA-256 in the chain, then the matched entry's, lowercase hex, without repeats."""
    seen: dict[str, None] = {}
    for row in rows[:16]:
        for key in ("cert_sha256", "spki_sha256"):
            if row.get(key):
                seen[row[key]] = None
    entry = (verdict.get("matched") or {}).get("entry") or {}
    for key in ("spki_sha256", "cert_sha256"):
        if entry.get(key):
            seen[entry[key]] = None
    return list(seen) or None
