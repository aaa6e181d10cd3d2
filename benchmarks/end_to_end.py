"""Measure 6: end to end on the local stack, HTTP request to stored item, with 1 and 16 senders.

The stack is the one ``intake serve`` runs (intake_cli.stack.LocalStack: template.yaml on an
in-process moto server, the local HTTP gateway, one poller per event source mapping with the
template's batch size and batching window). Deliveries are single-event Viafoura engagement
webhooks with fresh ids, sent over real HTTP with real authentication. A delivery's latency
runs from just before its HTTP request to when its item is first seen in the table, polled with
BatchGetItem every 50 ms (items carry no write time of their own).

These numbers are bounded by the local stack, not by AWS: moto answers every AWS call in this
same Python process, and each function handles one event at a time, as a Lambda execution
environment does, but here there is only one environment per function.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3

from benchmarks import workload
from benchmarks.harness import ROOT, Report, Row, child_process_environment, percentile
from intake_cli.stack import LocalStack, StackOptions

if TYPE_CHECKING:
    from intake_cli.samples import OutgoingRequest

NAME = "end_to_end"
PART = "6 end to end"
REQUIRES: tuple[str, ...] = ()
CONCURRENCY = (1, 16)
STORE_TIMEOUT_S = 120.0
POLL_S = 0.05
_BATCH_GET = 100


@dataclass
class Delivery:
    """One webhook sent, and what happened to it."""

    event_uuid: str
    request: OutgoingRequest | None = None
    sent_at: float = 0.0
    answered_at: float = 0.0
    status: int = 0
    stored_at: float = 0.0


def _deliveries(count: int) -> list[Delivery]:
    bodies = workload.viafoura_deliveries(count, 1)
    return [
        Delivery(json.loads(body)["events"][0]["event_uuid"], workload.request(workload.VIAFOURA, body))
        for body in bodies
    ]


def _send(api_url: str, work: queue.Queue[Delivery | None]) -> None:
    address = urlsplit(api_url)
    while (delivery := work.get()) is not None:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        outgoing = delivery.request
        assert outgoing is not None
        delivery.sent_at = time.time()
        try:
            connection.request(outgoing.method, outgoing.path, body=outgoing.body, headers=outgoing.headers)
            response = connection.getresponse()
            response.read()
            delivery.status = response.status
        except OSError:
            delivery.status = 0
        finally:
            delivery.answered_at = time.time()
            connection.close()


def _watch(dynamodb: Any, table: str, deliveries: list[Delivery], sent: threading.Event) -> None:
    """Poll (BatchGetItem) for the item of every delivery sent and not refused; note when each is first seen.

    Runs while the senders send: an item can be stored before its HTTP answer reaches the sender.
    Stops once everything is sent and every accepted delivery's item is found, or the time is up.
    """
    deadline = time.monotonic() + STORE_TIMEOUT_S
    while time.monotonic() < deadline:
        done = sent.is_set()
        pending = {
            d.event_uuid: d
            for d in deliveries
            if d.sent_at and not d.stored_at and (d.status == 0 or 200 <= d.status < 300)
        }
        if done and not any(200 <= d.status < 300 for d in pending.values()):
            return
        waiting = list(pending)
        for start in range(0, len(waiting), _BATCH_GET):
            keys = [
                {"pk": {"S": f"{workload.VIAFOURA}#{uuid}"}, "sk": {"S": "event"}}
                for uuid in waiting[start : start + _BATCH_GET]
            ]
            response = dynamodb.batch_get_item(
                RequestItems={table: {"Keys": keys, "ProjectionExpression": "pk", "ConsistentRead": True}}
            )
            seen = time.time()
            for item in response["Responses"].get(table, []):
                found = pending.get(item["pk"]["S"].split("#", 1)[1])
                if found is not None:
                    found.stored_at = seen
        time.sleep(POLL_S)


def _level(stack: LocalStack, dynamodb: Any, table: str, senders: int, count: int) -> list[Delivery]:
    deliveries = _deliveries(count)
    work: queue.Queue[Delivery | None] = queue.Queue()
    for delivery in deliveries:
        work.put(delivery)
    for _ in range(senders):
        work.put(None)
    sent = threading.Event()
    watcher = threading.Thread(target=_watch, args=(dynamodb, table, deliveries, sent), daemon=True)
    watcher.start()
    threads = [threading.Thread(target=_send, args=(stack.api_url, work), daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.set()
    watcher.join()
    return deliveries


def _run_level(senders: int, count: int, log_file: Path) -> list[Delivery]:
    """Start the local stack, send ``count`` deliveries from ``senders`` threads, wait for the items."""
    options = StackOptions(port=0, state_file=None, log_file=log_file, metrics_interval=60.0)
    with LocalStack(options) as stack:
        assert stack.stack is not None
        table = stack.stack.tables["EventsTable"]
        session = boto3.session.Session(region_name=stack.stack.region)
        dynamodb = session.client("dynamodb", endpoint_url=stack.aws_endpoint_url)
        return _level(stack, dynamodb, table, senders, count)


def child_environment() -> dict[str, str]:
    """The level's process's variables: this one's, and the code measured (``--source``)."""
    return child_process_environment()


