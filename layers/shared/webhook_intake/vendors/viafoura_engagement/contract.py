"""Viafoura engagement: ``authorization`` equals a configured token; 403 on failure; a result per event."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.http import Response
from webhook_intake.ingest.contract import HeaderTokenContract, secret_entries
from webhook_intake.vendors.viafoura_engagement import SPEC

if TYPE_CHECKING:
    from webhook_intake.http import Request
    from webhook_intake.ingest.contract import Verdict

# Viafoura documents its authorization value as at least 64 bytes of hex; its own testing
# steps configure "Bearer <key>". Any value works, so any is accepted; the shape is advice.
_DOCUMENTED_SHAPE = re.compile(r"[0-9a-fA-F]{64,}")


@dataclass(frozen=True)
class ViafouraEngagementContract(HeaderTokenContract):
    """Fire and forget: Viafoura never retries, so the answer says which events were taken."""

    def accepted(self, request: Request, document: Any, verdicts: list[Verdict]) -> Response:
        # Viafoura's response schema: request_uuid is a string, then one result per event. The header
        # carries the same id: it names the request when the body's is null or left out.
        request_uuid = document.get("request_uuid")
        if request_uuid is None:
            request_uuid = request.header("x-request-id")
        results: list[dict[str, str]] = []
        for verdict in verdicts:
            result = {"event_uuid": verdict.event_id} if verdict.event_id is not None else {}
            if verdict.refusal is None:
                result["type"] = "success"
            else:
                result.update(
                    type="failure",
                    error_type=verdict.refusal.error_type,
                    error_description=verdict.refusal.error_description,
                )
            results.append(result)
        return Response(200, {"request_uuid": request_uuid_text(request_uuid), "results": results})

    def secret_advice(self, secret: dict[str, Any]) -> list[str]:
        name = self.token_field
        return [
            f"'{name}' entry {position} is not 64 or more hex characters (Viafoura's shape)"
            for position, token in secret_entries(secret.get(name))
            if isinstance(token, str) and token and not _DOCUMENTED_SHAPE.fullmatch(token)
        ]


# Viafoura never sends an event again: a 5xx loses it as surely as no answer, and a message queued after
# Viafoura stopped waiting is still stored. So the queue is tried for as long as API Gateway waits for the
# function (30 s, the HTTP API's integration timeout; a cold start's init counts there too), not for the few
# seconds a vendor that retries is given.
CONTRACT = ViafouraEngagementContract(SPEC, auth_failure_status=403, deadline_seconds=25.0)


def request_uuid_text(value: Any) -> str:
    """Viafoura's string as sent; another JSON value as JSON writes it (a number stays its digits)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
