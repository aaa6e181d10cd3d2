"""An event's identity when a vendor writes its id differently from one delivery to the next."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from tests.helpers import SUCCESS, listed, quarantined, sample_document, send_body, stored

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def _copies(runtime: LocalRuntime, vendor_key: str, event_id: str) -> tuple[list[str], list[str]]:
    """The ids of the stored events and the reasons of the quarantined ones under ``event_id``."""
    kept = [str(event["event_id"]) for event in stored(runtime, vendor_key) if event["event_id"] == event_id]
    aside = [str(item["reason"]) for item in quarantined(runtime, vendor_key) if item.get("event_id") == event_id]
    return kept, aside


def test_a_numeric_notification_uuid_written_with_a_fraction_or_an_exponent_is_one_event(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a Viafoura notification whose notification_uuid is a number, as Viafoura's example code sends it
    number = 4_417_300_000 + uuid.uuid4().int % 1_000_000
    note = sample_document("viafoura-notifications", "follow")["notifications"][0]
    note["notification_uuid"] = number
    body = {"request_uuid": str(uuid.uuid4()), "time": 1777730731589, "version": 1, "notifications": [note]}
    text = json.dumps(body)
    first = f'"notification_uuid": {number}'
    assert first in text

    # When it is delivered, then retried re-serialized with the number written 4417300123.0 and 4.417300123e9
    answers = [
        send_body(shared_runtime, "viafoura-notifications", copy.encode(), secrets["viafoura-notifications"]).status
        for copy in (
            text,
            text.replace(first, f'"notification_uuid": {number}.0'),
            text.replace(first, f'"notification_uuid": {number / 10**9!r}e9'),
        )
    ]
    shared_runtime.drain()

    # Then every copy is taken, and one event is stored under the number's digits: the retries are duplicates
    assert answers == [SUCCESS["viafoura-notifications"]] * 3
    assert _copies(shared_runtime, "viafoura-notifications", str(number)) == ([str(number)], [])


def test_an_openweb_event_id_sent_as_a_whole_number_with_a_fraction_is_stored_under_its_digits(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an OpenWeb like whose event_id is the number 123456789 written 123456789.0
    number = 100_000_000 + uuid.uuid4().int % 100_000_000
    event = sample_document("openweb", "liked-message")
    event["event_id"] = "placeholder"
    text = json.dumps(event).replace('"placeholder"', f"{number}.0")

    # When it is delivered, then delivered again with the id written 123456789
    answers = [
        send_body(shared_runtime, "openweb", copy.encode(), secrets["openweb"]).status
        for copy in (text, text.replace(f"{number}.0", str(number)))
    ]
    shared_runtime.drain()

    # Then both are taken, and one event is stored under its digits: the second copy is a duplicate
    assert answers == [SUCCESS["openweb"]] * 2
    assert _copies(shared_runtime, "openweb", str(number)) == ([str(number)], [])


def test_an_openweb_event_id_too_large_for_a_double_to_hold_exactly_is_refused_not_stored_under_other_digits(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an OpenWeb like whose event_id is written 12345678901234567890.0 (a double reads it as ...7168)
    event = sample_document("openweb", "liked-message")
    event["event_id"] = "placeholder"
    text = json.dumps(event).replace('"placeholder"', "12345678901234567890.0")

    # When it is delivered
    response = send_body(shared_runtime, "openweb", text.encode(), secrets["openweb"])

    # Then it is refused as an id of the wrong kind: no event is stored under digits OpenWeb never sent
    assert (response.status, json.loads(response.body)["error"]) == (400, "invalid_envelope")
    assert _copies(shared_runtime, "openweb", "12345678901234567168") == ([], [])


def test_a_notifications_section_and_container_sent_as_whole_numbers_with_a_fraction_are_read_as_digits(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a Viafoura notification whose section_uuid and content_container_uuid are numbers written 777.0 and 12e0
    note = sample_document("viafoura-notifications", "follow")["notifications"][0]
    note.update(notification_uuid=str(uuid.uuid4()), section_uuid="SECTION", content_container_uuid="CONTAINER")
    body = {"request_uuid": str(uuid.uuid4()), "time": 1777730731589, "version": 1, "notifications": [note]}
    text = json.dumps(body).replace('"SECTION"', "777.0").replace('"CONTAINER"', "12e0")

    # When it is delivered and consumed
    response = send_body(shared_runtime, "viafoura-notifications", text.encode(), secrets["viafoura-notifications"])
    assert response.status == SUCCESS["viafoura-notifications"], response.body
    shared_runtime.drain()

    # Then the site and the container are those numbers' digits, as 777 and 12 would be
    (event,) = [
        event
        for event in stored(shared_runtime, "viafoura-notifications")
        if event["event_id"] == note["notification_uuid"]
    ]
    assert (event["site"]["id"], event["container"]["id"]) == ("777", "12")


def test_firstup_ids_sent_as_whole_numbers_with_a_fraction_are_read_as_digits_and_found_by_them(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a Firstup mention notification whose numeric ids (Firstup's own are integers) are written 25120811.0 and
    # 5.23427e5, as a JSON writer holding them as floats writes them
    event = sample_document("firstup", "user_notification_created")
    event["id"] = str(uuid.uuid4())
    notification, recipient, post = (
        uuid.uuid4().int % 10**8 + 10**8,
        uuid.uuid4().int % 10**6 + 10**6,
        uuid.uuid4().int % 10**7 + 10**7,
    )
    event.update(notification_id="NOTIFICATION", user_id="RECIPIENT")
    event["details"].update(content_id="POST", acting_user_id="ACTOR")
    text = (
        json.dumps(event)
        .replace('"NOTIFICATION"', f"{notification}.0")
        .replace('"RECIPIENT"', f"{recipient / 10**6!r}e6")
        .replace('"POST"', f"{post}.0")
        .replace('"ACTOR"', "892374.0")
    )

    # When it is delivered and consumed
    response = send_body(shared_runtime, "firstup", text.encode(), secrets["firstup"])
    assert response.status == SUCCESS["firstup"], response.body
    shared_runtime.drain()

    # Then its ids are those numbers' digits, as Firstup's integers would be, and a read by them finds it
    (stored_event,) = [e for e in stored(shared_runtime, "firstup") if str(e["event_id"]).startswith(event["id"])]
    assert stored_event["content"]["id"] == str(notification)
    assert [party["id"] for party in stored_event["recipients"]] == [str(recipient)]
    assert stored_event["actor"]["id"] == "892374"
    assert stored_event["details"]["about_content_id"] == str(post)
    for where in ({"content": str(notification)}, {"recipient": str(recipient)}):
        assert [e["event_id"] for e in listed(shared_runtime, vendor="firstup", **where)] == [stored_event["event_id"]]


def _placeholders(document: dict[str, Any], numbers: dict[str, str]) -> bytes:
    """``document`` as JSON, each ``"NAME"`` placeholder written as the number text ``numbers`` gives it."""
    text = json.dumps(document)
    for name, number in numbers.items():
        text = text.replace(f'"{name}"', number)
    return text.encode()


def _stored_event(runtime: LocalRuntime, vendor_key: str, prefix: str) -> dict[str, Any]:
    (event,) = [event for event in stored(runtime, vendor_key) if str(event["event_id"]).startswith(prefix)]
    return event


def test_every_vendors_ids_beside_the_event_id_sent_as_whole_numbers_with_a_fraction_are_read_as_digits(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given one event of each vendor whose content, container, section and user ids are numbers written 777.0 or
    # 12e0, as a JSON writer holding them as floats writes them
    engagement = sample_document("viafoura-engagement", "liked")
    engaged = engagement["events"][0]
    engaged.update(
        event_uuid=str(uuid.uuid4()), section_uuid="S", content_container_uuid="C", content_uuid="P",
        actor_uuid="A", author_uuid="W",
    )  # fmt: skip
    notifications = sample_document("viafoura-notifications", "reply")
    note = notifications["notifications"][0]
    note["notification_uuid"] = str(uuid.uuid4())
    note["user"]["viafoura_id"]["uuid"] = "A"
    note["recipients"][0]["viafoura_id"]["uuid"] = "R"
    note["payload"]["content"]["uuid"] = "P"
    note["payload"]["target_content_uuid"] = "T"
    openweb = sample_document("openweb", "replied-message")
    openweb.update(event_id=str(uuid.uuid4()), conversation_id="C")
    openweb["user"]["user_id"] = "R"
    openweb["replier"]["user_id"] = "A"
    openweb["comment"]["comment_id"] = "T"
    openweb["reply"]["comment_id"] = "P"
    comment = sample_document("fastcomments", "comment-created.reply")
    comment.update(id=f"fc-{uuid.uuid4().hex}", urlId="C", userId="A", parentId="T")
    comment["mentions"][0]["id"] = "R"
    numbers = {"S": "777.0", "C": "12e0", "P": "4.2e1", "T": "43.0", "A": "7.0", "R": "8.0", "W": "9.0"}

    # When each is delivered and consumed
    for vendor_key, document, name in (
        ("viafoura-engagement", engagement, ""),
        ("viafoura-notifications", notifications, ""),
        ("openweb", openweb, ""),
        ("fastcomments", comment, "comment-created"),
    ):
        response = send_body(shared_runtime, vendor_key, _placeholders(document, numbers), secrets[vendor_key], name)
        assert response.status == SUCCESS[vendor_key], response.body
    shared_runtime.drain()

    # Then every one of those ids is stored as its digits, as 777 and 12 would be, never as 777.0
    liked = _stored_event(shared_runtime, "viafoura-engagement", engaged["event_uuid"])
    assert (liked["site"]["id"], liked["container"]["id"], liked["actor"]["id"]) == ("777", "12", "7")
    assert (liked["content"]["id"], liked["content"]["author_id"]) == ("42", "9")
    replied = _stored_event(shared_runtime, "viafoura-notifications", note["notification_uuid"])
    assert (replied["actor"]["id"], [party["id"] for party in replied["recipients"]]) == ("7", ["8"])
    assert (replied["content"]["id"], replied["content"]["parent_id"]) == ("42", "43")
    reply = _stored_event(shared_runtime, "openweb", openweb["event_id"])
    assert (reply["container"]["id"], reply["actor"]["id"], [party["id"] for party in reply["recipients"]]) == (
        "12",
        "7",
        ["8"],
    )
    assert (reply["content"]["id"], reply["content"]["parent_id"]) == ("42", "43")
    answer = _stored_event(shared_runtime, "fastcomments", comment["id"])
    assert (answer["container"]["id"], answer["actor"]["id"], [party["id"] for party in answer["recipients"]]) == (
        "12",
        "7",
        ["8"],
    )
    assert answer["content"]["parent_id"] == "43"
