"""Property: a batch mixing good and bad elements loses nothing and stores nothing twice.

Whatever a Viafoura batch holds (events, duplicates, the same id with other content, values
that are not objects, events without their id or a required field, odd field values), every
element ends in exactly one place: stored once under its id, or quarantined with a reason.
Nothing reaches a dead-letter queue and nothing else is written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import SUCCESS, depth, dlq_url, quarantined, queue_url, reader, send_body
from webhook_intake.registry import vendor
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime

BATCH_VENDORS = ("viafoura-engagement", "viafoura-notifications")
REASONS = {
    "invalid_event",
    "missing_id",
    "invalid_id",
    "missing_field",
    "invalid_field",
    "conflict",
    "unmappable",
    "too_large",
}

lone_surrogates = st.text(
    alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]), min_size=1, max_size=2
)
"""What JSON can escape (\\ud800) and no store can hold: in values and in keys, they must cost nothing."""
texts = st.text(max_size=30) | st.builds(lambda head, odd: head + odd, st.text(max_size=8), lone_surrogates)
keys = st.text(max_size=8) | texts
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8) | texts, children, max_size=4)
    ),
    max_leaves=12,
)


def good(vendor_key: str, event_id: str, variant: int) -> dict[str, Any]:
    """A well-formed event of the vendor (``variant`` changes its content, not its id)."""
    if vendor_key == "viafoura-engagement":
        return {
            "event_uuid": event_id,
            "message_type": "livecomment_post",
            "action": "liked",
            "time": 1_790_000_000_000 + variant,
            "user": {"id": f"user-{variant}"},
        }
    return {
        "notification_uuid": event_id,
        "notification_type": "follow",
        "time": 1_790_000_000_000 + variant,
        "actor": {"user_id": f"user-{variant}"},
    }


@dataclass
class Batch:
    """The elements sent, and what each must become."""

    elements: list[Any] = field(default_factory=list)
    stored: dict[str, Any] = field(default_factory=dict)
    """Event id -> the element stored under it (the first of its content)."""
    refused_at_the_door: int = 0
    refused_texts: set[str] = field(default_factory=set)
    """Identical bad elements are one quarantined event (its key is the text's digest), like duplicates."""
    conflicts: int = 0
    either: set[str] = field(default_factory=set)
    """Ids of odd events: stored or quarantined, never both, never neither."""

    def refuse(self, element: Any) -> None:
        self.refused_at_the_door += 1
        self.refused_texts.add(json.dumps(element))


@st.composite
def batches(draw: st.DrawFn, vendor_key: str, marker: str) -> Batch:
    spec = vendor(vendor_key)
    batch = Batch()
    kinds = ["good", "good", "duplicate", "conflict", "not-object", "no-id", "no-required", "odd"]
    for index in range(draw(st.integers(min_value=1, max_value=12))):
        kind = draw(st.sampled_from(kinds))
        earlier = [event_id for event_id in batch.stored if event_id not in batch.either]
        if kind in ("duplicate", "conflict") and not earlier:
            kind = "good"
        event_id = f"{marker}-{index}"
        if kind == "good":
            element = good(vendor_key, event_id, index)
            batch.stored[event_id] = element
        elif kind == "duplicate":
            element = batch.stored[draw(st.sampled_from(earlier))]
        elif kind == "conflict":
            original = draw(st.sampled_from(earlier))
            element = good(vendor_key, original, 1000 + index)
            batch.conflicts += 1
        elif kind == "not-object":
            element = draw(values.filter(lambda value: not isinstance(value, dict)))
            batch.refuse(element)
        elif kind == "no-id":
            element = {k: v for k, v in good(vendor_key, event_id, index).items() if k != spec.id_field}
            element[spec.id_field] = draw(st.sampled_from(["", "   ", None, True, [], {}, 1.5]))
            batch.refuse(element)
        elif kind == "no-required":
            element = {k: v for k, v in good(vendor_key, event_id, index).items() if k != spec.required[0]}
            batch.refuse(element)
        else:
            element = {**good(vendor_key, event_id, index), **draw(st.dictionaries(st.text(max_size=12), values))}
            element[spec.id_field] = event_id
            for name in spec.required:
                element[name] = event_id if draw(st.booleans()) else element.get(name) or "x"
            batch.stored[event_id] = element
            batch.either.add(event_id)
        batch.elements.append(element)
    return batch


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), vendor_key=st.sampled_from(BATCH_VENDORS))
def test_every_element_is_stored_once_or_quarantined_with_a_reason(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], data: st.DataObject, vendor_key: str
) -> None:
    runtime = shared_runtime
    marker = uuid.uuid4().hex[:12]
    batch = data.draw(batches(vendor_key, marker))
    spec = vendor(vendor_key)
    body = {"request_uuid": marker, "time": 1_790_000_000_000, "version": 1, spec.batch_field: batch.elements}
    usable = len(batch.elements) - batch.refused_at_the_door
    # Only what this delivery quarantined is read: the shared stack keeps every earlier example's, and
    # reading them all each time made `make soak` grow by the square of its examples.
    since = iso_millis(datetime.now(UTC))

    response = send_body(runtime, vendor_key, body, secrets[vendor_key], headers={"x-request-id": marker})
    runtime.drain()

    if usable == 0:
        # Nothing in it could be stored: refused whole, so the vendor hears it; nothing queued.
        assert response.status == 400, response.body
        assert not quarantined_now(runtime, vendor_key, marker, since)
        return
    assert response.status == SUCCESS[vendor_key], response.body
    if vendor_key == "viafoura-engagement":
        results = [result["type"] for result in response.json()["results"]]
        assert results.count("failure") == batch.refused_at_the_door

    kept = quarantined_now(runtime, vendor_key, marker, since)
    assert all(item["reason"] in REASONS and item["message"] for item in kept), kept
    kept_ids = [item.get("event_id") for item in kept if item.get("event_id")]
    events = reader(runtime).get_many([(vendor_key, event_id) for event_id in batch.stored])
    stored_ids = {event["event_id"] for event in events if event is not None}
    for event_id in batch.stored:
        if event_id in batch.either:
            # An odd event is stored or quarantined: exactly one of the two.
            assert (event_id in stored_ids) != (event_id in kept_ids), event_id
        else:
            assert event_id in stored_ids, event_id
    for event in events:
        if event is not None and event["event_id"] not in batch.either:
            # The first content stays: a later conflicting version never replaces it.
            assert json.loads(event["raw_text"]) == batch.stored[event["event_id"]]
    odd_quarantined = sum(1 for event_id in batch.either if event_id in kept_ids)
    assert len(kept) == len(batch.refused_texts) + batch.conflicts + odd_quarantined, kept
    assert [item["reason"] for item in kept].count("conflict") == batch.conflicts
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0
    assert depth(runtime, dlq_url(runtime, vendor_key)) == 0


def quarantined_now(runtime: LocalRuntime, vendor_key: str, marker: str, since: str) -> list[dict[str, Any]]:
    """This delivery's quarantined events (received at ``since`` or later; its correlation id is the marker)."""
    return [
        item for item in quarantined(runtime, vendor_key, received_since=since) if item.get("correlation_id") == marker
    ]
