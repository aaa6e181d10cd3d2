"""Feed pages: entries grouped by the minute they were received in, each page within DynamoDB's item limit."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_intake.store.feed import PAGE_RAW_MAX_BYTES, FeedFormatError, PendingFeed, entry_of, page_entries
from webhook_intake.store.reads import EventReader
from webhook_intake.store.schema import FEED_SHARDS
from webhook_intake.store.wire import ITEM_LIMIT_BYTES, item_size


def event_item(event_id: str, received_at: str = "2026-11-30T08:01:02.345Z", **more: Any) -> dict[str, Any]:
    return {
        "pk": f"openweb#{event_id}",
        "sk": "event",
        "event_type": "comment.liked",
        "source_type": "liked-message",
        "occurred_at": "2026-11-30T08:01:00.000Z",
        "received_at": received_at,
        "body": b"not in an entry",
        **more,
    }


def test_an_entry_holds_the_key_times_types_and_filtered_ids_and_no_body() -> None:
    item = event_item("e", actor_id="u", recipient_ids=frozenset({"b", "a"}), test=True, correlation_id="c")
    assert entry_of(item) == {
        "pk": "openweb#e",
        "received_at": "2026-11-30T08:01:02.345Z",
        "event_type": "comment.liked",
        "source_type": "liked-message",
        "occurred_at": "2026-11-30T08:01:00.000Z",
        "actor_id": "u",
        "recipient_ids": ["a", "b"],
        "test": True,
    }


def test_the_entries_of_one_minute_share_a_page_and_read_back() -> None:
    feed = PendingFeed()
    items = [event_item(f"e{n}", f"2026-11-30T08:01:{n:02}.000Z") for n in range(10)]
    for item in items:
        feed.add(item)
    (written,) = feed.pages()
    page = written.item
    assert page["pk"].startswith("feed#2026-11-30#")
    assert 0 <= int(page["pk"].rpartition("#")[2]) < FEED_SHARDS
    assert page["sk"].startswith("2026-11-30T08:01#")
    assert page["count"] == 10
    assert page_entries(page) == [entry_of(item) for item in items]
    assert item_size(page) <= 1024  # ten entries: one write unit


def test_entries_of_other_minutes_go_in_other_pages_sorted_by_minute() -> None:
    feed = PendingFeed()
    for received in ("2026-11-30T08:02:00.000Z", "2026-11-30T08:01:59.999Z", "2026-11-29T23:59:59.999Z"):
        feed.add(event_item(received, received))
    pages = [page.item for page in feed.pages()]
    assert [page["sk"][:16] for page in pages] == ["2026-11-29T23:59", "2026-11-30T08:01", "2026-11-30T08:02"]
    assert [page["pk"][:15] for page in pages] == ["feed#2026-11-29", "feed#2026-11-30", "feed#2026-11-30"]


def test_a_copy_added_twice_is_one_entry_and_another_copy_replaces_it() -> None:
    feed = PendingFeed()
    feed.add(event_item("same"), "record-1")
    feed.add(event_item("same"), "record-2")
    (page,) = feed.pages()
    assert [entry["received_at"] for entry in page_entries(page.item)] == ["2026-11-30T08:01:02.345Z"]
    assert page.records == {"record-1", "record-2"}  # the records that owe its entry
    assert page.events == ("openweb#same",)
    # An earlier copy took its place (in another minute): only its entry is owed, by its record
    feed.add(event_item("same", "2026-11-30T08:00:09.000Z"), "record-3")
    (page,) = feed.pages()
    assert [entry["received_at"] for entry in page_entries(page.item)] == ["2026-11-30T08:00:09.000Z"]
    assert page.records == {"record-3"}


def test_many_large_entries_are_split_into_pages_under_the_item_limit() -> None:
    feed = PendingFeed()
    # Recipient ids do not compress: 60 events of 12 KB of random ids each, 720 KB of entries
    ids = [
        frozenset(f"{n:03}-{index:04}-{hash((n, index)) & 0xFFFFFFFF:08x}" for index in range(600)) for n in range(60)
    ]
    for n, recipients in enumerate(ids):
        feed.add(event_item(f"big-{n}", recipient_ids=recipients))
    pages = [page.item for page in feed.pages()]
    assert len(pages) >= 3
    assert all(item_size(page) < ITEM_LIMIT_BYTES for page in pages)
    assert sum(page["count"] for page in pages) == 60
    assert sorted(entry["pk"] for page in pages for entry in page_entries(page)) == sorted(
        f"openweb#big-{n}" for n in range(60)
    )
    assert PAGE_RAW_MAX_BYTES < ITEM_LIMIT_BYTES


@pytest.mark.parametrize("kept_for_ever_first", [True, False])
def test_a_page_expires_with_the_last_of_its_events_or_never(kept_for_ever_first: bool) -> None:
    feed = PendingFeed()
    feed.add(event_item("a", expires_at=1_900_000_100))
    feed.add(event_item("b", "2026-11-30T08:01:03.000Z", expires_at=1_900_000_000))
    (page,) = feed.pages()
    assert page.item["expires_at"] == 1_900_000_100
    # An event kept for ever (stored before RetentionDays was set, redelivered) keeps its page for ever
    mixed = PendingFeed()
    items = [event_item("c", "2026-11-30T08:01:04.000Z"), event_item("d", expires_at=1_900_000_100)]
    for item in items if kept_for_ever_first else reversed(items):
        mixed.add(item)
    (page,) = mixed.pages()
    assert "expires_at" not in page.item


def test_ids_of_any_text_are_written_and_read_back() -> None:
    feed = PendingFeed()
    item = event_item("日本語-\ud800", actor_id="ü")
    feed.add(item)
    assert page_entries(feed.pages()[0].item) == [entry_of(item)]


def test_a_page_of_an_unknown_format_says_so() -> None:
    with pytest.raises(FeedFormatError):
        page_entries({"entries": b"\x09abc"})


def test_an_event_stored_with_the_older_feed_key_reads_without_it() -> None:
    item = event_item("old", feed="2026-11-30#2")
    del item["body"]
    event = EventReader("events").decode(item)
    assert "feed" not in event
    assert (event["vendor"], event["event_id"]) == ("openweb", "old")
