"""The deliveries the benchmarks send: the committed samples, correctly authenticated, as Lambda events."""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from benchmarks.harness import QUEUE_ARN, REGION
from intake_cli.events import http_api_event, sqs_event
from intake_cli.samples import SAMPLES_DIR, build_request, load_secrets, sample_delivery, sample_files
from webhook_intake.delivery import Delivery, iso_millis, kept_headers
from webhook_intake.registry import VENDORS, vendor

if TYPE_CHECKING:
    from intake_cli.samples import OutgoingRequest
    from webhook_intake.consumer.models import NormalizedEvent

VIAFOURA = "viafoura-engagement"
# One sample per vendor for the per-request measures: a typical delivery of each.
TYPICAL_SAMPLE = {
    "viafoura-engagement": "liked.json",
    "viafoura-notifications": "reply.json",
    "firstup": "content_published.json",
    "openweb": "replied-message.json",
    "fastcomments": "comment-created.json",
}


@cache
def secrets() -> dict[str, dict[str, Any]]:
    """The committed development secrets (config/secrets.local.json)."""
    return load_secrets()


def secret_strings() -> dict[str, str]:
    """SecretString by secret id; the benchmarks name each vendor's secret by its vendor key."""
    return {key: json.dumps(value) for key, value in secrets().items()}


def typical_body(vendor_key: str) -> tuple[bytes, str]:
    """The body and sample name of the vendor's typical delivery."""
    name = TYPICAL_SAMPLE.get(vendor_key) or sample_files(vendor_key)[0].name
    path = SAMPLES_DIR / vendor_key / name
    return path.read_bytes(), path.stem


@cache
def viafoura_events() -> tuple[dict[str, Any], ...]:
    """Every event of every Viafoura engagement sample (all its message types and actions)."""
    events: list[dict[str, Any]] = []
    for path in sample_files(VIAFOURA):
        events.extend(json.loads(path.read_bytes())["events"])
    return tuple(events)


def viafoura_body(events: list[dict[str, Any]]) -> bytes:
    """A Viafoura engagement delivery carrying ``events``, each with a fresh ``event_uuid``."""
    fresh = [{**copy.deepcopy(event), "event_uuid": str(uuid.uuid4())} for event in events]
    document = {"request_uuid": str(uuid.uuid4()), "time": int(time.time() * 1000), "version": 1, "events": fresh}
    return json.dumps(document, separators=(",", ":")).encode()


def viafoura_deliveries(count: int, events_each: int) -> list[bytes]:
    """``count`` Viafoura deliveries of ``events_each`` events, cycling through every sample event.

    Past the sample events the cycle starts again on new content ids: the same events sent
    again for the same comment would be older than its stored state, which is not normal traffic.
    """
    pool = viafoura_events()
    bodies = []
    for index in range(count):
        start = index * events_each
        events = []
        for position in range(start, start + events_each):
            cycle, event = divmod(position, len(pool))[0], pool[position % len(pool)]
            if cycle:
                content = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event.get('content_uuid')}#{cycle}"))
                event = {**event, "content_uuid": content}
            events.append(event)
        bodies.append(viafoura_body(events))
    return bodies


def request(vendor_key: str, body: bytes, sample_name: str = "") -> OutgoingRequest:
    """The vendor's request for ``body``, with its credential."""
    return build_request(vendor_key, body, secrets().get(vendor_key, {}), sample_name)


def route_path(vendor_key: str, method: str) -> str:
    """The template route path (``/webhooks/fastcomments/{event}``) serving ``method`` for the vendor."""
    for route in vendor(vendor_key).routes:
        route_method, path = route.split(" ", 1)
        if route_method == method:
            return path
    raise KeyError(f"{vendor_key} has no {method} route")


def api_event(vendor_key: str, body: bytes, sample_name: str = "") -> dict[str, Any]:
    """The API Gateway HTTP API (payload 2.0) event of the vendor's request for ``body``."""
    outgoing = request(vendor_key, body, sample_name)
    return http_api_event(
        outgoing.method, outgoing.path, route_path(vendor_key, outgoing.method), outgoing.headers, outgoing.body
    )


def queue_message(vendor_key: str, body: bytes, sample_name: str = "") -> dict[str, Any]:
    """The SQS message the ingest function would have sent for ``body`` (as ReceiveMessage returns it)."""
    outgoing = request(vendor_key, body, sample_name)
    delivery = Delivery(
        vendor=vendor_key,
        received_at=iso_millis(datetime.now(UTC)),
        correlation_id=str(uuid.uuid4()),
        method=outgoing.method,
        path=outgoing.path,
        path_parameters={"event": sample_name.split(".", 1)[0]} if vendor_key == "fastcomments" else {},
        headers=kept_headers(vendor(vendor_key), {name.lower(): value for name, value in outgoing.headers.items()}),
    )
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": uuid.uuid4().hex,
        "Body": body.decode("utf-8"),
        "MessageAttributes": delivery.to_message_attributes(),
    }


def sqs_batch(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event an SQS event source mapping sends for ``messages``."""
    return sqs_event(messages, QUEUE_ARN, REGION)


def vendor_keys() -> list[str]:
    """Every vendor key, in the registry's order."""
    return list(VENDORS)


@cache
def sample_events() -> dict[str, tuple[NormalizedEvent, ...]]:
    """Every event of every sample in events/ (the vendors' documented examples too), normalized.

    Each sample arrives as :func:`intake_cli.samples.sample_delivery` makes it, the delivery the
    golden files are computed from; an event the normalizer would quarantine is not an event here.
    """
    events: dict[str, tuple[NormalizedEvent, ...]] = {}
    for key in vendor_keys():
        normalizer = vendor(key).normalizer()
        found: list[NormalizedEvent] = []
        for path in sample_files(key):
            found.extend(normalizer.normalize(path.read_text(encoding="utf-8"), sample_delivery(key, path)).events)
        events[key] = tuple(found)
    return events


def single_event_deliveries() -> dict[str, list[tuple[bytes, str]]]:
    """Every sample of every vendor, one event per delivery (Viafoura engagement's batches split up)."""
    deliveries: dict[str, list[tuple[bytes, str]]] = {}
    for key in vendor_keys():
        if key == VIAFOURA:
            deliveries[key] = [(body, "") for body in viafoura_deliveries(len(viafoura_events()), 1)]
        else:
            deliveries[key] = [(path.read_bytes(), path.stem) for path in sample_files(key)]
    return deliveries
