"""OpenWeb OAuth2 verification logic with a fixed clock: no AWS, no sockets."""

from __future__ import annotations

import ast
import io
import json
import logging
import math
import subprocess
import sys
import uuid
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any, ClassVar

import botocore.endpoint
import jwt
import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ReadTimeoutError
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_cli.openweb_client import token_request_body
from tests import hs256
from tests.helpers import metric_points, total
from webhook_intake import secrets as secrets_module
from webhook_intake.http import Request
from webhook_intake.ingest.settings import SettingsError
from webhook_intake.observability import vendor_metrics
from webhook_intake.replay import REPLAY_TABLE_CONFIG, Claim, ReplayedError, ReplayStoreError, UsedCredentials
from webhook_intake.secrets import SECRETS_CONFIG, SecretStore, SecretUnavailableError
from webhook_intake.vendors.openweb.access_token import (
    ACCESS_TOKEN_AUDIENCE,
    MAX_ACCESS_TOKEN_TTL,
    InvalidAccessTokenError,
    OAuthClient,
    access_token_key,
    access_token_valid,
    verify_access_token,
)
from webhook_intake.vendors.openweb.contract import CONTRACT
from webhook_intake.vendors.openweb.jwt_checks import CLOCK_SKEW
from webhook_intake.vendors.openweb.token_endpoint import (
    ASSERTION_TYPE,
    InvalidClientError,
    InvalidRequestError,
    TokenRequest,
    UnsupportedGrantTypeError,
    issue_access_token,
    parse_token_request,
    verify_assertion,
)
from webhook_intake.vendors.openweb.token_handler import TokenSettings
from webhook_intake.vendors.openweb.token_service import TokenService

pytestmark = pytest.mark.usefixtures("no_network")

NOW = 1_790_000_000.0
CLIENT_ID = "openweb-client"
CURRENT = "current-client-secret-0123456789abcdef0123456789abcdef"
PREVIOUS = "previous-client-secret-0123456789abcdef0123456789abcdef"
AUDIENCE = "webhook-intake-test"
TOKEN_URL = "https://api.example.com/oauth/openweb/token"
SECRET = {"tokens": ["header-token"], "client_id": CLIENT_ID, "client_secret": CURRENT, "audience": AUDIENCE}
CLIENT = OAuthClient(CLIENT_ID, (CURRENT,), (AUDIENCE,))
FORM = "application/x-www-form-urlencoded"

# Whatever JSON may hold, numbers first and at their most hostile.
hostile_numbers = (
    st.sampled_from([math.inf, -math.inf, math.nan])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
)
claim_values = hostile_numbers | st.recursive(
    st.none() | st.booleans() | hostile_numbers | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


def token_request(assertion: str, client_id: str | None = None) -> TokenRequest:
    return TokenRequest("client_credentials", ASSERTION_TYPE, assertion, client_id)


def assertion(key: str = CURRENT, now: float = NOW, **claims: Any) -> str:
    payload = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": AUDIENCE,
        "iat": int(now),
        "exp": int(now) + 600,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm="HS256")


def verify(token: str, client: OAuthClient = CLIENT, now: float = NOW, client_id: str | None = None) -> Any:
    return verify_assertion(token_request(token, client_id), client, TOKEN_URL, now)


def refusal(token: str, now: float = NOW, client: OAuthClient = CLIENT) -> str:
    with pytest.raises(InvalidClientError) as refused:
        verify(token, client, now)
    assert refused.value.status == 401
    assert refused.value.error == "invalid_client"
    return refused.value.description


# Known answers, computed once outside the code under test (hand-written HMAC, checked with
# `openssl dgst -sha256 -hmac`): an assertion signed with CURRENT, and an access token signed
# with HMAC-SHA256(CURRENT, "webhook-intake access token v1").
KNOWN_ASSERTION = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJpc3MiOiJvcGVud2ViLWNsaWVudCIsInN1YiI6Im9wZW53ZWItY2xpZW50IiwiYXVkIjoid2ViaG9vay1pbnRha2UtdGVzdCIsImlhdCI6MT"
    "c5MDAwMDAwMCwiZXhwIjoxNzkwMDAwNjAwLCJqdGkiOiJrbm93bi1hbnN3ZXItMSJ9"
    ".ZmqIeT8wCHXDYu0IC_wrkjnTsOT13ZSTVCdRKWIWoU4"
)
KNOWN_ACCESS_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJpc3MiOiJ3ZWJob29rLWludGFrZSIsImF1ZCI6IndlYmhvb2staW50YWtlOm9wZW53ZWIiLCJzdWIiOiJvcGVud2ViLWNsaWVudCIsImlhdC"
    "I6MTc5MDAwMDAwMCwiZXhwIjoxNzkwMDAzNjAwLCJqdGkiOiJrbm93bi1hbnN3ZXItMiJ9"
    ".LpMwELZpGy0nw9qRzbAIaF7faA8SICbV8lJsD3vFUB4"
)
ASSERTION_CLAIMS = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": AUDIENCE, "iat": int(NOW), "exp": int(NOW) + 600}
ACCESS_TOKEN_CLAIMS = {
    "iss": "webhook-intake",
    "aud": "webhook-intake:openweb",
    "sub": CLIENT_ID,
    "iat": int(NOW),
    "exp": int(NOW) + 3600,
    "jti": "t",
}


