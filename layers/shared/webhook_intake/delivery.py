"""What travels with a raw body on the queue, as SQS message attributes. Standard library only.

The SQS message body is the vendor's raw body, byte for byte, so that a message that ends in
the dead-letter queue is exactly what the vendor sent. Everything else about the delivery
(who, when, which route, the headers that matter) rides in message attributes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Headers worth keeping with a delivery: ids for idempotency and tracing, the signing
# timestamp, the content type. Never authorization, tokens or signatures.
KEPT_HEADERS = (
    "content-type",
    "x-request-id",
    "x-socialchorus-delivery",
    "x-fastcomments-timestamp",
    "user-agent",
)
_MAX_HEADER_CHARS = 256


def iso_millis(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: the one time format of the event log."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One accepted HTTP delivery, as the ingest function saw it."""

    vendor: str
    received_at: str
    correlation_id: str
    method: str
    path: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    claim_check: str | None = None
    """``s3://…`` when the body waits in S3 and the message holds a pointer (set by the queue sender)."""

    @property
    def delivery_id(self) -> str | None:
        """The vendor's own id for this HTTP delivery, where it sends one."""
        return self.headers.get("x-socialchorus-delivery") or self.headers.get("x-request-id")

    def to_message_attributes(self) -> dict[str, dict[str, str]]:
        """SQS ``MessageAttributes`` (four of the ten SQS allows)."""
        route = {
            "method": self.method,
            "path": self.path,
            "path_parameters": self.path_parameters,
            "headers": self.headers,
        }
        return {
            "vendor": {"DataType": "String", "StringValue": self.vendor},
            "received_at": {"DataType": "String", "StringValue": self.received_at},
            "correlation_id": {"DataType": "String", "StringValue": self.correlation_id},
            "route": {"DataType": "String", "StringValue": json.dumps(route, separators=(",", ":"))},
        }

    @classmethod
    def from_message_attributes(cls, attributes: dict[str, Any]) -> Delivery:
        """Read the attributes back, as the SQS event of a Lambda event source mapping has them."""

        def text(name: str) -> str:
            value = attributes.get(name) or {}
            return str(value.get("stringValue") or value.get("StringValue") or "")

        route_text = text("route")
        route = json.loads(route_text) if route_text else {}
        return cls(
            vendor=text("vendor"),
            received_at=text("received_at"),
            correlation_id=text("correlation_id"),
            method=str(route.get("method", "")),
            path=str(route.get("path", "")),
            path_parameters={str(k): str(v) for k, v in (route.get("path_parameters") or {}).items()},
            headers={str(k): str(v) for k, v in (route.get("headers") or {}).items()},
            claim_check=text("claim_check") or None,
        )


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers that travel with a delivery, each cut to a sane length."""
    return {name: headers[name][:_MAX_HEADER_CHARS] for name in KEPT_HEADERS if name in headers}
