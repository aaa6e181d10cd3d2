"""`make load`: a bounded flood on the local stack, then an account of every event it carried.

At least 10,000 deliveries across every vendor from 32 concurrent senders, of every kind a
vendor sends on a bad day: new events (every vendor's samples, with fresh ids), exact
duplicates of earlier deliveries, Viafoura batches mixing good events with elements that
cannot be stored (not an object, no id), events with a 300 KB field, deliveries over the
SQS limit (through S3), a second version of an earlier event's id with other content, and
batches with nothing storable at all (refused at the door with 400).

Afterwards every event is accounted for: stored with exactly its vendor's bytes, or
quarantined with the reason its kind calls for, or (refused deliveries) never accepted.
The counts of what can go wrong are printed: missing, stored with the wrong content, stored
unasked, quarantined unasked, dead-lettered, answered 5xx. The exit status is 0 only when
every one of them is 0.

The stack runs in its own process (`intake serve`), the senders here: everything on
127.0.0.1, bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from intake_cli.local import FAKE_CREDENTIALS
from intake_cli.queues import depth
from intake_cli.samples import build_request, load_secrets, sample_files
from webhook_intake.payloads import PayloadStore
from webhook_intake.registry import VENDORS, vendor
from webhook_intake.store.quarantine import QuarantineStore
from webhook_intake.store.reads import EventReader

DRAIN_LIMIT_SECONDS = 900
"""How long the queues may take to drain once everything is sent (the run is bounded)."""
MIX = (
    ("new", 0.78),
    ("duplicate", 0.08),
    ("mixed batch", 0.05),
    ("conflict", 0.03),
    ("large field", 0.03),
    ("over the SQS limit", 0.005),
    ("nothing storable", 0.025),
)
"""Kinds of delivery and their shares of the run."""


@dataclass
class Delivery:
    """One request to send, and what each of its events must become."""

    kind: str
    vendor: str
    body: bytes
    sample: str
    stored: dict[str, Any] = field(default_factory=dict)
    """Event id as sent (stored as is, or as ``<id>:<event>:<hash>`` by vendors that add them) ->
    the event's JSON, as it must be stored."""
    quarantined: int = 0
    """Events of this delivery that must be quarantined (with ``reason``)."""
    reason: str | None = None
    conflicts_with: int | None = None
    """For a conflict: the delivery whose event has the same id and other content."""


@dataclass
class Outcome:
    status: int
    seconds: float


@dataclass
class Plan:
    deliveries: list[Delivery] = field(default_factory=list)
    duplicated: set[int] = field(default_factory=set)
    conflicted: set[int] = field(default_factory=set)


def _fresh(vendor_key: str, document: dict[str, Any], tag: str) -> dict[str, Any]:
    """Give the sample's events ids of their own (in the vendor's id field, in each element of a batch);
    the ids they are sent with, with their JSON."""
    spec = vendor(vendor_key)
    events = document[spec.batch_field] if spec.batch_field is not None else [document]
    ids = [f"{tag}-{j}" for j in range(len(events))] if spec.batch_field is not None else [tag]
    for event_id, event in zip(ids, events, strict=True):
        event[spec.id_field] = event_id
    return dict(zip(ids, events, strict=True))


def _liked(event_uuid: str, **fields: Any) -> dict[str, Any]:
    return {"event_uuid": event_uuid, "message_type": "livecomment_post", "action": "liked", **fields}


def _engagement(tag: str, events: list[Any]) -> bytes:
    return json.dumps({"request_uuid": tag, "time": 1_790_000_000_000, "version": 1, "events": events}).encode()


def _mixed_batch(tag: str) -> Delivery:
    good = [_liked(f"{tag}-{j}", page_url=f"https://example.com/{tag}") for j in range(4)]
    bad: list[Any] = [f"{tag} is not an object", {"message_type": "chat_message", "action": "liked", "tag": tag}]
    events = good[:2] + bad[:1] + good[2:] + bad[1:]
    stored = {event["event_uuid"]: event for event in good}
    return Delivery("mixed batch", "viafoura-engagement", _engagement(tag, events), "", stored=stored, quarantined=2)


