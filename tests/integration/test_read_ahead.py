"""The consumer maps a batch's small records before it writes any; each event still has its outcome in its turn."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.events import sqs_event
from intake_cli.samples import sample_files
from tests.conftest import queue_messages
from tests.helpers import (
    listed,
    notifications_body,
    quarantined,
    queue_url,
    send,
    send_body,
    stack_with,
    stored,
    stored_ids,
)
from webhook_intake.consumer import service
from webhook_intake.consumer.service import LOOK_AHEAD_BODY_CHARS, LOOK_AHEAD_EVENTS
from webhook_intake.registry import VENDORS, vendor
from webhook_intake.store.events import EventStore

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime

VENDOR = "viafoura-notifications"


def delivered(runtime: LocalRuntime, secrets: dict[str, Any], *bodies: bytes) -> list[dict[str, Any]]:
    """The queue records of ``bodies``, each sent as a delivery, in the order they were sent."""
    for body in bodies:
        assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    messages = queue_messages(runtime.sqs, url)
    for message in messages:
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    firsts = [json.loads(body)["notifications"][0]["notification_uuid"] for body in bodies]
    return sorted(
        messages, key=lambda message: firsts.index(json.loads(message["Body"])["notifications"][0]["notification_uuid"])
    )


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Each event mapped (``map``) and each event written (``put``), by its id, in the order they happen."""
    taken: list[tuple[str, str]] = []
    normalizer_class = type(vendor(VENDOR).normalizer())
    to_event, put = normalizer_class.to_event, EventStore.put

    def mapping(self: Any, element: Any, *args: Any) -> Any:
        taken.append(("map", element.value["notification_uuid"]))
        return to_event(self, element, *args)

    def writing(self: EventStore, prepared: Any, raw: bytes) -> Any:
        taken.append(("put", json.loads(raw)["notification_uuid"]))
        return put(self, prepared, raw)

    monkeypatch.setattr(normalizer_class, "to_event", mapping)
    monkeypatch.setattr(EventStore, "put", writing)
    return taken


def consume(runtime: LocalRuntime, messages: list[dict[str, Any]], vendor_key: str = VENDOR) -> dict[str, Any]:
    """One invocation of the vendor's consumer on ``messages``."""
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    return dict(runtime.functions[f"{vendor(vendor_key).stem}ConsumerFunction"].invoke(event))


def test_a_batch_of_small_records_is_mapped_whole_before_its_first_write_and_written_in_the_deliveries_order(
    runtime: LocalRuntime, secrets: dict[str, Any], steps: list[tuple[str, str]]
) -> None:
    # Given three deliveries of two events each, consumed in one invocation
    ids = [f"ahead-{n}" for n in range(6)]
    messages = delivered(
        runtime, secrets, *(notifications_body(*ids[at : at + 2], request_uuid=f"r{at}") for at in (0, 2, 4))
    )

    # When the consumer takes them
    answer = consume(runtime, messages)

    # Then every event is stored, each mapped once, all of them before the first write, and written in order
    assert answer["batchItemFailures"] == []
    assert stored_ids(runtime, VENDOR) == ids
    assert steps == [("map", event_id) for event_id in ids] + [("put", event_id) for event_id in ids]


def test_the_events_past_the_read_ahead_and_a_long_record_are_mapped_each_in_its_turn(
    runtime: LocalRuntime, secrets: dict[str, Any], steps: list[tuple[str, str]]
) -> None:
    # Given a delivery of more events than are read ahead, then one whose body is longer than a record read ahead
    many = [f"many-{n:03d}" for n in range(LOOK_AHEAD_EVENTS + 5)]
    padded = json.loads(notifications_body("long-0", "long-1", request_uuid="r-long"))
    padded["padding"] = "x" * LOOK_AHEAD_BODY_CHARS
    messages = delivered(
        runtime, secrets, notifications_body(*many, request_uuid="r-many"), json.dumps(padded).encode()
    )

    # When the consumer takes both in one invocation
    answer = consume(runtime, messages)

    # Then the first events are mapped ahead; each of the others is mapped just before it is written
    assert answer["batchItemFailures"] == []
    assert stored_ids(runtime, VENDOR) == sorted([*many, "long-0", "long-1"])
    ahead, rest = many[:LOOK_AHEAD_EVENTS], [*many[LOOK_AHEAD_EVENTS:], "long-0", "long-1"]
    in_turn = [step for event_id in rest for step in (("map", event_id), ("put", event_id))]
    assert steps == [("map", event_id) for event_id in ahead] + [("put", event_id) for event_id in ahead] + in_turn


def test_what_fails_while_a_record_is_read_ahead_fails_that_record_alone(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three records, and making the item of one event failing for a reason not its own
    messages = delivered(runtime, secrets, *(notifications_body(f"fault-{n}", request_uuid=f"r{n}") for n in range(3)))
    prepare = service.prepare

    def failing(event: Any, *args: Any) -> Any:
        if event.event_id == "fault-1":
            raise RuntimeError("not the event's fault")
        return prepare(event, *args)

    monkeypatch.setattr(service, "prepare", failing)

    # When the consumer takes them in one invocation
    answer = consume(runtime, messages)

    # Then that record alone goes back to be retried, and the others' events are stored
    assert answer["batchItemFailures"] == [{"itemIdentifier": messages[1]["MessageId"]}]
    assert stored_ids(runtime, VENDOR) == ["fault-0", "fault-2"]


def outcomes(runtime: LocalRuntime, vendor_key: str) -> dict[str, Any]:
    """What a stack holds of a vendor's events: stored (but for the id of each write), quarantined, listed."""
    return {
        "stored": sorted(
            json.dumps({k: v for k, v in event.items() if k != "write_id"}, sort_keys=True, default=str)
            for event in stored(runtime, vendor_key)
        ),
        "quarantined": sorted(
            (str(item.get("reason")), str(item.get("event_id")), item["text"], str(item.get("received_at")))
            for item in quarantined(runtime, vendor_key)
        ),
        "listed": sorted(
            json.dumps(entry, sort_keys=True, default=str) for entry in listed(runtime, vendor=vendor_key)
        ),
    }


@pytest.mark.parametrize("vendor_key", list(VENDORS))
def test_a_batch_read_ahead_ends_as_its_records_consumed_one_at_a_time(
    vendor_key: str, runtime: LocalRuntime, secrets: dict[str, Any], aws: Any, stack_name: str
) -> None:
    # Given every sample delivery of the vendor, each sent twice (a retry's events are duplicates), as queue records
    for path in sample_files(vendor_key):
        for _ in range(2):
            send(runtime, vendor_key, path, secrets)
    url = queue_url(runtime, vendor_key)
    messages = sorted(
        queue_messages(runtime.sqs, url), key=lambda message: message["MessageAttributes"]["received_at"]["StringValue"]
    )
    assert len(messages) >= 2
    for message in messages:
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    one_at_a_time = stack_with({}, aws, f"{stack_name}-b", secrets)

    # When one stack's consumer takes them ten at a time (read ahead), another's one at a time
    for at in range(0, len(messages), 10):
        assert consume(runtime, messages[at : at + 10], vendor_key) == {"batchItemFailures": []}
    for message in messages:
        assert consume(one_at_a_time, [message], vendor_key) == {"batchItemFailures": []}

    # Then both stacks hold the same events, the same quarantine and the same feed
    found = outcomes(runtime, vendor_key)
    assert found["stored"]
    assert found == outcomes(one_at_a_time, vendor_key)
