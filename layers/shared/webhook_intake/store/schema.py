"""The events table's keys and indexes, named once (template.yaml declares the same; a test compares).

docs/data-model.md explains the choices; in short:

- an event is one item, ``pk`` = ``<vendor>#<event_id>``, ``sk`` = ``event``, written once by a
  conditional ``PutItem``;
- ``by-time`` (the feed) holds every event under ``feed`` = ``<received day>#<shard>``, sorted
  by ``received_at``, with the few small attributes reads filter on: newest-first listings,
  and reads by type, content, container, actor or recipient over a time window;
- ``by-content`` holds only the events that change a comment's (or post's) state, under
  ``content_id``, sorted by ``state_order`` (``<rank>#<occurred_at>#<received_at>#<event_id>``):
  the current state is the first item of one ``Query`` (ids of two vendors are told apart by ``pk``);
- quarantined events live under ``pk`` = ``quarantine#<vendor>``, sorted by when received.
"""

from __future__ import annotations

from typing import Any

EVENT_SK = "event"
QUARANTINE_PREFIX = "quarantine#"
SHAPE_PREFIX = "shape#"

FEED_INDEX = "by-time"
FEED_KEY = "feed"
FEED_SORT = "received_at"
FEED_SHARDS = 4
"""Partitions per day of the feed: each takes about 1,000 writes per second. May only grow:
reads query shards 0 to FEED_SHARDS - 1 of every day, and a shard never written is empty."""
FEED_PROJECTED = (
    "event_type",
    "source_type",
    "occurred_at",
    "actor_id",
    "content_id",
    "container_id",
    "recipient_ids",
    "test",
)
"""What reads of the feed filter on and list (no text: entries stay small, a write unit each)."""

STATE_INDEX = "by-content"
STATE_KEY = "content_id"
STATE_SORT = "state_order"
STATE_PROJECTED = ("event_type", "source_type", "occurred_at")

INDEXES = {FEED_INDEX: (FEED_KEY, FEED_SORT, FEED_PROJECTED), STATE_INDEX: (STATE_KEY, STATE_SORT, STATE_PROJECTED)}


def feed_key(received_at: str, shard: int) -> str:
    """``2026-11-29#3``: one feed partition."""
    return f"{received_at[:10]}#{shard}"


def event_key(vendor: str, event_id: str) -> dict[str, str]:
    """The primary key of one event."""
    return {"pk": f"{vendor}#{event_id}", "sk": EVENT_SK}


def key_parts(item: dict[str, Any]) -> tuple[str, str]:
    """The vendor and event id an item's (or index entry's) ``pk`` names: :func:`event_key` read back."""
    vendor, _, event_id = str(item.get("pk", "")).partition("#")
    return vendor, event_id
