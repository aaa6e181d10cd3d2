"""A captured FastComments request changes nothing when replayed; FastComments' own retries still land.

A FastComments signature covers ``<timestamp>.<body>``, not the event in the path: without a
record of where a signature was first used, a signed ``comment-created`` replayed to the
``comment-deleted`` route within the 300 s window would store a delete, which always wins.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import boto3

from intake_cli.samples import build_request
from tests.helpers import AUTH_FAILURE, SUCCESS, handler_logs, metric_points, reader, stored_ids, total

if TYPE_CHECKING:
    import pytest

    from intake_cli.runtime import HttpResponse, LocalRuntime
    from intake_cli.samples import OutgoingRequest

COMMENT = {
    "id": "replayed-comment",
    "urlId": "page-1",
    "url": "https://example.com/page-1",
    "comment": "first!",
    "commentHTML": "<p>first!</p>",
    "userId": "u-1",
    "commenterName": "Reader",
    "date": "2026-11-29T12:00:00.000Z",
    "approved": True,
}


def signed(secrets: dict[str, Any], event: str, now: float | None = None, comment: dict[str, Any] = COMMENT) -> Any:
    return build_request("fastcomments", json.dumps(comment).encode(), secrets["fastcomments"], event=event, now=now)


def deliver(runtime: LocalRuntime, request: OutgoingRequest, *, event: str | None = None) -> HttpResponse:
    """``request`` as captured, sent to its own route or to another event's (method and path changed only)."""
    path = request.path if event is None else request.path.rsplit("/", 1)[0] + "/" + event
    method = request.method if event is None else ("DELETE" if event == "comment-deleted" else "PUT")
    return runtime.request(method, path, request.headers, request.body)


def current(runtime: LocalRuntime, comment_id: str) -> tuple[str, bool]:
    state = reader(runtime).state("fastcomments", comment_id)
    assert state is not None, comment_id
    return state.status, state.deleted


def test_a_signed_create_replayed_to_the_delete_route_is_refused_and_stores_nothing(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = shared_runtime
    comment = {**COMMENT, "id": "replay-across-routes"}
    captured = signed(secrets, "comment-created", comment=comment)
    assert deliver(runtime, captured).status == SUCCESS["fastcomments"]

    # The same bytes and headers, to the other events' routes, inside the 300 s window
    for event in ("comment-deleted", "comment-updated"):
        capsys.readouterr()
        with handler_logs() as logs:
            replayed = deliver(runtime, captured, event=event)
        assert replayed.status == AUTH_FAILURE["fastcomments"], event
        assert total(metric_points(capsys.readouterr().out), "AuthFailures", vendor="fastcomments") == 1
        assert '"reason":"replayed"' in logs.getvalue()
        assert replayed.json() == {"error": "unauthorized", "message": "authentication failed"}
    runtime.drain()

    ids = [event_id for event_id in stored_ids(runtime, "fastcomments") if event_id.startswith("replay-across-routes:")]
    assert [event_id.split(":")[1] for event_id in ids] == ["comment-created"]
    assert current(runtime, "replay-across-routes") == ("created", False)


def test_the_same_request_again_on_its_own_route_is_taken_and_stored_once(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    comment = {**COMMENT, "id": "replay-same-route"}
    captured = signed(secrets, "comment-created", comment=comment)
    assert deliver(runtime, captured).status == SUCCESS["fastcomments"]
    # A retry on the way (a proxy, the gateway) repeats the request exactly: nothing changes by it.
    assert deliver(runtime, captured).status == SUCCESS["fastcomments"]
    runtime.drain()
    ids = [event_id for event_id in stored_ids(runtime, "fastcomments") if event_id.startswith("replay-same-route:")]
    assert len(ids) == 1


def test_a_genuine_delete_signed_afresh_is_accepted_after_the_create(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    comment = {**COMMENT, "id": "replay-genuine-delete"}
    now = time.time()
    assert deliver(runtime, signed(secrets, "comment-created", now - 5, comment)).status == SUCCESS["fastcomments"]
    # FastComments signs every request (and every retry) with the current time.
    assert deliver(runtime, signed(secrets, "comment-deleted", now, comment)).status == SUCCESS["fastcomments"]
    runtime.drain()
    assert current(runtime, "replay-genuine-delete")[1] is True


def test_a_request_outside_its_window_is_refused_and_counted(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = shared_runtime
    comment = {**COMMENT, "id": "replay-late"}
    late = signed(secrets, "comment-deleted", time.time() - 301, comment)
    capsys.readouterr()
    assert deliver(runtime, late).status == AUTH_FAILURE["fastcomments"]
    assert total(metric_points(capsys.readouterr().out), "AuthFailures", vendor="fastcomments") == 1
    runtime.drain()
    assert not [event_id for event_id in stored_ids(runtime, "fastcomments") if event_id.startswith("replay-late:")]


def test_the_first_use_of_a_signature_is_recorded_with_its_route_and_expires(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    now = int(time.time())
    request = signed(secrets, "comment-updated", now, {**COMMENT, "id": "replay-recorded"})
    assert deliver(runtime, request).status == SUCCESS["fastcomments"]
    key = "fastcomments:signature:" + request.headers["x-fastcomments-signature"]
    item = boto3.client("dynamodb").get_item(
        TableName=runtime.stack.tables["ReplayTable"], Key={"credential": {"S": key}}
    )["Item"]
    assert item["scope"] == {"S": "comment-updated"}
    # Kept while the signature could still be accepted, then left to DynamoDB TTL.
    assert now + 300 < int(item["expires_at"]["N"]) <= now + 900
