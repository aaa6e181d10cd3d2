"""API Gateway HTTP API (payload format 2.0) requests and responses, standard library only.

Not Powertools' ``APIGatewayProxyEventV2``: its ``decoded_body`` is text (a body that is no UTF-8
cannot be had, and signatures are checked over the raw bytes) decoded from lenient base64, and
importing it loads every event class of ``data_classes``, 12-16 ms by ``-X importtime`` on an
ingest cold start that costs 50-80 ms more than a bare boto3 function's (docs/performance.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any


class MalformedRequestError(ValueError):
    """The API Gateway event itself cannot be read (for example, bad base64)."""


@dataclass(frozen=True, slots=True)
class Request:
    """The parts of an HTTP API v2 event that the ingest path uses."""

    method: str
    path: str
    route_key: str
    headers: dict[str, str]
    body: bytes
    path_parameters: dict[str, str]
    request_id: str
    time_epoch_ms: int
    domain: str = ""
    """The domain the request came in by (``requestContext.domainName``: the API's, or a custom one)."""

    @classmethod
    def from_http_api_event(cls, event: dict[str, Any]) -> Request:
        """Read an HTTP API payload-format-2.0 event (headers are lower-cased by API Gateway)."""
        http = event.get("requestContext", {}).get("http", {})
        context = event.get("requestContext", {})
        raw_body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw_body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedRequestError("body is marked base64 but is not valid base64") from exc
        else:
            body = raw_body.encode("utf-8", "surrogatepass")
        return cls(
            method=str(http.get("method", "")).upper(),
            path=str(event.get("rawPath") or http.get("path", "")),
            route_key=str(event.get("routeKey", "")),
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            body=body,
            path_parameters=dict(event.get("pathParameters") or {}),
            request_id=str(context.get("requestId", "")),
            time_epoch_ms=int(context.get("timeEpoch") or 0),
            domain=str(context.get("domainName") or ""),
        )

    @property
    def url(self) -> str | None:
        """The URL the caller asked for (HTTP APIs serve HTTPS only); None without a domain."""
        return f"https://{self.domain}{self.path}" if self.domain else None

    def header(self, name: str) -> str | None:
        """A header by its lower-case name."""
        return self.headers.get(name)


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP API v2 response."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_http_api(self) -> dict[str, Any]:
        """The Lambda return value API Gateway expects."""
        headers = dict(self.headers)
        if self.body is None:
            return {"statusCode": self.status, "headers": headers, "body": "", "isBase64Encoded": False}
        headers.setdefault("content-type", "application/json")
        return {
            "statusCode": self.status,
            "headers": headers,
            "body": json.dumps(self.body, separators=(",", ":")),
            "isBase64Encoded": False,
        }


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """A short JSON error: ``{"error": code, "message": message}``; never echoes the request."""
    return Response(status, {"error": code, "message": message}, headers or {})
