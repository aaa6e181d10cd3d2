"""Measure 2: ingest warm CPU per delivery, the real Lambda handler against the floor; its log bytes.

The handler is ``webhook_intake.ingest.lambda_handler.build_handler`` as app.py builds it, so
Powertools' decorators (logger context, metrics flush) are in the cost, with Lambda's
variables (the trace header Lambda sets under active tracing is passed on to SQS). The floor
is one boto3 ``send_message`` of the same body with the ingest function's own client
settings (parameter validation off, one attempt), from a session without Powertools'
user-agent hook. Both run their AWS calls through the same canned HTTP layer
(benchmarks/canned.py) and alternate in one loop.

The deliveries: every sample in events/ as its vendor sends it (its route, its credential),
pooled per round; and a Viafoura engagement delivery of 10 events, apart.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from benchmarks import workload
from benchmarks.canned import CannedAWS, answering
from benchmarks.harness import (
    INGEST_MEMORY_MB,
    QUEUE_URL,
    Report,
    Row,
    alternate,
    emf_metrics,
    environment,
    floor_client,
    ingest_environment,
    lambda_context,
    lambda_variables,
    quiet_stdout,
    ratio,
    runtime_ms,
    sink,
    unit_range,
    within,
)
from intake_cli.samples import sample_files
from webhook_intake.clients import reset
from webhook_intake.delivery import Delivery, kept_headers
from webhook_intake.http import Request
from webhook_intake.ingest.lambda_handler import build_handler, build_service
from webhook_intake.ingest.queue import INGEST_CONFIG
from webhook_intake.ingest.settings import IngestSettings
from webhook_intake.registry import vendor
from webhook_intake.times import iso_millis

NAME = "warm_ingest"
PART = "2 warm ingest"
REQUIRES: tuple[str, ...] = ()
GOAL = 1.3
BREAKDOWN_ROUNDS = 15
"""Where the time goes: the handler's send alone, and its service without the send, against the floor."""
BATCHED = "viafoura-engagement, 10 events"


class _NoSend:
    """A queue sender that takes every delivery and sends nothing (for the breakdown)."""

    def __init__(self, queue: Any) -> None:
        self.inline_max_bytes = queue.inline_max_bytes
        self._queue = queue

    def accepts(self, size: int) -> bool:
        """As the real sender."""
        return bool(self._queue.accepts(size))

    def send(self, body: str, delivery: Delivery, deadline: float) -> str:
        """Builds the message attributes, as a send would, and sends nothing."""
        delivery.to_message_attributes()
        return "0"


def _send(queue: Any, request: Request, vendor_key: str) -> None:
    delivery = Delivery(
        vendor=vendor_key,
        received_at=iso_millis(datetime.now(UTC)),
        correlation_id="bench",
        method=request.method,
        path=request.path,
        path_parameters=request.path_parameters,
        headers=kept_headers(vendor(vendor_key), request.headers),
    )
    queue.send(request.body.decode("utf-8"), delivery, time.monotonic() + 10)


def _handle(service: Any, request: Request) -> None:
    service.handle(request)
    service.metrics.clear_metrics()


class Case:
    """One vendor's deliveries, its handler and the floor for them."""

    def __init__(self, label: str, vendor_key: str, bodies: list[tuple[bytes, str]]) -> None:
        self.label = label
        self.vendor_key = vendor_key
        self.events = [workload.api_event(vendor_key, body, sample) for body, sample in bodies]
        self.body_bytes = sum(len(body) for body, _ in bodies) / len(bodies)
        self.handler = build_handler(IngestSettings.from_env(ingest_environment(vendor_key)))
        self.context = lambda_context(f"bench-ingest-{vendor_key}", INGEST_MEMORY_MB, 10)
        with sink().counting() as first:  # the execution environment's first invocation: its ColdStart line
            self._check(self.handler(self.events[0], self.context))
        self.first_bytes, self.first_lines, self.first_texts = first.bytes, first.lines, first.texts
        for event in self.events[1:]:
            self._check(self.handler(event, self.context))
        sqs = floor_client("sqs", INGEST_CONFIG)
        self.floor = [
            functools.partial(sqs.send_message, QueueUrl=QUEUE_URL, MessageBody=event["body"]) for event in self.events
        ]
        self.ours = [functools.partial(self.handler, event, self.context) for event in self.events]
        # The breakdown: the handler's own send alone, and its service (no Lambda decorators, no
        # event parsing) with a queue that sends nothing.
        service = build_service(IngestSettings.from_env(ingest_environment(vendor_key)), Logger(), Metrics())
        requests = [Request.from_http_api_event(event) for event in self.events]
        self.send_only = [functools.partial(_send, service.queue, request, vendor_key) for request in requests]
        silent = dataclasses.replace(service, queue=_NoSend(service.queue))
        self.service_only = [functools.partial(_handle, silent, request) for request in requests]

    def _check(self, response: dict[str, Any]) -> None:
        if response["statusCode"] >= 300:
            raise RuntimeError(f"{self.vendor_key}: the handler refused a benchmark delivery: {response}")

    def logs(self) -> dict[str, Any]:
        """What the handler prints per delivery (each once, counted), and its metrics; and what its first
        invocation printed beyond a warm one of the same delivery (a cold start's own lines)."""
        with sink().counting() as counted:
            for delivery in self.ours:
                delivery()
        with sink().counting() as warm_first:
            answer = self.handler(self.events[0], self.context)
        return {
            "runtime_ms": runtime_ms(self.events[0], answer),
            "bytes_per_invocation": counted.bytes / len(self.events),
            "lines_per_invocation": counted.lines / len(self.events),
            "cold_start_bytes": self.first_bytes - warm_first.bytes,
            "cold_start_lines": self.first_lines - warm_first.lines,
            "metrics": sorted(emf_metrics([*self.first_texts, *counted.texts])),
        }


