"""The consumer's time: it stops with time to spare, and the rest of a delivery goes back on its queue."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from intake_cli.events import sqs_event
from intake_cli.lambdas import LambdaContext
from tests.conftest import queue_messages
from tests.helpers import (
    consumer_dynamodb_hook,
    consumer_puts_refused,
    depth,
    dlq_url,
    handler_logs,
    mapping_fails_on,
    notifications_body,
    quarantined,
    queue_url,
    reader,
    redrive,
    send_body,
    stored_ids,
)
from webhook_intake.consumer.service import (
    CONTINUATION_CONFIG,
    TIME_RESERVE_MS,
    Continuation,
    OutOfTimeError,
    _resume_check,
)
from webhook_intake.consumer.shapes import MAX_SHAPE_WRITES
from webhook_intake.delivery import Delivery
from webhook_intake.ingest.queue import attributes_size
from webhook_intake.ingest.settings import SQS_MAX_MESSAGE_BYTES
from webhook_intake.registry import vendor
from webhook_intake.store.events import EventStore, StoreError
from webhook_intake.store.quarantine import QuarantineStore
from webhook_intake.store.reads import FeedFilter
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Callable

    from intake_cli.runtime import LocalRuntime

VENDOR = "viafoura-notifications"


class Clock:
    """A Lambda context whose time runs out after ``puts`` event writes (each a millisecond of the budget)."""

    def __init__(self, spec: Any, puts: int) -> None:
        self.context = LambdaContext(spec.logical_id, spec.memory_size, spec.timeout, aws_request_id="clock")
        self.budget, self.done = puts, 0

    def get_remaining_time_in_millis(self) -> int:
        return 30_000 if self.done < self.budget else TIME_RESERVE_MS - 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.context, name)


def last_hour() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(minutes=1)


def consume_in_time(runtime: LocalRuntime, messages: list[Any], clock: Clock, receives: int) -> dict[str, Any]:
    """One invocation of the notifications consumer on ``messages``, handed out for the ``receives``-th time."""
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(receives)
    function = runtime.functions["ViafouraNotificationsConsumerFunction"]
    return dict(function.handler(event, clock))


@pytest.fixture
def counted_puts(monkeypatch: pytest.MonkeyPatch) -> list[Clock]:
    """Each event put and each quarantine write advances the clocks in the list."""
    clocks: list[Clock] = []
    for store in (EventStore, QuarantineStore):
        monkeypatch.setattr(store, "put", counting(store.put, clocks))
    return clocks


def counting(write: Callable[..., Any], clocks: list[Clock]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        # The time a write takes is spent while it is made: it began while there was time for it.
        try:
            return write(*args, **kwargs)
        finally:
            for clock in clocks:
                clock.done += 1

    return counted


def big_delivery(runtime: LocalRuntime, secrets: dict[str, Any], pad: int = 0) -> list[str]:
    """One notifications delivery of 300 events (and ``pad`` bytes beside them), accepted: their ids."""
    uuids = [f"big-{n:03d}" for n in range(300)]
    vendor = VENDOR
    body = json.loads(notifications_body(*uuids))
    if pad:
        body["pad"] = "p" * pad
    assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
    return uuids


@pytest.mark.parametrize("pad", [0, 1_100_000], ids=["inline", "claim check"])
def test_the_rest_of_a_delivery_too_large_for_one_invocation_goes_back_on_the_queue_and_is_stored(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock], pad: int
) -> None:
    # Given one delivery of 300 events (over SQS's size: in S3), and invocations with time for 70 writes each
    vendor = VENDOR
    uuids = big_delivery(runtime, secrets, pad)
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    url = queue_url(runtime, vendor)

    # When the consumer takes what is on the queue, invocation after invocation (each message received once)
    invocations = 0
    while messages := queue_messages(runtime.sqs, url):
        assert all(("claim_check" in message["MessageAttributes"]) == bool(pad) for message in messages)
        clock = Clock(spec, puts=70)
        counted_puts[:] = [clock]
        assert consume_in_time(runtime, messages, clock, 1)["batchItemFailures"] == []
        for message in messages:  # as the event source mapping deletes the records that succeeded
            runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        invocations += 1
        assert invocations <= 5

    # Then each invocation stored what it had time for and sent the rest back: all are stored, each listed
    # once, nothing was handed back or dead-lettered
    assert invocations == 5
    assert stored_ids(runtime, vendor) == uuids
    listed = [entry["event_id"] for entry in reader(runtime).feed(*last_hour(), FeedFilter(vendor=vendor), limit=1000)]
    assert sorted(listed) == uuids
    assert depth(runtime, dlq_url(runtime, vendor)) == 0


class WorkClock:
    """A Lambda context whose time is the work it has done: ``spend`` takes milliseconds off what is left."""

    def __init__(self, spec: Any, left_ms: int) -> None:
        self.context = LambdaContext(spec.logical_id, spec.memory_size, spec.timeout, aws_request_id="work")
        self.left = left_ms

    def spend(self, ms: int) -> None:
        self.left -= ms

    def get_remaining_time_in_millis(self) -> int:
        return self.left

    def __getattr__(self, name: str) -> Any:
        return getattr(self.context, name)


def test_a_large_delivery_begun_with_little_time_left_stops_while_mapped_and_its_rest_goes_back(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one delivery of 600 events, every 25th without an id (to quarantine), and an invocation handed it
    # with 5 s of its time left (the 3 s reserve, the 1.5 s a write's attempt may take, and 0.5 s), where mapping
    # an event takes 20 ms and each write 5 ms: mapping the whole delivery at once would take 12 s
    uuids = [None if n % 25 == 10 else f"slow-{n:04d}" for n in range(600)]
    body = json.loads(notifications_body(*uuids, request_uuid="r-slow"))
    for n, note in enumerate(body["notifications"]):
        if uuids[n] is None:
            note["poison"] = n  # each one an event of its own
    assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    (message,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    clocks = [WorkClock(spec, left_ms=5_000)]
    normalizer_class = type(vendor(VENDOR).normalizer())
    to_event, put, keep = normalizer_class.to_event, EventStore.put, QuarantineStore.put
    outcomes: list[tuple[str, str]] = []

    def mapping(self: Any, *args: Any) -> Any:
        clocks[0].spend(20)
        return to_event(self, *args)

    def writing(self: EventStore, prepared: Any, raw: bytes) -> Any:
        clocks[0].spend(5)
        result = put(self, prepared, raw)
        outcomes.append((json.loads(raw)["notification_uuid"], result.outcome.value))
        return result

    def keeping(self: QuarantineStore, *args: Any) -> Any:
        clocks[0].spend(5)
        return keep(self, *args)

    monkeypatch.setattr(normalizer_class, "to_event", mapping)
    monkeypatch.setattr(EventStore, "put", writing)
    monkeypatch.setattr(QuarantineStore, "put", keeping)

    # When that invocation takes it
    answer = consume_in_time(runtime, [message], clocks[0], 1)

    # Then it returned before its deadline, with the record done: what it had time for is stored or kept, and the
    # rest of the delivery is on the queue, the same body resuming at the first event without an outcome
    assert clocks[0].left > 0
    assert answer["batchItemFailures"] == []
    (rest,) = queue_messages(runtime.sqs, url)
    assert rest["Body"] == message["Body"]
    done = int(rest["MessageAttributes"]["resume_at"]["StringValue"])
    assert 0 < done < 600
    assert stored_ids(runtime, VENDOR) == [uuid for uuid in uuids[:done] if uuid]
    assert len(quarantined(runtime, VENDOR)) == uuids[:done].count(None)

    # And the rest, consumed by invocations with their full time, stores every other event: each written once,
    # each event without an id kept once
    while messages := queue_messages(runtime.sqs, url):
        clocks[0] = WorkClock(spec, left_ms=spec.timeout * 1000)
        assert consume_in_time(runtime, messages, clocks[0], 1)["batchItemFailures"] == []
        assert clocks[0].left > 0
        for each in messages:
            runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=each["ReceiptHandle"])
    assert stored_ids(runtime, VENDOR) == sorted(uuid for uuid in uuids if uuid)
    assert sorted(outcomes) == [(uuid, "stored") for uuid in sorted(uuid for uuid in uuids if uuid)]
    kept = quarantined(runtime, VENDOR)
    assert (len(kept), {item["attempts"] for item in kept}) == (uuids.count(None), {1})
    assert listed(runtime) == sorted(uuid for uuid in uuids if uuid)
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


ENTRIES_COPIED_PER_MS = 50_000
"""What a 512 MB consumer copies of a list or an object in a millisecond (pointers and their counts: about 20 ns an
entry at the third of a core the function has)."""


def test_an_event_whose_many_list_entries_hold_a_malformed_field_is_mapped_within_the_invocations_time(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a notification to 40,000 readers, each with its viafoura_id sent as a list (each field left out for its
    # type, the event stored without them), and an invocation with its whole time, where mapping spends the time
    # it takes to copy the lists and objects it leaves fields out of
    note = {"notification_type": "broadcast_site", "notification_uuid": "many-malformed", "time": 1790000000000}
    note["recipients"] = [{"name": f"reader {n}", "viafoura_id": []} for n in range(40_000)]
    body = {"request_uuid": "r-many", "time": 1790000000000, "version": 1, "notifications": [note]}
    assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    (message,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    clock = WorkClock(spec, left_ms=spec.timeout * 1000)
    copied = [0]

    def copying(frame: Any, event: str, called: Any) -> None:
        container = getattr(called, "__self__", None)
        if event == "c_call" and getattr(called, "__name__", "") == "copy" and isinstance(container, list | dict):
            copied[0] += len(container)

    normalizer_class = type(vendor(VENDOR).normalizer())
    to_event = normalizer_class.to_event

    def mapping(self: Any, *args: Any) -> Any:
        sys.setprofile(copying)
        try:
            return to_event(self, *args)
        finally:
            sys.setprofile(None)
            clock.spend(copied[0] // ENTRIES_COPIED_PER_MS)
            copied[0] = 0

    monkeypatch.setattr(normalizer_class, "to_event", mapping)

    # When that invocation takes it
    answer = consume_in_time(runtime, [message], clock, 1)

    # Then it is stored before the deadline, its record done (not timed out, and dead-lettered after as many tries)
    assert clock.left > 0
    assert answer["batchItemFailures"] == []
    stored = reader(runtime).get(VENDOR, "many-malformed")
    assert stored is not None
    assert (stored["recipient_count"], stored["dropped"]) == (40_000, {"recipients.*.viafoura_id"})
    assert depth(runtime, url) == 0


def test_a_batch_received_over_many_minutes_writes_its_feed_pages_before_its_deadline(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 200 deliveries of one event each, received a minute apart (a backlog taken in one large batch: a feed
    # page for each minute), and an invocation of 30 s where each event write takes 150 ms and each page 25 ms
    url = queue_url(runtime, VENDOR)
    assert send_body(runtime, VENDOR, notifications_body("model"), secrets[VENDOR]).status == 204
    (model,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=model["ReceiptHandle"])
    now = datetime.now(UTC)
    uuids = [f"minute-{n:03d}" for n in range(200)]
    for n, uuid in enumerate(uuids):
        attributes = {
            name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
            for name, value in model["MessageAttributes"].items()
        }
        attributes["received_at"]["StringValue"] = iso_millis(now - timedelta(minutes=200 - n))
        body = notifications_body(uuid, request_uuid=f"r-{uuid}").decode()
        runtime.sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    messages = queue_messages(runtime.sqs, url)
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    clock = WorkClock(spec, left_ms=spec.timeout * 1000)
    put, put_page = EventStore.put, EventStore.put_page

    def writing(self: EventStore, *args: Any) -> Any:
        clock.spend(150)
        return put(self, *args)

    def paging(self: EventStore, *args: Any) -> Any:
        clock.spend(25)
        return put_page(self, *args)

    monkeypatch.setattr(EventStore, "put", writing)
    monkeypatch.setattr(EventStore, "put_page", paging)

    # When one invocation takes them all
    answer = consume_in_time(runtime, messages, clock, 1)

    # Then it returned before its deadline; the records it took are stored and listed, the others go back untouched
    assert clock.left > 0
    back = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
    taken = sorted(uuid for uuid, message in zip(uuids, messages, strict=True) if message["MessageId"] not in back)
    assert 0 < len(taken) < 200
    assert stored_ids(runtime, VENDOR) == taken
    entries = reader(runtime).feed(now - timedelta(hours=4), now + timedelta(minutes=1), limit=1000)
    assert sorted(entry["event_id"] for entry in entries) == taken


def early_and_late(runtime: LocalRuntime, secrets: dict[str, Any], *, request_ids: bool = False) -> list[Any]:
    """Two notifications deliveries of three events each (``early-N``, ``late-N``), accepted, each with an
    ``x-request-id`` of its own if asked: their queue messages, the early one's first."""
    for name in ("early", "late"):
        body = notifications_body(f"{name}-1", f"{name}-2", f"{name}-3", request_uuid=f"r-{name}")
        headers = {"x-request-id": f"id-{name}"} if request_ids else None
        assert send_body(runtime, VENDOR, body, secrets[VENDOR], headers=headers).status == 204
    return sorted(queue_messages(runtime.sqs, queue_url(runtime, VENDOR)), key=lambda m: "late" in m["Body"])


