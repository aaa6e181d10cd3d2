"""Viafoura deliveries the samples do not cover, sent through the stack and read back as stored."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.helpers import SUCCESS, reader, send_body

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def _user(name: str) -> dict[str, Any]:
    return {"name": name, "viafoura_id": {"uuid": f"u-{name}-{uuid.uuid4().hex[:6]}", "id": 7}}


def _notification(notification_type: str, **payload: Any) -> dict[str, Any]:
    return {
        "notification_type": notification_type,
        "notification_uuid": str(uuid.uuid4()),
        "time": int(time.time() * 1000) - 5_000,
        "content_container_uuid": "article-1",
        "user": _user("poster"),
        "recipients": [_user("follower")],
        "payload": {"url": "https://www.example.com/article-1", **payload},
    }


def _deliver_notifications(runtime: LocalRuntime, secrets: dict[str, Any], *notes: dict[str, Any]) -> None:
    body = {"request_uuid": str(uuid.uuid4()), "time": int(time.time() * 1000), "version": 1, "notifications": notes}
    response = send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"])
    assert response.status == SUCCESS["viafoura-notifications"], response.body
    runtime.drain()


def test_a_followers_notice_of_a_new_reply_stores_a_reply_to_the_comment_it_answers(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given the notices a container's and a user's followers get of a new reply (it targets the comment it answers),
    # and one of a new top-level comment (no target)
    reply = {"content": {"uuid": str(uuid.uuid4()), "body": "a reply"}, "target_content_uuid": "comment-1"}
    page_reply = _notification("subscribed_page_content", **reply)
    user_reply = _notification("subscribed_user_content", **reply)
    page_comment = _notification("subscribed_page_content", content={"uuid": str(uuid.uuid4()), "body": "a comment"})

    # When Viafoura delivers them in one batch
    _deliver_notifications(shared_runtime, secrets, page_reply, user_reply, page_comment)

    # Then the replies are stored as replies to that comment, and the comment as a comment
    events = reader(shared_runtime)
    stored = [events.get("viafoura-notifications", note["notification_uuid"]) for note in (page_reply, user_reply)]
    assert [(event["content"]["type"], event["content"]["parent_id"]) for event in stored if event] == [
        ("reply", "comment-1"),
        ("reply", "comment-1"),
    ]
    comment = events.get("viafoura-notifications", page_comment["notification_uuid"])
    assert comment is not None
    assert (comment["content"]["type"], comment["content"].get("parent_id")) == ("comment", None)
