"""The template's HTTP API on 127.0.0.1: werkzeug serves it, each request becomes a payload-2.0 event.

werkzeug (installed with moto's server) does the HTTP: parsing, chunked bodies, the size
limit, HEAD, ``Expect: 100-continue``, repeated headers joined with commas as API Gateway
joins them, and one thread per connection. What is left here is API Gateway's side:
the answer a request gets when no function runs, and two places werkzeug needs a nudge
(a chunked body over the limit, a body it is about to refuse being invited).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.http import is_hop_by_hop_header
from werkzeug.serving import LISTEN_QUEUE, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from intake_cli.events import APIGW_REQUEST_ID_HEADER, new_request_id
from intake_cli.runtime import HttpResponse
from intake_cli.terminal import printable

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment
    from werkzeug.serving import BaseWSGIServer

    from intake_cli.runtime import LocalRuntime
    from intake_cli.template import Route

# API Gateway HTTP APIs refuse larger request payloads with 413 before any integration runs.
HTTP_API_PAYLOAD_LIMIT = 10 * 1024 * 1024

_LENGTH = re.compile(r"[0-9]+")
"""A Content-Length: ASCII digits only (RFC 9112 §6.3: anything else is a 400)."""

LOG = logging.getLogger("intake.stack")
ACCESS_LOG = logging.getLogger("intake.gateway")


def make_gateway(runtime: LocalRuntime, port: int) -> BaseWSGIServer:
    """A threaded server for the runtime's routes on 127.0.0.1 (port 0 picks one); run its serve_forever().

    Raises OSError when the port cannot be bound.
    """
    # werkzeug prints and exits the process when it cannot bind: bind here, so the caller gets an
    # OSError it can report. LISTEN_QUEUE (128) rather than socketserver's 5, which dropped
    # connections when many senders arrived at once; API Gateway never refuses one.
    with socket.create_server(("127.0.0.1", port), backlog=LISTEN_QUEUE) as listener:
        return make_server(
            "127.0.0.1",
            listener.getsockname()[1],
            gateway_app(runtime),
            threaded=True,
            request_handler=_GatewayRequestHandler,
            fd=listener.fileno(),
        )


def gateway_app(runtime: LocalRuntime) -> WSGIApplication:
    """The HTTP API as a WSGI app: each request through ``runtime.request``, answered as API Gateway answers."""

    @_GatewayRequest.application
    def app(request: Request) -> Response:
        started = time.monotonic()
        # werkzeug's path is percent-decoded; the event's rawPath is the path as sent.
        url = urlsplit(request.environ["RAW_URI"])
        # Lines name the route matched, as the deployed API's access log does: never the path (it may name someone).
        route = runtime.route_for(request.method, url.path)
        # A method no route has is whatever the client sent: shown, never let steer the terminal serve prints on.
        route_key = route.route_key if route is not None else f"{printable(request.method)} -"
        request_id = new_request_id()
        try:
            body = _body(request)
        except HTTPException as exc:  # 413, or 400 for a broken length or chunked body: werkzeug's names are AWS's
            answer = _message(exc.code or 400, exc.name)
        else:
            answer = _invoke(runtime, route, route_key, request, url.path, url.query, body, request_id)
        ACCESS_LOG.info("%s %d %.0fms", route_key, answer.status, (time.monotonic() - started) * 1000)
        # The gateway frames the body itself: a function's hop-by-hop headers or length never reach the client.
        # (its own request id header too: API Gateway's, set on every answer, stands in its place)
        headers = [
            (name, value)
            for name, value in answer.headers.items()
            if not is_hop_by_hop_header(name) and name.lower() not in ("content-length", APIGW_REQUEST_ID_HEADER)
        ]
        if not all(_sendable(name) and _sendable(value) for name, value in headers):
            LOG.error("%s: the function answered a header HTTP cannot carry", route_key)
            answer, headers = _message(500, "Internal Server Error"), [("content-type", "application/json")]
        return _GatewayResponse(answer.body, answer.status, [*headers, (APIGW_REQUEST_ID_HEADER, request_id)])

    return app


def _sendable(text: str) -> bool:
    """A header name or value HTTP/1.1 can carry: Latin-1, no line break (else the server stops mid-answer)."""
    if "\r" in text or "\n" in text:
        return False
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _body(request: Request) -> bytes:
    """The request body; BadRequest for a Content-Length that is no count of bytes (werkzeug would read
    it as 0, and the function get an empty body in its place), RequestEntityTooLarge past API Gateway's limit."""
    declared = request.headers.get("content-length")
    if declared is not None and not request.environ.get("wsgi.input_terminated") and not _LENGTH.fullmatch(declared):
        raise BadRequest
    body = request.get_data()
    if len(body) > HTTP_API_PAYLOAD_LIMIT:
        raise RequestEntityTooLarge
    return body


def _invoke(
    runtime: LocalRuntime,
    route: Route | None,
    route_key: str,
    request: Request,
    path: str,
    query: str,
    body: bytes,
    request_id: str,
) -> HttpResponse:
    try:
        return runtime.request(
            request.method, path, dict(request.headers), body, query=query, route=route, request_id=request_id
        )
    except Exception:  # the function failed: API Gateway answers 500, as here
        LOG.exception("%s: the function raised", route_key)
        return _message(500, "Internal Server Error")


def _message(status: int, message: str) -> HttpResponse:
    """One of API Gateway's own answers: ``{"message": ...}``."""
    return HttpResponse(
        status, {"content-type": "application/json"}, json.dumps({"message": message}, separators=(",", ":")).encode()
    )


class _GatewayRequest(Request):
    # One byte over API Gateway's limit: werkzeug stops reading a chunked body at
    # max_content_length without telling whether more followed, so the extra byte tells
    # (_body). A declared Content-Length over it is refused before any of the body is read.
    max_content_length = HTTP_API_PAYLOAD_LIMIT + 1


class _GatewayResponse(Response):
    # API Gateway passes on the function's headers as they are: no content type made up.
    default_mimetype = None


class _GatewayRequestHandler(WSGIRequestHandler):
    def make_environ(self) -> WSGIEnvironment:
        """The request's environ, each header value without the white space around it.

        A field value excludes it (RFC 9110 §5.5), and API Gateway passes values on so; http.server
        keeps what follows a value, and a credential sent with a trailing space would be refused
        here and taken in AWS. (werkzeug joins a repeated header's values after this.)
        """
        for name in dict.fromkeys(self.headers.keys()):
            values = self.headers.get_all(name, [])
            del self.headers[name]
            for value in values:
                self.headers[name] = value.strip(" \t\r\n")
        return super().make_environ()

    def handle_expect_100(self) -> bool:
        """Invite the body once (http.server does here, werkzeug again in run_wsgi), or not at all if refused unread.

        A client declaring more than the gateway reads gets its 413 without sending the body.
        """
        declared = self.headers.get("content-length", "")
        del self.headers["expect"]
        # Not str.isdigit: it takes "¹", which int() refuses, and the connection would drop unanswered.
        if _LENGTH.fullmatch(declared) and int(declared) > _GatewayRequest.max_content_length:
            return True
        return super().handle_expect_100()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: the app writes the access line, with the time the function took."""

    def log_error(self, format: str, *args: Any) -> None:
        """A request refused before the app saw it: its status only, never the line (its query may hold a token)."""
        code = args[0] if args and isinstance(args[0], int) else "-"
        ACCESS_LOG.warning("- %s refused before routing", code)
