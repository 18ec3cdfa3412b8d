"""Every event RootSentinel emits validates against the vendored ECS 8.11 field definitions, field by
field (name, type, array-ness, allowed values, category/type pairing); the vendored file is a fresh
trim of the pinned source."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ecskit import FIXTURE, ecs, validate
from native_host.enterprise.audit import AuditLog
from telemetry_events import EVENT_TYPES, emit_all

REPO = Path(__file__).parent.parent


def test_vendored_ecs_fields_equal_a_fresh_trim_of_the_pinned_source():
    pytest.importorskip("yaml")
    sys.path.insert(0, str(REPO / "build"))
    import make_ecs_fields

    assert FIXTURE.read_text("utf-8") == make_ecs_fields.render()
    doc = ecs()
    assert doc["ecs_version"] == "8.11.0" and doc["source"]["tag"] == "v8.11.0"
    # spot checks against the ECS reference
    assert doc["fields"]["event.kind"]["type"] == "keyword"
    assert {"alert", "event", "state", "metric"} <= {v["name"] for v in doc["fields"]["event.kind"]["allowed_values"]}
    assert doc["fields"]["event.sequence"]["type"] == "long" and doc["fields"]["event.created"]["type"] == "date"
    assert "array" in doc["fields"]["related.hash"]["normalize"]


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    work = tmp_path_factory.mktemp("events")
    audit = AuditLog(work / "audit.jsonl", window_seconds=0, state_dir=work / "state")
    out = emit_all(audit, work)
    assert audit.flush(60) and audit.dropped == 0
    audit.close()
    import json
    written = [json.loads(line) for line in (work / "audit.jsonl").read_text("utf-8").splitlines()]
    return out, written


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_every_event_type_is_valid_ecs(events, kind):
    event = events[0][kind]
    assert validate(event) == [], (kind, validate(event))


def test_every_written_line_is_valid_ecs_and_placed(events):
    _, written = events
    assert len(written) >= len(EVENT_TYPES)
    for event in written:
        assert validate(event) == [], validate(event)
        # what places every event in a fleet
        assert event["agent"]["id"] and len(event["agent"]["ephemeral_id"]) == 16
        assert event["agent"]["name"] == "rootsentinel" and event["agent"]["version"]
        assert event["host"]["name"] == event["host"]["hostname"].lower()
        assert event["event"]["created"].endswith("Z") and event["event"]["provider"] == "browser"
        assert event["rootsentinel"]["client"]["name"] == "firefox"
        assert event["rootsentinel"]["client"]["extension_version"] == "0.1.0"
        assert event["rootsentinel"]["audit"] == {"dropped": 0}
    sequences = [e["event"]["sequence"] for e in written]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)


def test_blocked_and_warned_are_told_apart(events):
    out, _ = events
    detected, blocked = out["banned"], out["page-blocked"]
    assert (detected["event"]["type"], detected["event"]["action"]) == (["info"], "banned-root-detected")
    assert (blocked["event"]["type"], blocked["event"]["action"], blocked["event"]["outcome"]) == \
        (["denied"], "page-blocked", "success")
    assert blocked["rootsentinel"]["verdict_event_id"] == detected["event"]["id"]
    assert blocked["tls"]["server"]["hash"] == detected["tls"]["server"]["hash"]
    unknown = out["page-blocked-unknown"]
    assert unknown["rootsentinel"]["verdict_known"] is False and unknown["url"]["full"] == "https://elsewhere.example/x"


def test_cli_events_say_cli(tmp_path):
    from telemetry_events import _scan_report  # a real report
    from native_host.scan.events import scan_events

    audit = AuditLog(None, sinks=[], state_dir=tmp_path)
    for event, _ in scan_events(_scan_report(tmp_path)):
        event = audit.enrich(event)
        assert event["event"]["provider"] == "cli" and "client" not in event.get("rootsentinel", {})
        assert validate(event) == []


def test_the_validator_refuses_what_ecs_refuses(events):
    good = events[0]["banned"]
    import copy

    def broken(mutate):
        e = copy.deepcopy(good)
        mutate(e)
        return validate(e)

    assert any("not an ECS" in x for x in broken(lambda e: e.setdefault("tls", {}).update(made_up="x")))
    assert any("not of ECS type long" in x for x in broken(lambda e: e["event"].update(severity="99")))
    assert any("not an allowed value" in x for x in broken(lambda e: e["event"].update(kind="finding")))
    assert any("not expected with event.category" in x for x in broken(lambda e: e["event"].update(type=["creation"])))
    assert any("ECS expects an array" in x for x in broken(lambda e: e["related"].update(hash="ab")))
    assert any("not of ECS type date" in x for x in broken(lambda e: e.update({"@timestamp": "yesterday"})))
