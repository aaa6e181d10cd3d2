"""The OpenWeb token route's OAuth2 rules (``client_secret_jwt``, RFC 7523): the token request,
the client assertion we verify and the access token we issue. Both JWTs are HS256 (PyJWT).

Only the token function imports this; the webhook's ingest path needs just
:mod:`webhook_intake.vendors.openweb.access_token`. See docs/openweb-oauth.md for the choices made here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

import jwt

from webhook_intake.text import clean_text
from webhook_intake.vendors.openweb.access_token import ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, access_token_key
from webhook_intake.vendors.openweb.jwt_checks import (
    ALGORITHM,
    RefusedTokenError,
    check_time_window,
    decode_with_any,
)

if TYPE_CHECKING:
    from webhook_intake.vendors.openweb.access_token import OAuthClient

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

MAX_ASSERTION_LIFETIME = 600
"""OpenWeb's assertions live 600 s; one meant to live longer is refused."""
MAX_JTI_LENGTH = 256
MAX_FORM_BYTES = 16_384
MAX_FORM_FIELDS = 32

DEFAULT_ACCESS_TOKEN_TTL = 3600
MIN_ACCESS_TOKEN_TTL = 301
"""OpenWeb re-authenticates one minute before ``expires_in`` runs out and wants it over 300 s."""

ASSERTION_CLAIMS = ["iss", "sub", "aud", "exp", "jti"]
"""An assertion must carry all of these: RFC 7523 §3's four, and ``jti``, which replays are refused by.
``iat`` is optional there and here; when present it is checked (``check_time_window``)."""


class OAuthError(Exception):
    """A token request refused the RFC 6749 §5.2 way: ``{"error", "error_description"}``.

    The description never echoes the request: no assertion, token or secret ends up in a
    response or a log line.
    """

    status: ClassVar[int] = 400
    error: ClassVar[str] = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequestError(OAuthError):
    """Malformed: not a form, a parameter missing or repeated."""


class UnsupportedGrantTypeError(OAuthError):
    """A ``grant_type`` other than ``client_credentials``."""

    error = "unsupported_grant_type"


class InvalidClientError(OAuthError):
    """Client authentication failed (RFC 7523 §3.2: any invalid client assertion, replays included)."""

    status = 401
    error = "invalid_client"


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A token request's parameters (RFC 6749 §4.4 with RFC 7523 §2.2 client authentication)."""

    grant_type: str
    client_assertion_type: str
    client_assertion: str
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class Assertion:
    """What a verified client assertion tells us."""

    client_id: str
    jti: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An issued access token and its lifetime in seconds."""

    access_token: str
    expires_in: int
    token_id: str
    """The token's ``jti``: safe to log, unlike the token."""

    def to_json(self) -> dict[str, Any]:
        """The RFC 6749 §5.1 success body."""
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in}


def parse_token_request(content_type: str | None, body: bytes, authorization: str | None = None) -> TokenRequest:
    """The parameters of an ``application/x-www-form-urlencoded`` token request, else an OAuthError.

    ``authorization``: the request's header of that name, a second way of authenticating beside
    an assertion.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("the token request must be application/x-www-form-urlencoded")
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequestError(f"the token request is over {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError("the token request body is not a well-formed form") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if not name:
            raise InvalidRequestError("the token request body is not a well-formed form")
        if not value:
            continue  # RFC 6749 §3.2: a parameter sent without a value is treated as omitted
        if name in fields:
            # RFC 6749 §3.2: parameters must not be included more than once. Only a parameter of
            # the protocol is named: any other name may be a credential sent in the wrong place.
            named = f"parameter '{name}'" if name in FORM_PARAMETERS else "a parameter"
            raise InvalidRequestError(f"{named} is repeated")
        fields[name] = value
    return _token_request(fields, by_header=bool(authorization))


MORE_THAN_ONE_METHOD = "the request authenticates the client more than one way: send the client assertion alone"
"""RFC 6749 §2.3: a client must not use more than one authentication method in a request."""
FORM_PARAMETERS = frozenset({"grant_type", "client_assertion_type", "client_assertion", "client_id", "scope", "realm"})
"""The token request's parameters this route reads or tolerates (RFC 6749 §4.4, RFC 7521 §4.2)."""


