"""Quarantined events: kept with their reason and exact bytes, until they are tried again or deleted.

One item per quarantined event under ``pk`` = ``quarantine#<vendor>``, ``sk`` =
``<received_at>#<hash of its route and text>`` (:func:`key_for`): the same event of the same
delivery always lands on the same item (an SQS redelivery, another try that fails again), and
``attempts`` counts the tries. Messages say what is wrong in the project's words, never payload values.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import error_code
from webhook_intake.delivery import Delivery
from webhook_intake.store.events import StoreError, consumed
from webhook_intake.store.items import digest_of
from webhook_intake.store.schema import QUARANTINE_PREFIX
from webhook_intake.store.table import TableAccess
from webhook_intake.store.wire import decode_item, encode, item_size, write_units
from webhook_intake.text import clean_json, clean_text
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Iterator

    from webhook_intake.consumer.normalizing import Rejected

NAME_MAX_CHARS = 1024
"""An event id or vendor type kept beside the text is cut to this (the item must stay under 400 KB)."""
TEXT_INLINE_MAX_BYTES = 256 * 1024
"""A compressed text above this waits in S3 (``text_ref``)."""
INVALID_CLAIM_CHECK = "invalid_claim_check"
"""The reason of a record whose claim-check pointer cannot be followed (its text is the pointer)."""
LAST_WRITE = "last_write"
"""The token of the last write: the same write sent again (botocore, after a lost answer) is not another try."""
ENVELOPE_INLINE_MAX_BYTES = 1024
"""A batch envelope above this (the body beside its events: a vendor may pad it) waits in S3,
compressed (``envelope_ref``), written once for the batch's events (:data:`WRITTEN_KEPT_SECONDS`). Every
quarantined event of a batch keeps its envelope: kept inline up to 8 KB, as it once was, a batch of one good
event and 10,000 bad ones beside a padded envelope would make 10,000 items of 9 write units each, kept until
someone acts; at 1 KB each item is one write unit."""
WRITTEN_KEPT_SECONDS = 300.0
"""How long a process takes an S3 key it wrote to the quarantine as written: the same key holds the same bytes
and nothing here deletes one, while a lifecycle rule an operator adds on ``quarantine/`` counts its age from the
last write, which a few minutes leave where it was."""
WRITTEN_KEPT_KEYS = 256


@dataclass(frozen=True, slots=True)
class QuarantineKey:
    """Where one quarantined event is kept."""

    vendor: str
    sk: str

    @property
    def pk(self) -> str:
        """The vendor's quarantine partition."""
        return f"{QUARANTINE_PREFIX}{self.vendor}"

    def to_key(self) -> dict[str, dict[str, str]]:
        """As DynamoDB's ``Key``."""
        return {"pk": {"S": self.pk}, "sk": {"S": self.sk}}

    def __str__(self) -> str:
        return f"{self.vendor}/{self.sk}"

    @classmethod
    def parse(cls, text: str) -> QuarantineKey:
        """``<vendor>/<sk>``, as :meth:`__str__` writes it (the id ``intake dlq`` shows)."""
        vendor, separator, sk = text.partition("/")
        if not separator or not vendor or not sk:
            raise ValueError(f"not a quarantine id: {text!r}")
        return cls(vendor, sk)


@dataclass(frozen=True, slots=True)
class Kept:
    """A quarantine write: where, what it cost, and whether the event was quarantined for the first time."""

    key: QuarantineKey
    write_units: float
    first: bool
    """False when an SQS redelivery (or a redrive) quarantined it again: counted once, not per try."""


def key_for(vendor: str, delivery: Delivery, text: str) -> QuarantineKey:
    """The key of an event's quarantine item: its delivery's receive time, then the hash of its text and of
    the route it came by, so that the same text on two routes in one millisecond (a FastComments edit and
    delete of one body) is two items. Not the correlation id: a record without one takes its message id,
    which a DLQ redrive changes. A redrive sends the event back with its item's route: the same key, or
    the key it names when that is an item of this text kept under an earlier rule."""
    if delivery.quarantine_key:
        route = f"{delivery.method} {delivery.path}\n"
        for earlier in (
            earlier_key_for(vendor, delivery.received_at, text),
            _hashed(vendor, delivery.received_at, f"{delivery.correlation_id}\n{route}", text),
        ):
            if delivery.quarantine_key == str(earlier):
                return earlier
    return _hashed(vendor, delivery.received_at, f"{delivery.method} {delivery.path}\n", text)


