"""The feed: one page of entries per consumer invocation, and every stored event listed once, as stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from intake_cli.event_log import Window
from intake_cli.events import sqs_event
from intake_cli.replay import Replayer
from intake_cli.target import Target
from tests.conftest import queue_messages
from tests.helpers import (
    answer_lost,
    consumer_dynamodb_hook,
    depth,
    listed,
    metric_points,
    notifications_body,
    queue_url,
    reader,
    send_body,
    stored,
    table,
    total,
)
from webhook_intake.clients import client
from webhook_intake.store.feed import page_entries
from webhook_intake.store.reads import FeedFilter
from webhook_intake.store.table import CONSUMER_CONFIG
from webhook_intake.store.wire import decode_item
from webhook_intake.vendors.viafoura_notifications import normalize as notifications

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from intake_cli.runtime import LocalRuntime

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


def pages(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """Every feed page of the table, decoded."""
    items = boto3.client("dynamodb", region_name=runtime.stack.region).scan(TableName=table(runtime))["Items"]
    return [decode_item(item) for item in items if item["pk"]["S"].startswith("feed#")]


def notified(runtime: LocalRuntime, secrets: dict[str, Any], *uuids: str) -> list[dict[str, Any]]:
    """One notifications delivery per uuid, accepted; their queue messages."""
    for uuid in uuids:
        body = notifications_body(uuid, request_uuid=f"r-{uuid}")
        assert send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"]).status == 204
    return queue_messages(runtime.sqs, queue_url(runtime, "viafoura-notifications"))


def consume(runtime: LocalRuntime, messages: list[dict[str, Any]]) -> dict[str, Any]:
    consumer = runtime.functions["ViafouraNotificationsConsumerFunction"]
    return dict(consumer.invoke(sqs_event(messages, QUEUE_ARN, "us-east-1")))


def test_a_batch_of_records_writes_its_entries_together_and_each_event_is_listed(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    uuids = [f"page-{n}" for n in range(10)]
    messages = notified(runtime, secrets, *uuids)
    assert len(messages) == 10

    capsys.readouterr()
    assert consume(runtime, messages) == {"batchItemFailures": []}
    metrics = metric_points(capsys.readouterr().out)

    # One page per minute the ten were received in (nearly always one), holding the ten entries
    minutes = {event["received_at"][:16] for event in stored(runtime)}
    written = pages(runtime)
    assert len(written) == len(minutes)
    assert sorted(entry["pk"] for page in written for entry in page_entries(page)) == sorted(
        f"viafoura-notifications#{uuid}" for uuid in uuids
    )
    assert sorted(entry["event_id"] for entry in listed(runtime)) == sorted(uuids)
    # Each event is charged its item's write unit and its share of the page's (and of a new
    # shape's write, when the batch's shape was one no one had kept: a unit each)
    shapes = total(metrics, "NewShapes")
    (per_event,) = [value for name, _, value in metrics if name == "WriteUnitsPerEvent"]
    (units,) = [value for name, _, value in metrics if name == "WriteUnits"]
    assert units == [10 + len(written) + shapes]
    assert len(per_event) == 10
    assert all(1 < value <= 1.2 + shapes / 10 + 1e-9 for value in per_event)
    assert sum(per_event) == pytest.approx(units[0])


def pages_refused(after: int = 0, minute: str = "") -> AbstractContextManager[None]:
    """Feed pages (of ``minute`` only, if given) throttled in the consumers' DynamoDB client, the
    first ``after`` let through."""
    seen: list[bool] = []

    def refuse_pages(request: Any, **_: Any) -> None:
        body = request.body or b""
        if b'"feed#' in body and minute.encode() in body:
            seen.append(True)
            if len(seen) > after:
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "PutItem")

    return consumer_dynamodb_hook(refuse_pages)


def received(message: dict[str, Any], received_at: str) -> dict[str, Any]:
    """``message`` as if the ingest function had accepted its delivery at ``received_at``."""
    attributes = json.loads(json.dumps(message["MessageAttributes"]))
    attributes["received_at"]["StringValue"] = received_at
    return {**message, "MessageAttributes": attributes}


def test_a_page_not_written_retries_its_records_and_their_events_are_listed_after(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    messages = notified(runtime, secrets, "unlisted-1", "unlisted-2")
    capsys.readouterr()
    with pages_refused():
        response = consume(runtime, messages)
    assert [value for name, _, value in metric_points(capsys.readouterr().out) if name == "RecordsRetried"] == [[2.0]]

    # Both records are retried: their events are stored, but not yet listed
    assert sorted(failure["itemIdentifier"] for failure in response["batchItemFailures"]) == sorted(
        message["MessageId"] for message in messages
    )
    assert sorted(event["event_id"] for event in stored(runtime)) == ["unlisted-1", "unlisted-2"]
    assert listed(runtime) == []

    # When SQS brings them back, their events are found stored as their copies and listed
    runtime.drain()
    assert sorted(entry["event_id"] for entry in listed(runtime)) == ["unlisted-1", "unlisted-2"]
    assert depth(runtime, queue_url(runtime, "viafoura-notifications")) == 0


def test_a_page_whose_answer_was_lost_lists_nothing_twice(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    messages = notified(runtime, secrets, "twice-1", "twice-2")
    with answer_lost(client("dynamodb", CONSUMER_CONFIG), "PutItem", b'"feed#') as lost:
        assert consume(runtime, messages) == {"batchItemFailures": []}
    assert lost == ["PutItem"]
    assert sorted(entry["event_id"] for entry in listed(runtime)) == ["twice-1", "twice-2"]


def test_a_redelivered_record_lists_its_event_once(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    (message,) = notified(runtime, secrets, "again")
    for _ in range(3):  # as SQS hands a record out again when its answer never reached it
        assert consume(runtime, [message]) == {"batchItemFailures": []}
    assert [entry["event_id"] for entry in listed(runtime)] == ["again"]


def test_a_page_written_beside_one_that_failed_is_counted_and_its_records_are_not_retried(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = sorted(notified(runtime, secrets, "minute-1", "minute-2"), key=lambda message: message["Body"])
    # Two records received either side of a minute: two pages, the second throttled
    batch = [received(first, "2026-11-30T08:01:59.999Z"), received(second, "2026-11-30T08:02:00.000Z")]
    capsys.readouterr()
    with pages_refused(after=1):
        response = consume(runtime, batch)
    metrics = metric_points(capsys.readouterr().out)

    assert response["batchItemFailures"] == [{"itemIdentifier": second["MessageId"]}]
    assert [entry["pk"] for page in pages(runtime) for entry in page_entries(page)] == [
        "viafoura-notifications#minute-1"
    ]
    shapes = total(metrics, "NewShapes")  # a new shape's write, shared by the two events
    (units,) = [value for name, _, value in metrics if name == "WriteUnits"]
    assert units == [3.0 + shapes]  # two items and the page written
    (per_event,) = [value for name, _, value in metrics if name == "WriteUnitsPerEvent"]
    assert per_event == [2.0 + shapes / 2, 1.0 + shapes / 2]  # the page is the first event's alone


def test_a_record_that_failed_and_whose_page_was_not_written_is_retried_and_counted_once(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one delivery of two events: the first is stored, DynamoDB refuses the second's writes
    body = notifications_body("written-first", "refused-second", request_uuid="r-two")
    assert send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"]).status == 204
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, "viafoura-notifications"))

    def refuse_second(request: Any, **_: Any) -> None:
        if b"refused-second" in (request.body or b""):
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "PutItem")

    capsys.readouterr()
    # When the record fails on its second event and the first one's feed page is not written either
    with consumer_dynamodb_hook(refuse_second), pages_refused():
        response = consume(runtime, [message])

    # Then the record goes back once: one failure reported to SQS, one record counted retried
    assert response["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
    assert total(metric_points(capsys.readouterr().out), "RecordsRetried") == 1


def test_an_entry_is_what_is_stored_when_a_retry_finds_its_copy_stored(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (message,) = notified(runtime, secrets, "drift")
    with pages_refused():
        assert consume(runtime, [message])["batchItemFailures"]
    (event,) = stored(runtime)
    # A mapping change deployed before SQS brings the record back: the event stays as stored
    monkeypatch.setitem(notifications.TYPE_MAP, "follow", "comment.liked")
    again = {**message, "Attributes": {**message["Attributes"], "ApproximateReceiveCount": "2"}}
    assert consume(runtime, [again]) == {"batchItemFailures": []}

    assert [entry["event_id"] for entry in listed(runtime, event_types=(event["event_type"],))] == ["drift"]
    assert listed(runtime, event_types=("comment.liked",)) == []


def test_events_received_together_list_in_one_order_whatever_their_keys(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    long_id = "😀" * 508  # stored under its hash: its key sorts apart from the id
    body = notifications_body("zzz-tie", "aaa-tie", long_id, request_uuid="r-tie")
    assert send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"]).status == 204
    runtime.drain()

    # Newest first, then by vendor and id, as `intake events --scan` lists them: a limit keeps the same ones
    everything = [entry["event_id"] for entry in listed(runtime)]
    assert everything == [long_id, "zzz-tie", "aaa-tie"]
    for limit in (1, 2):
        assert [entry["event_id"] for entry in listed(runtime, limit=limit)] == everything[:limit]


def test_a_window_bound_between_two_milliseconds_is_the_one_inside_it(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    (message,) = notified(runtime, secrets, "edge")
    assert consume(runtime, [message]) == {"batchItemFailures": []}
    (event,) = stored(runtime)
    at = datetime.fromisoformat(event["received_at"].replace("Z", "+00:00"))

    def found(since: datetime, until: datetime) -> list[str]:
        return [entry["event_id"] for entry in reader(runtime).feed(since, until)]

    assert found(at, at) == ["edge"]
    assert found(at - timedelta(microseconds=100), at + timedelta(microseconds=900)) == ["edge"]
    assert found(at + timedelta(microseconds=100), at + timedelta(seconds=1)) == []
    assert found(at - timedelta(seconds=1), at - timedelta(microseconds=100)) == []


def test_a_record_whose_copy_an_earlier_one_replaced_in_the_batch_owes_no_entry(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    later, earlier = notified(runtime, secrets, "replaced", "replaced")
    # A vendor's retry consumed first, in the same batch as the delivery it repeats
    batch = [received(later, "2026-11-30T08:02:00.000Z"), received(earlier, "2026-11-30T08:01:00.000Z")]
    with pages_refused(minute="2026-11-30T08:02"):
        assert consume(runtime, batch) == {"batchItemFailures": []}
    (event,) = stored(runtime)
    assert event["received_at"] == "2026-11-30T08:01:00.000Z"
    assert [page["sk"][:16] for page in pages(runtime)] == ["2026-11-30T08:01"]


def test_an_earlier_copy_whose_answer_was_lost_counts_its_write(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    later, earlier = notified(runtime, secrets, "lost", "lost")
    assert consume(runtime, [received(later, "2026-11-30T08:02:00.000Z")]) == {"batchItemFailures": []}
    capsys.readouterr()
    with answer_lost(client("dynamodb", CONSUMER_CONFIG), "PutItem", b"#received_at = :seen") as lost:
        assert consume(runtime, [received(earlier, "2026-11-30T08:01:00.000Z")]) == {"batchItemFailures": []}
    assert lost == ["PutItem"]
    (event,) = stored(runtime)
    assert event["received_at"] == "2026-11-30T08:01:00.000Z"
    (units,) = [value for name, _, value in metric_points(capsys.readouterr().out) if name == "WriteUnits"]
    assert units == [3.0]  # the failed condition, the earlier copy written over the stored one, its page


def test_a_window_within_one_millisecond_holds_nothing(runtime: LocalRuntime) -> None:
    since = datetime(2026, 11, 29, 8, 0, 59, 999200, tzinfo=UTC)
    assert reader(runtime).feed(since, since + timedelta(microseconds=600)) == []


def test_replay_reads_every_millisecond_of_a_window_ending_between_two(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    messages = sorted(notified(runtime, secrets, "gap-a", "gap-b", "gap-c"), key=lambda message: message["Body"])
    times = ["2026-11-29T08:00:00.000Z", "2026-11-29T08:00:00.001Z", "2026-11-29T08:00:00.002Z"]
    assert consume(runtime, [received(m, at) for m, at in zip(messages, times, strict=True)])["batchItemFailures"] == []
    target = Target(
        "local", runtime.stack.region, "", table(runtime), {}, payload_bucket=runtime.stack.buckets["PayloadBucket"]
    )
    # A day at a time back from an end a fraction of a millisecond past a whole one
    span = Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, 0, 500, tzinfo=UTC))
    keys = Replayer(target).keys(FeedFilter(tests=True), span, None)
    assert sorted(event_id for _, event_id in keys) == ["gap-a", "gap-b", "gap-c"]
