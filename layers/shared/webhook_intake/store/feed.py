"""The feed: every stored event's entry, by when it was received, written a page at a time.

An index entry per event would cost a write unit per event, however small the entry. The
consumer instead collects the entries of the events one invocation stored and writes them as
a few *pages*: items of the events table, ``pk`` = ``feed#<received day>#<shard>``, ``sk`` =
``<received minute>#<page id>``, each holding the compressed entries of one minute's events
(keys, times, types and the ids reads filter on: ``FEED_PROJECTED``). A batch of ten
single-event records is usually one page of one or two write units. They are written at the
invocation's end, or as it goes once it owes many (a batch received over many minutes).

An entry names a copy of an event (its key and receive time), and is written after the event:

- again whenever the copy stored is found again as this copy (an SQS redelivery, a retry
  after a page could not be written), so an entry is never missing for long: a record whose
  entries are not written is retried;
- anew when another copy takes the event's place (an earlier copy, the vendor's copy over a
  test copy) or ``intake replay`` rewrites it (replay writes the new entry first): the entry of
  the copy replaced stays in its page.

Readers therefore take an entry for a candidate only: each is checked against the event's
item (the same receive time, and the read's filter on the item's own values), and an event is
listed once (``EventReader.feed``).
"""

from __future__ import annotations

import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from webhook_intake.store.schema import EVENT_ID, FEED_PROJECTED, FEED_SHARDS, feed_partition

ENTRY_FIELDS = ("pk", EVENT_ID, "received_at", *FEED_PROJECTED)
"""An entry: what names the copy (key, receive time) and what reads filter on and list."""
PAGE_RAW_MAX_BYTES = 300 * 1024
"""Entries of one page, as JSON, before compression: a page stays under DynamoDB's 400 KB item
(one entry alone is at most its 256 KB of recipient ids and a few hundred bytes)."""
ENTRIES = "entries"
_FORMAT = 1
_WBITS = -15
_DICTIONARY = (
    b'[{"pk":"viafoura-engagement#","received_at":"20","event_type":"comment.created",'
    b'"source_type":"","occurred_at":"20","actor_id":"","content_id":"","container_id":"",'
    b'"recipient_ids":[""],"test":true},{"pk":"viafoura-notifications#","event_type":"reply.'
    b'"},{"pk":"fastcomments#"},{"pk":"openweb#"},{"pk":"firstup#","event_type":"content.'
)
"""Frozen with format 1: the field names every page repeats, for the small pages most are."""


class FeedFormatError(ValueError):
    """A page in a format this code cannot read."""


def entry_of(item: dict[str, Any]) -> dict[str, Any]:
    """An event item's feed entry (plain values; a set of ids as a sorted list)."""
    entry: dict[str, Any] = {}
    for name in ENTRY_FIELDS:
        value = item.get(name)
        if value is None or value == "":
            continue
        entry[name] = sorted(value) if isinstance(value, set | frozenset) else value
    return entry


def bucket_of(received_at: str) -> str:
    """``2026-11-29T08:01``: the minute a page's entries were received in."""
    return received_at[:16]


@dataclass(frozen=True)
class FeedPage:
    """A page item (plain values), the records (SQS message ids) that owe its entries, and the
    events (``pk``) they name."""

    item: dict[str, Any]
    records: frozenset[str]
    events: tuple[str, ...]


@dataclass
class _Pending:
    pk: str
    encoded: bytes
    expires: int | None
    records: set[str] = field(default_factory=set)


