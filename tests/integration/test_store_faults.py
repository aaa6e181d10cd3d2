"""DynamoDB faults in the consumer: only the affected records fail, nothing is marked done unwritten."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ConnectTimeoutError

from intake_cli.events import sqs_event
from intake_cli.lambdas import LambdaContext
from tests.conftest import queue_messages
from tests.helpers import (
    answer_lost,
    consumer_dynamodb,
    depth,
    fail_writes_of,
    handler_logs,
    listed,
    metric_points,
    notifications_body,
    quarantined,
    queue_url,
    send_body,
    stored,
    table,
    total,
)
from webhook_intake.clients import client
from webhook_intake.consumer.models import Content, NormalizedEvent
from webhook_intake.store import events as events_module
from webhook_intake.store.events import EventStore, Outcome
from webhook_intake.store.items import prepare
from webhook_intake.store.schema import WRITE_ID
from webhook_intake.store.table import CONSUMER_CONFIG
from webhook_intake.store.wire import decode_item

if TYPE_CHECKING:
    from collections.abc import Iterator

    from intake_cli.runtime import LocalRuntime


class Crash(BaseException):
    """The process dies: not an exception any handler catches."""


def notified(runtime: LocalRuntime, secrets: dict[str, Any], *uuids: str | None) -> None:
    """One Viafoura notifications delivery of ``uuids`` (a None: an event without its id), accepted."""
    body = notifications_body(*uuids)
    assert send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"]).status == 204


QUEUE_ARN = "arn:aws:sqs:us-east-1:1:q"


def test_a_throttled_write_fails_only_its_record_and_is_stored_once_dynamodb_recovers(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    for uuid in ("n-1", "n-2", "n-3"):
        notified(runtime, secrets, uuid)
    url = queue_url(runtime, "viafoura-notifications")
    messages = queue_messages(runtime.sqs, url)
    throttled = next(m["MessageId"] for m in messages if '"n-2"' in m["Body"])
    dynamodb = consumer_dynamodb()
    hook = fail_writes_of("n-2")
    dynamodb.meta.events.register_first("before-send.dynamodb", hook)
    consumer = runtime.functions["ViafouraNotificationsConsumerFunction"]
    try:
        response = consumer.invoke(sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1"))
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb", hook)
    assert response == {"batchItemFailures": [{"itemIdentifier": throttled}]}
    assert sorted(item["event_id"] for item in stored(runtime)) == ["n-1", "n-3"]

    runtime.drain()
    assert sorted(item["event_id"] for item in stored(runtime)) == ["n-1", "n-2", "n-3"]
    assert depth(runtime, url) == 0


def test_a_consumer_that_dies_mid_batch_loses_nothing(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    secret = secrets["viafoura-notifications"]
    for uuid in ("a", "b", "c"):
        send_body(runtime, "viafoura-notifications", notifications_body(f"crash-{uuid}"), secret)
    url = queue_url(runtime, "viafoura-notifications")
    # Redelivery after a crash waits for the visibility timeout; make it short for the test.
    runtime.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    dynamodb = consumer_dynamodb()
    hook = fail_writes_of("crash-b", Crash)
    dynamodb.meta.events.register_first("before-send.dynamodb", hook)
    poller = next(p for p in runtime.pollers if p.queue_url == url)
    with pytest.raises(Crash):
        poller.poll_once()
    dynamodb.meta.events.unregister("before-send.dynamodb", hook)
    assert "crash-c" not in {item["event_id"] for item in stored(runtime)}

    time.sleep(1.2)
    runtime.drain()
    assert sorted(item["event_id"] for item in stored(runtime)) == ["crash-a", "crash-b", "crash-c"]
    assert depth(runtime, url) == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-a-record-of-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": ["not-an-object"]},
    ],
)
def test_a_partial_batch_response_naming_no_record_of_the_batch_fails_all_of_it_as_lambda_does(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any]
) -> None:
    # Given three deliveries on a queue, and a consumer answering with an itemIdentifier its batch does not hold
    # (Lambda takes such an answer, an empty or null identifier, or one it cannot read, as the whole batch failing)
    secret = secrets["viafoura-notifications"]
    for uuid in ("a", "b", "c"):
        send_body(runtime, "viafoura-notifications", notifications_body(f"odd-answer-{uuid}"), secret)
    url = queue_url(runtime, "viafoura-notifications")
    poller = next(p for p in runtime.pollers if p.queue_url == url)
    monkeypatch.setattr(poller.function, "invoke", lambda event: answer)

    # When the local event source mapping hands it the batch
    result = poller.poll_once()

    # Then no record is deleted: all three are on the queue to be tried again, as in AWS
    assert (result.received, result.failed) == (3, 3)
    assert depth(runtime, url) == 3


def written_at_once(runtime: LocalRuntime, event: NormalizedEvent, writers: int = 8) -> list[str]:
    """The outcomes of ``writers`` consumers putting ``event`` at the same moment, sorted."""
    barrier = threading.Barrier(writers)
    outcomes: list[Outcome] = []

    def write() -> None:
        store = EventStore(table(runtime))
        barrier.wait()
        outcomes.append(store.put(prepare(event), event.raw).outcome)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcome.value for outcome in outcomes)


def test_two_consumers_writing_the_same_event_at_once_store_it_once(runtime: LocalRuntime) -> None:
    event = engagement_event("race", "liked", "comment.liked", received_at="2026-11-23T10:00:01.000Z")
    assert written_at_once(runtime, event) == ["duplicate"] * 7 + ["stored"]
    (item,) = stored(runtime)
    assert item["raw_text"].encode() == event.raw


def test_the_vendors_copies_racing_over_a_test_copy_replace_it_once(runtime: LocalRuntime) -> None:
    # Given the event stored first from a copy sent as a test
    event = a_rejection()
    test_copy = event.model_copy(update={"test": True, "received_at": "2026-11-23T10:00:05.000Z"})
    assert EventStore(table(runtime)).put(prepare(test_copy), test_copy.raw).outcome is Outcome.STORED

    # When eight consumers write the vendor's own copy at once, one replaces it, the others are its duplicates
    assert written_at_once(runtime, event) == ["duplicate"] * 7 + ["stored"]
    (item,) = stored(runtime)
    assert (item.get("test"), item["received_at"]) == (None, "2026-11-23T10:00:03.000Z")


def outcomes(logs: str) -> list[str]:
    """The outcome of each event, as the consumer's outcomes lines give them."""
    found: list[str] = []
    for line in logs.splitlines():
        if line.startswith("{") and '"outcomes"' in line:
            found += [entry.split()[0] for entry in json.loads(line)["outcomes"]]
    return found


