"""Each vendor's payload → normalized events: identity, time and mapping as each vendor means them (no AWS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import mapping_fails_on
from webhook_intake.delivery import Delivery
from webhook_intake.registry import VENDORS, vendor
from webhook_intake.taxonomy import EVENT_TYPES
from webhook_intake.text import OUT_OF_RANGE_MESSAGE

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


def engagement(**event: Any) -> dict[str, Any]:
    return {"request_uuid": "r", "events": [{"message_type": "livecomment_post", "action": "liked", **event}]}


def fastcomments(event: str, body: dict[str, Any], **headers: str) -> Any:
    return normalize(
        "fastcomments",
        body,
        path=f"/webhooks/fastcomments/{event}",
        path_parameters={"event": event},
        headers=headers,
    )


# ---------------------------------------------------------------- one bad event never costs its siblings


def test_an_element_that_is_not_an_object_is_rejected_alone_with_its_exact_text() -> None:
    # Given a batch whose second element is a number, between two good events
    body = '{"events": [{"event_uuid": "a", "message_type": "livecomment_post", "action": "liked"}, 42 ,\n'
    body += '{"event_uuid": "c", "message_type": "livecomment_post", "action": "liked"}]}'

    # When it is normalized
    result = normalize("viafoura-engagement", body)

    # Then both good events map and the number is rejected, its own text kept
    assert [event.event_id for event in result.events] == ["a", "c"]
    (rejected,) = result.rejected
    assert (rejected.reason, rejected.index, rejected.text) == ("invalid_event", 1, "42")
    assert json.loads(rejected.envelope) == {}


def test_an_event_its_mapping_fails_on_is_rejected_alone_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a mapping that raises on one event of a batch (an input it did not foresee)
    error = OverflowError("date value out of range: secret-looking-value")
    mapping_fails_on(monkeypatch, "viafoura-engagement", lambda value: value.get("event_uuid") == "b", error)
    body = engagement(event_uuid="a")
    body["events"] += [{**body["events"][0], "event_uuid": "b"}, {**body["events"][0], "event_uuid": "c"}]

    # When the batch is normalized
    result = normalize("viafoura-engagement", body)

    # Then its siblings map, and it is rejected once, named by the failure, not by its values
    assert [event.event_id for event in result.events] == ["a", "c"]
    (rejected,) = result.rejected
    assert (rejected.reason, rejected.index, rejected.event_id) == ("invalid_event", 1, "b")
    assert rejected.message == "the event could not be mapped (OverflowError)"


def test_an_event_without_its_id_is_rejected_without_echoing_its_values() -> None:
    result = normalize(
        "viafoura-engagement",
        {"events": [{"event_uuid": "good", "message_type": "c", "action": "x"}, {"secret_text": "do-not-echo-me"}]},
    )
    assert [event.event_id for event in result.events] == ["good"]
    (rejected,) = result.rejected
    assert rejected.reason == "missing_id"
    assert "event_uuid" in rejected.message
    assert "do-not-echo-me" not in rejected.message


@pytest.mark.parametrize(
    ("body", "reason"),
    [("not json", "invalid_json"), ("[1, 2]", "invalid_envelope"), ('{"no_events": true}', "invalid_envelope")],
)
def test_a_body_that_is_not_a_batch_is_rejected_whole(body: str, reason: str) -> None:
    result = normalize("viafoura-engagement", body)
    assert result.events == []
    ((rejected),) = result.rejected
    assert (rejected.reason, rejected.text, rejected.index) == (reason, body, None)


@pytest.mark.parametrize("vendor_key", ["viafoura-engagement", "openweb"])
def test_a_body_nested_deeper_than_the_ingest_takes_is_rejected_whole(vendor_key: str) -> None:
    # A body the ingest function refuses (a message from before the limit, sent back): 101 levels
    events = {
        "viafoura-engagement": '{"events": [{"event_uuid": "e", "x": %s}]}' % ("[" * 98 + "]" * 98),
        "openweb": '{"event_id": "e", "type": "liked-message", "x": %s}' % ("[" * 100 + "]" * 100),
    }
    result = normalize(vendor_key, events[vendor_key])
    assert result.events == []
    ((rejected),) = result.rejected
    assert (rejected.reason, rejected.message) == ("invalid_json", "body nests arrays or objects more than 100 deep")


def test_a_deep_value_under_a_key_repeated_later_still_counts() -> None:
    # Python keeps the last "x"; the raw event keeps both
    body = '{"event_id": "e", "type": "liked-message", "x": %s, "x": 1}' % ("[" * 200 + "]" * 200)
    ((rejected),) = normalize("openweb", body).rejected
    assert (rejected.reason, rejected.message) == ("invalid_json", "body nests arrays or objects more than 100 deep")


def test_a_batch_body_with_a_key_that_is_no_string_is_not_json() -> None:
    # The ingest function refuses it (400); a message sent back from before must not split
    body = '{"events": [{"event_uuid": "e", "message_type": "livecomment_post", "action": "liked"}], 5: 6}'
    ((rejected),) = normalize("viafoura-engagement", body).rejected
    assert rejected.reason == "invalid_json"


def test_brackets_in_strings_are_not_nesting() -> None:
    (event,) = normalize("openweb", {"event_id": "e", "type": "liked-message", "x": "[{" * 300}).events
    assert event.event_id == "e"


NUMBER_IN_AN_EVENT = {
    "viafoura-engagement": '{"events": [{"event_uuid": "e", "message_type": "livecomment_post", '
    '"action": "liked", "n": %s}]}',
    "openweb": '{"event_id": "e", "type": "liked-message", "n": %s}',
}


@pytest.mark.parametrize("vendor_key", ["viafoura-engagement", "openweb"])
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_in_the_consumer_either(vendor_key: str, constant: str) -> None:
    # A message from before the ingest function refused them, sent back
    result = normalize(vendor_key, NUMBER_IN_AN_EVENT[vendor_key] % constant)
    assert result.events == []
    ((rejected),) = result.rejected
    assert rejected.reason == "invalid_json"


@pytest.mark.parametrize("vendor_key", ["viafoura-engagement", "openweb"])
@pytest.mark.parametrize("number", ["1e400", "-1e400", "9" * 5000])
def test_a_number_out_of_range_is_its_events_fault_in_the_consumer(vendor_key: str, number: str) -> None:
    # JSON all the same (RFC 8259 lets a reader limit numbers): the event holding it is refused, by its id
    body = NUMBER_IN_AN_EVENT[vendor_key] % number
    result = normalize(vendor_key, body)
    assert result.events == []
    ((rejected),) = result.rejected
    assert (rejected.reason, rejected.event_id) == ("invalid_event", "e")
    assert rejected.message == f"event {OUT_OF_RANGE_MESSAGE}"
    assert number in rejected.text


def test_a_field_of_the_wrong_type_costs_the_field_not_the_event() -> None:
    # Given ids and a time sent as objects, where the vendor documents strings and numbers
    body = engagement(event_uuid="e", actor_uuid={"nested": 1}, time="yesterday", page_url=["x"])

    # When normalized
    ((event),) = normalize("viafoura-engagement", body).events

    # Then the event is kept, the odd fields left out (raw keeps them), the time flagged
    assert event.actor is None
    assert (event.time_source, event.time_rejected, event.occurred_at) == ("received", "unreadable", RECEIVED)
    assert json.loads(event.raw)["actor_uuid"] == {"nested": 1}
    assert event.dropped == ("actor_uuid", "page_url", "time")


def test_a_nested_field_of_the_wrong_type_is_left_out_of_the_event_not_out_of_the_parsed_body() -> None:
    # Given an OpenWeb like whose liker's id is an object
    body = {"event_id": "e", "type": "liked-message", "liker": {"user_id": {"x": 1}, "display_name": "A"}}
    result = vendor("openweb").normalizer().normalize(json.dumps(body), delivery("openweb"))

    # Then the event is kept without the id, and the parsed event shape tracking reads is as sent
    ((mapped),) = result.mapped
    assert mapped.event.actor is not None
    assert mapped.event.actor.id is None
    assert mapped.event.dropped == ("liker.user_id",)
    assert mapped.document == body


def test_malformed_entries_of_a_list_are_named_once_and_their_siblings_kept() -> None:
    # Given a FastComments comment whose 300 mentions are all malformed but one
    mentions = [{"id": {"x": n}, "tag": "@a"} for n in range(300)] + [{"id": "u-1", "tag": "@b"}]
    body = {"id": "c-1", "comment": "hi", "mentions": mentions}

    # When normalized
    (event,) = fastcomments("comment-created", body).events

    # Then every mention is a recipient (the bad ones by their tag alone), and the bad ids are one name
    assert [party.id for party in event.recipients] == [None] * 300 + ["u-1"]
    assert event.dropped == ("mentions.*.id",)


@pytest.mark.parametrize("bad", [[1, 2], ["a", None], [[1], "b", 3]])
def test_recipients_that_are_not_objects_cost_only_themselves(bad: list[Any]) -> None:
    # Given a notification whose recipient list holds entries that are not users, before and between good ones
    good = [{"viafoura_id": {"uuid": f"00000000-0000-4000-8000-00000000000{n}"}, "name": f"U{n}"} for n in (1, 2)]
    recipients = [*bad[:1], good[0], *bad[1:], good[1]]
    body = {"notifications": [{"notification_uuid": "n-1", "notification_type": "reply", "recipients": recipients}]}

    # When normalized
    (event,) = normalize("viafoura-notifications", body).events

    # Then both users are recipients, in order, and the bad entries are named once
    assert [party.name for party in event.recipients] == ["U1", "U2"]
    assert event.dropped == ("recipients.*",)


def test_an_event_with_every_field_of_its_type_has_nothing_dropped() -> None:
    (event,) = normalize("viafoura-engagement", engagement(event_uuid="e", actor_uuid="u")).events
    assert event.dropped == ()


def test_unknown_fields_are_kept_in_raw() -> None:
    (event,) = normalize("viafoura-engagement", engagement(event_uuid="e", new_field=[1])).events
    assert json.loads(event.raw)["new_field"] == [1]


def test_a_vendor_type_not_in_the_taxonomy_is_kept_as_other() -> None:
    body = {"events": [{"event_uuid": "e", "message_type": "poll_vote", "action": "cast", "time": 1790000000000}]}
    (event,) = normalize("viafoura-engagement", body).events
    assert (event.event_type, event.source_type) == ("other", "poll_vote.cast")


# ---------------------------------------------------------------- the time model


@pytest.mark.parametrize(
    ("stated", "occurred_at", "source", "rejected"),
    [
        (1_790_000_000_000, "2026-09-21T14:13:20.000Z", "vendor", None),
        (None, RECEIVED, "received", None),
        # Ahead of our clock by more than the tolerance: not trusted for ordering.
        (1_830_000_000_000, RECEIVED, "received", "future"),
        (-5e13, RECEIVED, "received", "before_2000"),
        (946_684_799_999, RECEIVED, "received", "before_2000"),
        (946_684_800_000, "2000-01-01T00:00:00.000Z", "vendor", None),
        ("NaN", RECEIVED, "received", "unreadable"),  # as text: a bare NaN is not JSON
        (10**30, RECEIVED, "received", "unreadable"),
    ],
    ids=["vendor-time", "no-time", "future", "year-385", "just-before-2000", "2000", "nan", "out-of-range"],
)
def test_the_vendor_time_is_used_only_when_it_can_order_events(
    stated: float | None, occurred_at: str, source: str, rejected: str | None
) -> None:
    body = {"events": [{"event_uuid": "e", "message_type": "livecomment_post", "action": "liked", "time": stated}]}
    (event,) = normalize("viafoura-engagement", body).events
    assert (event.occurred_at, event.time_source, event.time_rejected) == (occurred_at, source, rejected)


def test_a_time_a_few_minutes_ahead_is_trusted() -> None:
    ahead = 1_795_428_000_000 + 240_000  # 2026-11-23T10:04:00Z against a receive time of 10:00
    (event,) = normalize("viafoura-engagement", engagement(event_uuid="e", time=ahead)).events
    assert (event.occurred_at, event.time_source) == ("2026-11-23T10:04:00.000Z", "vendor")


@pytest.mark.parametrize(
    ("ahead_ms", "source", "rejected"),
    [(300_000, "vendor", None), (300_001, "received", "future")],
    ids=["five-minutes-ahead", "a-millisecond-more"],
)
def test_a_time_five_minutes_ahead_is_trusted_and_one_a_millisecond_further_is_not(
    ahead_ms: int, source: str, rejected: str | None
) -> None:
    # Against a receive time of 2026-11-23T10:00:00Z
    (event,) = normalize("viafoura-engagement", engagement(event_uuid="e", time=1_795_428_000_000 + ahead_ms)).events
    assert (event.time_source, event.time_rejected) == (source, rejected)


def test_every_time_is_zero_padded_and_sorts_as_text() -> None:
    (event,) = normalize("viafoura-engagement", engagement(event_uuid="e", time=978_307_200_000)).events
    assert event.occurred_at == "2001-01-01T00:00:00.000Z"
    assert sorted([event.occurred_at, RECEIVED]) == [event.occurred_at, RECEIVED]


def test_an_engagement_event_without_its_own_time_takes_the_batch_time() -> None:
    body = {
        "time": 1_790_000_000_000,
        "events": [{"event_uuid": "e", "message_type": "chat_message", "action": "created"}],
    }
    (event,) = normalize("viafoura-engagement", body).events
    assert event.occurred_at == "2026-09-21T14:13:20.000Z"


@pytest.mark.parametrize(
    ("sample_name", "expected"),
    [
        ("liked-message.json", "received"),
        ("message-approved.json", "received"),
        ("message-rejected.json", "received"),
        ("user-mentioned.json", "received"),
        ("replied-message.json", "vendor"),
        ("followee-commented.json", "vendor"),
        ("topic-by-author.json", "vendor"),
    ],
)
def test_openweb_dates_only_what_the_comment_time_is_the_time_of(sample_name: str, expected: str) -> None:
    # OpenWeb's comment.timestamp is "the time of the comment or reply", not of a like or approval.
    body = sample(f"openweb/{sample_name}")
    (event,) = normalize("openweb", body).events
    assert event.time_source == expected
    comment = body.get("reply") or body.get("comment")
    if comment is not None:
        assert event.content.created_at is not None
        assert event.content.created_at.startswith(("2026-", "2022-"))
    if expected == "received":
        assert event.occurred_at == RECEIVED


@pytest.mark.parametrize("stated", [True, False, "soon", None])
def test_an_openweb_comment_time_that_is_no_time_is_not_its_creation_time(stated: Any) -> None:
    body = sample("openweb/replied-message.json")
    body["reply"]["timestamp"] = stated
    (event,) = normalize("openweb", body).events
    assert event.content is not None
    assert event.content.created_at is None
    assert event.occurred_at == RECEIVED


def test_a_fastcomments_update_by_legacy_token_is_dated_when_received_not_when_the_comment_was_made() -> None:
    body = sample("fastcomments/comment-updated.json")
    (event,) = fastcomments("comment-updated", body).events
    assert (event.occurred_at, event.time_source) == (RECEIVED, "received")
    assert event.content.created_at == "2026-07-02T09:14:26.318Z"


def test_a_signed_fastcomments_update_is_dated_when_it_was_signed() -> None:
    body = sample("fastcomments/comment-updated.json")
    (event,) = fastcomments("comment-updated", body, **{"x-fastcomments-timestamp": "1795427880"}).events
    assert (event.occurred_at, event.time_source) == ("2026-11-23T09:58:00.000Z", "vendor")


@pytest.mark.parametrize(
    "date",
    # epoch milliseconds, whose digits also read as a compact ISO date (1796-08-24) when taken as text
    [True, False, {"$date": "2026-07-02T09:14:26.318Z"}, ["x"], 1782983666318, 1796082430000, "1796082430000", "soon"],
)
def test_a_fastcomments_create_whose_date_is_no_time_is_dated_when_received_not_when_signed(date: Any) -> None:
    # Given a signed create whose date cannot be read, whatever its JSON type
    body = {**sample("fastcomments/comment-created.json"), "date": date}
    (event,) = fastcomments("comment-created", body, **{"x-fastcomments-timestamp": "1795427880"}).events

    # Then the date is rejected as unreadable and the receive time stands, never the signing time
    assert (event.occurred_at, event.time_source, event.time_rejected) == (RECEIVED, "received", "unreadable")
    assert event.content.created_at is None


def test_a_signed_fastcomments_create_without_a_date_is_dated_when_it_was_signed() -> None:
    body = {key: value for key, value in sample("fastcomments/comment-created.json").items() if key != "date"}
    (event,) = fastcomments("comment-created", body, **{"x-fastcomments-timestamp": "1795427880"}).events
    assert (event.occurred_at, event.time_source, event.time_rejected) == ("2026-11-23T09:58:00.000Z", "vendor", None)


def test_a_fastcomments_create_is_dated_by_the_comment_it_creates() -> None:
    (event,) = fastcomments("comment-created", sample("fastcomments/comment-created.json")).events
    assert (event.occurred_at, event.time_source) == ("2026-07-02T09:14:26.318Z", "vendor")


@pytest.mark.parametrize("date", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("event_name", ["comment-created", "comment-updated"])
def test_a_fastcomments_date_beyond_what_utc_can_write_is_unreadable_not_a_failure(event_name: str, date: str) -> None:
    body = {**sample("fastcomments/comment-created.json"), "date": date}
    (event,) = fastcomments(event_name, body).events
    assert (event.occurred_at, event.time_source) == (RECEIVED, "received")
    assert event.content.created_at is None
    if event_name == "comment-created":
        assert event.time_rejected == "unreadable"


@pytest.mark.parametrize(
    ("stated", "occurred_at"),
    [
        ("2026-11-01T10:00:00", "2026-11-01T10:00:00.000Z"),
        ("2026-11-01T10:00:00.5", "2026-11-01T10:00:00.500Z"),
        ("2026-11-01T12:00:00+02:00", "2026-11-01T10:00:00.000Z"),
    ],
    ids=["no offset", "no offset, a fraction", "an offset"],
)
def test_a_firstup_timestamp_without_an_offset_is_read_as_utc(stated: str, occurred_at: str) -> None:
    body = {**sample("firstup/content_published.json"), "timestamp": stated}
    (event,) = normalize("firstup", body).events
    assert (event.occurred_at, event.time_source, event.time_rejected) == (occurred_at, "vendor", None)


# ---------------------------------------------------------------- identity


def test_firstup_examples_that_share_an_id_are_different_events() -> None:
    # Given Firstup's own examples: one id for content_updated and the user notifications
    documented = ["content_updated", "user_notification_created", "user_notification_updated"]
    events = [normalize("firstup", sample(f"firstup/{name}.documented.json")).events[0] for name in documented]

    # Then each is its own event, and its id still starts with Firstup's
    assert len({event.event_id for event in events}) == 3
    assert all(event.event_id.startswith("e9275cd6-c39f-4308-939f-f1e6dd5339ee:") for event in events)


def test_a_firstup_retry_of_the_same_event_has_the_same_identity() -> None:
    body = sample("firstup/content_published.json")
    first = normalize("firstup", json.dumps(body)).events[0]
    again = normalize("firstup", json.dumps(body, indent=3), headers={"x-socialchorus-delivery": "another"}).events[0]
    assert first.event_id == again.event_id


def test_fastcomments_same_body_with_other_whitespace_is_the_same_event() -> None:
    body = sample("fastcomments/comment-updated.json")
    compact = fastcomments("comment-updated", body).events[0]
    spaced = normalize("fastcomments", json.dumps(body, indent=4), path_parameters={"event": "comment-updated"}).events[
        0
    ]
    assert compact.event_id == spaced.event_id


def test_fastcomments_without_a_route_event_is_rejected_not_guessed() -> None:
    result = normalize("fastcomments", sample("fastcomments/comment-created.json"))
    assert result.events == []
    assert [rejected.reason for rejected in result.rejected] == ["invalid_event"]


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_numeric_ids_are_text(vendor_key: str) -> None:
    spec = VENDORS[vendor_key]
    event = {spec.id_field: 12345, **{name: "x" for name in spec.required}, "name": "content_published"}
    body = {spec.batch_field: [event]} if spec.batch_field else event
    params = {"path_parameters": {"event": "comment-created"}} if vendor_key == "fastcomments" else {}
    (normalized,) = normalize(vendor_key, body, **params).events
    assert normalized.event_id.startswith("12345")


# ---------------------------------------------------------------- mapping, on the vendors' own examples


def test_viafoura_follow_is_no_content_and_its_url_is_the_followers_profile() -> None:
    (event,) = normalize("viafoura-notifications", sample("viafoura-notifications/follow.json")).events
    assert event.event_type == "user.followed"
    assert event.content is None
    assert event.actor.url.endswith("/profile/00000000-0000-4000-8000-060721b44500")


@pytest.mark.parametrize(
    ("external", "expected"),
    [
        ({"provider": "janrain", "id": "f00b4r"}, "janrain:f00b4r"),
        ({"id": "f00b4r"}, "f00b4r"),
        ({"provider": None, "id": 42}, "42"),
        ({"provider": "janrain", "id": None}, None),
    ],
)
def test_a_viafoura_users_external_id_names_its_provider_only_when_given(
    external: dict[str, Any], expected: str | None
) -> None:
    user = {"name": "Eve", "viafoura_id": {"uuid": "u-eve"}, "external_id": external}
    note = {"notification_uuid": "ext-1", "notification_type": "follow", "user": user, "recipients": [user]}
    (event,) = normalize("viafoura-notifications", {"notifications": [note]}).events
    assert event.actor.external_id == expected
    assert [party.external_id for party in event.recipients] == [expected]


def test_viafoura_broadcast_title_is_the_broadcasts_not_the_containers() -> None:
    (event,) = normalize("viafoura-notifications", sample("viafoura-notifications/broadcast_site.json")).events
    assert (event.content.type, event.content.title, event.content.text) == (
        "broadcast",
        "Title",
        "Description content here.",
    )
    assert event.content.image_urls == ("https://cdn.example.com/image.jpg",)
    assert event.container is None


def test_viafoura_like_has_no_parent_pointing_at_itself() -> None:
    (event,) = normalize("viafoura-notifications", sample("viafoura-notifications/like.json")).events
    assert event.content.id == "b9b6d109-630e-4305-8939-b65aaf3da85e"
    assert event.content.parent_id is None


def test_a_viafoura_like_names_its_one_recipient_as_the_author_and_none_among_several() -> None:
    body = sample("viafoura-notifications/like.json")
    (note,) = body["notifications"]
    (event,) = normalize("viafoura-notifications", body).events
    assert event.content.author_id == note["recipients"][0]["viafoura_id"]["uuid"]
    # Liked "another user's content": with two recipients, which of them wrote it is not said
    note["recipients"].append({"name": "Dan", "viafoura_id": {"uuid": "00000000-0000-4000-8000-0000000d0a00"}})
    (event,) = normalize("viafoura-notifications", body).events
    assert event.content.author_id is None


def test_viafoura_reply_names_the_comment_it_answers() -> None:
    body = sample("viafoura-notifications/reply.json")
    (event,) = normalize("viafoura-notifications", body).events
    payload = body["notifications"][0]["payload"]
    assert (event.content.type, event.content.parent_id) == ("reply", payload["target_content_uuid"])


def test_viafoura_multi_recipient_notifications_keep_every_recipient() -> None:
    (event,) = normalize("viafoura-notifications", sample("viafoura-notifications/subscribed_page_content.json")).events
    assert [party.id for party in event.recipients] == [
        "00000000-0000-4000-8000-04047b98ed00",
        "00000000-0000-4000-8000-0315a5271b00",
    ]


def test_openweb_user_followed_link_is_the_followers_profile_not_an_article() -> None:
    (event,) = normalize("openweb", sample("openweb/user-followed.json")).events
    assert event.content is None
    assert event.actor.id == "u_jugx5j6Ais1i"
    assert event.actor.url == "https://news.example.com/2026/06/08/harbor-bridge-reopens"


@pytest.mark.parametrize(
    ("sample_name", "spelling"),
    [("liked-message", "liked-messages"), ("replied-message", "replied-your-message")],
)
def test_openweb_other_spellings_of_a_type_map_as_the_type_does(sample_name: str, spelling: str) -> None:
    usual = sample(f"openweb/{sample_name}.json")
    (expected,) = normalize("openweb", usual).events
    (event,) = normalize("openweb", {**usual, "type": spelling}).events
    assert (event.event_type, event.source_type) == (expected.event_type, spelling)
    assert event.actor == expected.actor
    assert (event.occurred_at, event.time_source) == (expected.occurred_at, expected.time_source)
    assert event.actor is not None
    assert event.content == expected.content
    # Without the reply object too, the content is what the usual spelling makes of it
    bare = {key: value for key, value in usual.items() if key != "reply"}
    (expected,) = normalize("openweb", bare).events
    (event,) = normalize("openweb", {**bare, "type": spelling}).events
    assert event.content == expected.content


@pytest.mark.parametrize(
    ("sample_name", "author"),
    [
        ("followee-commented", "followee"),
        ("liked-message", "user"),
        ("message-approved", "user"),
        ("message-auto-approved", "user"),
        ("message-rejected", "user"),
        ("replied-message", "replier"),
        ("user-mentioned", "mentioner"),
    ],
)
def test_openweb_content_names_its_author_as_the_page_describes_each_party(sample_name: str, author: str) -> None:
    # OpenWeb's page: the liker liked "a message written by the notification recipient", the replier
    # "replied to a comment written by the notification recipient", the followee "commented or
    # replied", the mentioner "mentioned the notification recipient within a comment"
    body = sample(f"openweb/{sample_name}.json")

    (event,) = normalize("openweb", body).events

    assert event.content.author_id == body[author]["user_id"]


def test_openweb_comment_images_are_kept() -> None:
    (event,) = normalize("openweb", sample("openweb/liked-message.json")).events
    assert event.content.image_urls == ("https://images.spot.im/image/upload/v1749370000/harbor_bridge_east_pier.jpg",)


def test_openweb_comment_text_is_stored_decoded_and_raw_as_sent() -> None:
    # Given a mention whose comment text OpenWeb sends HTML-encoded, as its page says it does
    body = sample("openweb/user-mentioned.json")
    body["comment"]["content"] = [
        {"type": "text", "text": "Tom &amp; Jerry &lt;3 &quot;hi&quot; &#8211; ok"},
        {"type": "text", "text": "a&nbsp;b"},
    ]
    (event,) = normalize("openweb", body).events
    assert event.content.text == 'Tom & Jerry <3 "hi" \u2013 ok\na\u00a0b'
    assert json.loads(event.raw)["comment"]["content"][0]["text"] == "Tom &amp; Jerry &lt;3 &quot;hi&quot; &#8211; ok"


def test_openweb_comment_content_typed_as_strings_keeps_its_text() -> None:
    # Given a reply whose content parts are plain strings, as OpenWeb's field table types
    # ``content`` ("array[string]"), beside the objects its examples show
    body = sample("openweb/replied-message.json")
    body["reply"]["content"] = ["Tom &amp; Jerry", {"type": "animation", "url": "https://media.example/a.gif"}]

    # When it is normalized
    (event,) = normalize("openweb", body).events

    # Then the text is the reply's text, decoded, and nothing is left out
    assert event.content.text == "Tom & Jerry"
    assert event.content.image_urls == ("https://media.example/a.gif",)
    assert event.dropped == ()


def test_firstup_notification_actor_and_category_come_from_its_details() -> None:
    body = {
        **sample("firstup/user_notification_created.documented.json"),
        "details": {"like_count": 2, "content_id": 2487526, "acting_user_ids": [892374, 23874]},
        "category": "like",
    }
    (event,) = normalize("firstup", body).events
    assert (event.actor.id, event.details["category"]) == ("892374", "like")
    assert event.details["acting_user_ids"] == ("892374", "23874")
    assert [party.id for party in event.recipients] == ["523427"]


def test_a_firstup_notification_created_with_some_of_its_fields_is_a_creation_and_with_none_a_deletion() -> None:
    created = sample("firstup/user_notification_created.documented.json")
    ids_only = {
        key: value
        for key, value in created.items()
        if key not in ("category", "acknowledged", "label", "text", "details")
    }
    some = {**ids_only, "category": "mention"}
    assert [normalize("firstup", body).events[0].event_type for body in (created, some, ids_only)] == [
        "notification.created",
        "notification.created",
        "notification.deleted",
    ]


def test_firstup_review_keeps_the_submitter_beside_the_reviewer() -> None:
    (event,) = normalize("firstup", sample("firstup/content_review_approved.documented.json")).events
    assert (event.actor.id, event.actor.role) == ("25731", "reviewer")
    assert event.content.author_id == "25730"
    assert event.details["submitter_id"] == "25730"


def test_firstup_campaign_and_every_channel_are_kept() -> None:
    (campaign,) = normalize("firstup", sample("firstup/campaign_push_message_sent.documented.json")).events
    assert (campaign.content.type, campaign.content.title) == (
        "campaign",
        "Announce Campaign: Example Content Promotion",
    )
    assert campaign.content.text == "Example text sent to users"
    assert campaign.details["deep_link_resource_id"] == "25120469"
    body = {**sample("firstup/content_published.json"), "channel_ids": [16509, 16510, 16511]}
    (published,) = normalize("firstup", body).events
    assert published.container.id == "16509"
    assert published.details["channel_ids"] == ("16509", "16510", "16511")


def test_firstup_review_channels_are_kept_as_recommended_not_as_published_ones() -> None:
    # Given a post awaiting review, recommended for a channel it is not published to yet
    (pending,) = normalize("firstup", sample("firstup/content_review_pending.documented.json")).events

    # Then the channel is kept as Firstup names it: recommended, neither a channel of the post nor its container
    assert pending.details["recommended_channel_ids"] == ("13434",)
    assert "channel_ids" not in pending.details
    assert pending.container is None


def test_a_fastcomments_test_payload_is_marked_as_a_test() -> None:
    (event,) = fastcomments("comment-deleted", sample("fastcomments/comment-deleted.test-payload.json")).events
    assert event.test is True
    (real,) = fastcomments("comment-deleted", sample("fastcomments/comment-deleted.json")).events
    assert real.test is False
    # Only the delete's test page sends the id alone: a create or an edit of that shape is the vendor's own
    for event_name in ("comment-created", "comment-updated"):
        (sparse,) = fastcomments(event_name, sample("fastcomments/comment-deleted.test-payload.json")).events
        assert sparse.test is False


def test_a_delivery_marked_as_a_test_makes_test_events() -> None:
    (event,) = normalize("openweb", sample("openweb/liked-message.json"), headers={"x-intake-test": "true"}).events
    assert event.test is True


def test_fastcomments_keeps_the_email_in_raw_only() -> None:
    (event,) = fastcomments("comment-created", sample("fastcomments/comment-created.reply.json")).events
    assert "@example.com" not in event.model_dump_json(exclude={"raw"})


@pytest.mark.parametrize("event", ["comment-created", "comment-updated", "comment-deleted"])
def test_a_fastcomments_reply_is_a_reply_in_its_content_too(event: str) -> None:
    # Given a FastComments comment with a parentId (a reply: its events map to reply.*)
    (reply,) = fastcomments(event, sample("fastcomments/comment-created.reply.json")).events
    (comment,) = fastcomments(event, sample("fastcomments/comment-created.json")).events

    # Then its content is typed a reply, as other vendors' replies are; a top-level comment stays a comment
    assert (reply.event_type.partition(".")[0], reply.content.type) == ("reply", "reply")
    assert comment.content.type == "comment"


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_every_mapped_type_is_in_the_documented_taxonomy(vendor_key: str) -> None:
    new = sorted(set(vendor(vendor_key).normalizer().type_map.values()) - set(EVENT_TYPES))
    assert new == [], (
        f"{vendor_key}'s TYPE_MAP maps to {new}, not in webhook_intake/taxonomy.py: add them there and to"
        " docs/event-types.md's taxonomy (docs/adding-a-vendor.md, step 1)"
    )


def test_docs_list_every_event_type() -> None:
    doc = (EVENTS.parent / "docs" / "event-types.md").read_text()
    missing = [name for name in EVENT_TYPES if f"`{name}`" not in doc]
    assert missing == []


@pytest.mark.parametrize("blank", ["", " ", "\t\u00a0"])
def test_an_openweb_display_name_sent_blank_leaves_the_user_name_as_the_name(blank: str) -> None:
    # Given an OpenWeb like whose liker's display name is sent blank beside a user name
    liker = {"user_id": "u-1", "user_name": "alice", "display_name": blank}
    body = {"event_id": "e", "type": "liked-message", "liker": liker}

    # Then the liker is named by the user name, as when the display name is left out
    ((mapped),) = normalize("openweb", body).mapped
    assert mapped.event.actor is not None
    assert mapped.event.actor.name == "alice"


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_fastcomments_comment_whose_only_author_field_is_a_blank_name_names_no_author(blank: str) -> None:
    # Given a comment with no user id and a commenter name sent blank
    comment = sample("fastcomments/comment-created.json")
    comment = {**{k: v for k, v in comment.items() if k != "userId"}, "commenterName": blank}

    # Then it names no author, as a comment with neither does
    ((mapped),) = fastcomments("comment-created", comment).mapped
    assert mapped.event.actor is None