def test_a_record_the_invocation_has_no_time_left_for_goes_back_untouched(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock]
) -> None:
    # Given two deliveries of three events, and time for the first one's writes only
    vendor = VENDOR
    messages = early_and_late(runtime, secrets)
    clock = Clock(runtime.functions["ViafouraNotificationsConsumerFunction"].spec, puts=3)
    counted_puts[:] = [clock]

    # When one invocation takes both
    answer = consume_in_time(runtime, messages, clock, 1)

    # Then the second record goes back with nothing of it written, the first is stored and listed
    assert answer["batchItemFailures"] == [{"itemIdentifier": messages[1]["MessageId"]}]
    assert stored_ids(runtime, vendor) == ["early-1", "early-2", "early-3"]
    listed = reader(runtime).feed(*last_hour(), FeedFilter(vendor=vendor), limit=100)
    assert sorted(entry["event_id"] for entry in listed) == ["early-1", "early-2", "early-3"]


@pytest.mark.parametrize("reading_takes_the_time", [False, True], ids=["before it is read", "while it is read"])
def test_a_record_the_time_of_the_records_before_it_leaves_out_at_its_last_receive_goes_back_as_a_new_message(
    runtime: LocalRuntime,
    secrets: dict[str, Any],
    counted_puts: list[Clock],
    monkeypatch: pytest.MonkeyPatch,
    reading_takes_the_time: bool,
) -> None:
    # Given two deliveries of three events handed out for the last time (MaxReceiveCount), and time for the
    # first one's writes only (or for those and the reading of the second)
    messages = early_and_late(runtime, secrets)
    url = queue_url(runtime, VENDOR)
    clock = Clock(runtime.functions["ViafouraNotificationsConsumerFunction"].spec, puts=3 + reading_takes_the_time)
    counted_puts[:] = [clock]
    normalizer_class = type(vendor(VENDOR).normalizer())
    read, read_slowly = normalizer_class.read, counting(normalizer_class.read, counted_puts)

    def reading(self: Any, body: str, *args: Any) -> Any:
        return (read_slowly if reading_takes_the_time and "late" in body else read)(self, body, *args)

    monkeypatch.setattr(normalizer_class, "read", reading)

    # When one invocation takes both, and the event source mapping deletes what succeeded
    answer = consume_in_time(runtime, messages, clock, 5)
    for message in messages:
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # Then the second, which the first took the time of, is not handed back to be dead-lettered: it is on the
    # queue again as a message of its own, and stored from there
    assert answer["batchItemFailures"] == []
    (again,) = queue_messages(runtime.sqs, url)
    assert again["Body"] == messages[1]["Body"]
    assert consume_until_empty(runtime, counted_puts, puts=70) == []
    assert stored_ids(runtime, VENDOR) == ["early-1", "early-2", "early-3", "late-1", "late-2", "late-3"]
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


