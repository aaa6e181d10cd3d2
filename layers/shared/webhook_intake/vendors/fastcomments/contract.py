"""FastComments: HMAC-SHA256 signature over ``<timestamp>.<body>``, or the legacy ``token`` header."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.auth import matches_any, secret_list
from webhook_intake.ingest.contract import Contract, RejectedError, require_id, require_object

if TYPE_CHECKING:
    from collections.abc import Iterator

    from webhook_intake.http import Request

EVENTS = ("comment-created", "comment-updated", "comment-deleted")
SIGNATURE_HEADER = "x-fastcomments-signature"
TIMESTAMP_HEADER = "x-fastcomments-timestamp"
TOKEN_HEADER = "token"  # noqa: S105 (a header name)
WINDOW_SECONDS = 300
# A timestamp above this is in milliseconds (one of FastComments' pages says so).
_MILLISECOND_THRESHOLD = 100_000_000_000


def signature(api_secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(api_secret, ``timestamp + "." + body``)."""
    digest = hmac.new(api_secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def timestamp_seconds(timestamp: str) -> float | None:
    """The signing time in seconds (FastComments sends seconds, or milliseconds), else None."""
    try:
        value = float(timestamp)
    except ValueError:
        return None
    return value / 1000 if value > _MILLISECOND_THRESHOLD else value


def _signed_forms(body: bytes) -> Iterator[bytes]:
    """The raw bytes first; then the compact re-encodings FastComments' own example signs."""
    yield body
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return
    for ascii_only in (False, True):
        yield json.dumps(document, separators=(",", ":"), ensure_ascii=ascii_only).encode("utf-8")


@dataclass(frozen=True)
class FastCommentsContract(Contract):
    """One webhook per event and method; the event is the last path segment."""

    def check_route(self, request: Request) -> None:
        if request.path_parameters.get("event") not in EVENTS:
            raise RejectedError(404, "unknown_event", f"event must be one of {', '.join(EVENTS)}")

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        api_secrets = secret_list(secret.get("api_secret"))
        presented = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if presented is None and timestamp is None:
            return matches_any(request.header(TOKEN_HEADER), api_secrets)
        # A signed request must verify: a bad signature never falls back to the token.
        if not presented or not timestamp:
            return False
        signed_at = timestamp_seconds(timestamp)
        if signed_at is None or abs(now - signed_at) > WINDOW_SECONDS:
            return False
        presented = presented.strip().lower()
        # The raw body first; the re-encodings (a JSON parse and two dumps) only if it fails.
        return any(
            matches_any(presented, [signature(key, timestamp, form) for key in api_secrets])
            for form in _signed_forms(request.body)
        )

    def check_envelope(self, request: Request, document: Any) -> None:
        require_id(require_object(document), "id")

    def client_route(self, sample_name: str) -> tuple[str, str]:
        # A sample's event is its file name up to the first dot; FastComments' default
        # methods are PUT for creates and updates, DELETE for deletes.
        event = sample_name.split(".", 1)[0]
        event = event if event in EVENTS else EVENTS[0]
        return ("DELETE" if event == "comment-deleted" else "PUT"), f"{self.path}/{event}"

    def client_headers(self, body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
        keys = secret_list(secret.get("api_secret"))
        timestamp = str(int(now))
        return {
            SIGNATURE_HEADER: signature(keys[0] if keys else "", timestamp, body),
            TIMESTAMP_HEADER: timestamp,
            "content-type": "application/json",
        }


CONTRACT = FastCommentsContract(vendor="fastcomments", path="/webhooks/fastcomments", auth_failure_status=401)
