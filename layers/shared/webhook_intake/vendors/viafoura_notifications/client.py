"""How Viafoura calls the notifications webhook (for ``intake send``, the demo, tests; not shipped to Lambda)."""

from __future__ import annotations

from typing import Any

from webhook_intake.vendors.viafoura_engagement import client as engagement


def headers(body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
    """The engagement webhook's headers, plus ``accept`` (the notifications page lists it)."""
    return {**engagement.headers(body, secret, now), "accept": "application/json"}
