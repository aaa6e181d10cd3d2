"""OpenWeb: the shared webhook-token header, or an OAuth2 access token; 401 on failure so OpenWeb re-authenticates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.auth import bearer_token
from webhook_intake.http import Response
from webhook_intake.ingest.contract import HeaderTokenContract, token_list_problems
from webhook_intake.vendors.openweb import SPEC
from webhook_intake.vendors.openweb.access_token import access_token_valid

if TYPE_CHECKING:
    from webhook_intake.http import Request

TOKEN_HEADER = "x-openweb-notification-event-webhook-token"  # noqa: S105 (a header name)


@dataclass(frozen=True)
class OpenWebContract(HeaderTokenContract):
    """One event per delivery, with ``event_id`` and ``type``."""

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        """The shared header token, or ``Authorization: Bearer`` with an access token of the token route."""
        if super().authenticate(request, secret, now):
            return True
        token = bearer_token(request.header("authorization"))
        return token is not None and access_token_valid(token, secret, now)

    def secret_problems(self, secret: dict[str, Any]) -> list[str]:
        """Either mode may be configured alone; each one configured must be usable."""
        has_tokens = secret.get(self.token_field) is not None
        has_client = secret.get("client_id") is not None or secret.get("client_secret") is not None
        if not has_tokens and not has_client:
            return ["neither 'tokens' nor an OAuth client ('client_id', 'client_secret') is configured"]
        problems = token_list_problems(secret, self.token_field, header=True) if has_tokens else []
        if has_client:
            client_id = secret.get("client_id")
            if not isinstance(client_id, str) or not client_id:
                problems.append("'client_id' is not a non-empty string")
            problems += token_list_problems(secret, "client_secret")
            if secret.get("audience") is not None:
                # Optional (the token URL is always accepted); one set is read as the tokens are, and an entry
                # that is no text, passed over, is said
                problems += token_list_problems(secret, "audience")
        return problems

    def refusal(self, request: Request) -> Response:
        # RFC 6750 §3: a resource server names the Bearer scheme it takes on a 401, and says `invalid_token` (§3.1)
        # when a token was sent, never when none was.
        refused = super().refusal(request)
        challenge = 'Bearer realm="openweb"'
        if bearer_token(request.header("authorization")) is not None:
            challenge += ', error="invalid_token"'
        return Response(refused.status, refused.body, {**refused.headers, "www-authenticate": challenge})


CONTRACT = OpenWebContract(SPEC, auth_failure_status=401, header=TOKEN_HEADER)
