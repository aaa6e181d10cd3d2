"""Measure 5: cost per million webhooks, from the requests and CPU measured by the other parts.

This project: HTTP API → ingest Lambda (256 MB) → SQS → consumer Lambda (512 MB, event source
mapping batches of 10) → DynamoDB. The usual design: REST API → one Lambda (512 MB) that
authenticates, normalizes and writes inside Powertools' idempotency (benchmarks/usual_design.py),
synchronously. Every number comes from this run except the prices and the AWS latencies below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from benchmarks import workload
from benchmarks.harness import CONSUMER_MEMORY_MB, INGEST_MEMORY_MB, Report, Row

NAME = "cost"
REQUIRES = ("warm_ingest", "consumer", "write_amplification")

# AWS list prices, us-east-1, as published on the service pricing pages (aws.amazon.com/<service>/pricing)
# in 2025, after DynamoDB's on-demand price cut of 2024-11-01. They are not fetched by this run:
# re-check them before quoting the totals.
PRICES_DATE = "2025 (after the 2024-11-01 DynamoDB on-demand cut)"
PRICES = {
    "http_api_request": 1.00 / 1e6,  # API Gateway HTTP API, first 300 M requests/month (512 KB metering)
    "rest_api_request": 3.50 / 1e6,  # API Gateway REST API, first 333 M requests/month
    "lambda_request": 0.20 / 1e6,  # Lambda requests, arm64 and x86 alike
    "lambda_gb_second": 0.0000133334,  # Lambda arm64 duration, first 7.5 G GB-s/month
    "sqs_request": 0.40 / 1e6,  # SQS standard queue, per request of up to 64 KB (after the free 1 M)
    "dynamodb_wru": 0.625 / 1e6,  # DynamoDB on-demand write request unit (was 1.25 before the Nov 2024 cut)
}
# Assumed in-region AWS latencies (ms) a function waits for, per request: typical p50s, not measured here.
LATENCY_MS = {"SendMessage": 10.0, "PutItem": 5.0, "UpdateItem": 5.0, "DeleteItem": 5.0, "TransactWriteItems": 10.0}
# Lambda gives a function one full vCPU at 1,769 MB and CPU in proportion to memory below that.
FULL_VCPU_MB = 1769
ESM_BATCH = 10
SQS_CHUNK = 64 * 1024
DELIVERIES = 1_000_000


def cpu_wall_ms(cpu_ms: float, memory_mb: int) -> float:
    """How long ``cpu_ms`` of one full core's work takes at a function's share of a vCPU."""
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb)


def lambda_cost(invocations: float, billed_ms: float, memory_mb: int) -> float:
    """Requests plus GB-seconds (duration billed per started millisecond)."""
    gb_seconds = invocations * math.ceil(billed_ms) / 1000 * memory_mb / 1024
    return invocations * PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second"]


def attribute_bytes() -> int:
    """What a delivery's message attributes add to its SQS size (name, type and value count)."""
    body, sample = workload.typical_body(workload.VIAFOURA)
    attributes = workload.queue_message(workload.VIAFOURA, body, sample)["MessageAttributes"]
    return sum(len(name) + len(value["DataType"]) + len(value["StringValue"]) for name, value in attributes.items())


def _io_ms(requests: dict[str, int], per: float) -> float:
    return sum(LATENCY_MS.get(operation, 0.0) * count for operation, count in requests.items()) / per


@dataclass
class Scenario:
    """One kind of delivery and what the other parts measured for it."""

    label: str
    ingest_case: str
    consumer_case: str
    writes_case: str
    events: int


SCENARIOS = (
    Scenario("single-event deliveries", "viafoura-engagement", "single-event records", "single-event deliveries", 1),
    Scenario("Viafoura deliveries of 10 events", "viafoura-engagement, 10 events", "Viafoura records of 10 events",
             "Viafoura batches of 10", 10),
)  # fmt: skip


