"""OpenWeb's side of client_secret_jwt as `intake send --auth oauth` plays it, read by an independent oracle."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from intake_cli.openweb_client import client_assertion, token_request_body
from tests import hs256

NOW = 1_790_000_000.0
CLIENT_ID = "openweb-client"
CLIENT_SECRET = "current-client-secret-0123456789abcdef0123456789abcdef"
AUDIENCE = "webhook-intake-test"


def test_the_assertion_is_hs256_with_the_client_secret_and_openweb_claims() -> None:
    # Given OpenWeb's client id, secret and audience
    # When the CLI signs an assertion
    token = client_assertion(CLIENT_ID, CLIENT_SECRET, AUDIENCE, NOW + 0.7, jti="j-1")

    # Then its HMAC, recomputed by hand with the client secret, matches, and its claims are OpenWeb's
    header, claims = hs256.read(token, CLIENT_SECRET)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims == {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": AUDIENCE,
        "iat": 1_790_000_000,
        "exp": 1_790_000_600,
        "jti": "j-1",
    }


def test_another_key_does_not_verify_it() -> None:
    token = client_assertion(CLIENT_ID, CLIENT_SECRET, AUDIENCE, NOW)
    with pytest.raises(AssertionError, match="HMAC"):
        hs256.read(token, "some-other-secret")


def test_each_assertion_gets_a_fresh_jti() -> None:
    first, second = (hs256.read(client_assertion(CLIENT_ID, CLIENT_SECRET, AUDIENCE, NOW), CLIENT_SECRET) for _ in "ab")
    assert first[1]["jti"] != second[1]["jti"]


def test_the_token_request_is_the_standard_form_with_openwebs_extra_grants() -> None:
    body = token_request_body("a.b.c", client_id=CLIENT_ID, scope="PARTNER_SCOPE", realm="PARTNER_REALM")
    assert parse_qs(body.decode("ascii"), strict_parsing=True) == {
        "grant_type": ["client_credentials"],
        "client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
        "client_assertion": ["a.b.c"],
        "client_id": [CLIENT_ID],
        "scope": ["PARTNER_SCOPE"],
        "realm": ["PARTNER_REALM"],
    }