def test_a_write_whose_answer_was_lost_is_counted_stored_not_a_duplicate(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    notified(runtime, secrets, "lost-a", "lost-b")
    capsys.readouterr()
    # When DynamoDB writes the first event and its answer is lost (botocore sends the put again)
    with answer_lost(consumer_dynamodb(), "PutItem", b'#lost-a"') as lost, handler_logs() as logs:
        runtime.drain()

    # Then both events are stored, and counted stored, once each
    assert lost == ["PutItem"]
    assert sorted(item["event_id"] for item in stored(runtime)) == ["lost-a", "lost-b"]
    points = metric_points(capsys.readouterr().out)
    assert (total(points, "EventsStored"), total(points, "DuplicateEvents")) == (2, 0)
    assert outcomes(logs.getvalue()) == ["stored", "stored"]


@contextmanager
def try_not_sent(marker: bytes, which: int) -> Iterator[list[bytes]]:
    """The consumer's ``which``-th DynamoDB request carrying ``marker`` never reaches it (a connect
    time-out: botocore sends it again). Yields the requests seen carrying it."""
    tries: list[bytes] = []

    def hook(request: Any, **_: Any) -> None:
        if marker in (request.body or b""):
            tries.append(request.body)
            if len(tries) == which:
                raise ConnectTimeoutError(endpoint_url=request.url)

    dynamodb = consumer_dynamodb()
    dynamodb.meta.events.register_first("before-send.dynamodb", hook)
    try:
        yield tries
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb", hook)


def test_a_second_identical_copy_in_a_record_whose_put_botocore_sent_twice_is_a_duplicate(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a delivery holding one event twice, the same content
    notified(runtime, secrets, "twice-a", "twice-a")
    capsys.readouterr()
    # When the record is consumed, and the second copy's first try never reaches DynamoDB
    with try_not_sent(b"twice-a", 2) as tries, handler_logs() as logs:
        runtime.drain()

    # Then the second copy is a duplicate of the first: the item it found is the first copy's
    assert len(tries) == 3
    points = metric_points(capsys.readouterr().out)
    assert (total(points, "EventsStored"), total(points, "DuplicateEvents")) == (1, 1)
    assert outcomes(logs.getvalue()) == ["stored", "duplicate"]


def received(message: dict[str, Any], count: int, message_id: str | None = None) -> dict[str, Any]:
    """``message`` as SQS hands it over on its ``count``-th receive (under another id, if given)."""
    attributes = {**message.get("Attributes", {}), "ApproximateReceiveCount": str(count)}
    return {**message, "Attributes": attributes, "MessageId": message_id or message["MessageId"]}


@pytest.mark.parametrize(
    ("again", "receives"), [("an SQS redelivery", 2), ("a redrive from the DLQ: its count starts again", 1)]
)
def test_a_record_consumed_again_whose_put_botocore_sent_twice_is_a_duplicate_not_stored_again(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str], again: str, receives: int
) -> None:
    notified(runtime, secrets, "again-a")
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, "viafoura-notifications"))
    consumer = runtime.functions["ViafouraNotificationsConsumerFunction"]
    # Given its event stored by a first receive
    assert consumer.invoke(sqs_event([received(message, 1)], QUEUE_ARN, "us-east-1")) == {"batchItemFailures": []}
    capsys.readouterr()

    # When the record comes again (``again``), and the put's first try never reaches DynamoDB (botocore
    # sends it again)
    with try_not_sent(b"again-a", 1) as tries, handler_logs() as logs:
        answer = consumer.invoke(sqs_event([received(message, receives)], QUEUE_ARN, "us-east-1"))

    # Then its copy is a duplicate: the item it found was written by the first receive, not by this put
    assert (answer, len(tries)) == ({"batchItemFailures": []}, 2)
    points = metric_points(capsys.readouterr().out)
    assert (total(points, "EventsStored"), total(points, "DuplicateEvents")) == (0, 1)
    assert outcomes(logs.getvalue()) == ["duplicate"]


