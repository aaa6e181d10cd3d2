"""Every event of an accepted delivery is stored, a duplicate, or quarantined with its reason; none is lost."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from intake_cli.samples import SAMPLES_DIR
from tests.conftest import queue_messages
from tests.helpers import (
    consumer_puts_refused,
    depth,
    dlq_url,
    handler_logs,
    mapping_fails_on,
    metric_points,
    notifications_body,
    payloads,
    quarantined,
    queue_url,
    reader,
    redrive,
    send_body,
    stored_ids,
    table,
    total,
)
from webhook_intake.clients import client
from webhook_intake.delivery import Delivery
from webhook_intake.payloads import ClaimCheck
from webhook_intake.registry import vendor
from webhook_intake.store.items import digest_of
from webhook_intake.store.quarantine import QuarantineKey, earlier_key_for
from webhook_intake.store.reads import FeedFilter
from webhook_intake.store.table import CONSUMER_CONFIG

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def liked(event_uuid: str, **fields: Any) -> dict[str, Any]:
    return {"event_uuid": event_uuid, "message_type": "livecomment_post", "action": "liked", **fields}


def engagement(request_uuid: str, *events: Any) -> dict[str, Any]:
    return {"request_uuid": request_uuid, "time": 1_790_000_000_000, "version": 1, "events": list(events)}


def quarantined_for(runtime: LocalRuntime, vendor_key: str, marker: str) -> list[dict[str, Any]]:
    """Quarantined events whose text holds ``marker`` (each test marks its own)."""
    return [item for item in quarantined(runtime, vendor_key) if marker in item["text"]]


def test_a_batch_element_that_is_not_an_object_costs_only_itself(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given a Viafoura batch with a string between two good events
    body = engagement("r-obj", liked("obj-1"), "obj-not-an-object", liked("obj-3"))

    # When Viafoura delivers it and the consumer runs
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    runtime.drain()

    # Then Viafoura hears which events were taken, both good events are stored, the string is quarantined
    assert response.status == 200
    assert [result["type"] for result in response.json()["results"]] == ["success", "failure", "success"]
    assert reader(runtime).get("viafoura-engagement", "obj-1") is not None
    assert reader(runtime).get("viafoura-engagement", "obj-3") is not None
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "obj-not-an-object")
    assert (kept["reason"], kept["text"], kept["index"]) == ("invalid_event", '"obj-not-an-object"', 1)
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0


def test_an_event_without_its_id_is_answered_failure_and_never_takes_its_siblings_to_the_dlq(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    body = engagement("r-noid", liked("noid-1"), {"message_type": "chat_message", "action": "liked", "mark": "noid-x"})
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    runtime.drain()
    assert response.json()["results"][1] == {
        "type": "failure",
        "error_type": "missing_id",
        "error_description": "'event_uuid' is missing or empty",
    }
    assert reader(runtime).get("viafoura-engagement", "noid-1") is not None
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "noid-x")
    assert kept["reason"] == "missing_id"
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0


def test_a_number_no_double_or_int_holds_costs_only_the_event_holding_it(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given a Viafoura batch (never sent again) whose second and third events hold numbers no reader here can
    # hold, as JSON writes them: beyond a double's range, and more digits than Python converts
    huge = b'{"event_uuid": "range-huge", "message_type": "livecomment_post", "action": "liked", "n": 1e400}'
    long = b'{"event_uuid": "range-long", "message_type": "livecomment_post", "action": "liked", "n": %s}' % (
        b"9" * 5000
    )
    good = json.dumps(liked("range-ok")).encode()
    body = b'{"request_uuid": "r-range", "time": 1790000000000, "events": [%s, %s, %s]}' % (good, huge, long)

    # When Viafoura delivers it and the consumer runs
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    runtime.drain()

    # Then Viafoura hears the good event taken and the two others refused by name; the good one is stored, the
    # two kept with their exact text, nothing dead-lettered
    assert response.status == 200, response.body
    results = response.json()["results"]
    assert [result["type"] for result in results] == ["success", "failure", "failure"]
    assert [result.get("event_uuid") for result in results[1:]] == ["range-huge", "range-long"]
    assert {result["error_type"] for result in results[1:]} == {"invalid_event"}
    assert reader(runtime).get("viafoura-engagement", "range-ok") is not None
    kept = [quarantined_for(runtime, "viafoura-engagement", mark)[0] for mark in ("range-huge", "range-long")]
    assert [(item["reason"], item["text"].encode()) for item in kept] == [
        ("invalid_event", huge),
        ("invalid_event", long),
    ]
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0
    # And such a number outside the events (the batch's own fields), or in a vendor's single event, refuses the
    # body whole, as a 400 that says why
    envelope = b'{"request_uuid": "r-range-2", "time": 1e400, "events": [%s]}' % good
    refused = [
        send_body(runtime, "viafoura-engagement", envelope, secrets["viafoura-engagement"]),
        send_body(runtime, "openweb", b'{"event_id": "range-single", "type": "user-followed", "n": -1e999}',
                  secrets["openweb"]),
    ]  # fmt: skip
    for answer in refused:
        assert answer.status == 400, answer.body
        assert answer.json()["message"].startswith("body holds a number beyond what a JSON number can hold")


def test_a_number_out_of_range_under_a_key_named_twice_is_judged_by_ingest_as_the_consumer_judges_it(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given a Viafoura batch whose second event names a key twice, first with a number no reader here can hold
    # (the value read keeps only the last, the text the consumer keeps holds both)
    good = json.dumps(liked("twice-ok")).encode()
    twice = b'{"event_uuid": "twice-huge", "message_type": "livecomment_post", "action": "liked", "n": 1e400, "n": 1}'
    body = b'{"request_uuid": "r-twice", "events": [%s, %s]}' % (good, twice)

    # When Viafoura delivers it and the consumer runs
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    runtime.drain()

    # Then Viafoura hears that event refused, as the consumer quarantines it, and the good one taken and stored
    assert response.status == 200, response.body
    results = response.json()["results"]
    assert [(result.get("event_uuid"), result["type"]) for result in results] == [
        ("twice-ok", "success"),
        ("twice-huge", "failure"),
    ]
    assert reader(runtime).get("viafoura-engagement", "twice-ok") is not None
    ((kept),) = quarantined_for(runtime, "viafoura-engagement", "twice-huge")
    assert (kept["reason"], kept["text"].encode()) == ("invalid_event", twice)
    # And a batch's own field named twice so is refused whole, as the consumer would refuse the body: a 400
    envelope = b'{"request_uuid": 1e400, "request_uuid": "r-twice-2", "events": [%s]}' % good
    refused = send_body(runtime, "viafoura-engagement", envelope, secrets["viafoura-engagement"])
    assert refused.status == 400, refused.body
    assert refused.json()["message"].startswith("body holds a number beyond what a JSON number can hold")


def test_an_id_or_field_sent_as_another_kind_of_value_is_named_for_what_it_is_not_missing(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given a Viafoura batch whose ids (a fraction, an object) and a type (a list) are there, but no ids or names
    odd = [
        {**liked("kind-x"), "event_uuid": 1.5, "mark": "kind-fraction"},
        {**liked("kind-x"), "event_uuid": {"uuid": "kind-object"}},
        {**liked("kind-list"), "message_type": ["livecomment_post"]},
    ]
    response = send_body(
        runtime, "viafoura-engagement", engagement("r-kind", liked("kind-ok"), *odd), secrets["viafoura-engagement"]
    )
    runtime.drain()

    # Then Viafoura hears what is wrong with each, and the operator reads the same reasons in the quarantine
    not_an_id = "is not a string or a whole number"
    assert response.json()["results"][1:] == [
        {"type": "failure", "error_type": "invalid_id", "error_description": f"'event_uuid' {not_an_id}"},
        {"type": "failure", "error_type": "invalid_id", "error_description": f"'event_uuid' {not_an_id}"},
        {
            "event_uuid": "kind-list",
            "type": "failure",
            "error_type": "invalid_field",
            "error_description": f"'message_type' {not_an_id}",
        },
    ]
    kept = [quarantined_for(runtime, "viafoura-engagement", mark)[0] for mark in ("kind-fraction", "kind-object")]
    kept += quarantined_for(runtime, "viafoura-engagement", "kind-list")
    assert [(item["reason"], item["message"]) for item in kept] == [
        ("invalid_id", f"'event_uuid' {not_an_id}"),
        ("invalid_id", f"'event_uuid' {not_an_id}"),
        ("invalid_field", f"'message_type' {not_an_id}"),
    ]
    # And a vendor that sends one event a delivery hears it in its 400
    refused = send_body(runtime, "openweb", {"event_id": True, "type": "user-followed"}, secrets["openweb"])
    assert (refused.status, refused.json()["message"]) == (400, f"'event_id' {not_an_id}")


def test_a_failure_result_names_its_event_even_when_its_id_is_too_long_to_keep(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    long_id = "long-" + "x" * 600
    body = engagement("r-long", liked("long-ok"), liked(long_id))
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    # Viafoura's Result: event_uuid, type, error_type, error_description (its only record of the failure)
    assert response.json()["results"][1] == {
        "event_uuid": long_id,
        "type": "failure",
        "error_type": "invalid_id",
        "error_description": "'event_uuid' is over 512 characters",
    }
    runtime.drain()
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0


LONE_SURROGATE = "\\ud800"


def deliver_and_consume(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, body: bytes, event: str | None
) -> None:
    """``body`` accepted on the vendor's route (2xx) and every queue drained."""
    assert send_body(runtime, vendor_key, body, secrets[vendor_key], event=event).status < 300
    runtime.drain()


