"""Sending a vendor's request to a stack over real HTTP, with the credential that stack expects."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.events import api_domain
from intake_cli.runtime import HttpResponse
from intake_cli.samples import OutgoingRequest, load_secrets, secret_for
from intake_cli.target import IntakeError, aws_problem
from webhook_intake.auth import secret_list

if TYPE_CHECKING:
    from pathlib import Path

    from intake_cli.target import Target

DEFAULT_TIMEOUT = 30.0
OPENWEB_TOKEN_PATH = "/oauth/openweb/token"  # noqa: S105 (a route)


def vendor_secret(target: Target, vendor: str, secrets_file: Path | None = None) -> dict[str, Any]:
    """The vendor's secret: from ``secrets_file`` if given; else the local stack's seed file, or Secrets Manager."""
    if secrets_file is not None or target.local:
        return secret_for(load_secrets(secrets_file or target.secrets_file), vendor)
    secret_id = target.vendor(vendor).secret_id
    try:
        text = target.client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString")
    except (ClientError, BotoCoreError) as exc:
        raise IntakeError(f"cannot read secret {secret_id}: {aws_problem(exc)}") from None
    try:
        secret = json.loads(text or "")
    except ValueError:
        raise IntakeError(f"secret {secret_id} is not JSON: see README.md, 'Configure each vendor's secret'") from None
    if not isinstance(secret, dict):
        raise IntakeError(f"secret {secret_id} is not a JSON object")
    return secret


def secrets_file_changed(target: Target, vendor: str) -> bool:
    """Whether the local stack's seed file now holds for ``vendor`` other than what the stack loaded when it
    started (it reads the file once): ``intake send`` signs with the file, the stack checks what it loaded."""
    if not target.local or target.secrets_file is None:
        return False
    try:
        loaded = target.client("secretsmanager").get_secret_value(SecretId=target.vendor(vendor).secret_id)
        held: object = json.loads(loaded.get("SecretString") or "null")
        return held != secret_for(load_secrets(target.secrets_file), vendor)
    except (ClientError, BotoCoreError, IntakeError, ValueError):
        return False


def deliver(target: Target, request: OutgoingRequest, timeout: float = DEFAULT_TIMEOUT) -> HttpResponse:
    """Send ``request`` to the stack's API; any HTTP answer is returned, a network failure raises."""
    return post(target.api_url, request, timeout=timeout, use_proxy=not target.local)


def post(
    api_url: str, request: OutgoingRequest, timeout: float = DEFAULT_TIMEOUT, use_proxy: bool = True
) -> HttpResponse:
    """One HTTP request; the local stack is reached directly, never through a proxy.

    A body over :data:`EXPECT_CONTINUE_BYTES` is announced with ``Expect: 100-continue``, as curl
    does: a server that refuses it unread (413) answers before it is sent, and that answer is
    what the caller gets, never a broken pipe. A server that answers early all the same (or
    does not know the header) is read once the body has been sent or refused.
    """
    url = api_url.rstrip("/") + request.path
    parts = urllib.parse.urlsplit(url)
    connection = _connection(parts, timeout, use_proxy)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    expect = len(request.body) > EXPECT_CONTINUE_BYTES
    try:
        connection.putrequest(request.method, target, skip_accept_encoding=True)
        for name, value in request.headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(request.body)))
        if expect:
            connection.putheader("Expect", "100-continue")
        connection.endheaders()
        if not expect or _invited(connection, timeout):
            _send_body(connection, request.body)
        response = connection.getresponse()
        with response:
            return HttpResponse(response.status, _headers(response.headers), response.read())
    except (OSError, http.client.HTTPException) as exc:
        raise IntakeError(f"cannot reach {url}: {exc}") from None
    finally:
        connection.close()


EXPECT_CONTINUE_BYTES = 1024 * 1024
_CONTINUE_WAIT = 1.0


