"""The template's HTTP API on 127.0.0.1: each request becomes a payload-2.0 event for its route's function."""

from __future__ import annotations

import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from intake_cli.runtime import HttpResponse

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime

# API Gateway HTTP APIs refuse larger request payloads with 413 before any integration runs.
HTTP_API_PAYLOAD_LIMIT = 10 * 1024 * 1024

LOG = logging.getLogger("intake.stack")
ACCESS_LOG = logging.getLogger("intake.gateway")


class Gateway(ThreadingHTTPServer):
    """The HTTP API: every request becomes a payload-2.0 event for the route's handler."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when many senders (or the CLI's
    # liveness probe) arrive at once; API Gateway never refuses a connection.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], runtime: LocalRuntime) -> None:
        self.runtime = runtime
        super().__init__(address, _GatewayHandler)


class _GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway
    server_version = "intake-local-gateway"
    _NOT_FOUND: ClassVar[HttpResponse] = HttpResponse(
        404, {"content-type": "application/json"}, b'{"message":"Not Found"}'
    )

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except _PayloadTooLargeError:
            response = HttpResponse(
                413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}'
            )
        else:
            response = self._invoke(url.path, url.query, body)
        self._send(response)
        ACCESS_LOG.info("%s %s %d %.0fms", self.command, url.path, response.status, (time.monotonic() - started) * 1000)

    def _invoke(self, path: str, query: str, body: bytes) -> HttpResponse:
        try:
            return self.server.runtime.request(self.command, path, self._headers(), body, query=query)
        except Exception:  # the function failed: API Gateway answers 500, as here
            LOG.exception("%s %s: the function raised", self.command, path)
            return HttpResponse(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')

    def _headers(self) -> dict[str, str]:
        # Repeated headers arrive joined with commas, as API Gateway passes them.
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        return headers

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("content-length") or 0)
        if length > HTTP_API_PAYLOAD_LIMIT:
            raise _PayloadTooLargeError
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline().split(b";", 1)[0].strip()
            length = int(line or b"0", 16)
            if length == 0:
                self.rfile.readline()
                return b"".join(chunks)
            size += length
            if size > HTTP_API_PAYLOAD_LIMIT:
                raise _PayloadTooLargeError
            chunks.append(self.rfile.read(length))
            self.rfile.readline()

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug(format, *args)


class _PayloadTooLargeError(Exception):
    """The request body is over the HTTP API limit."""
