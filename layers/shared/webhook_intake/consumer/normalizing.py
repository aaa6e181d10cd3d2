"""What every vendor's normalizer shares: JSON reading, the per-event loop, time formats."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from webhook_intake.delivery import iso_millis
from webhook_intake.taxonomy import event_type

if TYPE_CHECKING:
    from webhook_intake.consumer.models import NormalizedEvent
    from webhook_intake.delivery import Delivery


class VendorModel(BaseModel):
    """Base of every vendor payload model: unknown fields are kept, ids may arrive as numbers."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


class PoisonRecordError(ValueError):
    """A queue record that cannot become events, however often it is retried."""


@dataclass
class Normalized:
    """The events of one queue record, and a short reason for each event that failed."""

    events: list[NormalizedEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def canonical_hash(document: Any) -> str:
    """A hash of a JSON document that ignores key order and white space."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def describe(exc: ValidationError) -> str:
    """A validation failure without the input values (they may hold comment text or e-mail)."""
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()]
    return f"{exc.title}: " + "; ".join(parts)


def from_millis(value: float | str | None) -> str | None:
    """Epoch milliseconds to the log's ISO format."""
    return _from_epoch(value, 1000)


def from_seconds(value: float | str | None) -> str | None:
    """Epoch seconds to the log's ISO format."""
    return _from_epoch(value, 1)


def _from_epoch(value: float | str | None, per_second: int) -> str | None:
    if value is None or value == "":
        return None
    try:
        return iso_millis(datetime.fromtimestamp(float(value) / per_second, UTC))
    except (ValueError, OverflowError, OSError):
        return None


def from_iso(value: str | None) -> str | None:
    """Any ISO-8601 time (``Z`` or an offset; naive means UTC) to the log's ISO format."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_millis(moment)


class VendorNormalizer(ABC):
    """Splits a raw body into vendor events and maps each to a :class:`NormalizedEvent`."""

    vendor: str
    type_map: dict[str, str]

    def normalize(self, body: str, delivery: Delivery) -> Normalized:
        """Every event in ``body``; raises :class:`PoisonRecordError` if nothing can be read."""
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise PoisonRecordError("body is not valid JSON") from None
        result = Normalized()
        for item in self.split(document):
            try:
                result.events.append(self.to_event(item, document, delivery))
            except ValidationError as exc:
                result.errors.append(describe(exc))
        return result

    def split(self, document: Any) -> list[dict[str, Any]]:
        """The vendor events in one body; by default the body is one event."""
        if not isinstance(document, dict):
            raise PoisonRecordError("body is not a JSON object")
        return [document]

    def event_type(self, source_type: str) -> str:
        """The normalized type for a vendor type (``other`` when unmapped)."""
        return event_type(self.type_map, source_type)

    @abstractmethod
    def to_event(self, item: dict[str, Any], document: Any, delivery: Delivery) -> NormalizedEvent:
        """Validate one vendor event and map it (raises ``ValidationError``)."""


def delivery_fields(delivery: Delivery) -> dict[str, Any]:
    """The normalized-event fields that come from the delivery rather than the payload."""
    return {
        "received_at": delivery.received_at,
        "correlation_id": delivery.correlation_id or None,
        "delivery_id": delivery.delivery_id,
    }
