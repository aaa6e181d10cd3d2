"""The events table: one item per normalized event, written once (DynamoDB, data-access layer).

Keys (see docs/data-model.md):

- ``pk`` = ``<vendor>#<event_id>``, ``sk`` = ``event``: one event by id; the conditional
  put on ``attribute_not_exists(pk)`` makes every write idempotent.
- Sparse global secondary indexes, all sorted by ``occurred_at``: ``by-content``
  (``content_key``), ``by-container`` (``container_key``), ``by-actor`` (``actor_key``),
  ``by-recipient`` (``recipient_key``) and ``by-type`` (``event_type``).
- ``pk`` = ``state#<vendor>#<content id>``, ``sk`` = ``state``: the current state of a
  comment (reply, chat message, live-blog post), kept by the newest vendor event time, so
  deliveries in any order converge; a delete leaves a tombstone that wins.
"""

from __future__ import annotations

import hashlib
import json
import time
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import client, error_code

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_intake.consumer.models import NormalizedEvent
    from webhook_intake.payloads import PayloadStore

EVENT_SK = "event"
STATE_SK = "state"
INDEXES = {
    "content": ("by-content", "content_key"),
    "container": ("by-container", "container_key"),
    "actor": ("by-actor", "actor_key"),
    "recipient": ("by-recipient", "recipient_key"),
    "type": ("by-type", "event_type"),
}
STATEFUL_SUBJECTS = frozenset({"comment", "reply", "chat_message", "chat_reply", "liveblog_post"})
DELETES = frozenset({"comment.deleted", "reply.deleted", "reply.removed"})
# DynamoDB items stop at 400 KB; above this estimate the raw event moves to S3.
MAX_ITEM_BYTES = 350_000
MAX_TEXT_CHARS = 50_000
# Items are built by this code, never taken from input: botocore's parameter validation is skipped.
CONSUMER_CONFIG = Config(retries={"total_max_attempts": 5, "mode": "standard"}, parameter_validation=False)
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_NEW_EVENT = "attribute_not_exists(pk)"
# A state changes only for a newer event, and never back from a tombstone; a delete always wins.
_NEWER_STATE = "attribute_not_exists(pk) OR (deleted = :false AND last_order < :order)"
_NEWER_TOMBSTONE = "attribute_not_exists(pk) OR deleted = :false OR last_order < :order"


class PutOutcome(Enum):
    """What one conditional write did."""

    STORED = "stored"
    DUPLICATE = "duplicate"


class StoreError(RuntimeError):
    """DynamoDB did not take the write: the record must be retried."""


def _without_empty(value: Any) -> Any:
    """Drop None values and empty containers (DynamoDB keeps maps smaller without them)."""
    if isinstance(value, dict):
        cleaned = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def _serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in item.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}


def event_key(vendor: str, event_id: str) -> dict[str, str]:
    """The primary key of one event."""
    return {"pk": f"{vendor}#{event_id}", "sk": EVENT_SK}


def state_key(vendor: str, content_id: str) -> dict[str, str]:
    """The primary key of one content item's current state."""
    return {"pk": f"state#{vendor}#{content_id}", "sk": STATE_SK}


def to_item(event: NormalizedEvent, stored_at: float, retention_days: int = 0) -> dict[str, Any]:
    """The DynamoDB item (plain Python values) for a normalized event."""
    data = event.model_dump(mode="json", exclude={"raw"})
    item: dict[str, Any] = {**event_key(event.vendor, event.event_id), **_without_empty(data)}
    # Raw stays exactly as the vendor wrote it: JSON text keeps numbers DynamoDB cannot hold.
    item["raw"] = json.dumps(event.raw, separators=(",", ":"), ensure_ascii=False)
    item["stored_at"] = int(stored_at * 1000)
    for field, (_, attribute) in INDEXES.items():
        if field == "type":
            continue
        key = _index_value(event, field)
        if key:
            item[attribute] = f"{event.vendor}#{key}"
    if retention_days > 0:
        item["expires_at"] = int(stored_at) + retention_days * 86_400
    return item


def item_size(item: dict[str, Any]) -> int:
    """A close upper estimate of an item's DynamoDB size (names and values as UTF-8)."""
    return len(json.dumps(item, ensure_ascii=False, default=str).encode("utf-8"))


def _index_value(event: NormalizedEvent, field: str) -> str | None:
    if field == "content":
        return event.content.id if event.content else None
    if field == "container":
        return event.container.id if event.container else None
    if field == "actor":
        return event.actor.id if event.actor else None
    # A single recipient is indexed; broadcasts to many are found by type instead.
    if len(event.recipients) == 1:
        return event.recipients[0].id
    return None


