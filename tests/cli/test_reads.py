"""`intake events`, `state` and `status` against a stack found by name (template.yaml provisioned on moto)."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from intake_cli.event_log import window
from intake_cli.events import sqs_event
from intake_cli.samples import SAMPLES_DIR, golden_events, load_secrets, sample_files
from tests.conftest import queue_messages
from tests.helpers import (
    cli,
    cli_json,
    hook_cli_clients,
    keys_read,
    notifications_body,
    publish_outputs,
    queue_url,
    requests_of,
    sample_document,
    send,
    send_body,
    send_events_with_parts_in_s3,
    table,
    undocumented,
)
from webhook_intake.delivery import TEST_HEADER
from webhook_intake.store.events import EventStore
from webhook_intake.store.feed import PendingFeed
from webhook_intake.store.schema import event_key
from webhook_intake.store.wire import decode_item, encode_item
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


@pytest.fixture(scope="module")
def loaded(shared_runtime: LocalRuntime) -> str:
    """A stack holding FastComments' samples, an OpenWeb like, two notifications and a test event; its name.

    One for the module: most tests here only read it; those that send events of their own leave the
    fixture's in place, so a test reads what it knows of among the others.
    """
    runtime = shared_runtime
    secrets = load_secrets()
    publish_outputs(boto3.session.Session(region_name=runtime.stack.region), runtime)
    for path in sample_files("fastcomments"):
        send(runtime, "fastcomments", path, secrets)
    runtime.drain()
    send(runtime, "openweb", SAMPLES_DIR / "openweb" / "liked-message.json", secrets)
    notes = notifications_body("n-first", "n-second")
    send_body(runtime, "viafoura-notifications", notes, secrets["viafoura-notifications"])
    send_body(
        runtime,
        "firstup",
        {"id": "t-1", "name": "content_published"},
        secrets["firstup"],
        headers={TEST_HEADER: "true"},
    )
    runtime.drain()
    return runtime.stack.name


def events(stack: str, *args: str) -> list[dict[str, Any]]:
    return cli_json("events", "--stack", stack, "--json", *args)


def loaded_events() -> set[tuple[str, str]]:
    """The (vendor, id) of each event ``loaded`` stores but its test events.

    Tests further down add events of their own to the module's stack: whichever runs first, these are
    the ones whose order is known.
    """
    samples = [("fastcomments", path) for path in sample_files("fastcomments")]
    samples.append(("openweb", SAMPLES_DIR / "openweb" / "liked-message.json"))
    stored = {
        (key, str(event["event_id"]))
        for key, path in samples
        for event in golden_events(key, path)
        if not event.get("test")
    }
    return stored | {("viafoura-notifications", "n-first"), ("viafoura-notifications", "n-second")}


def test_events_are_listed_newest_received_first_and_tests_only_when_asked(loaded: str) -> None:
    # When the feed is read with no filter
    listed = events(loaded, "--limit", "1000")

    # Then the last delivery's events come first, whole (raw included), and the test event is left out
    ours = [event for event in listed if (event["vendor"], event["event_id"]) in loaded_events()]
    assert len(ours) == len(loaded_events())
    assert [event["vendor"] for event in ours[:2]] == ["viafoura-notifications"] * 2
    assert {event["event_id"] for event in ours[:2]} == {"n-first", "n-second"}
    received = [event["received_at"] for event in listed]
    assert received == sorted(received, reverse=True)
    assert "raw" in listed[0]
    assert not [event for event in listed if event.get("test")]
    assert [event["event_id"] for event in events(loaded, "--tests", "--vendor", "firstup")] == [
        event["event_id"] for event in events(loaded, "--tests") if event["vendor"] == "firstup"
    ]
    assert len([event for event in events(loaded, "--tests", "--vendor", "firstup") if event.get("test")]) == 1


def test_the_table_marks_a_test_event_as_one(loaded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # When the operator lists events with the tests among them, on a terminal wide enough for the table
    monkeypatch.setenv("COLUMNS", "200")
    code, text = cli("events", "--stack", loaded, "--tests", "--limit", "1000")

    # Then each test event's row says it is one, and no other row does
    assert code == 0
    listed = events(loaded, "--tests", "--limit", "1000")
    rows = [line for line in text.splitlines() if line[:2].isdigit()]
    assert len(rows) == len(listed)
    tests = sorted(str(event["vendor"]) for event in listed if event.get("test"))
    assert "firstup" in tests
    assert sorted(row.split()[4] for row in rows if "(test)" in row) == tests


def test_events_as_json_read_each_event_once(loaded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the DynamoDB requests of the read counted
    requests = requests_of(monkeypatch, "dynamodb")

    # When the window's events are listed whole
    listed = events(loaded, "--tests", "--limit", "1000")

    # Then each event came whole from the one read that checked its feed entry, asked for once
    assert listed and all("raw" in event for event in listed)
    asked = keys_read(requests)
    assert sorted(asked) == sorted({f"{event['vendor']}#{event['event_id']}" for event in listed})
    assert [operation for operation, _ in requests].count("BatchGetItem") == 1


def test_a_subject_means_all_of_its_types_and_filters_narrow_the_feed(loaded: str) -> None:
    comments = events(loaded, "--type", "comment")
    assert comments
    assert {event["event_type"].partition(".")[0] for event in comments} == {"comment"}
    assert {event["event_type"] for event in events(loaded, "--type", "comment.liked")} == {"comment.liked"}
    on_comment = events(loaded, "--vendor", "fastcomments", "--content", "nK3vQ8zTfR")
    assert on_comment
    assert {event["content"]["id"] for event in on_comment} == {"nK3vQ8zTfR"}
    by_actor = events(loaded, "--actor", "Lq7Vx2Rb:bob-example")
    assert {event["actor"]["id"] for event in by_actor} == {"Lq7Vx2Rb:bob-example"}
    assert events(loaded, "--recipient", "Lq7Vx2Rb:alice-example")
    assert len(events(loaded, "--limit", "2")) == 2
    assert events(loaded, "--since", "2019-12-01", "--until", "2020-01-01") == []


@pytest.mark.parametrize(
    "command",
    [("events", "--json"), ("replay", "--since", "1d", "--dry-run", "--json")],
)
def test_a_limit_larger_than_any_table_means_every_one_not_a_traceback(loaded: str, command: tuple[str, ...]) -> None:
    # "--limit 99999999999999999999" typed to mean "all of them": past what Python counts to
    code, text = cli(*command, "--limit", "99999999999999999999", "--stack", loaded)

    # Then it reads as many as there are, as a limit larger than the table does
    assert code == 0, text
    _, bounded = cli(*command, "--limit", "100000", "--stack", loaded)
    assert [line for line in text.splitlines() if line.startswith("{")] == [
        line for line in bounded.splitlines() if line.startswith("{")
    ]


def test_one_event_by_its_key(loaded: str) -> None:
    (listed,) = events(loaded, "--vendor", "viafoura-notifications", "--limit", "1")
    key = f"viafoura-notifications#{listed['event_id']}"
    assert events(loaded, "--id", key) == [listed]
    assert events(loaded, "--vendor", "viafoura-notifications", "--id", listed["event_id"]) == [listed]
    code, text = cli("events", "--stack", loaded, "--id", "viafoura-notifications#nope")
    assert code == 1
    assert "no event viafoura-notifications#nope" in text
    # A whole key with another vendor's --vendor: the two options contradict each other, and it says so
    code, text = cli("events", "--stack", loaded, "--vendor", "firstup", "--id", key)
    assert code == 1
    assert f"no event firstup#{key} (--id names a viafoura-notifications key: leave out --vendor" in text


def test_a_junk_vendor_longer_than_a_key_holds_is_an_unknown_vendor_not_a_dynamodb_error(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DynamoDB refuses a GetItem key over 2 KB (moto only refuses such a write): as DynamoDB does
    from moto.dynamodb.exceptions import HashKeyTooLong
    from moto.dynamodb.models import DynamoDBBackend

    get_item = DynamoDBBackend.get_item

    def refuse_long_keys(self: DynamoDBBackend, table_name: str, keys: dict[str, Any], *args: Any) -> Any:
        if len(str(keys["pk"]["S"]).encode()) > 2048:
            raise HashKeyTooLong
        return get_item(self, table_name, keys, *args)

    monkeypatch.setattr(DynamoDBBackend, "get_item", refuse_long_keys)
    # Given a vendor name over DynamoDB's 2 KB key limit (a pasted blob, a wrong variable)
    code, text = cli("events", "--stack", loaded, "--id", "x" * 2100 + "#e-1")

    # Then it is one line naming the vendors, never DynamoDB's refusal of the key
    assert code == 1
    assert "unknown vendor" in text
    assert "ValidationException" not in text


@pytest.mark.parametrize(
    "extra",
    [
        ("--type", "comment"),
        ("--since", "7d"),
        ("--until", "now"),
        ("--scan",),
        ("--tests",),
        ("--limit", "5"),
        ("--content", "nK3vQ8zTfR"),
        ("--container", "c"),
        ("--actor", "a"),
        ("--recipient", "r"),
    ],
)
def test_a_feed_option_given_with_id_is_a_usage_error_naming_it(loaded: str, extra: tuple[str, ...]) -> None:
    # One event by its key is no read of the feed: the option would be ignored, silently
    code, text = cli("events", "--stack", loaded, "--id", "viafoura-notifications#n-first", *extra)
    assert code == 2, text
    assert f"Invalid value for '{extra[0]}': not with --id" in text
    assert f"(leave out {extra[0]})" in boxed(text)


def test_an_id_without_its_vendor_is_a_usage_error_saying_the_form(loaded: str) -> None:
    # A value of the wrong form (docs/local-stack.md): no VENDOR# and no --vendor to say whose it is
    code, text = cli("events", "--stack", loaded, "--id", "n-first")
    assert code == 2, text
    assert "Invalid value for '--id': --id takes VENDOR#EVENT_ID (or --vendor VENDOR --id EVENT_ID)" in boxed(text)
    # With --vendor the same id is read
    code, text = cli("events", "--stack", loaded, "--vendor", "viafoura-notifications", "--id", "n-first")
    assert code == 0, text


def boxed(text: str) -> str:
    """A usage error's box as one line of words (rich wraps it to the terminal's width)."""
    return " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize("command", [("events",), ("replay", "--since", "1d")])
def test_an_unknown_type_is_a_usage_error_naming_the_close_ones_and_the_known(
    loaded: str, command: tuple[str, ...]
) -> None:
    code, text = cli(*command, "--stack", loaded, "--type", "comment.like")
    assert code == 2, text
    assert "Invalid value for '--type': unknown event type 'comment.like' (did you mean comment.liked" in boxed(text)
    assert "known types: comment.created" in boxed(text)
    assert "error:" not in text
    # A name that is both a type and a subject is suggested once
    code, text = cli(*command, "--stack", loaded, "--type", "other.thing")
    assert code == 2, text
    assert "did you mean other?" in boxed(text)


@pytest.mark.parametrize("command", [("events",), ("replay", "--since", "1d")])
def test_a_misspelt_type_is_told_the_one_meant_not_every_type_near_it(loaded: str, command: tuple[str, ...]) -> None:
    # A letter short of comment.liked: comment.unliked and comment.disliked are close, but not as close
    code, text = cli(*command, "--stack", loaded, "--type", "comment.likd")
    assert code == 2, text
    assert "unknown event type 'comment.likd' (did you mean comment.liked?);" in boxed(text)
    # Two types equally close are both named: neither is plainly the one meant
    code, text = cli(*command, "--stack", loaded, "--type", "followed.posted")
    assert code == 2, text
    assert "(did you mean followed_user.posted or followed_page.posted?);" in boxed(text)


@pytest.mark.parametrize("option", ["--id", "--content", "--container", "--actor", "--recipient"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_id_filter_is_a_usage_error_not_every_event(loaded: str, option: str, value: str) -> None:
    # An unset shell variable ("--content $ID") must not list everything
    code, text = cli("events", "--stack", loaded, option, value)
    assert code == 2
    assert f"Invalid value for '{option}': is empty" in text


def test_scan_reads_the_whole_table_only_when_told(loaded: str) -> None:
    scanned = events(loaded, "--scan", "--tests", "--limit", "1000")
    assert len(scanned) == len(events(loaded, "--tests", "--since", "1h", "--limit", "1000"))
    # Both newest received first, then by vendor and id (events of one delivery share a receive time)
    for limit in ("1", "2", "5"):
        assert [event["event_id"] for event in events(loaded, "--scan", "--limit", limit)] == [
            event["event_id"] for event in events(loaded, "--limit", limit)
        ]


def test_a_scan_exports_every_event_unless_a_limit_is_given(
    runtime: LocalRuntime, secrets: dict[str, dict[str, Any]]
) -> None:
    # Given a vendor with more events than a screen of the feed shows (docs/adding-a-vendor.md keeps a
    # vendor's events with `intake events --vendor <key> --scan --json > <key>-events.jsonl`)
    publish_outputs(boto3.session.Session(region_name=runtime.stack.region), runtime)
    ids = [f"export-{number:03d}" for number in range(120)]
    for start in range(0, len(ids), 40):
        body = notifications_body(*ids[start : start + 40], request_uuid=f"r-{start}")
        send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"])
    runtime.drain()

    # When they are exported with a full scan, as the doc says
    exported = events(runtime.stack.name, "--vendor", "viafoura-notifications", "--scan")

    # Then every one of them is in the export; a --limit still cuts a scan, and the feed keeps its default
    assert sorted(event["event_id"] for event in exported) == ids
    assert len(events(runtime.stack.name, "--vendor", "viafoura-notifications", "--scan", "--limit", "7")) == 7
    assert len(events(runtime.stack.name, "--vendor", "viafoura-notifications")) == 50
    # and a read cut by its limit says so beside the events (a script reading them would not know)
    _, cut = cli("events", "--stack", runtime.stack.name, "--json", "--vendor", "viafoura-notifications")
    _, whole = cli("events", "--stack", runtime.stack.name, "--json", "--vendor", "viafoura-notifications", "--scan")
    assert "50 events, the limit: more may match (--limit N, or --scan)" in cut
    _, cut_scan = cli("events", "--stack", runtime.stack.name, "--json", "--scan", "--limit", "7")
    assert "7 events, the limit: more may match (a larger --limit)" in cut_scan
    _, cut_one = cli("events", "--stack", runtime.stack.name, "--json", "--scan", "--limit", "1")
    assert "1 event, the limit: more may match (a larger --limit)" in cut_one
    assert "the limit" not in whole


def test_a_scan_reads_from_s3_only_the_parts_of_events_its_filter_keeps(
    runtime: LocalRuntime, secrets: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a comment whose body is in S3 and a notification whose recipients are, and S3's requests counted
    publish_outputs(boto3.session.Session(region_name=runtime.stack.region), runtime)
    send_events_with_parts_in_s3(runtime, secrets)
    runtime.drain()
    requests = requests_of(monkeypatch, "s3")

    # When the whole table is scanned for one vendor's events, then for a type neither of them is
    comments = events(runtime.stack.name, "--scan", "--vendor", "fastcomments")
    read_for_comments = [params["Key"] for operation, params in requests if operation == "GetObject"]
    flagged = events(runtime.stack.name, "--scan", "--type", "comment.flagged", "--since", "1h")

    # Then only the comment's body was read from S3, and for the type nothing was
    assert [event["event_id"].partition(":")[0] for event in comments] == ["large-1"]
    assert len(comments[0]["content"]["text"]) > 1000
    assert len(read_for_comments) == 1
    assert read_for_comments[0].startswith("bodies/fastcomments/")
    assert flagged == []
    assert [operation for operation, _ in requests].count("GetObject") == 1


@pytest.mark.parametrize("recipients", [1, 30], ids=["in the item", "in s3"])
def test_a_recipient_id_too_long_for_the_feed_is_found_by_the_scan_it_points_to(
    runtime: LocalRuntime, secrets: dict[str, dict[str, Any]], recipients: int
) -> None:
    # Given a notification to a user whose id is over the 256 characters the feed keeps (among others)
    publish_outputs(boto3.session.Session(region_name=runtime.stack.region), runtime)
    long_id = "u" * 300
    note = sample_document("viafoura-notifications", "follow")
    (entry,) = note["notifications"]
    entry["recipients"] = [
        {"name": "Someone", "viafoura_id": {"uuid": f"00000000-0000-4000-8000-{n:012d}", "id": str(n)}}
        for n in range(recipients - 1)
    ] + [{"name": "Alice Example", "viafoura_id": {"uuid": long_id, "id": "4417300000000"}}]
    send_body(runtime, "viafoura-notifications", note, secrets["viafoura-notifications"])
    runtime.drain()

    # When the feed is asked for it, it says to read the whole table
    code, text = cli("events", "--stack", runtime.stack.name, "--recipient", long_id)
    assert code == 2
    assert "`intake events --scan` reads the whole table for them" in text

    # Then that scan finds the notification (and a recipient it does not name finds nothing)
    found = events(runtime.stack.name, "--scan", "--recipient", long_id)
    assert [event["event_id"] for event in found] == [entry["notification_uuid"]]
    assert events(runtime.stack.name, "--scan", "--recipient", "u" * 299) == []


def test_the_table_fits_80_columns_and_shows_no_text(loaded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an 80-column terminal
    monkeypatch.setenv("COLUMNS", "80")

    # When the events are listed as a table
    code, text = cli("events", "--stack", loaded, "--vendor", "fastcomments")

    # Then every line fits, the kept columns are there, and no comment text or name shows
    assert code == 0, text
    assert max(len(line) for line in text.splitlines()) <= 80
    for header in ("received", "vendor", "type", "event id"):
        assert header in text
    assert "park" not in text
    assert "Alice" not in text


def test_on_80_columns_the_event_id_stays_beside_a_long_vendor_and_type(
    loaded: str, shared_runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table holding Viafoura notifications (the longest vendor key) and an OpenWeb keyword topic
    # (one of the longest types), read on an 80-column terminal
    path = SAMPLES_DIR / "openweb" / "topic-by-keyword.json"
    assert send(shared_runtime, "openweb", path, load_secrets()).status == 200
    shared_runtime.drain()
    (stored,) = golden_events("openweb", path)
    monkeypatch.setenv("COLUMNS", "80")

    # When the events are listed as a table, test events among them
    code, text = cli("events", "--stack", loaded, "--tests")

    # Then the event id is there, cut with an ellipsis, beside received, vendor and type, and every line fits
    assert code == 0, text
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    header = next(line for line in lines if line.startswith("received"))
    assert header.split() == ["received", "vendor", "type", "event", "id"], text
    (row,) = [line for line in lines if "followed_keyword" in line]
    assert str(stored["event_id"])[:10] in row, text
    assert any("viafoura-notifications" in line for line in lines), text
    # and a test event's type, cut too, still says it is one
    (test_row,) = [line for line in lines if line.split()[2:3] == ["firstup"]]
    assert "… (test)" in test_row, text


def test_a_wide_terminal_shows_every_column(loaded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, text = cli("events", "--stack", loaded, "--vendor", "openweb")
    assert code == 0
    for header in ("received", "event time", "vendor", "type", "source type", "event id", "actor", "content"):
        assert header in text


def test_state_is_the_newest_state_event_and_the_events_behind_it(loaded: str) -> None:
    # When a comment created, updated and deleted is looked up
    code, text = cli("state", "fastcomments", "nK3vQ8zTfR", "--stack", loaded, "--json")

    # Then it is deleted, its three state events listed newest first
    assert code == 0, text
    found = json.loads(text)
    assert (found["status"], found["deleted"]) == ("deleted", True)
    assert [event["event_type"] for event in found["events"]] == [
        "comment.deleted",
        "comment.updated",
        "comment.created",
    ]
    # --json has everything, as its help says: each event whole, raw bodies included
    assert all("raw" in event for event in found["events"])
    code, text = cli("state", "-h")
    assert "raw bodies included" in " ".join(text.replace("│", " ").split())
    code, text = cli("state", "fastcomments", "nK3vQ8zTfR", "--stack", loaded)
    assert "deleted" in text
    assert "park" not in text  # the comment's text only with --json
    code, text = cli("state", "openweb", "nothing-here", "--stack", loaded)
    assert code == 1
    assert "intake events --vendor openweb --content nothing-here" in text
    # An id the shell would split or read is quoted in the command to paste
    code, text = cli("state", "openweb", "x y/#", "--stack", loaded)
    assert "intake events --vendor openweb --content 'x y/#' --since 30d" in text


def test_status_counts_stored_events_on_a_deployed_stack_only_when_told(loaded: str) -> None:
    default = {row["vendor"]: row for row in cli_json("status", "--stack", loaded, "--json")}
    counted = {row["vendor"]: row for row in cli_json("status", "--stack", loaded, "--json", "--count")}
    assert {row["events_stored"] for row in default.values()} == {None}
    assert counted["fastcomments"]["events_stored"] >= 5


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("--vendor", "viafoura-engagement", "--since", "2h"), "--since 7d looks further back, --tests includes"),
        (("--since", "8d", "--until", "1h", "--tests"), "none in that window: --scan reads the whole table"),
        # A window that ended in the past is offered the week before its end, not the last seven days
        (
            ("--since", "2020-03-01", "--until", "2020-03-02T06:30"),
            "none in that window: --since 2020-02-24T06:30 --until 2020-03-02T06:30 looks further back, --tests",
        ),
        (("--until", "2020-03-02T06:30:15.250Z", "--tests"), "--since 2020-02-24T06:30:15 --until 2020-03-02T06:30:16"),
        # One typed back from now is offered back from now, as typed: the same command a week wider
        (("--since", "3d", "--until", "2d"), "none in that window: --since 9d --until 2d looks further back, --tests"),
        (("--since", "3h", "--until", "2H"), "none in that window: --since 170h --until 2h looks further back"),
        (("--until", "1w", "--tests"), "none in that window: --since 2w --until 1w looks further back, --scan"),
    ],
)
def test_an_empty_window_says_what_else_to_try(loaded: str, args: tuple[str, ...], hint: str) -> None:
    code, output = cli("events", "--stack", loaded, *args)
    assert code == 0
    assert hint in " ".join(output.split())


def test_an_empty_window_that_ended_hours_ago_is_not_offered_the_last_seven_days(loaded: str) -> None:
    # When a window that ended an hour ago holds nothing
    code, output = cli("events", "--stack", loaded, "--since", "2h", "--until", "1h")

    # Then the longer window offered ends where it did, an hour ago: the last seven days would hold what came since
    hint = " ".join(output.split()).split("none in that window: ", 1)[1]
    longer = re.fullmatch(r"--since (\S+) --until (\S+) looks further back", hint.split(", ")[0])
    assert longer, hint
    offered = window(*longer.groups())
    asked = window("2h", "1h")
    assert code == 0
    assert "--since 7d" not in hint
    assert offered.until <= asked.until + timedelta(seconds=1)
    assert offered.until - offered.since >= timedelta(days=7)


def test_until_alone_reads_the_day_before_it(loaded: str) -> None:
    # The events were received just now: --until an hour ago sees none, --until now sees them
    assert events(loaded, "--until", "1h") == []
    assert len(events(loaded, "--until", "now")) >= 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "99999999d"), "reaches back before the year 1"),
        (("--since", "999999999999d"), "reaches back before the year 1"),
        (("--since", "2000-01-01"), "narrow it with --since/--until, or read the whole table with --scan"),
        (("--since", "1h", "--until", "2h"), "--since is after --until"),
        (("--since", "2999-01-01", "--until", "2999-06-01"), "--since is in the future"),
        (("--since", "2999-01-01"), "--since is in the future"),
        (("--until", "0001-01-01T00:00"), "--until '0001-01-01T00:00' is before 2000"),
        (("--since", "0001-01-01T00:00+01:00"), "'0001-01-01T00:00+01:00' is outside the years 1 to 9999 in UTC"),
        (("--since", "9999-12-31T23:00-05:00"), "outside the years 1 to 9999 in UTC"),
        (("--content", "c" * 257), "ids over 256 are kept in the event but not indexed"),
    ],
)
def test_a_window_or_an_id_the_feed_cannot_read_is_one_clear_line(
    loaded: str, args: tuple[str, ...], message: str
) -> None:
    code, text = cli("events", "--stack", loaded, *args)
    # A usage error, as a time that reads as none is: the command line is what to mend
    assert code == 2
    assert message in text
    assert "Traceback" not in text


def test_without_since_a_read_covers_the_whole_day_before_until() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    # The last 24 hours, as --since 24h reads them (its end a minute ahead for a writer's clock)
    assert window(None, None, now=now) == window("24h", None, now=now)
    assert window(None, None, now=now).since == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    # The day before an --until in the past, or before now for one in the future
    assert window(None, "2026-12-01T06:00", now=now).since == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert window(None, "2027-01-01", now=now).since == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    # And nothing was received before 2000
    assert window("1999-06-01", "2000-01-02", now=now).since == datetime(2000, 1, 1, tzinfo=UTC)


def test_an_event_received_by_a_clock_a_little_ahead_is_listed_at_once(
    runtime: LocalRuntime, secrets: dict[str, dict[str, Any]]
) -> None:
    # Given a notification received by a consumer's host whose clock runs 20 s ahead of the operator's
    publish_outputs(boto3.session.Session(region_name=runtime.stack.region), runtime)
    send_body(runtime, "viafoura-notifications", notifications_body("ahead"), secrets["viafoura-notifications"])
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, "viafoura-notifications"))
    attributes = json.loads(json.dumps(message["MessageAttributes"]))
    attributes["received_at"]["StringValue"] = iso_millis(datetime.now(UTC) + timedelta(seconds=20))
    consumer = runtime.functions["ViafouraNotificationsConsumerFunction"]
    consumer.invoke(sqs_event([{**message, "MessageAttributes": attributes}], "arn:aws:sqs:::q", "us-east-1"))

    # When the operator lists what arrived (the default window, and one since an hour ago)
    # Then it is there, as it is for a replay of the last hour
    assert [event["event_id"] for event in events(runtime.stack.name)] == ["ahead"]
    assert [event["event_id"] for event in events(runtime.stack.name, "--since", "1h")] == ["ahead"]
    (plan,) = cli_json("replay", "--stack", runtime.stack.name, "--since", "1h", "--dry-run", "--json")
    assert plan["plan"]["matched"] == 1


def test_times_with_an_offset_are_read_and_shown_in_utc(loaded: str) -> None:
    # Given a replay window written in UTC+2, ending at this minute
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    east = timezone(timedelta(hours=2))
    since, until = (now - timedelta(hours=2)).astimezone(east), (now + timedelta(minutes=1)).astimezone(east)
    assert window(since.isoformat(), None, now=now).since == now - timedelta(hours=2)
    # Then the plan names it in UTC, as it says
    code, text = cli("replay", "--stack", loaded, "--since", since.isoformat(), "--until", until.isoformat(),
                     "--dry-run")  # fmt: skip
    assert code == 0, text
    assert f"received {now - timedelta(hours=2):%Y-%m-%d %H:%M} to {now + timedelta(minutes=1):%Y-%m-%d %H:%M} UTC" in (
        text
    )


def test_a_replay_window_too_wide_for_the_feed_suggests_nothing_replay_lacks(loaded: str) -> None:
    code, text = cli("replay", "--stack", loaded, "--since", "500d", "--dry-run")
    assert code == 2, text
    (line,) = text.strip().splitlines()
    assert line.startswith("error: a window of 500 days: the feed is read a day at a time (400 at most)"), line
    assert line.endswith("narrow it with --since/--until, or replay a longer span a window at a time"), line
    assert "--scan" not in text


def test_ids_and_types_are_shown_as_sent_not_as_markup(shared_runtime: LocalRuntime, loaded: str) -> None:
    secrets = load_secrets()
    odd = {"id": "odd[/]id[bold]:secret:", "name": "weird[/]type"}
    send_body(shared_runtime, "firstup", odd, secrets["firstup"])
    shared_runtime.drain()
    code, text = cli("events", "--stack", loaded, "--vendor", "firstup")
    assert code == 0, text
    assert "odd[/]id[bold]:secret:" in text
    # Nor is an error line (a Secrets Manager ARN holds ":secret:", an emoji code to rich)
    code, text = cli("events", "--stack", loaded, "--id", "firstup#arn:aws:secretsmanager:r:1:secret:s")
    assert code == 1
    assert "no event firstup#arn:aws:secretsmanager:r:1:secret:s" in text


def test_an_id_holding_a_unicode_line_separator_is_still_one_json_line(
    shared_runtime: LocalRuntime, loaded: str
) -> None:
    # Given an OpenWeb event whose id and a field hold the line and paragraph separators (U+2028, U+2029)
    event_id = "sep-1\u2028two\u2029three"
    body = {"event_id": event_id, "type": "user-followed", "user": {"user_id": "u\u2028v"}}
    assert send_body(shared_runtime, "openweb", body, load_secrets()["openweb"]).status == 200
    shared_runtime.drain()

    # When the events are listed as JSON and read a line at a time, as Python's splitlines() reads lines
    code, output = cli("events", "--stack", loaded, "--vendor", "openweb", "--json")

    # Then each line is a whole document, and the id is the one sent
    assert code == 0, output
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert event_id in [document.get("event_id") for document in documents]


def test_an_event_whose_raw_text_escapes_a_lone_surrogate_is_printed_as_json_with_the_others(
    shared_runtime: LocalRuntime, loaded: str
) -> None:
    secrets = load_secrets()
    # Given an OpenWeb event whose id and a field escape a lone surrogate (valid JSON, stored with U+FFFD)
    body = b'{"event_id": "sur-\\ud800-json", "type": "user-followed", "note": "hi \\udc00 there"}'
    assert send_body(shared_runtime, "openweb", body, secrets["openweb"]).status == 200
    shared_runtime.drain()

    # When listed as JSON, with every other OpenWeb event
    listed = events(loaded, "--vendor", "openweb")

    # Then it is a line like the rest (the raw object with U+FFFD, the exact text kept), and none is lost
    (odd,) = [entry for entry in listed if entry["event_id"].startswith("sur-")]
    assert odd["raw"]["note"] == "hi \ufffd there"
    assert odd["raw_text"] == body.decode()
    assert len(listed) >= 2


STEERING_ID = "esc-1\x1b]0;owned\x07\x1b[2J\r\u202e\x9b"
"""An id whose characters would set the window title, clear the screen, return the carriage,
reverse the line and (on some terminals) begin a control sequence."""


def test_ids_and_types_a_vendor_sent_never_steer_the_operators_terminal(
    shared_runtime: LocalRuntime, loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    # Given an OpenWeb like whose event id, type and comment id hold terminal control sequences,
    # and a second version of it, kept in the quarantine as a conflict
    runtime = shared_runtime
    body = {
        "event_id": STEERING_ID,
        "type": "liked-message\x1b[31m",
        "liker": {"user_id": "u"},
        "comment": {"comment_id": STEERING_ID},
    }
    for version in (body, {**body, "liker": {"user_id": "v"}}):
        assert send_body(runtime, "openweb", version, load_secrets()["openweb"]).status == 200
        runtime.drain()
    stack = loaded

    # When the operator lists the events and what waits, reads the comment's state, and asks for JSON
    listed_code, listed = cli("events", "--stack", stack, "--vendor", "openweb", "--content", STEERING_ID)
    state_code, state = cli("state", "openweb", STEERING_ID, "--stack", stack)
    held_code, held = cli("dlq", "list", "--stack", stack, "--vendor", "openweb")
    json_code, as_json = cli("events", "--stack", stack, "--vendor", "openweb", "--content", STEERING_ID, "--json")

    # Then every control character is shown as its escape, and the JSON holds the exact id
    escaped = "esc-1\\x1b]0;owned\\x07\\x1b[2J\\x0d\\u202e\\x9b"
    assert (listed_code, held_code, json_code) == (0, 0, 0)
    assert escaped in listed
    assert "\\x1b[31m" in listed
    assert state_code == 1  # a like changes no state: the error names the id, escaped, on one line
    assert escaped in state
    assert f"event {escaped}" in held
    for output in (listed, state, held, as_json):
        assert not [c for c in output if c in "\x1b\x07\r\u202e\x9b"]
    (document,) = [json.loads(line) for line in as_json.splitlines() if line.startswith("{")]
    assert document["event_id"] == STEERING_ID


INVISIBLE_ID = "zw-1\u200b\u2060\ufeff\u200e\u2067x"
"""An id that reads as ``zw-1x`` on a terminal: a zero-width space, a word joiner, a byte order mark, a
left-to-right mark and a right-to-left isolate, none of which a terminal draws."""


def test_an_id_holding_invisible_characters_shows_each_as_its_escape(
    shared_runtime: LocalRuntime, loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    # Given an OpenWeb like whose event id and comment id hold characters a terminal shows as nothing
    body = {
        "event_id": INVISIBLE_ID,
        "type": "liked-message",
        "liker": {"user_id": "u"},
        "comment": {"comment_id": INVISIBLE_ID},
    }
    assert send_body(shared_runtime, "openweb", body, load_secrets()["openweb"]).status == 200
    shared_runtime.drain()

    # When the operator lists its events, and as JSON
    listed_code, listed = cli("events", "--stack", loaded, "--vendor", "openweb", "--content", INVISIBLE_ID)
    json_code, as_json = cli("events", "--stack", loaded, "--vendor", "openweb", "--content", INVISIBLE_ID, "--json")

    # Then the table shows each of them as its escape, none as itself, and the JSON holds the exact id
    assert (listed_code, json_code) == (0, 0), listed
    assert "zw-1\\u200b\\u2060\\ufeff\\u200e\\u2067x" in listed
    for output in (listed, as_json):
        assert not [c for c in output if c in "\u200b\u2060\ufeff\u200e\u2067"]
    (document,) = [json.loads(line) for line in as_json.splitlines() if line.startswith("{")]
    assert document["event_id"] == INVISIBLE_ID


WIDE_ID = "评论-一二三四五六七八九十-😀"
"""An id of 14 characters that takes 26 cells of a terminal: each CJK character and the emoji take two."""


def test_an_id_in_wide_characters_is_shown_whole_with_the_columns_after_it_aligned(
    shared_runtime: LocalRuntime, loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "200")
    # Given an OpenWeb like whose event id and comment id are written in wide characters
    body = {
        "event_id": WIDE_ID,
        "type": "liked-message",
        "liker": {"user_id": "liker-1"},
        "comment": {"comment_id": WIDE_ID},
    }
    assert send_body(shared_runtime, "openweb", body, load_secrets()["openweb"]).status == 200
    shared_runtime.drain()

    # When the operator lists its events on a terminal with room for every column
    code, listed = cli("events", "--stack", loaded, "--vendor", "openweb", "--content", WIDE_ID)

    # Then the id is whole, and the actor column starts at the same terminal cell on its row as in the header
    assert code == 0, listed
    header, row = [line for line in listed.splitlines() if "actor" in line or "liker-1" in line]
    assert WIDE_ID in row, row
    assert cell_len(row[: row.index("liker-1")]) == cell_len(header[: header.index("actor")]), listed
    assert cell_len(row.rstrip()) <= 200


FAKE_ROW = "\n2020-09-09 09:09   2020-09-09 09:09   openweb   comment.deleted\tok"
"""What an id may carry after a line feed: a line of its own that reads as another event's row."""


