"""A comment's current state is its newest state event (event time, receive time, place in batch, id); a delete wins."""

from __future__ import annotations

import functools
import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from intake_cli.events import sqs_event
from intake_cli.lambdas import LambdaContext, LocalFunction
from intake_cli.samples import build_request
from tests.conftest import queue_messages
from tests.helpers import (
    consumer_dynamodb_hook,
    consumer_puts_refused,
    handler_logs,
    listed,
    metric_points,
    quarantined,
    queue_url,
    reader,
    redrive,
    send_body,
    total,
)
from webhook_intake.consumer.attempts import OutOfTimeError
from webhook_intake.payloads import PayloadError
from webhook_intake.store import events as events_module
from webhook_intake.store.quarantine import QuarantineKey, QuarantineStore
from webhook_intake.store.schema import STATE_INDEX
from webhook_intake.store.wire import decode_item
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Iterator

    from intake_cli.runtime import LocalRuntime

BASE_MS = 1_790_000_000_000


def engagement(content: str, action: str, offset_s: int) -> bytes:
    event = {
        "event_uuid": f"{content}-{action}",
        "time": BASE_MS + offset_s * 1000,
        "content_uuid": content,
        "content_container_uuid": "article-1",
        "actor_uuid": "user-1",
        "author_uuid": "user-2",
        "message_type": "livecomment_post",
        "action": action,
    }
    return json.dumps({"request_uuid": f"r-{content}-{action}", "time": BASE_MS + 99_000, "events": [event]}).encode()


def state_of(runtime: LocalRuntime, vendor: str, content_id: str) -> tuple[str, bool, str]:
    state = reader(runtime).state(vendor, content_id)
    assert state is not None, f"no state for {content_id}"
    return state.status, state.deleted, str(state.event["source_type"])


def test_created_updated_disabled_then_liked_end_rejected_in_every_order(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    secret = secrets["viafoura-engagement"]
    # Given the four events of one comment, the like newest, delivered in each of their 24 orders
    sequence = [("created", 1), ("updated", 2), ("disabled", 3), ("liked", 4)]
    orders = list(itertools.permutations(sequence))
    for n, order in enumerate(orders):
        for action, offset in order:
            assert (
                send_body(runtime, "viafoura-engagement", engagement(f"ord{n}", action, offset), secret).status == 200
            )
        runtime.drain()

    # Then every one of the 24 comments ends rejected: the newest state event (a like changes no state)
    finals = [state_of(runtime, "viafoura-engagement", f"ord{n}") for n in range(len(orders))]
    assert finals == [("rejected", False, "livecomment_post.disabled")] * 24


@pytest.mark.parametrize("arrival", [("disabled", "visible"), ("visible", "disabled")])
def test_a_rejection_then_an_approval_ends_approved_whatever_arrives_first(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], arrival: tuple[str, str]
) -> None:
    runtime = shared_runtime
    content = f"appr-{arrival[0]}"
    offsets = {"disabled": 1, "visible": 2}
    for action in arrival:
        send_body(
            runtime, "viafoura-engagement", engagement(content, action, offsets[action]), secrets["viafoura-engagement"]
        )
        runtime.drain()
    assert state_of(runtime, "viafoura-engagement", content) == ("approved", False, "livecomment_post.visible")


def test_openweb_events_without_their_own_time_order_by_arrival(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    comment = {"comment_id": "ow-c1", "type": "comment", "timestamp": 1642598712, "content": [{"text": "hi"}]}
    # Given a rejection, then an approval of the same comment; both carry only the comment's own time
    for event_id, kind in (("ow-rej", "message-rejected"), ("ow-app", "message-approved")):
        body = {"event_id": event_id, "type": kind, "comment": comment, "user": {"user_id": "u"}}
        assert send_body(runtime, "openweb", body, secrets["openweb"]).status == 200
        runtime.drain()
        time.sleep(0.002)
    # Then the approval, received last, is the state
    assert state_of(runtime, "openweb", "ow-c1") == ("approved", False, "message-approved")


@pytest.mark.parametrize(
    ("case", "reply"), [("absent", None), ("null", None), ("text", "a reply"), ("no-id", {"timestamp": 1642598800})]
)
@pytest.mark.parametrize("spelling", ["replied-message", "replied-your-message"])
def test_an_openweb_reply_without_its_reply_object_leaves_the_comment_it_answers_as_it_was(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], case: str, reply: object, spelling: str
) -> None:
    runtime = shared_runtime
    parent = f"ow-parent-{spelling}-{case}"
    comment = {"comment_id": parent, "type": "comment", "timestamp": 1642598712, "content": [{"text": "hi"}]}
    # Given a rejected comment
    rejected = {"event_id": f"{parent}-rej", "type": "message-rejected", "comment": comment, "user": {"user_id": "u"}}
    assert send_body(runtime, "openweb", rejected, secrets["openweb"]).status == 200
    runtime.drain()
    # When a reply to it is notified without a usable reply object (the comment is the recipient's own)
    replied = {"event_id": f"{parent}-rep", "type": spelling, "comment": comment, "replier": {"user_id": "r"}}
    if case != "absent":
        replied["reply"] = reply
    assert send_body(runtime, "openweb", replied, secrets["openweb"]).status == 200
    runtime.drain()

    # Then the reply is stored, as a reply to the comment, and the comment is still rejected
    stored = reader(runtime).get("openweb", f"{parent}-rep") or {}
    assert stored["event_type"] == "reply.created"
    assert stored["content"].get("id") is None
    assert stored["content"]["parent_id"] == parent
    assert state_of(runtime, "openweb", parent) == ("rejected", False, "message-rejected")


def fastcomments_body(comment_id: str, text: str) -> dict[str, Any]:
    return {"id": comment_id, "urlId": "page-1", "comment": text, "date": "2026-09-21T14:13:20.000Z"}


