"""Property-based: whatever arrives on any route, never a 5xx, never a 2xx without a credential, no echo.

Header values are drawn from raw bytes as API Gateway may hand them on: every latin-1 code
point, and the Unicode look-alikes (non-ASCII spaces and digits, ``nan``, ``Infinity``) that
number parsers take, placed beside a current FastComments timestamp. Every route gets the
same treatment, the OpenWeb token route included, and the consumer runs after each accepted
delivery: nothing unauthenticated is ever queued, and nothing accepted ends in a dead-letter queue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt
from botocore.client import BaseClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_cli.lambdas import LocalFunction
from intake_cli.samples import build_request, load_secrets
from tests.helpers import credential_headers, depth, dlq_url, queue_url
from webhook_intake import secrets as secrets_module
from webhook_intake.registry import VENDORS
from webhook_intake.vendors.openweb.token_endpoint import ASSERTION_TYPE

if TYPE_CHECKING:
    import pytest

    from intake_cli.runtime import HttpResponse, LocalRuntime

TOKEN_PATH = "/oauth/openweb/token"


def _routes() -> list[tuple[str, str]]:
    routes = [("POST", TOKEN_PATH)]
    for spec in VENDORS.values():
        paths = [spec.path]
        if "{event}" in spec.path:
            events = ("comment-created", "comment-updated", "comment-deleted", "..", "%00", "comment-created/x")
            paths = [spec.path.replace("{event}", event) for event in events]
        routes += [(method, path) for path in paths for method in spec.methods]
    return routes


ROUTES = _routes()
METHODS = ["POST", "PUT", "DELETE", "GET", "PATCH", "OPTIONS"]
# Every vendor's credential headers, as its samples carry them (a vendor added later is fuzzed too),
# and the other ways a credential arrives: a Bearer token, FastComments' legacy token and its timestamp.
CREDENTIAL_HEADERS = sorted(
    {name for key in VENDORS for name in credential_headers(key, load_secrets())}
    | {"authorization", "token", "x-fastcomments-timestamp"}
)
OTHER_HEADERS = ["x-request-id", "x-socialchorus-delivery", "user-agent", "x-intake-test", "content-type"]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/octet-stream",
    "",
]
# What float(), int() and str.isdigit() accept besides ASCII digits.
LOOK_ALIKES = [
    "\u00a0", "\u0085", "\u3000", "\u2028", "\u2029", "\ufeff", "\x00", "\r\n", "\t", " ", "+", "-", "_", ".",
    "\uff11\uff17\uff19", "\u0661\u0667", "nan", "NaN", "inf", "-Infinity", "1e3", "0x10", "\U0001d7d9",
]  # fmt: skip

latin1 = st.binary(max_size=64).map(lambda raw: raw.decode("latin-1"))
"""Any header bytes, read the way HTTP/1.1 defines an octet (ISO-8859-1)."""
utf8 = st.binary(max_size=64).map(lambda raw: raw.decode("utf-8", "replace"))
header_text = st.one_of(latin1, utf8, st.sampled_from(LOOK_ALIKES), st.text(max_size=40))


@st.composite
def fastcomments_timestamps(draw: st.DrawFn) -> str:
    """A current timestamp (seconds or milliseconds) with hostile characters around or instead of it."""
    now = time.time()
    current = draw(st.sampled_from([str(int(now)), str(int(now * 1000)), f"{now:.3f}"]))
    around = st.sampled_from(["", *LOOK_ALIKES]) | header_text
    return draw(around) + current + draw(around)


@st.composite
def hostile_headers(draw: st.DrawFn) -> dict[str, str]:
    names = st.sampled_from(CREDENTIAL_HEADERS + OTHER_HEADERS) | st.from_regex(r"x-[a-z]{1,8}", fullmatch=True)
    headers = draw(st.dictionaries(names, header_text, max_size=6))
    if draw(st.booleans()):
        headers["x-fastcomments-timestamp"] = draw(fastcomments_timestamps())
        headers["x-fastcomments-signature"] = draw(
            st.sampled_from(["sha256=" + "0" * 64, "sha256=" + "a" * 64]) | header_text
        )
    if draw(st.booleans()):
        headers["authorization"] = "Bearer " + draw(header_text | st.from_regex(r"[A-Za-z0-9_\-.]{0,200}"))
    return headers


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(
        st.sampled_from(["binary", "text", "json", "deep", "bom", "huge-number", "duplicate-keys", "form", "nonfinite"])
    )
    if kind == "binary":
        return draw(st.binary(max_size=512))
    if kind == "text":
        return draw(st.text(max_size=256)).encode("utf-8", "surrogatepass")
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "deep":
        depth_ = draw(st.integers(min_value=100, max_value=20_000))
        return b"[" * depth_ + b"]" * depth_
    if kind == "bom":
        return (
            b"\xef\xbb\xbf"
            + json.dumps({"events": [], "notifications": [], "id": "x", "event_id": "e", "type": "t"}).encode()
        )
    if kind == "huge-number":
        return b'{"id": ' + b"9" * draw(st.integers(min_value=10, max_value=20_000)) + b"}"
    if kind == "form":
        assertion = draw(st.from_regex(r"[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,40}"))
        return (
            "grant_type=client_credentials&client_assertion_type="
            "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + assertion
        ).encode()
    if kind == "nonfinite":
        return draw(st.sampled_from([b'{"id": NaN}', b'{"time": Infinity}', b'{"events": [-Infinity]}']))
    return b'{"id": "a", "id": "b", "events": [], "events": [1]}'


def secret_values(secrets: dict[str, Any]) -> list[str]:
    values: list[str] = []
    for secret in secrets.values():
        for value in secret.values():
            values.extend(value if isinstance(value, list) else [value])
    return [value for value in values if isinstance(value, str) and len(value) >= 8]


def assert_no_echo(response: HttpResponse, body: bytes, secrets: dict[str, Any]) -> None:
    for value in secret_values(secrets):
        assert value.encode() not in response.body
    # Short bodies can be a prefix of a fixed error text by chance (b'{"message":"'); long ones cannot.
    if len(body) >= 32:
        assert body not in response.body
    assert len(response.body) < 400  # errors are short


def queued(runtime: LocalRuntime) -> int:
    return sum(depth(runtime, queue_url(runtime, key)) + depth(runtime, dlq_url(runtime, key)) for key in VENDORS)


# As many examples as the hypothesis profile says (tests/conftest.py): `make soak` draws many more.
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    route=st.sampled_from(ROUTES),
    method=st.sampled_from(METHODS) | st.none(),
    headers=hostile_headers(),
    body=bodies(),
)
def test_without_a_credential_never_a_5xx_never_a_2xx_and_nothing_queued(
    shared_runtime: LocalRuntime,
    secrets: dict[str, Any],
    route: tuple[str, str],
    method: str | None,
    headers: dict[str, str],
    body: bytes,
) -> None:
    runtime = shared_runtime
    response = runtime.request(method or route[0], route[1], headers, body)
    assert 400 <= response.status < 500, (response.status, response.body)
    assert_no_echo(response, body, secrets)
    assert queued(runtime) == 0


def plain_and_current(timestamp: str) -> bool:
    """FastComments' rule: ASCII digits, seconds or milliseconds, within 300 s of now."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        return False
    value = int(timestamp)
    return abs((value / 1000 if value > 100_000_000_000 else value) - time.time()) <= 299


