"""Reading the stored normalized events back, for ``intake events``, ``status`` and the demo."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.target import IntakeError
from webhook_intake.repository import EVENT_SK, EventRepository

if TYPE_CHECKING:
    from intake_cli.target import Target


def stored_events(target: Target, vendor: str | None = None, event_type: str | None = None) -> list[dict[str, Any]]:
    """Every normalized event of the table (a full scan), filtered, oldest first."""
    repository = EventRepository(target.events_table, dynamodb_client=target.client("dynamodb"))
    try:
        items = [
            item
            for item in repository.scan()
            if item.get("sk") == EVENT_SK
            and (vendor is None or item.get("vendor") == vendor)
            and (event_type is None or item.get("event_type") == event_type)
        ]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise IntakeError(
            f"cannot read table {target.events_table}: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise IntakeError(f"cannot read table {target.events_table}: {exc}") from None
    return sorted(items, key=lambda item: (str(item.get("occurred_at", "")), str(item.get("pk", ""))))


def count_by_vendor(events: list[dict[str, Any]]) -> dict[str, int]:
    """How many events each vendor has stored."""
    return dict(Counter(str(item.get("vendor")) for item in events))


def event_json(item: dict[str, Any]) -> str:
    """One stored event as one line of JSON; ``raw`` (stored as JSON text) is an object again."""
    document = dict(item)
    raw = document.get("raw")
    if isinstance(raw, str):
        try:
            document["raw"] = json.loads(raw)
        except ValueError:
            document["raw"] = raw
    return json.dumps(document, default=_plain, ensure_ascii=False, sort_keys=True)


def _plain(value: Any) -> Any:
    """DynamoDB's numbers, sets and binaries as JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
