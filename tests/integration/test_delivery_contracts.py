"""Refusals, rotation, limits, enqueue failure, duplicates and poison records, on the template's stack."""

from __future__ import annotations

import gzip
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import EndpointConnectionError

from intake_cli.events import sqs_event
from intake_cli.samples import build_request, sample_files, sample_request
from tests.conftest import queue_messages
from tests.helpers import (
    AUTH_FAILURE,
    credential_headers,
    depth,
    dlq_url,
    handler_logs,
    notifications_body,
    put_secret,
    quarantined,
    queue_url,
    send,
    send_body,
    stored,
    stored_ids,
)
from webhook_intake import secrets as secrets_module
from webhook_intake.auth import secret_list
from webhook_intake.clients import client
from webhook_intake.delivery import correlation_id_of
from webhook_intake.ingest.settings import DEFAULT_MAX_BODY_BYTES
from webhook_intake.registry import VENDORS, vendor
from webhook_intake.secrets import SECRETS_CONFIG

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_wrong_credential_gets_the_vendors_auth_status_and_nothing_is_queued(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime = shared_runtime
    response = send(runtime, vendor_key, sample_files(vendor_key)[0], secrets, bad_auth=True)
    assert response.status == AUTH_FAILURE[vendor_key]
    assert response.json()["error"] in {"unauthorized", "forbidden"}
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_missing_credential_is_refused_too(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime = shared_runtime
    request = sample_request(vendor_key, sample_files(vendor_key)[0], secrets)
    carrying = credential_headers(vendor_key, secrets)
    headers = {name: value for name, value in request.headers.items() if name not in carrying}
    assert len(headers) < len(request.headers)
    response = runtime.request(request.method, request.path, headers, request.body)
    assert response.status == AUTH_FAILURE[vendor_key]
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_credential_listed_after_another_is_accepted(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    # Given the stack's secret lists a newer credential before the one the vendor still uses (a rotation)
    spec = vendor(vendor_key)
    fields = spec.contract().credential_fields
    newer = {field: [f"newer-{field}", *secret_list(secrets[vendor_key][field])] for field in fields}
    put_secret(runtime, f"{spec.stem}Secret", {**secrets[vendor_key], **newer})

    # When the vendor delivers with the credential it has
    sample = sample_files(vendor_key)[0]
    response = send_body(runtime, vendor_key, sample.read_bytes(), secrets[vendor_key], sample.stem)

    # Then it is accepted and queued
    assert response.status in {200, 204}
    assert depth(runtime, queue_url(runtime, vendor_key)) == 1


def test_a_fastcomments_signature_ten_minutes_old_is_refused(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    runtime = shared_runtime
    sample = sample_files("fastcomments")[0]
    request = sample_request("fastcomments", sample, secrets, now=time.time() - 600)
    response = runtime.request(request.method, request.path, request.headers, request.body)
    assert response.status == 401
    assert depth(runtime, queue_url(runtime, "fastcomments")) == 0


def test_a_fastcomments_legacy_token_is_accepted(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    sample = sample_files("fastcomments")[0]
    headers = {"token": secrets["fastcomments"]["api_secret"], "content-type": "application/json"}
    response = runtime.request("PUT", "/webhooks/fastcomments/comment-created", headers, sample.read_bytes())
    assert response.status == 200


def test_fastcomments_admin_test_with_a_wrong_token_beside_a_good_signature_gets_401(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # FastComments sends the API secret in `token` beside its signature; its admin "Send Test Payload"
    # also sends an invalid API key and expects 401 ("If you don't correctly check the value of the token")
    sample = sample_files("fastcomments")[0]
    request = sample_request("fastcomments", sample, secrets)
    good = secrets["fastcomments"]["api_secret"]
    headers = {**request.headers, "token": "not-the-api-secret"}
    wrong = runtime.request(request.method, request.path, headers, request.body)
    assert wrong.status == 401
    assert depth(runtime, queue_url(runtime, "fastcomments")) == 0
    # The happy call, the API secret in `token` and the same signature, is taken
    happy = runtime.request(request.method, request.path, {**request.headers, "token": good}, request.body)
    assert happy.status == 200
    assert depth(runtime, queue_url(runtime, "fastcomments")) == 1


def test_a_fastcomments_comment_with_a_lone_surrogate_verifies_against_javascripts_compact_encoding(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a comment cut inside an emoji (a lone surrogate) beside whole ones, signed over the compact
    # encoding JavaScript's JSON.stringify writes (the lone surrogate escaped, other text as itself), the
    # body itself sent pretty-printed
    comment = json.loads(sample_files("fastcomments")[0].read_bytes())
    comment.update(id="cut-1", comment="caf\u00e9 \U0001f600 \ud83d")
    compact = json.dumps(comment, separators=(",", ":"), ensure_ascii=False).replace("\ud83d", "\\ud83d")
    signed = build_request("fastcomments", compact.encode(), secrets["fastcomments"], event="comment-created")
    pretty = json.dumps(comment, indent=2).encode()

    # When it is delivered, then it is accepted and stored as sent
    response = runtime.request(signed.method, signed.path, signed.headers, pretty)
    assert response.status == 200, response.body
    runtime.drain()
    (item,) = stored(runtime)
    assert item["raw_text"].encode() == pretty


def test_a_fastcomments_body_naming_a_key_twice_must_verify_over_its_own_bytes(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a comment signed over its compact encoding, and a body naming its id twice: first with text no
    # signature covers, then as signed (read, the last one wins: its compact re-encoding is the text signed)
    comment = json.loads(sample_files("fastcomments")[0].read_bytes())
    compact = json.dumps(comment, separators=(",", ":")).encode()
    signed = build_request("fastcomments", compact, secrets["fastcomments"], event="comment-created")
    body = b'{"id":"text nobody signed",' + compact[1:]

    # When it is delivered with that signature
    response = runtime.request(signed.method, signed.path, signed.headers, body)

    # Then it is refused as a signature that does not verify, and nothing is queued
    assert response.status == 401, response.body
    assert response.json() == {"error": "unauthorized", "message": "authentication failed"}
    assert depth(runtime, queue_url(runtime, "fastcomments")) == 0
    # And the body signed, sent with it, is taken
    assert runtime.request(signed.method, signed.path, signed.headers, compact).status == 200


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_body_that_is_not_json_is_400(shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str) -> None:
    runtime = shared_runtime
    response = send_body(runtime, vendor_key, b"<xml>not json</xml>", secrets[vendor_key])
    assert response.status == 400
    assert response.json() == {"error": "invalid_json", "message": "body is not valid JSON"}
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_compressed_body_is_refused_as_compressed_not_as_bad_json(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    # Given a vendor's own sample, gzipped and labelled so, with a valid credential (FastComments signs the bytes sent)
    runtime = shared_runtime
    sample = sample_files(vendor_key)[0]
    body = gzip.compress(sample.read_bytes())
    headers = {"content-encoding": "gzip"}

    response = send_body(runtime, vendor_key, body, secrets[vendor_key], sample.stem, headers=headers)

    # Then the answer is the 400 every vendor documents for a body it cannot use, naming what is wrong (not
    # "body is not UTF-8"), and nothing is queued
    assert response.status == 400
    assert response.json() == {
        "error": "unsupported_encoding",
        "message": "body is compressed (content-encoding); send it uncompressed",
    }
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_body_led_by_a_byte_order_mark_is_taken_and_stored(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    # Given a vendor's own sample preceded by a UTF-8 byte order mark (RFC 8259 lets a reader ignore it;
    # Viafoura never retries, and its notifications take a 400 as final: a refusal loses the events)
    sample = sample_files(vendor_key)[0]
    body = b"\xef\xbb\xbf" + sample.read_bytes()

    response = send_body(runtime, vendor_key, body, secrets[vendor_key], sample.stem)

    # Then it is taken, and its events are stored as the same sample's without the mark
    assert 200 <= response.status < 300, response.body
    runtime.drain()
    with_mark = stored_ids(runtime, vendor_key)
    assert with_mark
    assert quarantined(runtime, vendor_key) == []
    assert depth(runtime, dlq_url(runtime, vendor_key)) == 0
    assert send_body(runtime, vendor_key, sample.read_bytes(), secrets[vendor_key], sample.stem).status < 300
    runtime.drain()
    assert stored_ids(runtime, vendor_key) == with_mark


@pytest.mark.parametrize("label", ["Identity", "utf-8", "gzip"])
@pytest.mark.parametrize("vendor_key", ["viafoura-engagement", "openweb"])
def test_a_json_body_is_read_whatever_its_content_encoding_says(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, label: str
) -> None:
    # Given a vendor's own sample sent as it is, under a content-encoding label (identity, or a wrong one: Viafoura
    # never sends a refused batch again, so a label must not cost a body that reads as JSON)
    sample = sample_files(vendor_key)[0]
    headers = {"content-encoding": label}

    response = send_body(runtime, vendor_key, sample.read_bytes(), secrets[vendor_key], sample.stem, headers=headers)
    runtime.drain()

    # Then it is taken and every event of it stored, as without the label
    assert response.status == 200
    document = json.loads(sample.read_bytes())
    assert len(stored_ids(runtime, vendor_key)) == len(document.get("events", [document]))


NO_ENVELOPE = {"hello": "world"}
"""A JSON object naming no event: a ping to a vendor that sends one (Firstup), else a body to refuse."""


@pytest.mark.parametrize(
    "vendor_key", [key for key, spec in sorted(VENDORS.items()) if not spec.contract().is_ping(NO_ENVELOPE)]
)
def test_json_without_the_vendors_envelope_is_400(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime = shared_runtime
    response = send_body(runtime, vendor_key, json.dumps(NO_ENVELOPE).encode(), secrets[vendor_key])
    assert response.status == 400
    assert response.json()["error"] == "invalid_envelope"


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_an_oversized_body_is_413(shared_runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str) -> None:
    runtime = shared_runtime
    body = json.dumps({"padding": "x" * DEFAULT_MAX_BODY_BYTES}).encode()
    response = send_body(runtime, vendor_key, body, secrets[vendor_key])
    # Lambda's own limit (6 MB of event) answers before the function's (the unit tests show its 413)
    assert response.status == 413
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_queue_that_cannot_be_reached_is_a_5xx(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    runtime.sqs.delete_queue(QueueUrl=queue_url(runtime, vendor_key))
    response = send(runtime, vendor_key, sample_files(vendor_key)[0], secrets)
    assert response.status >= 500
    assert response.json()["error"] == "enqueue_failed"


def test_viafoura_engagement_is_taken_with_the_secret_read_before_while_secrets_manager_cannot_be_reached(
    runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def delivery(event_uuid: str) -> bytes:
        event = {"event_uuid": event_uuid, "message_type": "livecomment_post", "action": "liked", "time": 1790000000000}
        batch = {"request_uuid": f"r-{event_uuid}", "time": 1790000000001, "version": 1, "events": [event]}
        return json.dumps(batch).encode()

    # Given the engagement route has read its secret for a first delivery
    credential = secrets["viafoura-engagement"]
    assert send_body(runtime, "viafoura-engagement", delivery("before-outage"), credential).status == 200
    # When its cached copy is past its five minutes and Secrets Manager cannot be reached
    later = time.monotonic() + 301
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: later)

    def unreachable(request: Any, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    secrets_client = client("secretsmanager", SECRETS_CONFIG)
    secrets_client.meta.events.register_first("before-send.secrets-manager", unreachable)
    try:
        with handler_logs() as logs:
            response = send_body(runtime, "viafoura-engagement", delivery("during-outage"), credential)
    finally:
        secrets_client.meta.events.unregister("before-send.secrets-manager", unreachable)

    # Then Viafoura, which never sends an event again, hears it was taken, and it is stored
    assert response.status == 200
    assert response.json()["results"] == [{"event_uuid": "during-outage", "type": "success"}]
    runtime.drain()
    assert sorted(stored_ids(runtime, "viafoura-engagement")) == ["before-outage", "during-outage"]
    # And the operator reads why in the log
    assert "secret unavailable, the copy read before is used" in logs.getvalue()
    # And a credential the copy does not hold is not taken (whether it is a new one cannot be read)
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: later + 1)
    secrets_client.meta.events.register_first("before-send.secrets-manager", unreachable)
    try:
        wrong = send_body(runtime, "viafoura-engagement", delivery("unknown-credential"), {"tokens": ["f" * 64]})
    finally:
        secrets_client.meta.events.unregister("before-send.secrets-manager", unreachable)
    assert wrong.status == 500


def test_an_unknown_route_is_404(shared_runtime: LocalRuntime) -> None:
    runtime = shared_runtime
    assert runtime.request("POST", "/webhooks/unknown", {}, b"{}").status == 404
    assert runtime.request("GET", "/webhooks/firstup", {}, b"").status == 404


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_the_same_delivery_twice_is_stored_once(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    sample = sample_files(vendor_key)[0]
    first = send(runtime, vendor_key, sample, secrets)
    runtime.drain()
    count = len(stored(runtime))
    second = send(runtime, vendor_key, sample, secrets)
    runtime.drain()
    assert first.status == second.status
    assert len(stored(runtime)) == count > 0


def test_the_same_event_in_two_viafoura_batches_is_stored_once(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    event = {"event_uuid": "shared-event", "message_type": "livecomment_post", "action": "liked", "time": 1790000000000}
    other = {**event, "event_uuid": "other-event"}
    for request_uuid, events in (("batch-1", [event]), ("batch-2", [other, event])):
        body = json.dumps({"request_uuid": request_uuid, "time": 1790000000001, "version": 1, "events": events})
        assert send_body(runtime, "viafoura-engagement", body.encode(), secrets["viafoura-engagement"]).status == 200
    runtime.drain()
    assert sorted(item["event_id"] for item in stored(runtime)) == ["other-event", "shared-event"]


def test_an_event_that_cannot_be_normalized_is_quarantined_and_its_record_succeeds(
    runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given three deliveries on the notifications queue, the middle one with an event without its id
    secret = secrets["viafoura-notifications"]
    bodies = [notifications_body("n-1"), notifications_body("n-2", None, request_uuid="r-2"), notifications_body("n-3")]
    for body in bodies:
        assert send_body(runtime, "viafoura-notifications", body, secret).status == 204

    # When the consumer gets them as one batch
    url = queue_url(runtime, "viafoura-notifications")
    messages = queue_messages(runtime.sqs, url)
    assert len(messages) == 3
    consumer = runtime.functions["ViafouraNotificationsConsumerFunction"]
    response = consumer.invoke(sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1"))

    # Then no record fails: the good events are stored, the bad one kept with its reason, the DLQ empty
    assert response == {"batchItemFailures": []}
    assert sorted(item["event_id"] for item in stored(runtime)) == ["n-1", "n-2", "n-3"]
    (kept,) = quarantined(runtime, "viafoura-notifications")
    assert (kept["reason"], kept["index"], json.loads(kept["text"])) == (
        "missing_id",
        1,
        {"notification_type": "follow", "time": 1790000000000, "poison": True},
    )
    runtime.drain()
    assert depth(runtime, dlq_url(runtime, "viafoura-notifications")) == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"ping": "hello"}',
        b"{}",
        b'{"name": "ping"}',
        b'{"id": "p-1", "name": "ping"}',
        b"",
        b" \r\n",
        # a UTF-8 byte order mark is no part of a body: with nothing, or only white space, after it, the body is empty
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf \r\n",
    ],
)
def test_a_firstup_ping_is_answered_2xx_and_never_stored(
    runtime: LocalRuntime, secrets: dict[str, Any], body: bytes
) -> None:
    request = build_request("firstup", body, secrets["firstup"])
    assert runtime.request(request.method, request.path, request.headers, request.body).status == 200
    assert depth(runtime, queue_url(runtime, "firstup")) == 0
    runtime.drain()
    assert stored(runtime) == []


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_an_empty_body_is_a_ping_only_for_firstup_and_only_with_its_credential(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str
) -> None:
    # Given an empty body, signed as each vendor signs, and one sent without any credential
    signed = build_request(vendor_key, b"", secrets[vendor_key])
    answered = runtime.request(signed.method, signed.path, signed.headers, b"")
    anonymous = runtime.request(signed.method, signed.path, {"content-type": "application/json"}, b"")

    # Then Firstup's subscription check may come without a body; every other vendor's is not JSON
    if vendor_key == "firstup":
        assert (answered.status, answered.json()) == (200, {"accepted": True, "ping": True})
    else:
        assert (answered.status, answered.json()["error"]) == (400, "invalid_json")
    # And without a credential it is refused as any request is
    assert anonymous.status == VENDORS[vendor_key].contract().auth_failure_status
    runtime.drain()
    assert stored(runtime) == []


@pytest.mark.parametrize(
    ("name", "reason"), [(None, "missing_field"), ("", "missing_field"), (["content_published"], "invalid_field")]
)
def test_a_firstup_body_with_an_id_but_no_name_is_taken_and_kept_in_quarantine(
    runtime: LocalRuntime, secrets: dict[str, Any], name: Any, reason: str
) -> None:
    # Firstup's ping is undocumented: an id without a name may be one, or a broken event. Either
    # way it is answered 2xx (a subscription's check never hears a 4xx) and kept, never dropped.
    document: dict[str, Any] = {"id": "fu-noname", "timestamp": "2026-08-03T12:59:58Z", "content_id": 1}
    if name is not None:
        document["name"] = name
    response = send_body(runtime, "firstup", document, secrets["firstup"])
    assert (response.status, response.json()) == (200, {"accepted": True})
    runtime.drain()
    # with the reason every vendor's event without a required field gets
    (kept,) = quarantined(runtime, "firstup")
    assert (kept["reason"], kept["event_id"]) == (reason, "fu-noname")
    assert stored(runtime, "firstup") == []


LEGACY = {"event": "content.published", "timestamp": "2026-08-03T12:59:58Z", "data": {"content_id": 25120469}}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({**LEGACY, "event": None, "data": {"id": "in-data-only", "content_id": 5}}, "missing_field"),
        ({"timestamp": "2026-08-03T12:59:58Z", "data": {"id": "in-data-only", "content_id": 5}}, "missing_field"),
        ({**LEGACY, "event": ["content.published"], "data": {"id": "in-data-only"}}, "invalid_field"),
        ({**LEGACY, "event": {"name": "content.published"}, "data": {"id": "in-data-only"}}, "invalid_field"),
        ({**LEGACY, "event": True, "data": {"id": "in-data-only"}}, "invalid_field"),
        ({**LEGACY, "event": 1.5, "data": {"id": "in-data-only"}}, "invalid_field"),
        ({**LEGACY, "event": "  ", "data": {"id": "in-data-only"}}, "missing_field"),
    ],
    ids=[
        "event null",
        "no event",
        "event a list",
        "event an object",
        "event a boolean",
        "event a fraction",
        "event blank",
    ],
)
def test_an_older_envelope_with_its_id_in_data_and_no_name_is_kept_not_taken_for_a_ping(
    runtime: LocalRuntime, secrets: dict[str, Any], document: dict[str, Any], reason: str
) -> None:
    # When Firstup's older envelope names no event but carries an id in data
    response = send_body(runtime, "firstup", document, secrets["firstup"])
    runtime.drain()

    # Then it is taken as an event, not a ping, and kept in quarantine under that id
    assert (response.status, response.json()) == (200, {"accepted": True})
    # with the reason any event gets whose required field is missing, or is a value of another kind
    (kept,) = quarantined(runtime, "firstup")
    assert (kept["reason"], kept["event_id"]) == (reason, "in-data-only")
    # naming the field the name was to be read from
    assert kept["message"].startswith("'event' is ")


@pytest.mark.parametrize(
    ("name", "label"),
    [("survey.response_submitted", "survey_response_submitted"), ("  ", "unreadable-"), (7.5, "7.5:")],
)
def test_a_firstup_name_is_read_as_it_always_was_beside_a_data_object(
    runtime: LocalRuntime, secrets: dict[str, Any], name: Any, label: str
) -> None:
    # Given names the envelope rule must leave alone: one Firstup does not document, blank, a number
    document = {"id": "d-1", "name": name, "timestamp": "2026-08-03T12:59:58Z", "data": {"content_id": 5}}

    # When delivered
    assert send_body(runtime, "firstup", document, secrets["firstup"]).status == 200
    runtime.drain()

    # Then the event is stored under the id it always had (a redelivery after an upgrade is a duplicate)
    (event,) = stored(runtime, "firstup")
    assert event["event_type"] == "other"
    assert event["event_id"].startswith(f"d-1:{label}")


@pytest.mark.parametrize(
    ("document", "expected_id"),
    [
        # Firstup's older envelope documents no event id: the delivery's own id stands in.
        (LEGACY, "delivery-77"),
        ({**LEGACY, "data": {**LEGACY["data"], "id": "in-data"}}, "in-data"),
        # A body id that is no id leaves data's
        ({**LEGACY, "id": None, "data": {**LEGACY["data"], "id": "in-data"}}, "in-data"),
        ({**LEGACY, "id": " ", "data": {**LEGACY["data"], "id": "in-data"}}, "in-data"),
        ({**LEGACY, "id": None, "data": {**LEGACY["data"], "id": 0}}, "0"),
        ({**LEGACY, "id": "on-top"}, "on-top"),
        # A name that names nothing leaves the envelope's event
        ({**LEGACY, "name": None}, "delivery-77"),
        ({**LEGACY, "name": ""}, "delivery-77"),
        # A current flat body with an older dotted name.
        ({"id": "flat-dotted", "name": "content.published", "timestamp": "2026-08-03T12:59:58Z"}, "flat-dotted"),
    ],
)
def test_firstups_older_forms_are_stored_as_the_current_one(
    runtime: LocalRuntime, secrets: dict[str, Any], document: dict[str, Any], expected_id: str
) -> None:
    request = build_request("firstup", json.dumps(document).encode(), secrets["firstup"])
    headers = {**request.headers, "x-socialchorus-delivery": "delivery-77"}
    assert runtime.request(request.method, request.path, headers, request.body).status == 200
    runtime.drain()
    (event,) = stored(runtime, "firstup")
    assert event["event_id"].startswith(f"{expected_id}:content_published:")
    assert (event["event_type"], event["source_type"]) == ("content.published", "content_published")
    assert event["occurred_at"] == "2026-08-03T12:59:58.000Z"
    assert quarantined(runtime, "firstup") == []


@pytest.mark.parametrize("delivery_id", ["d" * 600, "délivery-1"], ids=["over an id's length", "not ascii"])
def test_firstups_older_envelope_takes_its_delivery_id_as_the_delivery_carries_it(
    runtime: LocalRuntime, secrets: dict[str, Any], delivery_id: str
) -> None:
    request = build_request("firstup", json.dumps(LEGACY).encode(), secrets["firstup"])
    headers = {**request.headers, "x-socialchorus-delivery": delivery_id}
    # When the delivery's id is one a log or a key cannot carry as it is
    assert runtime.request(request.method, request.path, headers, request.body).status == 200
    runtime.drain()

    # Then the event is stored under its hash, the id ingest judged it by
    (event,) = stored(runtime, "firstup")
    assert event["event_id"].startswith(f"{correlation_id_of(delivery_id)}:content_published:")
    assert correlation_id_of(delivery_id).startswith("sha256:")
    assert quarantined(runtime, "firstup") == []


def test_firstups_older_envelope_without_any_id_is_refused(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    request = build_request("firstup", json.dumps(LEGACY).encode(), secrets["firstup"])
    headers = {k: v for k, v in request.headers.items() if k != "x-socialchorus-delivery"}
    response = runtime.request(request.method, request.path, headers, request.body)
    assert (response.status, json.loads(response.body)["message"]) == (400, "'id' is missing or empty")
    assert depth(runtime, queue_url(runtime, "firstup")) == 0
