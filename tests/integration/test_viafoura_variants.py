"""Viafoura deliveries the samples do not cover, sent through the stack and read back as stored."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.helpers import SUCCESS, listed, reader, send_body

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


def _deliver(runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, field: str, *items: Any) -> None:
    """One Viafoura delivery of ``items`` under ``field`` (``events``, ``notifications``), taken and consumed."""
    body = {"request_uuid": str(uuid.uuid4()), "time": int(time.time() * 1000), "version": 1, field: items}
    response = send_body(runtime, vendor_key, body, secrets[vendor_key])
    assert response.status == SUCCESS[vendor_key], response.body
    runtime.drain()


def _deliver_notifications(runtime: LocalRuntime, secrets: dict[str, Any], *notes: dict[str, Any]) -> None:
    _deliver(runtime, secrets, "viafoura-notifications", "notifications", *notes)


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


def _engagement_with_ids(
    action: str, section: str, container: str, content: str, actor: str, author: str
) -> dict[str, Any]:
    """A comment engagement event of five seconds ago whose ids are as given (each sent empty or blank here)."""
    return {
        "event_uuid": str(uuid.uuid4()),
        "time": int(time.time() * 1000) - 5_000,
        "section_uuid": section,
        "content_container_uuid": container,
        "content_uuid": content,
        "actor_uuid": actor,
        "author_uuid": author,
        "message_type": "livecomment_post",
        "action": action,
    }


def _deliver_engagement(runtime: LocalRuntime, secrets: dict[str, Any], event: dict[str, Any]) -> None:
    _deliver(runtime, secrets, "viafoura-engagement", "events", event)


def test_ids_names_and_urls_sent_empty_are_stored_as_absent_not_as_empty_text(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an engagement event whose optional fields Viafoura sent empty (its own example sends page_url so)
    engagement = {**_engagement_with_ids("liked", "", "", "", "", ""), "page_url": ""}
    # and a notification whose user, content and URL are empty
    empty_user = {"name": "", "viafoura_id": {"uuid": "", "id": ""}, "external_id": {"provider": "", "id": ""}}
    note = {
        **_notification("reply", content={"uuid": "", "body": "a reply"}, target_content_uuid=""),
        "user": empty_user,
        "recipients": [empty_user],
    }
    note["payload"]["url"] = ""

    # When Viafoura delivers them
    _deliver_engagement(shared_runtime, secrets, engagement)
    _deliver_notifications(shared_runtime, secrets, note)

    # Then no normalized field holds an empty id, name or URL: each is absent, as a field left out is
    events = reader(shared_runtime)
    liked = events.get("viafoura-engagement", engagement["event_uuid"])
    assert liked is not None
    assert (liked.get("actor"), liked.get("container"), liked.get("site")) == (None, None, None)
    assert liked["content"] == {"type": "livecomment_post"}
    reply = events.get("viafoura-notifications", note["notification_uuid"])
    assert reply is not None
    assert reply["actor"] == {"role": "actor"}
    assert reply["recipients"] == [{"role": "recipient"}]
    assert reply["content"] == {"type": "reply", "text": "a reply"}


def test_ids_sent_as_white_space_alone_are_stored_as_absent_as_empty_ones_are(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an approval whose ids Viafoura sent as white space alone (which no read can be asked for: `intake state`
    # and `intake events --content` take such an id for an empty one)
    approval = _engagement_with_ids("visible", "\t", " ", "   ", "\u00a0", "  ")

    # When Viafoura delivers it
    _deliver_engagement(shared_runtime, secrets, approval)

    # Then it is stored naming none of them, and no comment's state is kept under a blank id
    events = reader(shared_runtime)
    approved = events.get("viafoura-engagement", approval["event_uuid"])
    assert approved is not None
    assert (approved.get("actor"), approved.get("container"), approved.get("site")) == (None, None, None)
    assert approved["content"] == {"type": "livecomment_post"}
    assert events.state("viafoura-engagement", "   ") is None


def test_a_container_id_sent_as_white_space_leaves_the_topic_as_the_container_as_an_empty_one_does(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given two topic broadcasts that name no container, one with its container id empty, one with white space alone
    topic = f"topic-{uuid.uuid4().hex[:8]}"
    empty = _notification("broadcast_topic", topic_id=topic) | {"content_container_uuid": ""}
    blank = _notification("broadcast_topic", topic_id=topic) | {"content_container_uuid": "  "}

    # When Viafoura delivers them
    _deliver_notifications(shared_runtime, secrets, empty, blank)

    # Then a read by the topic finds both, each stored in the topic as its container
    found = listed(shared_runtime, vendor="viafoura-notifications", container=topic)
    assert sorted(entry["event_id"] for entry in found) == sorted(n["notification_uuid"] for n in (empty, blank))
    kept = reader(shared_runtime).get("viafoura-notifications", blank["notification_uuid"])
    assert kept is not None
    assert kept["container"] == {"id": topic}


def test_a_notification_with_null_recipients_and_payload_is_stored_with_nothing_dropped(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a site broadcast whose recipients and payload Viafoura sent as null
    note = {**_notification("broadcast_site"), "recipients": None, "payload": None}
    del note["user"]

    # When it is delivered
    _deliver_notifications(shared_runtime, secrets, note)

    # Then it is stored as one without them: no field is named as dropped for its type
    stored = reader(shared_runtime).get("viafoura-notifications", note["notification_uuid"])
    assert stored is not None
    assert (stored["event_type"], stored.get("dropped"), stored.get("recipients")) == ("broadcast.site", None, None)
