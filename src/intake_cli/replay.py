"""``intake replay``: stored events normalized again from their raw bytes, so a mapping fix reaches them.

A redrive can only send back what never got stored; a fix to a vendor's mapping must also
reach the events stored before it. Replay reads each event's exact raw bytes from its item,
runs the vendor's normalizer over them again with the delivery rebuilt from the item, and
rewrites the item under its own key, on the condition that it is still the copy read (its
``received_at`` and test mark: it never creates one, and a copy put in its place meanwhile stays).

What never changes: the event's identity (vendor and event id: an event whose id would
change is refused), when it was received, its correlation and delivery ids, its test mark,
its expiry, and its times. The time model reads inputs of the delivery that the item does
not keep (a FastComments update's signing-time header, a Viafoura batch's own ``time``), so
replay keeps each event's ``occurred_at``, ``time_source`` and ``time_rejected`` as stored.

It is idempotent: an event the normalizer maps as stored is left alone, so a second run
writes nothing. An event whose feed entry changes (its type, its ids) gets a new entry, written
(a page per hundred events) before the events are; readers check every entry against its
item. A plan (what would change) comes first; writes go at ``rate`` per second.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.event_log import Window, payloads, reader, reading
from intake_cli.target import aws_problem
from webhook_intake.delivery import TEST_HEADER, Delivery
from webhook_intake.payloads import PayloadError
from webhook_intake.registry import UnknownVendorError
from webhook_intake.registry import vendor as vendor_spec
from webhook_intake.store.body import BodyFormatError, decode_body
from webhook_intake.store.events import EventStore, StoreError, still_the_copy
from webhook_intake.store.feed import PendingFeed, entry_of
from webhook_intake.store.items import TooLargeError, body_of, load_body, part_content, prepare, retention_of
from webhook_intake.store.reads import BATCH_GET_MAX, EventReader
from webhook_intake.store.schema import WRITE_ID, event_key, key_parts
from webhook_intake.store.wire import encode_item

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from intake_cli.target import Target
    from webhook_intake.consumer.models import NormalizedEvent
    from webhook_intake.consumer.normalizing import Rejected
    from webhook_intake.store.items import Prepared
    from webhook_intake.store.reads import FeedFilter

KEPT_AS_STORED = ("occurred_at", "time_source", "time_rejected")
"""The time model's results: their inputs are not all in the item (see the module's docstring)."""
_FEED_PAGE_EVERY = 100
"""Rewritten events whose new feed entries are written together (a page, or a few)."""


@dataclass(frozen=True)
class Change:
    """One event that a replay rewrites: its key, and which attributes differ."""

    vendor: str
    event_id: str
    before_type: str
    after_type: str
    fields: tuple[str, ...]


@dataclass
class Plan:
    """What a replay would do."""

    matched: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)
    """(vendor, event id, why) of events replay leaves as they are."""

    def summary(self) -> dict[str, Any]:
        """Counts, and what changes how often."""
        types = Counter(
            f"{change.before_type} -> {change.after_type}"
            for change in self.changes
            if change.before_type != change.after_type
        )
        fields = Counter(name for change in self.changes for name in change.fields)
        return {
            "matched": self.matched,
            "would_change": len(self.changes),
            "unchanged": self.unchanged,
            "refused": len(self.refused),
            "type_changes": dict(types.most_common()),
            "fields_changed": dict(fields.most_common()),
        }


@dataclass
class Result:
    """What a replay wrote."""

    rewritten: int = 0
    unchanged: int = 0
    gone: int = 0
    refused: list[tuple[str, str, str]] = field(default_factory=list)


class ReplayError(RuntimeError):
    """An event cannot be replayed (its message says why; never payload values)."""


def delivery_of(item: dict[str, Any]) -> Delivery:
    """The delivery an item's event came in, as far as the item keeps it.

    Kept: vendor, receive time, correlation id, the test mark, the route (FastComments names
    the event in its path, which ``source_type`` is), the event's place in its batch (the raw
    event alone is read as a batch of one, so its place is the offset, as for a quarantined
    event sent back). Not kept, so left empty: the request's other headers (the delivery id
    is kept on the item and put back after normalizing).
    """
    vendor_key = key_parts(item)[0]
    spec = vendor_spec(vendor_key)
    headers = {TEST_HEADER: "true"} if item.get("test") else {}
    parameters: dict[str, str] = {}
    path = spec.path
    if "{event}" in spec.path:
        parameters["event"] = str(item.get("source_type", ""))
        path = spec.path.replace("{event}", parameters["event"])
    return Delivery(
        vendor=vendor_key,
        received_at=str(item["received_at"]),
        correlation_id=str(item.get("correlation_id") or ""),
        method=spec.methods[0],
        path=path,
        path_parameters=parameters,
        headers=headers,
        index_offset=int(item.get("index", 0)),
    )


def body_for(vendor_key: str, raw: bytes) -> str:
    """A delivery body holding just this raw event (inside its batch field, for a vendor that batches)."""
    batch_field = vendor_spec(vendor_key).batch_field
    text = raw.decode("utf-8")
    return text if batch_field is None else "{" + json.dumps(batch_field) + ":[" + text + "]}"


def renormalized(item: dict[str, Any], raw: bytes) -> NormalizedEvent:
    """The item's event normalized again, identity, receive time, ids and times as stored."""
    delivery = delivery_of(item)
    result = vendor_spec(delivery.vendor).normalizer().normalize(body_for(delivery.vendor, raw), delivery)
    if result.rejected:
        rejected: Rejected = result.rejected[0]
        raise ReplayError(f"the normalizer now rejects it: {rejected.reason}: {rejected.message}")
    if len(result.events) != 1:
        raise ReplayError(f"the raw event now normalizes to {len(result.events)} events")
    event = result.events[0]
    stored_id = key_parts(item)[1]
    if event.event_id != stored_id:
        raise ReplayError(f"its id would change to {event.event_id}: replay never changes an event's identity")
    kept = {name: item.get(name) for name in KEPT_AS_STORED}
    replayed: NormalizedEvent = event.model_copy(
        update={
            "occurred_at": kept["occurred_at"] or event.occurred_at,
            "time_source": kept["time_source"] or "vendor",
            "time_rejected": kept["time_rejected"],
            "delivery_id": item.get("delivery_id") or event.delivery_id,
            # As stored, both ways: a vendor's own test detection never turns a real event into a test
            "test": bool(item.get("test")),
        }
    )
    return replayed


