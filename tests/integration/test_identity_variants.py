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
