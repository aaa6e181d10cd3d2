"""How Viafoura calls the engagement webhook (for ``intake send``, the demo, tests; not shipped to Lambda)."""

from __future__ import annotations

import json
from typing import Any

from webhook_intake.auth import current_secret


def request_uuid_of(body: bytes) -> str:
    """The body's ``request_uuid`` (Viafoura repeats it in ``x-request-id``)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    return str(document.get("request_uuid", "")) if isinstance(document, dict) else ""


def headers(body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
    """Viafoura's headers: the configured authorization value, the request id, JSON."""
    return {
        "authorization": current_secret(secret, "tokens"),
        "x-request-id": request_uuid_of(body),
        "content-type": "application/json; charset=utf-8",
    }
