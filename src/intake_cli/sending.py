"""Sending a vendor's request to a stack over real HTTP, with the credential that stack expects."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.runtime import HttpResponse
from intake_cli.samples import OutgoingRequest, load_secrets
from intake_cli.target import IntakeError
from webhook_intake.auth import secret_list

if TYPE_CHECKING:
    from pathlib import Path

    from intake_cli.target import Target

DEFAULT_TIMEOUT = 30.0
OPENWEB_TOKEN_PATH = "/oauth/openweb/token"  # noqa: S105 (a route)  # nosec B105


def vendor_secret(target: Target, vendor: str, secrets_file: Path | None = None) -> dict[str, Any]:
    """The vendor's secret: from ``secrets_file`` if given; else the local stack's seed file, or Secrets Manager."""
    if secrets_file is not None or target.local:
        secrets = load_secrets(secrets_file or target.secrets_file)
        secret = secrets.get(vendor)
        if not isinstance(secret, dict):
            raise IntakeError(f"the secrets file has no object for {vendor}")
        return secret
    secret_id = target.vendor(vendor).secret_id
    try:
        text = target.client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise IntakeError(f"cannot read secret {secret_id}: {error.get('Code')}: {error.get('Message')}") from None
    except BotoCoreError as exc:
        raise IntakeError(f"cannot read secret {secret_id}: {exc}") from None
    try:
        secret = json.loads(text or "")
    except ValueError:
        raise IntakeError(f"secret {secret_id} is not JSON: see README.md, 'Configure each vendor's secret'") from None
    if not isinstance(secret, dict):
        raise IntakeError(f"secret {secret_id} is not a JSON object")
    return secret


def deliver(target: Target, request: OutgoingRequest, timeout: float = DEFAULT_TIMEOUT) -> HttpResponse:
    """Send ``request`` to the stack's API; any HTTP answer is returned, a network failure raises."""
    return post(target.api_url, request, timeout=timeout, use_proxy=not target.local)


def post(
    api_url: str, request: OutgoingRequest, timeout: float = DEFAULT_TIMEOUT, use_proxy: bool = True
) -> HttpResponse:
    """One HTTP request; the local stack is reached directly, never through a proxy."""
    url = api_url.rstrip("/") + request.path
    outgoing = urllib.request.Request(url, data=request.body, headers=request.headers, method=request.method)  # noqa: S310 - http(s) API URL
    handlers = [] if use_proxy else [urllib.request.ProxyHandler({})]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(outgoing, timeout=timeout) as response:
            return HttpResponse(response.status, _headers(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpResponse(exc.code, _headers(exc.headers), exc.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IntakeError(f"cannot reach {url}: {reason}") from None


def _headers(headers: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def openweb_access_token(target: Target, secret: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> str:
    """What OpenWeb does in ``client_secret_jwt`` mode: sign an assertion, buy an access token."""
    from intake_cli.openweb_client import client_assertion, token_request_body

    client_id = secret.get("client_id")
    client_secrets = secret_list(secret.get("client_secret"))
    audience = secret.get("audience")
    if not isinstance(client_id, str) or not client_secrets or not isinstance(audience, str):
        raise IntakeError("the openweb secret needs client_id, client_secret and audience for --auth oauth")
    assertion = client_assertion(client_id, client_secrets[0], audience, time.time())
    request = OutgoingRequest(
        "openweb",
        "POST",
        OPENWEB_TOKEN_PATH,
        {"content-type": "application/x-www-form-urlencoded"},
        token_request_body(assertion),
    )
    response = post(target.api_url, request, timeout=timeout, use_proxy=not target.local)
    if response.status != 200:
        raise IntakeError(f"the token route answered {response.status}: {response.body.decode('utf-8', 'replace')}")
    token = response.json().get("access_token")
    if not isinstance(token, str):
        raise IntakeError("the token route's answer has no access_token")
    return token


def with_bearer(request: OutgoingRequest, token: str) -> OutgoingRequest:
    """``request`` authenticated by ``Authorization: Bearer`` instead of the shared header."""
    from webhook_intake.vendors.openweb.contract import TOKEN_HEADER

    headers = {k: v for k, v in request.headers.items() if k != TOKEN_HEADER}
    headers["authorization"] = f"Bearer {token}"
    return OutgoingRequest(request.vendor, request.method, request.path, headers, request.body)
