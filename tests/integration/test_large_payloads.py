"""Bodies over the SQS limit go through S3 (claim check); raw events over the item limit keep their raw part in S3."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.response import StreamingBody

from intake_cli.events import sqs_event
from intake_cli.lambdas import LambdaContext
from intake_cli.samples import SAMPLES_DIR
from tests.conftest import queue_messages
from tests.helpers import handler_logs, notifications_body, payloads, queue_url, send_body, stored, table
from webhook_intake.clients import client
from webhook_intake.consumer.service import TIME_RESERVE_MS
from webhook_intake.ingest.settings import DEFAULT_INLINE_MAX_BYTES
from webhook_intake.store.quarantine import QuarantineStore
from webhook_intake.store.table import CONSUMER_CONFIG
from webhook_intake.store.wire import item_size, write_units

QUEUE_ARN = "arn:aws:sqs:us-east-1:1:q"
LARGEST_BODY = 6_200_000
"""A text body whose API Gateway event (about 2 KB more) stays within Lambda's 6,291,456 bytes."""

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def firstup_body(event_id: str, size: int) -> bytes:
    """A Firstup event of exactly ``size`` bytes."""
    shell = json.dumps({"id": event_id, "name": "content_published", "pad": ""}).encode()
    body = json.dumps({"id": event_id, "name": "content_published", "pad": "x" * (size - len(shell))}).encode()
    assert len(body) == size
    return body


@pytest.mark.parametrize(
    ("size", "claim_checked"),
    [(DEFAULT_INLINE_MAX_BYTES, False), (DEFAULT_INLINE_MAX_BYTES + 1, True), (LARGEST_BODY, True)],
    ids=["at-sqs-limit", "one-byte-over-sqs-limit", "at-lambdas-limit"],
)
def test_bodies_up_to_lambdas_limit_are_accepted_and_stored_byte_for_byte(
    runtime: LocalRuntime, secrets: dict[str, Any], size: int, claim_checked: bool
) -> None:
    body = firstup_body(f"big-{size}", size)
    assert send_body(runtime, "firstup", body, secrets["firstup"]).status == 200
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, "firstup"))
    assert ("claim_check" in message["MessageAttributes"]) is claim_checked
    if claim_checked:
        pointer = json.loads(message["Body"])["claim_check"]
        s3 = boto3.client("s3", region_name=runtime.stack.region)
        assert s3.get_object(Bucket=pointer["bucket"], Key=pointer["key"])["Body"].read() == body
        assert pointer["key"].startswith("deliveries/firstup/")
    else:
        assert message["Body"].encode() == body
    runtime.drain()
    (item,) = stored(runtime)
    assert item["event_id"].startswith(f"big-{size}:")
    assert item["raw_text"].encode() == body


