"""OpenWeb: the shared webhook-token header; 401 on failure so OpenWeb re-authenticates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.ingest.contract import HeaderTokenContract, require_id, require_object

if TYPE_CHECKING:
    from webhook_intake.http import Request

TOKEN_HEADER = "x-openweb-notification-event-webhook-token"  # noqa: S105 (a header name)


@dataclass(frozen=True)
class OpenWebContract(HeaderTokenContract):
    """One event per delivery, with ``event_id`` and ``type``."""

    def check_envelope(self, request: Request, document: Any) -> None:
        body = require_object(document)
        require_id(body, "event_id")
        require_id(body, "type")


CONTRACT = OpenWebContract(vendor="openweb", path="/webhooks/openweb", auth_failure_status=401, header=TOKEN_HEADER)