class TestKnownAnswers:
    def test_a_known_good_assertion_is_accepted(self) -> None:
        verified = verify(KNOWN_ASSERTION)
        assert (verified.client_id, verified.jti, verified.expires_at) == (CLIENT_ID, "known-answer-1", 1_790_000_600)

    def test_the_known_assertion_with_one_bit_of_its_signature_changed_is_refused(self) -> None:
        head, _, signature = KNOWN_ASSERTION.rpartition(".")
        flipped = hs256.b64url(bytes([hs256.b64url_decode(signature)[0] ^ 1]) + hs256.b64url_decode(signature)[1:])
        assert "does not verify" in refusal(f"{head}.{flipped}")

    def test_a_known_good_access_token_is_accepted(self) -> None:
        claims = verify_access_token(KNOWN_ACCESS_TOKEN, CLIENT, NOW)
        assert (claims["sub"], claims["jti"], claims["exp"]) == (CLIENT_ID, "known-answer-2", 1_790_003_600)
        assert access_token_valid(KNOWN_ACCESS_TOKEN, SECRET, NOW)

    def test_an_issued_token_is_hs256_under_the_documented_derived_key(self) -> None:
        token = issue_access_token(CLIENT, NOW + 0.9, ttl=900)
        header, claims = hs256.read(token.access_token, hs256.access_token_key(CURRENT))
        assert header["alg"] == "HS256"
        assert claims == {
            "iss": "webhook-intake",
            "aud": "webhook-intake:openweb",
            "sub": CLIENT_ID,
            "iat": int(NOW),
            "exp": int(NOW) + 900,
            "jti": token.token_id,
        }

    def test_fractional_seconds_are_numeric_dates_too(self) -> None:
        token = hs256.sign({**ASSERTION_CLAIMS, "iat": NOW - 0.5, "exp": NOW + 599.5, "jti": "f"}, CURRENT)
        # kept in whole seconds, never before the moment it expires (the jti item outlives it)
        assert verify(token).expires_at == int(NOW) + 600

    def test_a_fraction_of_a_second_left_is_not_expired(self) -> None:
        token = hs256.sign({**ASSERTION_CLAIMS, "exp": NOW + 0.5, "jti": "half"}, CURRENT)
        assert verify(token).expires_at == int(NOW) + 1
        # and half a second over the longest lifetime is over it
        too_far = hs256.sign({**ASSERTION_CLAIMS, "exp": NOW + 660.5, "jti": "far"}, CURRENT)
        assert refusal(too_far) == "client assertion 'exp' is more than 600 s away"


class TestTimesThatAreNoNumbers:
    """Python's json (PyJWT's reader) takes Infinity, NaN and 1e400; none of them may crash or pass."""

    @pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
    @pytest.mark.parametrize("raw", hs256.NOT_A_TIME)
    def test_in_an_assertion_it_is_invalid_client(self, claim: str, raw: str) -> None:
        token = hs256.sign(hs256.with_raw({**ASSERTION_CLAIMS, "jti": "j"}, **{claim: raw}), CURRENT)
        assert refusal(token) == f"client assertion '{claim}' must be a number of seconds since the epoch"

    @pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
    @pytest.mark.parametrize("raw", hs256.NOT_A_TIME)
    def test_in_a_bearer_token_it_is_a_refusal(self, claim: str, raw: str) -> None:
        token = hs256.sign(hs256.with_raw(ACCESS_TOKEN_CLAIMS, **{claim: raw}), hs256.access_token_key(CURRENT))
        with pytest.raises(InvalidAccessTokenError, match=f"'{claim}' must be a number of seconds since the epoch"):
            verify_access_token(token, CLIENT, NOW)
        delivery = Request("POST", "/webhooks/openweb", "", {"authorization": f"Bearer {token}"}, b"{}", {}, "r", 0)
        assert not CONTRACT.authenticate(delivery, SECRET, NOW)

    def test_at_the_token_route_it_is_a_401_not_a_500(self) -> None:
        token = hs256.sign(hs256.with_raw({**ASSERTION_CLAIMS, "jti": "j"}, exp="NaN"), CURRENT)
        used = FakeUsedAssertions()
        response = token_service(FakeSecrets([SECRET]), used).handle(post(token_request_body(token)))
        assert (response.status, response.body) == (
            401,
            {
                "error": "invalid_client",
                "error_description": "client assertion 'exp' must be a number of seconds since the epoch",
            },
        )
        assert used.used == {}

    @settings(max_examples=300, deadline=None)
    @given(claim=st.sampled_from(["exp", "iat", "nbf"]), value=claim_values)
    def test_whatever_a_signed_token_holds_it_is_refused_or_passes_and_only_a_real_number_passes(
        self, claim: str, value: Any
    ) -> None:
        # Given correctly signed tokens whose time claim is any JSON value
        assertion_token = hs256.sign({**ASSERTION_CLAIMS, "jti": "j", claim: value}, CURRENT)
        bearer = hs256.sign({**ACCESS_TOKEN_CLAIMS, claim: value}, hs256.access_token_key(CURRENT))

        # When they are checked, then nothing but a refusal is raised
        try:
            verify(assertion_token)
            assertion_passed = True
        except InvalidClientError:
            assertion_passed = False
        bearer_passed = access_token_valid(bearer, SECRET, NOW)

        # ...and a pass means the claim was a finite, non-boolean JSON number
        finite = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value)
        )
        assert finite or not (assertion_passed or bearer_passed)


class TestAccessTokenLifetime:
    def test_a_bearer_token_meant_to_outlive_the_longest_ttl_is_refused(self) -> None:
        key = hs256.access_token_key(CURRENT)
        longest = int(NOW) + MAX_ACCESS_TOKEN_TTL + CLOCK_SKEW
        assert access_token_valid(hs256.sign({**ACCESS_TOKEN_CLAIMS, "exp": longest}, key), SECRET, NOW)
        too_long = hs256.sign({**ACCESS_TOKEN_CLAIMS, "exp": longest + 1}, key)
        with pytest.raises(InvalidAccessTokenError, match="more than 86400 s away"):
            verify_access_token(too_long, CLIENT, NOW)


