"""The template's functions wired together in one process: routes, handlers and queue pollers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intake_cli.events import http_api_event, match_path
from intake_cli.lambdas import LocalFunction
from intake_cli.poller import QueuePoller

if TYPE_CHECKING:
    import boto3

    from intake_cli.provision import Stack
    from intake_cli.template import Route


@dataclass
class HttpResponse:
    """What a client of the HTTP API gets back."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


LAMBDA_EVENT_LIMIT = 6_291_456
"""The largest event a synchronous Lambda invocation takes, and the largest answer it gives (bytes of its JSON)."""


class LocalRuntime:
    """Routes requests to ingest handlers and drains queues through consumer handlers."""

    def __init__(
        self,
        stack: Stack,
        session: boto3.session.Session,
        endpoint_url: str | None = None,
        retry_visibility: int | None = None,
    ) -> None:
        self.stack = stack
        self.functions = {
            spec.logical_id: LocalFunction(spec, stack.environment(spec), stack.region) for spec in stack.functions()
        }
        self.routes: list[Route] = [route for spec in stack.functions() for route in spec.routes]
        self.sqs = sqs = session.client("sqs", endpoint_url=endpoint_url)
        self.pollers = [
            QueuePoller(
                sqs=sqs,
                queue_url=stack.queues[source.queue_id],
                queue_arn=stack.attrs[f"{source.queue_id}.Arn"],
                function=self.functions[spec.logical_id],
                source=source,
                region=stack.region,
                retry_visibility=retry_visibility,
            )
            for spec in stack.functions()
            for source in spec.queue_sources
        ]

    def route_for(self, method: str, path: str) -> Route | None:
        """The route serving ``method path``, as API Gateway would match it."""
        for route in self.routes:
            if route.method == method.upper() and match_path(route.path, path) is not None:
                return route
        return None

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        query: str = "",
        route: Route | None = None,
        request_id: str | None = None,
    ) -> HttpResponse:
        """One HTTP request through the matching route's handler (``query`` is the raw query string;
        ``route``, when the caller matched it already; ``request_id``, the id its event carries)."""
        route = route or self.route_for(method, path)
        if route is None:
            return HttpResponse(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
        event = http_api_event(
            method.upper(),
            path,
            route.path,
            headers,
            body,
            query=query,
            region=self.stack.region,
            request_id=request_id,
        )
        if len(body) > LAMBDA_EVENT_LIMIT // 2 and event_bytes(event) > LAMBDA_EVENT_LIMIT:
            # As in AWS: the gateway takes 10 MiB, a synchronous invocation 6 MB of event (a body
            # API Gateway base64-encodes grows by a third): the function never sees the request.
            return HttpResponse(413, {"content-type": "application/json"}, b'{"message":"Request Too Long"}')
        result = self.functions[route.function_id].invoke(event)
        if len(json.dumps(result).encode()) > LAMBDA_EVENT_LIMIT:
            # As in AWS: a function's answer over 6 MB fails the invocation; the gateway says 500.
            return HttpResponse(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
        return _http_response(result)

    def drain(self, max_polls: int = 1000) -> int:
        """Poll every queue until none returns messages; the number of records processed."""
        processed = 0
        for _ in range(max_polls):
            results = [poller.poll_once() for poller in self.pollers]
            received = sum(result.received for result in results)
            if received == 0:
                return processed
            processed += received
        return processed


def event_bytes(event: dict[str, Any]) -> int:
    """The size of an event as Lambda receives it: JSON in UTF-8, text past ASCII as its own bytes (an emoji
    is 4 of them, not the 12 of its ``\\u`` escapes)."""
    return len(json.dumps(event, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _http_response(result: Any) -> HttpResponse:
    """API Gateway's mapping of a payload-2.0 Lambda result to an HTTP response."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    return HttpResponse(int(result["statusCode"]), headers, raw)
