"""Credential checks: constant-time token matching and the FastComments signature scheme."""

from __future__ import annotations

import json

import pytest

from webhook_intake.auth import bearer_token, matches_any, secret_list
from webhook_intake.http import Request
from webhook_intake.vendors.fastcomments.contract import CONTRACT as FASTCOMMENTS
from webhook_intake.vendors.fastcomments.contract import signature

SECRET = {"api_secret": "s3cret-api-key"}
NOW = 1_790_000_000.0
BODY = json.dumps({"id": "c1", "comment": "héllo", "urlId": "page"}, indent=2).encode()


def request(headers: dict[str, str], body: bytes = BODY) -> Request:
    return Request(
        method="PUT",
        path="/webhooks/fastcomments/comment-created",
        route_key="PUT /webhooks/fastcomments/{event}",
        headers=headers,
        body=body,
        path_parameters={"event": "comment-created"},
        request_id="r1",
        time_epoch_ms=0,
    )


def signed(timestamp: str, body: bytes = BODY, key: str = SECRET["api_secret"]) -> dict[str, str]:
    return {"x-fastcomments-signature": signature(key, timestamp, body), "x-fastcomments-timestamp": timestamp}


@pytest.mark.usefixtures("no_network")
class TestTokens:
    def test_any_of_several_tokens_matches(self) -> None:
        assert matches_any("new", ["old", "new"])
        assert matches_any("old", ["old", "new"])

    def test_missing_empty_or_wrong_tokens_never_match(self) -> None:
        assert not matches_any(None, ["a"])
        assert not matches_any("", [""])
        assert not matches_any("a", [])
        assert not matches_any("ab", ["a", "abc"])

    def test_secret_fields_accept_a_string_or_a_list(self) -> None:
        assert secret_list("one") == ["one"]
        assert secret_list(["a", "", 3, "b"]) == ["a", "b"]
        assert secret_list(None) == []

    def test_bearer_tokens_are_read_case_insensitively(self) -> None:
        assert bearer_token("Bearer abc") == "abc"
        assert bearer_token("bearer  abc ") == "abc"
        assert bearer_token("Basic abc") is None
        assert bearer_token("Bearer ") is None


@pytest.mark.usefixtures("no_network")
class TestFastCommentsSignature:
    def test_a_signature_over_the_raw_body_is_accepted(self) -> None:
        assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW)))), SECRET, NOW)

    def test_a_signature_over_the_compact_reencoding_is_accepted(self) -> None:
        compact = json.dumps(json.loads(BODY), separators=(",", ":"), ensure_ascii=False).encode()
        headers = signed(str(int(NOW)), compact)
        assert FASTCOMMENTS.authenticate(request(headers), SECRET, NOW)

    def test_a_millisecond_timestamp_is_accepted(self) -> None:
        assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW * 1000)))), SECRET, NOW)

    def test_a_timestamp_ten_minutes_old_is_refused(self) -> None:
        assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW - 600)))), SECRET, NOW)

    def test_a_timestamp_ten_minutes_ahead_is_refused(self) -> None:
        assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW + 600)))), SECRET, NOW)

    def test_a_signature_made_with_another_secret_is_refused(self) -> None:
        assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), key="other")), SECRET, NOW)

    def test_a_tampered_body_is_refused(self) -> None:
        headers = signed(str(int(NOW)))
        assert not FASTCOMMENTS.authenticate(request(headers, BODY.replace(b"c1", b"c2")), SECRET, NOW)

    def test_a_bad_signature_does_not_fall_back_to_a_good_legacy_token(self) -> None:
        headers = {**signed(str(int(NOW)), key="other"), "token": SECRET["api_secret"]}
        assert not FASTCOMMENTS.authenticate(request(headers), SECRET, NOW)

    def test_a_signature_without_its_timestamp_is_refused(self) -> None:
        headers = signed(str(int(NOW)))
        del headers["x-fastcomments-timestamp"]
        assert not FASTCOMMENTS.authenticate(request(headers), SECRET, NOW)

    def test_the_legacy_token_header_is_accepted_and_checked(self) -> None:
        assert FASTCOMMENTS.authenticate(request({"token": SECRET["api_secret"]}), SECRET, NOW)
        assert not FASTCOMMENTS.authenticate(request({"token": "wrong"}), SECRET, NOW)
        assert not FASTCOMMENTS.authenticate(request({}), SECRET, NOW)

    def test_a_previous_api_secret_in_a_list_is_accepted_during_rotation(self) -> None:
        rotated = {"api_secret": ["brand-new", SECRET["api_secret"]]}
        assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW)))), rotated, NOW)

    def test_an_empty_secret_refuses_everything(self) -> None:
        assert not FASTCOMMENTS.authenticate(request({"token": ""}), {}, NOW)
        assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), key="")), {}, NOW)
