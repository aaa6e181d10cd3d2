"""RetentionDays: an event, its parts in S3 and the delivery body it came in expire together.

The bucket's lifecycle rules expire only parts tagged with the stack's current RetentionDays
(tests/infrastructure/test_operations.py), so a later change of the parameter never deletes the
parts of events written under another value (those of events kept for ever, above all).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.samples import SAMPLES_DIR
from tests.helpers import (
    cli,
    cli_json,
    notifications_body,
    publish_outputs,
    send,
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


def expire(aws: boto3.session.Session, runtime: LocalRuntime, pk: str, at: int | None = None) -> None:
    """The event ``pk``'s retention ending ``at`` (epoch seconds), by default a minute ago: past its retention
    (DynamoDB deletes it only within days)."""
    ends = int(time.time()) - 60 if at is None else at
    aws.client("dynamodb").update_item(
        TableName=table(runtime),
        Key={"pk": {"S": pk}, "sk": {"S": "event"}},
        UpdateExpression="SET expires_at = :ends",
        ConditionExpression="attribute_exists(expires_at)",
        ExpressionAttributeValues={":ends": {"N": str(ends)}},
    )


def test_an_event_past_its_retention_is_no_longer_read_as_stored(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any]
) -> None:
    # Given two notifications stored under RetentionDays=30, one of them now past its retention
    runtime = stack_with({"RetentionDays": "30"}, aws, stack_name, secrets)
    publish_outputs(aws, runtime)
    vendor = "viafoura-notifications"
    assert send_body(runtime, vendor, notifications_body("n-gone", "n-live"), secrets[vendor]).status == 204
    runtime.drain()
    expire(aws, runtime, f"{vendor}#n-gone")
    stack = runtime.stack.name

    # Then reads list only the live one, by the feed and by a full scan, and one by id finds no expired event
    assert [event["event_id"] for event in cli_json("events", "--stack", stack, "--json")] == ["n-live"]
    assert [event["event_id"] for event in cli_json("events", "--stack", stack, "--scan", "--json")] == ["n-live"]
    code, output = cli("events", "--stack", stack, "--id", f"{vendor}#n-gone")
    assert code == 1
    assert f"no event {vendor}#n-gone" in output
    assert cli_json("events", "--stack", stack, "--id", f"{vendor}#n-live", "--json")[0]["event_id"] == "n-live"

    # And a replay plans nothing for the expired event
    (plan,) = cli_json("replay", "--stack", stack, "--since", "1h", "--dry-run", "--json")
    assert plan["plan"]["matched"] == 1, plan


def test_a_comments_state_rests_on_its_live_events_only(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any]
) -> None:
    # Given a FastComments comment created then edited, stored under RetentionDays=30
    runtime = stack_with({"RetentionDays": "30"}, aws, stack_name, secrets)
    publish_outputs(aws, runtime)
    for sample in ("comment-created", "comment-updated"):
        send(runtime, "fastcomments", SAMPLES_DIR / "fastcomments" / f"{sample}.json", secrets)
        runtime.drain()
    stored = {item["event_type"]: item["pk"] for item in events(aws, runtime)}
    assert set(stored) == {"comment.created", "comment.updated"}
    stack = runtime.stack.name

    # When the edit is past its retention (a retention shortened in between), the creation not
    expire(aws, runtime, stored["comment.updated"])

    # Then the state is the creation's, with its text, and lists the live event alone
    (state,) = cli_json("state", "fastcomments", "nK3vQ8zTfR", "--stack", stack, "--json")
    assert state["status"] == "created"
    assert state["text"] == "Love the new playground plans, but where will people park?"
    assert [event["event_type"] for event in state["events"]] == ["comment.created"]

    # And once every event of the comment is past its retention, there is no state to read
    expire(aws, runtime, stored["comment.created"])
    code, output = cli("state", "fastcomments", "nK3vQ8zTfR", "--stack", stack)
    assert code == 1
    assert "no state for fastcomments nK3vQ8zTfR" in output


@pytest.mark.parametrize("edited", [False, True], ids=["the same event", "edited"])
def test_an_event_sent_again_after_its_retention_is_stored_anew(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any], edited: bool
) -> None:
    # Given a notification stored under RetentionDays=30, now past its retention (not yet deleted by TTL)
    runtime = stack_with({"RetentionDays": "30"}, aws, stack_name, secrets)
    publish_outputs(aws, runtime)
    vendor = "viafoura-notifications"
    assert send_body(runtime, vendor, notifications_body("n-again"), secrets[vendor]).status == 204
    runtime.drain()
    expire(aws, runtime, f"{vendor}#n-again")

    # When the vendor sends it again (a resend of its past deliveries), as it was or edited
    body = json.loads(notifications_body("n-again", request_uuid="r-2"))
    if edited:
        body["notifications"][0]["time"] += 1000
    assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
    runtime.drain()

    # Then it is stored as received now, to be kept its retention from now on: listed, and nothing quarantined
    (listed,) = cli_json("events", "--stack", runtime.stack.name, "--json")
    assert listed["event_id"] == "n-again"
    assert listed["correlation_id"] == "r-2"
    (item,) = events(aws, runtime)
    received = from_iso(item["received_at"])
    assert received is not None
    assert item["expires_at"] == int(received.timestamp()) + 30 * 86_400
    assert cli_json("dlq", "list", "--stack", runtime.stack.name, "--json") == []


def test_a_copy_received_before_the_stored_copys_retention_ended_is_judged_against_it_however_late(
    aws: boto3.session.Session, stack_name: str, secrets: dict[str, Any]
) -> None:
    # Given a notification stored under RetentionDays=30, and an edited copy of it received while the stored
    # copy was still within its retention, still on the queue when that retention ends
    runtime = stack_with({"RetentionDays": "30"}, aws, stack_name, secrets)
    publish_outputs(aws, runtime)
    vendor = "viafoura-notifications"
    assert send_body(runtime, vendor, notifications_body("n-late"), secrets[vendor]).status == 204
    runtime.drain()
    body = json.loads(notifications_body("n-late", request_uuid="r-late"))
    body["notifications"][0]["time"] += 1000
    assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
    ends = int(time.time()) + 1
    expire(aws, runtime, f"{vendor}#n-late", at=ends)
    while time.time() < ends + 1:
        time.sleep(0.2)

    # When the copy is consumed after that retention ended
    runtime.drain()

    # Then it is what it was when received: a conflict with the copy stored then, kept with its reason (as a
    # copy consumed at once would be), and the stored copy stands
    (kept,) = cli_json("dlq", "list", "--stack", runtime.stack.name, "--json")
    assert kept["reason"] == "conflict"
    (item,) = events(aws, runtime)
    assert item["correlation_id"] != "r-late"