def _spawn_level(senders: int, count: int, scratch: Path) -> list[Delivery]:
    """One level in a process of its own, as ``intake serve`` runs: a fresh moto, an empty table
    (a LocalStack is started once per process)."""
    command = [sys.executable, "-m", "benchmarks.end_to_end", str(senders), str(count), str(scratch)]
    done = subprocess.run(  # noqa: S603  (our own interpreter and module)
        command, cwd=ROOT, env=child_environment(), capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"end-to-end level {senders} failed:\n{done.stderr[-3000:]}")
    return [Delivery(**fields) for fields in json.loads(done.stdout.splitlines()[-1])]


def run(report: Report) -> None:
    """Run the local stack and send ``count`` deliveries at each concurrency level."""
    part = PART
    count = 60 if report.quick else 200
    facts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as scratch:
        results = {senders: _spawn_level(senders, count, Path(scratch)) for senders in CONCURRENCY}
    for senders, deliveries in results.items():
        stored = [d for d in deliveries if d.stored_at]
        refused = [d for d in deliveries if not 200 <= d.status < 300]
        latencies = [(d.stored_at - d.sent_at) * 1000 for d in stored]
        answers = [(d.answered_at - d.sent_at) * 1000 for d in deliveries]
        span = max(d.stored_at for d in stored) - min(d.sent_at for d in deliveries) if stored else 0.0
        rate = len(stored) / span if span else 0.0
        label = f"{senders} sender{'s' if senders > 1 else ''}"
        report.add(Row(part, f"{label}: stored deliveries/s ({len(stored)}/{count} stored)", rate, "deliveries/s"))
        report.add(Row(part, f"{label}: request → stored, p50", percentile(latencies, 50), "ms"))
        report.add(Row(part, f"{label}: request → stored, p99", percentile(latencies, 99), "ms"))
        report.add(Row(part, f"{label}: HTTP answer, p50", percentile(answers, 50), "ms"))
        report.add(Row(part, f"{label}: HTTP answer, p99", percentile(answers, 99), "ms"))
        facts[label] = {
            "sent": count,
            "refused": len(refused),
            "stored": len(stored),
            "deliveries_per_s": rate,
            "latency_p50_ms": percentile(latencies, 50),
            "latency_p99_ms": percentile(latencies, 99),
            "answer_p50_ms": percentile(answers, 50),
            "answer_p99_ms": percentile(answers, 99),
        }
    report.facts[NAME] = facts
    report.notes.append(
        f"end to end: {count} single-event deliveries per level, each level on a fresh local stack (moto server"
        " in-process, one execution environment per function, the template's batch size 10 and 1 s batching"
        " window): bounded by the local stack, not AWS; stored = first seen by a BatchGetItem poll every"
        f" {POLL_S * 1000:.0f} ms."
    )


def main() -> None:
    """``python -m benchmarks.end_to_end SENDERS COUNT SCRATCH_DIR``: one level; its deliveries as JSON."""
    senders, count, scratch = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    deliveries = _run_level(senders, count, scratch / f"stack-{senders}.log")
    rows = [
        {
            "event_uuid": d.event_uuid,
            "sent_at": d.sent_at,
            "answered_at": d.answered_at,
            "status": d.status,
            "stored_at": d.stored_at,
        }
        for d in deliveries
    ]
    sys.stdout.write(json.dumps(rows) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the stack is stopped; do not wait on its daemon threads' teardown


if __name__ == "__main__":
    main()
