"""Credential checks: constant-time token matching and the FastComments signature scheme."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from webhook_intake.auth import bearer_token, matches_any, secret_list
from webhook_intake.http import Request
from webhook_intake.vendors.fastcomments.contract import CONTRACT as FASTCOMMENTS

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
    """FastComments' scheme written out with hmac, independently of the code under test."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"x-fastcomments-signature": f"sha256={digest}", "x-fastcomments-timestamp": timestamp}


# Known answers computed outside Python (openssl dgst -sha256 -hmac s3cret-api-key) over
# "<timestamp>.<body>": the raw UTF-8 body, and FastComments' own example's ASCII-escaped form.
VECTOR_BODY = '{"id":"c1","comment":"héllo"}'.encode()
VECTORS = {
    ("1790000000", VECTOR_BODY): "11676b814540efaf260ef8be49a4fd7ea22f2b87f3190514d174b3f55d5417fd",
    ("1790000000123", VECTOR_BODY): "976d497f2086ba1e26f0f13f4e947d9fa2a8d267a22aefdf915875973bb380f9",
    ("1790000000", b'{"id":"c1","comment":"h\\u00e9llo"}'): (
        "29d25a34b6d882c57ac34c4df467a5d424eb242135bd3427a3b88b748cd6bc25"
    ),
}


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
    @pytest.mark.parametrize(("timestamp", "body", "digest"), [(*key, value) for key, value in VECTORS.items()])
    def test_known_answer_vectors_are_accepted(self, timestamp: str, body: bytes, digest: str) -> None:
        headers = {"x-fastcomments-signature": f"sha256={digest}", "x-fastcomments-timestamp": timestamp}
        assert FASTCOMMENTS.authenticate(request(headers, body), SECRET, 1_790_000_000.0)

    def test_a_pretty_printed_body_is_accepted_with_the_signature_over_its_compact_form(self) -> None:
        # FastComments' Python example signs json.dumps(body, separators=(",", ":")), not the bytes sent.
        pretty = json.dumps(json.loads(VECTOR_BODY), indent=2, ensure_ascii=False).encode()
        for compact in (VECTOR_BODY, b'{"id":"c1","comment":"h\\u00e9llo"}'):
            headers = {"x-fastcomments-signature": f"sha256={VECTORS['1790000000', compact]}"}
            headers["x-fastcomments-timestamp"] = "1790000000"
            assert FASTCOMMENTS.authenticate(request(headers, pretty), SECRET, 1_790_000_000.0)

    def test_an_upper_case_digest_is_accepted(self) -> None:
        digest = VECTORS["1790000000", VECTOR_BODY].upper()
        headers = {"x-fastcomments-signature": f"sha256={digest}", "x-fastcomments-timestamp": "1790000000"}
        assert FASTCOMMENTS.authenticate(request(headers, VECTOR_BODY), SECRET, 1_790_000_000.0)

    def test_a_signature_over_the_raw_body_is_accepted(self) -> None:
        assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW)))), SECRET, NOW)

    def test_a_signature_over_the_compact_reencoding_is_accepted(self) -> None:
        compact = json.dumps(json.loads(BODY), separators=(",", ":"), ensure_ascii=False).encode()
        headers = signed(str(int(NOW)), compact)
        assert FASTCOMMENTS.authenticate(request(headers), SECRET, NOW)

    @pytest.mark.parametrize("ascii_only", [False, True])
    def test_a_long_comment_is_accepted_with_the_signature_over_its_compact_form(self, ascii_only: bool) -> None:
        # A comment of most of a megabyte: few values, many bytes, within the re-encoding's bound
        comment = {"id": "c1", "comment": "hé " * 250_000, "mentions": [{"id": f"u{n}"} for n in range(100)]}
        pretty = json.dumps(comment, indent=2, ensure_ascii=False).encode()
        assert len(pretty) <= 1_048_576
        compact = json.dumps(comment, separators=(",", ":"), ensure_ascii=ascii_only).encode()
        assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), compact), pretty), SECRET, NOW)

    def test_a_body_over_a_mebibyte_is_checked_over_its_raw_bytes_only(self) -> None:
        # Re-encoding costs by the bytes too (about 15-20 ms a megabyte): megabytes of one string, unsigned,
        # would make every refusal that dear; the raw bytes still verify
        comment = {"id": "c1", "comment": "hé " * 300_000}
        pretty = json.dumps(comment, indent=2, ensure_ascii=False).encode()
        assert len(pretty) > 1_048_576
        compact = json.dumps(comment, separators=(",", ":"), ensure_ascii=False).encode()
        assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), compact), pretty), SECRET, NOW)
        assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), pretty), pretty), SECRET, NOW)

    def test_a_body_of_very_many_values_is_checked_over_its_raw_bytes_only(self) -> None:
        # Tens of thousands of tiny values: parsing them for each unauthenticated request would cost a
        # function seconds; the raw bytes still verify
        many = {"id": "c1", "mentions": [{"id": n} for n in range(20_000)]}
        pretty = json.dumps(many, indent=1).encode()
        compact = json.dumps(many, separators=(",", ":")).encode()
        assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), compact), pretty), SECRET, NOW)
        assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), pretty), pretty), SECRET, NOW)

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

    def test_an_entry_that_is_not_unicode_is_passed_over_not_a_crash(self) -> None:
        # A lone surrogate (JSON allows "\\ud800") beside the real API secret, before or after it
        for entries in (["\ud800-typo", SECRET["api_secret"]], [SECRET["api_secret"], "\ud800"]):
            broken = {"api_secret": entries}
            assert FASTCOMMENTS.authenticate(request(signed(str(int(NOW)))), broken, NOW)
            assert FASTCOMMENTS.authenticate(request({"token": SECRET["api_secret"]}), broken, NOW)
            assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), key="other")), broken, NOW)
            assert not FASTCOMMENTS.authenticate(request({"token": "\ud800"}), broken, NOW)

    def test_an_empty_secret_refuses_everything(self) -> None:
        assert not FASTCOMMENTS.authenticate(request({"token": ""}), {}, NOW)
        assert not FASTCOMMENTS.authenticate(request(signed(str(int(NOW)), key="")), {}, NOW)