class TestTheTimeWindow:
    def test_an_assertion_is_good_until_its_exp_and_not_at_it(self) -> None:
        token = assertion(exp=int(NOW) + 10)
        assert verify(token, now=NOW + 9).jti
        assert refusal(token, now=NOW + 10) == "client assertion has expired"

    def test_exp_may_be_up_to_ten_minutes_away_plus_the_skew(self) -> None:
        assert verify(assertion(exp=int(NOW) + 600 + CLOCK_SKEW))
        assert "more than 600 s away" in refusal(assertion(exp=int(NOW) + 600 + CLOCK_SKEW + 1))

    def test_iat_may_run_ahead_by_the_skew_only(self) -> None:
        assert verify(assertion(iat=int(NOW) + CLOCK_SKEW))
        assert "'iat' is in the future" in refusal(assertion(iat=int(NOW) + CLOCK_SKEW + 1))

    def test_iat_may_be_left_out_as_rfc_7523_allows(self) -> None:
        # Given an assertion with iss, sub, aud, exp and jti only, signed by hand
        claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": AUDIENCE, "exp": int(NOW) + 600, "jti": "no-iat"}
        token = hs256.sign(claims, CURRENT)

        # When it is verified, then it is accepted; its exp still bounds its life
        assert verify(token).jti == "no-iat"
        assert "more than 600 s away" in refusal(hs256.sign({**claims, "exp": int(NOW) + 3600}, CURRENT))

    def test_an_iat_that_is_there_is_checked(self) -> None:
        claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": AUDIENCE, "exp": int(NOW) + 600, "jti": "j"}
        assert refusal(hs256.sign(hs256.with_raw(claims, iat="null"), CURRENT)) == (
            "client assertion 'iat' must be a number of seconds since the epoch"
        )
        assert refusal(hs256.sign({**claims, "iat": int(NOW) + CLOCK_SKEW + 1}, CURRENT)) == (
            "client assertion 'iat' is in the future"
        )

    def test_nbf_is_honoured_when_present(self) -> None:
        assert "not valid yet" in refusal(assertion(nbf=int(NOW) + 120))

    @pytest.mark.parametrize("claim", ["exp", "iat"])
    @pytest.mark.parametrize("value", [str(int(NOW) + 60), True])
    def test_times_must_be_json_numbers(self, claim: str, value: Any) -> None:
        wrong: dict[str, Any] = {claim: value}
        assert "must be a number" in refusal(assertion(**wrong))


class TestTheClaims:
    @pytest.mark.parametrize(
        ("claims", "reason"),
        [
            ({"iss": "other"}, "'iss' is not the expected issuer"),
            ({"sub": "other"}, "'sub' is not the client id"),
            ({"aud": "other"}, "'aud' is not an accepted audience"),
            ({"aud": ["other", "another"]}, "'aud' is not an accepted audience"),
            ({"jti": None}, "lacks the 'jti' claim"),
            ({"jti": ""}, "'jti' must be 1 to 256 characters"),
            ({"jti": "x" * 257}, "'jti' must be 1 to 256 characters"),
            ({"jti": 7}, "is not valid"),
            # A JSON escape of a lone surrogate: no replay table can key on it.
            ({"jti": "j-\ud800"}, "'jti' must be valid Unicode text"),
            ({"iss": None}, "lacks the 'iss' claim"),
            ({"aud": None}, "lacks the 'aud' claim"),
            ({"exp": None}, "lacks the 'exp' claim"),
            ({"sub": None}, "lacks the 'sub' claim"),
        ],
    )
    def test_a_wrong_or_missing_claim_is_invalid_client(self, claims: dict[str, Any], reason: str) -> None:
        assert reason in refusal(assertion(**claims))

    @pytest.mark.parametrize("audience", [AUDIENCE, TOKEN_URL, [TOKEN_URL, "something-else"]])
    def test_the_audience_is_the_configured_one_or_the_token_url(self, audience: Any) -> None:
        assert verify(assertion(aud=audience))

    def test_with_no_configured_audience_the_token_url_still_is_one(self) -> None:
        client = OAuthClient(CLIENT_ID, (CURRENT,), ())
        assert verify(assertion(aud=TOKEN_URL), client)
        assert "'aud'" in refusal(assertion(aud=AUDIENCE), client=client)

    def test_a_client_id_parameter_must_name_the_client(self) -> None:
        assert verify(assertion(), client_id=CLIENT_ID)
        with pytest.raises(InvalidClientError, match="client_id does not match"):
            verify(assertion(), client_id="someone-else")


class TestSignatures:
    def test_every_configured_client_secret_verifies_during_a_rotation(self) -> None:
        client = OAuthClient(CLIENT_ID, (CURRENT, PREVIOUS), (AUDIENCE,))
        assert verify(assertion(key=CURRENT), client)
        assert verify(assertion(key=PREVIOUS), client)
        assert "does not verify" in refusal(assertion(key="x" * 40), client=client)

    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
    @pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
    def test_only_hs256_is_accepted(self, algorithm: str) -> None:
        token = jwt.encode({"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": AUDIENCE}, CURRENT, algorithm=algorithm)
        assert refusal(token) == "client assertion must be signed with HS256"

    def test_an_unsigned_token_is_refused_before_anything_else(self) -> None:
        header, payload, _ = assertion().split(".")
        none_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
        assert refusal(f"{none_header}.{payload}.") == "client assertion must be signed with HS256"
        assert refusal(f"{header}.{payload}.") == "client assertion signature does not verify with the client secret"

    @pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "e30.e30.e30"])
    def test_garbage_is_refused(self, token: str) -> None:
        assert refusal(token)