def test_records_at_their_last_receive_past_the_time_send_no_more_than_the_reserve_holds(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 60 deliveries of one event each, all handed out for the last time (MaxReceiveCount) in one batch, to
    # an invocation of 30 s where each event write takes 1 s (DynamoDB throttled) and SQS takes 100 ms a send
    url = queue_url(runtime, VENDOR)
    for n in range(60):
        body = notifications_body(f"last-{n:02d}", request_uuid=f"r-last-{n:02d}")
        assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204
    messages = queue_messages(runtime.sqs, url)
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    clock = WorkClock(spec, left_ms=spec.timeout * 1000)
    put, send = EventStore.put, Continuation.__call__

    def writing(self: EventStore, *args: Any) -> Any:
        clock.spend(1_000)
        return put(self, *args)

    def sending(self: Continuation, *args: Any) -> None:
        clock.spend(100)
        send(self, *args)

    monkeypatch.setattr(EventStore, "put", writing)
    monkeypatch.setattr(Continuation, "__call__", sending)

    # When one invocation takes them all, and the event source mapping deletes what succeeded
    answer = consume_in_time(runtime, messages, clock, 5)
    back = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in back:
            runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # Then it returned before its deadline (a Lambda timeout would hand back the whole batch, to be dead-lettered):
    # what it stored is stored, and each other record is either on the queue again or handed back, never both
    assert clock.left > 0
    stored = stored_ids(runtime, VENDOR)
    assert 0 < len(stored) < 60
    again = [message["Body"] for message in queue_messages(runtime.sqs, url) if message["MessageId"] not in back]
    handed_back = [message["Body"] for message in messages if message["MessageId"] in back]
    assert not set(again) & set(handed_back)
    assert len(stored) + len(again) + len(handed_back) == 60


def test_a_record_an_invocation_has_no_time_for_from_its_start_is_dead_lettered_at_its_last_receive(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock]
) -> None:
    # Given one delivery handed out for the last time, to an invocation with no time left from its start
    assert send_body(runtime, VENDOR, notifications_body("only-1"), secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    messages = queue_messages(runtime.sqs, url)
    clock = Clock(runtime.functions["ViafouraNotificationsConsumerFunction"].spec, puts=0)
    counted_puts[:] = [clock]

    # When it takes the record
    answer = consume_in_time(runtime, messages, clock, 5)

    # Then the record fails (SQS dead-letters it): no other record took its time, so no new message is sent
    # round again
    assert answer["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    assert [message["MessageId"] for message in queue_messages(runtime.sqs, url)] == [messages[0]["MessageId"]]


def test_a_record_sent_back_untouched_is_logged_under_no_other_deliverys_correlation_id(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock]
) -> None:
    # Given two deliveries, each with its own id, and time for the first one's writes only
    messages = early_and_late(runtime, secrets, request_ids=True)
    clock = Clock(runtime.functions["ViafouraNotificationsConsumerFunction"].spec, puts=3)
    counted_puts[:] = [clock]

    # When one invocation takes both, and the second goes back before it is read
    with handler_logs() as logs:
        consume_in_time(runtime, messages, clock, 1)

    # Then the line saying it goes back names its message, never the first delivery's correlation id
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith('{"level"')]
    (sent_back,) = [line for line in lines if line.get("message_id") == messages[1]["MessageId"]]
    assert sent_back.get("correlation_id") != "id-early"
    assert all(line.get("correlation_id") in (None, "id-early") for line in lines)
    # nor the outcomes line that reports it with the first delivery's events
    (outcomes,) = [line for line in lines if line["message"] == "outcomes"]
    assert f"retrying {messages[1]['MessageId']}" in outcomes["outcomes"]
    assert "correlation_id" not in outcomes
    assert outcomes["correlation_ids"] == ["id-early"]