def ours(report: Report, scenario: Scenario) -> dict[str, float]:
    """This project's cost per million deliveries, by component."""
    ingest = report.facts["warm_ingest"][scenario.ingest_case]
    consumer = report.facts["consumer"][scenario.consumer_case]
    writes = report.facts["write_amplification"][scenario.writes_case]["ours_new"]
    ingest_ms = cpu_wall_ms(ingest["cpu_ms"], INGEST_MEMORY_MB) + LATENCY_MS["SendMessage"]
    message = ingest["body_bytes"] + attribute_bytes()
    sqs_requests = math.ceil(message / SQS_CHUNK) + (math.ceil(ESM_BATCH * message / SQS_CHUNK) + 1) / ESM_BATCH
    events_per_batch = ESM_BATCH * scenario.events
    per_event_io = _io_ms(writes["requests"], writes["events"])
    consumer_ms = events_per_batch * (cpu_wall_ms(consumer["cpu_ms_per_event"], CONSUMER_MEMORY_MB) + per_event_io)
    wru = writes["units"] / writes["events"] * scenario.events
    return {
        "API Gateway": DELIVERIES * PRICES["http_api_request"],
        "ingest Lambda": lambda_cost(DELIVERIES, ingest_ms, INGEST_MEMORY_MB),
        "SQS": DELIVERIES * sqs_requests * PRICES["sqs_request"],
        "consumer Lambda": lambda_cost(DELIVERIES / ESM_BATCH, consumer_ms, CONSUMER_MEMORY_MB),
        "DynamoDB": DELIVERIES * wru * PRICES["dynamodb_wru"],
        "_ingest_ms": ingest_ms,
        "_consumer_ms_per_batch": consumer_ms,
        "_sqs_requests": sqs_requests,
        "_wru": wru,
    }


def usual(report: Report, scenario: Scenario) -> dict[str, float]:
    """The usual design's cost per million deliveries: one synchronous, idempotent Lambda."""
    ingest = report.facts["warm_ingest"][scenario.ingest_case]
    consumer = report.facts["consumer"][scenario.consumer_case]
    writes = report.facts["write_amplification"][scenario.writes_case]["usual_new"]
    cpu_ms = ingest["cpu_ms"] + consumer["usual_cpu_ms_per_event"] * scenario.events
    duration = cpu_wall_ms(cpu_ms, CONSUMER_MEMORY_MB) + _io_ms(writes["requests"], writes["deliveries"])
    wru = writes["units"] / writes["deliveries"]
    return {
        "API Gateway": DELIVERIES * PRICES["rest_api_request"],
        "Lambda": lambda_cost(DELIVERIES, duration, CONSUMER_MEMORY_MB),
        "DynamoDB": DELIVERIES * wru * PRICES["dynamodb_wru"],
        "_duration_ms": duration,
        "_wru": wru,
    }


def _total(parts: dict[str, float]) -> float:
    return sum(value for name, value in parts.items() if not name.startswith("_"))


def _breakdown(label: str, parts: dict[str, float]) -> str:
    costs = ", ".join(f"{name} ${value:,.2f}" for name, value in parts.items() if not name.startswith("_"))
    return f"{label}: {costs}"


def run(report: Report) -> None:
    """Price both designs for both kinds of delivery and add the rows."""
    facts: dict[str, Any] = {"prices": PRICES, "prices_date": PRICES_DATE, "latency_ms": LATENCY_MS}
    for scenario in SCENARIOS:
        mine, theirs = ours(report, scenario), usual(report, scenario)
        report.add(
            Row("5 cost", f"per 1 M webhooks, {scenario.label}", _total(mine), "$", _total(theirs), "usual design")
        )
        facts[scenario.label] = {"ours": mine, "usual": theirs}
        report.notes.append(
            f"cost, {scenario.label}: {_breakdown('this project', mine)} (ingest {mine['_ingest_ms']:.1f} ms,"
            f" consumer {mine['_consumer_ms_per_batch']:.0f} ms per batch of {ESM_BATCH}, {mine['_wru']:.1f} WRU);"
            f" {_breakdown('usual design', theirs)} ({theirs['_duration_ms']:.1f} ms, {theirs['_wru']:.1f} WRU)"
        )
    report.facts[NAME] = facts
    report.notes.append(
        f"cost: us-east-1 list prices as of {PRICES_DATE}, re-check them; AWS latencies assumed {LATENCY_MS};"
        f" measured CPU scaled by {FULL_VCPU_MB} MB / memory (Lambda's CPU share); every event new; no free tier,"
        " no CloudWatch Logs, no X-Ray, no idle event-source-mapping polling, no init-phase billing."
    )
