"""The ``Bearer`` check of ``POST /webhooks/openweb``: is this a live access token of our token route?

The access token is a JWT (HS256) with our own issuer and audience, signed with a key derived
from the client secret (see docs/openweb-oauth.md). This module is all of OpenWeb's OAuth the
ingest path imports: standard library and PyJWT, nothing of the token route (no form parsing,
no assertion checks, no issuing).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.auth import secret_list
from webhook_intake.vendors.openweb.jwt_checks import RefusedTokenError, check_time_window, decode_with_any

if TYPE_CHECKING:
    from collections.abc import Mapping

ACCESS_TOKEN_ISSUER = "webhook-intake"  # noqa: S105 (a claim value)
ACCESS_TOKEN_AUDIENCE = "webhook-intake:openweb"  # noqa: S105 (a claim value)
"""Our own audience: an access token is never a valid assertion, nor the reverse."""
ACCESS_TOKEN_KEY_CONTEXT = b"webhook-intake access token v1"
MAX_ACCESS_TOKEN_TTL = 86_400
"""The longest ``expires_in`` the token route may be configured with; a token meant to live longer is refused."""
ACCESS_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"]
"""Every access token we issue carries all of these."""


class InvalidAccessTokenError(Exception):
    """A ``Bearer`` token that is not a live access token of ours."""


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """The OAuth client configured in the OpenWeb secret (``client_id``, ``client_secret``, ``audience``)."""

    client_id: str
    client_secrets: tuple[str, ...]
    """Every accepted secret; the first is the current one (rotation: ``["new", "old"]``)."""
    audiences: tuple[str, ...]
    """The configured ``audience`` values (a string or a list in the secret)."""

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> OAuthClient | None:
        """The client, or None when the secret configures no OAuth client (every request refused)."""
        client_id = secret.get("client_id")
        client_secrets = secret_list(secret.get("client_secret"))
        if not isinstance(client_id, str) or not client_id or not client_secrets:
            return None
        return cls(client_id, tuple(client_secrets), tuple(secret_list(secret.get("audience"))))

    def access_token_keys(self) -> list[bytes]:
        """The access-token signing keys, one per client secret (the first signs)."""
        return [access_token_key(client_secret) for client_secret in self.client_secrets]


def access_token_key(client_secret: str) -> bytes:
    """The access-token key for ``client_secret``: HMAC-SHA256(client secret, a fixed label).

    A key of its own, so a token we issue can never pass as a client assertion; derived, so
    it rotates with the client secret and needs no secret of its own.
    """
    return hmac.new(client_secret.encode("utf-8"), ACCESS_TOKEN_KEY_CONTEXT, hashlib.sha256).digest()


def verify_access_token(token: str, client: OAuthClient, now: float) -> dict[str, Any]:
    """The claims of a live access token issued by the token route.

    Checked with PyJWT against the key of every configured client secret (no lookup);
    raises :class:`InvalidAccessTokenError` for an expired, forged or other-audience token.
    """
    try:
        claims = decode_with_any(
            token,
            client.access_token_keys(),
            what="access token",
            audience=ACCESS_TOKEN_AUDIENCE,
            issuer=ACCESS_TOKEN_ISSUER,
            subject=client.client_id,
            require=ACCESS_TOKEN_CLAIMS,
        )
        # Nothing we issue lives longer: a longer-lived token was minted elsewhere with the
        # client secret, and would outlive the exposure a short TTL is meant to bound.
        check_time_window(claims, now, "access token", max_lifetime=MAX_ACCESS_TOKEN_TTL)
    except RefusedTokenError as exc:
        raise InvalidAccessTokenError(exc.description) from None
    return claims


def access_token_valid(token: str, secret: Mapping[str, Any], now: float) -> bool:
    """True when ``token`` is a live access token for the OAuth client in ``secret``."""
    client = OAuthClient.from_secret(secret)
    if client is None:
        return False
    try:
        verify_access_token(token, client, now)
    except InvalidAccessTokenError:
        return False
    return True
