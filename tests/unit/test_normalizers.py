"""Each vendor's payload → normalized events (no AWS, no sockets)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from webhook_intake.consumer.normalizing import PoisonRecordError
from webhook_intake.delivery import Delivery
from webhook_intake.registry import VENDORS, vendor
from webhook_intake.taxonomy import EVENT_TYPES

pytestmark = pytest.mark.usefixtures("no_network")

EVENTS = Path(__file__).resolve().parents[2] / "events"
RECEIVED = "2026-11-23T10:00:00.000Z"


def delivery(vendor_key: str, **kwargs: Any) -> Delivery:
    defaults: dict[str, Any] = {
        "vendor": vendor_key,
        "received_at": RECEIVED,
        "correlation_id": "corr-1",
        "method": "POST",
        "path": "/",
    }
    return Delivery(**{**defaults, **kwargs})


def normalize(vendor_key: str, body: str | dict[str, Any], **kwargs: Any) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    return vendor(vendor_key).normalizer().normalize(text, delivery(vendor_key, **kwargs))


def sample(path: str) -> dict[str, Any]:
    return json.loads((EVENTS / path).read_text())


def test_viafoura_engagement_splits_a_batch_into_events() -> None:
    body = sample("viafoura-engagement/livecomment_post.json")
    result = normalize("viafoura-engagement", body)
    assert result.errors == []
    assert len(result.events) == len(body["events"]) == 14
    first = result.events[0]
    assert first.event_id == "40139ef3-7522-468b-a72c-6b694844a184"
    assert (first.event_type, first.source_type) == ("comment.created", "livecomment_post.created")
    assert first.occurred_at == "2026-03-14T18:02:11.104Z"
    assert first.actor is not None and first.actor.id == "00000000-0000-4000-8000-04047b98ed00"
    assert first.content is not None and first.content.id == "a60db8cb-fe49-42d4-83f7-612414a39049"
    assert first.container is not None and first.container.id == "b9c54482-9734-47ef-964f-d7b376f0d4fd"
    assert first.site is not None and first.site.id == "00000000-0000-4000-8000-0000000012a7"
    assert first.raw == body["events"][0]
    assert (first.received_at, first.correlation_id) == (RECEIVED, "corr-1")


def test_viafoura_engagement_maps_every_documented_action() -> None:
    types = {
        event.source_type: event.event_type
        for path in sorted((EVENTS / "viafoura-engagement").glob("*.json"))
        for event in normalize("viafoura-engagement", json.loads(path.read_text())).events
    }
    assert len(types) == 35
    assert "other" not in types.values()
    assert types["livecomment_post.liked"] == "comment.liked"
    assert types["livecomment_post.disabled"] == "comment.rejected"
    assert types["reply_to_livecomment_post.created"] == "reply.created"
    assert types["chat_message.visible"] == "chat_message.approved"
    assert types["liveblog_post.picked"] == "liveblog_post.picked"


def test_a_vendor_type_not_in_the_taxonomy_is_kept_as_other() -> None:
    body = {"events": [{"event_uuid": "e", "message_type": "poll_vote", "action": "cast", "time": 1}]}
    (event,) = normalize("viafoura-engagement", body).events
    assert (event.event_type, event.source_type) == ("other", "poll_vote.cast")


def test_one_bad_event_in_a_batch_is_reported_without_its_values_and_the_rest_normalize() -> None:
    body = {
        "events": [
            {"event_uuid": "good", "message_type": "livecomment_post", "action": "liked"},
            {"message_type": "livecomment_post", "action": "liked", "secret_text": "do-not-echo-me"},
        ]
    }
    result = normalize("viafoura-engagement", body)
    assert [event.event_id for event in result.events] == ["good"]
    assert len(result.errors) == 1
    assert "event_uuid" in result.errors[0]
    assert "do-not-echo-me" not in result.errors[0]


def test_unknown_fields_are_kept_in_raw() -> None:
    body = {"events": [{"event_uuid": "e", "message_type": "livecomment_post", "action": "liked", "new_field": [1]}]}
    (event,) = normalize("viafoura-engagement", body).events
    assert event.raw["new_field"] == [1]


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"no_events": true}'])
def test_a_body_that_is_not_a_batch_is_a_poison_record(body: str) -> None:
    with pytest.raises(PoisonRecordError):
        normalize("viafoura-engagement", body)


def test_viafoura_notifications_reads_users_and_numeric_ids() -> None:
    body = sample("viafoura-notifications/like.json")
    (event,) = normalize("viafoura-notifications", body).events
    note = body["notifications"][0]
    assert event.event_id == note["notification_uuid"]
    assert (event.event_type, event.source_type) == ("comment.liked", "like")
    assert event.actor is not None and event.actor.id == note["user"]["viafoura_id"]["uuid"]
    assert event.actor.name == "Bob"
    assert [r.id for r in event.recipients] == ["00000000-0000-4000-8000-031ae837bd00"]
    assert event.content is not None and event.content.id == "b9b6d109-630e-4305-8939-b65aaf3da85e"
    assert event.occurred_at == "2024-07-04T20:01:56.045Z"


def test_viafoura_notifications_accepts_numeric_notification_uuids() -> None:
    body = {"notifications": [{"notification_type": "follow", "notification_uuid": 12345, "time": 1714244587448}]}
    (event,) = normalize("viafoura-notifications", body).events
    assert (event.event_id, event.event_type) == ("12345", "user.followed")


def test_openweb_reply_is_about_the_reply_with_its_parent_comment() -> None:
    body = sample("openweb/replied-message.json")
    (event,) = normalize("openweb", body).events
    assert event.event_id == body["event_id"]
    assert (event.event_type, event.source_type) == ("reply.created", "replied-message")
    assert event.actor is not None and event.actor.id == "u_fL6N8gmPanyW"
    assert [r.id for r in event.recipients] == ["u_D7Mheim8Zq9w"]
    assert event.content is not None
    assert event.content.id == "sp_Q9xT4mWz_school-budget-2026_r_3g1uvVV6uoYqSd"
    assert event.content.parent_id == "sp_Q9xT4mWz_school-budget-2026_c_ylHevupZAcuPJR"
    assert event.container is not None and event.container.id == "sp_Q9xT4mWz_school-budget-2026"
    assert event.occurred_at == "2026-06-15T18:20:44.000Z"


def test_openweb_user_followed_without_a_timestamp_uses_the_received_time() -> None:
    (event,) = normalize("openweb", sample("openweb/user-followed.json")).events
    assert event.event_type == "user.followed"
    assert event.occurred_at == RECEIVED


def test_fastcomments_reply_id_is_comment_event_and_body_hash() -> None:
    body = sample("fastcomments/comment-created.reply.json")
    (event,) = normalize(
        "fastcomments",
        body,
        path="/webhooks/fastcomments/comment-created",
        path_parameters={"event": "comment-created"},
    ).events
    comment_id, source_type, digest = event.event_id.split(":")
    assert (comment_id, source_type, len(digest)) == ("bW6hJ1sXaP", "comment-created", 32)
    assert event.event_type == "reply.created"
    assert event.occurred_at == "2026-07-02T10:03:51.742Z"
    assert event.actor is not None and event.actor.id == "Lq7Vx2Rb:bob-example"
    assert event.content is not None and event.content.parent_id == "nK3vQ8zTfR"
    # The commenter's e-mail stays in raw only: it is not part of the normalized actor.
    assert "bob@example.com" not in event.model_dump_json(exclude={"raw"})


def test_fastcomments_same_body_with_other_whitespace_is_the_same_event() -> None:
    body = sample("fastcomments/comment-updated.json")
    params = {"path_parameters": {"event": "comment-updated"}}
    compact = normalize("fastcomments", json.dumps(body, separators=(",", ":")), **params).events[0]
    spaced = normalize("fastcomments", json.dumps(body, indent=4), **params).events[0]
    assert compact.event_id == spaced.event_id


def test_fastcomments_update_time_is_the_signing_time() -> None:
    (event,) = normalize(
        "fastcomments",
        sample("fastcomments/comment-updated.json"),
        path_parameters={"event": "comment-updated"},
        headers={"x-fastcomments-timestamp": "1790000000"},
    ).events
    assert event.occurred_at == "2026-09-21T14:13:20.000Z"


def test_firstup_flat_and_legacy_forms() -> None:
    (flat,) = normalize("firstup", sample("firstup/content_review_approved.json")).events
    assert (flat.event_id, flat.event_type) == ("13229708-f99e-4016-abbf-7914dccdc644", "content.review_approved")
    assert flat.actor is not None and (flat.actor.id, flat.actor.role) == ("25731", "reviewer")
    assert flat.content is not None and flat.content.id == "25120469"
    assert flat.occurred_at == "2026-08-02T11:12:48.000Z"
    legacy_body = sample("firstup/legacy-content.published.json")
    (legacy,) = normalize("firstup", legacy_body).events
    assert (legacy.event_type, legacy.source_type) == ("content.published", "content_published")
    assert legacy.event_id == legacy_body["id"]


def test_firstup_ping_is_recorded_with_the_delivery_id() -> None:
    (event,) = normalize("firstup", {"ping": True}, headers={"x-socialchorus-delivery": "d-1"}).events
    assert (event.event_type, event.event_id, event.delivery_id) == ("webhook.ping", "d-1", "d-1")


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_every_mapped_type_is_in_the_documented_taxonomy(vendor_key: str) -> None:
    mapped = set(vendor(vendor_key).normalizer().type_map.values())
    assert mapped <= set(EVENT_TYPES)


def test_docs_list_every_event_type() -> None:
    doc = (EVENTS.parent / "docs" / "event-types.md").read_text()
    missing = [name for name in EVENT_TYPES if f"`{name}`" not in doc]
    assert missing == []
