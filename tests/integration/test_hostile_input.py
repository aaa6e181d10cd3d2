"""Property-based: whatever arrives on any route, no crash, no 5xx for garbage, no 2xx without auth, no echo."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_cli.samples import build_request
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from intake_cli.runtime import HttpResponse, LocalRuntime

PATHS = [
    "/webhooks/viafoura/engagement",
    "/webhooks/viafoura/notifications",
    "/webhooks/firstup",
    "/webhooks/openweb",
    "/webhooks/fastcomments/comment-created",
    "/webhooks/fastcomments/comment-deleted",
    "/webhooks/fastcomments/../comment-created",
    "/webhooks/fastcomments/%00",
]
CREDENTIAL_HEADERS = [
    "authorization",
    "token",
    "x-openweb-notification-event-webhook-token",
    "x-fastcomments-signature",
    "x-fastcomments-timestamp",
]
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "application/octet-stream", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["binary", "text", "json", "deep", "bom", "huge-number", "duplicate-keys"]))
    if kind == "binary":
        return draw(st.binary(max_size=512))
    if kind == "text":
        return draw(st.text(max_size=256)).encode("utf-8", "surrogatepass")
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "deep":
        depth = draw(st.integers(min_value=100, max_value=20_000))
        return b"[" * depth + b"]" * depth
    if kind == "bom":
        return (
            b"\xef\xbb\xbf"
            + json.dumps({"events": [], "notifications": [], "id": "x", "event_id": "e", "type": "t"}).encode()
        )
    if kind == "huge-number":
        return b'{"id": ' + b"9" * draw(st.integers(min_value=10, max_value=20_000)) + b"}"
    return b'{"id": "a", "id": "b", "events": [], "events": [1]}'


header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@st.composite
def hostile_headers(draw: st.DrawFn) -> dict[str, str]:
    headers = draw(
        st.dictionaries(
            st.sampled_from(CREDENTIAL_HEADERS) | st.from_regex(r"x-[a-z]{1,8}", fullmatch=True),
            header_values,
            max_size=5,
        )
    )
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type:
        headers["content-type"] = content_type
    return headers


def secret_values(secrets: dict[str, Any]) -> list[str]:
    values: list[str] = []
    for secret in secrets.values():
        for value in secret.values():
            values.extend(value if isinstance(value, list) else [value])
    return values


def assert_no_echo(response: HttpResponse, body: bytes, secrets: dict[str, Any]) -> None:
    for value in secret_values(secrets):
        assert value.encode() not in response.body
    # Short bodies can be a prefix of a fixed error text by chance (b'{"message":"'); long ones cannot.
    if len(body) >= 32:
        assert body not in response.body
    assert len(response.body) < 400  # errors are short


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    method=st.sampled_from(["POST", "PUT", "DELETE", "GET", "PATCH", "OPTIONS"]),
    path=st.sampled_from(PATHS),
    headers=hostile_headers(),
    body=bodies(),
)
def test_unauthenticated_requests_never_crash_never_5xx_never_2xx(
    runtime: LocalRuntime, secrets: dict[str, Any], method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    response = runtime.request(method, path, headers, body)
    assert 400 <= response.status < 500, (response.status, response.body)
    assert_no_echo(response, body, secrets)


@SETTINGS
@given(vendor_key=st.sampled_from(sorted(VENDORS)), body=bodies())
def test_authenticated_garbage_is_a_4xx_and_valid_objects_a_2xx(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, body: bytes
) -> None:
    request = build_request(vendor_key, body, secrets[vendor_key], "comment-created")
    response = runtime.request(request.method, request.path, request.headers, request.body)
    assert response.status < 500, (response.status, response.body)
    if 200 <= response.status < 300:
        # Only a JSON object with the vendor's envelope is ever accepted.
        document = json.loads(body)
        assert isinstance(document, dict)
    assert_no_echo(response, body, secrets)


@SETTINGS
@given(vendor_key=st.sampled_from(sorted(VENDORS)), body=bodies(), content_type=st.sampled_from(CONTENT_TYPES))
def test_base64_encoded_bodies_are_read_like_api_gateway_sends_them(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, body: bytes, content_type: str
) -> None:
    # A non-text content type makes the local gateway base64-encode the body, as API Gateway does.
    request = build_request(vendor_key, body, secrets[vendor_key], "comment-created")
    headers = {**request.headers, "content-type": content_type or "application/octet-stream"}
    response = runtime.request(request.method, request.path, headers, request.body)
    assert response.status < 500, (response.status, response.body)
    assert_no_echo(response, body, secrets)