class TestTheSecret:
    def test_the_secret_layout_client_id_client_secret_audience(self) -> None:
        client = OAuthClient.from_secret({**SECRET, "client_secret": [CURRENT, PREVIOUS]})
        assert client == OAuthClient(CLIENT_ID, (CURRENT, PREVIOUS), (AUDIENCE,))

    @pytest.mark.parametrize(
        "secret",
        [
            {"tokens": ["t"]},
            {"client_id": CLIENT_ID},
            {"client_id": CLIENT_ID, "client_secret": ""},
            {"client_id": CLIENT_ID, "client_secret": []},
            {"client_id": "", "client_secret": CURRENT},
            {"client_id": ["a"], "client_secret": CURRENT},
        ],
    )
    def test_an_incomplete_oauth_client_is_none_and_fails_closed(self, secret: dict[str, Any]) -> None:
        assert OAuthClient.from_secret(secret) is None
        token = issue_access_token(CLIENT, NOW).access_token
        assert not access_token_valid(token, secret, NOW)


class TestAccessTokens:
    def test_an_issued_token_verifies_until_it_expires(self) -> None:
        token = issue_access_token(CLIENT, NOW, ttl=3600)
        assert token.to_json() == {"access_token": token.access_token, "token_type": "Bearer", "expires_in": 3600}
        claims = verify_access_token(token.access_token, CLIENT, NOW + 3599)
        assert claims["aud"] == ACCESS_TOKEN_AUDIENCE
        assert claims["sub"] == CLIENT_ID
        assert claims["jti"] == token.token_id
        with pytest.raises(InvalidAccessTokenError, match="expired"):
            verify_access_token(token.access_token, CLIENT, NOW + 3600)

    def test_its_key_is_derived_not_the_client_secret(self) -> None:
        token = issue_access_token(CLIENT, NOW).access_token
        options = {"verify_exp": False}  # NOW is a fixed past moment
        jwt.decode(token, access_token_key(CURRENT), ["HS256"], options, audience=ACCESS_TOKEN_AUDIENCE)  # type: ignore[arg-type]
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, CURRENT, ["HS256"], options, audience=ACCESS_TOKEN_AUDIENCE)  # type: ignore[arg-type]
        # ...so the token is no client assertion, and an assertion is no access token.
        assert "does not verify" in refusal(token)
        assert not access_token_valid(assertion(), SECRET, NOW)

    def test_the_current_secret_signs_and_every_listed_one_verifies(self) -> None:
        issued_before_rotation = issue_access_token(OAuthClient(CLIENT_ID, (PREVIOUS,), ()), NOW).access_token
        rotating = {**SECRET, "client_secret": [CURRENT, PREVIOUS]}
        assert access_token_valid(issued_before_rotation, rotating, NOW)
        assert not access_token_valid(issued_before_rotation, SECRET, NOW)
        issued_during = issue_access_token(OAuthClient.from_secret(rotating), NOW).access_token  # type: ignore[arg-type]
        assert access_token_valid(issued_during, SECRET, NOW)

    @pytest.mark.parametrize(
        ("claims", "key", "reason"),
        [
            ({"exp": int(NOW)}, None, "access token has expired"),
            ({"aud": "webhook-intake:firstup"}, None, "'aud' is not an accepted audience"),
            ({"iss": "someone"}, None, "'iss' is not the expected issuer"),
            ({"sub": "someone"}, None, "'sub' is not the client id"),
            ({"jti": None}, None, "lacks the 'jti' claim"),
            ({"iat": None}, None, "lacks the 'iat' claim"),
            ({}, CURRENT.encode(), "signature does not verify"),
        ],
    )
    def test_why_a_bearer_token_is_refused(self, claims: dict[str, Any], key: bytes | None, reason: str) -> None:
        payload = {
            "iss": "webhook-intake",
            "aud": ACCESS_TOKEN_AUDIENCE,
            "sub": CLIENT_ID,
            "iat": int(NOW) - 60,
            "exp": int(NOW) + 600,
            "jti": "t",
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        token = jwt.encode(payload, key or access_token_key(CURRENT), algorithm="HS256")
        with pytest.raises(InvalidAccessTokenError, match=reason):
            verify_access_token(token, CLIENT, NOW)

    def test_a_token_for_another_client_id_is_refused(self) -> None:
        token = issue_access_token(OAuthClient("someone-else", (CURRENT,), ()), NOW).access_token
        assert not access_token_valid(token, SECRET, NOW)


class TestParsingTheRequest:
    @pytest.mark.parametrize(
        ("content_type", "body", "error"),
        [
            ("application/json", b'{"grant_type":"client_credentials"}', InvalidRequestError),
            (None, b"grant_type=client_credentials", InvalidRequestError),
            (FORM, b"grant_type", InvalidRequestError),
            (FORM, b"=x&grant_type=client_credentials", InvalidRequestError),
            (FORM, b"grant_type=%ff", InvalidRequestError),
            (FORM, b"\xff\xfe", InvalidRequestError),
            (FORM, b"a=" + b"x" * 20_000, InvalidRequestError),
            (FORM, b"&".join(b"f%d=1" % n for n in range(40)), InvalidRequestError),
            (FORM, b"grant_type=client_credentials&grant_type=client_credentials", InvalidRequestError),
            (FORM, b"grant_type=refresh_token", UnsupportedGrantTypeError),
            (FORM, b"grant_type=client_credentials", InvalidClientError),
            (FORM, b"grant_type=client_credentials&client_assertion=a.b.c", InvalidRequestError),
            (FORM, b"grant_type=client_credentials&client_assertion_type=x&client_assertion=a", InvalidClientError),
        ],
    )
    def test_what_is_refused_and_how(self, content_type: str | None, body: bytes, error: type[Exception]) -> None:
        with pytest.raises(error):
            parse_token_request(content_type, body)

    def test_extra_fields_and_a_charset_are_fine(self) -> None:
        body = token_request_body("a.b.c", client_id=CLIENT_ID, scope="PARTNER_SCOPE", realm="PARTNER_REALM")
        parsed = parse_token_request("Application/X-WWW-Form-Urlencoded; charset=utf-8", body)
        assert parsed.client_assertion == "a.b.c"


# ---------------------------------------------------------------- the token service, with fakes


@dataclass
class FakeSecrets:
    values: list[dict[str, Any]]
    unavailable: bool = False

    def get(self, force: bool = False) -> dict[str, Any]:
        if self.unavailable:
            raise SecretUnavailableError("cannot read secret")
        return self.values[0]

    def refresh(self) -> dict[str, Any] | None:
        if len(self.values) > 1:
            self.values.pop(0)
        return self.values[0]


@dataclass
class FakeUsedAssertions:
    fail: bool = False
    used: dict[str, int] = field(default_factory=dict)

    def record(self, claim: Claim, now: float, within: Any = None) -> None:
        if self.fail:
            raise ReplayStoreError("put_item failed: ProvisionedThroughputExceededException")
        if claim.key in self.used:
            raise ReplayedError("used")
        self.used[claim.key] = claim.expires_at


def token_service(secrets: FakeSecrets, used: FakeUsedAssertions, log: io.StringIO | None = None) -> TokenService:
    handler = logging.StreamHandler(log or io.StringIO())
    return TokenService(
        secrets=secrets,  # type: ignore[arg-type]
        used_credentials=used,  # type: ignore[arg-type]
        logger=Logger(service=f"oauth-test-{uuid.uuid4().hex}", logger_handler=handler),
        metrics=vendor_metrics("openweb"),
        access_token_ttl=900,
        clock=lambda: NOW,
    )


def post(body: bytes, content_type: str = FORM) -> Request:
    return Request(
        "POST",
        "/oauth/openweb/token",
        "POST /oauth/openweb/token",
        {"content-type": content_type},
        body,
        {},
        "r",
        0,
        domain="api.example.com",
    )


class TestTokenService:
    def test_a_good_request_gets_a_token_and_records_the_jti(self) -> None:
        used = FakeUsedAssertions()
        response = token_service(FakeSecrets([SECRET]), used).handle(post(token_request_body(assertion(jti="j"))))
        assert response.status == 200
        assert response.body is not None
        assert response.body["expires_in"] == 900
        assert response.headers["cache-control"] == "no-store"
        assert used.used == {"openweb:jti:j": int(NOW) + 600}
        assert access_token_valid(response.body["access_token"], SECRET, NOW + 899)

    @pytest.mark.parametrize(
        ("domain", "accepted"), [("api.example.com", True), ("other.example.com", False), ("", False)]
    )
    def test_the_url_the_request_came_to_is_an_accepted_audience(self, domain: str, accepted: bool) -> None:
        # An assertion whose aud is TOKEN_URL, no configured audience in the secret
        no_audience = {key: value for key, value in SECRET.items() if key != "audience"}
        service = token_service(FakeSecrets([no_audience]), FakeUsedAssertions())
        request = replace(post(token_request_body(assertion(aud=TOKEN_URL))), domain=domain)
        assert (service.handle(request).status == 200) is accepted

    def test_a_replay_is_invalid_client(self) -> None:
        service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions())
        body = token_request_body(assertion())
        assert service.handle(post(body)).status == 200
        replayed = service.handle(post(body))
        assert (replayed.status, replayed.body) == (
            401,
            {"error": "invalid_client", "error_description": "client assertion 'jti' was used before"},
        )

    def test_a_client_secret_added_since_the_cache_was_filled_is_found(self) -> None:
        secrets = FakeSecrets([SECRET, {**SECRET, "client_secret": [CURRENT, PREVIOUS]}])
        response = token_service(secrets, FakeUsedAssertions()).handle(post(token_request_body(assertion(PREVIOUS))))
        assert response.status == 200

    @pytest.mark.parametrize("failure", ["secret", "table"])
    def test_an_aws_failure_is_a_500_the_client_may_retry(self, failure: str) -> None:
        secrets = FakeSecrets([SECRET], unavailable=failure == "secret")
        used = FakeUsedAssertions(fail=failure == "table")
        response = token_service(secrets, used).handle(post(token_request_body(assertion())))
        assert response.status == 500
        assert response.body is not None
        assert response.body["error"] == "server_error"
        assert response.headers["cache-control"] == "no-store"

    def test_no_log_line_holds_an_assertion_a_token_or_a_secret(self) -> None:
        log = io.StringIO()
        service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions(), log)
        good, forged = assertion(), assertion(key="forged-secret-0123456789abcdef0123456789")
        issued = service.handle(post(token_request_body(good)))
        service.handle(post(token_request_body(forged)))
        service.handle(post(token_request_body(good)))  # a replay
        assert issued.body is not None
        lines = log.getvalue()
        assert "access token issued" in lines
        assert "token request refused" in lines
        for value in (good, forged, issued.body["access_token"], CURRENT, *good.split("."), *forged.split(".")):
            assert value not in lines

    def test_slow_secrets_manager_and_replay_table_are_a_500_inside_the_token_functions_timeout(
        self, aws: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a token function that has not read its secret yet, Secrets Manager answering on its second attempt,
        # and a replay table that never answers, on a clock that moves only as the requests wait
        clock = [1000.0]

        def wait(seconds: float) -> None:
            clock[0] += seconds

        monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=wait))  # botocore's own back-off
        monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
        secrets_client = aws.client("secretsmanager", config=SECRETS_CONFIG)
        secrets_client.create_secret(Name="openweb-secret", SecretString=json.dumps(SECRET))
        reads: list[int] = []

        def slow_read(request: Any, **_: Any) -> None:
            reads.append(1)
            wait(1.25)  # the attempt's connect and read time
            if len(reads) == 1:
                raise ReadTimeoutError(endpoint_url=request.url)

        secrets_client.meta.events.register_first("before-send.secrets-manager.GetSecretValue", slow_read)
        dynamodb = aws.client("dynamodb", config=REPLAY_TABLE_CONFIG)
        dynamodb.create_table(
            TableName="replays",
            KeySchema=[{"AttributeName": "credential", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "credential", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def no_answer(request: Any, **_: Any) -> None:
            wait(0.5 + 1.5)
            raise ReadTimeoutError(endpoint_url=request.url)

        dynamodb.meta.events.register_first("before-send.dynamodb.PutItem", no_answer)
        service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions())
        service.secrets = SecretStore("openweb-secret", boto3_client=secrets_client)
        service.used_credentials = UsedCredentials("replays", dynamodb)
        service.monotonic, service.sleep = (lambda: clock[0]), wait  # type: ignore[method-assign]
        start = clock[0]

        # When OpenWeb asks for a token
        response = service.handle(post(token_request_body(assertion())))

        # Then it hears a 500 it retries within 8 s, two inside the function's 10 s timeout (template.yaml):
        # never the gateway's error for a function that timed out
        assert response.status == 500
        assert response.body is not None
        assert response.body["error"] == "server_error"
        assert clock[0] - start <= 8.0


class TestTokenRouteMetrics:
    """Refusals are counted with the ingest functions' names, so the auth-failure alarm sees probing."""

    def points(self, service: TokenService, capsys: pytest.CaptureFixture[str]) -> list[Any]:
        service.metrics.flush_metrics()
        return metric_points(capsys.readouterr().out)

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            (lambda: token_request_body(assertion(key="forged-secret-0123456789abcdef0123456789")), FORM),
            (lambda: token_request_body(assertion(aud="elsewhere")), FORM),
            (lambda: token_request_body(hs256.sign(hs256.with_raw(ASSERTION_CLAIMS, exp="NaN"), CURRENT)), FORM),
            (lambda: b"grant_type=client_credentials", FORM),
            (lambda: b"grant_type=client_credentials&client_assertion_type=saml&client_assertion=a", FORM),
        ],
        ids=["forged", "wrong aud", "exp NaN", "no client authentication", "another assertion type"],
    )
    def test_a_refused_client_authentication_is_an_auth_failure(
        self, body: Any, content_type: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Given the token route
        service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions())
        capsys.readouterr()

        # When a request fails client authentication
        response = service.handle(post(body(), content_type))

        # Then it is one AuthFailures for openweb, and nothing else
        assert response.status == 401
        points = self.points(service, capsys)
        assert [(name, dims.get("vendor")) for name, dims, _ in points] == [("AuthFailures", "openweb")]
        assert total(points, "AuthFailures", vendor="openweb") == 1

    def test_a_replay_is_an_auth_failure_too(self, capsys: pytest.CaptureFixture[str]) -> None:
        service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions())
        body = token_request_body(assertion())
        service.handle(post(body))
        service.handle(post(body))
        points = self.points(service, capsys)
        assert total(points, "AuthFailures", vendor="openweb") == 1
        assert total(points, "AccessTokensIssued", vendor="openweb") == 1

    @pytest.mark.parametrize(
        ("body", "content_type", "reason"),
        [
            (b'{"grant_type":"client_credentials"}', "application/json", "invalid_request"),
            (b"grant_type=client_credentials&client_assertion=a.b.c", FORM, "invalid_request"),
            (b"a=" + b"x" * 20_000, FORM, "invalid_request"),
            (b"grant_type=password", FORM, "unsupported_grant_type"),
        ],
    )
    def test_a_malformed_request_is_a_rejection_with_its_reason(
        self, body: bytes, content_type: str, reason: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions())
        capsys.readouterr()
        assert service.handle(post(body, content_type)).status == 400
        points = self.points(service, capsys)
        assert [(name, dims.get("reason")) for name, dims, _ in points] == [("DeliveriesRejected", reason)]
        assert total(points, "DeliveriesRejected", vendor="openweb", reason=reason) == 1

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ("dev-client-secret", "is not valid JSON"),
            ('["dev-client-secret"]', "is not a JSON object"),
        ],
    )
    def test_a_secret_value_that_is_no_json_object_is_a_500_reported_as_a_secret_problem(
        self, aws: Any, capsys: pytest.CaptureFixture[str], value: str, problem: str
    ) -> None:
        # Given the operator put a bare value where the openweb secret's JSON object belongs: in
        # client_secret_jwt mode OpenWeb calls the token route first, so no webhook delivery ever
        # reaches the ingest function that would report it
        aws.client("secretsmanager").create_secret(Name="openweb-secret", SecretString=value)
        log = io.StringIO()
        service = token_service(SecretStore("openweb-secret"), FakeUsedAssertions(), log)  # type: ignore[arg-type]
        capsys.readouterr()

        # When OpenWeb asks for a token
        response = service.handle(post(token_request_body(assertion())))

        # Then it is a 500 the client retries, and the log and SecretProblems say the value is wrong,
        # as the ingest functions do (the runbook's SecretProblemsAlarm), not that Secrets Manager is down
        assert response.status == 500
        assert response.body is not None
        assert response.body["error"] == "server_error"
        points = self.points(service, capsys)
        assert total(points, "SecretProblems", vendor="openweb") == 1
        lines = log.getvalue()
        (line,) = [json.loads(line) for line in lines.splitlines() if '"secret misconfigured"' in line]
        assert line["vendor"] == "openweb"
        assert [problem in text for text in line["problems"]] == [True]
        assert "secret unavailable" not in lines
        assert "dev-client-secret" not in lines

    @pytest.mark.parametrize("value", ["dev-client-secret", '["dev-client-secret"]'])
    def test_a_secret_value_broken_after_it_was_read_keeps_the_token_route_issuing_tokens(
        self, aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
    ) -> None:
        clock = [1000.0]
        monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
        client = aws.client("secretsmanager")
        client.create_secret(Name="openweb-secret", SecretString=json.dumps(SECRET))
        log = io.StringIO()
        service = token_service(SecretStore("openweb-secret"), FakeUsedAssertions(), log)  # type: ignore[arg-type]
        assert service.handle(post(token_request_body(assertion(jti="j0")))).status == 200
        # Given the operator wrote a value that is no JSON object over the openweb secret
        client.put_secret_value(SecretId="openweb-secret", SecretString=value)
        capsys.readouterr()

        # When OpenWeb asks for tokens once the function's copy is past its five minutes, then within and
        # after the 10 s before the value is read again
        statuses = []
        for step, jti in ((301, "j1"), (5, "j2"), (10, "j3")):
            clock[0] += step
            statuses.append(service.handle(post(token_request_body(assertion(jti=jti)))).status)

        # Then each gets a token from the copy read before, as the ingest functions keep authenticating
        # (SecretProblemsAlarm), and the value is reported as a secret problem at each read, never logged
        assert statuses == [200, 200, 200]
        assert total(self.points(service, capsys), "SecretProblems", vendor="openweb") == 2
        lines = log.getvalue()
        assert lines.count('"secret misconfigured"') == 2
        assert "dev-client-secret" not in lines

    def test_a_broken_value_read_twice_for_one_token_request_is_reported_once(
        self, aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        clock = [1000.0]
        monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
        client = aws.client("secretsmanager")
        client.create_secret(Name="openweb-secret", SecretString=json.dumps(SECRET))
        log = io.StringIO()
        service = token_service(SecretStore("openweb-secret"), FakeUsedAssertions(), log)  # type: ignore[arg-type]
        assert service.handle(post(token_request_body(assertion(jti="j0")))).status == 200
        # Given a bare client secret written over the openweb secret, and the function's copy past its five minutes
        client.put_secret_value(SecretId="openweb-secret", SecretString=PREVIOUS)
        clock[0] += 301
        capsys.readouterr()

        # When OpenWeb signs with a client secret the copy read before does not hold (read, then read again)
        response = service.handle(post(token_request_body(assertion(key=PREVIOUS, jti="j1"))))

        # Then it is a 500 (OpenWeb retries once the value is mended), and the value is reported once
        assert response.status == 500
        assert total(self.points(service, capsys), "SecretProblems", vendor="openweb") == 1
        assert log.getvalue().count('"secret misconfigured"') == 1
        assert PREVIOUS not in log.getvalue()

    @pytest.mark.parametrize(
        ("secret", "problem"),
        [
            ({"client_id": CLIENT_ID, "client_secret": []}, "'client_secret' holds no usable value"),
            ({"client_id": CLIENT_ID, "client_secrets": [CURRENT]}, "'client_secret' is missing"),
            ({"client_id": "", "client_secret": CURRENT}, "'client_id' is not a non-empty string"),
        ],
    )
    def test_an_oauth_client_that_cannot_work_is_reported_as_a_secret_problem(
        self, capsys: pytest.CaptureFixture[str], secret: dict[str, Any], problem: str
    ) -> None:
        # Given an openweb secret whose OAuth client cannot work: in client_secret_jwt mode OpenWeb calls
        # the token route first and, refused, never delivers to the ingest function that would report it
        log = io.StringIO()
        service = token_service(FakeSecrets([secret]), FakeUsedAssertions(), log)
        capsys.readouterr()

        # When OpenWeb asks for a token, twice with the same copy of the secret
        responses = [service.handle(post(token_request_body(assertion()))) for _ in range(2)]

        # Then each is refused, and SecretProblems and the log say what is wrong, once for the copy
        # (the runbook's SecretProblemsAlarm, as the ingest functions report it), never a value
        assert [response.status for response in responses] == [401, 401]
        points = self.points(service, capsys)
        assert total(points, "SecretProblems", vendor="openweb") == 1
        lines = log.getvalue()
        (line,) = [json.loads(line) for line in lines.splitlines() if '"secret misconfigured"' in line]
        assert line["vendor"] == "openweb"
        assert problem in line["problems"]
        assert CURRENT not in lines

    @pytest.mark.parametrize("audience", [5, [AUDIENCE, 7], "", [AUDIENCE, ""]])
    def test_an_audience_that_is_no_text_is_reported_and_the_token_url_still_works(
        self, capsys: pytest.CaptureFixture[str], audience: Any
    ) -> None:
        # Given an openweb secret whose audience holds a value that is no audience (a number, an empty string)
        secret = {"client_id": CLIENT_ID, "client_secret": CURRENT, "audience": audience}
        log = io.StringIO()
        service = token_service(FakeSecrets([secret]), FakeUsedAssertions(), log)
        capsys.readouterr()

        # When OpenWeb asks for a token for the token URL, the audience every stack accepts
        response = service.handle(post(token_request_body(assertion(aud=TOKEN_URL))))

        # Then it gets one, and SecretProblems and the log name the audience entry that was passed over
        assert response.status == 200
        assert total(self.points(service, capsys), "SecretProblems", vendor="openweb") > 0
        (line,) = [json.loads(line) for line in log.getvalue().splitlines() if '"secret misconfigured"' in line]
        assert [problem for problem in line["problems"] if "'audience'" in problem]

    def test_a_working_secret_is_no_secret_problem(self, capsys: pytest.CaptureFixture[str]) -> None:
        # A secret of the shared header token alone (OpenWeb's other mode) refuses every token request,
        # but nothing is wrong with it
        service = token_service(FakeSecrets([{"tokens": ["header-token"]}]), FakeUsedAssertions())
        capsys.readouterr()
        assert service.handle(post(token_request_body(assertion()))).status == 401
        assert total(self.points(service, capsys), "SecretProblems", vendor="openweb") == 0

    def test_an_issued_token_is_counted_and_is_no_failure(self, capsys: pytest.CaptureFixture[str]) -> None:
        service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions())
        capsys.readouterr()
        assert service.handle(post(token_request_body(KNOWN_ASSERTION))).status == 200
        points = self.points(service, capsys)
        assert [(name, dims.get("vendor")) for name, dims, _ in points] == [("AccessTokensIssued", "openweb")]