def state_update(event: NormalizedEvent, item: dict[str, Any]) -> dict[str, Any] | None:
    """The conditional update of the content's current state, or None for events without one."""
    if event.content is None or not event.content.id:
        return None
    deleted = event.event_type in DELETES
    if not deleted and event.event_type.split(".", 1)[0] not in STATEFUL_SUBJECTS:
        return None
    values = {
        ":vendor": event.vendor,
        ":content_id": event.content.id,
        ":order": f"{event.occurred_at}#{event.event_id}",
        ":at": event.occurred_at,
        ":id": event.event_id,
        ":type": event.event_type,
        ":source": event.source_type,
        ":status": "deleted" if deleted else event.event_type.split(".", 1)[1],
        ":deleted": deleted,
        ":false": False,
        ":content": item.get("content", {}),
    }
    return {
        "Key": _serialize(state_key(event.vendor, event.content.id)),
        "UpdateExpression": (
            "SET vendor = :vendor, content_id = :content_id, last_order = :order, last_occurred_at = :at, "
            "last_event_id = :id, last_event_type = :type, last_source_type = :source, #status = :status, "
            "deleted = :deleted, content = :content"
        ),
        "ConditionExpression": _NEWER_TOMBSTONE if deleted else _NEWER_STATE,
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": _serialize(values),
    }


class EventRepository:
    """Reads and writes normalized events (and content states) in one table."""

    def __init__(
        self,
        table_name: str,
        retention_days: int = 0,
        dynamodb_client: DynamoDBClient | None = None,
        payloads: PayloadStore | None = None,
    ) -> None:
        self.table_name = table_name
        self.retention_days = retention_days
        self._client = dynamodb_client
        self._payloads = payloads

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The injected client, else the process-wide one."""
        if self._client is None:
            self._client = client("dynamodb", CONSUMER_CONFIG)
        return self._client

    def put_event(self, event: NormalizedEvent) -> PutOutcome:
        """Write the event unless its key exists (a duplicate, not an error), with its content state.

        One request either way: a plain conditional ``PutItem``, or for a comment-like event a
        ``TransactWriteItems`` of that put and the state's conditional update, so the state
        can never miss an event that was logged (nor the reverse) whatever fails in between.
        """
        item = self._fit(to_item(event, time.time(), self.retention_days), event)
        state = state_update(event, item)
        try:
            if state is None:
                return self._put(item)
            return self._put_with_state(item, state)
        except BotoCoreError as exc:
            raise StoreError(f"write failed: {type(exc).__name__}") from exc

    def _put(self, item: dict[str, Any]) -> PutOutcome:
        try:
            self.dynamodb.put_item(TableName=self.table_name, Item=_serialize(item), ConditionExpression=_NEW_EVENT)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return PutOutcome.DUPLICATE
            raise StoreError(f"put_item failed: {error_code(exc)}") from exc
        return PutOutcome.STORED

    def _put_with_state(self, item: dict[str, Any], state: dict[str, Any]) -> PutOutcome:
        put = {"TableName": self.table_name, "Item": _serialize(item), "ConditionExpression": _NEW_EVENT}
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[{"Put": put}, {"Update": {"TableName": self.table_name, **state}}]  # type: ignore[typeddict-item]
            )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise StoreError(f"transact_write_items failed: {error_code(exc)}") from exc
            reasons = [str(reason.get("Code", "None")) for reason in exc.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return PutOutcome.DUPLICATE
            if reasons == ["None", "ConditionalCheckFailed"]:
                # The state already holds a newer event (or a tombstone): log this one alone.
                return self._put(item)
            raise StoreError(f"transaction cancelled: {', '.join(reasons)}") from exc
        return PutOutcome.STORED

    def _fit(self, item: dict[str, Any], event: NormalizedEvent) -> dict[str, Any]:
        """Move a raw event too large for an item to S3, and cut an oversized text."""
        if item_size(item) <= MAX_ITEM_BYTES:
            return item
        if self._payloads is not None:
            digest = hashlib.sha256(f"{event.vendor}#{event.event_id}".encode()).hexdigest()
            raw = item.pop("raw").encode("utf-8")
            item["raw_ref"] = self._payloads.put_raw(f"raw/{event.vendor}/{digest}.json", raw)
        content = item.get("content")
        if item_size(item) > MAX_ITEM_BYTES and isinstance(content, dict) and "text" in content:
            content["text"] = content["text"][:MAX_TEXT_CHARS]
            content["truncated"] = True
        return item

    def get_event(self, vendor: str, event_id: str) -> dict[str, Any] | None:
        """One event by vendor and id, as plain Python values."""
        return self._get(event_key(vendor, event_id))

    def get_state(self, vendor: str, content_id: str) -> dict[str, Any] | None:
        """A content item's current state, as plain Python values."""
        return self._get(state_key(vendor, content_id))

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(TableName=self.table_name, Key=_serialize(key), ConsistentRead=True)
        item = response.get("Item")
        return _plain(item) if item else None

    def query(self, by: str, key: str, *, newest_first: bool = True, limit: int = 100) -> list[dict[str, Any]]:
        """Events of one content item, container, user (actor or recipient) or type, by time.

        ``key`` is ``<vendor>#<id>`` for content, container, actor and recipient, and the
        event_type for ``type``.
        """
        index, attribute = INDEXES[by]
        response = self.dynamodb.query(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": attribute},
            ExpressionAttributeValues={":v": {"S": key}},
            ScanIndexForward=not newest_first,
            Limit=limit,
        )
        return [_plain(item) for item in response.get("Items", [])]

    def scan(self) -> Iterator[dict[str, Any]]:
        """Every item of the table (for the CLI and tests; not a Lambda read path)."""
        paginator = self.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name):
            for item in page.get("Items", []):
                yield _plain(item)