@SETTINGS
@given(
    timestamp=fastcomments_timestamps(),
    event=st.sampled_from(["comment-created", "comment-deleted"]),
    right_key=st.booleans(),
)
def test_a_signature_over_a_hostile_timestamp_is_refused_not_a_500(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], timestamp: str, event: str, right_key: bool
) -> None:
    # Signed over exactly what is sent, with the real secret or another: only the timestamp's form
    # is wrong (unless it is a plain current timestamp, which the real secret's signature passes).
    # A fresh comment id each time: the same signed request twice is a replay, refused by design.
    runtime = shared_runtime
    body = json.dumps({"id": f"hostile-ts-{uuid.uuid4().hex}", "urlId": "p", "comment": "x"}).encode()
    key = secrets["fastcomments"]["api_secret"] if right_key else "another-api-secret"
    key = key[0] if isinstance(key, list) else key
    digest = hmac.new(key.encode(), timestamp.encode("utf-8", "surrogatepass") + b"." + body, hashlib.sha256)
    headers = {"x-fastcomments-signature": "sha256=" + digest.hexdigest(), "x-fastcomments-timestamp": timestamp}
    response = runtime.request("PUT", f"/webhooks/fastcomments/{event}", headers, body)
    if right_key and plain_and_current(timestamp):
        assert response.status == 200, (timestamp, response.body)
        runtime.drain()
    else:
        assert response.status == 401, (timestamp, response.status, response.body)
    assert queued(runtime) == 0