def test_each_write_of_an_event_is_named_apart_and_reads_never_show_its_name(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    notified(runtime, secrets, "named-a", "named-b")
    runtime.drain()
    items = {
        str(item["pk"]): item
        for item in (decode_item(found) for found in consumer_dynamodb().scan(TableName=table(runtime))["Items"])
    }
    # Each item holds the id of the put that wrote it, its own
    ids = [items[f"viafoura-notifications#{name}"].get(WRITE_ID) for name in ("named-a", "named-b")]
    assert all(isinstance(found, bytes) and len(found) == 8 for found in ids)
    assert ids[0] != ids[1]
    # and an event read back is the event, without it
    assert all(WRITE_ID not in event for event in stored(runtime))


def test_a_delivery_queued_twice_whose_second_put_botocore_sent_twice_is_counted_once(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one delivery on the queue twice (ingest sent it again after an answer that never came)
    notified(runtime, secrets, "queued-twice")
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, "viafoura-notifications"))
    records = [received(message, 1), received(message, 1, "00000000-0000-4000-8000-000000000002")]
    capsys.readouterr()

    # When both are consumed on their first receive, and the second put's first try never reaches DynamoDB
    consumer = runtime.functions["ViafouraNotificationsConsumerFunction"]
    with try_not_sent(b"queued-twice", 2) as tries, handler_logs() as logs:
        answer = consumer.invoke(sqs_event(records, QUEUE_ARN, "us-east-1"))

    # Then the event is stored and counted once: the second copy is a duplicate of the first
    assert (answer, len(tries)) == ({"batchItemFailures": []}, 3)
    points = metric_points(capsys.readouterr().out)
    assert (total(points, "EventsStored"), total(points, "DuplicateEvents")) == (1, 1)
    assert outcomes(logs.getvalue()) == ["stored", "duplicate"]