def consume_until_empty(runtime: LocalRuntime, clocks: list[Clock], puts: int, limit: int = 20) -> list[str]:
    """Invocations as the event source mapping runs them, a record each, time for ``puts`` writes each: a
    record handed back comes back with its receive count raised, and past MaxReceiveCount (5) goes to the
    DLQ. The ids of the records dead-lettered."""
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    url = queue_url(runtime, VENDOR)
    receives: dict[str, int] = {}
    dead: list[str] = []
    for _ in range(limit):
        messages = queue_messages(runtime.sqs, url)
        if not messages:
            return dead
        for message in messages:
            receives[message["MessageId"]] = receives.get(message["MessageId"], 0) + 1
            clock = Clock(spec, puts=puts)
            clocks[:] = [clock]
            failed = consume_in_time(runtime, [message], clock, receives[message["MessageId"]])["batchItemFailures"]
            if failed and receives[message["MessageId"]] < 5:
                continue  # visible again at once (queue_messages made it so)
            if failed:
                dead.append(message["MessageId"])
            runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the queue never emptied")


def listed(runtime: LocalRuntime) -> list[str]:
    entries = reader(runtime).feed(*last_hour(), FeedFilter(vendor=VENDOR), limit=2000)
    return sorted(entry["event_id"] for entry in entries)


