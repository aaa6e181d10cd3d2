"""Properties of the whole pipeline over deliveries generated from the vendors' documented schemas.

Each example goes through the real ingest handler, its queue and the consumer (the local runtime on
moto), then is read back the way an operator reads it: what the vendor heard, what was stored, what
was quarantined and why, what `intake events --id` and `intake state` print. Deterministic (a fixed
derandomized search); `make soak` draws more of them.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from intake_cli.samples import build_request
from tests.helpers import (
    SUCCESS,
    cli,
    depth,
    dlq_url,
    publish_outputs,
    quarantined,
    queue_url,
    reader,
    send_body,
)
from tests.property.deliveries import (
    Delivery,
    Expected,
    Ids,
    clean,
    delivery_for,
    encode,
    epoch_ms,
    iso,
)
from webhook_intake.delivery import Delivery as DeliveryRecord
from webhook_intake.registry import vendor
from webhook_intake.store.reads import FeedFilter
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Iterator

    from intake_cli.runtime import HttpResponse, LocalRuntime

VENDOR_KEYS = ["viafoura-engagement", "viafoura-notifications", "openweb", "fastcomments", "firstup"]
REASONS = {"invalid_event", "missing_id", "invalid_id", "missing_field", "invalid_field"}
ITEM_LIMIT = 400 * 1024
"""DynamoDB's item size limit (bytes)."""

