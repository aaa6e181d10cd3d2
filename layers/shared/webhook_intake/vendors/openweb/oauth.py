"""OpenWeb OAuth2 ``client_secret_jwt`` (RFC 7523): the token request, the client assertion we
verify and the access token we issue. Both JWTs are HS256, signed and checked by PyJWT.

Standard library and PyJWT only: the ingest path imports this to check ``Bearer`` tokens.
See docs/openweb-oauth.md for the choices made here.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import jwt

from webhook_intake.auth import secret_list

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Fixed here, never read from a token's header (RFC 8725 §2.1): no `none`, no RS*/HS512.
ALGORITHM = "HS256"
ALGORITHMS = [ALGORITHM]

MAX_ASSERTION_LIFETIME = 600
"""OpenWeb's assertions live 600 s; one meant to live longer is refused."""
CLOCK_SKEW = 60
"""Seconds an ``iat``/``nbf`` (or an assertion's lifetime) may run ahead of our clock."""
MAX_JTI_LENGTH = 256
MAX_FORM_BYTES = 16_384
MAX_FORM_FIELDS = 32

ACCESS_TOKEN_ISSUER = "webhook-intake"  # noqa: S105 (a claim value)  # nosec B105
ACCESS_TOKEN_AUDIENCE = "webhook-intake:openweb"  # noqa: S105 (a claim value)  # nosec B105
"""Our own audience: an access token is never a valid assertion, nor the reverse."""
ACCESS_TOKEN_KEY_CONTEXT = b"webhook-intake access token v1"
DEFAULT_ACCESS_TOKEN_TTL = 3600
MIN_ACCESS_TOKEN_TTL = 301
"""OpenWeb re-authenticates one minute before ``expires_in`` runs out and wants it over 300 s."""
MAX_ACCESS_TOKEN_TTL = 86_400

_REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"]
"""Both kinds of token must carry all of these (RFC 7523 §3 for assertions)."""


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


class InvalidAccessTokenError(Exception):
    """A ``Bearer`` token that is not a live access token of ours."""


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """The OAuth client configured in the OpenWeb secret (DESIGN.md layout)."""

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
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in}  # nosec B105


def access_token_key(client_secret: str) -> bytes:
    """The access-token key for ``client_secret``: HMAC-SHA256(client secret, a fixed label).

    A key of its own, so a token we issue can never pass as a client assertion; derived, so
    it rotates with the client secret and needs no secret of its own.
    """
    return hmac.new(client_secret.encode("utf-8"), ACCESS_TOKEN_KEY_CONTEXT, hashlib.sha256).digest()


# ---------------------------------------------------------------- the client's side


def client_assertion(
    client_id: str,
    client_secret: str,
    audience: str,
    now: float,
    *,
    lifetime: int = MAX_ASSERTION_LIFETIME,
    jti: str | None = None,
) -> str:
    """A client assertion as OpenWeb makes one (``intake send``, the demo and the tests use it)."""
    issued_at = int(now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, client_secret, algorithm=ALGORITHM)


def token_request_body(assertion: str, **extra: str) -> bytes:
    """The form body of a token request for ``assertion`` (``extra``: ``client_id``, ``scope``...)."""
    return urlencode(
        {"grant_type": GRANT_TYPE, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **extra}
    ).encode("ascii")


# ---------------------------------------------------------------- the token route


def parse_token_request(content_type: str | None, body: bytes) -> TokenRequest:
    """The parameters of an ``application/x-www-form-urlencoded`` token request, else an OAuthError."""
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
        if name in fields:
            # RFC 6749 §3.2: parameters must not be included more than once.
            raise InvalidRequestError(f"parameter '{name}' is repeated")
        fields[name] = value
    return _token_request(fields)


def _token_request(fields: dict[str, str]) -> TokenRequest:
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
    return TokenRequest(grant_type, assertion_type, assertion, fields.get("client_id") or None)


