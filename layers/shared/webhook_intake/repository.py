"""The events table: one item per normalized event, written once (DynamoDB, data-access layer).

Keys (see docs/data-model.md):

- ``pk`` = ``<vendor>#<event_id>``, ``sk`` = ``event``: one event by id; the conditional
  put on ``attribute_not_exists(pk)`` makes every write idempotent.
- Sparse global secondary indexes, all sorted by ``occurred_at``: ``by-content``
  (``content_key``), ``by-container`` (``container_key``), ``by-actor`` (``actor_key``),
  ``by-recipient`` (``recipient_key``) and ``by-type`` (``event_type``).
"""

from __future__ import annotations

import json
import time
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import client

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_intake.consumer.models import NormalizedEvent

EVENT_SK = "event"
INDEXES = {
    "content": ("by-content", "content_key"),
    "container": ("by-container", "container_key"),
    "actor": ("by-actor", "actor_key"),
    "recipient": ("by-recipient", "recipient_key"),
    "type": ("by-type", "event_type"),
}
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


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


def event_key(vendor: str, event_id: str) -> dict[str, str]:
    """The primary key of one event."""
    return {"pk": f"{vendor}#{event_id}", "sk": EVENT_SK}


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


class EventRepository:
    """Reads and writes normalized events in one table."""

    def __init__(self, table_name: str, retention_days: int = 0, dynamodb_client: DynamoDBClient | None = None):
        self.table_name = table_name
        self.retention_days = retention_days
        self._client = dynamodb_client

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The injected client, else the process-wide one."""
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def put_event(self, event: NormalizedEvent) -> PutOutcome:
        """Write the event unless its key exists; an existing key is a duplicate, not an error."""
        item = to_item(event, time.time(), self.retention_days)
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={k: _SERIALIZER.serialize(v) for k, v in item.items()},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return PutOutcome.DUPLICATE
            raise StoreError(f"put_item failed: {exc.response.get('Error', {}).get('Code')}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"put_item failed: {type(exc).__name__}") from exc
        return PutOutcome.STORED

    def get_event(self, vendor: str, event_id: str) -> dict[str, Any] | None:
        """One event by vendor and id, as plain Python values."""
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key={k: _SERIALIZER.serialize(v) for k, v in event_key(vendor, event_id).items()},
            ConsistentRead=True,
        )
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


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}
