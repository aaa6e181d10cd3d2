"""Deliveries through the template's own handlers on moto: ingest → queue → consumer → DynamoDB."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.samples import build_request, sample_files, sample_request
from tests.conftest import queue_messages
from webhook_intake.registry import VENDORS, vendor
from webhook_intake.repository import EventRepository

if TYPE_CHECKING:
    from pathlib import Path

    from intake_cli.runtime import HttpResponse, LocalRuntime

SUCCESS = {
    "viafoura-engagement": 200,
    "viafoura-notifications": 204,
    "firstup": 200,
    "openweb": 200,
    "fastcomments": 200,
}
AUTH_FAILURE = {
    "viafoura-engagement": 403,
    "viafoura-notifications": 401,
    "firstup": 401,
    "openweb": 401,
    "fastcomments": 401,
}
ALL_SAMPLES = [(key, path) for key in VENDORS for path in sample_files(key)]


def send(runtime: LocalRuntime, vendor_key: str, path: Path, secrets: dict[str, Any], **kwargs: Any) -> HttpResponse:
    request = sample_request(vendor_key, path, secrets, **kwargs)
    return runtime.request(request.method, request.path, request.headers, request.body)


def send_body(
    runtime: LocalRuntime, vendor_key: str, body: bytes, secret: dict[str, Any], name: str = ""
) -> HttpResponse:
    request = build_request(vendor_key, body, secret, name)
    return runtime.request(request.method, request.path, request.headers, request.body)


def queue_url(runtime: LocalRuntime, vendor_key: str) -> str:
    return runtime.stack.queues[f"{vendor(vendor_key).stem}Queue"]


def dlq_url(runtime: LocalRuntime, vendor_key: str) -> str:
    return runtime.stack.queues[f"{vendor(vendor_key).stem}DeadLetterQueue"]


def depth(runtime: LocalRuntime, url: str) -> int:
    attributes = runtime.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def stored(runtime: LocalRuntime) -> list[dict[str, Any]]:
    return [item for item in EventRepository(runtime.stack.tables["EventsTable"]).scan() if item["sk"] == "event"]


def expected_events(vendor_key: str, path: Path) -> list[dict[str, Any]]:
    """What the vendor's documentation says each event of a sample is: id, type, time, who and what."""
    body = json.loads(path.read_text())

    def ms(value: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(value / 1000)) + f".{value % 1000:03d}Z"

    if vendor_key == "viafoura-engagement":
        return [
            {
                "event_id": e["event_uuid"],
                "source_type": f"{e['message_type']}.{e['action']}",
                "occurred_at": ms(e["time"]),
                "actor": e["actor_uuid"],
                "content": e["content_uuid"],
            }
            for e in body["events"]
        ]
    if vendor_key == "viafoura-notifications":
        return [
            {
                "event_id": n["notification_uuid"],
                "source_type": n["notification_type"],
                "occurred_at": ms(n["time"]),
                "actor": (n.get("user") or {}).get("viafoura_id", {}).get("uuid"),
                "content": (n["payload"].get("content") or {}).get("uuid") or n["payload"].get("topic_id"),
            }
            for n in body["notifications"]
        ]
    if vendor_key == "openweb":
        actor = next((body[k] for k in ("liker", "replier", "mentioner", "follower", "followee") if k in body), None)
        acted_on = body.get("reply") or body.get("comment")
        return [
            {
                "event_id": body["event_id"],
                "source_type": body["type"],
                "actor": actor["user_id"] if actor else None,
                "content": acted_on["comment_id"] if acted_on else None,
            }
        ]
    if vendor_key == "firstup":
        fields = {**body.get("data", {}), **body}
        about = fields.get("content_id") or fields.get("notification_id") or fields.get("campaign_id")
        return [{"event_id": body["id"], "content": str(about) if about else None}]
    return [{"event_id_prefix": f"{body['id']}:{path.stem.split('.')[0]}:", "content": body["id"]}]


@pytest.mark.parametrize(("vendor_key", "path"), ALL_SAMPLES, ids=[f"{k}/{p.name}" for k, p in ALL_SAMPLES])
def test_every_documented_example_is_accepted_queued_and_stored(
    runtime: LocalRuntime, secrets: dict[str, Any], vendor_key: str, path: Path
) -> None:
    # Given a documented example, sent the way the vendor sends it
    response = send(runtime, vendor_key, path, secrets)

    # Then the vendor gets its own success answer, and the raw body is on the vendor's queue
    assert response.status == SUCCESS[vendor_key], response.body
    if vendor_key == "viafoura-engagement":
        body = json.loads(path.read_text())
        assert response.json() == {
            "request_uuid": body["request_uuid"],
            "results": [{"event_uuid": e["event_uuid"], "type": "success"} for e in body["events"]],
        }
    if vendor_key == "viafoura-notifications":
        assert response.body == b""
    (message,) = queue_messages(runtime.sqs, queue_url(runtime, vendor_key))
    assert message["Body"].encode() == path.read_bytes()
    assert message["MessageAttributes"]["vendor"]["StringValue"] == vendor_key

    # When the consumer runs
    runtime.drain()

    # Then every event is in DynamoDB as the vendor documents it
    items = {item["event_id"]: item for item in stored(runtime)}
    expected = expected_events(vendor_key, path)
    assert len(items) == len(expected)
    for want in expected:
        if "event_id_prefix" in want:
            (item,) = [i for i in items.values() if i["event_id"].startswith(want["event_id_prefix"])]
        else:
            item = items[want["event_id"]]
        assert item["vendor"] == vendor_key
        assert item["event_type"] != "other" or (vendor_key == "firstup" and item["source_type"] == "ping")
        if "source_type" in want:
            assert item["source_type"] == want["source_type"]
        if "occurred_at" in want:
            assert item["occurred_at"] == want["occurred_at"]
        if want.get("actor"):
            assert item["actor"]["id"] == want["actor"]
        if want.get("content"):
            assert item["content"]["id"] == want["content"]
        assert len(item["occurred_at"]) == 24 and item["occurred_at"].endswith("Z")
        assert json.loads(item["raw"])  # the vendor's event object, as received
    assert depth(runtime, queue_url(runtime, vendor_key)) == 0