class PendingFeed:
    """The entries one invocation (or one replay) owes the feed, grouped into the pages they go in."""

    def __init__(self) -> None:
        self._minutes: dict[str, dict[tuple[str, str], _Pending]] = {}
        self._copies: dict[str, tuple[str, tuple[str, str]]] = {}
        """Each event's entry (``pk``: its minute and key): another copy's replaces it."""
        self._bytes = 0

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._minutes.values())

    @property
    def pages_owed(self) -> int:
        """About how many pages :meth:`pages` would make (a page a minute, more for a full one); never fewer."""
        return len(self._minutes) + self._bytes // PAGE_RAW_MAX_BYTES

    def take(self) -> list[FeedPage]:
        """The pages of every entry owed so far, which are then owed no more (an entry added later starts anew)."""
        pages = self.pages()
        self._minutes, self._copies, self._bytes = {}, {}, 0
        return pages

    def add(self, item: dict[str, Any], record: str = "") -> None:
        """The entry of an event item as it is stored, owed by ``record``.

        One entry per event: the same copy added again is one entry owed by both records; another
        copy (an earlier one that took this one's place) replaces it, and its records owe nothing.
        """
        entry = entry_of(item)
        received = str(entry.get("received_at", ""))
        # ASCII escapes: whatever an id holds, the page is written (an item's text is cleaned, but
        # a failure here would fail the whole invocation's records).
        encoded = json.dumps(entry, separators=(",", ":")).encode("ascii")
        expires = item.get("expires_at")
        pk, minute = str(entry.get("pk", "")), bucket_of(received)
        key = (pk, received)
        if pk in self._copies and self._copies[pk] != (minute, key):
            earlier_minute, earlier_key = self._copies[pk]
            del self._minutes[earlier_minute][earlier_key]
        self._copies[pk] = (minute, key)
        entries = self._minutes.setdefault(minute, {})
        owed_by = entries[key].records if key in entries else set()
        entries[key] = _Pending(pk, encoded, expires if isinstance(expires, int) else None, owed_by)
        self._bytes += len(encoded) + 1
        if record:
            owed_by.add(record)

    def pages(self) -> list[FeedPage]:
        """The pages that hold every entry, each under DynamoDB's item limit.

        A page expires with the last of its events (``RetentionDays``), and never when one of them
        is kept for ever; entries whose event has expired before are left out by readers.
        """
        pages: list[FeedPage] = []
        for minute, entries in sorted(self._minutes.items()):
            chunk: list[_Pending] = []
            size = 0
            for pending in entries.values():
                if chunk and size + len(pending.encoded) + 1 > PAGE_RAW_MAX_BYTES:
                    pages.append(_page(minute, chunk))
                    chunk, size = [], 0
                chunk.append(pending)
                size += len(pending.encoded) + 1
            if chunk:
                pages.append(_page(minute, chunk))
        return pages


def _page(minute: str, chunk: list[_Pending]) -> FeedPage:
    page_id = secrets.token_hex(8)
    shard = int(page_id[:4], 16) % FEED_SHARDS
    compressor = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 9, zdict=_DICTIONARY)
    body = compressor.compress(b"[" + b",".join(pending.encoded for pending in chunk) + b"]") + compressor.flush()
    page: dict[str, Any] = {
        "pk": feed_partition(minute[:10], shard),
        "sk": f"{minute}#{page_id}",
        ENTRIES: bytes([_FORMAT]) + body,
        "count": len(chunk),
    }
    expiries = [pending.expires for pending in chunk]
    if all(expires is not None for expires in expiries):
        page["expires_at"] = max(expires for expires in expiries if expires is not None)
    records = frozenset(record for pending in chunk for record in pending.records)
    return FeedPage(page, records, tuple(pending.pk for pending in chunk))


def page_entries(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries a page item (plain values) holds."""
    body = page.get(ENTRIES)
    if not isinstance(body, bytes) or not body or body[0] != _FORMAT:
        raise FeedFormatError("a feed page in a format this code cannot read")
    decompressor = zlib.decompressobj(_WBITS, zdict=_DICTIONARY)
    document = json.loads(decompressor.decompress(body[1:]) + decompressor.flush())
    return [entry for entry in document if isinstance(entry, dict)] if isinstance(document, list) else []
