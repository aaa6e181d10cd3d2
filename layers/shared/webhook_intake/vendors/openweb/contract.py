"""OpenWeb: the shared webhook-token header, or an OAuth2 access token; 401 on failure so OpenWeb re-authenticates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.auth import bearer_token
from webhook_intake.http import Response
from webhook_intake.ingest.contract import HeaderTokenContract, require_id, require_object
from webhook_intake.vendors.openweb.access_token import access_token_valid

if TYPE_CHECKING:
    from webhook_intake.http import Request

TOKEN_HEADER = "x-openweb-notification-event-webhook-token"  # noqa: S105 (a header name)  # nosec B105


@dataclass(frozen=True)
class OpenWebContract(HeaderTokenContract):
    """One event per delivery, with ``event_id`` and ``type``."""

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        """The shared header token, or ``Authorization: Bearer`` with an access token of the token route."""
        if super().authenticate(request, secret, now):
            return True
        token = bearer_token(request.header("authorization"))
        return token is not None and access_token_valid(token, secret, now)

    def check_envelope(self, request: Request, document: Any) -> None:
        body = require_object(document)
        require_id(body, "event_id")
        require_id(body, "type")

    def refusal(self) -> Response:
        # RFC 6750 §3: a resource server names the Bearer scheme it takes on a 401.
        refused = super().refusal()
        return Response(refused.status, refused.body, {**refused.headers, "www-authenticate": 'Bearer realm="openweb"'})


CONTRACT = OpenWebContract(vendor="openweb", path="/webhooks/openweb", auth_failure_status=401, header=TOKEN_HEADER)
