"""`intake replay`: stored events normalized again from their raw bytes, identity and times untouched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from intake_cli import replay as replay_module
from intake_cli.event_log import Window
from intake_cli.samples import SAMPLES_DIR
from intake_cli.target import Target
from tests.helpers import (
    at_a_terminal,
    cli,
    cli_json,
    keys_read,
    mapping_fails_on,
    publish_outputs,
    requests_of,
    send,
    send_body,
    table,
    undocumented,
)
from webhook_intake.consumer.normalizing import MappingError
from webhook_intake.delivery import TEST_HEADER
from webhook_intake.store.events import EventStore
from webhook_intake.store.feed import PendingFeed
from webhook_intake.store.reads import EventReader, FeedFilter
from webhook_intake.store.schema import event_key
from webhook_intake.store.wire import decode_item, encode_item
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Callable

    from intake_cli.runtime import LocalRuntime

LIKE = ("openweb", "99225ef424a1a2632cb1aa065931ec288d341cf7")


def dynamodb(runtime: LocalRuntime) -> Any:
    """A client on the stack's DynamoDB (inside the test's moto mock)."""
    return boto3.client("dynamodb", region_name=runtime.stack.region)


def wire_key(vendor: str, event_id: str) -> dict[str, Any]:
    """The event's table key, as DynamoDB's wire format."""
    return encode_item(event_key(vendor, event_id))


def item(runtime: LocalRuntime, vendor: str, event_id: str) -> dict[str, Any]:
    return decode_item(dynamodb(runtime).get_item(TableName=table(runtime), Key=wire_key(vendor, event_id))["Item"])


def as_an_older_mapping_stored_it(runtime: LocalRuntime, vendor: str, event_id: str) -> None:
    """The event's type and content id as a mapping before a fix would have written them."""
    dynamodb(runtime).update_item(
        TableName=table(runtime),
        Key=wire_key(vendor, event_id),
        UpdateExpression="SET event_type = :old, content_id = :wrong",
        ExpressionAttributeValues={":old": {"S": "other"}, ":wrong": {"S": "wrong-id"}},
    )


def two_stored_under_an_older_mapping(stack: str, runtime: LocalRuntime) -> dict[tuple[str, str], dict[str, Any]]:
    """The OpenWeb like and the FastComments update rewritten as an older mapping left them: each as the mapping
    of today stored it, by key."""
    (update,) = [e for e in cli_json("events", "--stack", stack, "--json") if e["vendor"] == "fastcomments"]
    before = {key: item(runtime, *key) for key in (LIKE, ("fastcomments", update["event_id"]))}
    for key in before:
        as_an_older_mapping_stored_it(runtime, *key)
    return before


@pytest.fixture
def stack(aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]) -> str:
    """A stack holding an OpenWeb like, a FastComments update and a Firstup post sent as a test."""
    publish_outputs(aws, runtime)
    send(runtime, "openweb", SAMPLES_DIR / "openweb" / "liked-message.json", secrets)
    body = (SAMPLES_DIR / "fastcomments" / "comment-updated.json").read_bytes()
    send_body(runtime, "fastcomments", body, secrets["fastcomments"], "comment-updated")
    post = {"id": "replay-test", "name": "content_published", "timestamp": "2026-11-01T10:00:00Z"}
    send_body(runtime, "firstup", post, secrets["firstup"], headers={TEST_HEADER: "true"})
    runtime.drain()
    return runtime.stack.name


def test_a_mapping_fix_reaches_a_stored_event_and_nothing_else_changes(stack: str, runtime: LocalRuntime) -> None:
    # Given an event stored under an older mapping (its type and content id wrong), the rest as the mapping makes it
    vendor, event_id = LIKE
    before = item(runtime, *LIKE)
    as_an_older_mapping_stored_it(runtime, vendor, event_id)

    # When a replay is planned, then applied
    (plan,) = cli_json("replay", "--stack", stack, "--since", "1h", "--tests", "--dry-run", "--json")
    assert item(runtime, *LIKE)["event_type"] == "other"
    lines = cli_json("replay", "--stack", stack, "--since", "1h", "--tests", "--yes", "--json")

    # Then the plan counted it alone, and the item is again exactly what the mapping makes of it
    assert plan["plan"]["matched"] == 3
    assert plan["plan"]["would_change"] == 1
    assert plan["plan"]["type_changes"] == {"other -> comment.liked": 1}
    assert set(plan["plan"]["fields_changed"]) == {"event_type", "content_id"}
    assert lines[-1]["rewritten"] == 1
    assert item(runtime, *LIKE) == before


