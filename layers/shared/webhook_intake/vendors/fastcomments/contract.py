"""FastComments: HMAC-SHA256 signature over ``<timestamp>.<body>``, or the legacy ``token`` header."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from webhook_intake.auth import matches_any, secret_list
from webhook_intake.ingest.contract import Contract, RejectedError, token_list_problems
from webhook_intake.replay import Claim
from webhook_intake.text import escape_surrogates
from webhook_intake.vendors.fastcomments import SPEC, TIMESTAMP_HEADER

if TYPE_CHECKING:
    from collections.abc import Iterator

    from webhook_intake.http import Request

EVENTS = ("comment-created", "comment-updated", "comment-deleted")
SIGNATURE_HEADER = "x-fastcomments-signature"
TOKEN_HEADER = "token"  # noqa: S105 (a header name)
API_SECRET_FIELD = "api_secret"  # noqa: S105 (the secret field's name)
WINDOW_SECONDS = 300
REENCODED_MAX_SEPARATORS = 16_384
REENCODED_MAX_BYTES = 1_048_576
"""A body of at most a mebibyte holding at most 16,384 ``,`` and ``:`` is also checked against the
compact re-encoding FastComments' own example signs. A parse and two dumps cost by the values (megabytes
of tiny values: seconds) and by the bytes (about 15-20 ms a megabyte of text): past either bound a
request nobody signed would make its refusal dear, so such a body is checked over its raw bytes only."""
# A timestamp above this is in milliseconds (one of FastComments' pages says so).
_MILLISECOND_THRESHOLD = 100_000_000_000
# Plain ASCII digits only: float() would also take "nan", "1e3", full-width digits and spaces.
_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")


def signature(api_secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(api_secret, ``timestamp + "." + body``); ``timestamp`` is ASCII digits."""
    digest = hmac.new(api_secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def timestamp_seconds(timestamp: str | None) -> float | None:
    """The signing time in seconds (FastComments sends seconds, or milliseconds); None unless ASCII digits."""
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp):
        return None
    value = int(timestamp)
    return value / 1000 if value > _MILLISECOND_THRESHOLD else float(value)


def _keys_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are each named once; else ValueError.

    A key named twice keeps only its last value when read, so the re-encoding leaves the earlier one
    out: the text it held would be taken unsigned (and kept as the raw event). JSON.stringify never
    writes a key twice, so such a body must verify over its own bytes.
    """
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("a key named twice")
    return document


def _signed_forms(body: bytes) -> Iterator[bytes]:
    """The raw bytes first; then, unless it is very large, holds very many values or names a key twice,
    the compact re-encodings FastComments' example signs."""
    yield body
    if len(body) > REENCODED_MAX_BYTES or body.count(b",") + body.count(b":") > REENCODED_MAX_SEPARATORS:
        return
    try:
        document = json.loads(body, object_pairs_hook=_keys_once)
    except (ValueError, RecursionError):
        return
    # A lone surrogate (a comment cut inside an emoji) as JavaScript's JSON.stringify writes it, everything
    # else as itself.
    yield escape_surrogates(json.dumps(document, separators=(",", ":"), ensure_ascii=False)).encode("utf-8")
    yield json.dumps(document, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class FastCommentsContract(Contract):
    """One webhook per event and method; the event is the last path segment."""

    credential_fields: ClassVar[tuple[str, ...]] = (API_SECRET_FIELD,)

    def check_route(self, request: Request) -> None:
        if request.path_parameters.get("event") not in EVENTS:
            raise RejectedError(404, "unknown_event", f"event must be one of {', '.join(EVENTS)}")

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        api_secrets = secret_list(secret.get(API_SECRET_FIELD))
        presented = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        token = request.header(TOKEN_HEADER)
        if presented is None and timestamp is None:
            return matches_any(token, api_secrets)
        # FastComments sends the API secret in `token` beside its signature, and its admin test sends an
        # invalid one expecting 401: a token, when sent, must be the secret too.
        if token is not None and not matches_any(token, api_secrets):
            return False
        # A signed request must verify: a bad signature never falls back to the token.
        signed_at = timestamp_seconds(timestamp)
        if presented is None or timestamp is None or signed_at is None or abs(now - signed_at) > WINDOW_SECONDS:
            return False
        presented = presented.strip().lower()
        if not _SIGNATURE.fullmatch(presented):
            return False
        # The raw body first; a re-encoding (a JSON parse and two dumps) only if that fails.
        return any(
            matches_any(presented, [signature(key, timestamp, form) for key in api_secrets])
            for form in _signed_forms(request.body)
        )

    def single_use(self, request: Request) -> Claim | None:
        """A signature covers the timestamp and body, not the event: it is bound to the first route it came on.

        The same request again (a retry on the way) is still taken; the same bytes sent to another
        event's route are refused, so a captured ``comment-created`` never becomes a delete. The
        legacy ``token`` header is a standing secret, with nothing to bind.
        """
        presented = request.header(SIGNATURE_HEADER)
        signed_at = timestamp_seconds(request.header(TIMESTAMP_HEADER))
        if presented is None or signed_at is None:
            return None
        return Claim(
            key=f"{self.vendor}:signature:{presented.strip().lower()}",
            expires_at=int(signed_at) + WINDOW_SECONDS,
            scope=request.path_parameters.get("event", ""),
        )

    def secret_problems(self, secret: dict[str, Any]) -> list[str]:
        # The legacy `token` header carries the API secret itself.
        return token_list_problems(secret, API_SECRET_FIELD, header=True)


CONTRACT = FastCommentsContract(SPEC, auth_failure_status=401)