def _cases() -> list[Case]:
    cases = [
        Case(key, key, [(path.read_bytes(), path.stem) for path in sample_files(key)]) for key in workload.vendor_keys()
    ]
    cases.append(Case(BATCHED, workload.VIAFOURA, [(workload.viafoura_deliveries(1, 10)[0], "")]))
    return cases


def run(report: Report) -> None:
    """Time every case against its floor and add the rows."""
    rounds = 7 if report.quick else 41
    reset()
    canned = CannedAWS(workload.secret_strings())
    env = {**ingest_environment(workload.VIAFOURA), **lambda_variables("ingest", INGEST_MEMORY_MB)}
    with environment(env), quiet_stdout(), answering(canned):
        cases = _cases()
        samples = [case for case in cases if case.label != BATCHED]
        sides = {
            "ours": [delivery for case in samples for delivery in case.ours],
            "floor": [delivery for case in samples for delivery in case.floor],
        }
        timings = alternate(sides, rounds=rounds)
        batched = alternate({"ours": cases[-1].ours * 8, "floor": cases[-1].floor * 8}, rounds=rounds)
        parts = {"floor": "floor", "ours": "ours", "its send only": "send_only", "its service, no send": "service_only"}
        breakdown = alternate(
            {side: [unit for case in samples for unit in getattr(case, name)] for side, name in parts.items()},
            rounds=min(rounds, BREAKDOWN_ROUNDS),
        )
        logs = {case.label: case.logs() for case in cases}
    deliveries = len(sides["ours"])
    ours, floor = timings["ours"].cpu / deliveries, timings["floor"].cpu / deliveries
    part = PART
    headline = ratio(timings, ["ours"], ["floor"])
    row = Row(part, f"CPU per delivery, every sample ({deliveries} deliveries, all vendors)",
              ours / 1000, "µs", floor / 1000, "one send_message")  # fmt: skip
    row.paired = headline
    report.add(within(row, GOAL))
    facts: dict[str, Any] = {
        "samples": {"deliveries": deliveries, "cpu_ms": ours / 1e6, "floor_cpu_ms": floor / 1e6, "ratio": headline},
        "cases": {},
        "logs": logs,
    }
    start = 0
    for case in cases:
        count = len(case.events)
        if case.label == BATCHED:
            mine, theirs, case_ratio = unit_range(batched, 0, len(batched["ours"].unit_cpu_ns[0]))
        else:
            mine, theirs, case_ratio = unit_range(timings, start, count)
            start += count
        row = Row(part, f"CPU per delivery, {case.label} ({len(case.events)}, {case.body_bytes:,.0f} B on average)",
                  mine / 1000, "µs", theirs / 1000, "one send_message")  # fmt: skip
        row.paired = case_ratio
        report.add(row)
        facts["cases"][case.label] = {
            "deliveries": len(case.events),
            "cpu_ms": mine / 1e6,
            "floor_cpu_ms": theirs / 1e6,
            "ratio": case_ratio,
            "body_bytes": case.body_bytes,
        }
    facts["breakdown"] = {}
    for side, text in (
        ("ours", "the handler"),
        ("its send only", "its send alone (QueueSender.send: attributes, trace header, its client)"),
        ("its service, no send", "its service without the send (no Lambda decorators, no event parsing)"),
    ):
        found = ratio(breakdown, [side], ["floor"])
        facts["breakdown"][side] = found
        row = Row(part, f"breakdown, every sample: {text}", found, "x the floor")
        row.paired = found
        report.add(row)
    report.results["ingest_warm_cpu_ratio"] = headline
    report.facts[NAME] = facts
    report.notes.append(
        f"warm ingest: median over {rounds} alternated rounds, each a pass over every sample delivery of every"
        " vendor; Lambda's variables set (no Tracer on the ingest functions: nothing of X-Ray runs in them)."
    )
