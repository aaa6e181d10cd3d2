"""The OpenWeb token route's flow: parse, verify the client assertion, refuse a replay, issue."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from webhook_intake.http import Response
from webhook_intake.ingest.queue import retry_within
from webhook_intake.observability import (
    Metric,
    SecretCheck,
    count,
    count_by,
    refreshed,
    secret_misconfigured,
    secret_or_kept,
)
from webhook_intake.replay import Claim, ReplayedError, ReplayStoreError
from webhook_intake.secrets import SecretUnavailableError, SecretValueError
from webhook_intake.vendors.openweb import SPEC
from webhook_intake.vendors.openweb.access_token import OAuthClient
from webhook_intake.vendors.openweb.contract import CONTRACT
from webhook_intake.vendors.openweb.token_endpoint import (
    InvalidClientError,
    OAuthError,
    issue_access_token,
    parse_token_request,
    verify_assertion,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Logger, Metrics

    from webhook_intake.http import Request
    from webhook_intake.replay import UsedCredentials
    from webhook_intake.secrets import SecretStore
    from webhook_intake.vendors.openweb.token_endpoint import Assertion, TokenRequest

CHALLENGES = {"basic": "Basic", "bearer": "Bearer"}
"""The schemes a 401 challenges in, by the scheme the client used: an unknown word is never echoed."""
# RFC 6749 §5.1: responses carrying (or refusing) tokens are never cached.
NO_STORE = {"content-type": "application/json;charset=UTF-8", "cache-control": "no-store", "pragma": "no-cache"}


def token_response(status: int, body: dict[str, Any]) -> Response:
    """A token-endpoint answer, with the no-store headers every one of them carries."""
    return Response(status, body, dict(NO_STORE))


def oauth_error(refused: OAuthError, authorization: str | None = None) -> Response:
    """The RFC 6749 §5.2 error response.

    A client that tried to authenticate with an ``Authorization`` header (``Basic``) hears a
    401 with a challenge in the scheme it used, as §5.2 requires.
    """
    response = token_response(refused.status, {"error": refused.error, "error_description": refused.description})
    used = authorization.split(None, 1)[0].lower() if authorization and authorization.strip() else None
    if refused.status == 401 and used is not None:
        response.headers["www-authenticate"] = f'{CHALLENGES.get(used, "Basic")} realm="openweb"'
    return response


def server_error(description: str) -> Response:
    """A 500 the client may retry (the secret or the replay table could not be reached)."""
    return token_response(500, {"error": "server_error", "error_description": description})


DEADLINE_SECONDS = 8.0
"""How long the route may take before answering: two seconds inside its function's 10 s timeout (template.yaml),
so that a slow Secrets Manager or replay table is answered with a 500 OpenWeb retries, not a time-out."""


@dataclass
class TokenService:
    """``POST /oauth/openweb/token``, with its collaborators injected."""

    secrets: SecretStore
    used_credentials: UsedCredentials
    logger: Logger
    metrics: Metrics
    access_token_ttl: int
    clock: Callable[[], float] = field(default=time.time)
    monotonic: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)
    _check_secret: SecretCheck = field(init=False, repr=False)
    """Reports each copy of the secret that cannot work, once, by the rules the ingest function applies."""

    def __post_init__(self) -> None:
        self._check_secret = SecretCheck(CONTRACT, self.metrics, self.logger)

    def handle(self, request: Request) -> Response:
        """An access token for a valid, unused client assertion; else an RFC 6749 error."""
        self.logger.set_correlation_id(request.request_id)
        deadline = self.monotonic() + DEADLINE_SECONDS
        now = self.clock()
        try:
            token_request = parse_token_request(
                request.header("content-type"), request.body, request.header("authorization")
            )
            # RFC 7523 §3: the token endpoint's URL is an audience; the one this request came to.
            assertion, client = self._verified(token_request, request.url, now)
            # Only after the signature checks out: a forged request never writes to the table.
            self.used_credentials.record(
                Claim(f"openweb:jti:{assertion.jti}", assertion.expires_at),
                now,
                within=partial(retry_within, deadline, clock=self.monotonic, sleep=self.sleep),
            )
        except ReplayedError:
            return self.refused(InvalidClientError("client assertion 'jti' was used before"), request)
        except OAuthError as refused:
            return self.refused(refused, request)
        except SecretValueError as exc:
            # Secrets Manager is up; the value is wrong: reported as the ingest functions report it
            # (SecretProblems, 'secret misconfigured'), still a 500 so that OpenWeb retries once it is mended.
            if not exc.reported:
                secret_misconfigured(self.metrics, self.logger, SPEC.key, [str(exc)])
            return server_error("temporarily unable to authenticate clients; retry later")
        except SecretUnavailableError:
            self.logger.exception("secret unavailable")
            return server_error("temporarily unable to authenticate clients; retry later")
        except ReplayStoreError:
            self.logger.exception("replay table unavailable")
            return server_error("temporarily unable to check the client assertion; retry later")
        token = issue_access_token(client, now, self.access_token_ttl)
        count(self.metrics, Metric.ACCESS_TOKENS_ISSUED)
        self.logger.info(
            "access token issued",
            extra={"client_id": client.client_id, "token_id": token.token_id, "expires_in": token.expires_in},
        )
        return token_response(200, token.to_json())

    def _verified(
        self, token_request: TokenRequest, token_url: str | None, now: float
    ) -> tuple[Assertion, OAuthClient]:
        secret, value_reported = secret_or_kept(self.secrets, self.metrics, self.logger, SPEC.key)
        self._check_secret(secret)
        try:
            return self._verify(token_request, secret, token_url, now)
        except InvalidClientError:
            # The assertion may be signed with a client secret added after our cached copy was read.
            fresh = refreshed(self.secrets, value_reported)
            if fresh is None or fresh == secret:
                raise
            self._check_secret(fresh)
            return self._verify(token_request, fresh, token_url, now)

    def _verify(
        self, token_request: TokenRequest, secret: dict[str, Any], token_url: str | None, now: float
    ) -> tuple[Assertion, OAuthClient]:
        client = OAuthClient.from_secret(secret)
        if client is None:
            self.logger.warning("the openweb secret configures no OAuth client (client_id, client_secret)")
            raise InvalidClientError("client authentication failed")
        return verify_assertion(token_request, client, token_url, now), client

    def refused(self, refused: OAuthError, request: Request | None = None) -> Response:
        """The RFC 6749 §5.2 answer to a refused request, counted and logged."""
        if isinstance(refused, InvalidClientError):
            # The ingest functions' counter: probing the token route raises the same alarm.
            count(self.metrics, Metric.AUTH_FAILURES)
        else:
            # The ingest functions' DeliveriesRejected, with its reason, in an EMF record of its own: the
            # reason never reaches the invocation's other metrics (SecretProblems, which its alarm reads
            # by the vendor alone).
            count_by(self.metrics, Metric.REJECTED, "reason", refused.error)
        # The description is ours and fixed: it never holds the assertion or a secret.
        self.logger.warning(
            "token request refused",
            extra={"error": refused.error, "reason": refused.description, "status": refused.status},
        )
        return oauth_error(refused, request.header("authorization") if request is not None else None)