def test_more_bad_events_than_one_invocation_has_time_for_are_kept_over_invocations_and_the_good_stored(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock]
) -> None:
    # Given one delivery of 10 good events and 150 distinct ones without an id; time for 70 writes an invocation
    body = json.loads(notifications_body(*[f"ok-{n}" for n in range(10)]))
    body["notifications"] += [{"notification_type": "follow", "time": 1790000000000, "poison": n} for n in range(150)]
    assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204

    # When the consumer runs on
    dead = consume_until_empty(runtime, counted_puts, puts=70)

    # Then each bad event is kept once, the good ones are stored, nothing is dead-lettered
    assert dead == []
    assert stored_ids(runtime, VENDOR) == sorted(f"ok-{n}" for n in range(10))
    kept = quarantined(runtime, VENDOR)
    assert (len(kept), {item["attempts"] for item in kept}) == (150, {1})


def test_a_large_record_handed_back_untouched_is_continued_on_a_later_receive(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock]
) -> None:
    # Given two deliveries of 300 events, and time for 70 writes an invocation
    for name in ("a", "b"):
        body = notifications_body(*[f"{name}-{n:03d}" for n in range(300)], request_uuid=f"r-{name}")
        assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    messages = sorted(queue_messages(runtime.sqs, url), key=lambda message: '"r-b"' in message["Body"])
    clock = Clock(runtime.functions["ViafouraNotificationsConsumerFunction"].spec, puts=70)
    counted_puts[:] = [clock]

    # When one invocation takes both, the second record goes back untouched (no time left for it)
    assert consume_in_time(runtime, messages, clock, 1)["batchItemFailures"] == [
        {"itemIdentifier": messages[1]["MessageId"]}
    ]
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])

    # Then on its later receives it is continued like any other: both deliveries stored and listed, no dead letter
    assert consume_until_empty(runtime, counted_puts, puts=70) == []
    everything = sorted(f"{name}-{n:03d}" for name in ("a", "b") for n in range(300))
    assert stored_ids(runtime, VENDOR) == everything
    assert listed(runtime) == everything


