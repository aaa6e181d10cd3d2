"""`make load`: a bounded flood on the local stack, then a check that nothing accepted was lost.

At least 10,000 deliveries across every vendor from 32 concurrent senders, 10 % of them
exact duplicates of earlier deliveries and 1 % poison (a notification without its id, which
ingest refuses today; one it accepted would be quarantined, never retried). Afterwards: every
event of every 2xx delivery is stored (once: the event's key is the item's primary key), every
accepted poison delivery is quarantined, and no dead-letter queue holds anything. Prints
throughput, latency percentiles and the loss count, which must be 0 (the exit status says so).

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from intake_cli.local import FAKE_CREDENTIALS
from intake_cli.samples import build_request, load_secrets, sample_files
from webhook_intake.registry import VENDORS
from webhook_intake.store.schema import QUARANTINE_PREFIX

DRAIN_LIMIT_SECONDS = 600
"""How long the queues may take to drain once everything is sent (the run is bounded)."""


@dataclass
class Delivery:
    """One request to send, and what it must leave behind."""

    vendor: str
    body: bytes
    sample: str
    event_ids: list[str]
    poison: bool = False
    duplicate_of: int | None = None


@dataclass
class Outcome:
    status: int
    seconds: float


@dataclass
class Plan:
    deliveries: list[Delivery] = field(default_factory=list)


def _unique(vendor_key: str, document: dict[str, Any], n: int) -> list[str]:
    """Give the sample's events ids of their own; return the stored event ids it will produce."""
    tag = f"load-{n}"
    if vendor_key == "viafoura-engagement":
        for j, event in enumerate(document["events"]):
            event["event_uuid"] = f"{tag}-{j}"
        return [e["event_uuid"] for e in document["events"]]
    if vendor_key == "viafoura-notifications":
        for j, note in enumerate(document["notifications"]):
            note["notification_uuid"] = f"{tag}-{j}"
        return [n["notification_uuid"] for n in document["notifications"]]
    if vendor_key == "openweb":
        document["event_id"] = tag
        return [tag]
    # Firstup and FastComments: the stored id is "<id>:<event>:<hash>"; checked by its prefix.
    document["id"] = tag
    return [f"{tag}:"]


def make_plan(total: int, seed: int = 7) -> Plan:
    """Deliveries in a shuffled order: 89 % new, 10 % duplicates, 1 % poison."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not crypto)
    samples = [(key, path) for key in VENDORS for path in sample_files(key)]
    plan = Plan()
    for n in range(total):
        roll = rng.random()
        originals = [i for i, d in enumerate(plan.deliveries) if d.duplicate_of is None and not d.poison]
        if roll < 0.10 and originals:
            source = rng.choice(originals)
            original = plan.deliveries[source]
            plan.deliveries.append(Delivery(original.vendor, original.body, original.sample, [], duplicate_of=source))
        elif roll < 0.11:
            bad = {"request_uuid": f"poison-{n}", "notifications": [{"notification_type": "like", "poison": n}]}
            plan.deliveries.append(Delivery("viafoura-notifications", json.dumps(bad).encode(), "", [], poison=True))
        else:
            key, path = samples[n % len(samples)]
            document = json.loads(path.read_text())
            ids = _unique(key, document, n)
            plan.deliveries.append(Delivery(key, json.dumps(document).encode(), path.stem, ids))
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
        if sum(_depth(sqs, outputs[f"{v.stem}QueueUrl"]) for v in VENDORS.values()) == 0:
            return
        time.sleep(1)


def _depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def stored_events(state: dict[str, Any]) -> set[str]:
    """Every event stored in the events table, as its key ``<vendor>#<event_id>``.

    The key is the item's primary key: an event cannot be stored twice, so a set says it all.
    """
    dynamodb = _aws(state, "dynamodb")
    stored: set[str] = set()
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=state["outputs"]["EventsTableName"], ProjectionExpression="pk, sk"
    ):
        stored.update(item["pk"]["S"] for item in page["Items"] if item["sk"]["S"] == "event")
    return stored


def quarantined(state: dict[str, Any]) -> int:
    """How many events are quarantined, every vendor together."""
    dynamodb = _aws(state, "dynamodb")
    count = 0
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=state["outputs"]["EventsTableName"], ProjectionExpression="pk"
    ):
        count += sum(1 for item in page["Items"] if item["pk"]["S"].startswith(QUARANTINE_PREFIX))
    return count


def dead_letter_bodies(state: dict[str, Any]) -> list[bytes]:
    """Every body in every dead-letter queue."""
    sqs = _aws(state, "sqs")
    bodies: list[bytes] = []
    for spec in VENDORS.values():
        url = state["outputs"][f"{spec.stem}DeadLetterQueueUrl"]
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
            "Messages", []
        ):
            bodies.extend(m["Body"].encode() for m in batch)
    return bodies


def verify(state: dict[str, Any], plan: Plan, outcomes: list[Outcome]) -> dict[str, int]:
    """Loss, doubles, strays and dead letters, compared with what the plan says must be there."""
    stored = stored_events(state)
    expected: list[str] = []
    for delivery, outcome in zip(plan.deliveries, outcomes, strict=True):
        if 200 <= outcome.status < 300 and not delivery.poison and delivery.duplicate_of is None:
            expected.extend(f"{delivery.vendor}#{event_id}" for event_id in delivery.event_ids)
    # Firstup and FastComments ids end in the event's name and a hash: matched by their "<id>:" prefix.
    lost = sum(
        1
        for key in expected
        if (not any(k.startswith(key) for k in stored) if key.endswith(":") else key not in stored)
    )
    accepted_poison = {
        d.body for d, o in zip(plan.deliveries, outcomes, strict=True) if d.poison and 200 <= o.status < 300
    }
    return {
        "expected_events": len(expected),
        "stored_events": len(stored),
        "lost": lost,
        "stray_events": max(0, len(stored) - len(expected)),
        "poison_accepted": len(accepted_poison),
        "quarantined": quarantined(state),
        "dead_letters": len(dead_letter_bodies(state)),
    }


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
    statuses: dict[int, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    report = {
        "deliveries": len(outcomes),
        "senders": args.senders,
        "duplicates": sum(1 for d in plan.deliveries if d.duplicate_of is not None),
        "poison": sum(1 for d in plan.deliveries if d.poison),
        "statuses": statuses,
        "throughput_per_s": round(len(outcomes) / sent_in, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "sent_in_s": round(sent_in, 1),
        "all_stored_in_s": round(drained_in, 1),
        **summary,
    }
    print(json.dumps(report, indent=2))
    ok = summary["lost"] == 0 and summary["stray_events"] == 0
    ok = ok and summary["quarantined"] == summary["poison_accepted"] and summary["dead_letters"] == 0
    print("PASS: nothing accepted was lost" if ok else "FAIL: see the counts above")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
