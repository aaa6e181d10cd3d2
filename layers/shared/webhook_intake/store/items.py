"""A normalized event made storable: the item, what moves to S3, and what it costs to write.

Every event that normalizes is stored: text the store cannot hold (a lone UTF-16 surrogate
from a ``\\ud800`` escape) is replaced in the normalized fields, an oversized field is cut
with a marker (``truncated`` names it), a long recipient list and a large raw event move
to S3. The raw bytes themselves are never changed: they are kept compressed in the item,
or in S3 under a key made from their hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from webhook_intake.payloads import retention_tagging
from webhook_intake.store.body import decode_body, encode_body
from webhook_intake.store.schema import (
    EVENT_ID,
    INDEXES,
    SORT_KEY_MAX_BYTES,
    STATE_KEY,
    STATE_SORT,
    event_key,
    hashed_id,
    key_parts,
)
from webhook_intake.store.wire import ITEM_LIMIT_BYTES, item_size, write_units
from webhook_intake.taxonomy import CREATIONS, TOMBSTONES, changes_state
from webhook_intake.text import clean_text
from webhook_intake.times import from_iso

if TYPE_CHECKING:
    from webhook_intake.consumer.models import NormalizedEvent
    from webhook_intake.payloads import PayloadStore

RAW_INLINE_MAX_BYTES = 64 * 1024
"""A compressed ``body`` (the normalized parts and the raw event) above this waits in S3 (``body_ref``)."""
RECIPIENTS_INLINE_MAX = 25
"""More recipients than this, and their full list (names, roles) waits in S3 (``recipients_ref``)."""
RECIPIENT_IDS_MAX_BYTES = 256 * 1024
"""Recipient ids kept for per-recipient reads (``recipient_ids``): about 7,000 UUIDs, in the item and
in its feed entry (each well under DynamoDB's 400 KB)."""
INDEXED_ID_MAX_CHARS = 256
"""An id longer than this is kept in the event but not offered to reads (it could not be a key)."""
ITEM_BUDGET_BYTES = ITEM_LIMIT_BYTES - 8 * 1024
_URL_LIMIT = 2048
_FIELD_LIMITS = {
    "text": 4000,
    "title": 1000,
    "description": 2000,
    "url": _URL_LIMIT,
    "image_urls": _URL_LIMIT,
    "name": 256,
}
"""Characters kept of a normalized field, by its name (each of ``image_urls`` is a URL); others: ``_DEFAULT_LIMIT``."""
_DEFAULT_LIMIT = 512
_MAX_IMAGE_URLS = 10
_MAX_DETAIL_ENTRIES = 100
"""Entries kept of a vendor list in ``details`` (the raw event keeps them all)."""
_ELLIPSIS = "…"


class TooLargeError(ValueError):
    """Even with its large parts moved out, the event would not fit in an item."""


@dataclass
class Offload:
    """Bytes that go to S3 before the item is written, under a key made from their hash."""

    key: str
    body: bytes
    content_type: str
    tagging: str = ""
    """The object's tags (S3's ``Tagging``: ``retention-days=30``), or none."""


@dataclass
class Prepared:
    """An event ready to write: the item (plain values), its S3 offloads, its size and write units."""

    item: dict[str, Any]
    offloads: list[Offload] = field(default_factory=list)

    @property
    def size(self) -> int:
        """The item's size in bytes."""
        return item_size(self.item)

    def write_units(self) -> int:
        """Write units of a first write: the item, plus one entry in each index it belongs to."""
        return write_units(self.size) + sum(write_units(size) for size in index_entry_sizes(self.item).values())


def index_entry_sizes(item: dict[str, Any]) -> dict[str, int]:
    """The size of the item's entry in each index it belongs to (keys plus projected attributes)."""
    sizes = {}
    for index, (partition, sort, projected) in INDEXES.items():
        if partition in item and sort in item:
            names = {"pk", "sk", partition, sort, *projected}
            sizes[index] = item_size({name: item[name] for name in names if name in item})
    return sizes


def digest_of(raw: bytes) -> str:
    """A short hash of an event's exact bytes (conflict detection, content-addressed keys)."""
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()[:16]).decode("ascii").rstrip("=")


