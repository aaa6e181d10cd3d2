"""How both OpenWeb JWTs are checked: client assertions (token route) and our access tokens (webhook).

HS256 only, signed with any one of the configured keys, claims checked by PyJWT, and the
time claims against the caller's clock. Standard library and PyJWT only: the ingest path
reaches this through the access-token check.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:
    from collections.abc import Sequence

# Fixed here, never read from a token's header (RFC 8725 §2.1): no `none`, no RS*/HS512.
ALGORITHM = "HS256"
ALGORITHMS = [ALGORITHM]
CLOCK_SKEW = 60
"""Seconds an ``iat``/``nbf`` (or a token's lifetime) may run ahead of our clock."""
LATEST_NUMERIC_DATE = 253_402_300_799
"""9999-12-31T23:59:59Z: a time claim beyond it (or before 1970) is refused, whatever the claim."""


class RefusedTokenError(Exception):
    """A JWT that fails a check. ``description`` is a fixed text: it never echoes the token's values."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def decode_with_any(
    token: str,
    keys: Sequence[bytes],
    *,
    what: str,
    audience: Sequence[str] | str,
    issuer: str,
    subject: str,
    require: list[str],
) -> dict[str, Any]:
    """The claims of ``token`` signed with one of ``keys``; raises :class:`RefusedTokenError`."""
    if not keys or not audience:
        raise RefusedTokenError("client authentication failed")
    if not token.isascii():
        # A compact JWS is base64url and dots. PyJWT encodes the token to UTF-8 first, and a header
        # value holding a lone surrogate would raise there (a 500), not as a refused token.
        raise RefusedTokenError(f"{what} is not a well-formed JWT")
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=issuer,
                # PyJWT reads the wall clock itself; the time window is checked against the
                # caller's clock instead (check_time_window), so handlers and tests share one "now".
                options={"require": require, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError:
            continue  # another configured secret may have signed it (rotation)
        except jwt.PyJWTError as exc:
            # The signature checks out (or was never reached: algorithm, shape): the same for every key.
            raise RefusedTokenError(_describe(exc, what)) from None
        # Checked here rather than by PyJWT's `subject`, which PyJWT only has from 2.10 on.
        if claims.get("sub") != subject:
            raise RefusedTokenError(f"{what} 'sub' is not the client id")
        return claims
    raise RefusedTokenError(f"{what} signature does not verify with the client secret")


_DESCRIPTIONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidAlgorithmError, f"{{what}} must be signed with {ALGORITHM}"),
    (jwt.MissingRequiredClaimError, "{what} lacks the '{claim}' claim"),
    (jwt.InvalidIssuerError, "{what} 'iss' is not the expected issuer"),
    (jwt.InvalidAudienceError, "{what} 'aud' is not an accepted audience"),
    (jwt.DecodeError, "{what} is not a well-formed JWT"),
)


def _describe(exc: jwt.PyJWTError, what: str) -> str:
    """A short, fixed description of what PyJWT refused (never the token's own values)."""
    text = next((text for kind, text in _DESCRIPTIONS if isinstance(exc, kind)), "{what} is not valid")
    return text.format(what=what, claim=getattr(exc, "claim", ""))


def numeric_date(claims: dict[str, Any], name: str, what: str) -> float:
    """``claims[name]`` as seconds since the epoch, a fraction kept; raises :class:`RefusedTokenError`."""
    value = claims.get(name)
    refused = RefusedTokenError(f"{what} '{name}' must be a number of seconds since the epoch")
    # RFC 7519 NumericDate is a JSON number; PyJWT would also take "123" (it calls int()).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refused
    # Python's json, which PyJWT reads with, takes Infinity, NaN and 1e400 (= inf): int() of
    # those raises, and NaN compares false with everything, so a window check on it would pass.
    # So non-finite values never reach a comparison; huge integers are no date either.
    if isinstance(value, float) and not math.isfinite(value):
        raise refused
    if not 0 <= value <= LATEST_NUMERIC_DATE:
        raise refused
    return float(value)  # RFC 7519 §2: a NumericDate may have a fraction, and it counts


def check_time_window(claims: dict[str, Any], now: float, what: str, max_lifetime: int) -> int:
    """``exp`` in the future (and at most ``max_lifetime`` away), ``iat``/``nbf`` not ahead; returns ``exp``.

    ``iat`` and ``nbf`` are checked when present (a ``null`` one included); whether ``iat`` must
    be there is the caller's ``require``. Freshness never rests on ``iat``: ``exp`` is bounded
    from ``now``.
    """
    expires_at = numeric_date(claims, "exp", what)
    if expires_at <= now:
        raise RefusedTokenError(f"{what} has expired")
    if expires_at > now + max_lifetime + CLOCK_SKEW:
        raise RefusedTokenError(f"{what} 'exp' is more than {max_lifetime} s away")
    if "iat" in claims and numeric_date(claims, "iat", what) > now + CLOCK_SKEW:
        raise RefusedTokenError(f"{what} 'iat' is in the future")
    if "nbf" in claims and numeric_date(claims, "nbf", what) > now + CLOCK_SKEW:
        raise RefusedTokenError(f"{what} is not valid yet ('nbf')")
    return math.ceil(expires_at)  # whole seconds, never before the moment it expires
