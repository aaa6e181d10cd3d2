"""Deliveries through the template's own handlers on moto: ingest → queue → consumer → DynamoDB → reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.samples import expected_path, sample_files, sample_request
from tests.conftest import queue_messages
from tests.helpers import SUCCESS, depth, dlq_url, quarantined, queue_url, reader, send, send_body
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from pathlib import Path

    from intake_cli.runtime import LocalRuntime

ALL_SAMPLES = [(key, path) for key in VENDORS for path in sample_files(key)]
# What depends on the moment and the request, not on the sample: checked apart.
PER_DELIVERY = {"received_at", "occurred_at", "time_source", "time_rejected", "correlation_id", "delivery_id"}


def without(document: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in names}


def parts(event: dict[str, Any]) -> dict[str, Any]:
    """A stored event as the golden file writes a normalized one (empty parts dropped)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v not in (None, [], {}, (), False)}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    keep = {"vendor", "event_id", "event_type", "source_type", "actor", "recipients", "content", "container", "site"}
    keep |= {"details", "test"}
    return clean({key: value for key, value in event.items() if key in keep})


@pytest.mark.parametrize(("vendor_key", "path"), ALL_SAMPLES, ids=[f"{k}/{p.name}" for k, p in ALL_SAMPLES])
def test_every_sample_is_accepted_queued_and_stored_as_its_golden_file_says(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, path: Path
) -> None:
    runtime = shared_runtime
    quarantined_before = len(quarantined(runtime, vendor_key))

    # Given a sample, sent the way its vendor sends it
    response = send(runtime, vendor_key, path, secrets)

    # Then the vendor gets its own success answer, and the raw body is on the vendor's queue
    assert response.status == SUCCESS[vendor_key], response.body
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, vendor_key))
    assert message["Body"].encode() == path.read_bytes()
    assert message["MessageAttributes"]["vendor"]["StringValue"] == vendor_key

    # When the consumer runs
    runtime.drain()

    # Then what is stored is what the reviewed golden file says, and nothing is quarantined
    golden = json.loads(expected_path(path).read_text())
    for expected in golden["events"]:
        actual = reader(runtime).get(vendor_key, expected["event_id"])
        assert actual is not None, expected["event_id"]
        assert parts(actual) == parts(expected)
        assert actual["raw_text"] in path.read_text()
        if expected["time_source"] == "vendor" and vendor_key != "fastcomments":
            assert actual["occurred_at"] == expected["occurred_at"]
        assert actual["received_at"].endswith("Z")
        assert len(actual["received_at"]) == len(actual["occurred_at"]) == 24
    assert len(quarantined(runtime, vendor_key)) == quarantined_before
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0


FIRST_SAMPLES = [(key, sample_files(key)[0]) for key in VENDORS]


@pytest.mark.parametrize(("vendor_key", "path"), FIRST_SAMPLES, ids=[key for key, _ in FIRST_SAMPLES])
def test_a_delivery_marked_as_a_test_is_stored_marked_test(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, path: Path
) -> None:
    # Given a sample sent with the test header (intake send marks deliveries to a deployed stack so),
    # to a stack of its own: the same sample stored unmarked before would make this one a duplicate
    golden = json.loads(expected_path(path).read_text())
    marked = {"x-intake-test": "true", "x-request-id": f"marked-{vendor_key}"}
    request = sample_request(vendor_key, path, secrets)
    response = runtime.request(request.method, request.path, {**request.headers, **marked}, request.body)
    assert response.status == SUCCESS[vendor_key], response.body
    runtime.drain()

    # Then every event of it is stored, marked as a test; nothing dead-letters
    for expected in golden["events"]:
        stored = reader(runtime).get(vendor_key, expected["event_id"])
        assert stored is not None, expected["event_id"]
        assert stored.get("test") is True
    assert depth(runtime, dlq_url(runtime, vendor_key)) == 0


def test_the_feed_lists_what_was_just_sent_first(shared_runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    runtime = shared_runtime
    # Given an event dated 2020 sent first, and one with no date of its own second
    old = {"id": "feed-old", "name": "content_published", "timestamp": "2020-01-01T12:00:00Z", "content_id": 1}
    assert send_body(runtime, "firstup", old, secrets["firstup"]).status == 200
    runtime.drain()
    assert (
        send_body(runtime, "openweb", {"event_id": "feed-new", "type": "user-followed"}, secrets["openweb"]).status
        == 200
    )
    runtime.drain()

    # When the feed is read, newest first
    now = datetime.now(UTC)
    entries = reader(runtime).feed(now - timedelta(hours=1), now + timedelta(minutes=1))

    # Then the event received last comes first, whatever the vendor's own dates
    assert [entry["event_id"].partition(":")[0] for entry in entries[:2]] == ["feed-new", "feed-old"]
