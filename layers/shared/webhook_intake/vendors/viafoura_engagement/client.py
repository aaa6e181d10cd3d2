"""How Viafoura calls the engagement webhook (for ``intake send``, the demo, tests; not shipped to Lambda)."""

from __future__ import annotations

import json
import re
from typing import Any

from webhook_intake.auth import current_secret
from webhook_intake.text import read_json
from webhook_intake.vendors.viafoura_engagement.contract import request_uuid_text

_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
"""What a header value carries: visible ASCII and spaces (no line break, nothing past ASCII)."""


def request_uuid_of(body: bytes) -> str:
    """The body's ``request_uuid`` (Viafoura repeats it in ``x-request-id``); empty when none, or when no
    header could carry it (Viafoura's are UUIDs or numbers; a hand-written body may hold any text)."""
    try:
        # Read as the route reads it: an event holding a number no int or float here holds (``1e400``, 5,000
        # digits) is refused alone, and the rest of the batch, its request_uuid among it, goes as Viafoura sends it.
        document, _ = read_json(body.decode(json.detect_encoding(body), "surrogatepass"))
    except (ValueError, RecursionError):
        return ""
    try:
        # As the route echoes it: another JSON value as JSON writes it (null is none), not Python's spelling.
        value = request_uuid_text(document.get("request_uuid") if isinstance(document, dict) else None)
    except TypeError:  # it holds a number out of range: the route refuses such a body whole, naming no request
        return ""
    return value.strip() if _HEADER_VALUE.fullmatch(value) else ""


def headers(body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
    """Viafoura's headers: the configured authorization value, the request id, JSON."""
    return {
        "authorization": current_secret(secret, "tokens"),
        "x-request-id": request_uuid_of(body),
        "content-type": "application/json; charset=utf-8",
    }