def escaping_lone_surrogates(document: Any) -> bytes:
    """``document`` as JSON whose every LONE_SURROGATE is the escape itself (valid JSON, not valid UTF-16)."""
    body = json.dumps(document).replace("\\\\ud800", "\\ud800").encode()
    assert b"\\ud800" in body and b"\\\\" not in body
    return body


SURROGATE_BODIES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "viafoura-engagement": (
        engagement("r-sur", liked("sur-ve", page_url=f"https://x/{LONE_SURROGATE}")),
        "sur-ve",
        None,
    ),
    "viafoura-notifications": (
        {
            "notifications": [
                {
                    "notification_type": "like",
                    "notification_uuid": "sur-vn",
                    "payload": {"content": {"uuid": "c", "body": f"hi {LONE_SURROGATE}"}},
                }
            ]
        },
        "sur-vn",
        None,
    ),
    "openweb": ({"event_id": "sur-ow", "type": "user-mentioned", "conversation_title": LONE_SURROGATE}, "sur-ow", None),
    "fastcomments": ({"id": "sur-fc", "comment": f"bad {LONE_SURROGATE}"}, "sur-fc:", "comment-created"),
    "firstup": ({"id": "sur-fu", "name": "channel_created", "channel_name": LONE_SURROGATE}, "sur-fu:", None),
}


