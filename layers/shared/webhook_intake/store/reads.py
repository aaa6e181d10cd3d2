"""Reading the event log back: one event, the feed over a time window, a comment's current state.

Every read goes through a key or an index (docs/data-model.md, "Reads"); :meth:`EventReader.scan`
is there for tools that explicitly ask for the whole table.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from webhook_intake.payloads import PayloadError
from webhook_intake.store.body import BodyFormatError
from webhook_intake.store.items import load_body
from webhook_intake.store.schema import (
    EVENT_SK,
    FEED_INDEX,
    FEED_KEY,
    FEED_SHARDS,
    FEED_SORT,
    STATE_INDEX,
    STATE_KEY,
    event_key,
    feed_key,
    key_parts,
)
from webhook_intake.store.table import TableAccess
from webhook_intake.store.wire import decode_item, encode, encode_item
from webhook_intake.taxonomy import TOMBSTONES
from webhook_intake.text import clean_json, may_escape_a_surrogate
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


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

    def expression(self) -> tuple[str | None, dict[str, str], dict[str, Any]]:
        """A FilterExpression over the feed's projected attributes, with its names and values."""
        clauses: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if self.vendor:
            clauses.append("begins_with(pk, :vendor)")
            values[":vendor"] = encode(f"{self.vendor}#")
        if self.event_types:
            names["#type"] = "event_type"
            options = []
            for position, wanted in enumerate(self.event_types):
                values[f":type{position}"] = encode(wanted)
                options.append(
                    f"begins_with(#type, :type{position})" if wanted.endswith(".") else f"#type = :type{position}"
                )
            clauses.append("(" + " OR ".join(options) + ")")
        for name, value in (("content_id", self.content), ("container_id", self.container), ("actor_id", self.actor)):
            if value:
                names[f"#{name}"] = name
                values[f":{name}"] = encode(value)
                clauses.append(f"#{name} = :{name}")
        if self.recipient:
            clauses.append("contains(recipient_ids, :recipient)")
            values[":recipient"] = encode(self.recipient)
        if not self.tests:
            clauses.append("attribute_not_exists(test)")
        return (" AND ".join(clauses) or None), names, values


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
    """The newest text among the state's events (a moderation event may carry none)."""
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
        return self.decode(decode_item(item)) if item else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Events by ``(vendor, event_id)``, in the order asked (missing ones left out)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        encode_item(event_key(vendor, event_id)) for vendor, event_id in wanted[start : start + 100]
                    ]
                }
            }
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    plain = decode_item(item)
                    found[str(plain["pk"])] = plain
                request = dict(response.get("UnprocessedKeys") or {})
        keys_asked = (event_key(vendor, event_id)["pk"] for vendor, event_id in wanted)
        return [self.decode(found[pk]) for pk in keys_asked if pk in found]

    def feed(
        self,
        since: datetime,
        until: datetime,
        where: FeedFilter | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Feed entries (keys and projected attributes) received in [since, until], newest first."""
        where = where or FeedFilter()
        expression, names, values = where.expression()
        low, high = iso_millis(since), iso_millis(until)
        found: list[dict[str, Any]] = []
        for day in _days(since, until):
            streams = [
                self._feed_partition(
                    feed_key(day, shard), (low, high), expression=expression, names=names, values=values, page=limit
                )
                for shard in range(FEED_SHARDS)
            ]
            for entry in heapq.merge(*streams, key=lambda item: str(item[FEED_SORT]), reverse=True):
                found.append(entry)
                if len(found) >= limit:
                    return found
        return found

    def _feed_partition(
        self,
        partition: str,
        window: tuple[str, str],
        *,
        expression: str | None,
        names: dict[str, str],
        values: dict[str, Any],
        page: int,
    ) -> Iterator[dict[str, Any]]:
        low, high = window
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": FEED_INDEX,
            "KeyConditionExpression": "#feed = :feed AND #received BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#feed": FEED_KEY, "#received": FEED_SORT, **names},
            "ExpressionAttributeValues": {
                ":feed": encode(partition),
                ":low": encode(low),
                ":high": encode(high),
                **values,
            },
            "ScanIndexForward": False,
            "Limit": max(page, 100),
        }
        if expression:
            request["FilterExpression"] = expression
        for response in self.dynamodb.get_paginator("query").paginate(**request):
            for item in response.get("Items", []):
                yield _entry(decode_item(item))

    def state(self, vendor: str, content_id: str) -> CurrentState | None:
        """A comment's current state: its newest state event (a tombstone first), with the events behind it."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATE_INDEX,
            "KeyConditionExpression": "#content = :content",
            "FilterExpression": "begins_with(pk, :vendor)",
            "ExpressionAttributeNames": {"#content": STATE_KEY},
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
        text = next(
            (event["content"].get("text") for event in events if (event.get("content") or {}).get("text")), None
        )
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
        paginator = self.dynamodb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="sk = :event",
            ExpressionAttributeValues={":event": {"S": EVENT_SK}},
        ):
            for item in page.get("Items", []):
                yield self.decode(decode_item(item))

    def decode(self, item: dict[str, Any]) -> dict[str, Any]:
        """A stored event as the normalized event's fields (``raw`` parsed as JSON, ``raw_text`` exact)."""
        event = _entry(item)
        try:
            body = load_body(item, self._payloads)
        except (BodyFormatError, ValueError):
            body = None
        except PayloadError as exc:  # its body object is gone (or S3 failed): the rest of the event still reads
            body = None
            event["body_error"] = str(exc)
        for name in ("body", "body_ref", "feed", "state_order"):
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
        return event

    def _recipients(self, event: dict[str, Any]) -> None:
        """A list of recipients kept in S3 (``recipients_ref``) read back as the event's ``recipients``."""
        reference = event.get("recipients_ref")
        if not isinstance(reference, str) or "recipients" in event or self._payloads is None:
            return
        try:
            event["recipients"] = json.loads(self._payloads.get_object(reference))
        except (PayloadError, ValueError) as exc:
            event["recipients_error"] = str(exc)


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    """An item (or an index entry) with ``vendor`` and ``event_id`` read from its key."""
    vendor, event_id = key_parts(item)
    return {"vendor": vendor, "event_id": event_id, **{k: v for k, v in item.items() if k not in ("pk", "sk")}}