def _compared(name: str, item: dict[str, Any]) -> Any:
    """An attribute as replay compares it: a recipient list in S3 by its content, not by the retention its key
    carries (a list stored before parts were keyed with it is no change of the mapping's)."""
    value = item.get(name)
    return part_content(value) if name == "recipients_ref" and isinstance(value, str) else value


class Replayer:
    """Plans and applies a replay on one stack."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.dynamodb = target.client("dynamodb")
        self.payloads = payloads(target)

    def keys(self, where: FeedFilter, span: Window, limit: int | None) -> Iterator[tuple[str, str]]:
        """The (vendor, event id) of every event in the window that the filter keeps, newest first, as the feed
        is read."""
        with reading(self.target):
            entries = reader(self.target).entries(span.since, span.until, where)
            for entry in itertools.islice(entries, limit):
                yield str(entry["vendor"]), str(entry["event_id"])

    def items(self, keys: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        """The stored items (plain values, ``body`` still compressed) of ``keys``."""
        store = EventReader(self.target.events_table, dynamodb_client=self.dynamodb)
        wanted = [event_key(vendor, event_id)["pk"] for vendor, event_id in keys]
        for start in range(0, len(wanted), BATCH_GET_MAX):
            with reading(self.target):
                found = store.items(wanted[start : start + BATCH_GET_MAX])
            yield from found.values()

    def raw_of(self, item: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """An item's normalized parts and exact raw bytes (from S3 when its body is there)."""
        found = load_body(item, self.payloads)
        if found is None:
            raise ReplayError("the item keeps no raw body")
        return found

    def rewrite_of(self, item: dict[str, Any]) -> tuple[Prepared, tuple[str, ...]]:
        """The item normalized again, and the attributes that differ from the stored one (none: unchanged)."""
        try:
            parts, raw = self.raw_of(item)
            event = renormalized(item, raw)
            # Its parts in S3 expire as the item does: tagged with the retention it was written under.
            prepared = prepare(event, retention_of(item), self.payloads.bucket)
        except (BodyFormatError, PayloadError, TooLargeError, UnicodeDecodeError) as exc:
            raise ReplayError(str(exc)) from exc
        except UnknownVendorError:
            raise ReplayError("its vendor is no longer registered: its package was taken out") from None
        for kept in ("expires_at", WRITE_ID):  # what the consumer's write set stays as it set it
            if kept in item:
                prepared.item[kept] = item[kept]
        new_parts = body_of(prepared.item)
        if new_parts is None:  # the new body is bound for S3: compare what it holds
            new_parts = decode_body(event.vendor, prepared.offloads[-1].body)
        names = (set(item) | set(prepared.item)) - {"body", "body_ref"}
        differ = sorted(name for name in names if _compared(name, item) != _compared(name, prepared.item))
        differ += sorted(name for name in set(parts) | set(new_parts[0]) if parts.get(name) != new_parts[0].get(name))
        if raw != new_parts[1]:
            differ.append("raw")
        return prepared, tuple(differ)

    def plan(
        self,
        where: FeedFilter,
        span: Window,
        limit: int | None = None,
        progress: Callable[[Plan], None] | None = None,
    ) -> Plan:
        """What a replay of the events in ``span`` that ``where`` keeps would change (nothing is written);
        ``progress`` hears of the plan so far after each batch of events read.

        The items come whole from the read that checks the feed's entries: none is read a second time."""
        plan = Plan()
        for batch in self._stored(where, span, limit):
            self._plan_batch(batch, plan)
            if progress is not None:
                progress(plan)
        return plan

    def _stored(self, where: FeedFilter, span: Window, limit: int | None) -> Iterator[list[dict[str, Any]]]:
        """The items (plain values, ``body`` still compressed) of :meth:`keys`, a batch at a time as the feed is
        read (a plan reports each batch as it goes)."""
        with reading(self.target):
            stored = itertools.islice(reader(self.target).stored(span.since, span.until, where), limit)
            while batch := list(itertools.islice(stored, BATCH_GET_MAX)):
                yield batch

    def _rewrites(
        self, items: Iterable[dict[str, Any]], refused: list[tuple[str, str, str]]
    ) -> Iterator[tuple[dict[str, Any], Prepared, tuple[str, ...]]]:
        """Each stored item of ``items`` with its rewrite and what differs; one that cannot be
        normalized again goes to ``refused`` (vendor, event id, why) instead."""
        for item in items:
            try:
                prepared, differ = self.rewrite_of(item)
            except ReplayError as exc:
                vendor_key, event_id = key_parts(item)
                refused.append((vendor_key, event_id, str(exc)))
                continue
            yield item, prepared, differ

    def _plan_batch(self, items: list[dict[str, Any]], plan: Plan) -> None:
        refused_before = len(plan.refused)
        for item, prepared, differ in self._rewrites(items, plan.refused):
            plan.matched += 1
            if not differ:
                plan.unchanged += 1
                continue
            vendor_key, event_id = key_parts(item)
            after = str(prepared.item.get("event_type"))
            plan.changes.append(Change(vendor_key, event_id, str(item.get("event_type")), after, differ))
        plan.matched += len(plan.refused) - refused_before

    def apply(
        self, plan: Plan, rate: float, progress: Callable[[], None] | None = None, result: Result | None = None
    ) -> Result:
        """Rewrite the events ``plan`` found changed, each normalized again now, at most ``rate`` a second.

        ``result`` (filled as it goes) says what was done when the run is stopped part way (Ctrl-C).
        """
        result = Result() if result is None else result
        interval = 1.0 / rate
        next_write = time.monotonic()
        keys = [(change.vendor, change.event_id) for change in plan.changes]
        # Read again: the plan may be minutes old, and each is rewritten from the item as it is now
        rewrites = self._rewrites(self.items(keys), result.refused)
        while chunk := list(itertools.islice(rewrites, _FEED_PAGE_EVERY)):
            self._write_feed(chunk)
            for item, prepared, differ in chunk:
                if not differ:
                    result.unchanged += 1
                else:
                    time.sleep(max(0.0, next_write - time.monotonic()))
                    next_write = max(next_write, time.monotonic()) + interval
                    if self._write(item, prepared):
                        result.rewritten += 1
                if progress is not None:
                    progress()
        # Gone: not there when read, or no longer there as read when written (expired, deleted, or
        # another copy of the event took its place meanwhile: a second run rewrites that one).
        result.gone = len(keys) - result.rewritten - result.unchanged - len(result.refused)
        return result

    def _write_feed(self, rewrites: list[tuple[dict[str, Any], Prepared, tuple[str, ...]]]) -> None:
        """The new feed entries of the events about to be rewritten, written before them.

        Before, so that no rewrite lacks its entry whatever stops the run; an entry whose rewrite
        then does not happen names values its item does not hold, and readers pass it by.
        """
        feed = PendingFeed()
        for item, prepared, differ in rewrites:
            if differ and entry_of(item) != entry_of(prepared.item):
                feed.add(prepared.item)
        if len(feed):
            try:
                EventStore(self.target.events_table, dynamodb_client=self.dynamodb).put_feed(feed)
            except StoreError as exc:
                raise ReplayError(f"the feed's new entries were not written: {exc}") from None

    def _write(self, item: dict[str, Any], prepared: Prepared) -> bool:
        """Rewrite ``item`` under its own key; False when it is no longer there as it was read.

        The consumer may have put another copy of the event in its place since it was read (the
        vendor's copy over a test copy, an earlier copy over a later one): that one stays.
        """
        try:
            for offload in prepared.offloads:
                self.payloads.put_object(offload.key, offload.body, offload.content_type, offload.tagging)
            self.dynamodb.put_item(
                TableName=self.target.events_table, Item=encode_item(prepared.item), **still_the_copy(item)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise ReplayError(f"{exc.operation_name} failed: {aws_problem(exc)}") from None
        except (BotoCoreError, PayloadError) as exc:
            raise ReplayError(f"the write failed: {aws_problem(exc)}") from None
        return True