class TestSettings:
    ENV: ClassVar[dict[str, str]] = {
        "VENDOR": "openweb",
        "SECRET_ID": "s",
        "REPLAY_TABLE_NAME": "t",
    }

    def test_the_defaults(self) -> None:
        settings = TokenSettings.from_env(self.ENV)
        assert settings.access_token_ttl == 3600

    @pytest.mark.parametrize(
        "env",
        [
            {"VENDOR": "openweb", "SECRET_ID": "s"},
            {**ENV, "REPLAY_TABLE_NAME": " "},
            {**ENV, "ACCESS_TOKEN_TTL_SECONDS": "300"},
            {**ENV, "ACCESS_TOKEN_TTL_SECONDS": "86401"},
            {**ENV, "ACCESS_TOKEN_TTL_SECONDS": "an hour"},
        ],
    )
    def test_a_missing_or_wrong_variable_fails_at_start_up(self, env: dict[str, str]) -> None:
        with pytest.raises(SettingsError):
            TokenSettings.from_env(env)


class TestTheDeliveryContract:
    def delivery(self, headers: dict[str, str]) -> Request:
        return Request("POST", "/webhooks/openweb", "POST /webhooks/openweb", headers, b"{}", {}, "r", 0)

    def test_a_bearer_access_token_or_the_header_token_authenticates(self) -> None:
        token = issue_access_token(CLIENT, NOW).access_token
        assert CONTRACT.authenticate(self.delivery({"authorization": f"Bearer {token}"}), SECRET, NOW)
        assert CONTRACT.authenticate(
            self.delivery({"x-openweb-notification-event-webhook-token": "header-token"}), SECRET, NOW
        )

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"authorization": "Bearer "},
            {"authorization": "Basic b3BlbndlYjpzZWNyZXQ="},
            {"authorization": "header-token"},
        ],
    )
    def test_a_delivery_without_a_token_is_refused_with_a_bare_bearer_challenge(self, headers: dict[str, str]) -> None:
        # RFC 6750 §3.1: no error code when the request holds no token
        delivery = self.delivery(headers)
        assert not CONTRACT.authenticate(delivery, SECRET, NOW)
        refusal_response = CONTRACT.refusal(delivery)
        assert refusal_response.status == 401
        assert refusal_response.headers["www-authenticate"] == 'Bearer realm="openweb"'

    def test_a_token_that_is_not_ours_is_refused_as_an_invalid_token(self) -> None:
        delivery = self.delivery({"authorization": f"Bearer {CURRENT}"})
        assert not CONTRACT.authenticate(delivery, SECRET, NOW)
        refusal_response = CONTRACT.refusal(delivery)
        assert refusal_response.status == 401
        assert refusal_response.headers["www-authenticate"] == 'Bearer realm="openweb", error="invalid_token"'

    def test_an_expired_bearer_token_is_refused(self) -> None:
        token = issue_access_token(CLIENT, NOW - 7200, ttl=3600).access_token
        assert not CONTRACT.authenticate(self.delivery({"authorization": f"Bearer {token}"}), SECRET, NOW)

    @pytest.mark.parametrize(
        "token",
        ["\ud800", "a.b.\udfff", issue_access_token(CLIENT, NOW).access_token + "\ud800"],
        ids=["alone", "in-a-segment", "after-a-live-token"],
    )
    def test_a_bearer_token_that_is_no_text_is_refused_not_a_crash(self, token: str) -> None:
        # Given a Bearer token holding a lone surrogate (header values are text; no byte sequence encodes one)
        delivery = self.delivery({"authorization": f"Bearer {token}"})

        # Then it is a refusal (a 401), as a header token holding one is, never an exception (a 500)
        assert not CONTRACT.authenticate(delivery, SECRET, NOW)
        with pytest.raises(InvalidAccessTokenError, match="not a well-formed JWT"):
            verify_access_token(token, CLIENT, NOW)