# A quarter of the profile's examples (tests/conftest.py): each goes through the whole pipeline, a batch up
# to 50 events; `make soak` draws 25 times as many. No shrinking: a batch shrunk through the stack takes
# minutes a run; a failure prints its draws whole, to be cut down by hand into a plain regression test.
SETTINGS = settings(
    max_examples=max(1, settings().max_examples // 4),
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def stack(shared_runtime: LocalRuntime) -> Iterator[LocalRuntime]:
    """The module's stack, its outputs published so that `intake … --stack NAME` finds it."""
    publish_outputs(boto3.session.Session(region_name=shared_runtime.stack.region), shared_runtime)
    yield shared_runtime  # noqa: PT022 (the outputs stay for the module)


def new_ids() -> Ids:
    marker = uuid.uuid4().hex[:12]
    return Ids(marker, (uuid.uuid4().int % 10**9) * 10**6)


def send(runtime: LocalRuntime, delivery: Delivery, secrets: dict[str, Any], body: bytes, marker: str) -> HttpResponse:
    headers = {"x-request-id": marker} if delivery.vendor.startswith("viafoura") else {}
    return send_body(runtime, delivery.vendor, body, secrets[delivery.vendor], event=delivery.event, headers=headers)


def answered_per_contract(delivery: Delivery, response: HttpResponse) -> None:
    """The answer is what the vendor's page documents: its success status and, for Viafoura engagement, a
    result per event, in order, a failure for each event refused."""
    if not delivery.expected:
        assert response.status == 400, response.body
        return
    assert response.status == SUCCESS[delivery.vendor], response.body
    if delivery.vendor == "viafoura-engagement":
        answer = response.json()
        assert isinstance(answer["request_uuid"], str)
        elements = delivery.document["events"]
        assert len(answer["results"]) == len(elements)
        expected = iter(delivery.expected)
        for element, result in zip(elements, answer["results"], strict=True):
            if any(element is refused for refused in delivery.refused):
                assert result["type"] == "failure" and result["error_type"] in REASONS, result
            else:
                assert result == {"event_uuid": next(expected).sent_id, "type": "success"}
    elif delivery.vendor == "viafoura-notifications":
        assert response.body == b""


def stored_as_expected(event: dict[str, Any] | None, expected: Expected) -> None:
    """The event is stored under its documented identity, type and time, its raw text the vendor's document."""
    assert event is not None, expected.event_id
    assert (event["event_id"], event["event_type"]) == (expected.event_id, expected.event_type)
    if expected.occurred is not None:
        assert event["occurred_at"] == iso_millis(expected.occurred), (event["occurred_at"], expected.occurred)
        assert event.get("time_source", "vendor") == "vendor"
    elif expected.vendor != "fastcomments":  # an edit or a delete is dated by its signing time
        assert event["occurred_at"] == event["received_at"]
    assert clean(json.loads(event["raw_text"])) == clean(expected.document)


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: each attribute's name and value, in bytes."""

    def size(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind == "B":
            return len(inner)
        if kind in ("S", "N"):
            return len(str(inner).encode())
        if kind in ("SS", "NS"):
            return sum(len(str(part).encode()) for part in inner)
        if kind == "BS":
            return sum(len(part) for part in inner)
        if kind in ("M", "L"):
            parts = inner.items() if kind == "M" else enumerate(inner)
            return 3 + sum(len(str(name).encode()) * (kind == "M") + size(part) for name, part in parts)
        return 1

    return sum(len(name.encode()) + size(value) for name, value in item.items())


def quarantined_since(runtime: LocalRuntime, vendor_key: str, since: str) -> list[dict[str, Any]]:
    return quarantined(runtime, vendor_key, received_since=since)


def nothing_left_on_queues(runtime: LocalRuntime, vendor_key: str) -> None:
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0
    assert depth(runtime, dlq_url(runtime, vendor_key)) == 0


@SETTINGS
@given(data=st.data(), vendor_key=st.sampled_from(VENDOR_KEYS))
def test_an_accepted_delivery_ends_stored_or_quarantined_and_reads_back_unchanged(
    stack: LocalRuntime, secrets: dict[str, Any], data: st.DataObject, vendor_key: str
) -> None:
    runtime = stack
    ids = new_ids()
    delivery = data.draw(delivery_for(vendor_key, ids))
    since = iso_millis(datetime.now(UTC))

    response = send(runtime, delivery, secrets, encode(delivery.document), ids.marker)
    answered_per_contract(delivery, response)
    runtime.drain()

    nothing_left_on_queues(runtime, vendor_key)
    kept = [item for item in quarantined_since(runtime, vendor_key, since) if item.get("correlation_id") == ids.marker]
    if not delivery.expected:
        assert not kept
        return
    # Every event taken is stored under its identity (generated ids never collide: nothing is a conflict)
    events = reader(runtime).get_many([(vendor_key, expected.event_id) for expected in delivery.expected])
    assert len(events) == len(delivery.expected), [e.event_id for e in delivery.expected]
    by_id = {event["event_id"]: event for event in events}
    for expected in delivery.expected:
        stored_as_expected(by_id.get(expected.event_id), expected)
    # and what was refused in a batch is quarantined with its reason, the rest of the batch untouched
    # (identical refused elements are one quarantined event: its key is their text's digest)
    assert {item["text"] for item in kept} == {json.dumps(element) for element in delivery.refused}
    assert all(item["reason"] in REASONS and item["message"] for item in kept), kept
    # An operator reading one of them by its key sees the vendor's event as sent
    chosen = data.draw(st.sampled_from(delivery.expected))
    code, text = cli("events", "--stack", runtime.stack.name, "--id", f"{vendor_key}#{chosen.event_id}", "--json")
    assert code == 0, text
    (shown,) = [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"raw"' in line]
    assert shown["event_id"] == chosen.event_id
    assert clean(shown["raw"]) == clean(chosen.document)
    item = (
        boto3.client("dynamodb", region_name=runtime.stack.region)
        .get_item(
            TableName=runtime.stack.tables["EventsTable"],
            Key={"pk": {"S": f"{vendor_key}#{chosen.event_id}"}, "sk": {"S": "event"}},
        )
        .get("Item")
    )
    assert item is not None and item_size(item) < ITEM_LIMIT


@SETTINGS
@given(
    data=st.data(),
    vendor_key=st.sampled_from(VENDOR_KEYS),
    seed=st.integers(0, 2**32),
    consumed_between=st.booleans(),
)
def test_the_same_delivery_again_in_any_order_and_form_stores_nothing_new(
    stack: LocalRuntime,
    secrets: dict[str, Any],
    data: st.DataObject,
    vendor_key: str,
    seed: int,
    consumed_between: bool,
) -> None:
    runtime = stack
    ids = new_ids()
    delivery = data.draw(delivery_for(vendor_key, ids, bad=False))
    since = iso_millis(datetime.now(UTC))
    assert 200 <= send(runtime, delivery, secrets, encode(delivery.document), ids.marker).status < 300
    if consumed_between:
        runtime.drain()

    # The vendor sends it again: its events in another order, keys in another order, other white space
    # (consumed after the first, or in the same run as it, in whichever order the queue hands them over)
    rng = random.Random(seed)
    again = json.loads(json.dumps(delivery.document))
    batch_field = {"viafoura-engagement": "events", "viafoura-notifications": "notifications"}.get(vendor_key)
    if batch_field:
        rng.shuffle(again[batch_field])
    response = send(runtime, delivery, secrets, encode(again, rng=rng), ids.marker + "-again")
    assert 200 <= response.status < 300, response.body
    runtime.drain()

    # What is stored is what the first delivery alone stores: its text, once each, nothing quarantined
    keys = [(vendor_key, expected.event_id) for expected in delivery.expected]
    before = {event["event_id"]: event for event in reader(runtime).get_many(keys)}
    assert sorted(before) == sorted(event_id for _, event_id in keys)
    texts = [json.dumps(element) for element in delivery.document[batch_field]] if batch_field else None
    for expected in delivery.expected:
        event = before[expected.event_id]
        first = texts[event.get("index", 0)] if texts else encode(delivery.document).decode()
        assert event["raw_text"] == first, expected.event_id
        assert event["correlation_id"] != ids.marker + "-again"
    assert not quarantined_since(runtime, vendor_key, since), "a copy of the same events is no conflict"
    nothing_left_on_queues(runtime, vendor_key)
    now = datetime.now(UTC)
    listed = [
        entry
        for entry in reader(runtime).feed(
            datetime.fromisoformat(min(e["received_at"] for e in before.values()).replace("Z", "+00:00")),
            now,
            FeedFilter(vendor=vendor_key, tests=True),
            limit=100_000,
        )
        if entry["event_id"] in before
    ]
    assert sorted(entry["event_id"] for entry in listed) == sorted(before), "each event listed once"


STATE_ACTIONS = {"created": 0, "visible": 1, "disabled": 1, "updated": 1, "spammed": 1, "liked": None}
"""Viafoura's livecomment_post actions: the rank of each state event in the documented order
(a creation before anything else); a like is no state event."""


@SETTINGS
@given(data=st.data())
def test_a_comments_state_is_its_newest_state_event_whatever_order_they_arrive_in(
    stack: LocalRuntime, secrets: dict[str, Any], data: st.DataObject
) -> None:
    runtime = stack
    ids = new_ids()
    content_id = f"{ids.marker}-content"
    actions = data.draw(st.lists(st.sampled_from(sorted(STATE_ACTIONS)), min_size=1, max_size=8))
    # In one batch, events may share a millisecond (the batch's order then decides); across deliveries
    # they do not here (the receive time would, which a test does not choose).
    one_batch = data.draw(st.booleans())
    moments = st.sampled_from([1_700_000_000_000, 1_700_000_000_001, 1_700_000_060_000]) if one_batch else epoch_ms()
    times = data.draw(st.lists(moments.map(int), min_size=len(actions), max_size=len(actions), unique=not one_batch))
    events = [
        {
            "event_uuid": f"{ids.marker}-{n}",
            "time": time,
            "content_uuid": content_id,
            "message_type": "livecomment_post",
            "action": action,
        }
        for n, (action, time) in enumerate(zip(actions, times, strict=True))
    ]
    arrival = data.draw(st.permutations(events))
    cuts = [] if one_batch else sorted(data.draw(st.sets(st.integers(1, max(1, len(arrival) - 1)), max_size=3)))
    for start, end in zip([0, *cuts], [*cuts, len(arrival)], strict=True):
        if start < end:
            body = {"request_uuid": ids.marker, "time": 1_790_000_000_000, "version": 1, "events": arrival[start:end]}
            assert send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"]).status == 200
    runtime.drain()

    state_events = [event for event in events if STATE_ACTIONS[event["action"]] is not None]
    code, text = cli("state", "viafoura-engagement", content_id, "--stack", runtime.stack.name, "--json")
    if not state_events:
        assert code != 0 or "no state" in text.lower(), text
        return
    assert code == 0, text
    found = json.loads(text)
    place = {event["event_uuid"]: position for position, event in enumerate(arrival)}
    newest = max(
        state_events, key=lambda event: (STATE_ACTIONS[event["action"]], event["time"], place[event["event_uuid"]])
    )
    assert found["event"]["event_id"] == newest["event_uuid"], (found["event"]["event_id"], newest, state_events)
    assert found["event"]["occurred_at"] == iso(datetime.fromtimestamp(newest["time"] / 1000, UTC))


@SETTINGS
@given(data=st.data())
def test_a_fastcomments_comments_state_follows_signing_times_not_arrival(
    stack: LocalRuntime, secrets: dict[str, Any], data: st.DataObject
) -> None:
    # A comment created an hour ago, edited a few times and perhaps deleted, each delivery signed when
    # FastComments sent it; the deliveries arrive in any order (a retry comes late).
    runtime = stack
    ids = new_ids()
    comment_id = f"{ids.marker}-comment"
    now = time.time()
    created = datetime.fromtimestamp(now - 3600, UTC)
    comment = {"id": comment_id, "urlId": "page", "date": iso(created), "comment": "first"}
    edits = data.draw(st.lists(st.text(min_size=1, max_size=20), min_size=0, max_size=4, unique=True))
    deleted = data.draw(st.booleans())
    offsets = data.draw(
        st.lists(st.integers(1_000, 250_000), min_size=len(edits) + 2, max_size=len(edits) + 2, unique=True)
    )
    sends = [("comment-created", comment, now - offsets[0] / 1000)]
    sends += [
        ("comment-updated", {**comment, "comment": text}, now - offset / 1000)
        for text, offset in zip(edits, offsets[1:], strict=False)
    ]
    if deleted:
        sends.append(("comment-deleted", {**comment, "comment": "removed"}, now - offsets[-1] / 1000))
    for event, body, signed_at in data.draw(st.permutations(sends)):
        request = build_request(
            "fastcomments", json.dumps(body).encode(), secrets["fastcomments"], now=signed_at, event=event
        )
        response = runtime.request(request.method, request.path, request.headers, request.body)
        assert response.status == 200, response.body
    runtime.drain()

    code, text = cli("state", "fastcomments", comment_id, "--stack", runtime.stack.name, "--json")
    assert code == 0, text
    found = json.loads(text)
    if deleted:
        assert found["status"] == "deleted", found["status"]
    elif edits:
        newest = max(sends[1:], key=lambda send: send[2])
        assert (found["status"], found["text"]) == ("updated", newest[1]["comment"])
    else:
        assert (found["status"], found["text"]) == ("created", "first")
    assert len(found["events"]) == len(sends)


def normalized(vendor_key: str, body: bytes) -> dict[str, tuple[str, str, str]]:
    """Each event of a Viafoura batch as the consumer maps it: id -> (type, event time, time source)."""
    delivery = DeliveryRecord(
        vendor=vendor_key,
        received_at="2026-11-29T12:00:00.000Z",
        correlation_id="c",
        method="POST",
        path=vendor(vendor_key).path,
    )
    result = vendor(vendor_key).normalizer().normalize(body.decode("utf-8", "surrogatepass"), delivery)
    return {event.event_id: (event.event_type, event.occurred_at, event.time_source) for event in result.events}


@settings(max_examples=settings().max_examples, deadline=None, derandomize=True)
@given(data=st.data(), vendor_key=st.sampled_from(["viafoura-engagement", "viafoura-notifications"]))
def test_an_events_identity_type_and_time_do_not_depend_on_the_rest_of_its_batch(
    data: st.DataObject, vendor_key: str
) -> None:
    # In-process (no stack): a few hundred batches, each mapped whole, shuffled, and one event at a time
    delivery = data.draw(delivery_for(vendor_key, Ids("m", 10**6)))
    field_name = "events" if vendor_key == "viafoura-engagement" else "notifications"
    whole = normalized(vendor_key, encode(delivery.document))
    assert sorted(whole) == sorted(expected.event_id for expected in delivery.expected)
    for expected in delivery.expected:
        event_type, occurred_at, time_source = whole[expected.event_id]
        assert event_type == expected.event_type
        # Each event states a time, or its batch does (a generated batch always states one)
        assert expected.occurred is not None
        assert (occurred_at, time_source) == (iso_millis(expected.occurred), "vendor")
    shuffled = {**delivery.document, field_name: data.draw(st.permutations(delivery.document[field_name]))}
    assert normalized(vendor_key, encode(shuffled)) == whole
    elements = delivery.document[field_name]
    for element in data.draw(st.lists(st.sampled_from(elements), max_size=3)):
        alone = normalized(vendor_key, encode({**delivery.document, field_name: [element]}))
        assert alone.items() <= whole.items()