@pytest.mark.parametrize("vendor_key", sorted(SURROGATE_BODIES))
def test_a_lone_surrogate_anywhere_in_an_event_is_stored_with_its_raw_bytes_exact(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime = shared_runtime
    document, event_id, event = SURROGATE_BODIES[vendor_key]
    # Given a body whose JSON escapes a lone surrogate (valid JSON, not valid UTF-16), delivered and consumed
    deliver_and_consume(runtime, secrets, vendor_key, escaping_lone_surrogates(document), event)

    # Then it is stored: the raw text as sent, the normalized fields with U+FFFD instead
    found = [e for e in reader(runtime).scan() if e["vendor"] == vendor_key and e["event_id"].startswith(event_id)]
    (stored_event,) = found
    assert "\\ud800" in stored_event["raw_text"]
    assert "\ud800" not in json.dumps(
        {k: v for k, v in stored_event.items() if k not in ("raw", "raw_text")}, ensure_ascii=False
    ).encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert depth(runtime, dlq_url(runtime, vendor_key)) == 0


# Lone surrogates where the store keys on them: an id, a part of a composed id, a field the
# mapping requires, a key. Each event is stored under its id with U+FFFD, its siblings beside it.
SURROGATE_IDS: dict[str, tuple[dict[str, Any], list[str], str | None]] = {
    "viafoura-engagement": (
        engagement(
            f"r-{LONE_SURROGATE}",
            liked(f"sid-{LONE_SURROGATE}-1"),
            {"event_uuid": "sid-2", "message_type": "livecomment_post", "action": f"liked{LONE_SURROGATE}"},
            liked("sid-3", **{f"x{LONE_SURROGATE}": 1}),
        ),
        ["sid-\ufffd-1", "sid-2", "sid-3"],
        None,
    ),
    "viafoura-notifications": (
        {
            "notifications": [
                {"notification_type": "follow", "notification_uuid": f"sid-{LONE_SURROGATE}-n", "time": 1790000000000},
                {"notification_type": f"like{LONE_SURROGATE}", "notification_uuid": "sid-n2"},
            ]
        },
        ["sid-\ufffd-n", "sid-n2"],
        None,
    ),
    "openweb": ({"event_id": f"sid-{LONE_SURROGATE}-ow", "type": "user-followed"}, ["sid-\ufffd-ow"], None),
    "fastcomments": ({"id": f"sid-{LONE_SURROGATE}-fc", "comment": "x"}, ["sid-\ufffd-fc:"], "comment-created"),
    "firstup": ({"id": "sid-fu", "name": f"channel_created{LONE_SURROGATE}"}, ["sid-fu:unreadable-"], None),
}


@pytest.mark.parametrize("vendor_key", sorted(SURROGATE_IDS))
def test_a_lone_surrogate_in_an_id_or_a_key_is_stored_and_never_takes_the_delivery_to_the_dlq(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime = shared_runtime
    document, prefixes, event = SURROGATE_IDS[vendor_key]
    # Given a delivery whose ids, types or keys escape a lone surrogate, delivered and consumed
    deliver_and_consume(runtime, secrets, vendor_key, escaping_lone_surrogates(document), event)

    # Then every event is stored under its id with U+FFFD, and nothing is quarantined or dead-lettered
    ids = [e["event_id"] for e in reader(runtime).scan() if e["vendor"] == vendor_key]
    for prefix in prefixes:
        assert [i for i in ids if i.startswith(prefix)], (prefix, ids)
    assert depth(runtime, dlq_url(runtime, vendor_key)) == 0
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0
    assert not [item for item in quarantined(runtime, vendor_key) if "sid-" in item["text"]]


def test_a_quarantined_event_of_a_batch_whose_envelope_escapes_a_lone_surrogate_is_kept(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    body = engagement(f"r-{LONE_SURROGATE}-env", liked("env-good"), {"message_type": "x", "mark": "env-noid"})
    raw = escaping_lone_surrogates(body)
    assert send_body(runtime, "viafoura-engagement", raw, secrets["viafoura-engagement"]).status == 200
    runtime.drain()
    assert reader(runtime).get("viafoura-engagement", "env-good") is not None
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "env-noid")
    assert kept["reason"] == "missing_id"
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0


def test_a_huge_field_in_the_middle_of_a_batch_is_cut_and_every_event_stored(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    page_url = "https://news.example.com/" + "p" * 250_000
    body = engagement("r-big", liked("big-1"), liked("big-2", page_url=page_url), liked("big-3"))
    assert send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"]).status == 200
    runtime.drain()
    events = [reader(runtime).get("viafoura-engagement", f"big-{n}") for n in (1, 2, 3)]
    assert all(event is not None for event in events)
    big = events[1] or {}
    assert big["truncated"] == {"container.url"}
    assert len(big["container"]["url"]) == 2048
    assert big["raw"]["page_url"] == page_url


def test_an_image_url_is_kept_whole_up_to_a_urls_limit(shared_runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    # Given a broadcast whose image is a signed CDN URL of 1,500 characters (a URL's limit is 2,048)
    runtime = shared_runtime
    image = "https://cdn.example.com/image.jpg?Policy=" + "p" * 1400 + "&Signature=" + "s" * 40
    note = {
        "notification_type": "broadcast_site",
        "notification_uuid": "image-url-1",
        "time": 1790000000000,
        "payload": {"title": "t", "description": "d", "url": "https://www.example.com", "image_url": image},
    }
    body = {"request_uuid": "r-image", "time": 1790000000000, "version": 1, "notifications": [note]}
    assert send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"]).status == 204
    runtime.drain()

    # Then it is stored as sent, not cut with a marker
    event = reader(runtime).get("viafoura-notifications", "image-url-1") or {}
    assert event["content"]["image_urls"] == [image]
    assert "truncated" not in event


def test_a_firstup_event_with_a_420_kb_channel_name_is_stored(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    body = {"id": "fu-big", "name": "channel_created", "channel_id": 5, "channel_name": "c" * 420_000}
    assert send_body(runtime, "firstup", body, secrets["firstup"]).status == 200
    runtime.drain()
    (event,) = [e for e in reader(runtime).scan() if e["event_id"].startswith("fu-big:")]
    assert event["container"]["title"].endswith("…")
    assert event["raw"]["channel_name"] == "c" * 420_000


def test_a_broadcast_to_5000_recipients_is_stored_and_found_by_each_recipient(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    recipients = [{"name": f"User {n}", "viafoura_id": {"uuid": f"bc-user-{n:05d}"}} for n in range(5000)]
    note = {"notification_type": "broadcast_topic", "notification_uuid": "bc-5000", "recipients": recipients}
    assert (
        send_body(
            runtime, "viafoura-notifications", {"notifications": [note]}, secrets["viafoura-notifications"]
        ).status
        == 204
    )
    runtime.drain()
    event = reader(runtime).get("viafoura-notifications", "bc-5000")
    assert event is not None
    assert (event["recipient_count"], len(event["recipient_ids"])) == (5000, 5000)
    # The whole list, names and all, read back from S3 with the event
    assert [(r["id"], r["name"]) for r in event["recipients"]][::4999] == [
        ("bc-user-00000", "User 0"),
        ("bc-user-04999", "User 4999"),
    ]
    now = datetime.now(UTC)
    for user in ("bc-user-00000", "bc-user-04999"):
        found = reader(runtime).feed(now - timedelta(hours=1), now, FeedFilter(recipient=user))
        assert [entry["event_id"] for entry in found] == ["bc-5000"]


def test_the_same_id_with_other_content_is_kept_as_a_conflict_and_the_first_version_stays(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = shared_runtime
    secret = secrets["viafoura-engagement"]
    # Given an event stored once, then the same id again with other content, then an exact retry
    send_body(runtime, "viafoura-engagement", engagement("r-c1", liked("conflict-1", page_url="https://a")), secret)
    runtime.drain()
    send_body(runtime, "viafoura-engagement", engagement("r-c2", liked("conflict-1", page_url="https://b")), secret)
    send_body(runtime, "viafoura-engagement", engagement("r-c3", liked("conflict-1", page_url="https://a")), secret)
    capsys.readouterr()
    with handler_logs() as logs:
        runtime.drain()

    # Then the first version stays, the second is quarantined as a conflict and counted, the retry is a duplicate
    stored_event = reader(runtime).get("viafoura-engagement", "conflict-1") or {}
    assert stored_event["raw"]["page_url"] == "https://a"
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "https://b")
    assert (kept["reason"], kept["event_id"]) == ("conflict", "conflict-1")
    assert '"ConflictingDuplicates":[1.0]' in capsys.readouterr().out.replace(" ", "")
    assert "duplicate comment.liked conflict-1" in logs.getvalue()


@pytest.mark.parametrize(
    ("first", "second"),
    [({"is_pinned": True}, {"is_pinned": 1}), ({"count": 0}, {"count": False})],
    ids=["true-and-1", "0-and-false"],
)
def test_values_python_calls_equal_but_json_does_not_are_a_conflict(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], first: dict[str, Any], second: dict[str, Any]
) -> None:
    runtime = shared_runtime
    secret = secrets["viafoura-engagement"]
    event_id = f"eq-{next(iter(first))}-{next(iter(second.values()))!s}"
    send_body(runtime, "viafoura-engagement", engagement("r-eq1", liked(event_id, **first)), secret)
    runtime.drain()
    send_body(runtime, "viafoura-engagement", engagement("r-eq2", liked(event_id, **second)), secret)
    runtime.drain()
    (kept,) = [item for item in quarantined(runtime, "viafoura-engagement") if item.get("event_id") == event_id]
    assert kept["reason"] == "conflict"


@pytest.mark.parametrize("vendor_key", ["viafoura-engagement", "fastcomments", "firstup"])
def test_a_retry_that_writes_a_number_another_way_is_a_duplicate(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime = shared_runtime
    # Given one event sent twice, its numbers written 1 and 100 the first time, 1.0 and 1e2 the second
    texts = {
        "viafoura-engagement": '{"events": [{"event_uuid": "num-v", "message_type": "livecomment_post", '
        '"action": "liked", "n": %s, "m": %s}]}',
        "fastcomments": '{"id": "num-fc", "comment": "hi", "votes": %s, "votesUp": %s}',
        "firstup": '{"id": "num-fu", "name": "content_published", "content_id": %s, "n": %s}',
    }
    event = "comment-updated" if vendor_key == "fastcomments" else None
    for numbers in (("1", "100"), ("1.0", "1e2")):
        body = (texts[vendor_key] % numbers).encode()
        assert send_body(runtime, vendor_key, body, secrets[vendor_key], event=event).status == 200
        runtime.drain()

    # Then it is one event, and the retry no conflict
    found = [e for e in reader(runtime).scan() if e["vendor"] == vendor_key and e["event_id"].startswith("num-")]
    assert len(found) == 1, [e["event_id"] for e in found]
    assert not [item for item in quarantined(runtime, vendor_key) if '"num-' in item["text"]]


def test_a_conflict_whose_type_is_300_000_characters_is_quarantined_not_dead_lettered(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    secret = secrets["viafoura-engagement"]
    # (hex: it compresses to about half, so the quarantined text stays inline beside the type)
    noise = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(4_700))
    huge_type = {"event_uuid": "long-type", "message_type": noise, "action": "liked"}
    send_body(runtime, "viafoura-engagement", engagement("r-lt1", huge_type), secret)
    runtime.drain()
    send_body(runtime, "viafoura-engagement", engagement("r-lt2", {**huge_type, "extra": 1}), secret)
    runtime.drain()
    (kept,) = [item for item in quarantined(runtime, "viafoura-engagement") if item.get("event_id") == "long-type"]
    assert kept["reason"] == "conflict"
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0


def test_large_versions_of_one_id_never_overwrite_each_other_in_s3(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    secret = secrets["fastcomments"]
    s3 = boto3.client("s3", region_name=runtime.stack.region)
    bucket = runtime.stack.buckets["PayloadBucket"]

    def objects() -> set[str]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="bodies/fastcomments/").get("Contents", [])
        return {obj["Key"] for obj in listed}

    before = objects()
    for filler in ("a", "b"):
        html = "".join(f"<p>{filler}{n:07d}</p>" for n in range(40_000))
        body = {"id": "s3-big", "comment": "short", "commentHTML": html}
        assert send_body(runtime, "fastcomments", body, secret, event="comment-updated").status == 200
    runtime.drain()
    assert len(objects() - before) == 2


def test_missing_or_wrong_message_attributes_get_documented_fallbacks(
    shared_runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = shared_runtime
    url = queue_url(runtime, "openweb")
    # Given messages put on the queue by hand: no attributes at all; a wrong vendor and no time; and a
    # well-formed receive time later than SQS got the message (it would sort after every later event); a
    # resume point that is no count of events (the delivery is read whole)
    attributes = {
        "attr-none": {},
        "attr-wrong": {"vendor": "firstup", "received_at": "not-a-time"},
        "attr-future": {"vendor": "openweb", "received_at": "2099-01-01T00:00:00.000Z"},
        "attr-resume": {"vendor": "openweb", "resume_at": "-1"},
        "attr-index": {"vendor": "openweb", "index_offset": "1e3"},
    }
    for event_id, written in attributes.items():
        runtime.sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"event_id": event_id, "type": "user-followed"}),
            MessageAttributes={name: {"DataType": "String", "StringValue": value} for name, value in written.items()},
        )
    before_ms = int(time.time() * 1000)
    # (the consumer loaded first: its logger exists when the logs are captured, whichever test ran before)
    assert runtime.functions["OpenWebConsumerFunction"].handler is not None

    # When the consumer runs
    with handler_logs() as logs:
        runtime.drain()

    # Then both are stored under the queue's vendor, received when SQS got them, and the problem is logged
    for event_id in attributes:
        event = reader(runtime).get("openweb", event_id)
        assert event is not None
        received = event["received_at"]
        assert received.endswith("Z") and len(received) == 24
        assert abs(datetime_ms(received) - before_ms) < 60_000
    # (a place that is not one is not taken: the event's own place in its body is)
    assert reader(runtime).get("openweb", "attr-index")["index"] == 0
    assert "message attributes replaced" in logs.getvalue()
    assert "index_offset: not a place in a batch" in logs.getvalue()


def datetime_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_redriven_record_of_one_poison_event_and_nine_good_ones_stores_the_nine_and_keeps_the_one(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given the record of a batch with one poison event, put back on the queue as a DLQ redrive would
    events = [liked(f"nine-{n}") for n in range(9)]
    events.insert(4, {"event_uuid": "nine-poison", "message_type": 5})
    body = json.dumps(engagement("r-nine", *events))
    send_body(runtime, "viafoura-engagement", body.encode(), secrets["viafoura-engagement"])
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, "viafoura-engagement"))

    # When it is consumed, and then the same record again (a redrive)
    runtime.drain()
    runtime.sqs.send_message(
        QueueUrl=queue_url(runtime, "viafoura-engagement"),
        MessageBody=message["Body"],
        MessageAttributes={
            k: {kk: vv for kk, vv in v.items() if kk in ("DataType", "StringValue")}
            for k, v in message["MessageAttributes"].items()
        },
    )
    runtime.drain()

    # Then the nine are stored once, the poison event is kept (tried twice), and the DLQ stays empty
    assert all(reader(runtime).get("viafoura-engagement", f"nine-{n}") for n in range(9))
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "nine-poison")
    assert (kept["reason"], kept["attempts"]) == ("missing_field", 2)
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0


def test_a_quarantined_event_that_now_passes_is_stored_and_its_quarantine_item_removed(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # A stack of its own: its fault hook must sit on the clients its consumers make.
    # Given an event DynamoDB refused (the event's fault, so quarantined at once, not retried)
    with consumer_puts_refused(b"refused-once"):
        body = engagement("r-ref", liked("refused-once"), liked("refused-sibling"))
        send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
        runtime.drain()
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "refused-once")
    assert kept["reason"] == "store_refused"
    assert reader(runtime).get("viafoura-engagement", "refused-sibling") is not None
    assert reader(runtime).get("viafoura-engagement", "refused-once") is None

    # When it is sent back through normalization by its id
    key = QuarantineKey("viafoura-engagement", kept["sk"])
    assert [done.key for done in redrive(runtime, "viafoura-engagement", key)] == [key]
    runtime.drain()

    # Then it is stored, and no longer quarantined
    stored_event = reader(runtime).get("viafoura-engagement", "refused-once") or {}
    assert stored_event["occurred_at"] == "2026-09-21T14:13:20.000Z"
    assert quarantined_for(runtime, "viafoura-engagement", "refused-once") == []


def test_a_bad_event_of_a_batch_with_a_450_kb_envelope_is_quarantined_and_goes_back_whole(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a notifications batch whose envelope (the body beside its events) is 450 KB
    vendor = "viafoura-notifications"
    body = json.loads(notifications_body("big-env-good", None, request_uuid="r-big-env"))
    body["pad"] = "p" * 450_000
    assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
    runtime.drain()

    # Then the good event is stored and the bad one quarantined once, nothing dead-lettered
    assert reader(runtime).get(vendor, "big-env-good") is not None
    (kept,) = quarantined(runtime, vendor)
    assert kept["reason"] == "missing_id"
    assert depth(runtime, dlq_url(runtime, vendor)) == 0

    # And sent back, it travels in its whole envelope again
    redrive(runtime, vendor)
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, vendor))
    text = message["Body"]
    if "claim_check" in text:  # over the inline limit: the body waits in S3, as any large delivery
        text = payloads(runtime).fetch(ClaimCheck.from_pointer(text))
    resent = json.loads(text)
    assert (resent["pad"], resent["request_uuid"]) == ("p" * 450_000, "r-big-env")


def test_a_quarantined_event_that_still_fails_stays_with_its_reason(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    body = engagement("r-still", liked("still-good"), liked("still-good-2"), {"event_uuid": "still-bad"})
    send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    runtime.drain()
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "still-bad")
    redrive(runtime, "viafoura-engagement", QuarantineKey("viafoura-engagement", kept["sk"]))
    runtime.drain()
    (again,) = quarantined_for(runtime, "viafoura-engagement", "still-bad")
    assert (again["reason"], again["attempts"], again["sk"]) == ("missing_field", 2, kept["sk"])
    # Its place in the delivery it came in stays (sent back alone, it failed as its batch's first)
    assert (kept["index"], again["index"]) == (2, 2)


def fastcomments_messages(runtime: LocalRuntime, body: str, received_at: str, *events: str) -> None:
    """One message a route, as ingest queues FastComments' deliveries of ``body`` received at ``received_at``."""
    for event in events:
        delivery = Delivery(
            "fastcomments", received_at, f"corr-{event}", "POST", f"/webhooks/fastcomments/{event}", {"event": event}
        )
        runtime.sqs.send_message(
            QueueUrl=queue_url(runtime, "fastcomments"),
            MessageBody=body,
            MessageAttributes=delivery.to_message_attributes(),
        )


def test_one_text_of_two_deliveries_received_in_one_millisecond_is_kept_twice_and_both_stored_after_a_fix(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given FastComments' edit and delete of one comment with one body (the event is the route's),
    # received in one millisecond, and a mapping that fails on them
    body = (SAMPLES_DIR / "fastcomments" / "comment-created.json").read_text()
    fix = mapping_fails_on(monkeypatch, "fastcomments", lambda _: True, ValueError("unforeseen"))
    fastcomments_messages(runtime, body, "2026-11-30T10:00:00.123Z", "comment-updated", "comment-deleted")
    runtime.drain()

    # Then each is kept with its own delivery: route, correlation id, one try
    kept = sorted(quarantined(runtime, "fastcomments"), key=lambda item: item["correlation_id"])
    assert [(item["route"]["path"], item["correlation_id"], item["attempts"]) for item in kept] == [
        ("/webhooks/fastcomments/comment-deleted", "corr-comment-deleted", 1),
        ("/webhooks/fastcomments/comment-updated", "corr-comment-updated", 1),
    ]

    # And once the mapping is fixed and they are sent back, both are stored and none is kept
    fix()
    redrive(runtime, "fastcomments")
    runtime.drain()
    assert [event_id.split(":")[1] for event_id in stored_ids(runtime, "fastcomments")] == [
        "comment-deleted",
        "comment-updated",
    ]
    assert quarantined(runtime, "fastcomments") == []


@pytest.mark.parametrize(
    "rule",
    ["text", "correlation id, route and text"],
    ids=["receive time and text (before 2026-12-01 04:09)", "correlation id too (2026-12-01 04:09 to 04:57)"],
)
def test_an_item_kept_under_the_earlier_key_is_tried_again_in_place_and_released(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, rule: str
) -> None:
    # Given an event kept under the key of an earlier version: receive time and the hash of its text only, or
    # of its delivery's correlation id, route and text
    body = (SAMPLES_DIR / "fastcomments" / "comment-created.json").read_text()
    fix = mapping_fails_on(monkeypatch, "fastcomments", lambda _: True, ValueError("unforeseen"))
    fastcomments_messages(runtime, body, "2026-11-30T10:00:00.123Z", "comment-created")
    runtime.drain()
    (kept,) = quarantined(runtime, "fastcomments")
    dynamodb = boto3.client("dynamodb", region_name=runtime.stack.region)
    key = {"pk": {"S": kept["pk"]}, "sk": {"S": kept["sk"]}}
    item = dynamodb.get_item(TableName=table(runtime), Key=key)["Item"]
    earlier = earlier_key_for("fastcomments", "2026-11-30T10:00:00.123Z", body)
    if rule != "text":
        origin = "corr-comment-created\nPOST /webhooks/fastcomments/comment-created\n"
        earlier = QuarantineKey("fastcomments", "2026-11-30T10:00:00.123Z#" + digest_of((origin + body).encode()))
    dynamodb.put_item(TableName=table(runtime), Item={**item, "sk": {"S": earlier.sk}})
    dynamodb.delete_item(TableName=table(runtime), Key=key)

    # When it is sent back and fails again, it is the same item, one more try
    redrive(runtime, "fastcomments")
    runtime.drain()
    (again,) = quarantined(runtime, "fastcomments")
    assert (again["sk"], again["attempts"]) == (earlier.sk, 2)

    # And sent back once the mapping is fixed, it is stored and released
    fix()
    redrive(runtime, "fastcomments")
    runtime.drain()
    assert len(stored_ids(runtime, "fastcomments")) == 1
    assert quarantined(runtime, "fastcomments") == []


def test_identical_bad_events_of_one_delivery_are_each_counted_once_tried(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = shared_runtime
    bad = {"message_type": "livecomment_post", "action": "liked", "content_uuid": "twin-bad"}
    send_body(runtime, "viafoura-engagement", engagement("r-twins", liked("twin-good"), bad, bad),
              secrets["viafoura-engagement"])  # fmt: skip
    capsys.readouterr()
    runtime.drain()
    points = metric_points(capsys.readouterr().out)
    # Two events, the same text: one item (the same key), tried once; both counted, as the ingest refused both
    (kept,) = quarantined_for(runtime, "viafoura-engagement", "twin-bad")
    assert (kept["reason"], kept["attempts"]) == ("missing_id", 1)
    assert total(points, "EventsQuarantined") == 2
    assert total(points, "EventsQuarantinedByReason", reason="missing_id") == 2


def test_an_event_stored_when_sent_back_is_checked_for_a_new_shape(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an event of a shape never seen, quarantined by a mapping that did not foresee it
    odd = {"event_id": "odd-shape", "type": "user-followed", "user": {"user_id": "u"}, "brand_new": {"x": 1}}
    fix = mapping_fails_on(monkeypatch, "openweb", lambda value: "brand_new" in value, ValueError("unforeseen"))
    send_body(runtime, "openweb", odd, secrets["openweb"])
    runtime.drain()

    # When the mapping is fixed and the event sent back
    fix()
    capsys.readouterr()
    redrive(runtime, "openweb")
    runtime.drain()

    # Then it is stored, and its shape counted as new, as any stored event's is
    assert reader(runtime).get("openweb", "odd-shape") is not None
    assert total(metric_points(capsys.readouterr().out), "NewShapes") == 1


def test_only_a_failing_store_makes_a_record_retry_and_then_reach_the_dlq(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # A stack of its own: its fault hook must sit on the clients its consumers make.
    dynamodb = client("dynamodb", CONSUMER_CONFIG)

    def throttle(request: Any, **_: Any) -> None:
        if b"throttled-always" in (request.body or b""):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "PutItem")

    # Given DynamoDB refusing one event's writes for good
    send_body(runtime, "openweb", {"event_id": "throttled-always", "type": "user-followed"}, secrets["openweb"])
    dynamodb.meta.events.register_first("before-send.dynamodb", throttle)
    try:
        # When the record is received as often as the queue allows
        receives = int(runtime.stack.template.parameters["MaxReceiveCount"])
        with handler_logs() as logs:
            for _ in range(receives + 1):
                runtime.drain(max_polls=1)
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb", throttle)

    # Then it is in the dead-letter queue, raw body intact, and the consumer said it would be: retrying at each
    # receive but the last, dead-lettered at the last (what `intake tail` shows)
    (letter,) = queue_messages(runtime.sqs, dlq_url(runtime, "openweb"))
    assert json.loads(letter["Body"])["event_id"] == "throttled-always"
    said = [
        entry.split()[0]
        for line in logs.getvalue().splitlines()
        if line.startswith("{") and '"outcomes"' in line
        for entry in json.loads(line)["outcomes"]
    ]
    assert said == ["retrying"] * (receives - 1) + ["dead-lettered"]
    assert quarantined_for(runtime, "openweb", "throttled-always") == []
    runtime.sqs.purge_queue(QueueUrl=dlq_url(runtime, "openweb"))


def test_a_record_sqs_cannot_carry_goes_through_s3_and_is_stored(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    body = json.dumps(
        {"event_id": "nonchar", "type": "user-mentioned", "conversation_title": "a\uffffb"}, ensure_ascii=False
    )
    assert send_body(runtime, "openweb", body.encode(), secrets["openweb"]).status == 200
    runtime.drain()
    event = reader(runtime).get("openweb", "nonchar") or {}
    assert event["raw_text"] == body


def nested(depth: int) -> str:
    """Arrays ``depth`` deep, as JSON text."""
    return "[" * depth + "]" * depth


def test_an_event_nested_as_deep_as_allowed_with_a_field_of_the_wrong_type_is_stored_with_its_siblings(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given a batch nested 100 deep (the limit) in its second event, which has a time of the wrong type
    deep = json.dumps(liked("deep-x", time="soon", x="X"), separators=(",", ":")).replace('"X"', nested(97))
    body = json.dumps(engagement("r-deep", liked("deep-1"), "D")).replace('"D"', deep).encode()

    # When Viafoura delivers it and the consumer runs
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    runtime.drain()

    # Then nothing reaches the DLQ: the good event is stored, the deep one too (its bad field dropped)
    assert response.status == 200
    assert reader(runtime).get("viafoura-engagement", "deep-1") is not None
    deep_event = reader(runtime).get("viafoura-engagement", "deep-x")
    assert deep_event is not None
    assert deep_event["time_source"] == "received"
    assert deep_event["dropped"] == {"time"}
    assert "dropped" not in reader(runtime).get("viafoura-engagement", "deep-1")
    assert depth(runtime, dlq_url(runtime, "viafoura-engagement")) == 0


EMOJI = "\U0001f600"  # four bytes of UTF-8
LONG_IDS = {
    # the ingest function's limit is 512 characters: these are within it, and over a key's bytes
    "viafoura-engagement": (
        engagement(
            "r-long-ids",
            liked(EMOJI * 508),
            {**liked("\u20ac" * 400), "action": "created", "content_uuid": "long-id-comment"},
        ),
        None,
    ),
    "openweb": ({"event_id": EMOJI * 512, "type": "user-followed"}, None),
    "fastcomments": ({"id": "x" * 470, "comment": "hi"}, "comment-created"),
    "firstup": ({"id": EMOJI * 480, "name": "channel_created"}, None),
}


@pytest.mark.parametrize("vendor_key", sorted(LONG_IDS))
def test_an_id_the_ingest_takes_is_stored_however_many_bytes_it_is_and_found_by_it(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime = shared_runtime
    document, event = LONG_IDS[vendor_key]
    ids = [e[vendor(vendor_key).id_field] for e in document.get("events", [document])]
    # Given ids within the ingest function's 512 characters but over DynamoDB's key bytes (or, made
    # into FastComments' and Firstup's ids, over 512 characters), delivered twice
    for _ in range(2):
        response = send_body(runtime, vendor_key, document, secrets[vendor_key], event=event)
        assert response.status == 200
        if vendor_key == "viafoura-engagement":
            assert {result["type"] for result in response.json()["results"]} == {"success"}
        runtime.drain()

    # Then each is stored once, found by its id, nothing quarantined or dead-lettered
    stored_events = [e for e in reader(runtime).scan() if e["vendor"] == vendor_key]
    for vendor_id in ids:
        (found,) = [e for e in stored_events if e["event_id"].startswith(vendor_id)]
        assert reader(runtime).get(vendor_key, found["event_id"]) == found
        assert reader(runtime).get_many([(vendor_key, found["event_id"])]) == [found]
    assert not [item for item in quarantined(runtime, vendor_key) if any(i in item["text"] for i in ids)]
    assert depth(runtime, dlq_url(runtime, vendor_key)) == 0
    if vendor_key == "viafoura-engagement":
        state = reader(runtime).state(vendor_key, "long-id-comment")
        assert state is not None
        assert state.event["event_id"] == "\u20ac" * 400


def test_a_batch_whose_answer_would_be_over_what_a_function_may_return_is_refused_before_it_is_queued(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    # Given a 140 KB batch of one event and 70,000 elements that are no events (a failure result each)
    body = json.dumps(engagement("r-answer", liked("answer-1"), *[0] * 70_000)).encode()
    before = depth(runtime, queue_url(runtime, "viafoura-engagement"))

    # When Viafoura delivers it: judging and answering each would outgrow the function (its answer alone
    # over Lambda's 6 MB: a 500 for a queued delivery)
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])

    # Then it is refused, said why, and nothing is queued (a failure shows only the answer's start)
    status, start = response.status, response.body[:200].decode(errors="replace")
    assert status == 413, start
    assert start.startswith('{"error":"too_many_events","message":"70001 events in one delivery; at most 10000'), start
    assert depth(runtime, queue_url(runtime, "viafoura-engagement")) == before


@pytest.mark.parametrize("where", ["an event id", "the request id"])
def test_a_batch_of_two_events_whose_answer_echoes_a_huge_id_is_refused_before_it_is_queued(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], where: str
) -> None:
    runtime = shared_runtime
    # Given 600,000 emoji (2.4 MB) as an event's id (refused as too long, and echoed) or the request's
    huge = EMOJI * 600_000
    events = (liked("huge-1"), liked(huge)) if where == "an event id" else (liked("huge-1"),)
    document = engagement(huge if where == "the request id" else "r-huge", *events)
    body = json.dumps(document, ensure_ascii=False).encode()
    before = depth(runtime, queue_url(runtime, "viafoura-engagement"))

    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])

    status, start = response.status, response.body[:200].decode(errors="replace")
    assert status == 413, start
    assert depth(runtime, queue_url(runtime, "viafoura-engagement")) == before


def test_a_batch_of_a_few_hundred_events_is_answered_for_each(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    body = engagement("r-many", *[liked(f"many-{n}") for n in range(300)])
    response = send_body(runtime, "viafoura-engagement", body, secrets["viafoura-engagement"])
    assert response.status == 200
    assert [result["type"] for result in response.json()["results"]] == ["success"] * 300
    runtime.drain()
    assert reader(runtime).get("viafoura-engagement", "many-299") is not None
