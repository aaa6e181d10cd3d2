"""OpenWeb, FastComments and Firstup deliveries other than the samples: optional fields empty or null."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.helpers import SUCCESS, listed, quarantined, reader, sample_document, send_body, stored

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def _stored(runtime: LocalRuntime, vendor_key: str, event_id: str) -> dict[str, Any]:
    event = reader(runtime).get(vendor_key, event_id)
    assert event is not None, event_id
    return event


def test_empty_strings_in_optional_openweb_fields_are_stored_as_absent(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an OpenWeb like whose optional fields OpenWeb sent as empty strings
    event = sample_document("openweb", "liked-message")
    event["event_id"] = "variant-empty-strings"
    event["action_link"] = ""
    event["conversation_title"] = ""
    event["liker"]["sso_user_id"] = ""
    event["liker"]["display_name"] = ""
    event["user"]["sso_user_id"] = ""

    # When it is delivered and consumed
    response = send_body(shared_runtime, "openweb", event, secrets["openweb"])
    assert response.status == SUCCESS["openweb"], response.body
    shared_runtime.drain()

    # Then the stored event names no empty value: each such field is absent, the others as sent
    kept = _stored(shared_runtime, "openweb", "variant-empty-strings")
    assert kept["actor"] == {"id": "u_5pE7whu23OeW", "name": "guest_7261", "role": "actor"}
    assert kept["recipients"] == [{"id": "u_D7Mheim8Zq9w", "name": "Alice Example", "role": "recipient"}]
    assert "url" not in kept["content"]
    assert kept["container"] == {"id": "sp_Q9xT4mWz_harbor-bridge-2026"}


def test_a_fastcomments_comment_whose_parent_id_is_empty_is_a_comment_with_no_parent(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a top-level comment whose parentId, userId and url FastComments sent as empty strings
    comment = sample_document("fastcomments", "comment-created")
    comment.update(id="variant-empty-parent", parentId="", userId="", url="")

    # When it is delivered and consumed
    response = send_body(shared_runtime, "fastcomments", comment, secrets["fastcomments"], event="comment-created")
    assert response.status == SUCCESS["fastcomments"], response.body
    shared_runtime.drain()

    # Then it is a comment, with neither a parent nor an author id nor a URL
    state = reader(shared_runtime).state("fastcomments", "variant-empty-parent")
    assert state is not None
    kept = state.event
    assert kept["event_type"] == "comment.created"
    assert kept["content"]["type"] == "comment"
    assert {"parent_id", "author_id", "url"}.isdisjoint(kept["content"])
    assert kept["actor"] == {"name": "Alice Example", "role": "author"}
    assert kept["container"] == {"id": "news.example.com/2026/07/02/riverside-park-redesign"}
    assert not quarantined(shared_runtime, "fastcomments")


def test_null_lists_are_stored_as_empty_and_not_named_as_fields_left_out(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an OpenWeb like and a Firstup publication whose optional lists their vendors sent as null
    like = sample_document("openweb", "liked-message")
    like.update(event_id="variant-null-lists", channels=None)
    like["comment"]["content"] = None
    published = sample_document("firstup", "content_published")
    published.update(id="variant-null-lists", channel_ids=None)

    # When they are delivered and consumed
    for vendor_key, event in (("openweb", like), ("firstup", published)):
        response = send_body(shared_runtime, vendor_key, event, secrets[vendor_key])
        assert response.status == SUCCESS[vendor_key], response.body
    shared_runtime.drain()

    # Then each is stored with the rest of its fields, and no field is named as left out for its type
    stored_like = _stored(shared_runtime, "openweb", "variant-null-lists")
    assert stored_like["content"]["id"] == like["comment"]["comment_id"]
    assert "text" not in stored_like["content"]
    assert not stored_like.get("dropped")
    (stored_published,) = [
        event for event in stored(shared_runtime, "firstup") if event["event_id"].startswith("variant-null-lists:")
    ]
    assert stored_published["content"]["id"] == str(published["content_id"])
    assert "container" not in stored_published
    assert not stored_published.get("dropped")


def test_firstup_older_envelope_as_its_page_shows_it_is_found_by_the_content_it_names(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given Firstup's own example of the older envelope (its "automated content sharing" page): the post's id,
    # title and URL in data, written contentId, title, url
    example = {
        "event": "content.published",
        "timestamp": "2025-03-26T12:34:56Z",
        "data": {
            "contentId": "12345",
            "title": "Exciting Company Update!",
            "summary": "We're thrilled to announce a major company milestone...",
            "url": "https://your.firstup.io/content/12345",
            "author": {"name": "Jane Doe", "email": "jane.doe@example.com"},
            "publishedAt": "2025-03-26T12:30:00Z",
        },
    }

    # When it is delivered and consumed
    response = send_body(
        shared_runtime, "firstup", example, secrets["firstup"], headers={"x-socialchorus-delivery": "variant-camel-1"}
    )
    assert response.status == SUCCESS["firstup"], response.body
    shared_runtime.drain()

    # Then a read by that content finds it, the post's title and URL with it, dated by the event's timestamp
    (kept,) = listed(shared_runtime, vendor="firstup", content="12345")
    assert kept["event_id"].startswith("variant-camel-1:content_published:")
    event = _stored(shared_runtime, "firstup", kept["event_id"])
    assert event["content"] == {
        "id": "12345",
        "type": "content",
        "title": "Exciting Company Update!",
        "url": "https://your.firstup.io/content/12345",
    }
    assert event["occurred_at"] == "2025-03-26T12:34:56.000Z"
    assert not quarantined(shared_runtime, "firstup")


def test_an_openweb_followee_reply_is_dated_when_the_reply_was_posted_not_the_comment_it_answers(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a followee-commented event for a reply ("someone you follow commented or replied"), carrying
    # the followee's reply beside the comment it answers, posted four months apart
    event = sample_document("openweb", "followee-commented")
    event["event_id"] = "variant-followee-reply"
    event["reply"] = {
        "content": [{"type": "text", "text": "It was worth the wait."}],
        "comment_id": "sp_Q9xT4mWz_harbor-bridge-2026_r_7qGm2Lx8VbNcTe",
        "type": "reply",
        "timestamp": 1791290000,
    }

    # When it is delivered and consumed
    response = send_body(shared_runtime, "openweb", event, secrets["openweb"])
    assert response.status == SUCCESS["openweb"], response.body
    shared_runtime.drain()

    # Then the event is the reply, dated when the reply was posted, as a replied-message is
    kept = _stored(shared_runtime, "openweb", "variant-followee-reply")
    assert kept["content"]["id"] == "sp_Q9xT4mWz_harbor-bridge-2026_r_7qGm2Lx8VbNcTe"
    assert kept["content"]["parent_id"] == event["comment"]["comment_id"]
    assert kept["occurred_at"] == kept["content"]["created_at"] == "2026-10-06T12:33:20.000Z"
    assert kept["time_source"] == "vendor"


def test_firstup_notifications_about_a_channel_are_found_by_that_channel(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given Firstup's user notifications of the categories its page documents with a channel: a user made to follow
    # a channel, a user added to a channel's contributors, and a push published to a channel
    created = sample_document("firstup", "user_notification_created.documented")
    categories = {
        "channel_auto_follow": {
            "content_channel_id": 23897,
            "content_channel_name": "My Feed",
            "content_channel_ids": [23897],
            "channels_count": 1,
        },
        "channel_contributor_added": {"content_channel_id": 23897, "content_channel_name": "My Feed"},
        "push": {
            "channel_id": 2038475,
            "content_id": 8999237,
            "tracking_id": 123412,
            "message": "Notification message",
        },
    }

    # When each is delivered and consumed
    for category, details in categories.items():
        event = {**created, "id": f"variant-channel-{category}", "category": category, "details": details}
        response = send_body(shared_runtime, "firstup", event, secrets["firstup"])
        assert response.status == SUCCESS["firstup"], response.body
    shared_runtime.drain()

    # Then a read by each channel finds the notifications about it, the channel named as a channel event names it
    followed = listed(shared_runtime, vendor="firstup", container="23897")
    assert sorted(entry["event_id"].split(":")[0] for entry in followed) == [
        "variant-channel-channel_auto_follow",
        "variant-channel-channel_contributor_added",
    ]
    assert {_stored(shared_runtime, "firstup", entry["event_id"])["container"]["title"] for entry in followed} == {
        "My Feed"
    }
    (pushed,) = listed(shared_runtime, vendor="firstup", container="2038475")
    assert pushed["event_id"].startswith("variant-channel-push:")
    assert _stored(shared_runtime, "firstup", pushed["event_id"])["container"] == {"id": "2038475"}


def test_an_openweb_event_names_the_spot_its_conversation_belongs_to_as_its_site(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given OpenWeb's like, whose conversation_id is "a combination of the Spot ID and post ID" (a post id holding
    # underscores of its own), and its page's own example, whose conversation id is a placeholder naming no spot
    like = sample_document("openweb", "liked-message")
    like.update(event_id="variant-spot", conversation_id="sp_Q9xT4mWz_harbor_bridge_2026")
    documented = sample_document("openweb", "liked-message.documented")
    documented["event_id"] = "variant-spot-placeholder"

    # When they are delivered and consumed
    for event in (like, documented):
        response = send_body(shared_runtime, "openweb", event, secrets["openweb"])
        assert response.status == SUCCESS["openweb"], response.body
    shared_runtime.drain()

    # Then the like's site is its spot, its container the whole conversation; the placeholder names no site
    kept = _stored(shared_runtime, "openweb", "variant-spot")
    assert kept["site"] == {"id": "sp_Q9xT4mWz"}
    assert kept["container"]["id"] == "sp_Q9xT4mWz_harbor_bridge_2026"
    assert "site" not in _stored(shared_runtime, "openweb", "variant-spot-placeholder")


def test_a_firstup_channel_id_sent_as_white_space_leaves_the_next_channel_field_as_the_container(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a push notification whose auto-follow channel id is white space alone beside the channel it was pushed
    # to, and a content event whose channel_id is white space alone beside its channel_ids
    created = sample_document("firstup", "user_notification_created.documented")
    push = {
        **created,
        "id": "variant-blank-channel-push",
        "category": "push",
        "details": {"content_channel_id": " ", "channel_id": 2038476, "content_id": 8999237},
    }
    published = {**sample_document("firstup", "content_published"), "id": "variant-blank-channel-published"}
    published |= {"channel_id": "  ", "channel_ids": [16510]}

    # When they are delivered and consumed
    for event in (push, published):
        response = send_body(shared_runtime, "firstup", event, secrets["firstup"])
        assert response.status == SUCCESS["firstup"], response.body
    shared_runtime.drain()

    # Then each is found by the channel it names, as it would be with that id empty or left out
    (pushed,) = listed(shared_runtime, vendor="firstup", container="2038476")
    assert pushed["event_id"].startswith("variant-blank-channel-push:")
    (listed_published,) = listed(shared_runtime, vendor="firstup", container="16510")
    assert listed_published["event_id"].startswith("variant-blank-channel-published:")
    assert _stored(shared_runtime, "firstup", listed_published["event_id"])["container"] == {"id": "16510"}
