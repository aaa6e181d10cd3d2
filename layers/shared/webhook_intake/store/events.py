"""Writing events: one conditional ``PutItem`` each, and what a failed condition means.

A write whose key exists returns the stored item with the failure
(``ReturnValuesOnConditionCheckFailure``), so telling a duplicate (the same event again)
from a conflict (the same id, different content) never costs a read before the write.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import error_code, retried
from webhook_intake.store.items import EXPIRES_AT, expiry, load_body
from webhook_intake.store.schema import WRITE_ID
from webhook_intake.store.table import TableAccess
from webhook_intake.store.wire import decode_item, encode, encode_item, item_size, write_units
from webhook_intake.text import canonical_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from webhook_intake.store.feed import PendingFeed
    from webhook_intake.store.items import Prepared

_NEW_EVENT = "attribute_not_exists(pk)"
_PAST_RETENTION = "#expires <= :received"
"""A stored copy whose ``expires_at`` had passed when this copy was received: deleted by DynamoDB's TTL within days,
read as gone meanwhile (reads.py), so this copy takes its place as a new event (a vendor's resend). Judged at the
receive time, not when the copy is consumed: a copy received while the stored one stood is its duplicate or
conflict however late it is consumed (a redrive), as it would have been consumed at once."""
_TEST = {"#test": "test"}
_EARLIER_COPY_TRIES = 3
"""Copies that may take a stored copy's place while an earlier one is written over it."""
# What DynamoDB refuses because of the item itself: the event's fault, not the store's.
REFUSED_ITEM = frozenset({"ValidationException", "SerializationException"})


class Outcome(StrEnum):
    """What became of one event (docs/reliability.md, the row "one bad event in a delivery")."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    QUARANTINED = "quarantined"


class StoreError(RuntimeError):
    """The store did not take a write for a reason of its own (throttled, unavailable): retry the record."""


class ItemRefusedError(ValueError):
    """DynamoDB refused the item itself (its message names the AWS error, never the data)."""


@dataclass(frozen=True, slots=True)
class PutResult:
    """What one conditional write did, and the write units it consumed."""

    outcome: Outcome
    write_units: float
    stored_copy: dict[str, Any] | None = None
    """The event's item as stored, when it is this copy (written now, or found written by this
    very delivery): its feed entry is this copy's to write, from what is stored."""
    later: LaterVersion | None = None
    """With a conflict: the version stored, when it was received after this copy (this one is the
    first version, which stays: :meth:`EventStore.take_place`, once the later one is kept)."""


@dataclass(frozen=True, slots=True)
class LaterVersion:
    """An event's version stored, received after the copy being written and with other content."""

    item: dict[str, Any]
    raw: bytes


def consumed(response: dict[str, Any], fallback: Callable[[], float]) -> float:
    """``ConsumedCapacity.CapacityUnits`` of a response (table and indexes), else ``fallback()``."""
    capacity = response.get("ConsumedCapacity")
    units = capacity.get("CapacityUnits") if isinstance(capacity, dict) else None
    return float(units) if isinstance(units, int | float) else float(fallback())


def same_event(stored: bytes, new: bytes) -> bool:
    """The same vendor event: the same bytes, or the same JSON document written differently.

    Compared in one canonical form, not with ``==``: to Python ``true == 1``, and a conflict
    would pass for a duplicate.
    """
    if stored == new:
        return True
    try:
        return canonical_json(json.loads(stored)) == canonical_json(json.loads(new))
    except (ValueError, RecursionError):
        return False


def still_the_copy(stored: dict[str, Any]) -> dict[str, Any]:
    """A write's condition that the item is still the ``stored`` copy of its event: the same receive
    time, test or not as it was (another copy may take its place: an earlier one, the vendor's).

    ``put_item`` keyword arguments: ``ConditionExpression`` and the names and values it uses.
    """
    kind = "attribute_exists(#test)" if stored.get("test") else "attribute_not_exists(#test)"
    return {
        "ConditionExpression": f"#received_at = :seen AND {kind}",
        "ExpressionAttributeNames": {"#received_at": "received_at", **_TEST},
        "ExpressionAttributeValues": {":seen": encode(str(stored.get("received_at", "")))},
    }


def _later_copy(stored: dict[str, Any], item: dict[str, Any]) -> bool:
    """``stored`` was received after ``item``'s copy, and is of its kind (test or not)."""
    later = str(item["received_at"]) < str(stored.get("received_at", ""))
    return later and bool(stored.get("test")) == bool(item.get("test"))