def test_a_quarantine_whose_answer_was_lost_is_counted_once(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    notified(runtime, secrets, "kept-ok", None)
    capsys.readouterr()
    # When the bad event's quarantine is written and its answer lost (botocore writes it again)
    with answer_lost(consumer_dynamodb(), "UpdateItem", b"quarantine#") as lost:
        runtime.drain()

    # Then it is kept once, and counted quarantined once: the alarm on quarantines sees it
    assert lost == ["UpdateItem"]
    (kept,) = quarantined(runtime, "viafoura-notifications")
    assert (kept["reason"], kept["attempts"]) == ("missing_id", 1)
    points = metric_points(capsys.readouterr().out)
    assert total(points, "EventsQuarantined") == 1
    assert total(points, "EventsQuarantinedByReason", reason="missing_id") == 1


def engagement_event(event_id: str, action: str, event_type: str, **fields: Any) -> NormalizedEvent:
    """A Viafoura engagement event on a live comment, as normalized (occurred 10:00:00)."""
    raw = json.dumps({"event_uuid": event_id, "message_type": "livecomment_post", "action": action}).encode()
    return NormalizedEvent(
        vendor="viafoura-engagement",
        event_id=event_id,
        event_type=event_type,
        source_type=f"livecomment_post.{action}",
        occurred_at="2026-11-23T10:00:00.000Z",
        raw=raw,
        **fields,
    )


def a_rejection(**changes: Any) -> NormalizedEvent:
    """A rejection as the vendor sends it (received 10:00:03), or, with ``changes``, another copy of it."""
    event = engagement_event(
        "tested-race",
        "disabled",
        "comment.rejected",
        received_at="2026-11-23T10:00:03.000Z",
        correlation_id="vendor",
        content=Content(id="tested-race-comment"),
    )
    return event.model_copy(update=changes)


@pytest.mark.parametrize(
    "between",
    [
        {},  # the vendor's copy (received at 10:00:03)
        {
            "test": True,
            "raw": b'{"event_uuid": "tested-race", "action": "disabled", "edited": 2}',
            "received_at": "2026-11-23T10:00:06.000Z",
            "correlation_id": "test-edited",
        },
    ],
    ids=["the vendor's copy", "an edited test copy"],
)
def test_an_earlier_test_copy_never_replaces_a_copy_that_took_the_stored_ones_place(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, between: dict[str, Any]
) -> None:
    store = EventStore(table(runtime))
    replacing = a_rejection(**between)
    late_test = a_rejection(test=True, received_at="2026-11-23T10:00:05.000Z", correlation_id="test-late")
    early_test = a_rejection(test=True, received_at="2026-11-23T10:00:01.000Z", correlation_id="test-early")
    # Given a test copy stored, and an earlier test copy about to take its place
    assert store.put(prepare(late_test), late_test.raw).outcome is Outcome.STORED
    earlier_copy = events_module.EventStore._earlier_copy

    def another_copy_lands_first(self: Any, stored: dict[str, Any], prepared: Any, *rest: Any) -> float:
        # Another copy replaces the test copy between the failed put and the earlier copy's put
        assert EventStore(table(runtime)).put(prepare(replacing), replacing.raw).outcome is Outcome.STORED
        return earlier_copy(self, stored, prepared, *rest)

    monkeypatch.setattr(events_module.EventStore, "_earlier_copy", another_copy_lands_first)
    store.put(prepare(early_test), early_test.raw)

    # Then the event is that copy, its bytes, times and ids
    (item,) = stored(runtime)
    assert (item.get("test"), item["raw_text"], item["received_at"], item["correlation_id"]) == (
        replacing.test or None,
        replacing.raw.decode(),
        replacing.received_at,
        replacing.correlation_id,
    )


def test_the_vendors_copy_takes_the_place_of_a_test_copy_with_other_content(runtime: LocalRuntime) -> None:
    store = EventStore(table(runtime))
    edited = a_rejection(test=True, raw=b'{"event_uuid": "tested-race", "action": "disabled", "edited": true}')
    assert store.put(prepare(edited), edited.raw).outcome is Outcome.STORED
    real = a_rejection()
    assert store.put(prepare(real), real.raw).outcome is Outcome.STORED
    (item,) = stored(runtime)
    assert (item.get("test"), item["raw_text"]) == (None, real.raw.decode())


def test_an_edited_test_copy_changes_nothing_of_the_vendors_event(
    runtime: LocalRuntime,
) -> None:
    store = EventStore(table(runtime))
    edited = b'{"event_uuid": "tested-race", "action": "disabled", "edited": 1}'
    # Given the vendor's event stored, an edited test copy of it is its duplicate: not a conflict
    real = a_rejection()
    assert store.put(prepare(real), real.raw).outcome is Outcome.STORED
    test_copy = a_rejection(test=True, raw=edited)
    assert store.put(prepare(test_copy), test_copy.raw).outcome is Outcome.DUPLICATE
    (item,) = stored(runtime)
    assert (item.get("test"), item["raw_text"]) == (None, real.raw.decode())


def test_an_edited_test_copy_takes_the_place_of_an_earlier_test_copy(runtime: LocalRuntime) -> None:
    store = EventStore(table(runtime))
    first = a_rejection(test=True)
    assert store.put(prepare(first), first.raw).outcome is Outcome.STORED
    edited = a_rejection(test=True, raw=b'{"event_uuid": "tested-race", "action": "disabled", "edited": 2}')
    assert store.put(prepare(edited), edited.raw).outcome is Outcome.STORED
    (item,) = stored(runtime)
    assert (item.get("test"), item["raw_text"]) == (True, edited.raw.decode())


def test_a_test_copy_sent_again_unchanged_is_a_duplicate_and_the_first_stays(runtime: LocalRuntime) -> None:
    store = EventStore(table(runtime))
    # Given a test copy stored (intake send --stack)
    first = a_rejection(test=True)
    assert store.put(prepare(first), first.raw).outcome is Outcome.STORED
    # When the same test copy is sent again later
    again = a_rejection(test=True, received_at="2026-11-23T10:00:09.000Z", correlation_id="test-again")
    # Then it is its duplicate, and the copy stored is the first one
    assert store.put(prepare(again), again.raw).outcome is Outcome.DUPLICATE
    (item,) = stored(runtime)
    assert (item.get("test"), item["received_at"]) == (True, "2026-11-23T10:00:03.000Z")


class Deadline:
    """A Lambda context whose remaining time runs with the real clock, from ``seconds`` at its start."""

    def __init__(self, spec: Any, seconds: float) -> None:
        self.context = LambdaContext(spec.logical_id, spec.memory_size, spec.timeout, aws_request_id="deadline")
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends - time.monotonic()) * 1000))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.context, name)


