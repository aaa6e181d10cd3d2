"""Reading the stored normalized events back, for ``intake events``, ``status`` and the demo."""

from __future__ import annotations

import base64
import json
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.target import IntakeError
from webhook_intake.store.reads import EventReader

if TYPE_CHECKING:
    from intake_cli.target import Target


def reader(target: Target) -> EventReader:
    """The event log's read side on ``target``."""
    return EventReader(target.events_table, dynamodb_client=target.client("dynamodb"))


def stored_events(target: Target, vendor: str | None = None, event_type: str | None = None) -> list[dict[str, Any]]:
    """Every normalized event of the table (a full scan), filtered, oldest first."""
    try:
        items = [
            item
            for item in reader(target).scan()
            if (vendor is None or item.get("vendor") == vendor)
            and (event_type is None or item.get("event_type") == event_type)
        ]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise IntakeError(
            f"cannot read table {target.events_table}: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise IntakeError(f"cannot read table {target.events_table}: {exc}") from None
    return sorted(items, key=lambda item: (str(item.get("occurred_at", "")), str(item.get("event_id", ""))))


def count_by_vendor(events: list[dict[str, Any]]) -> dict[str, int]:
    """How many events each vendor has stored."""
    return dict(Counter(str(item.get("vendor")) for item in events))


def event_json(item: dict[str, Any]) -> str:
    """One stored event as one line of JSON (``raw`` is the vendor's object; ``raw_text`` its exact text)."""
    return json.dumps(item, default=_plain, ensure_ascii=False, sort_keys=True)


def _plain(value: Any) -> Any:
    """DynamoDB's numbers, sets and binaries as JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
