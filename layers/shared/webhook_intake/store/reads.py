"""Reading the event log back: one event, the feed over a time window, a comment's current state.

Every read goes through a key or an index (docs/data-model.md, "Reads"); :meth:`EventReader.scan`
is there for tools that explicitly ask for the whole table.
"""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import json
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from webhook_intake.payloads import PayloadError
from webhook_intake.registry import UnknownVendorError
from webhook_intake.store.body import BodyFormatError
from webhook_intake.store.feed import ENTRY_FIELDS, bucket_of, entry_of, page_entries
from webhook_intake.store.items import EXPIRES_AT, expired, load_body
from webhook_intake.store.schema import (
    EVENT_SK,
    FEED_SHARDS,
    STATE_INDEX,
    STATE_KEY,
    STATE_SORT,
    WRITE_ID,
    event_key,
    feed_partition,
    key_parts,
)
from webhook_intake.store.table import TableAccess
from webhook_intake.store.wire import decode_item, encode, encode_item
from webhook_intake.taxonomy import TOMBSTONES
from webhook_intake.text import clean_json, may_escape_a_surrogate
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from mypy_boto3_dynamodb.paginator import QueryPaginator
    from mypy_boto3_dynamodb.type_defs import QueryOutputTypeDef

_T = TypeVar("_T")


@dataclass(frozen=True)
class FeedFilter:
    """What a feed read keeps: all of the given conditions (ids are the vendor's own)."""

    vendor: str | None = None
    event_types: tuple[str, ...] = ()
    """Exact types, or ``subject.`` prefixes (``comment.`` is every comment event)."""
    content: str | None = None
    container: str | None = None
    actor: str | None = None
    recipient: str | None = None
    tests: bool = False
    """Include events marked as tests (left out otherwise)."""

    def keeps(self, entry: dict[str, Any]) -> bool:
        """Whether a feed entry, or an event (an item, or one decoded), meets every condition."""
        if self.vendor and (entry.get("vendor") or key_parts(entry)[0]) != self.vendor:
            return False
        kind = str(entry.get("event_type", ""))
        if self.event_types and not any(
            kind.startswith(wanted) if wanted.endswith(".") else kind == wanted for wanted in self.event_types
        ):
            return False
        for name, wanted in (("content_id", self.content), ("container_id", self.container), ("actor_id", self.actor)):
            if wanted and entry.get(name) != wanted:
                return False
        if self.recipient and self.recipient not in (entry.get("recipient_ids") or ()):
            return False
        return self.tests or not entry.get("test")


@dataclass
class CurrentState:
    """A comment's current state and the events behind it, newest first."""

    vendor: str
    content_id: str
    status: str
    deleted: bool
    event: dict[str, Any]
    """The event the state is (the newest, or the tombstone)."""
    text: str | None
    """The newest text among the state's events that carry one (a moderation event may carry none), empty included."""
    events: list[dict[str, Any]] = field(default_factory=list)


def _days(since: datetime, until: datetime) -> list[str]:
    """``YYYY-MM-DD`` of every day from ``until`` back to ``since``."""
    days = []
    day = until.astimezone(UTC).date()
    first = since.astimezone(UTC).date()
    while day >= first:
        days.append(day.isoformat())
        day -= timedelta(days=1)
    return days


