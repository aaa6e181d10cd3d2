"""The consumer maps a batch's small records before it writes any; each event still has its outcome in its turn."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.events import sqs_event
from tests.conftest import queue_messages
from tests.helpers import notifications_body, queue_url, send_body, stored_ids
from webhook_intake.consumer import service
from webhook_intake.consumer.service import LOOK_AHEAD_BODY_CHARS, LOOK_AHEAD_EVENTS
from webhook_intake.registry import vendor
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


def consume(runtime: LocalRuntime, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """One invocation of the notifications consumer on ``messages``."""
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    return dict(runtime.functions["ViafouraNotificationsConsumerFunction"].invoke(event))


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