def test_the_token_function_imports_no_pydantic() -> None:
    code = (
        "import sys;"
        "import webhook_intake.vendors.openweb.token_handler, webhook_intake.vendors.openweb.contract;"
        "bad = [m for m in sys.modules if m.startswith('pydantic') or m.endswith('.normalize')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_webhook_ingest_path_imports_the_access_token_check_and_nothing_of_the_token_route() -> None:
    # Given a fresh interpreter that loads the ingest handler and OpenWeb's contract, as a cold start does
    code = (
        "import sys;"
        "import webhook_intake.ingest.lambda_handler;"
        "from webhook_intake.registry import vendor;"
        "vendor('openweb').contract();"
        "print(sorted(m for m in sys.modules if m.startswith('webhook_intake.vendors.openweb.')))"
    )

    # When it runs
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)

    # Then the Bearer check is loaded, and neither the form parser, the issuing code nor the replay table
    assert result.returncode == 0, result.stderr
    assert ast.literal_eval(result.stdout) == [
        "webhook_intake.vendors.openweb.access_token",
        "webhook_intake.vendors.openweb.contract",
        "webhook_intake.vendors.openweb.jwt_checks",
    ]


def test_error_bodies_are_rfc_6749_json() -> None:
    service = token_service(FakeSecrets([SECRET]), FakeUsedAssertions())
    response = service.handle(post(b"{}", "application/json")).to_http_api()
    assert response["statusCode"] == 400
    assert response["headers"]["pragma"] == "no-cache"
    assert json.loads(response["body"]) == {
        "error": "invalid_request",
        "error_description": "the token request must be application/x-www-form-urlencoded",
    }
