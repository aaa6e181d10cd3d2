"""Shared-secret checks, in constant time. Standard library only."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def matches_any(presented: str | None, accepted: Iterable[str]) -> bool:
    """True when ``presented`` equals one of ``accepted``.

    Every candidate is compared with :func:`hmac.compare_digest` and the loop never exits
    early, so the time taken does not tell which secret (or how much of it) matched.
    Empty candidates never match: a missing value is a refusal, not a pass.
    """
    if not presented:
        return False
    presented_bytes = presented.encode("utf-8", "surrogatepass")
    matched = False
    for candidate in accepted:
        if candidate and hmac.compare_digest(presented_bytes, candidate.encode("utf-8")):
            matched = True
    return matched


def secret_list(value: object) -> list[str]:
    """Read a secret field that may hold one string or a list of strings (rotation).

    Only strings that are text: JSON can spell a lone surrogate (``"\\ud800"``), which no byte
    sequence encodes, and such an entry (reported by the secret's problems) is passed over.
    """
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str) and item and is_text(item)]


def is_text(value: str) -> bool:
    """Whether ``value`` encodes as UTF-8 (no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def current_secret(secret: Mapping[str, object], field: str) -> str:
    """The secret a client sends now: the first of ``secret[field]`` (see :func:`secret_list`), else ""."""
    values = secret_list(secret.get(field))
    return values[0] if values else ""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
