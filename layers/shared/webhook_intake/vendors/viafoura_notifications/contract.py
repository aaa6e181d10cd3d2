"""Viafoura notifications: ``authorization`` equals a configured token; 204 on success, 401 on failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.http import Response
from webhook_intake.ingest.contract import HeaderTokenContract
from webhook_intake.vendors.viafoura_notifications import SPEC

if TYPE_CHECKING:
    from webhook_intake.http import Request
    from webhook_intake.ingest.contract import Verdict


@dataclass(frozen=True)
class ViafouraNotificationsContract(HeaderTokenContract):
    """A ``notifications`` array under the envelope; the response body is ignored by Viafoura."""

    def accepted(self, request: Request, document: Any, verdicts: list[Verdict]) -> Response:
        return Response(204)


CONTRACT = ViafouraNotificationsContract(
    SPEC,
    auth_failure_status=401,
    # Viafoura gives up after 5 s and retries; answer a 5xx before that rather than time out.
    deadline_seconds=4.0,
    success_status=204,
)
