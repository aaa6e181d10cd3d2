"""Measure 2: ingest warm CPU per request, the real Lambda handler against the floor.

The handler is ``webhook_intake.ingest.lambda_handler.build_handler`` as app.py builds it, so
Powertools' decorators (logger context, tracer, metrics flush) are in the cost. The floor is
the cheapest work a webhook needs: parse the body, send it to SQS. Both run their AWS calls
through the same canned HTTP layer (benchmarks/canned.py) and alternate in one loop.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from benchmarks import workload
from benchmarks.canned import CannedAWS, answering
from benchmarks.harness import (
    INGEST_MEMORY_MB,
    QUEUE_URL,
    Report,
    Row,
    alternate,
    environment,
    floor_session,
    ingest_environment,
    lambda_context,
    quiet_stdout,
    within,
)
from webhook_intake.clients import reset
from webhook_intake.ingest.lambda_handler import build_handler
from webhook_intake.ingest.settings import IngestSettings

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "warm_ingest"
REQUIRES: tuple[str, ...] = ()
GOAL = 1.5
TRACING_OFF = {"POWERTOOLS_TRACE_DISABLED": "true"}


def _cases() -> list[tuple[str, str, bytes, str]]:
    """(label, vendor key, body, sample name): each vendor's typical delivery, and a Viafoura batch of 10."""
    cases = []
    for key in workload.vendor_keys():
        body, sample = workload.typical_body(key)
        cases.append((key, key, body, sample))
    cases.append(("viafoura-engagement, 10 events", workload.VIAFOURA, workload.viafoura_deliveries(1, 10)[0], ""))
    return cases


def _floor(event: dict[str, Any]) -> Callable[[], object]:
    """Parse the body and send it: nothing else a webhook strictly needs."""
    sqs = floor_session().client("sqs")

    def floor() -> dict[str, Any]:
        body = event["body"]
        json.loads(body)
        sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=body)
        return {"statusCode": 200, "body": ""}

    return floor


def _handler(vendor_key: str, event: dict[str, Any]) -> Callable[[], object]:
    handler = build_handler(IngestSettings(vendor=vendor_key, queue_url=QUEUE_URL, secret_id=vendor_key))
    context = lambda_context(f"bench-ingest-{vendor_key}", INGEST_MEMORY_MB, 6)
    response = handler(event, context)
    if response["statusCode"] >= 300:
        raise RuntimeError(f"{vendor_key}: the handler refused the benchmark request: {response}")
    return lambda: handler(event, context)


def run(report: Report) -> None:
    """Time every case against its floor and add the rows."""
    rounds, calls = (5, 20) if report.quick else (21, 60)
    facts: dict[str, dict[str, float]] = {}
    reset()
    canned = CannedAWS(workload.secret_strings())
    for label, vendor_key, body, sample in _cases():
        event = workload.api_event(vendor_key, body, sample)
        with environment({**ingest_environment(vendor_key), **TRACING_OFF}), quiet_stdout(), answering(canned):
            sides = {"handler": _handler(vendor_key, event), "floor": _floor(event)}
            timings = alternate(sides, rounds=rounds, calls=calls)
        ours, floor = timings["handler"], timings["floor"]
        report.add(
            within(
                Row("2 warm ingest", f"CPU per request, {label} ({len(body):,} B)", ours.cpu / 1000, "µs",
                    floor.cpu / 1000, "parse + send"),
                GOAL,
            )
        )  # fmt: skip
        facts[label] = {
            "cpu_ms": ours.cpu / 1e6,
            "wall_ms": ours.wall / 1e6,
            "floor_cpu_ms": floor.cpu / 1e6,
            "floor_wall_ms": floor.wall / 1e6,
            "body_bytes": len(body),
        }
    report.facts[NAME] = facts
    report.notes.append(
        f"warm ingest: median over {rounds} alternated blocks of {calls} requests; tracing off (no X-Ray daemon"
        " here; on Lambda the X-Ray SDK adds a subsegment per AWS call to the handler, not to the floor)."
    )
