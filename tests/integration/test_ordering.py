"""Reordered deliveries converge: the current state keeps the newest vendor event; a delete's tombstone wins."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from tests.integration.test_pipeline import send_body
from webhook_intake.repository import EventRepository

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime

BASE_MS = 1_790_000_000_000


def engagement(content: str, action: str, offset_s: int) -> bytes:
    event = {
        "event_uuid": f"{content}-{action}",
        "time": BASE_MS + offset_s * 1000,
        "content_uuid": content,
        "content_container_uuid": "article-1",
        "actor_uuid": "user-1",
        "author_uuid": "user-2",
        "message_type": "livecomment_post",
        "action": action,
    }
    return json.dumps({"request_uuid": f"r-{content}-{action}", "time": BASE_MS + 99_000, "events": [event]}).encode()


def test_created_updated_liked_disabled_converge_in_every_order(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    secret = secrets["viafoura-engagement"]
    sequence = [("created", 1), ("updated", 2), ("liked", 3), ("disabled", 4)]
    orders = list(itertools.permutations(sequence))
    for n, order in enumerate(orders):
        for action, offset in order:
            assert send_body(runtime, "viafoura-engagement", engagement(f"c{n}", action, offset), secret).status == 200
        runtime.drain()
    repository = EventRepository(runtime.stack.tables["EventsTable"])
    finals = {
        (state["last_source_type"], state["status"], state["deleted"], state["last_occurred_at"])
        for state in (repository.get_state("viafoura-engagement", f"c{n}") for n in range(len(orders)))
        if state is not None
    }
    assert len(orders) == 24
    assert finals == {("livecomment_post.disabled", "rejected", False, "2026-09-21T14:13:24.000Z")}
    # Every event is in the log whatever its order, even those older than the state.
    assert len(repository.query("content", "viafoura-engagement#c0")) == 4


def fastcomments(comment_id: str, event: str, text: str) -> bytes:
    return json.dumps(
        {"id": comment_id, "urlId": "page-1", "comment": text, "date": "2026-09-21T14:13:20.000Z"}
    ).encode()


def test_a_delete_arriving_before_its_create_leaves_a_tombstone_that_wins(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    secret = secrets["fastcomments"]
    sequence = [("comment-created", "first"), ("comment-updated", "edited"), ("comment-deleted", "edited")]
    orders = list(itertools.permutations(sequence))
    for n, order in enumerate(orders):
        for event, text in order:
            body = fastcomments(f"fc{n}", event, text)
            response = send_body(runtime, "fastcomments", body, secret, event)
            assert response.status == 200
        runtime.drain()
    repository = EventRepository(runtime.stack.tables["EventsTable"])
    for n in range(len(orders)):
        state = repository.get_state("fastcomments", f"fc{n}")
        assert state is not None
        assert (state["deleted"], state["status"], state["last_source_type"]) == (True, "deleted", "comment-deleted")


def test_a_removed_reply_notification_stays_removed(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    secret = secrets["viafoura-notifications"]

    def notification(kind: str, offset: int) -> bytes:
        note = {
            "notification_type": kind,
            "notification_uuid": f"{kind}-{offset}",
            "time": BASE_MS + offset * 1000,
            "payload": {"content": {"uuid": "reply-1", "body": "a reply"}},
        }
        return json.dumps({"request_uuid": f"r-{kind}", "notifications": [note]}).encode()

    # The removal is delivered first, the reply it removes after it.
    send_body(runtime, "viafoura-notifications", notification("reply_removed", 2), secret)
    send_body(runtime, "viafoura-notifications", notification("reply", 1), secret)
    runtime.drain()
    state = EventRepository(runtime.stack.tables["EventsTable"]).get_state("viafoura-notifications", "reply-1")
    assert state is not None
    assert (state["deleted"], state["last_source_type"]) == (True, "reply_removed")