def _large_field(tag: str) -> Delivery:
    events = [_liked(f"{tag}-1"), _liked(f"{tag}-0", page_url="https://example.com/?q=" + "x" * 300_000)]
    stored = {event["event_uuid"]: event for event in events}
    return Delivery("large field", "viafoura-engagement", _engagement(tag, events), "", stored=stored)


def _over_the_sqs_limit(tag: str) -> Delivery:
    document = {"id": tag, "name": "channel_updated", "timestamp": "2026-11-29T12:00:00Z",
                "channel_id": 7, "channel_name": "c" * 1_200_000}  # fmt: skip
    return Delivery("over the SQS limit", "firstup", json.dumps(document).encode(), "", stored={tag: document})


def _nothing_storable(tag: str) -> Delivery:
    bad = {"request_uuid": tag, "notifications": [{"notification_type": "like", "tag": tag}]}
    return Delivery("nothing storable", "viafoura-notifications", json.dumps(bad).encode(), "")


BUILT = {
    "mixed batch": _mixed_batch,
    "large field": _large_field,
    "over the SQS limit": _over_the_sqs_limit,
    "nothing storable": _nothing_storable,
}


def _planned(kind: str, n: int, rng: random.Random, plan: Plan, samples: list[tuple[str, Path]]) -> Delivery:
    tag = f"load-{n}"
    # A delivery is the source of duplicates or of one conflict, never both: which of a conflicting
    # pair is stored first depends on timing, and a duplicate of the one quarantined would be a
    # conflict too.
    if kind == "duplicate":
        originals = [i for i, d in enumerate(plan.deliveries) if d.kind == "new" and i not in plan.conflicted]
        if originals:
            source = rng.choice(originals)
            plan.duplicated.add(source)
            original = plan.deliveries[source]
            return Delivery(kind, original.vendor, original.body, original.sample)
        kind = "new"
    if kind == "conflict":
        earlier = [
            i
            for i, d in enumerate(plan.deliveries)
            if d.kind == "new" and d.vendor == "openweb" and i not in plan.duplicated | plan.conflicted
        ]
        if earlier:
            source = rng.choice(earlier)
            plan.conflicted.add(source)
            document = json.loads(plan.deliveries[source].body)
            document["conversation_title"] = f"a second version, {tag}"
            return Delivery(kind, "openweb", json.dumps(document).encode(), "", quarantined=1, reason="conflict",
                            conflicts_with=source)  # fmt: skip
        kind = "new"
    if kind in BUILT:
        return BUILT[kind](tag)
    key, path = samples[n % len(samples)]
    document = json.loads(path.read_text())
    stored = _fresh(key, document, tag)
    return Delivery("new", key, json.dumps(document).encode(), path.stem, stored=stored)


def make_plan(total: int, seed: int = 7) -> Plan:
    """Deliveries in a shuffled order, of each kind in its share (MIX)."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not crypto)
    samples = [(key, path) for key in VENDORS for path in sample_files(key)]
    kinds, weights = zip(*MIX, strict=True)
    plan = Plan()
    for n in range(total):
        plan.deliveries.append(_planned(rng.choices(kinds, weights)[0], n, rng, plan, samples))
    return plan


def start_stack(state_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """`intake serve` on free ports, in its own process; its stack.json once it is up."""
    env = {**os.environ, "INTAKE_STATE_DIR": str(state_dir)}
    errors = (state_dir / "serve.err").open("wb")
    process = subprocess.Popen(  # our own CLI, with fixed arguments
        [sys.executable, "-m", "intake_cli.main", "serve", "--port", "0", "--retry-visibility", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    state_file = state_dir / "stack.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state_file.exists():
            return process, json.loads(state_file.read_text())
        if process.poll() is not None:
            raise SystemExit(f"intake serve exited: {(state_dir / 'serve.err').read_text()}")
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the local stack did not start within 120 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a person's Ctrl-C would; a stack that does not stop in a minute is killed and reported."""
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        print("warning: the local stack did not stop within 60 s of SIGTERM; killed", file=sys.stderr)
        process.kill()
        process.wait()


