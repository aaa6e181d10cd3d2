"""Measure 3: consumer CPU per event, the real Lambda handler against the floor, and peak memory.

The handler is ``webhook_intake.consumer.lambda_handler.build_handler`` (Powertools batch
processing, pydantic validation, normalization, the repository's writes). The floor parses
each record and writes each event with one conditional PutItem. The usual design (Powertools
idempotency around plain writes, benchmarks/usual_design.py) runs in the same loop. All AWS
calls are answered by the canned HTTP layer, so this is CPU, not DynamoDB latency.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from benchmarks import workload
from benchmarks.canned import CannedAWS, answering
from benchmarks.harness import (
    CONSUMER_MEMORY_MB,
    TABLE_NAME,
    Report,
    Row,
    Timing,
    alternate,
    consumer_environment,
    environment,
    floor_session,
    lambda_context,
    quiet_stdout,
    within,
)
from benchmarks.usual_design import build_usual_handler
from webhook_intake.clients import client, reset
from webhook_intake.consumer.lambda_handler import build_handler
from webhook_intake.consumer.settings import ConsumerSettings

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "consumer"
REQUIRES: tuple[str, ...] = ()
GOAL = 1.5
BATCH_SIZES = (1, 10, 100)
TRACING_OFF = {"POWERTOOLS_TRACE_DISABLED": "true"}
MEMORY_BATCH_BYTES = 1_048_576
MEMORY_BATCH_RECORDS = 10


def _floor() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Parse each record and write each event once, conditionally: the least a consumer must do."""
    dynamodb = floor_session().client("dynamodb")

    def floor(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            for item in json.loads(record["body"])["events"]:
                try:
                    dynamodb.put_item(
                        TableName=TABLE_NAME,
                        Item={
                            "pk": {"S": f"{workload.VIAFOURA}#{item['event_uuid']}"},
                            "sk": {"S": "event"},
                            "raw": {"S": json.dumps(item, separators=(",", ":"))},
                        },
                        ConditionExpression="attribute_not_exists(pk)",
                    )
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                        raise
        return {"batchItemFailures": []}

    return floor


def _handlers() -> dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]:
    settings = ConsumerSettings.from_env({"VENDOR": workload.VIAFOURA, "TABLE_NAME": TABLE_NAME})
    usual = build_usual_handler(workload.VIAFOURA, TABLE_NAME, "bench-idempotency", client("dynamodb"))
    return {"ours": build_handler(settings), "floor": _floor(), "usual": usual}


def _batch(records: int, events_each: int) -> dict[str, Any]:
    bodies = workload.viafoura_deliveries(records, events_each)
    return workload.sqs_batch([workload.queue_message(workload.VIAFOURA, body) for body in bodies])


def _time(
    handlers: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]],
    event: dict[str, Any],
    sides: tuple[str, ...],
    rounds: int,
    events: int,
) -> dict[str, Timing]:
    context = lambda_context("bench-consumer", CONSUMER_MEMORY_MB)
    for name in sides:
        failures = handlers[name](event, context).get("batchItemFailures")
        if failures:
            raise RuntimeError(f"consumer benchmark: {name} failed records: {failures}")
    calls = max(1, 40 // events)
    return alternate(
        {name: (lambda run=handlers[name]: run(event, context)) for name in sides},
        rounds=rounds,
        calls=calls,
        warmup=max(2, 20 // events),
    )


def _peak_bytes(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> int:
    """Python heap allocated at the peak of one invocation, over what was live before it."""
    context = lambda_context("bench-consumer", CONSUMER_MEMORY_MB)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        handler(event, context)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def _memory_batch() -> tuple[dict[str, Any], int]:
    """About 1 MiB of Viafoura deliveries in one SQS batch of ten records; and its body bytes."""
    sample = len(workload.viafoura_deliveries(1, 100)[0])
    events_each = max(1, int(100 * MEMORY_BATCH_BYTES / MEMORY_BATCH_RECORDS / sample))
    event = _batch(MEMORY_BATCH_RECORDS, events_each)
    return event, sum(len(record["body"]) for record in event["Records"])


def run(report: Report) -> None:
    """Per-event CPU at batch sizes 1, 10 and 100, Viafoura batches of 10, and peak memory."""
    part = "3 consumer"
    rounds = 4 if report.quick else 15
    facts: dict[str, Any] = {}
    reset()
    env = {**consumer_environment(workload.VIAFOURA), **TRACING_OFF}
    with environment(env), quiet_stdout(), answering(CannedAWS()):
        handlers = _handlers()
        for size in BATCH_SIZES:
            timings = _time(handlers, _batch(size, 1), ("ours", "floor"), rounds, size)
            ours, floor = timings["ours"].cpu / size, timings["floor"].cpu / size
            report.add(
                within(
                    Row(part, f"CPU per event, batch of {size} ({1e9 / ours:,.0f} vs {1e9 / floor:,.0f} events/s)",
                        ours / 1000, "µs", floor / 1000, "parse + put"),
                    GOAL,
                )
            )  # fmt: skip
            facts[f"batch {size}"] = {"cpu_ms_per_event": ours / 1e6, "floor_cpu_ms_per_event": floor / 1e6}
        for events_each in (1, 10):
            size = 10
            events = size * events_each
            timings = _time(handlers, _batch(size, events_each), ("ours", "floor", "usual"), rounds, events)
            ours, floor, usual = (timings[name].cpu / events for name in ("ours", "floor", "usual"))
            label = "single-event records" if events_each == 1 else "Viafoura records of 10 events"
            if events_each > 1:
                report.add(
                    within(Row(part, f"CPU per event, {label}, batch of 10", ours / 1000, "µs", floor / 1000,
                               "parse + put"), GOAL)
                )  # fmt: skip
            report.add(Row(part, f"CPU per event, {label}, batch of 10", ours / 1000, "µs", usual / 1000,
                           "usual design"))  # fmt: skip
            facts[label] = {
                "cpu_ms_per_event": ours / 1e6,
                "floor_cpu_ms_per_event": floor / 1e6,
                "usual_cpu_ms_per_event": usual / 1e6,
                "events_per_record": events_each,
            }
        event, body_bytes = _memory_batch()
        ours_peak, floor_peak = _peak_bytes(handlers["ours"], event), _peak_bytes(handlers["floor"], event)
    events = sum(len(json.loads(record["body"])["events"]) for record in event["Records"])
    report.add(
        Row(part, f"peak Python heap, one {body_bytes / 1048576:.2f} MiB batch ({events:,} events)",
            ours_peak / 1048576, "MiB", floor_peak / 1048576, "parse + put")
    )  # fmt: skip
    facts["memory"] = {"batch_bytes": body_bytes, "events": events, "peak_bytes": ours_peak, "floor_bytes": floor_peak}
    report.facts[NAME] = facts
    report.notes.append(
        f"consumer: median over {rounds} alternated blocks; Viafoura engagement events (all"
        f" {len(workload.viafoura_events())} sample events in turn),"
        f" tracing off; peak heap by tracemalloc against {CONSUMER_MEMORY_MB} MB configured."
    )
