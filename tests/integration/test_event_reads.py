"""The reads the data model serves, through keys and indexes, over the stored samples."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.samples import load_secrets, sample_files
from tests.helpers import reader, send, send_body
from webhook_intake.registry import VENDORS
from webhook_intake.store.reads import FeedFilter

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


@pytest.fixture(scope="module")
def loaded(shared_runtime: LocalRuntime) -> LocalRuntime:
    """Every sample stored once."""
    secrets = load_secrets()
    for key in VENDORS:
        for path in sample_files(key):
            send(shared_runtime, key, path, secrets)
    shared_runtime.drain()
    return shared_runtime


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(minutes=1)


def feed(runtime: LocalRuntime, limit: int = 500, **where: Any) -> list[dict[str, Any]]:
    since, until = window()
    return reader(runtime).feed(since, until, FeedFilter(**where), limit=limit)


def test_one_event_by_id(loaded: LocalRuntime) -> None:
    event = reader(loaded).get("openweb", "405eaadb6a03f22f006fce92ab8dda43742c5bfc")
    assert event is not None
    assert (event["event_type"], event["source_type"]) == ("user.followed", "user-followed")
    assert event["raw"]["follower"]["user_id"] == "u_jugx5j6Ais1i"


def test_an_event_read_back_names_the_fields_its_item_leaves_out_at_their_defaults(loaded: LocalRuntime) -> None:
    # The item is lean (no index 0, no time_source "vendor"); a read gives the normalized event whole.
    events = list(reader(loaded).scan())
    assert {event["time_source"] for event in events} == {"vendor", "received"}
    places = {event["index"] for event in events if event["vendor"] == "viafoura-engagement"}
    assert {0, 1} <= places
    assert {event["index"] for event in events if event["vendor"] == "openweb"} == {0}


def test_the_feed_lists_every_event_newest_first_and_leaves_tests_out(loaded: LocalRuntime) -> None:
    entries = feed(loaded)
    received = [entry["received_at"] for entry in entries]
    assert received == sorted(received, reverse=True)
    everything = list(reader(loaded).scan())
    assert len(entries) == len([event for event in everything if not event.get("test")])
    with_tests = feed(loaded, tests=True)
    assert len(with_tests) == len(everything)


def test_a_limit_is_a_limit(loaded: LocalRuntime) -> None:
    assert len(feed(loaded, limit=3)) == 3


def test_events_of_a_type_or_a_subject(loaded: LocalRuntime) -> None:
    liked = feed(loaded, event_types=("comment.liked",))
    assert {entry["vendor"] for entry in liked} == {"viafoura-engagement", "viafoura-notifications", "openweb"}
    assert all(entry["event_type"] == "comment.liked" for entry in liked)
    comments = feed(loaded, event_types=("comment.",))
    assert {entry["event_type"] for entry in comments} >= {"comment.created", "comment.liked", "comment.deleted"}
    assert all(entry["event_type"].startswith("comment.") for entry in comments)


def test_a_content_items_events(loaded: LocalRuntime) -> None:
    entries = feed(loaded, vendor="viafoura-engagement", content="a60db8cb-fe49-42d4-83f7-612414a39049")
    assert len(entries) == 14
    assert {entry["source_type"].partition(".")[0] for entry in entries} == {"livecomment_post"}


def test_a_containers_events(loaded: LocalRuntime) -> None:
    entries = feed(loaded, vendor="openweb", container="sp_Q9xT4mWz_harbor-bridge-2026")
    assert entries
    assert all(entry["container_id"] == "sp_Q9xT4mWz_harbor-bridge-2026" for entry in entries)


def test_a_users_events_as_actor_and_as_recipient(loaded: LocalRuntime) -> None:
    acted = feed(loaded, vendor="openweb", actor="u_jugx5j6Ais1i")
    assert [entry["source_type"] for entry in acted] == ["user-followed"]
    told = feed(loaded, vendor="viafoura-notifications", recipient="00000000-0000-4000-8000-0315a5271b00")
    # Erin is the second recipient of a multi-recipient notification: found all the same.
    assert "subscribed_page_content" in {entry["source_type"] for entry in told}


def test_a_window_before_the_events_finds_none(loaded: LocalRuntime) -> None:
    since = datetime.now(UTC) - timedelta(days=3)
    assert reader(loaded).feed(since, since + timedelta(days=1)) == []


def test_a_comments_current_state_and_the_events_behind_it(loaded: LocalRuntime, secrets: dict[str, Any]) -> None:
    state = reader(loaded).state("fastcomments", "nK3vQ8zTfR")
    assert state is not None
    assert (state.status, state.deleted) == ("deleted", True)
    assert state.events[0]["source_type"] == "comment-deleted"
    assert state.text is not None
    assert reader(loaded).state("openweb", "nK3vQ8zTfR") is None


def test_a_vendor_filter_keeps_to_that_vendor(loaded: LocalRuntime, secrets: dict[str, Any]) -> None:
    send_body(loaded, "firstup", {"id": "only-me", "name": "channel_created"}, secrets["firstup"])
    loaded.drain()
    entries = feed(loaded, vendor="firstup")
    assert entries and {entry["vendor"] for entry in entries} == {"firstup"}


def test_the_count_by_vendor_is_each_stored_event_once_and_nothing_else(loaded: LocalRuntime) -> None:
    # Given a table holding events, their feed pages, shapes and (for some samples) quarantined events
    events = list(reader(loaded).scan())
    # Then the key-only count names every vendor with exactly the events a full read lists
    counted = reader(loaded).count_by_vendor()
    assert counted == dict(Counter(event["vendor"] for event in events))
    assert set(counted) >= set(VENDORS)