@contextmanager
def never_answered(aws_client: Any, *markers: bytes) -> Iterator[list[str]]:
    """The requests of ``aws_client`` whose URL or body holds any of ``markers`` go to a server that takes the
    connection and never answers. Yields the URLs they were sent to first."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=64)
    host, port = silent.getsockname()
    sent: list[str] = []

    def hook(request: Any, **_: Any) -> None:
        if any(marker in request.url.encode() + (request.body or b"") for marker in markers):
            sent.append(request.url)
            request.url = f"http://{host}:{port}/"

    aws_client.meta.events.register_first("before-send", hook)
    try:
        yield sent
    finally:
        aws_client.meta.events.unregister("before-send", hook)
        silent.close()


def invoked_with(function: Any, messages: list[dict[str, Any]], context: Any) -> dict[str, Any]:
    """The answer of ``function`` to ``messages``, given no longer than ``context``'s time: Lambda would stop it."""
    answers: list[dict[str, Any]] = []
    invocation = threading.Thread(
        target=lambda: answers.append(function.handler(sqs_event(messages, QUEUE_ARN, "us-east-1"), context)),
        daemon=True,
    )
    invocation.start()
    invocation.join(timeout=context.get_remaining_time_in_millis() / 1000)
    assert not invocation.is_alive(), "the invocation ran into its timeout"
    (answer,) = answers
    return answer