def _this_copy(stored: dict[str, Any], item: dict[str, Any]) -> bool:
    """``stored`` is ``item``'s copy: received in the same delivery, test or not as it is."""
    same_receive = str(stored.get("received_at", "")) == str(item["received_at"])
    return same_receive and bool(stored.get("test")) == bool(item.get("test"))


class EventStore(TableAccess):
    """The events table's write side."""

    def put(self, prepared: Prepared, raw: bytes) -> PutResult:
        """Write an event once; a key that exists is a duplicate or, with other content, a conflict.

        The item carries a ``write_id`` of its own: a put that botocore sends again after an answer
        that never came finds its own item by it, and is counted stored; any other processing of the
        same delivery (another receive, another consumer, an identical copy) builds the very same
        item under another id, and its copy is a duplicate.
        """
        if prepared.offloads:
            if self._payloads is None:
                raise StoreError("the event has parts for S3 and no payload bucket is configured")
            for offload in prepared.offloads:
                self._payloads.put_object(offload.key, offload.body, offload.content_type, offload.tagging)
        condition = {
            "ConditionExpression": f"{_NEW_EVENT} OR {_PAST_RETENTION}",
            "ExpressionAttributeNames": {"#expires": EXPIRES_AT},
            "ExpressionAttributeValues": {":received": encode(expiry(prepared.item["received_at"], 0))},
        }
        return self._conditional_put(prepared, raw, condition, write_id=secrets.token_bytes(8))

    def put_feed(self, feed: PendingFeed) -> float:
        """Write every page of the feed; their write units. Raises :class:`StoreError` at the first not written."""
        return sum(self.put_page(page.item) for page in feed.pages())

    def put_page(self, page: dict[str, Any]) -> float:
        """Write one feed page (a new item: a page written twice lists nothing twice); its write units.

        Raises :class:`StoreError` when it is not written: the records whose entries it held are retried.
        """
        try:
            response = self._attempts(
                lambda: self.dynamodb.put_item(
                    TableName=self.table_name, Item=encode_item(page), ReturnConsumedCapacity="TOTAL"
                )
            )
        except ClientError as exc:
            raise StoreError(f"put_item of a feed page failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"put_item of a feed page failed: {type(exc).__name__}") from exc
        return consumed(dict(response), partial(write_units, item_size(page)))

    def _conditional_put(
        self,
        prepared: Prepared,
        raw: bytes,
        condition: dict[str, Any],
        spent: float = 0.0,
        *,
        write_id: bytes,
    ) -> PutResult:
        """Write the item where ``condition`` holds (``put_item`` keyword arguments: ``ConditionExpression``
        and the names and values it uses); else what the item stored there makes of it."""
        try:
            response = self._attempts(
                lambda: self.dynamodb.put_item(
                    TableName=self.table_name,
                    Item=encode_item({**prepared.item, WRITE_ID: write_id}),
                    **condition,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    ReturnConsumedCapacity="TOTAL",
                )
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                found = exc.response.get("Item")  # with ReturnValuesOnConditionCheckFailure=ALL_OLD
                stored = found if isinstance(found, dict) else None
                if stored is not None and stored.get(WRITE_ID) == {"B": write_id}:
                    # botocore sent the put again after an answer that never came: the item is this write's.
                    return PutResult(Outcome.STORED, spent + prepared.write_units(), prepared.item)
                again = self._existing(stored, prepared, raw, write_id=write_id)
                return replace(again, write_units=spent + again.write_units)
            if code in REFUSED_ITEM:
                raise ItemRefusedError(f"DynamoDB refused the item: {code}") from exc
            raise StoreError(f"put_item failed: {code}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"put_item failed: {type(exc).__name__}") from exc
        return PutResult(Outcome.STORED, spent + consumed(dict(response), prepared.write_units), prepared.item)

    def _existing(self, wire: dict[str, Any] | None, prepared: Prepared, raw: bytes, *, write_id: bytes) -> PutResult:
        stored = decode_item(wire) if wire else None
        units = float(write_units(max(prepared.size, item_size(stored) if stored else 0)))
        stored_test, new_test = bool(stored and stored.get("test")), bool(prepared.item.get("test"))
        if stored_test and not new_test:
            # Whatever the test copy held, the vendor's own event takes its place.
            return self._over_test_copy(prepared, raw, units, write_id=write_id)
        body = load_body(stored, self._payloads) if stored else None
        stored_raw = body[1] if body is not None else None
        if stored_raw is None or same_event(stored_raw, raw):
            # A copy sent as a test never moves the real event (nor the vendor's copy a test one).
            if stored is not None and _later_copy(stored, prepared.item):
                now_stored, spent = self._earlier_copy(stored, prepared, raw, write_id)
                return PutResult(Outcome.DUPLICATE, units + spent, now_stored)
            return PutResult(Outcome.DUPLICATE, units, stored if stored and _this_copy(stored, prepared.item) else None)
        if new_test:
            # An edited test copy: it takes an earlier test copy's place, and changes nothing of the
            # vendor's event (nor is it a conflict to tell the vendor of).
            if stored_test:
                return self._over_test_copy(prepared, raw, units, write_id=write_id)
            return PutResult(Outcome.DUPLICATE, units)
        # The first version, consumed after a later one: the later one is the conflict.
        later = LaterVersion(stored, stored_raw) if stored is not None and _later_copy(stored, prepared.item) else None
        return PutResult(Outcome.CONFLICT, units, later=later)

    def take_place(self, prepared: Prepared, raw: bytes, later: LaterVersion) -> PutResult:
        """The first version of an event written over a later version stored (kept by the caller first).

        As an earlier copy of a duplicate takes the stored copy's place, so that what is stored never
        depends on which version was consumed first. Written over the very version compared (its receive
        time, its kind), or where it was and is no more (expired by TTL, deleted); when another copy took
        its place meanwhile, this one is judged against that copy (a duplicate, a conflict, or a later
        version again).
        """
        condition = still_the_copy(later.item)
        condition["ConditionExpression"] = f"({condition['ConditionExpression']}) OR {_NEW_EVENT}"
        return self._conditional_put(prepared, raw, condition, write_id=secrets.token_bytes(8))

    def _over_test_copy(self, prepared: Prepared, raw: bytes, spent: float, *, write_id: bytes) -> PutResult:
        """The vendor's own copy of an event stored first as a test (or an edited test copy of it):
        it takes the test copy's place.

        A test copy (``intake send --stack`` of an event the vendor sends too, edited or not) is
        never read as a real event, so the real one must be neither its duplicate nor its conflict:
        it is written whole, over a test copy or none (another real copy may have replaced it
        since: then that one answers, as any would).
        """
        condition = {
            "ConditionExpression": f"{_NEW_EVENT} OR attribute_exists(#test)",
            "ExpressionAttributeNames": _TEST,
        }
        return self._conditional_put(prepared, raw, condition, spent, write_id=write_id)

    def _earlier_copy(
        self, stored: dict[str, Any], prepared: Prepared, raw: bytes, write_id: bytes
    ) -> tuple[dict[str, Any] | None, float]:
        """The same event, received before the copy stored: this copy's item takes its place.

        A vendor's retry (or an SQS redelivery) can be consumed before the delivery it repeats;
        the event is then written again as the first copy made it (its bytes, times, ids, feed
        entry and place among a comment's states), so what is stored never depends on which copy
        landed first. Written over the very copy compared (its receive time, its kind), so never
        over another that took its place meanwhile: that one is compared in turn. The item stored
        when it is this copy (written now, or by this delivery meanwhile), and the write units.
        """
        item = prepared.item
        sent = 0

        def put(over: dict[str, Any]) -> Any:
            nonlocal sent
            sent += 1
            return self.dynamodb.put_item(
                TableName=self.table_name,
                Item=encode_item({**item, WRITE_ID: write_id}),
                **still_the_copy(over),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ReturnConsumedCapacity="TOTAL",
            )

        for _ in range(_EARLIER_COPY_TRIES):
            sent = 0
            try:
                response = self._attempts(partial(put, stored))
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise StoreError(f"put_item failed: {error_code(exc)}") from exc
                # Another copy took its place: an earlier copy of the same kind and content is replaced
                # too (two earlier copies at once: the earliest wins); anything else stays.
                found = exc.response.get("Item")
                now = decode_item(found) if isinstance(found, dict) else None
                if now is not None and _this_copy(now, item):
                    # This very write, sent again by botocore after an answer that never came (or this
                    # delivery's copy, written meanwhile by another receive of it).
                    units = write_units(max(prepared.size, item_size(stored))) if retried(exc) or sent > 1 else 0
                    return now, float(units)
                if now is None or not self._replaceable(now, item, raw):
                    return None, 0.0
                stored = now
                continue
            except BotoCoreError as exc:
                raise StoreError(f"put_item failed: {type(exc).__name__}") from exc
            # (what the write of the larger of the two items costs, when DynamoDB does not say)
            return item, consumed(dict(response), partial(write_units, max(prepared.size, item_size(stored))))
        return None, 0.0

    def _replaceable(self, stored: dict[str, Any], item: dict[str, Any], raw: bytes) -> bool:
        """``stored`` is a later copy of ``item``'s event, of its kind (test or not), with its content."""
        if not _later_copy(stored, item):
            return False
        body = load_body(stored, self._payloads)
        return body is not None and same_event(body[1], raw)
