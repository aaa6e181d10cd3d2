"""Writing events: one conditional ``PutItem`` each, and what a failed condition means.

A write whose key exists returns the stored item with the failure
(``ReturnValuesOnConditionCheckFailure``), so telling a duplicate (the same event again)
from a conflict (the same id, different content) never costs a read before the write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import error_code, retried
from webhook_intake.store.items import load_body
from webhook_intake.store.table import TableAccess
from webhook_intake.store.wire import decode_item, encode, encode_item, item_size, write_units
from webhook_intake.text import canonical_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from webhook_intake.store.items import Prepared

_NEW_EVENT = "attribute_not_exists(pk)"
_TEST = {"#test": "test"}
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


def _same_item(wire: dict[str, Any], prepared: Prepared) -> bool:
    """A stored item is exactly the one ``prepared`` writes (as values: DynamoDB writes numbers its own way)."""
    return decode_item(wire) == decode_item(encode_item(prepared.item))


class EventStore(TableAccess):
    """The events table's write side."""

    def put(self, prepared: Prepared, raw: bytes, *, first_receive: bool = False) -> PutResult:
        """Write an event once; a key that exists is a duplicate or, with other content, a conflict.

        ``first_receive``: the record's first receive from SQS. Only then can an item equal to this
        one, found when botocore sent the put again, be this put's own (its first answer lost): a
        later receive of the same message builds the same item, and its copy is a duplicate.
        """
        if prepared.offloads:
            if self._payloads is None:
                raise StoreError("the event has parts for S3 and no payload bucket is configured")
            for offload in prepared.offloads:
                self._payloads.put_object(offload.key, offload.body, offload.content_type)
        return self._conditional_put(prepared, raw, _NEW_EVENT, first_receive=first_receive)

    def _conditional_put(
        self,
        prepared: Prepared,
        raw: bytes,
        condition: str,
        names: dict[str, str] | None = None,
        spent: float = 0.0,
        *,
        first_receive: bool,
    ) -> PutResult:
        """Write the item where ``condition`` holds; else what the item stored there makes of it."""
        named: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            response = self.dynamodb.put_item(
                TableName=self.table_name,
                Item=encode_item(prepared.item),
                ConditionExpression=condition,
                **named,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ReturnConsumedCapacity="TOTAL",
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                found = exc.response.get("Item")  # with ReturnValuesOnConditionCheckFailure=ALL_OLD
                stored = found if isinstance(found, dict) else None
                if first_receive and stored is not None and retried(exc) and _same_item(stored, prepared):
                    # botocore sent the put again after an answer that never came: the item is this write's.
                    return PutResult(Outcome.STORED, spent + prepared.write_units())
                again = self._existing(stored, prepared, raw, first_receive=first_receive)
                return PutResult(again.outcome, spent + again.write_units)
            if code in REFUSED_ITEM:
                raise ItemRefusedError(f"DynamoDB refused the item: {code}") from exc
            raise StoreError(f"put_item failed: {code}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"put_item failed: {type(exc).__name__}") from exc
        return PutResult(Outcome.STORED, spent + consumed(dict(response), prepared.write_units))

    def _existing(
        self, wire: dict[str, Any] | None, prepared: Prepared, raw: bytes, *, first_receive: bool
    ) -> PutResult:
        stored = decode_item(wire) if wire else None
        units = float(write_units(max(prepared.size, item_size(stored) if stored else 0)))
        stored_test, new_test = bool(stored and stored.get("test")), bool(prepared.item.get("test"))
        if stored_test and not new_test:
            # Whatever the test copy held, the vendor's own event takes its place.
            return self._over_test_copy(prepared, raw, units, first_receive=first_receive)
        body = load_body(stored, self._payloads) if stored else None
        stored_raw = body[1] if body is not None else None
        if stored_raw is None or same_event(stored_raw, raw):
            # A copy sent as a test never moves the real event (nor the vendor's copy a test one).
            earlier = stored is not None and str(prepared.item["received_at"]) < str(stored.get("received_at", ""))
            if stored is not None and earlier and stored_test == new_test:
                units += self._earlier_copy(stored, prepared)
            return PutResult(Outcome.DUPLICATE, units)
        if new_test:
            # An edited test copy: it takes an earlier test copy's place, and changes nothing of the
            # vendor's event (nor is it a conflict to tell the vendor of).
            if stored_test:
                return self._over_test_copy(prepared, raw, units, first_receive=first_receive)
            return PutResult(Outcome.DUPLICATE, units)
        return PutResult(Outcome.CONFLICT, units)

    def _over_test_copy(self, prepared: Prepared, raw: bytes, spent: float, *, first_receive: bool) -> PutResult:
        """The vendor's own copy of an event stored first as a test (or an edited test copy of it):
        it takes the test copy's place.

        A test copy (``intake send --stack`` of an event the vendor sends too, edited or not) is
        never read as a real event, so the real one must be neither its duplicate nor its conflict:
        it is written whole, over a test copy or none (another real copy may have replaced it
        since: then that one answers, as any would).
        """
        condition = f"{_NEW_EVENT} OR attribute_exists(#test)"
        return self._conditional_put(prepared, raw, condition, _TEST, spent, first_receive=first_receive)

    def _earlier_copy(self, stored: dict[str, Any], prepared: Prepared) -> float:
        """The same event, received before the copy stored: this copy's item takes its place.

        A vendor's retry (or an SQS redelivery) can be consumed before the delivery it repeats;
        the event is then written again as the first copy made it (its bytes, times, ids, feed
        entry and place among a comment's states), so what is stored never depends on which copy
        landed first. Written only while the stored copy was received later than this one; its
        write units.
        """
        item = prepared.item
        try:
            response = self.dynamodb.put_item(
                TableName=self.table_name,
                Item=encode_item(item),
                # Only over a copy received later (two earlier copies at once, the earliest wins),
                # and still a test copy, or still not (the vendor's copy may have replaced a test one).
                ConditionExpression="#received_at > :mine AND "
                + ("attribute_exists(#test)" if item.get("test") else "attribute_not_exists(#test)"),
                ExpressionAttributeNames={"#received_at": "received_at", **_TEST},
                ExpressionAttributeValues={":mine": encode(item["received_at"])},
                ReturnConsumedCapacity="TOTAL",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return 0.0  # a copy received no later than this one is stored by now
            raise StoreError(f"put_item failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"put_item failed: {type(exc).__name__}") from exc
        return consumed(dict(response), lambda: float(write_units(max(prepared.size, item_size(stored)))))