def test_a_dynamodb_that_never_answers_leaves_the_invocation_its_outcomes_and_the_records_it_did_not_store(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three deliveries, and a DynamoDB that takes the writes of the second and third and never answers
    for uuid in ("stall-1", "stall-2", "stall-3"):
        notified(runtime, secrets, uuid)
    url = queue_url(runtime, "viafoura-notifications")
    messages = queue_messages(runtime.sqs, url)
    by_event = {json.loads(m["Body"])["notifications"][0]["notification_uuid"]: m["MessageId"] for m in messages}
    function = runtime.functions["ViafouraNotificationsConsumerFunction"]
    context = Deadline(function.spec, seconds=6)
    capsys.readouterr()

    # When one invocation with 6 s left takes them
    with never_answered(consumer_dynamodb(), b"stall-2", b"stall-3") as sent, handler_logs() as logs:
        answer = invoked_with(function, messages, context)

    # Then it answered by itself: the records not stored are handed back, the first is stored and listed
    assert sent
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": by_event["stall-2"]}, {"itemIdentifier": by_event["stall-3"]}]
    }
    assert [item["event_id"] for item in stored(runtime)] == ["stall-1"]
    assert [entry["event_id"] for entry in listed(runtime)] == ["stall-1"]
    # And its outcomes line and metrics were written
    assert outcomes(logs.getvalue()) == ["stored", "retrying", "retrying"]
    points = metric_points(capsys.readouterr().out)
    assert (total(points, "EventsStored"), total(points, "RecordsRetried")) == (1, 2)

    # And the records handed back are stored once DynamoDB answers again
    runtime.drain()
    assert sorted(item["event_id"] for item in stored(runtime)) == ["stall-1", "stall-2", "stall-3"]
    assert depth(runtime, url) == 0


