"""Bodies over the SQS limit go through S3 (claim check); raw events over the item limit keep their raw part in S3."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tests.conftest import queue_messages
from tests.integration.test_pipeline import queue_url, send_body, stored
from webhook_intake.ingest.settings import DEFAULT_INLINE_MAX_BYTES, DEFAULT_MAX_BODY_BYTES

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
    [(DEFAULT_INLINE_MAX_BYTES, False), (DEFAULT_INLINE_MAX_BYTES + 1, True), (DEFAULT_MAX_BODY_BYTES, True)],
    ids=["at-sqs-limit", "one-byte-over-sqs-limit", "at-10-mib"],
)
def test_bodies_up_to_10_mib_are_accepted_and_stored_byte_for_byte(
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
    assert item["event_id"] == f"big-{size}"
    raw = item.get("raw")
    if raw is None:
        bucket, _, key = item["raw_ref"].removeprefix("s3://").partition("/")
        raw = boto3.client("s3", region_name=runtime.stack.region).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert json.loads(raw) == json.loads(body)


def test_one_byte_over_10_mib_is_413(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    response = send_body(runtime, "firstup", firstup_body("too-big", DEFAULT_MAX_BODY_BYTES + 1), secrets["firstup"])
    assert response.status == 413
    assert response.json()["error"] == "payload_too_large"
    assert stored(runtime) == []


def test_a_raw_event_over_the_item_limit_keeps_its_raw_part_in_s3(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    comment = {"id": "huge", "urlId": "page", "comment": "short text", "commentHTML": "<p>" + "y" * 500_000 + "</p>"}
    body = json.dumps(comment).encode()
    assert send_body(runtime, "fastcomments", body, secrets["fastcomments"], "comment-created").status == 200
    runtime.drain()
    (item,) = stored(runtime)
    assert "raw" not in item
    assert item["raw_ref"].startswith(f"s3://{runtime.stack.buckets['PayloadBucket']}/raw/fastcomments/")
    assert item["content"]["text"] == "short text"
    bucket, _, key = item["raw_ref"].removeprefix("s3://").partition("/")
    raw = boto3.client("s3", region_name=runtime.stack.region).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert json.loads(raw) == comment