class _Cleaner:
    """Cleans and cuts the normalized fields, remembering what it cut."""

    def __init__(self) -> None:
        self.truncated: list[str] = []

    def text(self, value: str, path: str, limit: int | None = None) -> str:
        cleaned = clean_text(value)
        cap = limit or _FIELD_LIMITS.get(path.rsplit(".", 1)[-1], _DEFAULT_LIMIT)
        if len(cleaned) <= cap:
            return cleaned
        self.truncated.append(path)
        return cleaned[: cap - 1] + _ELLIPSIS

    def part(self, value: Any, path: str) -> dict[str, Any]:
        """A Party/Content/Container/Site as a map without empty fields."""
        out: dict[str, Any] = {}
        for name, item in value.model_dump(exclude_none=True, exclude_defaults=True).items():
            if isinstance(item, str):
                out[name] = self.text(item, f"{path}.{name}")
            elif isinstance(item, list | tuple):
                urls = [self.text(url, f"{path}.{name}") for url in item[:_MAX_IMAGE_URLS] if isinstance(url, str)]
                if len(item) > _MAX_IMAGE_URLS:
                    self.truncated.append(f"{path}.{name}")
                out[name] = urls
            else:
                out[name] = item
        return out

    def details(self, value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            path = f"details.{key}"
            if isinstance(item, str):
                out[clean_text(key)[:64]] = self.text(item, path)
                continue
            if len(item) > _MAX_DETAIL_ENTRIES:
                self.truncated.append(path)
            out[clean_text(key)[:64]] = [self.text(entry, path) for entry in item[:_MAX_DETAIL_ENTRIES]]
        return out


def _indexable(value: str | None) -> str | None:
    return value if value and len(value) <= INDEXED_ID_MAX_CHARS else None


_INDEX_DIGITS = 6
"""A place in a batch, zero-padded so text order is number order: a 6 MB delivery holds far fewer
than a million state events (each names an id, a content id and an action)."""


def state_order(event: NormalizedEvent) -> str:
    """Read newest first: a tombstone before anything and a creation after anything, then by event
    time, receive time, place in the delivery's batch and id (a moderation dated in the creation's
    millisecond, or a creation whose own time was not trusted, still follows the creation).

    Under the vendor's prefix: two vendors' contents may share an id, and a query of one content
    id that begins with the vendor, newest first, has the comment's state as its first item
    (``Limit 1``). The id only breaks ties: one too long for an index's sort key breaks them by its hash.
    """
    rank = "2" if event.event_type in TOMBSTONES else "0" if event.event_type in CREATIONS else "1"
    head = f"{event.vendor}#{rank}#{event.occurred_at}#{event.received_at}#{event.index:0{_INDEX_DIGITS}d}#"
    order = head + event.event_id
    if len(order.encode("utf-8", "surrogatepass")) > SORT_KEY_MAX_BYTES:
        return head + hashed_id(event.event_id)
    return order


def expiry(received_at: str, retention_days: int) -> int:
    """``expires_at``: epoch seconds ``retention_days`` after the event was received."""
    received = from_iso(received_at)
    if received is None:  # a delivery's receive time is always one (Delivery.from_message_attributes)
        raise ValueError(f"not a receive time: {received_at!r}")
    return int(received.timestamp()) + retention_days * 86_400


EXPIRES_AT = "expires_at"
"""The events table's TTL attribute (template.yaml): epoch seconds, on events and feed pages that expire."""


def expired(item: dict[str, Any], now: float) -> bool:
    """Whether an item (plain values) is past its ``expires_at`` at ``now`` (epoch seconds): DynamoDB deletes it
    only within days of it, and readers leave it out meanwhile."""
    expires_at = item.get(EXPIRES_AT)
    return isinstance(expires_at, int | float) and not isinstance(expires_at, bool) and expires_at <= now


def retention_of(item: dict[str, Any]) -> int:
    """The ``RetentionDays`` a stored event was written under (whole days; 0 when it is kept for ever)."""
    received = from_iso(item.get("received_at"))
    expires_at = item.get("expires_at")
    if received is None or not isinstance(expires_at, int | float) or isinstance(expires_at, bool):
        return 0
    return max(0, round((float(expires_at) - received.timestamp()) / 86_400))


def prepare(event: NormalizedEvent, retention_days: int = 0, bucket: str | None = None) -> Prepared:
    """The item for ``event`` (plain values) and what must go to S3 first; raises :class:`TooLargeError`.

    What reads select on is plain attributes (keys, types, times, ids); the rest of the
    normalized event and the raw event travel together in ``body``, compressed: the raw
    event repeats much of what was normalized from it, and compressing them together keeps
    a typical item within one write unit. With ``retention_days``, the item expires that long after
    the event was received (not stored): every copy of it, whenever consumed, expires at one time.
    """
    cleaner = _Cleaner()
    prepared = Prepared(_plain_attributes(event, cleaner))
    item = prepared.item
    body = _parts(event, cleaner)
    _recipients(event, item, body, cleaner=cleaner, prepared=prepared, bucket=bucket, retention_days=retention_days)
    if item.get(STATE_KEY) and not event.test and changes_state(event.event_type):
        item[STATE_SORT] = state_order(event)
    if retention_days > 0:
        item["expires_at"] = expiry(event.received_at, retention_days)
    if cleaner.truncated:
        item["truncated"] = frozenset(cleaner.truncated)
    if event.dropped:
        item["dropped"] = frozenset(clean_text(name) for name in event.dropped)
    _body(event, body, item, prepared, bucket, retention_days=retention_days)
    if retention_days > 0:
        for offload in prepared.offloads:
            offload.tagging = retention_tagging(retention_days)
    if prepared.size > ITEM_BUDGET_BYTES:
        raise TooLargeError(f"the event needs {prepared.size} bytes after moving its large parts out")
    return prepared


def _plain_attributes(event: NormalizedEvent, cleaner: _Cleaner) -> dict[str, Any]:
    """Keys, types, times and the ids reads filter on (``vendor`` and ``event_id`` are in ``pk``)."""
    key = event_key(event.vendor, event.event_id)
    item: dict[str, Any] = {
        **key,
        **({} if key["pk"] == f"{event.vendor}#{event.event_id}" else {EVENT_ID: event.event_id}),
        "event_type": event.event_type,
        "source_type": cleaner.text(event.source_type, "source_type"),
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
    }
    optional = {
        "index": event.index,
        "time_source": event.time_source if event.time_source != "vendor" else None,
        "time_rejected": event.time_rejected,
        "test": True if event.test else None,
        "correlation_id": event.correlation_id,
        "delivery_id": event.delivery_id if event.delivery_id != event.correlation_id else None,
    }
    for name, value in optional.items():
        if value:
            item[name] = cleaner.text(value, name, 256) if isinstance(value, str) else value
    for name in ("actor", "content", "container"):
        part = getattr(event, name)
        identifier = part.id if part is not None else None
        indexed = _indexable(identifier)
        if indexed:
            item[f"{name}_id"] = clean_text(indexed)
        elif identifier:
            cleaner.truncated.append(f"{name}_id")  # kept in the body, not offered to reads
    return item


def _parts(event: NormalizedEvent, cleaner: _Cleaner) -> dict[str, Any]:
    """The normalized parts that travel in ``body``."""
    body: dict[str, Any] = {}
    for name in ("actor", "content", "container", "site"):
        part = getattr(event, name)
        if part is not None:
            mapped = cleaner.part(part, name)
            if mapped:
                body[name] = mapped
    if event.details:
        body["details"] = cleaner.details(event.details)
    return body


def _recipients(
    event: NormalizedEvent,
    item: dict[str, Any],
    body: dict[str, Any],
    *,
    cleaner: _Cleaner,
    prepared: Prepared,
    bucket: str | None,
    retention_days: int = 0,
) -> None:
    if not event.recipients:
        return
    ids: dict[str, None] = {}
    budget = RECIPIENT_IDS_MAX_BYTES
    for party in event.recipients:
        identifier = _indexable(party.id)
        if party.id and identifier is None:
            cleaner.truncated.append("recipient_ids")  # kept in the recipients, not offered to reads
        if identifier and identifier not in ids:
            budget -= len(identifier.encode("utf-8", "surrogatepass"))
            if budget < 0:
                cleaner.truncated.append("recipient_ids")
                break
            ids[clean_text(identifier)] = None
    if ids:
        item["recipient_ids"] = frozenset(ids)
    parties = [cleaner.part(party, "recipients") for party in event.recipients]
    if len(parties) <= RECIPIENTS_INLINE_MAX or bucket is None:
        body["recipients"] = parties[:RECIPIENTS_INLINE_MAX]
        if len(parties) > RECIPIENTS_INLINE_MAX:
            cleaner.truncated.append("recipients")
        return
    document = json.dumps(parties, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    key = part_key("recipients", event.vendor, hashlib.sha256(document).hexdigest(), retention_days, ".json")
    prepared.offloads.append(Offload(key, document, "application/json"))
    item["recipients_ref"] = f"s3://{bucket}/{key}"
    item["recipient_count"] = len(parties)


def part_key(prefix: str, vendor: str, digest: str, retention_days: int, extension: str = "") -> str:
    """Where an event's part waits in S3: under its content's hash and, when it expires, its retention.

    Parts are content-addressed, and events may share one (a broadcast's recipients, the copies of an
    event). S3 keeps the tags of an object's last write and counts its expiry from it, so a part written
    again under another ``RetentionDays`` would take that retention for the events that wrote it before
    (one kept for ever would lose it): parts written under different retentions are kept apart.
    """
    kept = f".{retention_days}d" if retention_days > 0 else ""
    return f"{prefix}/{vendor}/{digest}{kept}{extension}"


_RETENTION_MARK = re.compile(r"(/[0-9a-f]{64})\.[0-9]+d(?=(?:\.json)?$)")


def part_content(reference: str) -> str:
    """A part's reference without the retention its key carries: two references to the same content are equal.

    A part written before parts were keyed with their retention (``recipients/<vendor>/<sha256>.json``)
    holds what the same part keyed with it holds: its content did not change.
    """
    return _RETENTION_MARK.sub(r"\1", reference)


def _body(
    event: NormalizedEvent,
    body: dict[str, Any],
    item: dict[str, Any],
    prepared: Prepared,
    bucket: str | None,
    *,
    retention_days: int = 0,
) -> None:
    """``body``: the normalized parts and the raw event's exact bytes, compressed (or in S3 when large)."""
    compressed = encode_body(event.vendor, body, event.raw)
    if len(compressed) <= RAW_INLINE_MAX_BYTES or bucket is None:
        item["body"] = compressed
        return
    key = part_key("bodies", event.vendor, hashlib.sha256(compressed).hexdigest(), retention_days)
    prepared.offloads.append(Offload(key, compressed, "application/octet-stream"))
    item["body_ref"] = f"s3://{bucket}/{key}"


def body_of(item: dict[str, Any]) -> tuple[dict[str, Any], bytes] | None:
    """An item's parts and raw bytes, when its body is in the item (``body_ref`` items keep it in S3)."""
    body = item.get("body")
    vendor_key = key_parts(item)[0]
    if isinstance(body, bytes) and vendor_key:
        return decode_body(vendor_key, body)
    return None


def load_body(item: dict[str, Any], payloads: PayloadStore | None) -> tuple[dict[str, Any], bytes] | None:
    """An item's parts and raw bytes, from the item or from S3 (``body_ref``, read with ``payloads``)."""
    body = body_of(item)
    if body is not None:
        return body
    reference = item.get("body_ref")
    if isinstance(reference, str) and payloads is not None:
        return decode_body(key_parts(item)[0], payloads.get_object(reference))
    return None