class EventReader(TableAccess):
    """The events table's read side."""

    client_config = None

    def get(self, vendor: str, event_id: str) -> dict[str, Any] | None:
        """One event by vendor and id, decoded (see :func:`decode`)."""
        key = encode_item(event_key(vendor, event_id))
        item = self.dynamodb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        plain = decode_item(item) if item else None
        return self.decode(plain) if plain is not None and not expired(plain, time.time()) else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Events by ``(vendor, event_id)``, in the order asked (missing ones left out)."""
        asked = [event_key(vendor, event_id)["pk"] for vendor, event_id in dict.fromkeys(keys)]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(asked), BATCH_GET_MAX):
            found.update(self.items(asked[start : start + BATCH_GET_MAX]))
        return [self.decode(found[pk]) for pk in asked if pk in found]

    def items(self, keys: list[str], attributes: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
        """The event items of up to 100 ``pk`` values (plain values, by ``pk``): all of them, or ``attributes``.

        An item past its ``expires_at`` is left out, as one DynamoDB's TTL has deleted.
        """
        wanted: dict[str, Any] = {"Keys": [{"pk": encode(pk), "sk": encode(EVENT_SK)} for pk in dict.fromkeys(keys)]}
        if attributes:
            names = {f"#a{position}": name for position, name in enumerate(dict.fromkeys((*attributes, EXPIRES_AT)))}
            wanted.update(ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)
        items: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self.table_name: wanted}
        now = time.time()
        while request:
            response = self.dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table_name, []):
                plain = decode_item(item)
                if not expired(plain, now):
                    items[str(plain["pk"])] = plain
            request = dict(response.get("UnprocessedKeys") or {})
        return items

    def feed(
        self,
        since: datetime,
        until: datetime,
        where: FeedFilter | None = None,
        limit: int = 50,
        day_read: Callable[[str], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Events received in [since, until] that ``where`` keeps, newest first, at most ``limit``: their feed
        entries as the events' items now hold them (keys, times, types, the ids reads filter on; no text).
        ``day_read`` hears each day (``YYYY-MM-DD``) once its pages are read, as :meth:`entries` says."""
        return list(itertools.islice(self.entries(since, until, where, day_read), limit))

    def entries(
        self,
        since: datetime,
        until: datetime,
        where: FeedFilter | None = None,
        day_read: Callable[[str], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`feed` as it reads, for a caller that goes through a whole window: each entry comes as soon as
        its batch is checked, never after the rest of the window was read.

        The pages of each day's shards are read newest first and merged; each entry is checked
        against its event's item (``store/feed.py``: an entry may name a copy since replaced, or
        values since rewritten), and an event is listed once. ``day_read`` hears each day once all of
        its entries were read (a read that stops early, at its limit, leaves the rest unheard).
        """
        for entry, _ in self._listed(since, until, where, day_read, ENTRY_FIELDS):
            yield entry

    def stored(
        self,
        since: datetime,
        until: datetime,
        where: FeedFilter | None = None,
        day_read: Callable[[str], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`entries` as their events' whole items (plain values, ``body`` still compressed), for a caller
        that wants the events themselves (``intake events --json``, ``intake replay``).

        The check of each entry reads the whole item instead of the entry's attributes: a BatchGetItem is billed
        by the size of the items it reads whatever it returns, and the events need no second read.
        """
        for _, item in self._listed(since, until, where, day_read, ()):
            yield item

    def feed_events(
        self,
        since: datetime,
        until: datetime,
        where: FeedFilter | None = None,
        limit: int = 50,
        day_read: Callable[[str], None] | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`feed`'s events whole, decoded (see :meth:`decode`)."""
        return [self.decode(item) for item in itertools.islice(self.stored(since, until, where, day_read), limit)]

    def _listed(
        self,
        since: datetime,
        until: datetime,
        where: FeedFilter | None,
        day_read: Callable[[str], None] | None,
        attributes: tuple[str, ...],
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """Each event of the window ``where`` keeps, newest first, once: its entry, and its item as the check
        read it (``attributes``, or all of them)."""
        where = where or FeedFilter()
        # Receive times are whole milliseconds: a bound between two is the one inside the window.
        window = (iso_millis(since + timedelta(microseconds=999)), iso_millis(until))
        if window[0] > window[1]:  # (within one millisecond, holding none)
            return
        listed: set[str] = set()
        days = _days(since, until)
        # Made here, once: the threads that read ahead share it (a client is thread-safe, making one is not)
        query = self.dynamodb.get_paginator("query")
        partitions = _read_ahead(
            (
                functools.partial(self._partition_pages, query, feed_partition(day, shard), window)
                for day in days
                for shard in range(FEED_SHARDS)
            ),
            READ_AHEAD,
        )
        for day in days:
            streams = [self._feed_partition(next(partitions), window, where) for _ in range(FEED_SHARDS)]
            merged = heapq.merge(*streams, key=newest_first, reverse=True)
            while candidates := list(itertools.islice(merged, BATCH_GET_MAX)):
                for entry, item in self._current(candidates, where, attributes):
                    if entry["pk"] in listed:
                        continue
                    listed.add(entry["pk"])
                    yield _entry(entry), item
            if day_read is not None:
                day_read(day)

    def _partition_pages(
        self, query: QueryPaginator, partition: str, window: tuple[str, str]
    ) -> Iterator[QueryOutputTypeDef]:
        """The query pages of one feed partition within ``window``, newest first: the first one read now, the
        rest as they are taken."""
        low, high = window
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :partition AND sk BETWEEN :low AND :high",
            # A page past its expiry holds only expired entries (it expires with the last of them)
            **_live(
                {
                    ":partition": encode(partition),
                    ":low": encode(bucket_of(low)),
                    ":high": encode(bucket_of(high) + "#~"),
                }
            ),
            "ScanIndexForward": False,
        }
        pages = iter(query.paginate(**request))
        first = next(pages, None)
        return itertools.chain(() if first is None else (first,), pages)

    def _feed_partition(
        self, pages: Iterator[QueryOutputTypeDef], window: tuple[str, str], where: FeedFilter
    ) -> Iterator[dict[str, Any]]:
        """The entries of one feed partition's ``pages`` within ``window`` that ``where`` keeps, newest first.

        Pages are sorted by the minute their entries were received in; within a minute, the
        entries of all its pages are sorted together.
        """
        low, high = window
        minute, held = "", list[dict[str, Any]]()
        for response in pages:
            for item in response.get("Items", []):
                page = decode_item(item)
                if bucket_of(str(page["sk"])) != minute:
                    yield from sorted(held, key=newest_first, reverse=True)
                    minute, held = bucket_of(str(page["sk"])), []
                held += [
                    entry
                    for entry in page_entries(page)
                    if low <= str(entry.get("received_at", "")) <= high and where.keeps(entry)
                ]
        yield from sorted(held, key=newest_first, reverse=True)

    def _current(
        self, candidates: list[dict[str, Any]], where: FeedFilter, attributes: tuple[str, ...] = ENTRY_FIELDS
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Of ``candidates`` (entries, in order), those whose event is stored as the entry's copy and
        still meets ``where``: the entry as the item holds it now, and the item (``attributes`` of it, or all)."""
        items = self.items([str(entry["pk"]) for entry in candidates], attributes)
        kept = []
        for entry in candidates:
            item = items.get(str(entry["pk"]))
            if item is not None and item.get("received_at") == entry.get("received_at") and where.keeps(item):
                kept.append((entry_of(item), item))
        return kept

    def state(self, vendor: str, content_id: str) -> CurrentState | None:
        """A comment's current state: its newest state event (a tombstone first), with the events behind it."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATE_INDEX,
            # The vendor's state events only, newest first: the first is the state
            "KeyConditionExpression": "#content = :content AND begins_with(#order, :vendor)",
            "ExpressionAttributeNames": {"#content": STATE_KEY, "#order": STATE_SORT},
            "ExpressionAttributeValues": {":content": encode(content_id), ":vendor": encode(f"{vendor}#")},
            "ScanIndexForward": False,
        }
        entries: list[dict[str, Any]] = []
        for response in self.dynamodb.get_paginator("query").paginate(**request):
            entries += [_entry(decode_item(item)) for item in response.get("Items", [])]
        if not entries:
            return None
        events = self.get_many((str(entry["vendor"]), str(entry["event_id"])) for entry in entries)
        if not events:
            return None
        newest = events[0]
        # An edit down to no text (an image alone) is the newest text: empty, not the one before it.
        text = next((event["content"]["text"] for event in events if "text" in (event.get("content") or {})), None)
        return CurrentState(
            vendor=vendor,
            content_id=content_id,
            status=str(newest["event_type"]).partition(".")[2] or str(newest["event_type"]),
            deleted=newest["event_type"] in TOMBSTONES,
            event=newest,
            text=text,
            events=events,
        )

    def scan(self) -> Iterator[dict[str, Any]]:
        """Every event of the table, decoded (a full scan, for tools that ask for one)."""
        for item in self.scan_items():
            yield self.decode(item)

    def scan_items(self) -> Iterator[dict[str, Any]]:
        """Every event item of the table as stored (plain values, ``body`` still compressed): a full scan for a
        tool that drops some by their attributes before it decodes the rest (:meth:`decode`)."""
        for page in self._event_pages():
            for item in page:
                yield decode_item(item)

    def count_by_vendor(self, progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """How many events each vendor has stored: a full scan that reads back only their keys (nothing decoded).

        ``progress`` hears the count so far after each page of the scan."""
        counts: Counter[str] = Counter()
        for page in self._event_pages(ProjectionExpression="pk"):
            counts.update(key_parts(decode_item(item))[0] for item in page)
            if progress is not None:
                progress(counts.total())
        return dict(counts)

    def _event_pages(self, **scan: Any) -> Iterator[list[dict[str, Any]]]:
        """The event items of the whole table (a full scan), a page at a time, as DynamoDB gives them."""
        paginator = self.dynamodb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            **_live({":event": encode(EVENT_SK)}, "sk = :event"),
            **scan,
        ):
            yield page.get("Items", [])

    def decode(self, item: dict[str, Any]) -> dict[str, Any]:
        """A stored event as the normalized event's fields (``raw`` parsed as JSON, ``raw_text`` exact)."""
        event = _entry(item)
        body = self._body(item, event)
        # (feed: a key on items stored before the pages)
        for name in ("body", "body_ref", STATE_SORT, WRITE_ID, "feed"):
            event.pop(name, None)
        if body is not None:
            parts, raw = body
            event.update(parts)
            event["raw_text"] = raw_text = raw.decode("utf-8")
            try:
                document = json.loads(raw_text)
            except (ValueError, RecursionError):
                event["raw"] = raw_text
            else:
                # As every other field: a lone surrogate an escape makes reads as U+FFFD (raw_text is exact).
                event["raw"] = clean_json(document) if may_escape_a_surrogate(raw_text) else document
        for name, key in (("actor", "actor_id"), ("content", "content_id"), ("container", "container_id")):
            if name in event or key in event:
                event[name] = {**({"id": event[key]} if key in event else {}), **event.get(name, {})}
        if "recipient_ids" in event:
            event["recipient_ids"] = sorted(event["recipient_ids"])
        self._recipients(event)
        event.setdefault("time_source", "vendor")
        event.setdefault("index", 0)
        return event

    def _body(self, item: dict[str, Any], event: dict[str, Any]) -> tuple[dict[str, Any], bytes] | None:
        """The item's parts and raw bytes; None when they cannot be read (``body_error`` says why, if known)."""
        try:
            return load_body(item, self._payloads)
        except (BodyFormatError, ValueError):
            return None
        except UnknownVendorError:  # its package was taken out, and the dictionary its body was compressed with
            event["body_error"] = f"{event['vendor']} is no longer registered: its body cannot be read"
        except PayloadError as exc:  # its body object is gone (or S3 failed): the rest of the event still reads
            event["body_error"] = str(exc)
        return None

    def _recipients(self, event: dict[str, Any]) -> None:
        """A list of recipients kept in S3 (``recipients_ref``) read back as the event's ``recipients``."""
        reference = event.get("recipients_ref")
        if not isinstance(reference, str) or "recipients" in event or self._payloads is None:
            return
        try:
            event["recipients"] = json.loads(self._payloads.get_object(reference))
        except (PayloadError, ValueError) as exc:
            event["recipients_error"] = str(exc)


BATCH_GET_MAX = 100
"""Keys one BatchGetItem takes (events read by key, feed entries checked against their items)."""
_LIVE = "(attribute_not_exists(#expires) OR #expires > :now)"
"""What a read keeps of a query or a scan (a filter: no extra read): an item not past its ``expires_at``, which
DynamoDB's TTL deletes only within days of it."""


READ_AHEAD = 8
"""Feed partitions (two days of four shards) read at once, ahead of the one being merged: a long window of quiet
days waits on a round trip per eight partitions, not per partition, and a read stopped at its limit has read at
most this many first pages it did not need."""


def _read_ahead(reads: Iterable[Callable[[], _T]], most: int) -> Iterator[_T]:
    """The results of ``reads``, in their order, each run on a thread of its own, at most ``most`` at once.

    A result is taken when it is needed, and ``most`` are under way meanwhile. The threads are daemons: Ctrl-C
    ends the command at once, not after the requests they have in flight, whose answers nothing waits for.
    """
    calls = iter(reads)
    pending: collections.deque[Future[_T]] = collections.deque()
    try:
        while True:
            while len(pending) < most and (call := next(calls, None)) is not None:
                pending.append(_started(call))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def _started(call: Callable[[], _T]) -> Future[_T]:
    """``call`` run on a daemon thread of its own, as a future."""
    future: Future[_T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(call())
        except BaseException as exc:  # the reader takes it where it takes the result
            future.set_exception(exc)

    threading.Thread(target=run, name="feed-read", daemon=True).start()
    return future


def _live(values: dict[str, Any], condition: str = "") -> dict[str, Any]:
    """A query's or scan's filter: ``condition`` (if any) and an item not past its expiry now, with the names and
    values they read (``values``: the request's own, encoded, :now added)."""
    return {
        "FilterExpression": f"{condition} AND {_LIVE}" if condition else _LIVE,
        "ExpressionAttributeNames": {"#expires": EXPIRES_AT},
        "ExpressionAttributeValues": {**values, ":now": encode(int(time.time()))},
    }


def newest_first(entry: dict[str, Any]) -> tuple[str, str, str]:
    """The feed's order, read in reverse: receive time, then vendor and event id (an entry or an event)."""
    vendor, event_id = (entry["vendor"], entry["event_id"]) if "vendor" in entry else key_parts(entry)
    return str(entry.get("received_at", "")), str(vendor), str(event_id)


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    """An item (or an index entry) with ``vendor`` and ``event_id`` read from its key."""
    vendor, event_id = key_parts(item)
    return {"vendor": vendor, "event_id": event_id, **{k: v for k, v in item.items() if k not in ("pk", "sk")}}