def send_all(api_url: str, plan: Plan, senders: int) -> list[Outcome]:
    """Every delivery over HTTP, ``senders`` at a time, correctly authenticated."""
    secrets = load_secrets()
    outcomes: list[Outcome | None] = [None] * len(plan.deliveries)
    progress = {"done": 0}
    lock = threading.Lock()

    def send(index: int) -> None:
        delivery = plan.deliveries[index]
        request = build_request(delivery.vendor, delivery.body, secrets[delivery.vendor], delivery.sample)
        http = urllib.request.Request(  # noqa: S310 (127.0.0.1 only)
            api_url + request.path, data=request.body, headers=request.headers, method=request.method
        )
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(http, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        outcomes[index] = Outcome(status, time.perf_counter() - start)
        with lock:
            progress["done"] += 1
            if progress["done"] % 1000 == 0:
                print(f"  sent {progress['done']}/{len(plan.deliveries)}", flush=True)

    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(send, range(len(plan.deliveries))))
    return [o for o in outcomes if o is not None]


def _aws(state: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=state["aws_endpoint_url"],
        region_name=state["region"],
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def wait_until_drained(state: dict[str, Any], limit: float) -> None:
    """Until every queue is empty (or ``limit`` passes)."""
    sqs = _aws(state, "sqs")
    outputs = state["outputs"]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if sum(sum(depth(sqs, outputs[f"{v.stem}QueueUrl"])) for v in VENDORS.values()) == 0:
            return
        time.sleep(1)


def _stores(state: dict[str, Any]) -> tuple[EventReader, QuarantineStore]:
    dynamodb = _aws(state, "dynamodb")
    payloads = PayloadStore(state["outputs"]["PayloadBucketName"], _aws(state, "s3"))
    table = state["outputs"]["EventsTableName"]
    return EventReader(table, dynamodb, payloads), QuarantineStore(table, dynamodb, payloads)


def dead_letters(state: dict[str, Any]) -> int:
    """Messages in every dead-letter queue."""
    sqs = _aws(state, "sqs")
    return sum(sum(depth(sqs, state["outputs"][f"{spec.stem}DeadLetterQueueUrl"])) for spec in VENDORS.values())


def _expected_quarantine(delivery: Delivery) -> Counter[str]:
    if delivery.kind == "mixed batch":
        return Counter({"invalid_event": 1, "missing_id": 1})
    if delivery.reason is not None:
        return Counter({delivery.reason: delivery.quarantined})
    return Counter()


def _found(key: str, stored: dict[str, str], by_prefix: dict[str, list[str]]) -> list[str]:
    """The stored keys of the event sent with this key's id: that id, or every ``<id>:<event>:<hash>``
    (vendors whose stored id adds the event's name and a hash)."""
    return [key] if key in stored else by_prefix.get(f"{key}:", [])


def _verdict(found: list[str], stored: dict[str, str], allowed: list[Any]) -> str:
    if not found:
        return "missing"
    if len(found) > 1 or json.loads(stored[found[0]]) not in allowed:
        return "stored with the wrong content"
    return "stored as sent"


def verify(state: dict[str, Any], plan: Plan, outcomes: list[Outcome]) -> dict[str, Any]:
    """Every event of the run, accounted for: what went as planned, and each way it could have gone wrong."""
    reader, quarantine = _stores(state)
    stored = {f"{event['vendor']}#{event['event_id']}": event["raw_text"] for event in reader.scan()}
    by_prefix: dict[str, list[str]] = {}
    for key in stored:
        vendor_key, _, event_id = key.partition("#")
        if ":" in event_id:
            by_prefix.setdefault(f"{vendor_key}#{event_id.split(':', 1)[0]}:", []).append(key)
    # Either version of a conflicting pair may be the one stored: the other is quarantined.
    versions: dict[int, list[Any]] = {}
    for delivery in plan.deliveries:
        if delivery.conflicts_with is not None:
            versions.setdefault(delivery.conflicts_with, []).append(json.loads(delivery.body))
    counts: Counter[str] = Counter()
    quarantine_expected: Counter[str] = Counter()
    accounted: set[str] = set()
    for index, (delivery, outcome) in enumerate(zip(plan.deliveries, outcomes, strict=True)):
        counts[f"answered {outcome.status}"] += 1
        if delivery.kind == "nothing storable":
            counts["refused as planned" if outcome.status == 400 else "nothing storable, yet not refused"] += 1
        elif not 200 <= outcome.status < 300:
            counts["refused, yet storable"] += 1
        else:
            quarantine_expected += _expected_quarantine(delivery)
            for event_key, document in delivery.stored.items():
                found = _found(f"{delivery.vendor}#{event_key}", stored, by_prefix)
                accounted.update(found)
                allowed = [document, *versions.get(index, [])]
                counts[_verdict(found, stored, allowed)] += 1
    counts["stored unasked"] = len(set(stored) - accounted)
    quarantine_found: Counter[str] = Counter(
        str(item["reason"]) for vendor_key in VENDORS for item in quarantine.list(vendor_key)
    )
    counts["quarantined unasked"] = sum((quarantine_found - quarantine_expected).values())
    counts["not quarantined though it should be"] = sum((quarantine_expected - quarantine_found).values())
    counts["dead-lettered"] = dead_letters(state)
    return {
        "counts": dict(sorted(counts.items())),
        "quarantined_by_reason": dict(sorted(quarantine_found.items())),
        "events_stored": len(stored),
    }


WRONG = (
    "missing",
    "stored with the wrong content",
    "stored unasked",
    "quarantined unasked",
    "not quarantined though it should be",
    "dead-lettered",
    "refused, yet storable",
    "nothing storable, yet not refused",
)
"""Every count here must be 0."""


def main(argv: list[str] | None = None) -> int:
    """Run the flood and print the summary; exit 1 if anything was lost or misplaced."""
    parser = argparse.ArgumentParser(prog="make load", description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--state-dir", help="keep the stack's state and handler logs here (default: a temporary dir)")
    args = parser.parse_args(argv)
    plan = make_plan(args.deliveries)
    with tempfile.TemporaryDirectory(prefix="intake-load-") as temporary:
        state_dir = Path(args.state_dir) if args.state_dir else Path(temporary)
        state_dir.mkdir(parents=True, exist_ok=True)
        process, state = start_stack(state_dir)
        try:
            print(f"local stack at {state['api_url']}; sending {args.deliveries} deliveries, {args.senders} at a time")
            started = time.perf_counter()
            outcomes = send_all(state["api_url"], plan, args.senders)
            sent_in = time.perf_counter() - started
            wait_until_drained(state, limit=DRAIN_LIMIT_SECONDS)
            drained_in = time.perf_counter() - started
            summary = verify(state, plan, outcomes)
        finally:
            stop(process)
    latencies = sorted(o.seconds for o in outcomes)
    counts = summary["counts"]
    failures = {name: counts.get(name, 0) for name in WRONG}
    failures["answered 5xx or not at all"] = sum(
        count for name, count in counts.items() if name.startswith("answered ") and not name[9:].startswith(("2", "4"))
    )
    report = {
        "deliveries": len(outcomes),
        "senders": args.senders,
        "kinds": dict(Counter(d.kind for d in plan.deliveries)),
        "throughput_per_s": round(len(outcomes) / sent_in, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "sent_in_s": round(sent_in, 1),
        "all_stored_in_s": round(drained_in, 1),
        **summary,
        "what_went_wrong": failures,
    }
    print(json.dumps(report, indent=2))
    ok = not any(failures.values())
    print("PASS: every event stored as sent or quarantined with its reason; nothing lost" if ok else
          "FAIL: see what_went_wrong above")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
