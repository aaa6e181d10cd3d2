"""How Firstup calls the webhook (for ``intake send``, the demo, tests; not shipped to Lambda)."""

from __future__ import annotations

import uuid
from typing import Any

from webhook_intake.auth import current_secret


def headers(body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
    """The subscription's ``authorization_header`` value and a new delivery id."""
    return {
        "authorization": current_secret(secret, "tokens"),
        "x-socialchorus-delivery": str(uuid.uuid4()),
        "content-type": "application/json",
    }