def test_an_id_holding_a_line_feed_shows_on_its_own_row_and_fakes_none(
    shared_runtime: LocalRuntime, loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    # Given an OpenWeb approval whose event id and comment id end with a line feed and a fake row,
    # and a second version of it, kept in the quarantine as a conflict
    runtime = shared_runtime
    event_id = f"lf-1{FAKE_ROW}"
    comment_id = f"lf-c{FAKE_ROW}"
    body = {
        "event_id": event_id,
        "type": "message-approved",
        "user": {"user_id": "u"},
        "comment": {"comment_id": comment_id, "state": "approved"},
    }
    for version in (body, {**body, "user": {"user_id": "v"}}):
        assert send_body(runtime, "openweb", version, load_secrets()["openweb"]).status == 200
        runtime.drain()
    stack = loaded

    # When the operator lists the events and what waits, and reads the comment's state
    listed_code, listed = cli("events", "--stack", stack, "--vendor", "openweb", "--content", comment_id)
    state_code, state = cli("state", "openweb", comment_id, "--stack", stack)
    held_code, held = cli("dlq", "list", "--stack", stack, "--vendor", "openweb")

    # Then each id stays on its row, its line feed and tab shown as their escapes: no line starts with the fake row
    assert (listed_code, state_code, held_code) == (0, 0, 0), (listed, state, held)
    escaped = "\\x0a2020-09-09 09:09   2020-09-09 09:09   openweb   comment.deleted\\x09ok"
    assert f"lf-1{escaped}" in listed
    assert f"lf-c{escaped}" in state
    assert f"event lf-1{escaped}" in held
    for output in (listed, state, held):
        assert not [line for line in output.splitlines() if line.lstrip().startswith(("2020-09-09", "comment.deleted"))]
        assert "\t" not in output


def test_a_terminal_that_is_not_utf8_gets_every_event_not_a_traceback(
    shared_runtime: LocalRuntime, loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from intake_cli.main import app

    monkeypatch.setenv("COLUMNS", "80")
    # Given an OpenWeb event whose id holds characters Latin-1 has (é) and has not (… and an emoji)
    event_id = "café-…-\U0001f600"
    body = {"event_id": event_id, "type": "user-followed", "user": {"user_id": "u-é"}}
    assert send_body(shared_runtime, "openweb", body, load_secrets()["openweb"]).status == 200
    shared_runtime.drain()

    # When the operator's terminal takes Latin-1 (LANG=en_US.ISO-8859-1), for the table and for JSON
    runner = CliRunner(charset="latin-1")
    table_run = runner.invoke(app, ["events", "--stack", loaded, "--vendor", "openweb"])
    json_run = runner.invoke(app, ["events", "--stack", loaded, "--vendor", "openweb", "--json"])

    # Then both end well: the table shows what Latin-1 lacks as its escape, and the JSON is ASCII (valid read
    # as UTF-8 too) with the exact id
    assert (table_run.exit_code, json_run.exit_code) == (0, 0), (table_run.exception, json_run.exception)
    assert "café-\\u2026-" in table_run.output
    assert json_run.stdout_bytes.isascii()
    lines = json_run.stdout_bytes.decode("utf-8").splitlines()
    documents = [json.loads(line) for line in lines if line.startswith("{")]
    assert event_id in [document.get("event_id") for document in documents]


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_content_id_for_state_is_a_usage_error_not_a_dynamodb_one(loaded: str, value: str) -> None:
    # An unset shell variable ("intake state fastcomments $ID") reached DynamoDB as an empty key
    code, text = cli("state", "fastcomments", value, "--stack", loaded)
    assert code == 2, text
    assert "Invalid value for 'CONTENT_ID': is empty: give an id" in text
    assert "ValidationException" not in text


def test_events_of_a_vendor_taken_out_of_the_project_are_still_listed(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an event stored by a vendor whose package was since taken out (docs/adding-a-vendor.md:
    # its events stay in the table), beside one of a vendor still there
    stack = runtime.stack.name
    publish_outputs(aws, runtime)
    send(runtime, "openweb", SAMPLES_DIR / "openweb" / "liked-message.json", secrets)
    runtime.drain()
    dynamodb = aws.client("dynamodb")
    (item,) = dynamodb.scan(TableName=table(runtime), FilterExpression="sk = :e", ExpressionAttributeValues={
        ":e": {"S": "event"}})["Items"]  # fmt: skip
    gone = {**item, "pk": {"S": "acme#gone-1"}}
    dynamodb.put_item(TableName=table(runtime), Item=gone)
    feed = PendingFeed()
    feed.add(decode_item(gone))
    EventStore(table(runtime), dynamodb_client=dynamodb).put_feed(feed)

    # When the operator reads the feed, the whole table and the status
    listed = cli_json("events", "--stack", stack, "--json")
    scanned = cli_json("events", "--stack", stack, "--scan", "--json")
    by_key = cli_json("events", "--stack", stack, "--id", "acme#gone-1", "--json")
    code, text = cli("status", "--stack", stack, "--count")

    # Then the event is listed (its body cannot be read without its package, and says so), and nothing fails
    for events in (listed, scanned, by_key):
        assert {(event["vendor"], event["event_id"]) for event in events} >= {("acme", "gone-1")}
        (kept,) = [event for event in events if event["vendor"] == "acme"]
        assert "raw" not in kept
        assert "no longer registered" in kept["body_error"]
    assert code == 0, text


def test_state_counts_a_one_character_text_as_one_character(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a comment whose text is one character
    publish_outputs(aws, runtime)
    comment = sample_document("fastcomments", "comment-created")
    comment.update(id="one-char", comment="k", commentHTML="<p>k</p>")
    send_body(runtime, "fastcomments", comment, secrets["fastcomments"], event="comment-created")
    runtime.drain()

    # When its state is shown
    code, text = cli("state", "fastcomments", "one-char", "--stack", runtime.stack.name)

    # Then the text's length reads as English
    assert code == 0, text
    assert "its newest text is 1 character: --json shows it" in " ".join(text.split())


class ClosedPipe(io.TextIOBase):
    """Standard output whose reader has stopped reading (``intake events | head -1``, once head is done)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("args", [("--json",), ()], ids=["json", "table"])
def test_output_to_a_reader_that_stopped_ends_quietly_with_status_141(
    loaded: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given standard output piped to a reader that stopped reading
    monkeypatch.setattr(sys, "stdout", ClosedPipe())

    # When events are listed to it
    with pytest.raises(SystemExit) as exited:
        app(["events", "--stack", loaded, *args], prog_name="intake")

    # Then the command ends as a shell tool killed by SIGPIPE does (128 + 13), not as an error, and says nothing
    assert exited.value.code == 141
    assert capsys.readouterr().err == ""


class FullDisk(io.TextIOBase):
    """Standard output redirected to a file on a full disk (``intake events --scan --json > export.jsonl``)."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("args", [("--json",), ()], ids=["json", "table"])
def test_output_to_a_full_disk_is_one_error_line_not_a_traceback(
    loaded: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given standard output redirected to a file on a full disk
    monkeypatch.setattr(sys, "stdout", FullDisk())

    # When events are listed to it
    with pytest.raises(SystemExit) as exited:
        app(["events", "--stack", loaded, *args], prog_name="intake")

    # Then the command fails with one line saying why: the export is not whole
    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == ["error: cannot write the output: No space left on device"]


def test_a_full_scan_says_on_standard_error_how_many_events_it_read(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the table's events, as status counts them, and an operator at a terminal
    rows = cli_json("status", "--stack", loaded, "--json", "--count")
    total = sum(row["events_stored"] or 0 for row in rows)
    assert total > 0
    monkeypatch.setenv("FORCE_COLOR", "1")
    # Then counting them and reading them whole both say what they do and how many they got through
    for args, doing in (
        (("status", "--stack", loaded, "--count"), "Counting the stored events (a full scan)"),
        (("events", "--scan", "--stack", loaded), "Reading every event of the table (--scan)"),
    ):
        code, text = cli(*args)
        assert code == 0, text
        # (its last frame: a terminal is shown it as it moves)
        line = ([line for line in text.splitlines() if doing in line] or [None])[-1]
        assert line is not None, text
        assert f"{total:,} so far" in line


def test_a_read_of_a_long_window_shows_on_a_terminal_how_far_it_got(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an operator at a terminal (the feed is read a day at a time: 400 days are 1,600 queries)
    monkeypatch.setenv("FORCE_COLOR", "1")

    # When the feed of a long window is read
    code, text = cli("events", "--stack", loaded, "--vendor", "fastcomments", "--since", "30d")

    # Then the terminal is told what is read and how far along it is, and the events are listed all the same
    assert code == 0, text
    assert "Reading the feed a day at a time" in text
    assert "31/31 days" in text
    assert "fastcomments" in text


@pytest.mark.parametrize(
    "args", [("status", "--count", "--json"), ("events", "--scan", "--json")], ids=["status", "scan"]
)
def test_a_full_scan_leaves_nothing_on_a_standard_error_that_is_no_terminal(
    loaded: str, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # When the table is counted or read whole with standard error redirected (a CI step's log, a cron mail)
    with pytest.raises(SystemExit) as exited:
        app([*args, "--stack", loaded], prog_name="intake")

    # Then standard error holds nothing: how far the scan has got is for a terminal only
    assert exited.value.code == 0
    assert capsys.readouterr().err == ""


def test_a_read_of_the_feed_leaves_nothing_on_a_standard_error_that_is_no_terminal(
    loaded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # When the feed is read with standard error redirected (a script's log)
    with pytest.raises(SystemExit) as exited:
        app(["events", "--stack", loaded, "--json", "--since", "30d"], prog_name="intake")

    # Then standard error holds nothing: the progress is for a terminal only
    assert exited.value.code == 0
    assert capsys.readouterr().err == ""


def test_every_field_the_reads_print_as_json_is_in_the_scripting_table(loaded: str) -> None:
    # When each read prints its lines for a script
    printed = {
        "status": cli_json("status", "--stack", loaded, "--json", "--count"),
        "shapes": cli_json("shapes", "--stack", loaded, "--json"),
        "state": cli_json("state", "fastcomments", "nK3vQ8zTfR", "--stack", loaded, "--json"),
    }

    # Then docs/local-stack.md names every field a script may read, for each of them
    for command, documents in printed.items():
        assert documents, command
        assert not undocumented(command, documents), command


def spread_over_days(runtime: LocalRuntime, secrets: dict[str, Any], days: int) -> list[str]:
    """Copies of an OpenWeb like received over the last ``days`` days, three a day, with their feed pages; the
    ``pk`` of each, newest received first."""
    publish_outputs(boto3.session.Session(region_name=runtime.stack.region), runtime)
    send(runtime, "openweb", SAMPLES_DIR / "openweb" / "liked-message.json", secrets)
    runtime.drain()
    dynamodb = boto3.client("dynamodb", region_name=runtime.stack.region)
    key = encode_item(event_key("openweb", "99225ef424a1a2632cb1aa065931ec288d341cf7"))
    like = decode_item(dynamodb.get_item(TableName=table(runtime), Key=key)["Item"])
    now = datetime.now(UTC)
    feed = PendingFeed()
    copies = []
    for number in range(days * 3):
        received = iso_millis(now - timedelta(hours=8 * number + 1))
        copy = {**like, "pk": f"openweb#day-{number:03d}", "received_at": received}
        dynamodb.put_item(TableName=table(runtime), Item=encode_item(copy))
        feed.add(copy)
        copies.append(copy)
    EventStore(table(runtime), dynamodb_client=dynamodb).put_feed(feed)
    return [copy["pk"] for copy in sorted(copies, key=lambda copy: copy["received_at"], reverse=True)]


def queries_held(monkeypatch: pytest.MonkeyPatch, hold: Any) -> None:
    """``hold(number)`` runs as each Query of the CLI's DynamoDB clients goes out (``number``: from 0), in the
    thread that sends it."""
    sent: list[int] = []
    lock = threading.Lock()

    def held(**_: Any) -> None:
        with lock:
            number = len(sent)
            sent.append(number)
        hold(number)

    hook_cli_clients(monkeypatch, "dynamodb", {"before-send.dynamodb.Query": held}, first=True)


def test_a_long_window_reads_several_days_at_once_and_lists_them_in_order(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given events over the last ten days, and the first queries of a read held until four are under way
    expected = spread_over_days(runtime, secrets, 10)
    together = threading.Barrier(4)

    def hold(number: int) -> None:
        if number < 4:
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait(timeout=20)

    queries_held(monkeypatch, hold)

    # When the window is listed
    listed = events(runtime.stack.name, "--since", "12d", "--limit", "1000")

    # Then four partitions were read at once, and the events are listed newest received first, as ever
    assert not together.broken
    ours = [f"{event['vendor']}#{event['event_id']}" for event in listed if event["event_id"].startswith("day-")]
    assert ours == expected


def test_ctrl_c_while_days_are_read_ahead_ends_the_read_without_waiting_for_them(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given events over ten days, and Ctrl-C pressed while a query of the read hangs
    spread_over_days(runtime, secrets, 10)
    released = threading.Event()
    answered: list[int] = []

    def hold(number: int) -> None:
        if number == 5:
            os.kill(os.getpid(), signal.SIGINT)
            released.wait(timeout=30)
            answered.append(number)

    queries_held(monkeypatch, hold)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # When the window is read
        code, text = cli("events", "--stack", runtime.stack.name, "--since", "12d")
    finally:
        signal.signal(signal.SIGINT, previous)
        still_hanging = not answered
        released.set()

    # Then the command ended with Ctrl-C's status while the query still hung, not once it was answered
    assert code == 130, text
    assert still_hanging
