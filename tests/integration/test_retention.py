"""RetentionDays: an event and its parts in S3 expire together, counted from when it was received.

The bucket's lifecycle rules expire only parts tagged with the stack's current RetentionDays
(tests/infrastructure/test_operations.py), so a later change of the parameter never deletes the
parts of events written under another value (those of events kept for ever, above all).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.provision import provision
from intake_cli.runtime import LocalRuntime
from intake_cli.samples import SAMPLES_DIR
from intake_cli.template import SamTemplate
from tests.helpers import notifications_body, send_body, table
from webhook_intake.store.items import RETENTION_TAG
from webhook_intake.store.wire import decode_item
from webhook_intake.times import from_iso

if TYPE_CHECKING:
    import boto3


def stack_with(retention_days: str, aws: boto3.session.Session, name: str, secrets: dict[str, Any]) -> LocalRuntime:
    return LocalRuntime(provision(SamTemplate(parameters={"RetentionDays": retention_days}), aws, name, secrets), aws)


def send_events_with_parts_in_s3(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    """A comment too large for an item (its body in S3) and a notification to 20,000 readers (their list in S3)."""
    comment = json.loads((SAMPLES_DIR / "fastcomments" / "comment-created.json").read_bytes())
    text = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(20_000))
    send_body(
        runtime,
        "fastcomments",
        {**comment, "id": "kept-1", "comment": text},
        secrets["fastcomments"],
        "comment-created",
    )
    many = json.loads(notifications_body("many-1"))
    many["notifications"][0]["recipients"] = [{"id": f"user-{n}"} for n in range(20_000)]
    send_body(runtime, "viafoura-notifications", many, secrets["viafoura-notifications"])
    runtime.drain()


def parts(aws: boto3.session.Session, runtime: LocalRuntime) -> dict[str, dict[str, str]]:
    """Every event part in the payload bucket (bodies/, recipients/), with its tags."""
    s3 = aws.client("s3")
    bucket = runtime.stack.buckets["PayloadBucket"]
    found = {}
    for prefix in ("bodies/", "recipients/"):
        for listed in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            tags = s3.get_object_tagging(Bucket=bucket, Key=listed["Key"])["TagSet"]
            found[listed["Key"]] = {tag["Key"]: tag["Value"] for tag in tags}
    return found


def events(aws: boto3.session.Session, runtime: LocalRuntime) -> list[dict[str, Any]]:
    scanned = aws.client("dynamodb").scan(TableName=table(runtime))["Items"]
    return [item for item in map(decode_item, scanned) if "event_type" in item]


@pytest.mark.parametrize("retention", ["30", "0"])
def test_an_events_parts_in_s3_carry_the_retention_they_were_written_under(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any], retention: str
) -> None:
    runtime = stack_with(retention, aws, stack_name, secrets)
    send_events_with_parts_in_s3(runtime, secrets)

    found = parts(aws, runtime)
    assert {key.split("/", 1)[0] for key in found} == {"bodies", "recipients"}
    expected = {RETENTION_TAG: retention} if retention != "0" else {}
    assert all(tags == expected for tags in found.values()), found


def test_an_event_expires_its_retention_after_it_was_received(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any]
) -> None:
    runtime = stack_with("30", aws, stack_name, secrets)
    send_events_with_parts_in_s3(runtime, secrets)
    stored = events(aws, runtime)
    assert len(stored) == 2
    for item in stored:
        received = from_iso(item["received_at"])
        assert received is not None
        assert item["expires_at"] == int(received.timestamp()) + 30 * 86_400
