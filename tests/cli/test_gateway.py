"""The local gateway over real HTTP on 127.0.0.1: API Gateway's answers, and the event a function gets.

The runtime is template.yaml on in-process moto; the Firstup route's function is replaced by
a recorder, so each test sees the exact payload-2.0 event the gateway built, or that none was.
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from http.client import HTTPConnection
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.gateway import HTTP_API_PAYLOAD_LIMIT, make_gateway
from intake_cli.samples import load_secrets
from tests.conftest import queue_messages
from tests.helpers import notifications_body, queue_url

if TYPE_CHECKING:
    from collections.abc import Iterator

    from werkzeug.serving import BaseWSGIServer

    from intake_cli.runtime import LocalRuntime

ROUTE = "/webhooks/firstup"
MIB = 1024 * 1024
TIMEOUT = 5.0


@dataclass
class Recorder:
    """Stands in for a route's function: keeps each event, answers 202 or raises."""

    raises: Exception | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        if self.raises is not None:
            raise self.raises
        return {"statusCode": 202, "headers": self.headers, "body": '{"accepted":true}'}


@pytest.fixture
def function(shared_runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The function behind ``POST /webhooks/firstup`` (replaced for one test of the module's stack)."""
    runtime = shared_runtime
    route = runtime.route_for("POST", ROUTE)
    assert route is not None
    recorder = Recorder()
    monkeypatch.setattr(runtime.functions[route.function_id], "invoke", recorder)
    return recorder


@pytest.fixture
def gateway(shared_runtime: LocalRuntime) -> Iterator[BaseWSGIServer]:
    """The gateway serving the module's stack's routes on a free port."""
    server = make_gateway(shared_runtime, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=TIMEOUT)


def connect(gateway: BaseWSGIServer) -> HTTPConnection:
    return HTTPConnection("127.0.0.1", gateway.port, timeout=TIMEOUT)


def exchange(gateway: BaseWSGIServer, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Raw bytes out, everything until the gateway closes back: status line, headers, body as sent."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=TIMEOUT) as conn:
        conn.sendall(request)
        received = b"".join(iter(lambda: conn.recv(65536), b""))
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


def read_until(conn: socket.socket, marker: bytes) -> bytes:
    received = b""
    while marker not in received:
        chunk = conn.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def test_an_unknown_route_is_404_not_found(gateway: BaseWSGIServer) -> None:
    # Given the gateway, When a path no route serves is requested
    conn = connect(gateway)
    conn.request("POST", "/webhooks/nobody", body=b"{}")
    response = conn.getresponse()

    # Then API Gateway's 404
    assert response.status == 404
    assert response.read() == b'{"message":"Not Found"}'


def test_every_answer_carries_its_request_id_as_api_gateway_does(gateway: BaseWSGIServer, function: Recorder) -> None:
    # Given a function that answers with a request id header of its own
    function.headers = {"content-type": "application/json", "apigw-requestid": "the-function's"}

    # When a delivery is answered by the function, another by the gateway alone (no route)
    conn = connect(gateway)
    conn.request("POST", ROUTE, body=b"{}", headers={"Content-Type": "application/json"})
    delivered = conn.getresponse()
    delivered.read()
    conn = connect(gateway)
    conn.request("POST", "/webhooks/nobody", body=b"{}")
    unrouted = conn.getresponse()
    unrouted.read()

    # Then each answer names its request by the id its event carries (the correlation id of a delivery with no
    # vendor id), once, whoever answered
    (event,) = function.events
    assert delivered.status == 202
    assert delivered.headers.get_all("apigw-requestid") == [event["requestContext"]["requestId"]]
    assert unrouted.status == 404
    other = unrouted.headers.get_all("apigw-requestid")
    assert other is not None and len(other) == 1
    assert re.fullmatch(r"[0-9a-f]{16}=", other[0])
    assert other[0] != event["requestContext"]["requestId"]


def test_each_request_leaves_one_access_line(gateway: BaseWSGIServer, caplog: pytest.LogCaptureFixture) -> None:
    # Given the access log captured
    caplog.set_level(logging.INFO, logger="intake.gateway")

    # When requests are answered, one on a route, one on none (its path naming someone)
    conn = connect(gateway)
    conn.request("GET", "/nowhere/eve@example.com?x=1")
    conn.getresponse().read()
    conn = connect(gateway)
    conn.request("POST", "/webhooks/fastcomments/eve%40example.com", body=b"{}")
    conn.getresponse().read()

    # Then one line each: the route matched (as API Gateway's access log, "-" for none), status, time
    lines = [record.getMessage() for record in caplog.records if record.name == "intake.gateway"]
    assert len(lines) == 2
    assert re.fullmatch(r"GET - 404 \d+ms", lines[0])
    assert re.fullmatch(r"POST /webhooks/fastcomments/\{event\} \d{3} \d+ms", lines[1])


def test_a_method_holding_a_terminal_escape_is_logged_escaped(
    gateway: BaseWSGIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intake.gateway")
    # Given a request whose method clears the screen of the terminal intake serve prints its access lines on
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=TIMEOUT) as raw:
        raw.sendall(b"PO\x1b[2J\x1b]0;owned\x07ST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        answer = raw.recv(65536)

    # Then it is answered 404 and its line shows the method's escapes, not the sequences
    assert b" 404 " in answer.split(b"\r\n", 1)[0]
    (line,) = [record.getMessage() for record in caplog.records if record.name == "intake.gateway"]
    assert re.fullmatch(r"PO\\x1b\[2J\\x1b\]0;OWNED\\x07ST - 404 \d+ms", line), line


def test_a_request_line_refused_unread_is_logged_without_it(
    gateway: BaseWSGIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # Given a request line HTTP cannot parse, carrying a token in its query
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=TIMEOUT) as raw:
        raw.sendall(b"POST /webhooks/openweb?access_token=tok-0123456789 x HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = raw.recv(65536)

    # Then a 400, and the log says so without the line
    assert answer.startswith(b"HTTP/1.")
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "400" in logged
    assert "tok-0123456789" not in logged


def test_a_declared_body_over_10_mib_is_413_before_it_is_sent(gateway: BaseWSGIServer, function: Recorder) -> None:
    # Given a client announcing one byte over the limit, having sent only the first 64 KiB of it
    conn = connect(gateway)
    conn.putrequest("POST", ROUTE)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(HTTP_API_PAYLOAD_LIMIT + 2))
    conn.endheaders(b" " * 65536)

    # When it waits for an answer
    response = conn.getresponse()

    # Then API Gateway's 413 comes without the rest being read, and the function never ran
    assert response.status == 413
    assert response.read() == b'{"message":"Request Entity Too Large"}'
    assert function.events == []


def test_a_chunked_body_over_10_mib_is_413(gateway: BaseWSGIServer, function: Recorder) -> None:
    # Given a body one byte over the limit, sent in chunks with no Content-Length
    chunks = [b"a" * MIB] * 10 + [b"a"]

    # When it is posted
    conn = connect(gateway)
    conn.request("POST", ROUTE, body=iter(chunks), headers={"Content-Type": "text/plain"}, encode_chunked=True)
    response = conn.getresponse()

    # Then 413, and the function never saw a truncated body
    assert response.status == 413
    assert response.read() == b'{"message":"Request Entity Too Large"}'
    assert function.events == []


def test_a_chunked_body_reaches_the_function_whole_and_one_at_10_mib_meets_lambdas_limit(
    gateway: BaseWSGIServer, function: Recorder
) -> None:
    headers = {"Content-Type": "text/plain"}
    # Given a 5 MiB body in chunks: the function gets all of it
    conn = connect(gateway)
    conn.request("POST", ROUTE, body=iter([b"a" * MIB] * 5), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 202, response.read()
    (event,) = function.events
    assert len(event["body"]) == 5 * MIB

    # Given one exactly at the gateway's limit: read whole, then refused as Lambda refuses 6 MB of event
    conn = connect(gateway)
    conn.request("POST", ROUTE, body=iter([b"a" * MIB] * 10), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    assert (response.status, response.read()) == (413, b'{"message":"Request Too Long"}')
    assert len(function.events) == 1


def test_a_function_that_raises_is_500_internal_server_error(
    gateway: BaseWSGIServer, function: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a function that raises
    function.raises = RuntimeError("the function broke")

    # When its route is called
    conn = connect(gateway)
    conn.request("POST", ROUTE, body=b"{}", headers={"Content-Type": "application/json"})
    response = conn.getresponse()

    # Then API Gateway's 500, and the failure is in the log with its traceback
    assert response.status == 500
    assert response.read() == b'{"message":"Internal Server Error"}'
    (failure,) = [record for record in caplog.records if record.exc_info]
    assert failure.exc_info is not None
    assert failure.exc_info[1] is function.raises


def test_repeated_headers_arrive_joined_with_commas(gateway: BaseWSGIServer, function: Recorder) -> None:
    # Given a request repeating a header
    conn = connect(gateway)
    conn.putrequest("POST", ROUTE)
    conn.putheader("X-Vendor-Tag", "first ")
    conn.putheader("X-Vendor-Tag", "second\t")
    conn.putheader("Content-Length", "0")
    conn.endheaders()

    # When the gateway passes it on
    assert conn.getresponse().status == 202

    # Then the event has one header, its values joined with commas as API Gateway joins them (each without the
    # white space after it, no part of a field value)
    (event,) = function.events
    assert event["headers"]["x-vendor-tag"] == "first,second"


def test_the_query_string_arrives_as_sent(gateway: BaseWSGIServer, function: Recorder) -> None:
    # Given a query string with a repeated and an encoded parameter
    conn = connect(gateway)

    # When it is sent
    conn.request("POST", f"{ROUTE}?b=2&a=%20x&a=1", body=b"")
    assert conn.getresponse().status == 202

    # Then rawQueryString is byte for byte what was sent, rawPath the path alone
    (event,) = function.events
    assert event["rawQueryString"] == "b=2&a=%20x&a=1"
    assert event["rawPath"] == ROUTE


def test_head_is_answered_without_a_body(gateway: BaseWSGIServer) -> None:
    # Given the gateway, When HEAD is sent (no route serves it: 404, as API Gateway)
    status, headers, body = exchange(gateway, b"HEAD /webhooks/firstup HTTP/1.1\r\nHost: local\r\n\r\n")

    # Then the headers a GET would get, and not one byte of body before the gateway closes
    assert status.split()[1] == "404"
    assert headers["content-length"] == str(len(b'{"message":"Not Found"}'))
    assert body == b""


def test_a_binary_body_arrives_base64_encoded(gateway: BaseWSGIServer, function: Recorder) -> None:
    # Given a body that is not text
    payload = bytes(range(256)) * 4

    # When it is posted as application/octet-stream
    conn = connect(gateway)
    conn.request("POST", ROUTE, body=payload, headers={"Content-Type": "application/octet-stream"})
    assert conn.getresponse().status == 202

    # Then the event carries it base64-encoded and says so, as API Gateway does
    (event,) = function.events
    assert event["isBase64Encoded"] is True
    assert event["body"] == base64.b64encode(payload).decode("ascii")


def test_a_client_expecting_100_continue_is_invited_to_send_its_body(
    gateway: BaseWSGIServer, function: Recorder
) -> None:
    # Given a client that sends its headers and waits for 100 Continue before the body
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=TIMEOUT) as conn:
        conn.sendall(
            f"POST {ROUTE} HTTP/1.1\r\nHost: local\r\nContent-Type: text/plain\r\n"
            "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n".encode()
        )

        # When the gateway answers, and the client then sends its body
        interim = read_until(conn, b"\r\n\r\n")
        conn.sendall(b"hello")
        final = read_until(conn, b'{"accepted":true}')

    # Then it was invited once, and the function got the body
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert (interim + final).count(b"100 Continue") == 1
    assert b"HTTP/1.1 202" in final
    (event,) = function.events
    assert event["body"] == "hello"


def test_a_client_expecting_100_continue_for_a_body_over_10_mib_gets_413_instead(
    gateway: BaseWSGIServer, function: Recorder
) -> None:
    # Given a client announcing more than the limit and waiting for 100 Continue
    request = (
        f"POST {ROUTE} HTTP/1.1\r\nHost: local\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {HTTP_API_PAYLOAD_LIMIT + 2}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()

    # When the gateway answers
    status, _, body = exchange(gateway, request)

    # Then 413 straight away: it is not invited to send what would be refused
    assert status.split()[1] == "413"
    assert body == b'{"message":"Request Entity Too Large"}'
    assert function.events == []


def test_many_senders_connecting_at_once_are_all_queued(runtime: LocalRuntime) -> None:
    # Given a gateway that has not accepted anything yet
    server = make_gateway(runtime, 0)
    senders: list[socket.socket] = []
    try:
        # When 100 senders connect at once
        for _ in range(100):
            senders.append(socket.create_connection(("127.0.0.1", server.port), timeout=2))

        # Then the listen backlog held every one (socketserver's default of 5 drops the 7th)
        assert len(senders) == 100
    finally:
        for sender in senders:
            sender.close()
        server.server_close()


def test_a_port_in_use_is_an_error_the_stack_can_report(runtime: LocalRuntime) -> None:
    # Given a port something else listens on
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        # When the gateway is asked for it, Then an OSError, not werkzeug's exit of the whole process
        with pytest.raises(OSError, match="in use"):
            make_gateway(runtime, port)


@pytest.mark.parametrize("value", ["café → ok", "1\r\nx-b: 2"])
def test_a_function_header_http_cannot_carry_is_api_gateways_500_not_a_hang(
    gateway: BaseWSGIServer, function: Recorder, value: str
) -> None:
    # Given a function answering a header value HTTP/1.1 cannot carry (outside Latin-1, or a line break)
    function.headers = {"x-note": value}

    # When its route is called
    status, _, body = exchange(gateway, f"POST {ROUTE} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())

    # Then the answer comes, API Gateway's own 500
    assert status.startswith("HTTP/1.1 500")
    assert body == b'{"message":"Internal Server Error"}'


def test_cookies_and_query_parameters_reach_the_function_as_payload_2_0_has_them(
    gateway: BaseWSGIServer, function: Recorder
) -> None:
    # When a request with two Cookie headers and a query string naming one parameter twice comes
    request = (
        f"POST {ROUTE}?a=1&a=2&b=%20x&flag HTTP/1.1\r\nHost: x\r\nCookie: s=1; t=2\r\nCookie: u=3\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    status, _, _ = exchange(gateway, request.encode())

    # Then the event has them as API Gateway gives them: cookies apart, parameters decoded and joined
    assert status.startswith("HTTP/1.1 202")
    (event,) = function.events
    assert event["cookies"] == ["s=1", "t=2", "u=3"]
    assert "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": " x", "flag": ""}
    assert event["rawQueryString"] == "a=1&a=2&b=%20x&flag"


def test_white_space_around_a_header_value_is_no_part_of_it(
    gateway: BaseWSGIServer, shared_runtime: LocalRuntime
) -> None:
    # Given a Viafoura notification whose credential header ends in white space (HTTP reads a field value
    # without the white space around it, RFC 9110 §5.5, and API Gateway passes it on so)
    token = load_secrets()["viafoura-notifications"]["tokens"][0]
    body = notifications_body("gateway-white-space")
    request = (
        f"POST /webhooks/viafoura/notifications HTTP/1.1\r\nHost: x\r\nAuthorization: {token} \t\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )

    # When it comes through the gateway
    status, _, answer = exchange(gateway, request.encode() + body)

    # Then the credential is the token, as it would be in AWS: taken, and on the queue
    assert status.startswith("HTTP/1.1 204"), answer
    (message,) = queue_messages(shared_runtime.sqs, queue_url(shared_runtime, "viafoura-notifications"))
    assert message["Body"].encode() == body
    shared_runtime.drain()


@pytest.mark.parametrize("declared", ["12x", "-1", "+47", "4 7", ""])
def test_a_content_length_that_is_no_length_is_400_before_the_function_runs(
    gateway: BaseWSGIServer, function: Recorder, declared: str
) -> None:
    # Given a delivery whose Content-Length is no count of bytes (HTTP/1.1: a 400, RFC 9112 §6.3)
    body = b'{"id": "length-1", "name": "content_published"}'
    head = f"POST {ROUTE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"

    # When it is sent
    status, _, answer = exchange(gateway, head.encode() + body)

    # Then API Gateway's 400, and no function sees an empty body in its place (Firstup's would be a ping, answered 200)
    assert status.startswith("HTTP/1.1 400"), answer
    assert answer == b'{"message":"Bad Request"}'
    assert function.events == []


@pytest.mark.parametrize("declared", ["\u00b9", "\u00b2\u00b3"])
def test_a_content_length_of_superscript_digits_expecting_100_continue_is_400_not_a_dropped_connection(
    gateway: BaseWSGIServer, function: Recorder, declared: str
) -> None:
    # Given a client waiting for 100 Continue whose Content-Length is digits to str.isdigit but no count of bytes
    head = (
        f"POST {ROUTE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )

    # When it is sent (the body with it: the client gives up waiting for the invitation)
    status, _, answer = exchange(gateway, head.encode("latin-1") + b"{}")

    # Then, once invited, API Gateway's 400, as for any Content-Length that is no count, and the function never ran
    assert status == "HTTP/1.1 100 Continue", (status, answer)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert answer.endswith(b'{"message":"Bad Request"}'), answer
    assert function.events == []