def test_a_second_replay_writes_nothing(stack: str, runtime: LocalRuntime) -> None:
    as_an_older_mapping_stored_it(runtime, *LIKE)
    cli_json("replay", "--stack", stack, "--since", "1h", "--yes", "--json")
    (again,) = cli_json("replay", "--stack", stack, "--since", "1h", "--tests", "--yes", "--json")
    assert again["plan"]["would_change"] == 0
    assert again["plan"]["unchanged"] == 3


def ctrl_c_at_the_second_rewrite(monkeypatch: pytest.MonkeyPatch) -> Callable[..., bool]:
    """Ctrl-C as replay writes its second rewrite; the writer as it was, to put back."""
    write = replay_module.Replayer._write
    calls: list[int] = []

    def interrupted(self: Any, *args: Any) -> bool:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return write(self, *args)

    monkeypatch.setattr(replay_module.Replayer, "_write", interrupted)
    return write


def test_ctrl_c_while_rewriting_says_how_many_were_done_and_a_second_run_finishes_the_rest(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two events stored under an older mapping
    before = two_stored_under_an_older_mapping(stack, runtime)

    # When Ctrl-C comes as the second rewrite is written
    write = ctrl_c_at_the_second_rewrite(monkeypatch)
    code, text = cli("replay", "--stack", stack, "--since", "1h", "--yes")

    # Then it says how far it got and that running it again is safe, and exits 130
    assert code == 130, text
    assert (
        "stopped: rewrote 1 of 2 events before Ctrl-C; running the same replay again is safe "
        "(it rewrites only what still differs)"
    ) in text
    assert "Traceback" not in text

    # And a second run rewrites the one left, leaving both as the mapping makes them
    monkeypatch.setattr(replay_module.Replayer, "_write", write)
    assert cli_json("replay", "--stack", stack, "--since", "1h", "--yes", "--json")[-1]["rewritten"] == 1
    assert {key: item(runtime, *key) for key in before} == before


def test_a_script_that_stops_a_replay_part_way_gets_the_result_line_of_what_was_rewritten(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two events stored under an older mapping, and a replay with --json stopped as its second rewrite is written
    two_stored_under_an_older_mapping(stack, runtime)
    ctrl_c_at_the_second_rewrite(monkeypatch)
    code, text = cli("replay", "--stack", stack, "--since", "1h", "--yes", "--json")

    # Then it still exits 130, and its result line says the one rewrite done
    assert code == 130, text
    results = [json.loads(line) for line in text.splitlines() if line.startswith('{"rewritten"')]
    assert results == [{"rewritten": 1, "unchanged": 0, "gone": 0, "refused": []}], text


def test_identity_receive_time_ids_test_mark_and_times_stay_as_stored(stack: str, runtime: LocalRuntime) -> None:
    # Given a FastComments update dated by its signing time (a header the item does not keep) and a test event
    stored = {
        entry["vendor"]: entry
        for entry in cli_json("events", "--stack", stack, "--tests", "--json")
        if entry["source_type"] in ("comment-updated", "content_published")
    }
    keys = [(vendor, entry["event_id"]) for vendor, entry in stored.items()]
    before = {key: item(runtime, *key) for key in keys}
    for key in keys:
        as_an_older_mapping_stored_it(runtime, *key)

    # When they are replayed
    cli_json("replay", "--stack", stack, "--since", "1h", "--tests", "--yes", "--json")

    # Then each item is as first stored: same key, received_at, correlation id, test mark, occurred_at
    for key in keys:
        after = item(runtime, *key)
        assert after == before[key], key
    assert before[("firstup", stored["firstup"]["event_id"])]["test"] is True


def test_a_rewrite_dynamodb_refuses_says_how_many_were_done_and_a_second_run_finishes_the_rest(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two events stored under an older mapping
    before = two_stored_under_an_older_mapping(stack, runtime)

    # When DynamoDB throttles the second rewrite past botocore's retries
    write = replay_module.Replayer._write
    calls: list[int] = []

    def throttle(**_: Any) -> None:
        message = "The level of configured provisioned throughput for the table was exceeded."
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": message}}, "PutItem")

    def throttled(self: Any, *args: Any) -> bool:
        calls.append(1)
        if len(calls) != 2:
            return write(self, *args)
        self.dynamodb.meta.events.register_first("before-send.dynamodb.PutItem", throttle)
        try:
            return write(self, *args)
        finally:
            self.dynamodb.meta.events.unregister("before-send.dynamodb.PutItem", throttle)

    monkeypatch.setattr(replay_module.Replayer, "_write", throttled)
    code, text = cli("replay", "--stack", stack, "--since", "1h", "--yes", "--json")

    # Then it says why, as every command words an AWS error (code, then message), how far it got and that running it
    # again is safe, and exits 1
    said = " ".join(text.split())
    assert code == 1, text
    assert (
        "error: PutItem failed: ProvisionedThroughputExceededException: The level of configured provisioned throughput"
        " for the table was exceeded. (rewrote 1 of 2" in said
    )
    assert "rewrote 1 of 2 events before it; running the same replay again is safe" in said, said
    assert "Traceback" not in text
    # and a script still gets the plan and the result line of what was rewritten before the error
    plan, result = [json.loads(line) for line in text.splitlines() if line.startswith(('{"plan"', '{"rewritten"'))]
    assert (plan["plan"]["would_change"], result["rewritten"], result["unchanged"]) == (2, 1, 0)

    # And a second run rewrites the one left, leaving both as the mapping makes them
    assert cli_json("replay", "--stack", stack, "--since", "1h", "--yes", "--json")[-1]["rewritten"] == 1
    assert {key: item(runtime, *key) for key in before} == before


def test_a_real_event_the_mapping_now_reads_as_a_test_stays_real(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a FastComments delete of an id alone (the current mapping reads it as the admin's test
    # payload) that an older mapping stored as a real delete
    send_body(runtime, "fastcomments", {"id": "c-real"}, secrets["fastcomments"], "comment-deleted")
    runtime.drain()
    (stored,) = [
        e for e in cli_json("events", "--stack", stack, "--tests", "--json") if e.get("content_id") == "c-real"
    ]
    key = ("fastcomments", stored["event_id"])
    dynamodb(runtime).update_item(TableName=table(runtime), Key=wire_key(*key), UpdateExpression="REMOVE test")

    # When the events are replayed
    cli_json("replay", "--stack", stack, "--since", "1h", "--tests", "--yes", "--json")

    # Then its test mark stays as stored: it is still a real delete, the comment's state
    assert "test" not in item(runtime, *key)
    code, text = cli("state", "fastcomments", "c-real", "--stack", stack, "--json")
    assert code == 0, text
    assert json.loads(text)["deleted"] is True


def test_the_plan_comes_first_and_without_yes_nothing_is_written(stack: str, runtime: LocalRuntime) -> None:
    as_an_older_mapping_stored_it(runtime, *LIKE)
    code, output = cli("replay", "--stack", stack, "--since", "1h")
    text = " ".join(output.split())
    assert code == 1
    assert "1 would change" in text
    assert "other -> comment.liked: 1" in text
    assert "add --yes" in text
    assert item(runtime, *LIKE)["event_type"] == "other"


def test_the_plan_of_one_event_speaks_of_one(stack: str, runtime: LocalRuntime) -> None:
    # Given the one OpenWeb event stored as the mapping makes it
    # When a replay of OpenWeb's events is planned
    code, output = cli("replay", "--stack", stack, "--since", "1h", "--vendor", "openweb", "--dry-run")

    # Then its line counts one event in the singular
    text = " ".join(output.split())
    assert code == 0
    assert " UTC matches; 0 would change, 1 is as the mapping makes it now, 0 cannot be replayed" in text
    assert text.startswith("1 event received ")


def test_the_plan_reads_each_event_once(stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an event a fix would change, and the DynamoDB requests of the replay counted
    as_an_older_mapping_stored_it(runtime, *LIKE)
    requests = requests_of(monkeypatch, "dynamodb")

    # When a replay is planned
    code, output = cli("replay", "--stack", stack, "--since", "1h", "--tests", "--dry-run", "--json")

    # Then it found the change, each event's item read once, by the read that checked its feed entry
    assert code == 0, output
    assert json.loads(output.splitlines()[0])["plan"]["would_change"] == 1
    asked = keys_read(requests)
    assert len(asked) == len(set(asked)) == 3
    assert [operation for operation, _ in requests].count("BatchGetItem") == 1


def test_a_replayed_event_is_found_in_the_feed_by_its_new_values_only(stack: str, runtime: LocalRuntime) -> None:
    # Given a like stored as an older mapping typed it, its feed entry written then
    as_an_older_mapping_stored_it(runtime, *LIKE)
    feed = PendingFeed()
    feed.add(item(runtime, *LIKE))
    EventStore(table(runtime), dynamodb_client=dynamodb(runtime)).put_feed(feed)

    def listed(**where: Any) -> list[str]:
        entries = cli_json("events", "--stack", stack, "--since", "1h", "--json", *where_args(**where))
        return [entry["event_id"] for entry in entries]

    assert listed(type="comment.liked") == []
    assert listed(type="other") == [LIKE[1]]

    # When replayed
    cli_json("replay", "--stack", stack, "--since", "1h", "--yes", "--json")

    # Then it is found by its type and content now, not by the old ones, and listed once
    assert listed(type="comment.liked") == [LIKE[1]]
    assert listed(type="other") == []
    assert listed(content="wrong-id") == []
    assert listed(vendor="openweb") == [LIKE[1]]


def where_args(**where: str) -> list[str]:
    return [part for name, value in where.items() for part in (f"--{name}", value)]


def test_an_event_whose_id_would_change_is_left_as_stored(stack: str, runtime: LocalRuntime) -> None:
    # Given a stored event whose raw bytes now give another id (its key says one thing, its bytes another)
    cli_json("events", "--stack", stack)  # also checks the plain (table) listing exits 0: cli_json asserts it
    client = dynamodb(runtime)
    stored = client.get_item(TableName=table(runtime), Key=wire_key(*LIKE))["Item"]
    stored["pk"] = {"S": "openweb#someone-else"}
    client.put_item(TableName=table(runtime), Item=stored)
    feed = PendingFeed()  # and its feed entry, as the consumer writes one for every event it stores
    feed.add(decode_item(stored))
    EventStore(table(runtime), dynamodb_client=client).put_feed(feed)

    # When replayed
    (plan,) = cli_json("replay", "--stack", stack, "--since", "1h", "--vendor", "openweb", "--dry-run", "--json")

    # Then it is refused, saying why
    assert plan["plan"]["refused"] == 1
    ((vendor, event_id, why),) = plan["refused"]
    assert (vendor, event_id) == ("openweb", "someone-else")
    assert "never changes an event's identity" in why


def test_an_event_the_mapping_now_rejects_is_left_as_stored_saying_why(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored like, and a mapping changed since so that it now rejects it
    as_an_older_mapping_stored_it(runtime, *LIKE)
    before = item(runtime, *LIKE)
    mapping_fails_on(monkeypatch, "openweb", lambda _: True, MappingError("'liker' is missing"))

    # When replayed
    code, text = cli("replay", "--stack", stack, "--since", "1h", "--vendor", "openweb", "--dry-run")
    (done,) = cli_json("replay", "--stack", stack, "--since", "1h", "--vendor", "openweb", "--yes", "--json")

    # Then it is refused with the mapping's reason, and the stored event is untouched (never dropped, never quarantined)
    assert code == 0, text
    assert "1 cannot be replayed" in text
    assert "the normalizer now rejects it: invalid_event: 'liker' is missing" in " ".join(text.split())
    assert (done["plan"]["refused"], done["plan"]["would_change"]) == (1, 0)
    assert done["refused"] == [[*LIKE, "the normalizer now rejects it: invalid_event: 'liker' is missing"]]
    assert item(runtime, *LIKE) == before


def test_an_event_whose_body_is_in_s3_is_replayed_from_there(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a FastComments comment too large for an item (its body in S3), stored under an older mapping
    html = "".join(f"<p>{n:08d}</p>" for n in range(60_000))
    comment = {"id": "huge", "urlId": "page", "comment": "short text", "commentHTML": html}
    send_body(runtime, "fastcomments", comment, secrets["fastcomments"], "comment-created")
    runtime.drain()
    (entry,) = [e for e in cli_json("events", "--stack", stack, "--json") if e["source_type"] == "comment-created"]
    key = ("fastcomments", entry["event_id"])
    before = item(runtime, *key)
    assert "body_ref" in before
    as_an_older_mapping_stored_it(runtime, *key)

    # When replayed
    lines = cli_json("replay", "--stack", stack, "--since", "1h", "--vendor", "fastcomments", "--yes", "--json")

    # Then the raw bytes were read from S3 and the item is again what the mapping makes of them
    assert (lines[0]["plan"]["refused"], lines[0]["plan"]["would_change"]) == (0, 1)
    assert lines[-1]["rewritten"] == 1
    assert item(runtime, *key) == before


def test_an_event_whose_id_is_its_deliverys_is_replayed_under_the_same_id(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a Firstup event in the older envelope, which names no id: its delivery's id is its own
    legacy = {"event": "content.published", "timestamp": "2026-11-01T10:00:00Z", "data": {"content_id": 7}}
    send_body(runtime, "firstup", legacy, secrets["firstup"], headers={"x-socialchorus-delivery": "dlv-9"})
    runtime.drain()
    (stored,) = [e for e in cli_json("events", "--stack", stack, "--json") if e["event_id"].startswith("dlv-9:")]

    # When everything is replayed
    (plan,) = cli_json("replay", "--stack", stack, "--since", "1h", "--vendor", "firstup", "--dry-run", "--json")

    # Then it reads back under the id it has: nothing to change, nothing refused
    assert (plan["plan"]["refused"], plan["plan"]["would_change"]) == (0, 0)
    assert stored["event_type"] == "content.published"


def test_a_copy_that_took_the_events_place_while_replay_worked_is_left_as_it_is(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an event stored under an older mapping
    as_an_older_mapping_stored_it(runtime, *LIKE)
    write = replay_module.Replayer._write

    def another_copy_lands_first(self: Any, read: dict[str, Any], prepared: Any) -> bool:
        # The consumer puts another copy in its place (an earlier copy, the vendor's over a test one)
        dynamodb(runtime).update_item(
            TableName=table(runtime),
            Key=wire_key(*LIKE),
            UpdateExpression="SET received_at = :earlier, correlation_id = :other",
            ExpressionAttributeValues={":earlier": {"S": "2026-01-01T00:00:00.000Z"}, ":other": {"S": "other-copy"}},
        )
        return write(self, read, prepared)

    # When replay rewrites it, and that copy lands between the read and the write
    monkeypatch.setattr(replay_module.Replayer, "_write", another_copy_lands_first)
    summary = cli_json("replay", "--stack", stack, "--since", "1h", "--yes", "--json")[-1]

    # Then the copy that landed stays, and replay says it found the event no longer as it read it
    stored_now = item(runtime, *LIKE)
    assert (stored_now["received_at"], stored_now["correlation_id"]) == ("2026-01-01T00:00:00.000Z", "other-copy")
    assert (summary["rewritten"], summary["gone"]) == (0, 1)


def test_the_rewrite_shows_its_progress_on_standard_error(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_an_older_mapping_stored_it(runtime, *LIKE)
    monkeypatch.setenv("FORCE_COLOR", "1")  # an operator at a terminal
    code, text = cli("replay", "--stack", stack, "--since", "1h", "--yes")
    assert code == 0, text
    # (its last frame: a terminal is shown it as it moves)
    bar = [line for line in text.splitlines() if "Rewriting at most 25 a second" in line][-1]
    assert "1/1" in bar
    assert "rewrote 1 event (" in text


def test_a_rewrite_from_a_script_leaves_nothing_on_a_standard_error_that_is_no_terminal(
    stack: str, runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given an event stored under an older mapping, and a job whose standard error is mailed or logged
    as_an_older_mapping_stored_it(runtime, *LIKE)
    capsys.readouterr()

    # When the job replays it
    with pytest.raises(SystemExit) as exited:
        app(["replay", "--stack", stack, "--since", "1h", "--yes", "--json"], prog_name="intake")

    # Then standard error holds nothing (the bar is for a terminal) and standard output the plan and the result
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads([line for line in out.splitlines() if '"rewritten"' in line][-1])["rewritten"] == 1


def test_the_plan_reports_its_progress_batch_by_batch(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batches of one event read at a time, and one event a fix would change
    monkeypatch.setattr(replay_module, "BATCH_GET_MAX", 1)
    as_an_older_mapping_stored_it(runtime, *LIKE)
    target = Target(
        "local", runtime.stack.region, "", table(runtime), {}, payload_bucket=runtime.stack.buckets["PayloadBucket"]
    )
    now = datetime.now(UTC)
    heard: list[tuple[int, int]] = []

    # When the plan is made
    plan = replay_module.Replayer(target).plan(
        FeedFilter(tests=True),
        Window(now - timedelta(hours=1), now),
        progress=lambda so_far: heard.append((so_far.matched, len(so_far.changes))),
    )

    # Then each batch was reported as it was read, with what would change so far
    assert plan.matched == 3
    assert [matched for matched, _ in heard] == [1, 2, 3]
    assert heard[-1][1] == len(plan.changes) == 1


def test_the_plan_reports_its_first_batch_before_reading_the_rest_of_the_window(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a day of many events (a window the plan reads newest first)
    target = Target(
        "local", runtime.stack.region, "", table(runtime), {}, payload_bucket=runtime.stack.buckets["PayloadBucket"]
    )
    store = EventStore(table(runtime), dynamodb_client=dynamodb(runtime))
    like = item(runtime, *LIKE)
    now = datetime.now(UTC)
    feed = PendingFeed()
    for number in range(250):
        copy = {**like, "pk": f"openweb#many-{number:03d}", "received_at": iso_millis(now - timedelta(seconds=number))}
        dynamodb(runtime).put_item(TableName=table(runtime), Item=encode_item(copy))
        feed.add(copy)
    store.put_feed(feed)
    checked: list[int] = []
    current = EventReader._current

    def counted(self: EventReader, candidates: list[dict[str, Any]], *args: Any) -> list[Any]:
        checked.append(len(candidates))
        return current(self, candidates, *args)

    monkeypatch.setattr(EventReader, "_current", counted)
    heard: list[int] = []

    # When the plan is made
    plan = replay_module.Replayer(target).plan(
        FeedFilter(vendor="openweb"),
        Window(now - timedelta(days=1), now + timedelta(minutes=1)),
        progress=lambda so_far: heard.append(sum(checked)),
    )

    # Then its first batch is reported before the rest of the window's feed is read, not after all of it
    assert plan.matched == 251
    assert sum(checked) == 251
    assert heard[0] < 251


def test_a_creation_stored_before_creations_ranked_first_is_moved_to_its_place(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a comment's creation stored when creations ranked with every other state event (rank 1)
    created = {"event_uuid": "rank-c", "time": 1790000000000, "content_uuid": "rank-1"}
    created |= {"message_type": "livecomment_post", "action": "created"}
    send_body(runtime, "viafoura-engagement", {"events": [created]}, secrets["viafoura-engagement"])
    runtime.drain()
    before = item(runtime, "viafoura-engagement", "rank-c")
    assert before["state_order"].startswith("viafoura-engagement#0#")
    older = before["state_order"].replace("#0#", "#1#", 1)
    dynamodb(runtime).update_item(
        TableName=table(runtime),
        Key=wire_key("viafoura-engagement", "rank-c"),
        UpdateExpression="SET state_order = :older",
        ExpressionAttributeValues={":older": {"S": older}},
    )

    # When a replay of creations runs
    lines = cli_json("replay", "--stack", stack, "--since", "1h", "--type", "comment.created", "--yes", "--json")

    # Then it was the only change, and the item is again what the consumer writes today
    assert lines[0]["plan"]["fields_changed"] == {"state_order": 1}
    assert lines[-1]["rewritten"] == 1
    assert item(runtime, "viafoura-engagement", "rank-c") == before


def test_an_event_later_in_its_batch_keeps_its_place_in_the_comments_order(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a batch approving then rejecting one comment in the same millisecond, the rejection
    # (second in the batch) stored under an older mapping
    events = [
        {"event_uuid": f"place-{action}", "time": 1790000000000, "content_uuid": "place-1"}
        | {"message_type": "livecomment_post", "action": action}
        for action in ("visible", "disabled")
    ]
    send_body(runtime, "viafoura-engagement", {"events": events}, secrets["viafoura-engagement"])
    runtime.drain()
    before = item(runtime, "viafoura-engagement", "place-disabled")
    as_an_older_mapping_stored_it(runtime, "viafoura-engagement", "place-disabled")

    # When it is replayed
    lines = cli_json("replay", "--stack", stack, "--since", "1h", "--yes", "--json")

    # Then it is again exactly as the consumer wrote it, its place in the batch too
    assert lines[0]["plan"]["fields_changed"] == {"content_id": 1, "event_type": 1}
    assert item(runtime, "viafoura-engagement", "place-disabled") == before
    assert before["index"] == 1
    (state,) = cli_json("state", "--stack", stack, "viafoura-engagement", "place-1", "--json")
    assert state["status"] == "rejected"


def test_an_event_of_a_vendor_no_longer_registered_is_refused_and_the_rest_replayed(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given OpenWeb's package taken out of the project after its events were stored, and another
    # vendor's event stored under an older mapping
    from webhook_intake import registry
    from webhook_intake.store import body as body_module

    def without_openweb(key: str) -> Any:
        if key == "openweb":
            raise registry.UnknownVendorError(f"unknown vendor key {key!r}")
        return registry.vendor(key)

    monkeypatch.setattr(replay_module, "vendor_spec", without_openweb)
    monkeypatch.setattr(body_module, "vendor", without_openweb)
    stored = {entry["vendor"]: entry for entry in cli_json("events", "--stack", stack, "--tests", "--json")}
    as_an_older_mapping_stored_it(runtime, "fastcomments", stored["fastcomments"]["event_id"])

    # When a replay runs
    lines = cli_json("replay", "--stack", stack, "--since", "1h", "--tests", "--yes", "--json")

    # Then OpenWeb's event is refused with the reason, and the others are replayed
    ((vendor, event_id, reason),) = lines[0]["refused"]
    assert (vendor, event_id) == LIKE
    assert "no longer registered" in reason
    assert lines[-1]["rewritten"] == 1


def test_every_field_replay_prints_as_json_is_in_the_scripting_table(stack: str, runtime: LocalRuntime) -> None:
    # Given an event stored under an older mapping
    as_an_older_mapping_stored_it(runtime, *LIKE)

    # When it is replayed for a script: the plan, then the result
    plan, result = cli_json("replay", "--stack", stack, "--since", "1h", "--yes", "--json")

    # Then docs/local-stack.md names every field a script may read, the plan's own included
    assert not undocumented("replay", [plan, plan["plan"], result])


def test_asked_at_a_terminal_with_the_output_piped_the_pipe_gets_the_plan_and_result_alone(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given an event stored under an older mapping, and an operator at a terminal piping the output
    # (intake replay --since 1h --json | tee replay.jsonl) who answers yes
    as_an_older_mapping_stored_it(runtime, *LIKE)
    at_a_terminal(monkeypatch, "y\n")
    capsys.readouterr()

    # When it is replayed
    with pytest.raises(SystemExit) as exited:
        app(["replay", "--stack", stack, "--since", "1h", "--json"], prog_name="intake")

    # Then the question was asked on standard error, and standard output holds the plan and the result only
    out, err = capsys.readouterr()
    assert exited.value.code == 0
    assert "Rewrite 1 event on " in err
    mine = [line for line in out.splitlines() if '"plan"' in line or '"rewritten"' in line or "Rewrite" in line]
    assert [next(iter(json.loads(line))) for line in mine] == ["plan", "rewritten"], out
