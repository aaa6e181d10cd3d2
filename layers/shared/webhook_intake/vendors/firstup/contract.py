"""Firstup: ``authorization`` equals the subscription's ``authorization_header``; 401 on failure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.ingest.contract import HeaderTokenContract

if TYPE_CHECKING:
    from webhook_intake.http import Request


@dataclass(frozen=True)
class FirstupContract(HeaderTokenContract):
    """Any JSON object is taken: events, the older ``{event, data}`` form and subscription pings."""

    def correlation_id(self, request: Request) -> str:
        return request.header("x-socialchorus-delivery") or request.request_id

    def client_headers(self, body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
        return {**super().client_headers(body, secret, now), "x-socialchorus-delivery": str(uuid.uuid4())}


CONTRACT = FirstupContract(vendor="firstup", path="/webhooks/firstup", auth_failure_status=401)
