"""RetentionDays: an event, its parts in S3 and the delivery body it came in expire together.

The bucket's lifecycle rules expire only parts tagged with the stack's current RetentionDays
(tests/infrastructure/test_operations.py), so a later change of the parameter never deletes the
parts of events written under another value (those of events kept for ever, above all).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import (
    cli_json,
    notifications_body,
    publish_outputs,
    send_body,
    send_events_with_parts_in_s3,
    stack_with,
    table,
)
from webhook_intake.payloads import RETENTION_TAG
from webhook_intake.store.wire import decode_item
from webhook_intake.times import from_iso

if TYPE_CHECKING:
    import boto3

    from intake_cli.runtime import LocalRuntime


def parts(aws: boto3.session.Session, runtime: LocalRuntime) -> dict[str, dict[str, str]]:
    """Every event part and claim-checked delivery body in the payload bucket, with its tags."""
    s3 = aws.client("s3")
    bucket = runtime.stack.buckets["PayloadBucket"]
    found = {}
    for prefix in ("bodies/", "recipients/", "deliveries/"):
        for listed in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            tags = s3.get_object_tagging(Bucket=bucket, Key=listed["Key"])["TagSet"]
            found[listed["Key"]] = {tag["Key"]: tag["Value"] for tag in tags}
    return found


def tags_under(retention: str) -> dict[str, str]:
    """What an object written under ``RetentionDays=retention`` is tagged with (nothing when kept for ever)."""
    return {RETENTION_TAG: retention} if retention != "0" else {}


def events(aws: boto3.session.Session, runtime: LocalRuntime) -> list[dict[str, Any]]:
    scanned = aws.client("dynamodb").scan(TableName=table(runtime))["Items"]
    return [item for item in map(decode_item, scanned) if "event_type" in item]


@pytest.mark.parametrize("retention", ["30", "0"])
def test_an_events_parts_in_s3_carry_the_retention_they_were_written_under(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any], retention: str
) -> None:
    runtime = stack_with({"RetentionDays": retention}, aws, stack_name, secrets)
    send_events_with_parts_in_s3(runtime, secrets)
    runtime.drain()

    found = parts(aws, runtime)
    assert {key.split("/", 1)[0] for key in found} == {"bodies", "recipients", "deliveries"}
    assert all(tags == tags_under(retention) for tags in found.values()), found


def test_an_event_expires_its_retention_after_it_was_received(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any]
) -> None:
    runtime = stack_with({"RetentionDays": "30"}, aws, stack_name, secrets)
    send_events_with_parts_in_s3(runtime, secrets)
    runtime.drain()
    stored = events(aws, runtime)
    assert len(stored) == 2
    for item in stored:
        received = from_iso(item["received_at"])
        assert received is not None
        assert item["expires_at"] == int(received.timestamp()) + 30 * 86_400


@pytest.mark.parametrize("retention", ["30", "0"])
def test_a_body_the_console_sends_back_through_s3_carries_the_stacks_retention(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any], retention: str
) -> None:
    # Given a quarantined notification holding a character SQS refuses (so it goes back through S3)
    runtime = stack_with({"RetentionDays": retention}, aws, stack_name, secrets)
    publish_outputs(aws, runtime)
    good, poison = {"notification_uuid": "n-1", "notification_type": "follow"}, {"note": "\ufffe"}
    body = {"request_uuid": "r-1", "notifications": [good, poison]}
    raw = json.dumps(body, ensure_ascii=False).encode()  # the character itself, not its escape
    assert send_body(runtime, "viafoura-notifications", raw, secrets["viafoura-notifications"]).status == 204
    runtime.drain()
    for key in parts(aws, runtime):  # the delivery went through S3 too: only the resent body is looked at
        aws.client("s3").delete_object(Bucket=runtime.stack.buckets["PayloadBucket"], Key=key)

    # When the operator sends it back
    (done,) = cli_json("dlq", "redrive", "--stack", runtime.stack.name, "--vendor", "viafoura-notifications", "--json")
    assert done["count"] == 1

    # Then the body it put in S3 expires with the stack's events, as one the ingest function put there
    (tags,) = [found for key, found in parts(aws, runtime).items() if key.startswith("deliveries/")]
    assert tags == tags_under(retention)


@pytest.mark.parametrize(("before", "after"), [("0", "30"), ("30", "7")], ids=["kept for ever, then 30", "30, then 7"])
def test_a_part_two_events_share_keeps_the_retention_each_event_was_written_under(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any], before: str, after: str
) -> None:
    # Given a notification to 30 readers (their list in S3) stored under one RetentionDays
    runtime = stack_with({"RetentionDays": before}, aws, stack_name, secrets)
    vendor = "viafoura-notifications"
    readers = [{"id": f"reader-{n}"} for n in range(30)]

    def notify(uuid: str) -> None:
        body = json.loads(notifications_body(uuid))
        body["notifications"][0]["recipients"] = readers
        assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
        runtime.drain()

    notify("shared-1")

    # When the stack's RetentionDays changes (a deploy), and another notification to the same readers comes
    consumer = runtime.functions["ViafouraNotificationsConsumerFunction"]
    consumer.environment["RETENTION_DAYS"] = after
    consumer._handler = None  # a new execution environment reads the new value
    notify("shared-2")

    # Then each event's list expires with that event: the one kept under the first value is not cut short
    found = parts(aws, runtime)
    refs = {item["pk"]: item["recipients_ref"].split("/", 3)[3] for item in events(aws, runtime)}
    assert found[refs[f"{vendor}#shared-1"]] == tags_under(before)
    assert found[refs[f"{vendor}#shared-2"]] == tags_under(after)


def test_a_part_keyed_before_parts_carried_their_retention_is_no_change_to_a_replay(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any]
) -> None:
    # Given a notification to 30 readers (their list in S3) stored under RetentionDays=30 by the code before
    # parts were keyed with their retention: the list under its hash alone
    runtime = stack_with({"RetentionDays": "30"}, aws, stack_name, secrets)
    publish_outputs(aws, runtime)
    vendor = "viafoura-notifications"
    body = json.loads(notifications_body("before-1"))
    body["notifications"][0]["recipients"] = [{"id": f"reader-{n}"} for n in range(30)]
    assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
    runtime.drain()
    (stored,) = events(aws, runtime)
    bucket = runtime.stack.buckets["PayloadBucket"]
    key = stored["recipients_ref"].split("/", 3)[3]
    assert key.endswith(".30d.json")
    old_key = key.removesuffix(".30d.json") + ".json"
    s3 = aws.client("s3")
    s3.copy_object(Bucket=bucket, Key=old_key, CopySource={"Bucket": bucket, "Key": key})
    aws.client("dynamodb").update_item(
        TableName=table(runtime),
        Key={"pk": {"S": stored["pk"]}, "sk": {"S": stored["sk"]}},
        UpdateExpression="SET recipients_ref = :old",
        ExpressionAttributeValues={":old": {"S": f"s3://{bucket}/{old_key}"}},
    )

    # When a replay is planned with no mapping changed
    (plan,) = cli_json("replay", "--stack", runtime.stack.name, "--since", "1h", "--dry-run", "--json")

    # Then the event is unchanged: the same list under the key it was written to is no change of the mapping's
    assert plan["plan"]["would_change"] == 0, plan
    assert plan["plan"]["unchanged"] == 1
