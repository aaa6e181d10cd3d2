"""The events table's keys and indexes, named once (template.yaml declares the same; a test compares).

docs/data-model.md explains the choices; in short:

- an event is one item, ``pk`` = ``<vendor>#<event_id>``, ``sk`` = ``event``, written once by a
  conditional ``PutItem``;
- the feed lists every event by when it was received, with the few small attributes reads filter
  on (newest-first listings, and reads by type, content, container, actor or recipient over a
  time window): not an index, whose entry would cost a write unit per event, but pages the
  consumer writes once per invocation, ``pk`` = ``feed#<received day>#<shard>``, ``sk`` =
  ``<received minute>#<page id>``, each holding the entries of many events (``store/feed.py``);
- ``by-content`` holds only the events that change a comment's (or post's) state, under
  ``content_id``, sorted by ``state_order`` (``<vendor>#<rank>#<occurred_at>#<received_at>#<index>#<event_id>``):
  the current state is the first item of one ``Query`` under the vendor's prefix (``Limit 1``);
- quarantined events live under ``pk`` = ``quarantine#<vendor>``, sorted by when received.
"""

from __future__ import annotations

import hashlib
from typing import Any

EVENT_SK = "event"
QUARANTINE_PREFIX = "quarantine#"
SHAPE_PREFIX = "shape#"

FEED_PREFIX = "feed#"
FEED_SHARDS = 4
"""Partitions per day of the feed: each takes about 1,000 write units a second (pages of many
events each). May only grow: reads query shards 0 to FEED_SHARDS - 1 of every day, and a shard
never written is empty."""
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
"""What reads of the feed filter on and list (no text: entries stay small, many to a page)."""

WRITE_ID = "write_id"
"""8 random bytes naming the consumer's put that wrote an event item: a put botocore sends again
after a lost answer finds its own item by them (any other put of the event, even of the very same
item, finds another's and is a duplicate)."""

STATE_INDEX = "by-content"
STATE_KEY = "content_id"
STATE_SORT = "state_order"
STATE_PROJECTED = ("event_type", "source_type", "occurred_at")

INDEXES = {STATE_INDEX: (STATE_KEY, STATE_SORT, STATE_PROJECTED)}


def feed_partition(day: str, shard: int) -> str:
    """``feed#2026-11-29#3``: one of a day's feed partitions (``day`` is ``YYYY-MM-DD``)."""
    return f"{FEED_PREFIX}{day}#{shard}"


PARTITION_KEY_MAX_BYTES = 2048
SORT_KEY_MAX_BYTES = 1024
"""DynamoDB's limits on a key value, in UTF-8 bytes (an index's keys too)."""
HASHED_ID_PREFIX = "sha256:"
EVENT_ID = "event_id"
"""The attribute that keeps an event's id when its key holds only the id's hash."""


def hashed_id(event_id: str) -> str:
    """What a key holds of an id too long for it: ``sha256:<hex>`` of the id's UTF-8."""
    return HASHED_ID_PREFIX + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


def event_key(vendor: str, event_id: str) -> dict[str, str]:
    """The primary key of one event: ``<vendor>#<event_id>``, or its hash when that is over DynamoDB's limit.

    An id within the ingest function's 512 characters can still be 2 KB of UTF-8 (and an id
    made of the vendor's and more, longer): such an event is stored under its id's hash, with
    the id itself in ``event_id``. Every other key is the id itself, as it always was.
    """
    pk = f"{vendor}#{event_id}"
    if not fits_a_key(pk):
        pk = f"{vendor}#{hashed_id(event_id)}"
    return {"pk": pk, "sk": EVENT_SK}


def fits_a_key(pk: str) -> bool:
    """Whether DynamoDB takes ``pk`` as a partition key (its UTF-8 within the limit; most keys are short)."""
    return len(pk) * 4 <= PARTITION_KEY_MAX_BYTES or len(pk.encode("utf-8", "surrogatepass")) <= PARTITION_KEY_MAX_BYTES


def key_parts(item: dict[str, Any]) -> tuple[str, str]:
    """The vendor and event id an item (or index entry) names: :func:`event_key` read back.

    An index entry of an event keyed by its id's hash names the hash (its item has the id).
    """
    vendor, _, event_id = str(item.get("pk", "")).partition("#")
    kept = item.get(EVENT_ID)
    return vendor, kept if isinstance(kept, str) else event_id