def _token_request(fields: dict[str, str], *, by_header: bool) -> TokenRequest:
    grant_type = fields.get("grant_type")
    if not grant_type:
        raise InvalidRequestError("parameter 'grant_type' is required")
    if grant_type != GRANT_TYPE:
        raise UnsupportedGrantTypeError(f"only grant_type={GRANT_TYPE} is supported")
    assertion_type, assertion = fields.get("client_assertion_type"), fields.get("client_assertion")
    if not assertion_type and not assertion:
        raise InvalidClientError("no client authentication: send client_assertion_type and client_assertion")
    if not assertion_type or not assertion:
        missing = "client_assertion" if assertion_type else "client_assertion_type"
        raise InvalidRequestError(f"parameter '{missing}' is required")
    if assertion_type != ASSERTION_TYPE:
        raise InvalidClientError(f"only client_assertion_type={ASSERTION_TYPE} is supported")
    if by_header or "client_secret" in fields:
        # RFC 6749 §5.2: a request with more than one credential (client_secret_basic's header,
        # client_secret_post's field, beside the assertion) is invalid_request.
        raise InvalidRequestError(MORE_THAN_ONE_METHOD)
    return TokenRequest(grant_type, assertion_type, assertion, fields.get("client_id") or None)


def verify_assertion(request: TokenRequest, client: OAuthClient, token_url: str | None, now: float) -> Assertion:
    """The verified client assertion of ``request``; raises :class:`InvalidClientError`.

    PyJWT checks the signature (HS256 only, with each configured client secret in turn), that
    every claim is there, ``iss`` = client id and ``aud`` = the configured audience or
    ``token_url``; then ``sub`` = client id and the time window against ``now`` are checked
    here. ``jti`` reuse is the caller's to refuse (it needs shared storage).
    """
    audiences = [audience for audience in (*client.audiences, token_url) if audience]
    try:
        claims = decode_with_any(
            request.client_assertion,
            [client_secret.encode("utf-8") for client_secret in client.client_secrets],
            what="client assertion",
            audience=audiences,
            issuer=client.client_id,
            subject=client.client_id,
            require=ASSERTION_CLAIMS,
        )
        expires_at = check_time_window(claims, now, "client assertion", max_lifetime=MAX_ASSERTION_LIFETIME)
    except RefusedTokenError as exc:
        raise InvalidClientError(exc.description) from None
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti.strip() or len(jti) > MAX_JTI_LENGTH:
        raise InvalidClientError(f"client assertion 'jti' must be 1 to {MAX_JTI_LENGTH} characters")
    if clean_text(jti) != jti:
        raise InvalidClientError("client assertion 'jti' must be valid Unicode text")
    if request.client_id is not None and request.client_id != client.client_id:
        # RFC 7521 §4.2: a client_id parameter, when sent, must name the asserted client.
        raise InvalidClientError("client_id does not match the client assertion")
    return Assertion(client_id=client.client_id, jti=jti, expires_at=expires_at)


def issue_access_token(client: OAuthClient, now: float, ttl: int = DEFAULT_ACCESS_TOKEN_TTL) -> AccessToken:
    """A self-contained access token: HS256 with the current client secret's derived key."""
    issued_at = int(now)
    token_id = uuid.uuid4().hex
    claims = {
        "iss": ACCESS_TOKEN_ISSUER,
        "aud": ACCESS_TOKEN_AUDIENCE,
        "sub": client.client_id,
        "iat": issued_at,
        "exp": issued_at + ttl,
        "jti": token_id,
    }
    token = jwt.encode(claims, access_token_key(client.client_secrets[0]), algorithm=ALGORITHM)
    return AccessToken(access_token=token, expires_in=ttl, token_id=token_id)