def verify_assertion(request: TokenRequest, client: OAuthClient, token_url: str, now: float) -> Assertion:
    """The verified client assertion of ``request``; raises :class:`InvalidClientError`.

    PyJWT checks the signature (HS256 only, with each configured client secret in turn), that
    every claim is there, ``iss`` = client id and ``aud`` = the configured audience or
    ``token_url``; then ``sub`` = client id and the time window against ``now`` are checked
    here. ``jti`` reuse is the caller's to refuse (it needs shared storage).
    """
    audiences = [audience for audience in (*client.audiences, token_url) if audience]
    claims = _decode_with_any(
        request.client_assertion,
        [client_secret.encode("utf-8") for client_secret in client.client_secrets],
        what="client assertion",
        audience=audiences,
        issuer=client.client_id,
        subject=client.client_id,
        require=_REQUIRED_CLAIMS,
    )
    expires_at = _check_time_window(claims, now, "client assertion", max_lifetime=MAX_ASSERTION_LIFETIME)
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti.strip() or len(jti) > MAX_JTI_LENGTH:
        raise InvalidClientError(f"client assertion 'jti' must be 1 to {MAX_JTI_LENGTH} characters")
    if request.client_id is not None and request.client_id != client.client_id:
        # RFC 7521 §4.2: a client_id parameter, when sent, must name the asserted client.
        raise InvalidClientError("client_id does not match the client assertion")
    return Assertion(client_id=client.client_id, jti=jti, expires_at=expires_at)


def _decode_with_any(
    token: str,
    keys: Sequence[bytes],
    *,
    what: str,
    audience: Sequence[str] | str,
    issuer: str,
    subject: str,
    require: list[str],
) -> dict[str, Any]:
    """The claims of ``token`` signed with one of ``keys``; raises :class:`InvalidClientError`."""
    if not keys or not audience:
        raise InvalidClientError("client authentication failed")
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=issuer,
                # PyJWT reads the wall clock itself; the time window is checked against the
                # caller's clock instead (_check_time_window), so handlers and tests share one "now".
                options={"require": require, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError:
            continue  # another configured secret may have signed it (rotation)
        except jwt.PyJWTError as exc:
            # The signature checks out (or was never reached: algorithm, shape): the same for every key.
            raise InvalidClientError(_describe(exc, what)) from None
        # Checked here rather than by PyJWT's `subject`, which PyJWT only has from 2.10 on.
        if claims.get("sub") != subject:
            raise InvalidClientError(f"{what} 'sub' is not the client id")
        return claims
    raise InvalidClientError(f"{what} signature does not verify with the client secret")


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


def _numeric_date(claims: dict[str, Any], name: str, what: str) -> int:
    value = claims.get(name)
    # RFC 7519 NumericDate is a JSON number; PyJWT would also take "123" (it calls int()).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClientError(f"{what} '{name}' must be a number of seconds since the epoch")
    return int(value)


def _check_time_window(claims: dict[str, Any], now: float, what: str, max_lifetime: int | None) -> int:
    """``exp`` in the future (and at most ``max_lifetime`` away), ``iat``/``nbf`` not ahead; returns ``exp``."""
    expires_at = _numeric_date(claims, "exp", what)
    issued_at = _numeric_date(claims, "iat", what)
    if expires_at <= now:
        raise InvalidClientError(f"{what} has expired")
    if max_lifetime is not None and expires_at > now + max_lifetime + CLOCK_SKEW:
        raise InvalidClientError(f"{what} 'exp' is more than {max_lifetime} s away")
    if issued_at > now + CLOCK_SKEW:
        raise InvalidClientError(f"{what} 'iat' is in the future")
    if "nbf" in claims and _numeric_date(claims, "nbf", what) > now + CLOCK_SKEW:
        raise InvalidClientError(f"{what} is not valid yet ('nbf')")
    return expires_at


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


# ---------------------------------------------------------------- the delivery route


def verify_access_token(token: str, client: OAuthClient, now: float) -> dict[str, Any]:
    """The claims of a live access token issued by :func:`issue_access_token`.

    Checked with PyJWT against the key of every configured client secret (no lookup);
    raises :class:`InvalidAccessTokenError` for an expired, forged or other-audience token.
    """
    try:
        claims = _decode_with_any(
            token,
            client.access_token_keys(),
            what="access token",
            audience=ACCESS_TOKEN_AUDIENCE,
            issuer=ACCESS_TOKEN_ISSUER,
            subject=client.client_id,
            require=_REQUIRED_CLAIMS,
        )
        _check_time_window(claims, now, "access token", max_lifetime=None)
    except InvalidClientError as exc:
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