def test_a_body_of_non_ascii_text_up_to_lambdas_limit_is_accepted_and_stored_byte_for_byte(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a body as large as an ASCII one Lambda takes, most of it emoji and accented letters (in the
    # event's JSON as UTF-8, four and two bytes each, not as twelve- and six-byte escapes)
    shell = json.dumps({"id": "wide", "name": "content_published", "pad": ""}).encode()
    room = LARGEST_BODY - len(shell)
    pad = "\U0001f600" * (room // 8) + "\u00e9" * (room // 8 * 2)
    pad += "x" * (room - len(pad.encode()))
    body = json.dumps({"id": "wide", "name": "content_published", "pad": pad}, ensure_ascii=False).encode()
    assert len(body) == LARGEST_BODY

    # When it is delivered, then it is accepted, and stored as sent
    response = send_body(runtime, "firstup", body, secrets["firstup"])
    assert response.status == 200, response.body
    runtime.drain()
    (item,) = stored(runtime)
    assert item["raw_text"].encode() == body


def test_a_body_at_the_inline_limit_with_the_longest_headers_still_fits_sqs(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a body at the inline limit, and every header a Firstup delivery keeps at its longest,
    # in latin-1 (escaped six bytes a character in the route attribute): SQS counts attributes too
    body = firstup_body("big-headers", DEFAULT_INLINE_MAX_BYTES)
    long_value = "\u00e9" * 300
    headers = {name: long_value for name in ("content-type", "user-agent", "x-request-id")}
    headers["x-socialchorus-delivery"] = "d" * 300

    # When it is delivered, then it is accepted (through S3: with them it is over 1 MiB) and stored
    assert send_body(runtime, "firstup", body, secrets["firstup"], headers=headers).status == 200
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, "firstup"))
    assert "claim_check" in message["MessageAttributes"]
    runtime.drain()
    (item,) = stored(runtime)
    assert item["raw_text"].encode() == body


def test_a_body_over_lambdas_limit_is_413_before_the_function_runs(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # API Gateway takes 10 MiB, but a synchronous invocation takes 6 MB of event: as in AWS
    response = send_body(runtime, "firstup", firstup_body("too-big", LARGEST_BODY + 200_000), secrets["firstup"])
    assert (response.status, response.json()) == (413, {"message": "Request Too Long"})
    assert queue_messages(runtime.sqs, queue_url(runtime, "firstup")) == []
    assert stored(runtime) == []


def test_a_raw_event_over_the_item_limit_keeps_its_body_in_s3(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    html = "".join(f"<p>{n:08d}</p>" for n in range(60_000))
    comment = {"id": "huge", "urlId": "page", "comment": "short text", "commentHTML": html}
    body = json.dumps(comment).encode()
    assert send_body(runtime, "fastcomments", body, secrets["fastcomments"], "comment-created").status == 200
    runtime.drain()
    (item,) = stored(runtime)
    assert item["content"]["text"] == "short text"
    assert item["raw_text"].encode() == body
    s3 = boto3.client("s3", region_name=runtime.stack.region)
    listed = s3.list_objects_v2(Bucket=runtime.stack.buckets["PayloadBucket"], Prefix="bodies/fastcomments/")
    assert len(listed.get("Contents", [])) == 1

    # And when that body is gone from S3 (its lifecycle rule ran ahead of the table's TTL), reads
    # still list the event and every other one, saying what is missing
    send_body(runtime, "fastcomments", {"id": "small", "comment": "x"}, secrets["fastcomments"], "comment-created")
    runtime.drain()
    s3.delete_object(Bucket=runtime.stack.buckets["PayloadBucket"], Key=listed["Contents"][0]["Key"])
    events = {event["event_id"].split(":")[0]: event for event in stored(runtime)}
    assert set(events) == {"huge", "small"}
    assert "raw_text" not in events["huge"]
    assert "get_object failed" in events["huge"]["body_error"]
    assert events["small"]["raw"] == {"id": "small", "comment": "x"}


def test_a_recipient_list_gone_from_s3_leaves_its_event_listed_saying_so(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a notification to 20,000 readers (their list in S3) and another notification
    many = json.loads(notifications_body("many-1"))
    many["notifications"][0]["recipients"] = [{"id": f"user-{n}"} for n in range(20_000)]
    send_body(runtime, "viafoura-notifications", many, secrets["viafoura-notifications"])
    send_body(runtime, "viafoura-notifications", notifications_body("few-1"), secrets["viafoura-notifications"])
    runtime.drain()
    events = {event["event_id"]: event for event in stored(runtime)}
    assert len(events["many-1"]["recipients"]) == 20_000

    # When the list's object is gone (its lifecycle rule ran ahead of the table's TTL)
    s3 = boto3.client("s3", region_name=runtime.stack.region)
    bucket = runtime.stack.buckets["PayloadBucket"]
    (listed,) = s3.list_objects_v2(Bucket=bucket, Prefix="recipients/").get("Contents", [])
    s3.delete_object(Bucket=bucket, Key=listed["Key"])

    # Then reads still list it, its other fields and raw text whole, saying what is missing; the other reads as before
    events = {event["event_id"]: event for event in stored(runtime)}
    assert set(events) == {"many-1", "few-1"}
    assert "recipients" not in events["many-1"]
    assert "get_object failed" in events["many-1"]["recipients_error"]
    assert json.loads(events["many-1"]["raw_text"])["notification_uuid"] == "many-1"
    assert "recipients_error" not in events["few-1"]


def test_the_bad_events_of_a_batch_with_a_padded_envelope_each_keep_a_small_item(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a signed Viafoura batch of one good event and 99 bad ones, beside 8 KB of other fields
    vendor_key = "viafoura-engagement"
    good = json.loads((SAMPLES_DIR / vendor_key / "liked.json").read_text())["events"][:1]
    body = {"request_uuid": "padded", "pad": "x" * 8100, "events": good + [{"n": n} for n in range(99)]}
    puts: list[str] = []
    s3 = client("s3", CONSUMER_CONFIG)

    def record(params: dict[str, Any], **_: Any) -> None:
        puts.append(str(params["Key"]))

    s3.meta.events.register("before-parameter-build.s3.PutObject", record)
    try:
        assert send_body(runtime, vendor_key, body, secrets[vendor_key]).status == 200
        runtime.drain()
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.PutObject", record)

    # Then each bad event is quarantined in an item of one write unit (the envelope inline made each one 9),
    # and the envelope they share is written to S3 once
    store = QuarantineStore(table(runtime), payloads=payloads(runtime))
    items = list(store.list(vendor_key))
    assert len(items) == 99
    assert max(write_units(item_size(item)) for item in items) == 1
    assert len([key for key in puts if key.startswith("quarantine/")]) == 1
    # and each one, sent back, goes with the envelope it came in
    text, _ = store.resend(items[-1], "events")
    assert json.loads(text)["pad"] == "x" * 8100


def test_a_duplicate_whose_stored_body_in_s3_is_read_whole_as_the_time_runs_out_is_counted_not_retried(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a raw event over the item limit stored (its body in S3), and the vendor's retry of its delivery
    html = "".join(f"<p>{n:08d}</p>" for n in range(60_000))
    body = json.dumps({"id": "huge-again", "urlId": "page", "comment": "short", "commentHTML": html}).encode()
    for _ in range(2):
        assert send_body(runtime, "fastcomments", body, secrets["fastcomments"], "comment-created").status == 200
    url = queue_url(runtime, "fastcomments")
    first, retry = sorted(
        queue_messages(runtime.sqs, url), key=lambda m: m["MessageAttributes"]["received_at"]["StringValue"]
    )
    consumer = runtime.functions["FastCommentsConsumerFunction"]
    assert consumer.invoke(sqs_event([first], QUEUE_ARN, "us-east-1")) == {"batchItemFailures": []}
    s3 = boto3.client("s3", region_name=runtime.stack.region)
    (kept,) = s3.list_objects_v2(Bucket=runtime.stack.buckets["PayloadBucket"], Prefix="bodies/fastcomments/")[
        "Contents"
    ]

    # and an invocation whose time comes down to its reserve just as the last part of that body arrives
    left = [60_000]
    read = StreamingBody.read
    taken: dict[int, int] = {}

    def arriving(self: StreamingBody, amt: int | None = None) -> bytes:
        part = read(self, amt)
        taken[id(self)] = taken.get(id(self), 0) + len(part)
        if part and taken[id(self)] == kept["Size"]:
            left[0] = TIME_RESERVE_MS - 1
        return part

    monkeypatch.setattr(StreamingBody, "read", arriving)
    context = LambdaContext(consumer.spec.logical_id, consumer.spec.memory_size, consumer.spec.timeout)
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: left[0], raising=False)

    # When that invocation takes the retry
    with handler_logs() as logs:
        answer = consumer.handler(sqs_event([retry], QUEUE_ARN, "us-east-1"), context)

    # Then the body read whole is compared: the retry is the event's duplicate, its record done, not sent round
    assert left[0] < TIME_RESERVE_MS
    assert answer == {"batchItemFailures": []}
    (line,) = [json.loads(line) for line in logs.getvalue().splitlines() if '"outcomes"' in line]
    assert [entry.split()[0] for entry in line["outcomes"]] == ["duplicate"]
    assert [item["event_id"].split(":")[0] for item in stored(runtime)] == ["huge-again"]