def send_signed(
    runtime: LocalRuntime, secret: dict[str, Any], event: str, body: dict[str, Any], signed_at: float
) -> None:
    request = build_request("fastcomments", json.dumps(body).encode(), secret, event=event, now=signed_at)
    assert runtime.request(request.method, request.path, request.headers, request.body).status == 200


def test_fastcomments_edits_end_with_the_newest_signed_even_when_it_arrives_first(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    now = time.time()
    # Given two edits signed a minute apart, the newer one delivered first
    send_signed(runtime, secrets["fastcomments"], "comment-updated", fastcomments_body("fc-edit", "newer"), now - 60)
    runtime.drain()
    send_signed(runtime, secrets["fastcomments"], "comment-updated", fastcomments_body("fc-edit", "older"), now - 120)
    runtime.drain()
    # Then the state holds the newer text: newest by event time, not last to arrive
    state = reader(runtime).state("fastcomments", "fc-edit")
    assert state is not None
    assert state.text == "newer"


def test_a_fastcomments_edit_down_to_no_text_is_the_comments_text_not_the_one_before_it(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    now = time.time()
    # Given a comment created with words, then edited down to an image alone (no text)
    send_signed(runtime, secrets["fastcomments"], "comment-created", fastcomments_body("fc-emptied", "words"), now - 60)
    emptied = {**fastcomments_body("fc-emptied", ""), "commentHTML": '<img src="x.png">', "hasImages": True}
    send_signed(runtime, secrets["fastcomments"], "comment-updated", emptied, now - 30)
    runtime.drain()

    # Then its state is the edit, and its text the edit's: empty
    state = reader(runtime).state("fastcomments", "fc-emptied")
    assert state is not None
    assert (state.status, state.text) == ("updated", "")


def test_two_fastcomments_edits_signed_in_the_same_second_end_with_the_later_received(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    signed = int(time.time()) - 5
    for text in ("first edit", "second edit"):
        send_signed(runtime, secrets["fastcomments"], "comment-updated", fastcomments_body("fc-same", text), signed)
        runtime.drain()
        time.sleep(0.002)
    state = reader(runtime).state("fastcomments", "fc-same")
    assert state is not None
    assert state.text == "second edit"


@pytest.mark.parametrize("created_ms", [700, 0], ids=["created S.700", "created S.000"])
@pytest.mark.parametrize("creation_first", [True, False], ids=["creation first", "edit first"])
def test_a_fastcomments_edit_signed_in_the_second_the_comment_was_created_is_newer_than_it(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], creation_first: bool, created_ms: int
) -> None:
    runtime = shared_runtime
    # Given a comment created at S.700 (or S.000) and edited within the same second: the edit's
    # signing time, in whole seconds, reads S.000, before (or at) the creation it edits
    comment_id = f"fc-fast-edit-{creation_first}-{created_ms}"
    second = int(time.time()) - 5
    created = datetime.fromtimestamp(second + created_ms / 1000, UTC)
    body = {**fastcomments_body(comment_id, "as posted"), "date": iso_millis(created)}
    deliveries = [("comment-created", body), ("comment-updated", {**body, "comment": "edited"})]
    # When both are delivered, in either order (a creation FastComments retried arrives after the edit)
    for event, sent in deliveries if creation_first else reversed(deliveries):
        send_signed(runtime, secrets["fastcomments"], event, sent, second)
        runtime.drain()
        time.sleep(0.002)

    # Then the edit is the current state, dated a millisecond after the creation
    state = reader(runtime).state("fastcomments", comment_id)
    assert state is not None
    assert (state.text, state.event["occurred_at"]) == ("edited", iso_millis(created + timedelta(milliseconds=1)))


def sent_in_turn(runtime: LocalRuntime, secrets: dict[str, Any], bodies: list[Any]) -> list[dict[str, Any]]:
    """OpenWeb deliveries of ``bodies`` (bytes, or a JSON document) one after another; their messages, in turn."""
    for body in bodies:
        assert send_body(runtime, "openweb", body, secrets["openweb"]).status == 200
        time.sleep(0.01)
    messages = sorted(
        queue_messages(runtime.sqs, queue_url(runtime, "openweb")),
        key=lambda m: m["MessageAttributes"]["received_at"]["StringValue"],
    )
    assert len(messages) == len(bodies)
    return messages


def sent_then_consumed_backwards(
    runtime: LocalRuntime, secrets: dict[str, Any], bodies: list[bytes]
) -> list[dict[str, Any]]:
    """OpenWeb deliveries of ``bodies`` in turn, consumed last first; their messages in the order sent."""
    url = queue_url(runtime, "openweb")
    messages = sent_in_turn(runtime, secrets, bodies)
    for message in reversed(messages):
        answer = runtime.functions["OpenWebConsumerFunction"].invoke(
            sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1")
        )
        assert answer == {"batchItemFailures": []}
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def versions(event_id: str, comment_id: str, *texts: str) -> list[dict[str, Any]]:
    """One OpenWeb rejection in versions of other content: the same event id, each with its own comment text."""
    comment = {"comment_id": comment_id, "type": "comment"}
    return [
        {"event_id": event_id, "type": "message-rejected", "comment": {**comment, "content": [text]}} for text in texts
    ]


def retry_kept_as_conflict(
    runtime: LocalRuntime, secrets: dict[str, Any], event_id: str, comment_id: str
) -> tuple[bytes, bytes, dict[str, Any], LocalFunction]:
    """An event, the same id with other content, then OpenWeb's retry of the first, the later two consumed first
    (the retry kept as a conflict): the two versions' texts, the first delivery's message still to consume, and
    the consumer."""
    first, later = (json.dumps(body).encode() for body in versions(event_id, comment_id, "first", "later"))
    a, b, retry = sent_in_turn(runtime, secrets, [first, later, first])
    consumer = runtime.functions["OpenWebConsumerFunction"]
    for message in (b, retry):
        assert consumer.invoke(sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1")) == {
            "batchItemFailures": []
        }
        runtime.sqs.delete_message(QueueUrl=queue_url(runtime, "openweb"), ReceiptHandle=message["ReceiptHandle"])
    return first, later, a, consumer


def test_a_retried_delivery_consumed_before_the_one_it_repeats_takes_the_first_copys_time(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    comment = {"comment_id": "retried-c", "type": "comment", "content": [{"text": "hi"}]}
    rejected = json.dumps({"event_id": "retried-rej", "type": "message-rejected", "comment": comment}).encode()
    approved = json.dumps({"event_id": "retried-app", "type": "message-approved", "comment": comment}).encode()
    # Given OpenWeb's rejection, then its approval, then a retry of the rejection (neither has its own time),
    # when the retry is consumed first, then the approval, then the delivery it repeats
    messages = sent_then_consumed_backwards(runtime, secrets, [rejected, approved, rejected])
    first_received = messages[0]["MessageAttributes"]["received_at"]["StringValue"]

    # Then the rejection is dated by its first copy, and the approval, which came after it, is the state
    stored = reader(runtime).get("openweb", "retried-rej") or {}
    assert (stored["received_at"], stored["occurred_at"]) == (first_received, first_received)
    # and the feed lists it once, at that time (the later copy's entry names a copy no longer stored)
    rejections = listed(runtime, vendor="openweb", content="retried-c", event_types=("comment.rejected",))
    assert [entry["received_at"] for entry in rejections] == [first_received]
    state = reader(runtime).state("openweb", "retried-c")
    assert state is not None
    assert state.status == "approved"


def assert_first_version_stays(
    runtime: LocalRuntime, messages: list[dict[str, Any]], first: dict[str, Any], later: dict[str, Any]
) -> None:
    """The first of two versions of an OpenWeb event (``messages``: theirs, in order) is stored with its receive
    time, the later one is kept as the conflict, and the feed lists the event once, at the first's time."""
    first_received, later_received = (m["MessageAttributes"]["received_at"]["StringValue"] for m in messages)
    event_id, comment_id = first["event_id"], first["comment"]["comment_id"]
    stored = reader(runtime).get("openweb", event_id) or {}
    assert (stored["raw"], stored["received_at"]) == (first, first_received)
    kept = [item for item in quarantined(runtime, "openweb") if item.get("event_id") == event_id]
    assert [(item["reason"], json.loads(item["text"]), item["received_at"]) for item in kept] == [
        ("conflict", later, later_received)
    ]
    entries = listed(runtime, vendor="openweb", content=comment_id)
    assert [entry["received_at"] for entry in entries] == [first_received]


def test_a_copy_consumed_after_a_later_one_leaves_the_event_as_a_run_in_order_would(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    event = {"event_id": "bytes-rej", "type": "message-rejected", "comment": {"comment_id": "bytes-c"}}
    first, retry = json.dumps(event).encode(), json.dumps(event, indent=1, sort_keys=True).encode()
    # Given a delivery and OpenWeb's retry of it written another way (the same event, other bytes),
    # when the retry is consumed first (the first delivery's record was throttled), then the first
    messages = sent_then_consumed_backwards(runtime, secrets, [first, retry])

    # Then the event is the first delivery's, its bytes as well as its times and ids
    stored = reader(runtime).get("openweb", "bytes-rej") or {}
    attributes = messages[0]["MessageAttributes"]
    assert (stored["raw_text"], stored["received_at"], stored["correlation_id"]) == (
        first.decode(),
        attributes["received_at"]["StringValue"],
        attributes["correlation_id"]["StringValue"],
    )


def test_the_first_version_of_an_event_stays_when_a_later_one_with_other_content_is_consumed_first(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    first, later = versions("version-rej", "version-c", "first", "later")
    # Given an event, then the same id with other content, when the later one is consumed first
    messages = sent_then_consumed_backwards(runtime, secrets, [json.dumps(first).encode(), json.dumps(later).encode()])

    # Then the first version stays, as in a run in order, and the later one is kept as the conflict; the feed
    # lists the event once, at the first version's receive time
    assert_first_version_stays(runtime, messages, first, later)


def test_two_versions_of_an_event_in_one_batch_later_one_first_leave_the_first_version(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    first, later = versions("batch-version-rej", "batch-version-c", "first", "later")
    # Given an event, then the same id with other content, both in one batch with the later one first (the batch
    # read ahead whole, then written record by record)
    messages = sent_in_turn(runtime, secrets, [json.dumps(first).encode(), json.dumps(later).encode()])
    answer = runtime.functions["OpenWebConsumerFunction"].invoke(
        sqs_event(messages[::-1], "arn:aws:sqs:us-east-1:1:q", "us-east-1")
    )
    for message in messages:
        runtime.sqs.delete_message(QueueUrl=queue_url(runtime, "openweb"), ReceiptHandle=message["ReceiptHandle"])

    # Then the first version stays, the later one is kept as the conflict, and the feed lists the event once
    assert answer == {"batchItemFailures": []}
    assert_first_version_stays(runtime, messages, first, later)


def test_a_retry_of_the_first_version_kept_as_a_conflict_before_it_took_its_place_is_released(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    first, later = (json.dumps(body).encode() for body in versions("retry-rej", "retry-c", "first", "later"))
    # Given an event, the same id with other content, then OpenWeb's retry of the first (its record throttled)
    a, b, retry = sent_in_turn(runtime, secrets, [first, later, first])
    consumer = runtime.functions["OpenWebConsumerFunction"]
    # When the later version is consumed first, then the retry (other content than the event stored: a
    # conflict), then the first delivery, which takes the later version's place
    with handler_logs() as logs:
        for message in (b, retry, a):
            answer = consumer.invoke(sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1"))
            assert answer == {"batchItemFailures": []}
            runtime.sqs.delete_message(QueueUrl=queue_url(runtime, "openweb"), ReceiptHandle=message["ReceiptHandle"])

    # Then the first version is stored, and only the later version is kept as the conflict, as in a run in
    # order: the retry is a copy of the event stored, no conflict of it
    stored = reader(runtime).get("openweb", "retry-rej") or {}
    first_received = a["MessageAttributes"]["received_at"]["StringValue"]
    assert (stored["raw_text"].encode(), stored["received_at"]) == (first, first_received)
    kept = [item for item in quarantined(runtime, "openweb") if item.get("event_id") == "retry-rej"]
    assert [(item["reason"], item["text"].encode(), item["received_at"]) for item in kept] == [
        ("conflict", later, b["MessageAttributes"]["received_at"]["StringValue"])
    ]
    # and the consumer says the retry's quarantine item was let go
    outcomes = [json.loads(line)["outcomes"] for line in logs.getvalue().splitlines() if '"outcomes"' in line]
    assert [entry.split()[0] for entry in outcomes[-1]] == ["quarantined", "released", "stored"]


def test_a_throttled_look_for_copies_kept_as_conflicts_is_tried_again_and_they_are_released(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an event, the same id with other content, and a retry of the first kept as a conflict, consumed first
    _, later, a, consumer = retry_kept_as_conflict(runtime, secrets, "throttled-rej", "throttled-c")
    queries: list[bytes] = []

    def throttle_first_query(request: Any, **_: Any) -> None:
        if b"DynamoDB_20120810.Query" in request.headers.get("X-Amz-Target", b""):
            queries.append(request.body)
            if len(queries) == 1:
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "Query"
                )

    # When the first delivery takes the later version's place, and DynamoDB throttles its look for copies of it kept
    # as conflicts once
    with consumer_dynamodb_hook(throttle_first_query), handler_logs() as logs:
        answer = consumer.invoke(sqs_event([a], "arn:aws:sqs:us-east-1:1:q", "us-east-1"))

    # Then the look is made again, as botocore would have: the record is done and the retry's item let go
    assert len(queries) == 2
    assert answer == {"batchItemFailures": []}
    kept = [item for item in quarantined(runtime, "openweb") if item.get("event_id") == "throttled-rej"]
    assert [(item["reason"], item["text"].encode()) for item in kept] == [("conflict", later)]
    outcomes = [json.loads(line)["outcomes"] for line in logs.getvalue().splitlines() if '"outcomes"' in line]
    assert [entry.split()[0] for entry in outcomes[-1]] == ["quarantined", "released", "stored"]


def test_a_look_for_copies_kept_as_conflicts_that_dynamodb_keeps_failing_is_made_again_in_the_reserve(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an event, the same id with other content, and a retry of the first kept as a conflict, consumed first
    first, later, a, consumer = retry_kept_as_conflict(runtime, secrets, "down-rej", "down-c")
    queries: list[bytes] = []

    def unavailable_for_a_moment(request: Any, **_: Any) -> None:
        if b"DynamoDB_20120810.Query" in request.headers.get("X-Amz-Target", b""):
            queries.append(request.body)
            if len(queries) <= 5:  # every attempt of the look the consumer makes before its reserve
                error = {"Code": "InternalServerError", "Message": "try again"}
                raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Query")

    # When the first delivery takes the later version's place, and DynamoDB fails every attempt of its look for
    # copies kept as conflicts, then answers again; the record is received again whenever the consumer hands it back
    with consumer_dynamodb_hook(unavailable_for_a_moment):
        answers = [consumer.invoke(sqs_event([a], "arn:aws:sqs:us-east-1:1:q", "us-east-1"))]
        if answers[0]["batchItemFailures"]:
            answers.append(consumer.invoke(sqs_event([a], "arn:aws:sqs:us-east-1:1:q", "us-east-1")))

    # Then the look is made again in the reserve, DynamoDB answering: the retry's item is let go, as in a run in
    # order, and only the later version is kept as the conflict
    kept = [item for item in quarantined(runtime, "openweb") if item.get("event_id") == "down-rej"]
    assert [(item["reason"], item["text"].encode()) for item in kept] == [("conflict", later)]
    # in the receive that stored it: the event is stored, and a receive again would find it stored as its copy
    assert answers == [{"batchItemFailures": []}]
    stored = reader(runtime).get("openweb", "down-rej") or {}
    assert stored["raw_text"].encode() == first


def test_a_look_for_copies_kept_as_conflicts_that_no_longer_fits_before_the_reserve_is_made_in_it(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an event, the same id with other content, and a retry of the first kept as a conflict, consumed first
    _, later, a, consumer = retry_kept_as_conflict(runtime, secrets, "late-rej", "late-c")
    left = [60_000]
    looks = QuarantineStore.conflicts

    def looked_for_late(self: QuarantineStore, *args: Any) -> Iterator[dict[str, Any]]:
        left[0] = 3_600  # only the reserve and a moment: no attempt of the look fits before the reserve any more
        yield from looks(self, *args)

    monkeypatch.setattr(QuarantineStore, "conflicts", looked_for_late)
    context = LambdaContext(consumer.spec.logical_id, consumer.spec.memory_size, consumer.spec.timeout)
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: left[0], raising=False)

    # When the first delivery takes the later version's place just as the invocation comes down to its reserve
    answer = consumer.handler(sqs_event([a], "arn:aws:sqs:us-east-1:1:q", "us-east-1"), context)

    # Then the record is done, and the retry kept as a conflict is let go in the reserve: a receive again would find
    # the event stored as its copy and look for such copies no more
    assert answer == {"batchItemFailures": []}
    kept = [item for item in quarantined(runtime, "openweb") if item.get("event_id") == "late-rej"]
    assert [(item["reason"], item["text"].encode()) for item in kept] == [("conflict", later)]


def test_a_look_for_copies_kept_as_conflicts_that_fails_in_the_reserve_leaves_the_batch_answered(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first version consumed after a later one and a retry of it, as above
    first, later, a, consumer = retry_kept_as_conflict(runtime, secrets, "lost-rej", "lost-c")
    left = [60_000]

    def look_fails(self: QuarantineStore, *args: Any) -> Iterator[dict[str, Any]]:
        if left[0] > 3_600:
            left[0] = 3_600  # no attempt of the look fits before the reserve
            raise OutOfTimeError
        raise PayloadError("get_object failed: SlowDown")  # and in the reserve, S3 fails reading a copy's text
        yield {}

    monkeypatch.setattr(QuarantineStore, "conflicts", look_fails)
    context = LambdaContext(consumer.spec.logical_id, consumer.spec.memory_size, consumer.spec.timeout)
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: left[0], raising=False)

    # When the first delivery takes the later version's place then
    with handler_logs() as logs:
        answer = consumer.handler(sqs_event([a], "arn:aws:sqs:us-east-1:1:q", "us-east-1"), context)

    # Then the batch is still answered, its record done (a receive again would not look either); the copy stays
    # quarantined, said in the log
    assert answer == {"batchItemFailures": []}
    assert "copies kept as conflicts of a first version not let go" in logs.getvalue()
    kept = [item for item in quarantined(runtime, "openweb") if item.get("event_id") == "lost-rej"]
    assert sorted(item["text"].encode() for item in kept) == sorted([first, later])


def test_a_first_version_is_stored_when_the_later_one_is_gone_before_it_takes_its_place(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = shared_runtime
    first, later = versions("gone-rej", "gone-c", "first", "later")
    take_place = events_module.EventStore.take_place

    def later_one_deleted_first(self: Any, prepared: Any, *rest: Any) -> Any:
        # DynamoDB's TTL (or an operator) deletes the later version between the two writes
        self.dynamodb.delete_item(
            TableName=self.table_name, Key={"pk": {"S": "openweb#gone-rej"}, "sk": {"S": "event"}}
        )
        return take_place(self, prepared, *rest)

    monkeypatch.setattr(events_module.EventStore, "take_place", later_one_deleted_first)
    # Given the later version stored first, when the first version comes to take its place and finds none
    messages = sent_then_consumed_backwards(runtime, secrets, [json.dumps(first).encode(), json.dumps(later).encode()])

    # Then the first version is stored (not taken for a duplicate of nothing), and the later one is kept
    stored = reader(runtime).get("openweb", "gone-rej") or {}
    assert (stored.get("raw"), stored.get("received_at")) == (
        first,
        messages[0]["MessageAttributes"]["received_at"]["StringValue"],
    )
    kept = [item for item in quarantined(runtime, "openweb") if item.get("event_id") == "gone-rej"]
    assert [(item["reason"], json.loads(item["text"])) for item in kept] == [("conflict", later)]


def test_a_first_version_that_takes_a_later_ones_place_is_watched_for_new_shapes(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    first, later = versions("shape-order", "shape-order-c", "first", "later")
    first["field_of_the_first"] = 1
    # Given a first version with a field no event had, consumed after a later version without it
    sent_then_consumed_backwards(runtime, secrets, [json.dumps(first).encode(), json.dumps(later).encode()])

    # Then the first version, the one stored, is the event whose new shape is kept, as in a run in order
    assert (reader(runtime).get("openweb", "shape-order") or {})["raw"] == first
    shapes = boto3.client("dynamodb", region_name=runtime.stack.region).query(
        TableName=runtime.stack.tables["EventsTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "shape#openweb"}},
    )["Items"]
    assert any("field_of_the_first:number" in decode_item(item)["paths"] for item in shapes)


@pytest.mark.parametrize("meanwhile", ["its retry", "a second version"])
def test_a_first_version_consumed_while_another_consumer_takes_the_later_ones_place_is_counted_once(
    runtime: LocalRuntime,
    secrets: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    meanwhile: str,
) -> None:
    first, second, third = versions("race-rej", "race-c", "first", "second", "third")
    between = first if meanwhile == "its retry" else second
    # Given the first version A, then B (A's retry, or a second version), then a later version L, L stored first
    a, b, last = sent_in_turn(runtime, secrets, [json.dumps(body).encode() for body in (first, between, third)])
    consumer = runtime.functions["OpenWebConsumerFunction"]
    other = LocalFunction(consumer.spec, consumer.environment, runtime.stack.region)  # a second execution environment

    def consume(function: LocalFunction, message: dict[str, Any]) -> None:
        answer = function.invoke(sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1"))
        assert answer["batchItemFailures"] == []

    consume(consumer, last)
    take_place = events_module.EventStore.take_place

    def b_takes_it_first(self: Any, prepared: Any, raw: bytes, stored_later: Any) -> Any:
        if prepared.item["received_at"] == a["MessageAttributes"]["received_at"]["StringValue"] and not b_done:
            b_done.append(True)
            consume(other, b)  # another consumer writes B over L before A's write lands
        return take_place(self, prepared, raw, stored_later)

    b_done: list[bool] = []
    monkeypatch.setattr(events_module.EventStore, "take_place", b_takes_it_first)
    capsys.readouterr()
    # When A is consumed, and B by another consumer while A is about to take L's place
    consume(consumer, a)

    # Then the first version is stored, with A's times, as in a run in order
    stored = reader(runtime).get("openweb", "race-rej") or {}
    assert (stored["raw"], stored["received_at"]) == (first, a["MessageAttributes"]["received_at"]["StringValue"])
    kept = sorted(json.loads(item["text"])["comment"]["content"][0] for item in quarantined(runtime, "openweb"))
    assert kept == (["third"] if meanwhile == "its retry" else ["second", "third"])
    # and A and B are two events of the metrics: a sample of write units each, which add up to the units written
    points = metric_points(capsys.readouterr().out)
    per_event = [value for name, _, values in points if name == "WriteUnitsPerEvent" for value in values]
    assert len(per_event) == 2
    assert sum(per_event) == pytest.approx(total(points, "WriteUnits", vendor="openweb"))


def test_of_two_earlier_copies_taken_at_once_the_earliest_gives_the_event_its_times(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = runtime.functions["OpenWebConsumerFunction"]
    body = {"event_id": "race-rej", "type": "message-rejected", "comment": {"comment_id": "race-c"}}
    # Given three copies of one event, A before B before C, and C stored first
    a, b, c = sent_in_turn(runtime, secrets, [body] * 3)

    def consume(message: dict[str, Any]) -> None:
        answer = consumer.invoke(sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1"))
        assert answer["batchItemFailures"] == []

    consumer._invoke_lock = threading.RLock()  # A's consumer takes B's in the middle of its own
    consume(c)
    earlier_copy = events_module.EventStore._earlier_copy

    def b_lands_first(self: Any, stored: dict[str, Any], prepared: Any, *rest: Any) -> float:
        if not b_done:
            b_done.append(True)
            consume(b)  # A has read C's item; B's update lands before A's
        return earlier_copy(self, stored, prepared, *rest)

    b_done: list[bool] = []
    monkeypatch.setattr(events_module.EventStore, "_earlier_copy", b_lands_first)
    # When A is consumed, and B is consumed while A's update is on its way
    consume(a)

    # Then the event has A's times, the earliest copy's
    stored = reader(runtime).get("openweb", "race-rej") or {}
    assert stored["received_at"] == a["MessageAttributes"]["received_at"]["StringValue"]


@pytest.mark.parametrize("test_copy_received_first", [True, False], ids=["test copy sent first", "real sent first"])
@pytest.mark.parametrize("test_copy_consumed_first", [True, False], ids=["test copy stored first", "real stored first"])
def test_a_copy_sent_as_a_test_never_stands_for_the_vendors_own(
    shared_runtime: LocalRuntime,
    secrets: dict[str, Any],
    test_copy_received_first: bool,
    test_copy_consumed_first: bool,
) -> None:
    runtime = shared_runtime
    secret = secrets["viafoura-engagement"]
    consumer = runtime.functions["ViafouraEngagementConsumerFunction"]
    url = queue_url(runtime, "viafoura-engagement")
    content = f"tested-{test_copy_received_first}-{test_copy_consumed_first}"
    assert send_body(runtime, "viafoura-engagement", engagement(content, "created", 1), secret).status == 200
    runtime.drain()
    # Given a rejection sent twice, once as a test (`intake send --stack` of it) and once by Viafoura
    rejection = engagement(content, "disabled", 3)
    test_header = {"x-intake-test": "true"}
    for headers in ({**test_header}, {}) if test_copy_received_first else ({}, {**test_header}):
        assert send_body(runtime, "viafoura-engagement", rejection, secret, headers=headers).status == 200
        time.sleep(0.005)
    copies = [m for m in queue_messages(runtime.sqs, url) if content in m["Body"]]
    test_copy = next(m for m in copies if "x-intake-test" in json.dumps(m["MessageAttributes"]))
    real = next(m for m in copies if m is not test_copy)

    # When both are consumed, in either order
    for message in (test_copy, real) if test_copy_consumed_first else (real, test_copy):
        assert (
            consumer.invoke(sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1"))["batchItemFailures"] == []
        )
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # Then the event is the vendor's copy, a real one with its own times, and it is the state
    stored = reader(runtime).get("viafoura-engagement", f"{content}-disabled") or {}
    assert (stored.get("test"), stored.get("received_at")) == (
        None,
        real["MessageAttributes"]["received_at"]["StringValue"],
    )
    assert state_of(runtime, "viafoura-engagement", content) == ("rejected", False, "livecomment_post.disabled")
    # and the feed lists the vendor's copy once, not the test copy
    entries = listed(runtime, content=content)
    listing = [(entry["event_type"], entry["received_at"], entry.get("test")) for entry in entries]
    assert listing == [
        ("comment.rejected", real["MessageAttributes"]["received_at"]["StringValue"], None),
        ("comment.created", listing[-1][1], None),
    ]


def test_a_fastcomments_delete_wins_in_every_order(shared_runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    runtime = shared_runtime
    now = time.time()
    sequence = [
        ("comment-created", "first", now - 30),
        ("comment-updated", "edited", now - 20),
        ("comment-deleted", "edited", now - 50),
    ]
    for n, order in enumerate(itertools.permutations(sequence)):
        for event, text, signed_at in order:
            send_signed(runtime, secrets["fastcomments"], event, fastcomments_body(f"fcdel{n}", text), signed_at)
        runtime.drain()
    finals = [state_of(runtime, "fastcomments", f"fcdel{n}") for n in range(6)]
    # The delete is the oldest event of the three, and still the state: a tombstone wins.
    assert finals == [("deleted", True, "comment-deleted")] * 6


def test_a_removed_reply_notification_stays_removed(shared_runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    runtime = shared_runtime

    def notification(kind: str, offset: int) -> bytes:
        note = {
            "notification_type": kind,
            "notification_uuid": f"rr-{kind}-{offset}",
            "time": BASE_MS + offset * 1000,
            "payload": {"content": {"uuid": "reply-rr", "body": "a reply"}},
        }
        return json.dumps({"request_uuid": f"r-{kind}", "notifications": [note]}).encode()

    # The removal is delivered first, the reply it removes after it, and an older reply event last.
    for kind, offset in (("reply_removed", 2), ("reply", 3), ("reply", 1)):
        send_body(runtime, "viafoura-notifications", notification(kind, offset), secrets["viafoura-notifications"])
        runtime.drain()
    assert state_of(runtime, "viafoura-notifications", "reply-rr") == ("removed", True, "reply_removed")


def moderation(prefix: str, action: str, at_ms: int) -> bytes:
    """A Viafoura engagement delivery of one action on the comment ``<prefix>-c``, dated ``at_ms``."""
    body = {
        "event_uuid": f"{prefix}-{action}",
        "time": at_ms,
        "content_uuid": f"{prefix}-c",
        "message_type": "livecomment_post",
        "action": action,
    }
    return json.dumps({"request_uuid": f"r-{prefix}-{action}", "events": [body]}).encode()


def test_a_future_dated_event_does_not_freeze_the_state(shared_runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    runtime = shared_runtime
    secret = secrets["viafoura-engagement"]
    future = int((time.time() + 365 * 86_400) * 1000)
    event = functools.partial(moderation, "fut")

    # Given an approval dated a year ahead, then a rejection dated now
    send_body(runtime, "viafoura-engagement", event("visible", future), secret)
    runtime.drain()
    time.sleep(0.002)
    send_body(runtime, "viafoura-engagement", event("disabled", int(time.time() * 1000)), secret)
    runtime.drain()
    # Then the untrusted future time counts as its receive time, and the later rejection is the state
    approved = reader(runtime).get("viafoura-engagement", "fut-visible") or {}
    assert (approved["time_source"], approved["time_rejected"]) == ("received", "future")
    assert state_of(runtime, "viafoura-engagement", "fut-c") == ("rejected", False, "livecomment_post.disabled")


def test_a_future_dated_approval_received_after_a_rejection_counts_as_received_and_wins(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    secret = secrets["viafoura-engagement"]
    now_ms = int(time.time() * 1000)
    event = functools.partial(moderation, "fut-late")

    # Given a rejection dated a second ago, then an approval dated a year ahead
    send_body(runtime, "viafoura-engagement", event("disabled", now_ms - 1000), secret)
    runtime.drain()
    send_body(runtime, "viafoura-engagement", event("visible", now_ms + 365 * 86_400_000), secret)
    runtime.drain()
    # Then the approval's untrusted time counts as its receive time, after the rejection's: it is the state
    approved = reader(runtime).get("viafoura-engagement", "fut-late-visible") or {}
    assert (approved["time_source"], approved["time_rejected"]) == ("received", "future")
    assert state_of(runtime, "viafoura-engagement", "fut-late-c") == ("approved", False, "livecomment_post.visible")


@pytest.mark.parametrize(
    ("action", "created_at", "status"),
    [
        pytest.param("disabled", 5, "rejected", id="moderated-in-its-millisecond"),
        pytest.param("spammed", 5, "spam", id="spam-in-its-millisecond"),
        pytest.param("visible", 5, "approved", id="approved-in-its-millisecond"),
        pytest.param("updated", 5, "updated", id="edited-in-its-millisecond"),
        # Its own time in seconds, not milliseconds: not trusted, the creation counts as received
        pytest.param("disabled", None, "rejected", id="creation-time-unreadable"),
    ],
)
def test_a_creation_is_never_the_state_once_something_else_happened_to_the_comment(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], action: str, created_at: int | None, status: str
) -> None:
    runtime = shared_runtime
    content = f"first-{action}-{created_at}"

    def event(verb: str, at_ms: int) -> bytes:
        body = {
            "event_uuid": f"{content}-{verb}",
            "time": at_ms,
            "content_uuid": content,
            "message_type": "livecomment_post",
            "action": verb,
        }
        return json.dumps({"request_uuid": f"r-{content}-{verb}", "events": [body]}).encode()

    # Given the comment's moderation (or edit), then its creation dated the same millisecond or
    # carrying a time that cannot be trusted, received after it
    send_body(runtime, "viafoura-engagement", event(action, BASE_MS + 5_000), secrets["viafoura-engagement"])
    runtime.drain()
    time.sleep(0.002)
    created_ms = BASE_MS + 5_000 if created_at is not None else (BASE_MS + 4_000) // 1000
    send_body(runtime, "viafoura-engagement", event("created", created_ms), secrets["viafoura-engagement"])
    runtime.drain()

    # Then the state is what followed the creation, not the creation
    assert state_of(runtime, "viafoura-engagement", content)[:2] == (status, False)


def test_a_comments_state_is_the_first_item_of_one_query_under_its_vendor(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given a Viafoura comment created then disabled, and a FastComments comment that happens to
    # have the same id, created and deleted after both (the newest events of that content id)
    for action, offset in (("created", 1), ("disabled", 3)):
        send_body(
            runtime, "viafoura-engagement", engagement("shared-id", action, offset), secrets["viafoura-engagement"]
        )
    send_signed(runtime, secrets["fastcomments"], "comment-created", fastcomments_body("shared-id", "hi"), time.time())
    send_signed(runtime, secrets["fastcomments"], "comment-deleted", fastcomments_body("shared-id", "hi!"), time.time())
    runtime.drain()

    # Then one query of the by-content index under the vendor's prefix, Limit 1, reads each one's state alone
    def first(vendor: str) -> list[dict[str, Any]]:
        answer = boto3.client("dynamodb", region_name=runtime.stack.region).query(
            TableName=runtime.stack.tables["EventsTable"],
            IndexName=STATE_INDEX,
            KeyConditionExpression="content_id = :c AND begins_with(state_order, :v)",
            ExpressionAttributeValues={":c": {"S": "shared-id"}, ":v": {"S": f"{vendor}#"}},
            ScanIndexForward=False,
            Limit=1,
        )
        return [decode_item(item) for item in answer["Items"]]

    (viafoura,) = first("viafoura-engagement")
    (fastcomments,) = first("fastcomments")
    assert (viafoura["pk"].split("#")[0], viafoura["event_type"]) == ("viafoura-engagement", "comment.rejected")
    assert (fastcomments["pk"].split("#")[0], fastcomments["event_type"]) == ("fastcomments", "comment.deleted")
    # And the reader agrees, each vendor's state its own
    assert state_of(runtime, "viafoura-engagement", "shared-id")[:2] == ("rejected", False)
    assert state_of(runtime, "fastcomments", "shared-id")[:2] == ("deleted", True)


@pytest.mark.parametrize(
    ("batch", "status"),
    [
        pytest.param(("visible", "disabled"), "rejected", id="approved-then-rejected"),
        pytest.param(("disabled", "visible"), "approved", id="rejected-then-approved"),
        pytest.param(("disabled", "visible", "disabled"), "rejected", id="three"),
    ],
)
def test_moderations_dated_the_same_millisecond_in_one_batch_end_with_the_batchs_last(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], batch: tuple[str, ...], status: str
) -> None:
    runtime = shared_runtime
    content = "same-ms-" + "-".join(batch)
    # Given one delivery whose events moderate one comment in the same millisecond, their ids
    # in the opposite order to the batch's (the id must not be what decides)
    events = [
        {
            "event_uuid": f"{chr(ord('z') - place)}-{content}",
            "time": BASE_MS + 7_000,
            "content_uuid": content,
            "message_type": "livecomment_post",
            "action": action,
        }
        for place, action in enumerate(batch)
    ]
    body = json.dumps({"request_uuid": f"r-{content}", "time": BASE_MS + 8_000, "events": events}).encode()

    # When it is delivered and consumed
    assert send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"]).status == 200
    runtime.drain()

    # Then the comment's state is the batch's last event: a batch lists its events in their order
    assert state_of(runtime, "viafoura-engagement", content)[:2] == (status, False)


def test_a_batchs_later_event_sent_back_from_the_quarantine_keeps_its_place(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a batch approving then rejecting one comment in the same millisecond (ids in the opposite
    # order), whose rejection DynamoDB refused once, so it was quarantined
    events = [
        {"event_uuid": uuid, "time": BASE_MS + 9_000, "content_uuid": "q-place", "message_type": "livecomment_post"}
        | {"action": action}
        for uuid, action in (("z-approved", "visible"), ("q-rejected", "disabled"))
    ]
    body = json.dumps({"request_uuid": "r-q-place", "events": events}).encode()
    with consumer_puts_refused(b"q-rejected"):
        assert send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"]).status == 200
        runtime.drain()
    (kept,) = quarantined(runtime, "viafoura-engagement")
    assert state_of(runtime, "viafoura-engagement", "q-place")[:2] == ("approved", False)

    # When it is sent back and stored
    redrive(runtime, "viafoura-engagement", QuarantineKey("viafoura-engagement", kept["sk"]))
    runtime.drain()

    # Then the state is the batch's last, as if nothing had failed
    assert reader(runtime).get("viafoura-engagement", "q-rejected")["index"] == 1
    assert state_of(runtime, "viafoura-engagement", "q-place")[:2] == ("rejected", False)


def test_a_first_version_out_of_time_before_it_takes_the_later_ones_place_leaves_no_write_units_sample(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, later = (json.dumps(body).encode() for body in versions("short-rej", "short-c", "first", "later"))
    # Given an event and the same id with other content, the later one consumed first
    a, b = sent_in_turn(runtime, secrets, [first, later])
    consumer = runtime.functions["OpenWebConsumerFunction"]
    assert consumer.invoke(sqs_event([b], "arn:aws:sqs:us-east-1:1:q", "us-east-1")) == {"batchItemFailures": []}
    left = [60_000]
    keep = QuarantineStore.put

    def kept_late(self: QuarantineStore, *args: Any) -> Any:
        kept = keep(self, *args)
        left[0] = 3_600  # no attempt of the first version's write fits before the reserve any more
        return kept

    monkeypatch.setattr(QuarantineStore, "put", kept_late)
    context = LambdaContext(consumer.spec.logical_id, consumer.spec.memory_size, consumer.spec.timeout)
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: left[0], raising=False)
    capsys.readouterr()

    # When the first delivery comes to take the later version's place just as the invocation reaches its reserve
    answer = consumer.handler(sqs_event([a], "arn:aws:sqs:us-east-1:1:q", "us-east-1"), context)

    # Then its record goes back with no outcome for its event, and the metrics hold no write units sample for it
    # (the units of keeping the later version are the invocation's)
    assert answer == {"batchItemFailures": [{"itemIdentifier": a["MessageId"]}]}
    points = metric_points(capsys.readouterr().out)
    assert [values for name, _, values in points if name == "WriteUnitsPerEvent"] in ([], [[]])
    assert (total(points, "RecordsRetried"), total(points, "EventsStored")) == (1, 0)
    assert total(points, "WriteUnits", vendor="openweb") > 0

    # And its next receive stores it: one sample, which adds up to what it wrote
    monkeypatch.setattr(QuarantineStore, "put", keep)
    capsys.readouterr()
    assert consumer.invoke(sqs_event([a], "arn:aws:sqs:us-east-1:1:q", "us-east-1")) == {"batchItemFailures": []}
    points = metric_points(capsys.readouterr().out)
    per_event = [value for name, _, values in points if name == "WriteUnitsPerEvent" for value in values]
    assert len(per_event) == 1
    assert per_event[0] == pytest.approx(total(points, "WriteUnits", vendor="openweb"))
    assert (reader(runtime).get("openweb", "short-rej") or {})["raw"] == json.loads(first)
