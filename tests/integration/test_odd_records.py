"""Records the ingest function never writes but that can reach a queue (a redrive of an old
message, an operator's send, a message from before an upgrade): each is decided once, stored or
quarantined with its reason; only a failing dependency makes a record retry."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tests.helpers import (
    depth,
    dlq_url,
    metric_points,
    quarantined,
    queue_url,
    reader,
    redrive,
    stored_ids,
    total,
)
from webhook_intake.delivery import Delivery
from webhook_intake.payloads import ClaimCheck
from webhook_intake.store.quarantine import QuarantineKey

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime

VENDOR = "openweb"


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _attrs(**overrides: Any) -> dict[str, Any]:
    """What ingest writes (vendor, received_at, correlation_id, route), with overrides (None removes one)."""
    delivery = Delivery(VENDOR, _now(), "corr-" + uuid.uuid4().hex[:8], "POST", "/webhooks/openweb")
    attributes: dict[str, Any] = delivery.to_message_attributes()
    for name, value in overrides.items():
        if value is None:
            attributes.pop(name, None)
        else:
            attributes[name] = {"DataType": "String", "StringValue": value}
    return attributes


def _put(runtime: LocalRuntime, body: str, attributes: dict[str, Any]) -> None:
    runtime.sqs.send_message(QueueUrl=queue_url(runtime, VENDOR), MessageBody=body, MessageAttributes=attributes)


def _event(event_id: str) -> str:
    return json.dumps({"event_id": event_id, "type": "user-followed"})


def _object(runtime: LocalRuntime, key: str, data: bytes, bucket: str | None = None) -> ClaimCheck:
    bucket = bucket or runtime.stack.buckets["PayloadBucket"]
    boto3.client("s3", region_name=runtime.stack.region).put_object(Bucket=bucket, Key=key, Body=data)
    return ClaimCheck(bucket, key, len(data), hashlib.sha256(data).hexdigest())


def _empty_dlq(runtime: LocalRuntime) -> None:
    url = dlq_url(runtime, VENDOR)
    while messages := runtime.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def rt(shared_runtime: LocalRuntime) -> LocalRuntime:
    _empty_dlq(shared_runtime)
    yield shared_runtime
    _empty_dlq(shared_runtime)


@pytest.mark.parametrize(
    "pointer",
    [
        # "bytes" reads as an infinite float, which is no int
        pytest.param('{{"claim_check":{{"bucket":"b","key":"{m}","bytes":1e400,"sha256":"0"}}}}', id="bytes-1e400"),
        # nested deeper than Python's parser reads
        pytest.param('{{"claim_check":' + "[" * 100_000 + "]" * 100_000 + ',"m":"{m}"}}', id="nested-100000"),
    ],
)
def test_a_malformed_claim_check_pointer_is_quarantined_not_dead_lettered(
    rt: LocalRuntime, pointer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    m = "mal-" + uuid.uuid4().hex[:8]
    # Given nine good records and one whose claim-check pointer is malformed, in one batch
    for n in range(9):
        _put(rt, _event(f"{m}-{n}"), _attrs())
    _put(rt, pointer.format(m=m), _attrs(claim_check="s3://somewhere/else"))
    capsys.readouterr()

    rt.drain()

    points = metric_points(capsys.readouterr().out)
    assert all(reader(rt).get(VENDOR, f"{m}-{n}") for n in range(9))
    # Then the malformed one is quarantined as invalid_claim_check, decided once, never dead-lettered
    assert depth(rt, dlq_url(rt, VENDOR)) == 0, "the record's own malformed pointer was retried into the DLQ"
    assert total(points, "RecordsRetried") == 0
    assert [q["reason"] for q in quarantined(rt, VENDOR) if m in q["text"]] == ["invalid_claim_check"]


def test_a_claim_checked_body_that_is_not_utf8_is_quarantined_not_dead_lettered(
    rt: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    m = "utf-" + uuid.uuid4().hex[:8]
    # Given a pointer whose object exists with exactly the size and SHA-256 it states, but is not UTF-8
    check = _object(rt, f"deliveries/openweb/2026-11-30/{m}.json", b'{"event_id":"' + m.encode() + b'","x":"\xff"}')
    _put(rt, check.pointer(), _attrs(claim_check=check.uri))
    capsys.readouterr()

    rt.drain()

    points = metric_points(capsys.readouterr().out)
    # Then it is judged once and quarantined, never retried
    assert total(points, "RecordsRetried") == 0
    assert depth(rt, dlq_url(rt, VENDOR)) == 0
    assert len(quarantined(rt, VENDOR)) >= 1 and any(
        q.get("scope") == "body" and q["received_at"] for q in quarantined(rt, VENDOR) if m in q["text"]
    )


@pytest.mark.parametrize("wrong", ["sha256", "bytes"])
def test_a_claim_check_that_does_not_match_its_object_is_decided_once_not_retried(
    rt: LocalRuntime, wrong: str, capsys: pytest.CaptureFixture[str]
) -> None:
    m = "mis-" + uuid.uuid4().hex[:8]
    check = _object(rt, f"deliveries/openweb/2026-11-30/{m}.json", _event(m).encode())
    pointer = json.loads(check.pointer())
    pointer["claim_check"][wrong] = "0" * 64 if wrong == "sha256" else check.size + 1
    _put(rt, json.dumps(pointer), _attrs(claim_check=check.uri))
    capsys.readouterr()

    rt.drain()

    points = metric_points(capsys.readouterr().out)
    # S3 answered; the pointer is wrong and no retry can change that
    assert total(points, "RecordsRetried") == 0, "a permanent mismatch was retried MaxReceiveCount times"
    assert depth(rt, dlq_url(rt, VENDOR)) == 0


def test_a_claim_check_pointer_outside_the_payload_bucket_is_not_followed(rt: LocalRuntime) -> None:
    m = "oth-" + uuid.uuid4().hex[:8]
    other = f"not-the-payload-bucket-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name=rt.stack.region).create_bucket(Bucket=other)
    check = _object(rt, f"whatever/{m}.json", _event(m).encode(), bucket=other)
    payload_uri = f"s3://{rt.stack.buckets['PayloadBucket']}/deliveries/openweb/2026-11-30/{m}.json"
    # The claim_check attribute names the payload bucket; the pointer body names another bucket
    _put(rt, check.pointer(), _attrs(claim_check=payload_uri))

    rt.drain()

    # Then a pointer that is not one of ours is the record's own fault: quarantined, the body not read
    assert reader(rt).get(VENDOR, m) is None, "the consumer read and stored a body from a foreign bucket"
    assert [q["reason"] for q in quarantined(rt, VENDOR) if m in q["text"]] == ["invalid_claim_check"]


def test_a_quarantine_key_naming_another_events_item_does_not_release_it(rt: LocalRuntime) -> None:
    m = "qk-" + uuid.uuid4().hex[:8]
    # Given a quarantined event (no event_id)
    _put(rt, json.dumps({"type": "user-followed", "marker": m}), _attrs())
    rt.drain()
    (item,) = [q for q in quarantined(rt, VENDOR) if m in q["text"]]
    key = str(QuarantineKey(VENDOR, item["sk"]))

    # When an unrelated good event arrives carrying that item's key (an operator's send, a stale redrive)
    _put(rt, _event(f"{m}-other"), _attrs(quarantine_key=key))
    rt.drain()

    # Then the other event is stored, and the quarantined event, never stored, is still kept
    assert reader(rt).get(VENDOR, f"{m}-other") is not None
    assert [q for q in quarantined(rt, VENDOR) if m in q["text"] and "marker" in q["text"]], (
        "the quarantined event was deleted though it was never stored"
    )


def test_a_huge_route_attribute_does_not_dead_letter_a_bad_event(
    runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    m = "route-" + uuid.uuid4().hex[:8]
    headers = {f"h{n}": "x" * 250 for n in range(2000)}  # about 520 KB, within SQS's 1 MiB message
    route = json.dumps({"method": "POST", "path": "/webhooks/openweb", "headers": headers})
    runtime.sqs.send_message(
        QueueUrl=queue_url(runtime, VENDOR),
        MessageBody=json.dumps({"type": "user-followed", "marker": m}),  # no event_id: to be quarantined
        MessageAttributes=_attrs(route=route),
    )
    capsys.readouterr()

    runtime.drain()

    points = metric_points(capsys.readouterr().out)
    # Then the route keeps only the headers the ingest function keeps, and the event is quarantined once
    assert total(points, "RecordsRetried") == 0
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


def test_attribute_problems_are_counted_once_per_record_not_per_receive(
    rt: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a record with no correlation id, received a first and a second time (its first try failed)
    consumer = rt.functions["OpenWebConsumerFunction"]
    message = {
        "messageId": "m-" + uuid.uuid4().hex[:8],
        "receiptHandle": "r",
        "body": _event("ap-" + uuid.uuid4().hex[:8]),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1790000000000"},
        "messageAttributes": {
            name: {"stringValue": value["StringValue"], "dataType": "String"}
            for name, value in _attrs(correlation_id=None).items()
        },
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }
    capsys.readouterr()
    for receives in ("1", "2"):
        message["attributes"]["ApproximateReceiveCount"] = receives
        assert consumer.invoke({"Records": [message]}) == {"batchItemFailures": []}

    # Then the problem is counted once
    assert total(metric_points(capsys.readouterr().out), "AttributeProblems") == 1


def test_a_claim_check_quarantined_and_sent_back_comes_back_with_its_own_reason(rt: LocalRuntime) -> None:
    m = "back-" + uuid.uuid4().hex[:8]
    # Given a claim-checked record whose object is not UTF-8, quarantined as invalid_claim_check
    check = _object(rt, f"deliveries/openweb/2026-11-30/{m}.json", b'{"event_id":"' + m.encode() + b'","x":"\xff"}')
    _put(rt, check.pointer(), _attrs(claim_check=check.uri))
    rt.drain()
    (kept,) = [q for q in quarantined(rt, VENDOR) if m in q["text"]]
    assert (kept["reason"], kept["attempts"]) == ("invalid_claim_check", 1)

    # When it is sent back (intake dlq redrive) and fails again
    redrive(rt, VENDOR, QuarantineKey(VENDOR, kept["sk"]))
    rt.drain()

    # Then it is the same item, its reason still the claim check's, one more try
    (again,) = [q for q in quarantined(rt, VENDOR) if m in q["text"]]
    assert (again["sk"], again["reason"], again["attempts"]) == (kept["sk"], "invalid_claim_check", 2)


def test_a_claim_check_sent_back_once_its_object_is_right_is_stored_and_released(
    rt: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    m = "fixed-" + uuid.uuid4().hex[:8]
    # Given a claim-checked record quarantined because its object did not match the pointer
    good = _event(m).encode()
    check = _object(rt, f"deliveries/openweb/2026-11-30/{m}.json", good[:-1] + b" ")
    pointer = json.loads(check.pointer())
    pointer["claim_check"]["sha256"] = hashlib.sha256(good).hexdigest()
    _put(rt, json.dumps(pointer), _attrs(claim_check=check.uri))
    rt.drain()
    (kept,) = [q for q in quarantined(rt, VENDOR) if m in q["text"]]
    assert kept["reason"] == "invalid_claim_check"

    # When the object holds the bytes the pointer names again and the item is sent back
    _object(rt, check.key, good)
    redrive(rt, VENDOR, QuarantineKey(VENDOR, kept["sk"]))
    capsys.readouterr()
    rt.drain()

    # Then the event is stored and its quarantine item is gone (no redrive sends it again)
    assert m in stored_ids(rt, VENDOR)
    assert [q for q in quarantined(rt, VENDOR) if m in q["text"]] == []
    # And the event's write units include the release's: the per-event samples add up to the total
    points = metric_points(capsys.readouterr().out)
    assert total(points, "WriteUnitsPerEvent") == total(points, "WriteUnits") > 0


def test_a_route_with_a_lone_surrogate_escape_does_not_dead_letter_a_bad_event(
    rt: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    m = "surrogate-" + uuid.uuid4().hex[:8]
    # Given a hand-made record whose route's path and header hold a \ud800 escape (valid JSON, no UTF-8),
    # and whose one event is to be quarantined (no event_id)
    route = '{"method":"POST","path":"/webhooks/openweb\\ud800","headers":{"x-request-id":"r\\udfff"}}'
    _put(rt, json.dumps({"type": "user-followed", "marker": m}), _attrs(route=route))
    capsys.readouterr()

    rt.drain()

    # Then it is quarantined once with its reason, never retried into the DLQ
    points = metric_points(capsys.readouterr().out)
    assert total(points, "RecordsRetried") == 0
    assert depth(rt, dlq_url(rt, VENDOR)) == 0
    [item] = [q for q in quarantined(rt, VENDOR) if m in q["text"]]
    assert item["reason"] == "missing_id"
    assert item["route"]["path"] == "/webhooks/openweb\ufffd"

    # And sent back, it is the same item tried again, not a second one
    redrive(rt, VENDOR, QuarantineKey(VENDOR, item["sk"]))
    rt.drain()
    assert [q["attempts"] for q in quarantined(rt, VENDOR) if m in q["text"]] == [2]


@pytest.mark.parametrize("wrong", ["bytes", "utf-8"])
def test_a_claim_check_key_holding_an_address_is_not_logged_when_its_object_is_refused(
    rt: LocalRuntime, wrong: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a hand-made pointer whose key names someone (an address), to an object it does not match or
    # that is not UTF-8
    m = "addr-" + uuid.uuid4().hex[:8]
    data = b'{"event_id":"' + m.encode() + (b'","x":"\xff"}' if wrong == "utf-8" else b'"}')
    check = _object(rt, f"deliveries/openweb/2026-11-30/{m}-carol@example.com.json", data)
    pointer = json.loads(check.pointer())
    if wrong == "bytes":
        pointer["claim_check"]["bytes"] = check.size + 1
    _put(rt, json.dumps(pointer), _attrs(claim_check=check.uri))
    capsys.readouterr()

    rt.drain()

    # Then it is quarantined as invalid_claim_check (the item keeps the pointer), and no log line names the key
    out = capsys.readouterr()
    assert [q["reason"] for q in quarantined(rt, VENDOR) if m in q["text"]] == ["invalid_claim_check"]
    assert "carol@example.com" not in out.out + out.err
