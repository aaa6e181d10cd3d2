"""How FastComments calls the webhooks (for ``intake send``, the demo, tests; not shipped to Lambda)."""

from __future__ import annotations

from typing import Any

from webhook_intake.auth import current_secret
from webhook_intake.vendors.fastcomments import SPEC, TIMESTAMP_HEADER
from webhook_intake.vendors.fastcomments.contract import EVENTS, SIGNATURE_HEADER, signature

EVENT_CHOICES = EVENTS
"""``intake send fastcomments --event`` takes one of these."""


def route(sample_name: str, event: str | None = None) -> tuple[str, str]:
    """The method and path of an event: FastComments' defaults are PUT, and DELETE for deletes.

    Without ``event``, a sample's event is its file name up to the first dot.
    """
    chosen = event or sample_name.split(".", 1)[0]
    if chosen not in EVENTS:
        chosen = EVENTS[0]
    return ("DELETE" if chosen == "comment-deleted" else "PUT"), SPEC.path.replace("{event}", chosen)


def headers(body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
    """A signature over ``<timestamp>.<body>`` with the current API secret, the time in milliseconds.

    FastComments documents both seconds and milliseconds. Milliseconds keep two deliveries of
    the same body to two routes (an edit, then a delete with nothing changed in between) from
    carrying one signature, which the second route would refuse as a replay.
    """
    timestamp = str(int(now * 1000))
    return {
        SIGNATURE_HEADER: signature(current_secret(secret, "api_secret"), timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        "content-type": "application/json",
    }