def test_an_s3_that_never_answers_a_claim_checks_read_leaves_the_invocation_its_outcomes(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a delivery on the queue, then two whose bodies wait in S3 (a character SQS refuses), and an S3 that
    # takes their reads and never answers
    for uuid in ("s3-1", "s3-2", "s3-3"):
        body = json.loads(notifications_body(uuid))
        if uuid != "s3-1":
            body["notifications"][0]["mark"] = "\ufffe"
        payload = json.dumps(body, ensure_ascii=False).encode()
        assert send_body(runtime, "viafoura-notifications", payload, secrets["viafoura-notifications"]).status == 204
    url = queue_url(runtime, "viafoura-notifications")
    messages = sorted(queue_messages(runtime.sqs, url), key=lambda m: "claim_check" in m["MessageAttributes"])
    claim_checked = [m["MessageId"] for m in messages if "claim_check" in m["MessageAttributes"]]
    assert len(claim_checked) == 2
    function = runtime.functions["ViafouraNotificationsConsumerFunction"]
    context = Deadline(function.spec, seconds=6)
    capsys.readouterr()

    # When one invocation with 6 s left takes them
    with never_answered(client("s3", CONSUMER_CONFIG), b"/deliveries/") as sent, handler_logs() as logs:
        answer = invoked_with(function, messages, context)

    # Then it answered by itself: the records it could not read are handed back, the first is stored
    assert sent
    assert answer == {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in claim_checked]}
    assert [item["event_id"] for item in stored(runtime)] == ["s3-1"]
    assert outcomes(logs.getvalue()) == ["stored", "retrying", "retrying"]
    points = metric_points(capsys.readouterr().out)
    assert (total(points, "EventsStored"), total(points, "RecordsRetried")) == (1, 2)

    # And they are stored once S3 answers again
    runtime.drain()
    assert sorted(item["event_id"] for item in stored(runtime)) == ["s3-1", "s3-2", "s3-3"]


@contextmanager
def trickled(aws_client: Any, marker: bytes) -> Iterator[list[str]]:
    """The requests of ``aws_client`` whose URL holds ``marker`` go to a server that answers 200 and sends the body
    slowly, 16 KiB every quarter of a second: each read of it is answered well within the read time-out. Yields
    the URLs they were sent to first."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    host, port = server.getsockname()
    sent: list[str] = []
    stop = threading.Event()

    def answer(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n"
            try:
                connection.sendall(head)
                while not stop.wait(0.25):
                    connection.sendall(b" " * 16384)
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    def hook(request: Any, **_: Any) -> None:
        if marker in request.url.encode():
            sent.append(request.url)
            request.url = f"http://{host}:{port}/"

    threading.Thread(target=serve, daemon=True).start()
    aws_client.meta.events.register_first("before-send", hook)
    try:
        yield sent
    finally:
        aws_client.meta.events.unregister("before-send", hook)
        stop.set()
        server.close()


def test_an_s3_that_sends_a_claim_checks_body_slowly_leaves_the_invocation_its_outcomes(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a delivery on the queue, then one whose body waits in S3, and an S3 that sends that body a little at a
    # time, each part within the read time-out, the whole far slower than the invocation's time
    for uuid in ("slow-1", "slow-2"):
        body = json.loads(notifications_body(uuid))
        if uuid == "slow-2":
            body["notifications"][0]["mark"] = "\ufffe"
        payload = json.dumps(body, ensure_ascii=False).encode()
        assert send_body(runtime, "viafoura-notifications", payload, secrets["viafoura-notifications"]).status == 204
    url = queue_url(runtime, "viafoura-notifications")
    messages = sorted(queue_messages(runtime.sqs, url), key=lambda m: "claim_check" in m["MessageAttributes"])
    claim_checked = messages[1]["MessageId"]
    assert "claim_check" in messages[1]["MessageAttributes"]
    function = runtime.functions["ViafouraNotificationsConsumerFunction"]
    context = Deadline(function.spec, seconds=6)
    capsys.readouterr()

    # When one invocation with 6 s left takes them
    with trickled(client("s3", CONSUMER_CONFIG), b"/deliveries/") as sent, handler_logs() as logs:
        answer = invoked_with(function, messages, context)

    # Then it answered by itself: the record whose body did not arrive in time is handed back, the first is stored
    assert sent
    assert answer == {"batchItemFailures": [{"itemIdentifier": claim_checked}]}
    assert [item["event_id"] for item in stored(runtime)] == ["slow-1"]
    assert outcomes(logs.getvalue()) == ["stored", "retrying"]
    points = metric_points(capsys.readouterr().out)
    assert (total(points, "EventsStored"), total(points, "RecordsRetried")) == (1, 1)

    # And it is stored once S3 answers again
    runtime.drain()
    assert sorted(item["event_id"] for item in stored(runtime)) == ["slow-1", "slow-2"]