def _connection(parts: urllib.parse.SplitResult, timeout: float, use_proxy: bool) -> http.client.HTTPConnection:
    """A connection to the URL's host, through the environment's proxy (an HTTPS tunnel) where one applies."""
    secure = parts.scheme == "https"
    host, port = parts.hostname or "", parts.port
    kind = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    proxy = urllib.request.getproxies().get(parts.scheme) if use_proxy else None
    if proxy and not urllib.request.proxy_bypass(host):
        proxied = urllib.parse.urlsplit(proxy if "//" in proxy else f"http://{proxy}")
        connection = kind(proxied.hostname or "", proxied.port, timeout=timeout)
        connection.set_tunnel(host, port)
        return connection
    return kind(host, port, timeout=timeout)


def _invited(connection: http.client.HTTPConnection, timeout: float) -> bool:
    """After ``Expect: 100-continue``: True to send the body (100 Continue, or no answer yet), False if answered."""
    sock = connection.sock
    if sock is None:
        return True
    sock.settimeout(_CONTINUE_WAIT)
    try:
        head = sock.recv(64, socket.MSG_PEEK)
    except TimeoutError:
        return True  # no answer: a server that ignores the header waits for the body
    finally:
        sock.settimeout(timeout)
    if not head.startswith(b"HTTP/1.1 100") and not head.startswith(b"HTTP/1.0 100"):
        return False  # a final answer (413, 401...): the body is not wanted
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            break
        interim += byte
    return True


def _send_body(connection: http.client.HTTPConnection, body: bytes) -> None:
    """The body; a server that answered and closed mid-way leaves its answer to be read, not an error."""
    try:
        connection.send(body)
    except (BrokenPipeError, ConnectionResetError):
        return


def _headers(headers: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


class TokenRefusedError(IntakeError):
    """The token route refused the client assertion (401/403): its client credentials are not the route's."""


def openweb_access_token(target: Target, secret: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> str:
    """What OpenWeb does in ``client_secret_jwt`` mode: sign an assertion, buy an access token."""
    from intake_cli.openweb_client import client_assertion, token_request_body

    client_id = secret.get("client_id")
    client_secrets = secret_list(secret.get("client_secret"))
    if not isinstance(client_id, str) or not client_secrets:
        raise IntakeError("the openweb secret needs client_id and client_secret for --auth oauth")
    # A string, or a list (docs/openweb-oauth.md): the assertion names the first, as the first client secret signs it.
    # Without one, the token URL: the audience OpenWeb is then given, which the token route accepts too.
    audiences = secret_list(secret.get("audience")) or [openweb_token_audience(target)]
    assertion = client_assertion(client_id, client_secrets[0], audiences[0], time.time())
    request = OutgoingRequest(
        "openweb",
        "POST",
        OPENWEB_TOKEN_PATH,
        {"content-type": "application/x-www-form-urlencoded"},
        token_request_body(assertion),
    )
    response = post(target.api_url, request, timeout=timeout, use_proxy=not target.local)
    if response.status != 200:
        refused = TokenRefusedError if response.status in (401, 403) else IntakeError
        raise refused(f"the token route answered {response.status}: {response.body.decode('utf-8', 'replace')}")
    token = response.json().get("access_token")
    if not isinstance(token, str):
        raise IntakeError("the token route's answer has no access_token")
    return token


def openweb_token_audience(target: Target) -> str:
    """The token URL as the token route reads it from its requests (an audience it accepts).

    The local gateway stands in for the API: the route reads the execute-api address its events name.
    """
    if target.local:
        return f"https://{api_domain(target.region)}{OPENWEB_TOKEN_PATH}"
    return target.openweb_token_url or f"{target.api_url}{OPENWEB_TOKEN_PATH}"


def with_bearer(request: OutgoingRequest, token: str) -> OutgoingRequest:
    """``request`` authenticated by ``Authorization: Bearer`` instead of the shared header."""
    from webhook_intake.vendors.openweb.contract import TOKEN_HEADER

    headers = {k: v for k, v in request.headers.items() if k != TOKEN_HEADER}
    headers["authorization"] = f"Bearer {token}"
    return OutgoingRequest(request.vendor, request.method, request.path, headers, request.body)