def test_a_record_whose_rest_was_sent_and_whose_feed_page_failed_lists_every_event_after_its_retry(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one delivery of 300 events, time for 70 writes an invocation, and a first feed page refused
    uuids = [f"f-{n:03d}" for n in range(300)]
    assert send_body(runtime, VENDOR, notifications_body(*uuids), secrets[VENDOR]).status == 204
    put_page, calls = EventStore.put_page, []

    def failing_once(self: EventStore, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("ProvisionedThroughputExceededException")
        return put_page(self, *args, **kwargs)

    monkeypatch.setattr(EventStore, "put_page", failing_once)

    # When the consumer runs on
    dead = consume_until_empty(runtime, counted_puts, puts=70)

    # Then the record retried for its entries finds its events stored and lists them: all stored, all listed
    assert dead == []
    assert stored_ids(runtime, VENDOR) == uuids
    assert listed(runtime) == uuids


def test_a_rest_sqs_does_not_take_leaves_the_record_to_go_back_and_be_continued_later(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one delivery of 300 events, and a queue that refuses the first two sends of a rest
    uuids = big_delivery(runtime, secrets)
    send, refusals = Continuation.__call__, [1, 1]

    def refusing(self: Continuation, *args: Any) -> None:
        if refusals:
            refusals.pop()
            raise OutOfTimeError("refused")
        send(self, *args)

    monkeypatch.setattr(Continuation, "__call__", refusing)

    # When the consumer runs on: then the record goes back twice, is continued on its third receive, and is stored
    assert consume_until_empty(runtime, counted_puts, puts=70) == []
    assert stored_ids(runtime, VENDOR) == uuids
    assert listed(runtime) == uuids


def test_a_dead_letter_without_a_correlation_id_redriven_is_the_same_quarantine_item_tried_again(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a record without its correlation_id attribute (the fallback: the message id), one event without an id
    url = queue_url(runtime, VENDOR)
    assert send_body(runtime, VENDOR, notifications_body("cid-ok", None), secrets[VENDOR]).status == 204
    (message,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    attributes = {
        name: {key: value for key, value in attribute.items() if key in ("DataType", "StringValue")}
        for name, attribute in message["MessageAttributes"].items()
        if name != "correlation_id"
    }

    # When it is consumed, then sent again as a DLQ redrive moves it (a new message id)
    for _ in range(2):
        runtime.sqs.send_message(QueueUrl=url, MessageBody=message["Body"], MessageAttributes=attributes)
        runtime.drain()

    # Then it is one quarantine item, tried twice
    assert [(item["reason"], item["attempts"]) for item in quarantined(runtime, VENDOR)] == [("missing_id", 2)]


def test_the_send_of_a_rest_fits_in_the_reserve_it_is_made_in() -> None:
    # One try: connect and read within the time kept back, so a slow send is never the function's timeout
    assert CONTINUATION_CONFIG.retries["total_max_attempts"] == 1
    assert CONTINUATION_CONFIG.connect_timeout + CONTINUATION_CONFIG.read_timeout < TIME_RESERVE_MS / 1000


def test_a_delivery_queued_inline_at_the_size_limit_has_room_for_the_mark_of_its_rest(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock]
) -> None:
    # Given every header a delivery keeps at its longest (latin-1, escaped six bytes a character in the
    # route attribute), and a delivery of 300 events padded so that it and its attributes fill SQS's 1 MiB
    url = queue_url(runtime, VENDOR)
    long_value = "\u00e9" * 300
    headers = {name: long_value for name in ("user-agent", "x-request-id", "x-fastcomments-timestamp")}
    headers["x-socialchorus-delivery"] = "d" * 300
    assert send_body(runtime, VENDOR, notifications_body("probe"), secrets[VENDOR], headers=headers).status == 204
    (probe,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=probe["ReceiptHandle"])
    attributes = attributes_size(
        {
            name: {"DataType": a["DataType"], "StringValue": a["StringValue"]}
            for name, a in probe["MessageAttributes"].items()
        }
    )
    uuids = [f"edge-{n:03d}" for n in range(300)]
    body = json.loads(notifications_body(*uuids))
    body["pad"] = ""
    empty = len(json.dumps(body).encode())
    body["pad"] = "p" * (SQS_MAX_MESSAGE_BYTES - attributes - empty - 2)
    assert send_body(runtime, VENDOR, body, secrets[VENDOR], headers=headers).status == 204

    # When the consumer runs on, with time for 70 writes an invocation
    dead = consume_until_empty(runtime, counted_puts, puts=70)

    # Then its rest goes back on the queue invocation after invocation: every event stored, no dead letter
    assert dead == []
    assert stored_ids(runtime, VENDOR) == uuids
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


def test_the_rest_of_a_delivery_whose_events_are_judged_otherwise_since_is_stored_whole(
    runtime: LocalRuntime, secrets: dict[str, Any], counted_puts: list[Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one delivery of 100 events, three of them near its end ones the mapping fails on (quarantined)
    uuids = [f"judged-{n:03d}" for n in range(100)]
    failing = {"judged-090", "judged-091", "judged-092"}
    fix = mapping_fails_on(monkeypatch, VENDOR, lambda event: event.get("notification_uuid") in failing, ValueError())
    assert send_body(runtime, VENDOR, notifications_body(*uuids), secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec

    # When an invocation with time for 20 writes sends the rest back, and the mapping is fixed (a deploy) before
    # that rest is consumed
    (message,) = queue_messages(runtime.sqs, url)
    clock = Clock(spec, puts=20)
    counted_puts[:] = [clock]
    assert consume_in_time(runtime, [message], clock, 1)["batchItemFailures"] == []
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    fix()
    assert consume_until_empty(runtime, counted_puts, puts=1000) == []

    # Then no event of the delivery is skipped: every one is stored
    assert stored_ids(runtime, VENDOR) == uuids


def taken_off(runtime: LocalRuntime, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one message on the queue at ``url``, deleted from it, and its attributes as a send takes them."""
    (message,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    attributes = {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in message["MessageAttributes"].items()
    }
    return message, attributes


def test_a_rest_sent_by_a_consumer_from_before_resume_check_is_read_whole(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a delivery of four events, its third without an id, of which a consumer deployed before resume_check
    # (which counted the events to quarantine first) quarantined the third and stored the first, then sent the
    # rest back as the same message with resume_at 2 alone, and a deploy of this version came before it was read
    body = notifications_body("old-0", "old-1", None, "old-3")
    assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    message, attributes = taken_off(runtime, url)
    attributes["resume_at"] = {"DataType": "Number", "StringValue": "2"}
    runtime.sqs.send_message(QueueUrl=url, MessageBody=message["Body"], MessageAttributes=attributes)

    # When this consumer reads that rest
    runtime.drain()

    # Then no event of the delivery is skipped (the second was done by neither): the delivery is read whole,
    # each event stored, the one without an id quarantined once, nothing dead-lettered
    assert stored_ids(runtime, VENDOR) == ["old-0", "old-1", "old-3"]
    assert [item["reason"] for item in quarantined(runtime, VENDOR)] == ["missing_id"]
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


@pytest.mark.parametrize(
    ("check", "skipped"),
    [(None, 0), ("its-own", 1), ("0123456789abcdef", 0), ("not-a-check", 0)],
    ids=["none (a rest from before)", "its own", "another", "malformed"],
)
def test_a_rest_is_resumed_only_where_its_check_says_the_place_is_the_same(
    runtime: LocalRuntime, secrets: dict[str, Any], check: str | None, skipped: int
) -> None:
    # Given a delivery of three events on the queue, its message made a rest resuming at its second event by
    # hand: with no resume_check, the one the consumer would send, another, or one that is no check
    assert send_body(runtime, VENDOR, notifications_body("rest-0", "rest-1", "rest-2"), secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    message, attributes = taken_off(runtime, url)
    attributes["resume_at"] = {"DataType": "Number", "StringValue": "1"}
    if check is not None:
        delivery = Delivery.from_message_attributes(attributes, vendor=VENDOR)
        own = _resume_check(vendor(VENDOR).normalizer().read(message["Body"], delivery))
        attributes["resume_check"] = {"DataType": "String", "StringValue": own if check == "its-own" else check}
    runtime.sqs.send_message(QueueUrl=url, MessageBody=message["Body"], MessageAttributes=attributes)

    # When the consumer reads it
    runtime.drain()

    # Then a rest whose check is its own skips the event done; any other, or one with none (a rest from before,
    # whose place was counted otherwise), is read whole
    assert stored_ids(runtime, VENDOR) == ["rest-0", "rest-1", "rest-2"][skipped:]


def test_a_delivery_of_many_new_shapes_writes_a_few_in_the_reserve_and_the_rest_later(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given one delivery of 120 events, each with a field no other has (120 shapes never seen)
    vendor = VENDOR
    body = json.loads(notifications_body(*[f"shapes-{n:03d}" for n in range(120)], request_uuid="r-shapes"))
    for n, note in enumerate(body["notifications"]):
        note[f"field_{n}"] = 1
    assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
    shape_writes: list[int] = []

    def count(request: Any, **_: Any) -> None:
        if b"PutItem" in request.headers.get("X-Amz-Target", b"") and b'"shape#' in (request.body or b""):
            shape_writes.append(1)

    # When it is consumed
    with consumer_dynamodb_hook(count):
        runtime.drain()
        first = len(shape_writes)
        # Then its events are stored, and the reserve at the invocation's end holds only a few shape writes
        assert stored_ids(runtime, vendor) == sorted(f"shapes-{n:03d}" for n in range(120))
        assert 0 < first < 120  # a few, not all 120 in one reserve
        assert first <= MAX_SHAPE_WRITES
        # And the next invocation writes more of them
        assert send_body(runtime, vendor, notifications_body("shapes-next"), secrets[vendor]).status == 204
        runtime.drain()
    assert first < len(shape_writes) <= 2 * MAX_SHAPE_WRITES


def test_feed_pages_owed_when_an_attempt_no_longer_fits_are_written_in_the_reserve_not_retried(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 24 deliveries of one event each, received a minute apart (a feed page owed for each), and an invocation
    # whose time, 60 ms spent by each event write, leaves no room for a write's attempt before the reserve when the
    # 21st event is due, 20 pages owed, though the reserve itself is not reached
    url = queue_url(runtime, VENDOR)
    assert send_body(runtime, VENDOR, notifications_body("model"), secrets[VENDOR]).status == 204
    (model,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=model["ReceiptHandle"])
    now = datetime.now(UTC)
    uuids = [f"owed-{n:02d}" for n in range(24)]
    for n, uuid in enumerate(uuids):
        attributes = {
            name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
            for name, value in model["MessageAttributes"].items()
        }
        attributes["received_at"]["StringValue"] = iso_millis(now - timedelta(minutes=30 - n))
        body = notifications_body(uuid, request_uuid=f"r-{uuid}").decode()
        runtime.sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    messages = sorted(queue_messages(runtime.sqs, url), key=lambda message: message["Body"].split("owed-")[1])
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    clock = WorkClock(spec, left_ms=TIME_RESERVE_MS + 1_500 + 20 * 60 - 30)
    put = EventStore.put

    def writing(self: EventStore, *args: Any) -> Any:
        try:
            return put(self, *args)
        finally:
            clock.spend(60)

    monkeypatch.setattr(EventStore, "put", writing)

    # When one invocation takes them all
    answer = consume_in_time(runtime, messages, clock, 1)

    # Then the 20 records whose events were stored are done, their entries listed; only the others go back
    back = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
    assert back == {message["MessageId"] for message in messages[20:]}
    assert stored_ids(runtime, VENDOR) == uuids[:20]
    entries = reader(runtime).feed(now - timedelta(hours=1), now + timedelta(minutes=1), limit=100)
    assert sorted(entry["event_id"] for entry in entries) == uuids[:20]


def test_a_write_throttled_when_no_second_attempt_fits_starts_the_rest_of_its_delivery(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one delivery of 10 events, and an invocation whose time, 100 ms spent by each event write, leaves room
    # for the 6th write's first attempt before the reserve but not for another, and DynamoDB throttles that attempt
    uuids = [f"thr-{n}" for n in range(10)]
    assert send_body(runtime, VENDOR, notifications_body(*uuids), secrets[VENDOR]).status == 204
    url = queue_url(runtime, VENDOR)
    (message,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    clock = WorkClock(spec, left_ms=TIME_RESERVE_MS + 1_500 + 20 + 5 * 100)
    put = EventStore.put

    def writing(self: EventStore, *args: Any) -> Any:
        try:
            return put(self, *args)
        finally:
            clock.spend(100)

    def throttle(request: Any, **_: Any) -> None:
        if b"PutItem" in request.headers.get("X-Amz-Target", b"") and b'#thr-5"' in (request.body or b""):
            throttled.append(1)
            if len(throttled) == 1:
                error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
                raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")

    throttled: list[int] = []
    monkeypatch.setattr(EventStore, "put", writing)

    # When that invocation takes it
    with consumer_dynamodb_hook(throttle):
        answer = consume_in_time(runtime, [message], clock, 1)

    # Then the record is done, as when the time runs out between two events: the five stored stay, and the rest of
    # the delivery, from the throttled event, is on the queue, not the whole record handed back to be done again
    assert throttled == [1]
    assert answer["batchItemFailures"] == []
    assert stored_ids(runtime, VENDOR) == uuids[:5]
    (rest,) = queue_messages(runtime.sqs, url)
    assert rest["MessageAttributes"]["resume_at"]["StringValue"] == "5"


def test_a_quarantined_event_sent_back_and_stored_as_the_time_runs_short_is_let_go_in_the_reserve(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an event DynamoDB refused once (quarantined), sent back from the quarantine, and an invocation whose time,
    # 100 ms spent by the event's write, leaves room for that write's attempt but not for the release of its item
    assert send_body(runtime, VENDOR, notifications_body("back-1"), secrets[VENDOR]).status == 204
    with consumer_puts_refused(b'#back-1"'):
        runtime.drain()
    assert len(quarantined(runtime, VENDOR)) == 1
    redrive(runtime, VENDOR)
    url = queue_url(runtime, VENDOR)
    (message,) = queue_messages(runtime.sqs, url)
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    spec = runtime.functions["ViafouraNotificationsConsumerFunction"].spec
    clock = WorkClock(spec, left_ms=TIME_RESERVE_MS + 1_500 + 50)
    put = EventStore.put

    def writing(self: EventStore, *args: Any) -> Any:
        try:
            return put(self, *args)
        finally:
            clock.spend(100)

    monkeypatch.setattr(EventStore, "put", writing)

    # When that invocation takes it
    answer = consume_in_time(runtime, [message], clock, 1)

    # Then the record is done: the event is stored and listed, and its quarantine item let go
    assert answer["batchItemFailures"] == []
    assert stored_ids(runtime, VENDOR) == ["back-1"]
    assert listed(runtime) == ["back-1"]
    assert quarantined(runtime, VENDOR) == []
