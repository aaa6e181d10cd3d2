"""Viafoura engagement: ``authorization`` equals a configured token; 403 on failure; a results body."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.http import Response
from webhook_intake.ingest.contract import HeaderTokenContract, require_object, require_object_list

if TYPE_CHECKING:
    from webhook_intake.http import Request

# Viafoura's authorization value: at least 64 bytes of hex.
_TOKEN_SHAPE = re.compile(r"[0-9a-fA-F]{64,}")


@dataclass(frozen=True)
class ViafouraEngagementContract(HeaderTokenContract):
    """Fire and forget: Viafoura never retries, so the answer reports every event taken."""

    def accepted_tokens(self, secret: dict[str, Any]) -> list[str]:
        # A token of the wrong shape is a configuration mistake; it authenticates nothing.
        return [token for token in super().accepted_tokens(secret) if _TOKEN_SHAPE.fullmatch(token)]

    def check_envelope(self, request: Request, document: Any) -> None:
        require_object_list(require_object(document), "events")

    def accepted(self, request: Request, document: Any) -> Response:
        request_uuid = document.get("request_uuid", request.header("x-request-id"))
        results = [{"event_uuid": event.get("event_uuid"), "type": "success"} for event in document["events"]]
        return Response(200, {"request_uuid": request_uuid, "results": results})

    def client_headers(self, body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
        return {**super().client_headers(body, secret, now), "x-request-id": request_uuid_of(body)}


def request_uuid_of(body: bytes) -> str:
    """The body's ``request_uuid`` (Viafoura repeats it in ``x-request-id``)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    return str(document.get("request_uuid", "")) if isinstance(document, dict) else ""


CONTRACT = ViafouraEngagementContract(
    vendor="viafoura-engagement", path="/webhooks/viafoura/engagement", auth_failure_status=403
)
