"""Lambda event payloads as AWS builds them: API Gateway HTTP API (v2.0) and SQS event sources."""

from __future__ import annotations

import base64
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

# Content types API Gateway passes as text; anything else arrives base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded", "+json")


def match_path(template_path: str, path: str) -> dict[str, str] | None:
    """Path parameters when ``path`` matches a route path like ``/a/{event}``, else None."""
    wanted = template_path.strip("/").split("/")
    actual = path.strip("/").split("/")
    if len(wanted) != len(actual):
        return None
    params: dict[str, str] = {}
    for pattern, part in zip(wanted, actual, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            if not part:
                return None
            params[pattern[1:-1]] = unquote(part)
        elif pattern != part:
            return None
    return params


ACCOUNT_ID = "123456789012"
"""The account moto serves by default: every ARN and request context of the local stack names it."""
LOCAL_API_ID = "local"
"""The local stack's HTTP API id: what its events name (``requestContext.apiId``), and what a ``Ref`` to the API
in its template resolves to (``provision``)."""


def api_domain(region: str) -> str:
    """The execute-api domain the local stack's events name (``requestContext.domainName``)."""
    return f"{LOCAL_API_ID}.execute-api.{region}.amazonaws.com"


APIGW_REQUEST_ID_HEADER = "apigw-requestid"
"""The header every answer of an HTTP API carries: the request's id, its event's ``requestContext.requestId`` (the
correlation id of a delivery whose vendor sends no id of its own)."""


def new_request_id() -> str:
    """An id in the form of API Gateway's request ids (``requestContext.requestId``, the ``apigw-requestid`` header)."""
    return uuid.uuid4().hex[:16] + "="


def http_api_event(
    method: str,
    path: str,
    route_path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    query: str = "",
    region: str = "us-east-1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An HTTP API payload-format-2.0 event, with API Gateway's header and body handling (``request_id``: the
    request's id, else a new one)."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        # API Gateway joins repeated headers with commas.
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    # Payload 2.0 moves the cookies of every Cookie header into a list of their own.
    cookie_header = lowered.pop("cookie", "")
    cookies = [part.strip() for part in re.split(r"[;,]", cookie_header) if part.strip()]
    content_type = lowered.get("content-type", "")
    is_text = _is_text(content_type, body)
    now = time.time()
    params = match_path(route_path, path) or {}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "domainName": api_domain(region),
            "domainPrefix": LOCAL_API_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id or new_request_id(),
            "routeKey": f"{method} {route_path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        # Decoded; a name given more than once has its values joined with commas.
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if params:
        event["pathParameters"] = params
    if body:
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode("ascii")
    return event


def _is_text(content_type: str, body: bytes) -> bool:
    if not any(marker in content_type.lower() for marker in _TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event a Lambda SQS event source mapping sends for ``ReceiveMessage`` results."""
    return {"Records": [_sqs_record(message, queue_arn, region) for message in messages]}


def _sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = dict(message.get("Attributes", {}))
    attributes.setdefault("ApproximateReceiveCount", "1")
    attributes.setdefault("SentTimestamp", str(int(time.time() * 1000)))
    attributes.setdefault("SenderId", "AIDAIENQZJOLO23YVJ4VO")
    attributes.setdefault("ApproximateFirstReceiveTimestamp", attributes["SentTimestamp"])
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
