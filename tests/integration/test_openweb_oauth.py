"""OpenWeb OAuth2 client_secret_jwt on the template's stack: token route, Bearer deliveries, refusals."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from cryptography.hazmat.primitives.asymmetric import rsa

from intake_cli.events import http_api_event
from intake_cli.lambdas import LambdaContext
from intake_cli.openweb_client import client_assertion, token_request_body
from intake_cli.samples import SAMPLES_DIR
from intake_cli.template import SamTemplate
from tests import hs256
from tests.helpers import answer_lost, depth, handler_logs, metric_points, put_secret, queue_url, reader, total
from webhook_intake.clients import client
from webhook_intake.replay import REPLAY_TABLE_CONFIG
from webhook_intake.vendors.openweb.access_token import ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, access_token_key
from webhook_intake.vendors.openweb.token_endpoint import ASSERTION_TYPE
from webhook_intake.vendors.openweb.token_handler import TokenSettings, build_handler

if TYPE_CHECKING:
    from collections.abc import Callable

    from intake_cli.runtime import HttpResponse, LocalRuntime

TOKEN_PATH = "/oauth/openweb/token"
DELIVERY_PATH = "/webhooks/openweb"
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
SAMPLE = SAMPLES_DIR / "openweb" / "liked-message.json"
# The new client secret of a rotation (32 bytes or more, as HS256 wants).
NEXT_SECRET = "next-openweb-client-secret-0123456789abcdef0123456789"
OTHER_SECRET = "not-the-openweb-client-secret-0123456789abcdef"


# ---------------------------------------------------------------- OpenWeb's side


def assertion_for(secret: dict[str, Any]) -> str:
    """A correct client assertion, made with the same helper `intake send` uses (PyJWT's signing side)."""
    return client_assertion(secret["client_id"], secret["client_secret"], secret["audience"], time.time())


def crafted(secret: dict[str, Any], key: str | None = None, algorithm: str = "HS256", **claims: Any) -> str:
    """An assertion with chosen claims (``None`` leaves one out), signed with PyJWT as asked."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": secret["client_id"],
        "sub": secret["client_id"],
        "aud": secret["audience"],
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key or secret["client_secret"], algorithm=algorithm)


def segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """An ``alg: none`` JWT, written by hand: PyJWT will not make one."""
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}."


def rs256(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")


def our_access_token(secret: dict[str, Any], **claims: Any) -> str:
    """An access token made exactly the way the token route makes one, with chosen claims."""
    now = int(time.time())
    payload = {
        "iss": ACCESS_TOKEN_ISSUER,
        "aud": ACCESS_TOKEN_AUDIENCE,
        "sub": secret["client_id"],
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, access_token_key(secret["client_secret"]), algorithm="HS256")


# ---------------------------------------------------------------- helpers


def openweb(secrets: dict[str, Any]) -> dict[str, Any]:
    return dict(secrets["openweb"])


def ask_token(runtime: LocalRuntime, body: bytes, headers: dict[str, str] | None = None) -> HttpResponse:
    return runtime.request("POST", TOKEN_PATH, FORM if headers is None else headers, body)


def access_token(runtime: LocalRuntime, assertion: str) -> str:
    response = ask_token(runtime, token_request_body(assertion))
    assert response.status == 200, response.body
    return str(response.json()["access_token"])


def deliver(runtime: LocalRuntime, token: str) -> HttpResponse:
    return runtime.request("POST", DELIVERY_PATH, {"authorization": f"Bearer {token}", **JSON}, SAMPLE.read_bytes())


def assert_no_store(response: HttpResponse) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def assert_refused(response: HttpResponse, status: int, error: str) -> None:
    assert response.status == status, response.body
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "access_token" not in body
    assert_no_store(response)


# ---------------------------------------------------------------- the client flow


class TestClientFlow:
    def test_an_assertion_buys_a_token_that_delivers_an_event_into_dynamodb(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        # Given an assertion signed on OpenWeb's side with the client secret, and OpenWeb's extra_grants
        secret = openweb(secrets)
        body = token_request_body(assertion_for(secret), client_id=secret["client_id"], scope="s", realm="r")

        # When OpenWeb asks the token route for an access token
        response = ask_token(runtime, body)

        # Then it gets a Bearer token that lives well over 300 s, in a response nobody caches
        assert response.status == 200, response.body
        token = response.json()
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 3600
        assert_no_store(response)

        # When it delivers an event with that token
        delivered = deliver(runtime, token["access_token"])

        # Then the delivery is accepted and, once the consumer ran, the event is stored
        assert delivered.status == 200, delivered.body
        runtime.drain()
        event_id = json.loads(SAMPLE.read_text())["event_id"]
        stored = reader(runtime).get("openweb", event_id)
        assert stored is not None
        assert stored["event_type"] == "comment.liked"

    def test_the_token_url_is_an_accepted_audience_too(self, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
        # Given an assertion whose aud is the route's own URL (the OpenWebTokenUrl output) instead of the
        # configured audience
        token_url = f"https://local.execute-api.{runtime.stack.region}.amazonaws.com{TOKEN_PATH}"

        # When it is exchanged, then it is accepted
        response = ask_token(runtime, token_request_body(crafted(openweb(secrets), aud=token_url)))
        assert response.status == 200, response.body

    def test_an_assertion_without_iat_buys_a_token(self, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
        # Given an assertion with RFC 7523 §3's required claims and a jti, but no iat
        assertion = crafted(openweb(secrets), iat=None)

        # When it is exchanged, then it buys a token that delivers
        response = ask_token(runtime, token_request_body(assertion))
        assert response.status == 200, response.body
        assert deliver(runtime, response.json()["access_token"]).status == 200

    def test_a_second_client_secret_signs_valid_assertions_during_a_rotation(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        # Given a secret listing two client secrets
        secret = openweb(secrets)
        put_secret(runtime, "OpenWebSecret", {**secret, "client_secret": [secret["client_secret"], NEXT_SECRET]})

        # When OpenWeb signs with the second one
        response = ask_token(runtime, token_request_body(crafted(secret, key=NEXT_SECRET)))

        # Then the assertion is accepted and its token delivers
        assert response.status == 200, response.body
        assert deliver(runtime, response.json()["access_token"]).status == 200

    def test_the_shared_header_token_still_authenticates(self, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
        headers = {"x-openweb-notification-event-webhook-token": secrets["openweb"]["tokens"][0], **JSON}
        assert runtime.request("POST", DELIVERY_PATH, headers, SAMPLE.read_bytes()).status == 200


# ---------------------------------------------------------------- refused assertions


def bad_assertions(secret: dict[str, Any]) -> dict[str, Callable[[], str]]:
    """One assertion per way of being wrong (all else correct)."""
    now = int(time.time())
    claims = {
        "iss": secret["client_id"],
        "sub": secret["client_id"],
        "aud": secret["audience"],
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    return {
        "wrong secret": lambda: crafted(secret, key=OTHER_SECRET),
        "alg none": lambda: unsigned(claims),
        "alg RS256": lambda: rs256(claims),
        "alg HS512": lambda: crafted(secret, algorithm="HS512"),
        "wrong iss": lambda: crafted(secret, iss="someone-else"),
        "wrong sub": lambda: crafted(secret, sub="someone-else"),
        "wrong aud": lambda: crafted(secret, aud="https://elsewhere.example/oauth/token"),
        "expired": lambda: crafted(secret, iat=now - 700, exp=now - 100),
        "exp more than 10 minutes away": lambda: crafted(secret, exp=now + 3600),
        "iat in the future": lambda: crafted(secret, iat=now + 300, exp=now + 600),
        "no jti": lambda: crafted(secret, jti=None),
        "empty jti": lambda: crafted(secret, jti=""),
        "no exp": lambda: crafted(secret, exp=None),
        "exp as a string": lambda: crafted(secret, exp=str(now + 600)),
        "an access token instead of an assertion": lambda: our_access_token(secret),
        # Python's json reads these (and so PyJWT does): each once crashed the route with a 500.
        "iat Infinity": lambda: hs256.sign(hs256.with_raw(claims, iat="Infinity"), secret["client_secret"]),
        "exp NaN": lambda: hs256.sign(hs256.with_raw(claims, exp="NaN"), secret["client_secret"]),
        "nbf -Infinity": lambda: hs256.sign(hs256.with_raw(claims, nbf="-Infinity"), secret["client_secret"]),
        "exp 1e400": lambda: hs256.sign(hs256.with_raw(claims, exp="1e400"), secret["client_secret"]),
        "exp 10**400": lambda: hs256.sign(hs256.with_raw(claims, exp="1" + "0" * 400), secret["client_secret"]),
    }


BAD_ASSERTIONS = list(bad_assertions({"client_id": "", "client_secret": "", "audience": ""}))
# Why each is refused (error_description), so that none passes by failing for another reason.
REASONS = {
    "wrong secret": "signature does not verify",
    "alg none": "must be signed with HS256",
    "alg RS256": "must be signed with HS256",
    "alg HS512": "must be signed with HS256",
    "wrong iss": "'iss'",
    "wrong sub": "'sub'",
    "wrong aud": "'aud'",
    "expired": "has expired",
    "exp more than 10 minutes away": "more than 600 s away",
    "iat in the future": "'iat' is in the future",
    "no jti": "lacks the 'jti' claim",
    "empty jti": "'jti' must be",
    "no exp": "lacks the 'exp' claim",
    "exp as a string": "'exp' must be a number",
    "an access token instead of an assertion": "signature does not verify",
    "iat Infinity": "'iat' must be a number",
    "exp NaN": "'exp' must be a number",
    "nbf -Infinity": "'nbf' must be a number",
    "exp 1e400": "'exp' must be a number",
    "exp 10**400": "'exp' must be a number",
}


class TestRefusedAssertions:
    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 case
    @pytest.mark.parametrize("case", BAD_ASSERTIONS)
    def test_a_bad_assertion_is_invalid_client_and_issues_nothing(
        self, shared_runtime: LocalRuntime, secrets: dict[str, Any], case: str
    ) -> None:
        runtime = shared_runtime
        # Given an assertion that is wrong in one way
        assertion = bad_assertions(openweb(secrets))[case]()

        # When it is exchanged
        response = ask_token(runtime, token_request_body(assertion))

        # Then client authentication fails (RFC 7523 §3.2), uncached, with no token
        assert_refused(response, 401, "invalid_client")
        assert REASONS[case] in response.json()["error_description"]

    def test_a_client_that_authenticated_by_header_is_challenged_in_its_scheme(
        self, shared_runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        runtime = shared_runtime
        client = openweb(secrets)
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        # Given client_secret_basic, which this route does not take (RFC 6749 §5.2: a 401 with a challenge)
        response = ask_token(runtime, b"grant_type=client_credentials", {**FORM, "authorization": f"Basic {basic}"})
        assert_refused(response, 401, "invalid_client")
        assert response.headers["www-authenticate"] == 'Basic realm="openweb"'
        # A bare word in the header (a credential, say) is never echoed: the challenge is Basic
        response = ask_token(runtime, b"grant_type=client_credentials", {**FORM, "authorization": "LEAKTEXT-5012"})
        assert response.headers["www-authenticate"] == 'Basic realm="openweb"'
        # A refused assertion, no Authorization header: nothing to challenge
        response = ask_token(runtime, token_request_body(bad_assertions(client)["wrong secret"]()))
        assert_refused(response, 401, "invalid_client")
        assert "www-authenticate" not in response.headers

    def test_a_reused_jti_is_refused_the_second_time(self, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
        # Given an assertion already exchanged once
        body = token_request_body(assertion_for(openweb(secrets)))
        assert ask_token(runtime, body).status == 200

        # When the same assertion comes again
        replayed = ask_token(runtime, body)

        # Then it is refused
        assert_refused(replayed, 401, "invalid_client")
        assert "used before" in replayed.json()["error_description"]

    def test_an_assertion_whose_jti_was_recorded_but_the_answer_lost_gets_its_token(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        body = token_request_body(crafted(openweb(secrets), jti="jti-answer-lost"))
        # When the jti is recorded and DynamoDB's answer is lost (botocore records it again)
        with answer_lost(client("dynamodb", REPLAY_TABLE_CONFIG), "PutItem", b"jti-answer-lost") as lost:
            response = ask_token(runtime, body)

        # Then the assertion buys its token, once: the jti is used
        assert lost == ["PutItem"]
        assert response.status == 200, response.body
        assert_refused(ask_token(runtime, body), 401, "invalid_client")

    @pytest.mark.parametrize(
        "fault",
        [
            ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "PutItem"),
            EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ],
        ids=["throttled", "unreachable"],
    )
    def test_a_replay_table_that_fails_is_a_500_to_retry_and_the_retry_gets_its_token(
        self, runtime: LocalRuntime, secrets: dict[str, Any], fault: Exception
    ) -> None:
        body = token_request_body(crafted(openweb(secrets), jti="jti-table-down"))

        def failing(**_: Any) -> None:
            raise fault

        # When the assertion comes while the table of used ids fails every write
        replay_table = client("dynamodb", REPLAY_TABLE_CONFIG)
        replay_table.meta.events.register_first("before-send.dynamodb", failing)
        try:
            response = ask_token(runtime, body)
        finally:
            replay_table.meta.events.unregister("before-send.dynamodb", failing)

        # Then no token is issued: the answer is a 500 OpenWeb retries, in RFC 6749's shape
        assert response.status == 500, response.body
        assert response.json() == {
            "error": "server_error",
            "error_description": "temporarily unable to check the client assertion; retry later",
        }
        assert_no_store(response)
        # And the retry, once the table is back, gets its token: the failed write recorded nothing
        assert ask_token(runtime, body).status == 200

    def test_a_reused_jti_is_refused_by_another_instance_too(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        # Given an assertion exchanged through the stack's token function
        body = token_request_body(assertion_for(openweb(secrets)))
        assert ask_token(runtime, body).status == 200

        # When a second instance, with nothing in memory from the first, gets the same assertion
        settings = TokenSettings.from_env(runtime.functions["OpenWebTokenFunction"].environment)
        other_instance = build_handler(settings)
        event = http_api_event("POST", TOKEN_PATH, TOKEN_PATH, FORM, body)
        result = other_instance(event, LambdaContext("OpenWebTokenFunction", 256, 10))  # type: ignore[arg-type]

        # Then the shared table of used ids refuses it there too
        assert result["statusCode"] == 401
        assert json.loads(result["body"])["error"] == "invalid_client"

    def test_a_used_jti_is_kept_past_its_assertions_expiry(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        # Given an exchanged assertion with a known jti and exp
        exp = int(time.time()) + 500
        assert ask_token(runtime, token_request_body(crafted(openweb(secrets), jti="jti-kept", exp=exp))).status == 200

        # Then its jti is recorded, and DynamoDB TTL removes it only after the assertion is dead anyway
        item = boto3.client("dynamodb").get_item(
            TableName=runtime.stack.tables["ReplayTable"], Key={"credential": {"S": "openweb:jti:jti-kept"}}
        )["Item"]
        assert int(item["expires_at"]["N"]) > exp

    def test_a_forged_assertion_writes_no_jti(self, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
        assertion = crafted(openweb(secrets), key=OTHER_SECRET, jti="jti-forged")
        assert ask_token(runtime, token_request_body(assertion)).status == 401
        item = boto3.client("dynamodb").get_item(
            TableName=runtime.stack.tables["ReplayTable"], Key={"credential": {"S": "openweb:jti:jti-forged"}}
        )
        assert "Item" not in item

    def test_without_an_oauth_client_configured_every_assertion_is_refused(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        # Given a secret with the shared header token only
        secret = openweb(secrets)
        put_secret(runtime, "OpenWebSecret", {"tokens": secret["tokens"]})

        # When a correctly signed assertion comes, then it fails closed
        assert_refused(ask_token(runtime, token_request_body(assertion_for(secret))), 401, "invalid_client")


# ---------------------------------------------------------------- refused requests


def with_assertion(**fields: str) -> Callable[[str], bytes]:
    return lambda assertion: token_request_body(assertion, **fields)


def raw(body: bytes) -> Callable[[str], bytes]:
    return lambda assertion: body


def as_json(assertion: str) -> bytes:
    fields = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE}
    return json.dumps({**fields, "client_assertion": assertion}).encode()


BAD_REQUESTS: dict[str, tuple[dict[str, str], Callable[[str], bytes], int, str]] = {
    "wrong grant_type": (FORM, with_assertion(grant_type="password"), 400, "unsupported_grant_type"),
    "the jwt-bearer grant": (
        FORM,
        with_assertion(grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer"),
        400,
        "unsupported_grant_type",
    ),
    "wrong client_assertion_type": (
        FORM,
        with_assertion(client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        401,
        "invalid_client",
    ),
    "no client authentication": (FORM, raw(b"grant_type=client_credentials"), 401, "invalid_client"),
    "client_assertion missing": (
        FORM,
        raw(f"grant_type=client_credentials&client_assertion_type={ASSERTION_TYPE}".encode()),
        400,
        "invalid_request",
    ),
    "grant_type missing": (
        FORM,
        lambda a: f"client_assertion_type={ASSERTION_TYPE}&client_assertion={a}".encode(),
        400,
        "invalid_request",
    ),
    "malformed form body": (FORM, raw(b"grant_type=client_credentials&&client_assertion"), 400, "invalid_request"),
    "form body that is not UTF-8": (FORM, raw(b"grant_type=%ff%fe"), 400, "invalid_request"),
    "empty body": (FORM, raw(b""), 400, "invalid_request"),
    "repeated parameter": (
        FORM,
        lambda a: token_request_body(a) + b"&grant_type=client_credentials",
        400,
        "invalid_request",
    ),
    "JSON body instead of a form": (JSON, as_json, 400, "invalid_request"),
    "JSON body labelled as a form": (FORM, as_json, 400, "invalid_request"),
    "no content type": ({}, token_request_body, 400, "invalid_request"),
    "client_id of another client": (FORM, with_assertion(client_id="another-client"), 401, "invalid_client"),
    # RFC 6749 §2.3 and §5.2: one client authentication method a request, else invalid_request
    "client_secret_basic beside the assertion": (
        {**FORM, "authorization": "Basic b3BlbndlYi1jbGllbnQ6c2VjcmV0"},
        token_request_body,
        400,
        "invalid_request",
    ),
    "client_secret beside the assertion": (FORM, with_assertion(client_secret="secret"), 400, "invalid_request"),
}


def test_a_repeated_parameter_is_named_only_when_it_is_the_protocols(runtime: LocalRuntime) -> None:
    # A client assertion sent as a parameter's name (twice) must not come back, nor reach a log
    assertion = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    with handler_logs() as logs:
        response = ask_token(runtime, f"{assertion}=x&{assertion}=x".encode())
    assert (response.status, response.json()["error_description"]) == (400, "a parameter is repeated")
    assert assertion not in logs.getvalue()
    response = ask_token(runtime, b"grant_type=client_credentials&grant_type=client_credentials")
    assert response.json()["error_description"] == "parameter 'grant_type' is repeated"


class TestRefusedRequests:
    @pytest.mark.parametrize("case", list(BAD_REQUESTS))
    def test_a_bad_token_request_gets_its_rfc_6749_error(
        self, shared_runtime: LocalRuntime, secrets: dict[str, Any], case: str
    ) -> None:
        runtime = shared_runtime
        # Given a request that is wrong in one way, around a valid assertion
        headers, body, status, error = BAD_REQUESTS[case]

        # When it reaches the token route
        response = ask_token(runtime, body(assertion_for(openweb(secrets))), headers)

        # Then it gets the RFC 6749 §5.2 error, never cached
        assert_refused(response, status, error)

    def test_a_parameter_sent_without_a_value_is_treated_as_omitted(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        # RFC 6749 §3.2: an empty parameter is omitted, so an empty one beside another is no repeat
        body = token_request_body(assertion_for(openweb(secrets))) + b"&scope=&scope=read&grant_type="
        assert ask_token(runtime, body).status == 200

    def test_a_form_content_type_with_a_charset_is_fine(self, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
        headers = {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}
        assert ask_token(runtime, token_request_body(assertion_for(openweb(secrets))), headers).status == 200


# ---------------------------------------------------------------- Bearer deliveries


def other_tokens(secret: dict[str, Any]) -> dict[str, Callable[[], str]]:
    """Tokens that are not live access tokens of ours, one way each."""
    key = access_token_key(secret["client_secret"])
    now = int(time.time())
    claims = {"iss": ACCESS_TOKEN_ISSUER, "aud": ACCESS_TOKEN_AUDIENCE, "sub": secret["client_id"]}
    return {
        "expired": lambda: our_access_token(secret, iat=now - 4000, exp=now - 400),
        "another audience": lambda: our_access_token(secret, aud="webhook-intake:firstup"),
        "the client assertion itself": lambda: assertion_for(secret),
        "signed with the raw client secret": lambda: jwt.encode(
            {**claims, "iat": now, "exp": now + 600, "jti": "t"}, secret["client_secret"], algorithm="HS256"
        ),
        "signed with another key": lambda: jwt.encode(
            {**claims, "iat": now, "exp": now + 600, "jti": "t"}, access_token_key(OTHER_SECRET), algorithm="HS256"
        ),
        "another issuer": lambda: our_access_token(secret, iss="someone"),
        "another client": lambda: our_access_token(secret, sub="another-client"),
        "HS512": lambda: jwt.encode({**claims, "iat": now, "exp": now + 600, "jti": "t"}, key, algorithm="HS512"),
        "alg none": lambda: unsigned({**claims, "iat": now, "exp": now + 600, "jti": "t"}),
        "not a JWT": lambda: "not-a-jwt",
        "exp Infinity": lambda: hs256.sign(hs256.with_raw({**claims, "iat": now, "jti": "t"}, exp="Infinity"), key),
        "exp NaN": lambda: hs256.sign(hs256.with_raw({**claims, "iat": now, "jti": "t"}, exp="NaN"), key),
        "exp 1e400": lambda: hs256.sign(hs256.with_raw({**claims, "iat": now, "jti": "t"}, exp="1e400"), key),
        "exp 10**400": lambda: our_access_token(secret, exp=10**400),
        "meant to live two days": lambda: our_access_token(secret, exp=now + 2 * 86_400),
    }


OTHER_TOKENS = list(other_tokens({"client_id": "", "client_secret": ""}))


class TestBearerDeliveries:
    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 case
    @pytest.mark.parametrize("case", OTHER_TOKENS)
    def test_a_token_that_is_not_a_live_one_of_ours_is_401_and_nothing_is_queued(
        self, shared_runtime: LocalRuntime, secrets: dict[str, Any], case: str
    ) -> None:
        runtime = shared_runtime
        # Given a Bearer token that is expired, forged or meant for something else
        token = other_tokens(openweb(secrets))[case]()

        # When OpenWeb delivers with it
        response = deliver(runtime, token)

        # Then it is told to re-authenticate, and nothing reaches the queue
        assert response.status == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="openweb", error="invalid_token"'
        assert depth(runtime, queue_url(runtime, "openweb")) == 0

    def test_a_tampered_access_token_is_401(self, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
        # Given a real access token whose claims were edited (a later exp) without re-signing
        header, payload, signature = access_token(runtime, assertion_for(openweb(secrets))).split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["exp"] += 86_400

        # When it is used, then it is refused
        response = deliver(runtime, f"{header}.{segment(claims)}.{signature}")
        assert response.status == 401
        assert depth(runtime, queue_url(runtime, "openweb")) == 0

    def test_tokens_die_with_their_client_secret_and_openweb_re_authenticates(
        self, runtime: LocalRuntime, secrets: dict[str, Any]
    ) -> None:
        # Given a token issued under the current client secret
        secret = openweb(secrets)
        token = access_token(runtime, assertion_for(secret))

        # When that client secret is replaced by a new one
        put_secret(runtime, "OpenWebSecret", {**secret, "client_secret": NEXT_SECRET})

        # Then the old token gets a 401, and a token bought with the new secret delivers
        assert deliver(runtime, token).status == 401
        assert deliver(runtime, access_token(runtime, crafted(secret, key=NEXT_SECRET))).status == 200


# ---------------------------------------------------------------- what on-call sees


class TestTokenRouteMetrics:
    def alarm_watches(self, dimensions: dict[str, str], stack_name: str) -> bool:
        """Whether the template's auth-failure alarm counts an AuthFailures metric with these dimensions."""
        (query,) = SamTemplate().resources["AuthFailureBurstAlarm"]["Properties"]["Metrics"]
        expression = query["Expression"]
        text = str(expression["Fn::Sub"] if isinstance(expression, dict) else expression)
        schema = text.partition("SCHEMA(")[2].partition(")")[0].split(", ")[1:]
        wanted_service = text.partition("WHERE service = '")[2].rstrip("'").replace("${AWS::StackName}", stack_name)
        return sorted(dimensions) == sorted(schema) and dimensions.get("service") == wanted_service

    def test_probing_the_token_route_counts_auth_failures_the_alarm_watches(
        self, runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Given the stack's token route and a valid assertion, already exchanged once
        secret = openweb(secrets)
        used = token_request_body(assertion_for(secret))
        assert ask_token(runtime, used).status == 200
        capsys.readouterr()

        # When someone probes it: a forged assertion, a replay, an assertion that is no JWT
        for body in (token_request_body(crafted(secret, key=OTHER_SECRET)), used, token_request_body("x.y.z")):
            assert ask_token(runtime, body).status == 401

        # Then each is one AuthFailures, with exactly the dimensions the auth-failure alarm watches
        points = metric_points(capsys.readouterr().out)
        failures = [dims for name, dims, _ in points if name == "AuthFailures"]
        assert failures == [{"vendor": "openweb", "service": runtime.stack.name}] * 3
        assert self.alarm_watches(failures[0], runtime.stack.name)
        assert total(points, "AccessTokensIssued") == 0

    def test_a_malformed_request_counts_a_rejection_with_its_reason(
        self, runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        assert ask_token(runtime, b"grant_type=client_credentials&&x", FORM).status == 400
        assert ask_token(runtime, token_request_body("a.b.c", grant_type="password")).status == 400
        points = metric_points(capsys.readouterr().out)
        assert total(points, "DeliveriesRejected", vendor="openweb", reason="invalid_request") == 1
        assert total(points, "DeliveriesRejected", vendor="openweb", reason="unsupported_grant_type") == 1
        assert total(points, "AuthFailures") == 0

    def test_an_event_whose_body_cannot_be_read_is_a_counted_rejection_too(
        self, runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Given an event whose body is marked base64 but is not
        event = {**http_api_event("POST", TOKEN_PATH, TOKEN_PATH, FORM, b"x"), "body": "%%%", "isBase64Encoded": True}
        capsys.readouterr()

        # When the token function gets it
        result = runtime.functions["OpenWebTokenFunction"].invoke(event)

        # Then it is an RFC 6749 invalid_request, counted like any malformed request
        assert (result["statusCode"], json.loads(result["body"])["error"]) == (400, "invalid_request")
        points = metric_points(capsys.readouterr().out)
        assert total(points, "DeliveriesRejected", vendor="openweb", reason="invalid_request") == 1

    def test_an_issued_token_is_counted(
        self, runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        assert ask_token(runtime, token_request_body(assertion_for(openweb(secrets)))).status == 200
        points = metric_points(capsys.readouterr().out)
        # (beside the function's cold start: the token function's first invocation in this stack)
        assert [(name, dims) for name, dims, _ in points if name != "ColdStart"] == [
            ("AccessTokensIssued", {"vendor": "openweb", "service": runtime.stack.name})
        ]


# ---------------------------------------------------------------- the template


class TestTheTemplate:
    """The token route's resources, as template.yaml declares them (the stack above is built from it)."""

    template = SamTemplate()
    pseudo: ClassVar[dict[str, str]] = {"AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com"}

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.template.resources[logical_id]["Properties"])

    def test_the_token_function_serves_the_route_with_the_openweb_secret_and_the_replay_table(self) -> None:
        (function,) = [spec for spec in self.template.functions() if spec.logical_id == "OpenWebTokenFunction"]
        assert [route.route_key for route in function.routes] == [f"POST {TOKEN_PATH}"]
        assert function.environment["SECRET_ID"] == {"Ref": "OpenWebSecret"}
        assert function.environment["REPLAY_TABLE_NAME"] == {"Ref": "ReplayTable"}
        assert function.environment["ACCESS_TOKEN_TTL_SECONDS"] == {"Ref": "AccessTokenTtlSeconds"}
        refs = {**self.pseudo, "OpenWebSecret": "secret-arn", "ReplayTable": "table", "HttpApi": "api"}
        own = self.props("OpenWebTokenFunction")["Environment"]["Variables"]
        environment = {name: str(self.template.value(value, refs)) for name, value in own.items()}
        settings = TokenSettings.from_env(environment)
        assert settings.access_token_ttl == 3600
        # Nothing of the API in its environment: the API depends on the function (its route's target)
        assert not [value for value in own.values() if "HttpApi" in json.dumps(value)]

    def test_the_token_function_may_read_its_secret_and_only_put_items_in_its_table(self) -> None:
        policies = self.props("OpenWebTokenFunction")["Policies"]
        assert {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "OpenWebSecret"}}} in policies
        statements = [statement for policy in policies if "Statement" in policy for statement in policy["Statement"]]
        assert statements == [
            {
                "Effect": "Allow",
                "Action": "dynamodb:PutItem",
                "Resource": {"Fn::GetAtt": ["ReplayTable", "Arn"]},
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["openweb:jti:*"]}},
            }
        ]

    def test_the_replay_table_is_keyed_by_credential_expires_by_ttl_and_is_encrypted(self) -> None:
        table = self.props("ReplayTable")
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["KeySchema"] == [{"AttributeName": "credential", "KeyType": "HASH"}]
        assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert table["SSESpecification"] == {"SSEEnabled": True}

    def test_expires_in_can_only_be_set_above_300_seconds(self) -> None:
        parameter = self.template.document["Parameters"]["AccessTokenTtlSeconds"]
        assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (3600, 301, 86400)

    def test_the_token_url_is_an_output(self) -> None:
        output = self.template.document["Outputs"]["OpenWebTokenUrl"]["Value"]
        assert self.template.value(output, {**self.pseudo, "HttpApi": "abc"}) == (
            f"https://abc.execute-api.us-east-1.amazonaws.com{TOKEN_PATH}"
        )
