"""Viafoura notifications: ``authorization`` equals a configured token; 204 on success, 401 on failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.http import Response
from webhook_intake.ingest.contract import HeaderTokenContract, require_object, require_object_list
from webhook_intake.vendors.viafoura_engagement.contract import request_uuid_of

if TYPE_CHECKING:
    from webhook_intake.http import Request


@dataclass(frozen=True)
class ViafouraNotificationsContract(HeaderTokenContract):
    """A ``notifications`` array under the envelope; the response body is ignored by Viafoura."""

    def check_envelope(self, request: Request, document: Any) -> None:
        require_object_list(require_object(document), "notifications")

    def accepted(self, request: Request, document: Any) -> Response:
        return Response(204)

    def client_headers(self, body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
        headers = super().client_headers(body, secret, now)
        return {**headers, "x-request-id": request_uuid_of(body), "accept": "application/json"}


CONTRACT = ViafouraNotificationsContract(
    vendor="viafoura-notifications",
    path="/webhooks/viafoura/notifications",
    auth_failure_status=401,
    # Viafoura gives up after 5 s and retries; answer a 5xx before that rather than time out.
    deadline_seconds=4.0,
)