@SETTINGS
@given(
    vendor_key=st.sampled_from(sorted(VENDORS)),
    body=bodies(),
    extra=st.dictionaries(st.sampled_from(OTHER_HEADERS), header_text, max_size=4),
)
def test_with_a_credential_bad_bodies_are_a_4xx_and_nothing_accepted_is_dead_lettered(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, body: bytes, extra: dict[str, str]
) -> None:
    runtime = shared_runtime
    request = build_request(vendor_key, body, secrets[vendor_key], "comment-created")
    response = runtime.request(request.method, request.path, {**extra, **request.headers}, request.body)
    assert response.status < 500, (response.status, response.body)
    if 200 <= response.status < 300:
        # Only a JSON object with the vendor's envelope is ever accepted (or, for Firstup, a ping with no body).
        if vendor_key == "firstup" and not body.strip():
            assert response.json() == {"accepted": True, "ping": True}
        else:
            assert isinstance(json.loads(body), dict)
    assert_no_echo(response, body, secrets)
    runtime.drain()
    assert queued(runtime) == 0


@SETTINGS
@given(vendor_key=st.sampled_from(sorted(VENDORS)), body=bodies(), content_type=st.sampled_from(CONTENT_TYPES))
def test_base64_encoded_bodies_are_read_like_api_gateway_sends_them(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, body: bytes, content_type: str
) -> None:
    # A non-text content type makes the local gateway base64-encode the body, as API Gateway does.
    runtime = shared_runtime
    request = build_request(vendor_key, body, secrets[vendor_key], "comment-created")
    headers = {**request.headers, "content-type": content_type or "application/octet-stream"}
    response = runtime.request(request.method, request.path, headers, request.body)
    assert response.status < 500, (response.status, response.body)
    assert_no_echo(response, body, secrets)
    runtime.drain()
    assert queued(runtime) == 0


def test_a_request_nobody_signed_costs_no_write_and_two_short_log_lines(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every AWS call a function makes, by function (what a refusal costs beside the request and the invocation)
    calls: list[tuple[str, str, str]] = []
    running: list[str] = []
    invoke, make_api_call = LocalFunction.invoke, BaseClient._make_api_call

    def invoking(self: LocalFunction, event: dict[str, Any]) -> Any:
        running.append(self.spec.logical_id)
        try:
            return invoke(self, event)
        finally:
            running.pop()

    def recording(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if running:
            calls.append((running[-1], self.meta.service_model.service_name, operation))
        return make_api_call(self, operation, params)

    monkeypatch.setattr(LocalFunction, "invoke", invoking)
    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    # All within the 10 s a function waits between two reads for a credential it does not know, however slow the run
    started = time.monotonic()
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: started)
    # Given requests nobody signed, five on each route, with long ids and a wrong credential of every kind
    long, now = "x" * 3000, int(time.time())
    headers = {
        "authorization": "Bearer a.b.c",
        "x-openweb-notification-event-webhook-token": "wrong",
        "x-fastcomments-signature": "sha256=00",
        "x-fastcomments-timestamp": str(now),
        "x-request-id": long,
        "x-socialchorus-delivery": long,
        "user-agent": long,
    }
    claims = {"iss": "c", "sub": "c", "aud": "a", "exp": now + 60, "jti": "j"}
    forged = jwt.encode(claims, "not the client secret, 32 bytes.", "HS256")
    assertion = urlencode({"client_assertion_type": ASSERTION_TYPE, "client_assertion": forged})
    forms = {TOKEN_PATH: f"grant_type=client_credentials&{assertion}".encode()}
    form_headers = {name: value for name, value in headers.items() if name != "authorization"}
    headers_for = {TOKEN_PATH: {**form_headers, "content-type": "application/x-www-form-urlencoded"}}
    capsys.readouterr()
    for method, path in ROUTES:
        for _ in range(5):
            response = runtime.request(method, path, headers_for.get(path, headers), forms.get(path, b'{"id": "1"}'))

            # Then each is refused, its function printing at most a refusal and a metric line, 1 KB in all
            assert 400 <= response.status < 500, (path, response.status)
            printed = capsys.readouterr().out
            assert len(printed.splitlines()) <= 2, printed
            assert len(printed.encode()) <= 1024, printed

    # And nothing was written anywhere: the only call a function made was its secret's read, at most twice
    # (at its start, then once more for a credential it did not know; the next no sooner than 10 s later)
    assert {(service, operation) for _, service, operation in calls} == {("secretsmanager", "GetSecretValue")}
    reads = Counter(function for function, _, _ in calls)
    assert reads and max(reads.values()) <= 2, reads
    assert queued(runtime) == 0