def earlier_key_for(vendor: str, received_at: str, text: str) -> QuarantineKey:
    """The key of an item kept before the delivery was in it (receive time and text only)."""
    return _hashed(vendor, received_at, "", text)


def _hashed(vendor: str, received_at: str, origin: str, text: str) -> QuarantineKey:
    """A key of the receive time and the hash of ``origin`` and the text. ``origin`` is the route (``<method>
    <path>`` and a line feed); earlier versions hashed nothing beside the text, then the correlation id, a line
    feed and the route: a redrive finds the items they kept in place."""
    return QuarantineKey(vendor, f"{received_at}#{digest_of((origin + text).encode('utf-8'))}")


KEPT_FROM_FIRST = frozenset({"index"})
"""Set by the event's first quarantine only: sent back alone, an event of a batch is its envelope's first."""


def _assignment(alias: str, name: str) -> str:
    """``SET`` of one attribute: the value now, or the first one kept."""
    value = f":{alias[1:]}"
    return f"{alias} = if_not_exists({alias}, {value})" if name in KEPT_FROM_FIRST else f"{alias} = {value}"


class QuarantineStore(TableAccess):
    """Writes, lists and removes quarantined events."""

    @functools.cached_property
    def _written(self) -> dict[str, tuple[str, float]]:
        """S3 keys written lately, with their URI and when (:data:`WRITTEN_KEPT_SECONDS`)."""
        return {}

    def put(self, vendor: str, rejected: Rejected, delivery: Delivery, now: float) -> Kept:
        """Keep ``rejected`` (again: the reason and time are updated, ``attempts`` counts)."""
        key = key_for(vendor, delivery, rejected.text)
        values = self._values(vendor, rejected, delivery, now)
        names = {f"#{index}": name for index, name in enumerate(values)}
        # This write's token: a write botocore sends again after a lost answer finds its own token
        # and changes nothing, so attempts counts tries, not requests.
        token = secrets.token_hex(8)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": key.to_key(),
            "UpdateExpression": "SET "
            + ", ".join(_assignment(alias, names[alias]) for alias in names)
            + ", #last = :token ADD attempts :one",
            "ConditionExpression": "attribute_not_exists(#last) OR #last <> :token",
            "ExpressionAttributeNames": {**names, "#last": LAST_WRITE},
            "ExpressionAttributeValues": {
                **{f":{alias[1:]}": encode(values[name]) for alias, name in names.items()},
                ":token": {"S": token},
                ":one": {"N": "1"},
            },
            "ReturnConsumedCapacity": "TOTAL",
            # What the item holds now, attempts among it: 1 means this is the event's first quarantine.
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            response = self._attempts(lambda: self.dynamodb.update_item(**request))
            answer: dict[str, Any] = dict(response)
            held = answer.get("Attributes", {})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(f"quarantine update_item failed: {error_code(exc)}") from exc
            answer, found = {}, exc.response.get("Item")  # this very write, applied before its answer was lost
            held = found if isinstance(found, dict) else {}
        except BotoCoreError as exc:
            raise StoreError(f"quarantine update_item failed: {error_code(exc)}") from exc
        first = held.get("attempts", {}).get("N") in (None, "1")
        units = consumed(answer, lambda: write_units(item_size({"pk": key.pk, "sk": key.sk, **values})))
        return Kept(key, units, first=first)

    def _values(self, vendor: str, rejected: Rejected, delivery: Delivery, now: float) -> dict[str, Any]:
        """What the item holds of ``rejected`` and its delivery (large texts in S3)."""
        values: dict[str, Any] = {
            "vendor": vendor,
            "reason": rejected.reason,
            "message": rejected.message[:1000],
            "received_at": delivery.received_at,
            "quarantined_at": iso_millis(datetime.fromtimestamp(now, UTC)),
            "correlation_id": delivery.correlation_id,
            "route": delivery.route(),
            "scope": "event" if rejected.index is not None else "body",
        }
        for name in ("event_id", "source_type"):
            value = getattr(rejected, name)
            if value is not None:
                values[name] = value[:NAME_MAX_CHARS]  # the text keeps them whole; a vendor type can be huge
        if rejected.envelope is not None:
            envelope = clean_text(rejected.envelope)
            encoded = envelope.encode("utf-8")
            if len(encoded) <= ENVELOPE_INLINE_MAX_BYTES or self._payloads is None:
                values["envelope"] = envelope
            else:
                values["envelope_ref"] = self._put(vendor, "envelope.zz", zlib.compress(encoded, 6))
        if rejected.index is not None:
            values["index"] = rejected.index
        if rejected.reason == INVALID_CLAIM_CHECK and delivery.claim_check:
            # The text is the pointer itself: sent back, it must go back as a pointer
            values["claim_check"] = delivery.claim_check
        compressed = zlib.compress(rejected.text.encode("utf-8"), 6)
        if len(compressed) <= TEXT_INLINE_MAX_BYTES or self._payloads is None:
            values["text"] = compressed
        else:
            values["text_ref"] = self._put(vendor, "zz", compressed)
        # Text the store can hold: a lone surrogate may come from the body's escapes or a header.
        clean_json(values)
        return values

    def _put(self, vendor: str, suffix: str, compressed: bytes) -> str:
        """Compressed bytes in S3 under a key made from their hash (the same key, the same bytes)."""
        if self._payloads is None:  # the callers check; kept for the type checker
            raise StoreError("no payload store is configured")
        path = f"quarantine/{vendor}/{hashlib.sha256(compressed).hexdigest()}.{suffix}"
        now = time.monotonic()
        written = self._written.get(path)
        if written is not None and now - written[1] < WRITTEN_KEPT_SECONDS:
            return written[0]
        uri = self._payloads.put_object(path, compressed, "application/zlib")
        self._written.pop(path, None)
        if len(self._written) >= WRITTEN_KEPT_KEYS:
            del self._written[next(iter(self._written))]
        self._written[path] = (uri, now)
        return uri

    def delete(self, key: QuarantineKey) -> float:
        """Forget a quarantined event (it was stored after all, or an operator let it go); its write units."""
        try:
            response = self._attempts(
                lambda: self.dynamodb.delete_item(
                    TableName=self.table_name, Key=key.to_key(), ReturnConsumedCapacity="TOTAL"
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"quarantine delete_item failed: {error_code(exc)}") from exc
        return consumed(dict(response), lambda: 1.0)  # DynamoDB says; else one unit at least

    def get(self, key: QuarantineKey) -> dict[str, Any] | None:
        """One quarantined event as plain values."""
        item = self.dynamodb.get_item(TableName=self.table_name, Key=key.to_key(), ConsistentRead=True).get("Item")
        return decode_item(item) if item else None

    def list(
        self, vendor: str, limit: int | None = None, received_since: str = "", reason: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """A vendor's quarantined events (received at ``received_since`` or later, an ISO time; kept for
        ``reason`` only, when it is given), oldest first, as plain values."""
        paginator = self.dynamodb.get_paginator("query")
        seen = 0
        condition, values = "pk = :pk", {":pk": {"S": f"{QUARANTINE_PREFIX}{vendor}"}}
        if received_since:  # (the sort key begins with the receive time)
            condition, values[":since"] = f"{condition} AND sk >= :since", {"S": received_since}
        query: dict[str, Any] = {"KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        if reason is not None:
            values[":reason"] = {"S": reason}
            query |= {"FilterExpression": "#reason = :reason", "ExpressionAttributeNames": {"#reason": "reason"}}
        for page in paginator.paginate(TableName=self.table_name, **query):
            for item in page.get("Items", []):
                yield decode_item(item)
                seen += 1
                if limit is not None and seen >= limit:
                    return

    def count(self, vendor: str) -> int:
        """How many quarantined events ``vendor`` has (a count of its partition's keys: no item read whole)."""
        paginator = self.dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{QUARANTINE_PREFIX}{vendor}"}},
            Select="COUNT",
        )
        return sum(int(page.get("Count", 0)) for page in pages)

    def conflicts(self, vendor: str, event_id: str, received_after: str) -> Iterator[dict[str, Any]]:
        """The conflicts kept of one event (its id as an item keeps it), received after ``received_after``
        (an ISO time), as plain values: one query of the vendor's partition, the rest filtered out, each page
        tried as ``attempts`` allows (the consumer's client makes one attempt a call)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            # (the sort key begins with the receive time; "~" sorts after its "#")
            "KeyConditionExpression": "pk = :pk AND sk > :after",
            "FilterExpression": "#reason = :conflict AND #event_id = :event_id",
            "ExpressionAttributeNames": {"#reason": "reason", "#event_id": "event_id"},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"{QUARANTINE_PREFIX}{vendor}"},
                ":after": {"S": f"{received_after}~"},
                ":conflict": {"S": "conflict"},
                ":event_id": encode(clean_text(event_id[:NAME_MAX_CHARS])),
            },
        }
        while True:
            page = self._attempts(partial(self.dynamodb.query, **request))
            for item in page.get("Items", []):
                yield decode_item(item)
            if not page.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def resend(self, item: dict[str, Any], batch_field: str | None) -> tuple[str, Delivery]:
        """The body and delivery that send a quarantined event through normalization again.

        The body is the event's exact text (inside its batch's envelope, for a vendor that
        batches); the delivery is the original one, plus ``quarantine_key`` so that the
        consumer forgets the quarantine item once the event is stored.
        """
        text = self.text(item)
        if batch_field is not None and item.get("scope") == "event":
            envelope = json.loads(self._envelope(item) or "{}")
            rest = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)[1:-1] if envelope else ""
            text = "{" + json.dumps(batch_field) + ":[" + text + "]" + ("," + rest if rest else "") + "}"
        found = item.get("route")
        route: dict[str, Any] = found if isinstance(found, dict) else {}
        delivery = Delivery(
            vendor=str(item["vendor"]),
            received_at=str(item["received_at"]),
            correlation_id=str(item.get("correlation_id") or ""),
            method=str(route.get("method", "")),
            path=str(route.get("path", "")),
            path_parameters=dict(route.get("path_parameters") or {}),
            headers=dict(route.get("headers") or {}),
            quarantine_key=str(QuarantineKey(str(item["vendor"]), str(item["sk"]))),
            claim_check=str(item["claim_check"]) if item.get("claim_check") else None,
            # Alone in its body, it keeps its place in the batch it came in.
            index_offset=int(item.get("index", 0)) if item.get("scope") == "event" else 0,
        )
        return text, delivery

    def text(self, item: dict[str, Any]) -> str:
        """A quarantined event's exact text."""
        text = self._inline_or_s3(item, "text", "text_ref", compressed=True)
        if text is None:
            raise StoreError("the quarantined item keeps no text")
        return text

    def _envelope(self, item: dict[str, Any]) -> str | None:
        """The batch envelope kept beside the event, if any."""
        return self._inline_or_s3(item, "envelope", "envelope_ref", compressed=False)

    def _inline_or_s3(self, item: dict[str, Any], name: str, ref_name: str, *, compressed: bool) -> str | None:
        """An attribute kept inline (``name``) or compressed in S3 (``ref_name``); None when neither."""
        value = item.get(name)
        if isinstance(value, str) and not compressed:
            return value
        if isinstance(value, bytes) and compressed:
            return zlib.decompress(value).decode("utf-8")
        reference = item.get(ref_name)
        if reference is None:
            return None
        if not isinstance(reference, str) or self._payloads is None:
            raise StoreError(f"the quarantined {name} is in S3 and no payload store is configured")
        return zlib.decompress(self._payloads.get_object(reference)).decode("utf-8")
