"""How OpenWeb calls the webhook with its shared token (for ``intake send``, the demo, tests; not shipped).

The OAuth2 mode (``intake send openweb --auth oauth``) asks the token route first: see the CLI.
"""

from __future__ import annotations

from typing import Any

from webhook_intake.auth import current_secret
from webhook_intake.vendors.openweb.contract import TOKEN_HEADER


def headers(body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
    """The shared webhook token header."""
    return {TOKEN_HEADER: current_secret(secret, "tokens"), "content-type": "application/json"}
