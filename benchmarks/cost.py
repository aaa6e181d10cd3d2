"""Measure 5: what a million webhooks cost, all in, from what the other parts measured.

This project: HTTP API → ingest Lambda → SQS → consumer Lambda (event source mapping, batches of
ConsumerBatchSize) → DynamoDB, with X-Ray at Lambda's own rate for active tracing and CloudWatch Logs
for what each function prints (its EMF metrics too), Lambda's own lines (START/END/REPORT, or its
platform.start and platform.report records in the JSON log format) and the API's access log. The
usual design: the same HTTP API → one Lambda that authenticates, normalizes and writes inside
Powertools' idempotency, synchronously (benchmarks/usual_design.py).

Measured in this run: CPU per delivery and per event (parts 2 and 3), CPU per cold start (part 1),
write units per event (part 4, metered on moto: the item, its index entry and its share of the
invocation's feed pages), bytes printed per invocation (parts 2 and 3), the size of each SQS
message. Assumed: the prices below, AWS's in-region latencies a function waits for, steady traffic
(full batches; provisioned capacity at its target utilisation) and the share of invocations that
are cold starts.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks import workload
from benchmarks.harness import CONSUMER_MEMORY_MB, INGEST_MEMORY_MB, ROOT, Report, Row, template_defaults
from intake_cli.template import SamTemplate
from intake_cli.template import read as read_template

NAME = "cost"
PART = "5 cost"
REQUIRES = ("cold_start", "warm_ingest", "consumer", "write_amplification")

PRICES_AS_OF = "2025-11"
PRICES_SOURCE = "AWS list prices, us-east-1, from aws.amazon.com/<service>/pricing; not fetched by this run"
PRICES = {
    "http_api_request": 1.00 / 1e6,  # API Gateway HTTP API, first 300 M requests a month, per 512 KB
    "lambda_request": 0.20 / 1e6,  # Lambda requests
    "lambda_arm_gb_second": 0.0000133334,  # Lambda duration, arm64, first 7.5 G GB-s a month
    "sqs_request": 0.40 / 1e6,  # SQS standard, per request and per 64 KB chunk of its payload
    "dynamodb_wru": 0.625 / 1e6,  # DynamoDB on-demand write request unit (since 2024-11-01)
    "dynamodb_wcu_hour": 0.00065,  # DynamoDB provisioned write capacity unit-hour
    "dynamodb_rcu_hour": 0.00013,  # DynamoDB provisioned read capacity unit-hour
    "dynamodb_gb_month": 0.25,  # DynamoDB Standard table storage
    "dynamodb_pitr_gb_month": 0.20,  # continuous backups (PointInTimeRecoveryEnabled)
    "s3_put": 0.005 / 1000,  # S3 Standard PUT
    "s3_get": 0.0004 / 1000,  # S3 Standard GET
    "xray_trace_recorded": 5.00 / 1e6,  # X-Ray traces recorded
    "logs_gb_ingested": 0.50,  # CloudWatch Logs Standard ingestion
    "logs_gb_month_stored": 0.03,  # CloudWatch Logs storage
    "metric_month": 0.30,  # CloudWatch custom metric (first 10,000)
    "dashboard_month": 3.00,  # CloudWatch dashboard
    "alarm_month": 0.10,  # CloudWatch standard-resolution alarm
    "secret_month": 0.40,  # Secrets Manager secret
    "secret_api_call": 0.05 / 10_000,  # Secrets Manager API calls (GetSecretValue)
    "data_out_gb": 0.09,  # data transfer out to the internet (API Gateway's answers), first 10 TB a month
}
# Assumed in-region latencies (ms) a function waits for, per request: typical medians, not measured here.
LATENCY_MS = {"SendMessage": 10.0, "PutItem": 5.0, "UpdateItem": 5.0, "GetSecretValue": 20.0}
ANSWER_BYTES = 250
"""An API answer on the wire, its status line and headers (content type and length, date, the
request id) with a short JSON body or none: an estimate, priced as data transfer out."""
COLD_START_SHARE = 0.01
"""Invocations that start an execution environment, whose INIT phase Lambda bills (since 2025-08-01, for
managed runtimes too): AWS's figure for production workloads is under 1 %; steady traffic has far fewer."""
# Lambda gives a function one full vCPU at 1,769 MB and CPU in proportion to memory below that.
FULL_VCPU_MB = 1769
SQS_CHUNK = 64 * 1024
API_CHUNK = 512 * 1024
MILLION = 1_000_000
# CloudWatch Logs counts each log event's message bytes plus 26 bytes (PutLogEvents' own accounting).
LOG_EVENT_OVERHEAD = 26
REQUEST_ID = "8f507cfc-0000-4697-b07a-ac58fc914c95"
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
LOG_TIME = "2026-11-29T12:00:00.000Z"
# What API Gateway fills in for an access log line: a typical value of each variable the format uses.
ACCESS_LOG_VALUES = {
    "requestId": "Q1hFfhy9IAMEVdg=",
    "routeKey": "POST /webhooks/viafoura/engagement",
    "status": "200",
    "responseLength": "16",
    "integrationLatency": "24",
    "responseLatency": "27",
    "identity.sourceIp": "203.0.113.17",
    "requestTime": "29/Nov/2026:12:00:00 +0000",
}
GOALS = {"single": 3.50, "batched_on_demand": 1.75, "batched_provisioned": 0.90}


def log_format() -> str:
    """The functions' log format (template Globals ``LoggingConfig.LogFormat``; Lambda's default is Text)."""
    found = read_template(ROOT / "template.yaml").get("Globals", {}).get("Function", {}).get("LoggingConfig", {})
    return str(found.get("LogFormat", "Text"))


def lambda_platform_bytes(memory_mb: int, billed_ms: int, sample_rate: float) -> tuple[float, int]:
    """Bytes and log events of Lambda's own lines for one invocation, in the functions' log format.

    Text: START, END and REPORT lines; with active tracing, a sampled invocation's REPORT also names
    its trace. JSON: a ``platform.start`` and a ``platform.report`` record (Lambda's ``platform.runtimeDone``
    is DEBUG), a sampled invocation's report with its trace context.
    """
    duration = round(billed_ms - 0.42, 3)
    used = memory_mb // 3
    if log_format() == "JSON":
        compact = (",", ":")
        start = {"time": LOG_TIME, "type": "platform.start", "record": {"requestId": REQUEST_ID, "version": "$LATEST"}}
        metrics = {"durationMs": duration, "billedDurationMs": billed_ms, "memorySizeMB": memory_mb,
                   "maxMemoryUsedMB": used}  # fmt: skip
        report = {"time": LOG_TIME, "type": "platform.report",
                  "record": {"requestId": REQUEST_ID, "metrics": metrics, "status": "success"}}  # fmt: skip
        tracing = {"spanId": "53995c3f42cd8ad8", "type": "X-Amzn-Trace-Id", "value": f"Root={TRACE_ID};Sampled=1"}
        traced = len(json.dumps({"tracing": tracing}, separators=compact)) - 1  # the key, its value and a comma
        written = sum(len(json.dumps(line, separators=compact).encode()) for line in (start, report))
        return written + sample_rate * traced, 2
    start_line = f"START RequestId: {REQUEST_ID} Version: $LATEST\n"
    end_line = f"END RequestId: {REQUEST_ID}\n"
    report_line = (
        f"REPORT RequestId: {REQUEST_ID}\tDuration: {duration:.2f} ms\tBilled Duration: {billed_ms} ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {used} MB\t\n"
    )
    xray = f"XRAY TraceId: {TRACE_ID}\tSegmentId: 53995c3f42cd8ad8\tSampled: true\t\n"
    size = sum(len(line.encode()) for line in (start_line, end_line, report_line)) + sample_rate * len(xray.encode())
    return size, 3


def access_log_bytes() -> int:
    """One access log line of the HTTP API, in the template's own format."""
    resources = read_template(ROOT / "template.yaml")["Resources"]
    text = str(resources["HttpApi"]["Properties"]["AccessLogSettings"]["Format"])
    return len(re.sub(r"\$context\.([A-Za-z.]+)", lambda found: ACCESS_LOG_VALUES.get(found[1], "-"), text).encode())


def log_cost(bytes_: float, events: float) -> float:
    """Ingestion and storage (for the template's LogRetentionDays, at raw size: an upper bound) of log bytes."""
    gigabytes = (bytes_ + events * LOG_EVENT_OVERHEAD) / 1024**3
    months = int(template_defaults()["LogRetentionDays"]) / 30
    return gigabytes * (PRICES["logs_gb_ingested"] + months * PRICES["logs_gb_month_stored"])


def billed_ms(cpu_ms: float, memory_mb: int, wait_ms: float) -> int:
    """Billed duration: CPU at the function's share of a vCPU, plus waiting on AWS, per started ms."""
    return max(1, math.ceil(cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + wait_ms))


def lambda_cost(invocations: float, billed: float, memory_mb: int) -> float:
    """Requests plus GB-seconds."""
    return invocations * (PRICES["lambda_request"] + billed / 1000 * memory_mb / 1024 * PRICES["lambda_arm_gb_second"])


def attribute_bytes(vendor_key: str, body: bytes, sample: str = "") -> int:
    """What a delivery's message attributes add to its SQS size (name, type and value of each)."""
    attributes = workload.queue_message(vendor_key, body, sample)["MessageAttributes"]
    return sum(len(name) + len(value["DataType"]) + len(value["StringValue"]) for name, value in attributes.items())


@dataclass
class Scenario:
    """One kind of delivery and what the other parts measured for it."""

    label: str
    events_per_delivery: int
    ingest_cpu_ms: float
    ingest_runtime_ms: float
    ingest_log_bytes: float
    ingest_log_lines: float
    message_bytes: float
    consumer_cpu_ms_per_event: float
    consumer_runtime_ms: float
    consumer_log_bytes_per_event: float
    consumer_log_lines_per_invocation: float
    wru_per_event: float
    s3_puts_per_event: float
    usual_cpu_ms_per_event: float
    usual_wru_per_event: float
    usual_writes_per_delivery: dict[str, float]
    ingest_cold_cpu_ms: float
    """What an ingest cold start costs in CPU: its init, first client and first request (part 1)."""
    consumer_cold_cpu_ms: float
    replay_wru_per_delivery: float = 0.0
    """Ingest's own write: a signed FastComments delivery records its signature (ReplayTable,
    on-demand, one item under 1 KB); the share of such deliveries in the mix."""


def _logs_per_event(logs: dict[str, Any]) -> tuple[float, float]:
    """Bytes per event and lines per invocation, over every vendor's batches."""
    total_bytes = sum(entry["bytes_per_invocation"] * entry["invocations"] for entry in logs.values())
    events = sum(entry["events"] for entry in logs.values())
    lines = sum(entry["lines_per_invocation"] * entry["invocations"] for entry in logs.values())
    return total_bytes / events, lines / sum(entry["invocations"] for entry in logs.values())


def _printed(entry: dict[str, Any]) -> tuple[float, float]:
    """Bytes and lines an ingest invocation prints on average: a warm one's, and in COLD_START_SHARE of them
    what an execution environment's first prints beyond it (its ColdStart metric)."""
    return (
        entry["bytes_per_invocation"] + COLD_START_SHARE * entry["cold_start_bytes"],
        entry["lines_per_invocation"] + COLD_START_SHARE * entry["cold_start_lines"],
    )


def _ingest_logs(logs: dict[str, Any], labels: list[str], weights: list[int]) -> tuple[float, float, float]:
    total = sum(weights)
    printed = [_printed(logs[label]) for label in labels]
    return (
        sum(entry[0] * weight for entry, weight in zip(printed, weights, strict=True)) / total,
        sum(entry[1] * weight for entry, weight in zip(printed, weights, strict=True)) / total,
        sum(logs[label]["runtime_ms"] * weight for label, weight in zip(labels, weights, strict=True)) / total,
    )


def _cold_cpu_ms(report: Report, candidate: str) -> float:
    """CPU of one cold start, part 1's medians: the init, the first client and the first request."""
    found = report.facts["cold_start"]["candidates"][candidate]
    return float(found["import_cpu_ms"] + found["client_cpu_ms"] + found["first_cpu_ms"])


def scenarios(report: Report) -> list[Scenario]:
    """The two kinds of delivery the goals are about, from the facts of this run."""
    ingest, consumer = report.facts["warm_ingest"], report.facts["consumer"]
    writes = report.facts["write_amplification"]
    vendors = [key for key in ingest["cases"] if key in workload.vendor_keys()]
    weights = [ingest["cases"][key]["deliveries"] for key in vendors]
    single_bytes, single_lines, single_runtime = _ingest_logs(ingest["logs"], vendors, weights)
    singles = [
        len(body) + attribute_bytes(key, body, sample)
        for key, bodies in workload.single_event_deliveries().items()
        for body, sample in bodies
    ]
    batched_body = workload.viafoura_deliveries(1, 10)[0]
    single_consumer = consumer["single-event records"]
    batched_consumer = consumer["Viafoura records of 10"]
    single_logs = _logs_per_event(single_consumer["logs"])
    batched_logs = _logs_per_event(batched_consumer["logs"])
    moto_single = writes["moto single-event deliveries"]
    moto_batched = writes["moto Viafoura batches of 10"]
    # Metered, not Prepared.write_units(): only the handler's run writes the feed pages, a share per event.
    single_wru = moto_single["ours_new"]["units"] / moto_single["ours_new"]["events"]
    batched_wru = moto_batched["ours_new"]["units"] / moto_batched["ours_new"]["events"]
    batched_ingest = ingest["cases"]["viafoura-engagement, 10 events"]
    batched_ingest_logs = ingest["logs"]["viafoura-engagement, 10 events"]
    consumer_cold = _cold_cpu_ms(report, "consumer")
    return [
        Scenario(
            label="single-event deliveries",
            events_per_delivery=1,
            ingest_cpu_ms=ingest["samples"]["cpu_ms"],
            ingest_runtime_ms=single_runtime,
            ingest_log_bytes=single_bytes,
            ingest_log_lines=single_lines,
            message_bytes=statistics.fmean(singles),
            consumer_cpu_ms_per_event=single_consumer["ours_cpu_ms_per_event"],
            consumer_runtime_ms=single_consumer["runtime_ms_per_invocation"],
            consumer_log_bytes_per_event=single_logs[0],
            consumer_log_lines_per_invocation=single_logs[1],
            wru_per_event=single_wru,
            s3_puts_per_event=writes["samples"]["s3_offloads"] / writes["samples"]["events"],
            usual_cpu_ms_per_event=single_consumer["usual_cpu_ms_per_event"],
            usual_wru_per_event=moto_single["usual_new"]["units"] / moto_single["usual_new"]["events"],
            usual_writes_per_delivery=_per_delivery(moto_single["usual_new"]),
            ingest_cold_cpu_ms=sum(
                _cold_cpu_ms(report, f"ingest {key}") * weight for key, weight in zip(vendors, weights, strict=True)
            )
            / sum(weights),
            consumer_cold_cpu_ms=consumer_cold,
            # Part 4's count of ingest's replay-table writes, per delivery of the same workload.
            replay_wru_per_delivery=moto_single["replay_units_per_pass"] / moto_single["ours_new"]["deliveries"],
        ),
        Scenario(
            label="Viafoura deliveries of 10 events",
            events_per_delivery=10,
            ingest_cpu_ms=batched_ingest["cpu_ms"],
            ingest_runtime_ms=batched_ingest_logs["runtime_ms"],
            ingest_log_bytes=_printed(batched_ingest_logs)[0],
            ingest_log_lines=_printed(batched_ingest_logs)[1],
            message_bytes=len(batched_body) + attribute_bytes(workload.VIAFOURA, batched_body),
            consumer_cpu_ms_per_event=batched_consumer["ours_cpu_ms_per_event"],
            consumer_runtime_ms=batched_consumer["runtime_ms_per_invocation"],
            consumer_log_bytes_per_event=batched_logs[0],
            consumer_log_lines_per_invocation=batched_logs[1],
            wru_per_event=batched_wru,
            s3_puts_per_event=writes["viafoura_batched"]["s3_offloads"] / writes["viafoura_batched"]["events"],
            usual_cpu_ms_per_event=batched_consumer["usual_cpu_ms_per_event"],
            usual_wru_per_event=moto_batched["usual_new"]["units"] / moto_batched["usual_new"]["events"],
            usual_writes_per_delivery=_per_delivery(moto_batched["usual_new"]),
            ingest_cold_cpu_ms=_cold_cpu_ms(report, f"ingest {workload.VIAFOURA}"),
            consumer_cold_cpu_ms=consumer_cold,
        ),
    ]


def _per_delivery(tally: dict[str, Any]) -> dict[str, float]:
    return {operation: count / tally["deliveries"] for operation, count in tally["requests"].items()}


LAMBDA_TRACE_RATE = 0.05
"""The share of a function's invocations Lambda traces with active tracing, past its reservoir of one a
second: its guide says functions sample at this fixed rate, and X-Ray's sampling rules name API Gateway,
AppSync and Step Functions, not Lambda, so the stack's TraceSampleRate rule is not counted on."""


def trace_rate() -> float:
    """The share of invocations X-Ray records at the template's default ``TracingMode``."""
    return LAMBDA_TRACE_RATE if str(template_defaults()["TracingMode"]) == "Active" else 0.0


def platform_lines_kept() -> bool:
    """Whether Lambda writes its own lines (start, report) at the template's default ``PlatformLogLevel``."""
    return str(template_defaults().get("PlatformLogLevel", "INFO")) in ("DEBUG", "INFO")


def ours(scenario: Scenario, provisioned: bool, *, platform_lines: bool | None = None) -> dict[str, float]:
    """This project's cost per million deliveries, by component (and a few quantities, with ``_``).

    ``platform_lines``: whether Lambda's own lines (start, report) are written; by default as the
    template's ``PlatformLogLevel`` default says (``LoggingConfig.SystemLogLevel``).
    """
    if platform_lines is None:
        platform_lines = platform_lines_kept()
    defaults = template_defaults()
    batch = int(defaults["ConsumerBatchSize"])
    rate = trace_rate()
    events = scenario.events_per_delivery
    ingest_wait = LATENCY_MS["SendMessage"] + scenario.replay_wru_per_delivery * LATENCY_MS["PutItem"]
    ingest_ms = billed_ms(scenario.ingest_cpu_ms + scenario.ingest_runtime_ms, INGEST_MEMORY_MB, ingest_wait)
    consumer_cpu = scenario.consumer_cpu_ms_per_event * events * batch + scenario.consumer_runtime_ms
    # A put per event, and the invocation's feed page.
    consumer_ms = billed_ms(consumer_cpu, CONSUMER_MEMORY_MB, LATENCY_MS["PutItem"] * (events * batch + 1))
    # A cold start's INIT and first request, billed on top of a warm invocation's, in COLD_START_SHARE of them.
    ingest_cold_ms = billed_ms(scenario.ingest_cold_cpu_ms, INGEST_MEMORY_MB, LATENCY_MS["GetSecretValue"])
    consumer_cold_ms = billed_ms(scenario.consumer_cold_cpu_ms, CONSUMER_MEMORY_MB, 0.0)
    invocations = MILLION / batch
    send = math.ceil(scenario.message_bytes / SQS_CHUNK)
    receive = math.ceil(batch * scenario.message_bytes / SQS_CHUNK)
    sqs_requests = send + (receive + 1) / batch  # a ReceiveMessage and a DeleteMessageBatch per batch
    wru = scenario.wru_per_event * events
    if provisioned:
        utilisation = float(defaults["TableTargetUtilization"]) / 100
        dynamodb = MILLION * wru * PRICES["dynamodb_wcu_hour"] / 3600 / utilisation
    else:
        dynamodb = MILLION * wru * PRICES["dynamodb_wru"]
    # The replay table is on demand whatever the events table's billing mode.
    dynamodb += MILLION * scenario.replay_wru_per_delivery * PRICES["dynamodb_wru"]
    ingest_platform, ingest_platform_lines = lambda_platform_bytes(INGEST_MEMORY_MB, ingest_ms, rate)
    consumer_platform, consumer_platform_lines = lambda_platform_bytes(CONSUMER_MEMORY_MB, consumer_ms, rate)
    if not platform_lines:
        ingest_platform = ingest_platform_lines = consumer_platform = consumer_platform_lines = 0
    consumer_printed = scenario.consumer_log_bytes_per_event * events * batch
    logs = (
        log_cost(MILLION * (scenario.ingest_log_bytes + ingest_platform),
                 MILLION * (scenario.ingest_log_lines + ingest_platform_lines))
        + log_cost(invocations * (consumer_printed + consumer_platform),
                   invocations * (scenario.consumer_log_lines_per_invocation + consumer_platform_lines))
        + log_cost(MILLION * access_log_bytes(), MILLION)
    )  # fmt: skip
    return {
        "API Gateway": MILLION * PRICES["http_api_request"] * math.ceil(scenario.message_bytes / API_CHUNK),
        "ingest Lambda": lambda_cost(MILLION, ingest_ms + COLD_START_SHARE * ingest_cold_ms, INGEST_MEMORY_MB),
        "SQS": MILLION * sqs_requests * PRICES["sqs_request"],
        "consumer Lambda": lambda_cost(
            invocations, consumer_ms + COLD_START_SHARE * consumer_cold_ms, CONSUMER_MEMORY_MB
        ),
        "DynamoDB": dynamodb,
        "S3": MILLION * events * scenario.s3_puts_per_event * PRICES["s3_put"],
        "X-Ray": rate * (MILLION + invocations) * PRICES["xray_trace_recorded"],
        "CloudWatch Logs": logs,
        # A cold start reads its vendor's secret (a warm function's reads every SECRET_MAX_AGE_SECONDS: fixed).
        "Secrets Manager": COLD_START_SHARE * MILLION * PRICES["secret_api_call"],
        "data out": MILLION * ANSWER_BYTES / 1e9 * PRICES["data_out_gb"],
        "_ingest_billed_ms": ingest_ms,
        "_consumer_billed_ms_per_batch": consumer_ms,
        "_ingest_cold_billed_ms": ingest_cold_ms,
        "_consumer_cold_billed_ms": consumer_cold_ms,
        "_sqs_requests_per_delivery": sqs_requests,
        "_wru_per_delivery": wru,
    }


def usual(scenario: Scenario) -> dict[str, float]:
    """The usual design's cost per million deliveries: one synchronous, idempotent Lambda behind the same API,
    with the same logging and tracing settings. Its cold start is priced as the consumer's (it imports what
    the consumer does, and authenticates too): a lower bound."""
    rate = trace_rate()
    events = scenario.events_per_delivery
    cpu = scenario.ingest_cpu_ms + scenario.usual_cpu_ms_per_event * events + scenario.ingest_runtime_ms
    wait = sum(
        LATENCY_MS.get(operation, 5.0) * count for operation, count in scenario.usual_writes_per_delivery.items()
    )
    duration = billed_ms(cpu, INGEST_MEMORY_MB, wait)
    cold = billed_ms(scenario.consumer_cold_cpu_ms, INGEST_MEMORY_MB, LATENCY_MS["GetSecretValue"])
    platform, platform_lines = lambda_platform_bytes(INGEST_MEMORY_MB, duration, rate)
    if not platform_lines_kept():
        platform = platform_lines = 0
    printed = scenario.ingest_log_bytes + scenario.consumer_log_bytes_per_event * events
    lines = scenario.ingest_log_lines + scenario.consumer_log_lines_per_invocation + platform_lines
    return {
        "API Gateway": MILLION * PRICES["http_api_request"] * math.ceil(scenario.message_bytes / API_CHUNK),
        "Lambda": lambda_cost(MILLION, duration + COLD_START_SHARE * cold, INGEST_MEMORY_MB),
        "DynamoDB": MILLION * scenario.usual_wru_per_event * events * PRICES["dynamodb_wru"],
        "X-Ray": rate * MILLION * PRICES["xray_trace_recorded"],
        "CloudWatch Logs": log_cost(MILLION * (printed + platform), MILLION * lines)
        + log_cost(MILLION * access_log_bytes(), MILLION),
        "Secrets Manager": COLD_START_SHARE * MILLION * PRICES["secret_api_call"],
        "data out": MILLION * ANSWER_BYTES / 1e9 * PRICES["data_out_gb"],
        "_billed_ms": duration,
        "_wru_per_delivery": scenario.usual_wru_per_event * events,
    }


def total(parts: dict[str, float]) -> float:
    """The sum of the cost components (quantities, named with ``_``, left out)."""
    return sum(value for name, value in parts.items() if not name.startswith("_"))


def fixed_monthly(report: Report) -> dict[str, float]:
    """What the stack costs a month whatever its traffic (not in the per-million figures)."""
    defaults = template_defaults()
    template = SamTemplate()
    vendors = len(workload.vendor_keys())
    metrics: set[tuple[Any, ...]] = set()
    for entry in report.facts["warm_ingest"]["logs"].values():
        metrics.update(tuple(metric) for metric in entry["metrics"])
    for label in ("single-event records", "Viafoura records of 10"):
        for entry in report.facts["consumer"][label]["logs"].values():
            metrics.update(tuple(metric) for metric in entry["metrics"])
    alarms, alarm_metrics = _alarms(template)
    traced = len(template.of_type("AWS::Serverless::Function")) if trace_rate() else 0
    secrets = len(template.of_type("AWS::SecretsManager::Secret"))
    queues = vendors
    # An event source mapping long-polls its queue (20 s waits) with at least five pollers, traffic or not.
    idle_receives = 5 * 30 * 24 * 3600 / 20 * queues
    # Provisioned capacity: each table TableBillingMode applies to (the replay table is on demand in any
    # case) and each of its global secondary indexes, at the minimum read and write capacities.
    provisionable = [
        properties
        for properties in template.of_type("AWS::DynamoDB::Table").values()
        if properties.get("BillingMode") != "PAY_PER_REQUEST"
    ]
    tables = len(provisionable)
    indexes = sum(len(properties.get("GlobalSecondaryIndexes", [])) for properties in provisionable)
    capacities = tables + indexes
    minimum = (
        capacities * float(defaults["TableMinWriteCapacity"]) * PRICES["dynamodb_wcu_hour"]
        + capacities * float(defaults["TableMinReadCapacity"]) * PRICES["dynamodb_rcu_hour"]
    ) * 730
    what = " + ".join(
        part
        for part in (
            "table" if tables == 1 else f"{tables} tables",
            "" if not indexes else "1 index" if indexes == 1 else f"{indexes} indexes",
        )
        if part
    )
    return {
        f"CloudWatch custom metrics seen in this run ({len(metrics)})": len(metrics) * PRICES["metric_month"],
        "CloudWatch dashboard": PRICES["dashboard_month"],
        f"CloudWatch alarms ({alarms}, billed for {alarm_metrics} metrics)": alarm_metrics * PRICES["alarm_month"],
        # Lambda traces the first invocation each second of each function whatever the rate: at one or more
        # a second, 2.6 million traces a month a function. The per-million figures price the 5 % past it.
        f"X-Ray reservoir, at most ({traced} functions at an invocation a second or more)": traced
        * 30
        * 24
        * 3600
        * PRICES["xray_trace_recorded"],
        f"Secrets Manager ({secrets} secrets)": secrets * PRICES["secret_month"],
        f"SQS idle long polls ({queues} queues)": idle_receives * PRICES["sqs_request"],
        f"_provisioned minimum capacity ({what}), PROVISIONED only": minimum,
    }


def _alarms(template: SamTemplate) -> tuple[int, int]:
    """The alarms the template creates at its defaults, and the metrics CloudWatch bills them for: one for
    an alarm on a metric, one for each metric a metric-math alarm reads (a query alarm counted as one)."""
    alarms = metrics = 0
    for resource in template.resources.values():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        if resource.get("Condition") and not template.condition(str(resource["Condition"])):
            continue
        read = [query for query in resource.get("Properties", {}).get("Metrics", []) if "MetricStat" in query]
        alarms += 1
        metrics += max(len(read), 1)
    return alarms, metrics


def storage_per_million_events(report: Report) -> float:
    """Table (events and feed pages) and index storage, and continuous backups, of a million events kept one month."""
    writes = report.facts["write_amplification"]
    samples = writes["samples"]
    metered = writes["moto single-event deliveries"]["ours_new"]
    # Each item (a feed page too), and each index entry, also carries about 100 bytes of DynamoDB's own
    # overhead. The index entries are by-content's (a comment's state changes); the feed's are in its pages.
    page_bytes_per_event = float(metered["feed_page_bytes"] + 100 * metered["feed_page_puts"]) / metered["events"]
    bytes_per_event = float(
        samples["item_bytes_median"] + 100 + samples["index_wru_per_event"] * (300 + 100) + page_bytes_per_event
    )
    gigabytes = MILLION * bytes_per_event / 1024**3
    return gigabytes * (PRICES["dynamodb_gb_month"] + PRICES["dynamodb_pitr_gb_month"])


def _platform_bytes_with_overhead(billed: float) -> float:
    """Lambda's own lines of one ingest invocation, CloudWatch's per-event overhead included (when written)."""
    size, events = lambda_platform_bytes(INGEST_MEMORY_MB, int(billed), trace_rate())
    return size + events * LOG_EVENT_OVERHEAD


def _breakdown(parts: dict[str, float], per: float) -> str:
    return ", ".join(f"{name} ${value / per:,.3f}" for name, value in parts.items() if not name.startswith("_"))


def run(report: Report) -> None:
    """Price both designs for both kinds of delivery and add the rows."""
    part = PART
    single, batched = scenarios(report)
    mine = ours(single, provisioned=False)
    theirs = usual(single)
    row = Row(part, "all in, per 1 M single-event deliveries (on-demand)", total(mine), "$", total(theirs),
              "usual design, same API")  # fmt: skip
    row.goal, row.met = f"≤ ${GOALS['single']:.2f}", total(mine) <= GOALS["single"]
    report.add(row)
    mine_provisioned = ours(single, provisioned=True)
    report.add(Row(part, "all in, per 1 M single-event deliveries (provisioned)", total(mine_provisioned), "$"))
    on_demand = ours(batched, provisioned=False)
    provisioned = ours(batched, provisioned=True)
    theirs_batched = usual(batched)
    per_event = batched.events_per_delivery
    row = Row(part, "all in, per 1 M events in Viafoura deliveries of 10 (on-demand)", total(on_demand) / per_event,
              "$", total(theirs_batched) / per_event, "usual design, same API")  # fmt: skip
    row.goal, row.met = (
        f"≤ ${GOALS['batched_on_demand']:.2f}",
        total(on_demand) / per_event <= GOALS["batched_on_demand"],
    )
    report.add(row)
    row = Row(part, "all in, per 1 M events in Viafoura deliveries of 10 (provisioned)", total(provisioned) / per_event,
              "$")  # fmt: skip
    row.goal = f"≤ ${GOALS['batched_provisioned']:.2f}"
    row.met = total(provisioned) / per_event <= GOALS["batched_provisioned"]
    report.add(row)
    fixed = fixed_monthly(report)
    other = not platform_lines_kept()
    what_if = {
        "platform_lines": other,
        "single": total(ours(single, provisioned=False, platform_lines=other)),
        "batched_on_demand": total(ours(batched, provisioned=False, platform_lines=other)) / per_event,
        "batched_provisioned": total(ours(batched, provisioned=True, platform_lines=other)) / per_event,
    }
    report.results["cost_single_all_in_usd_per_m"] = total(mine)
    report.results["cost_batched_on_demand_usd_per_m_events"] = total(on_demand) / per_event
    report.results["cost_batched_provisioned_usd_per_m_events"] = total(provisioned) / per_event
    report.results["cost_single_provisioned_usd_per_m"] = total(mine_provisioned)
    report.results["cost_usual_design_single_usd_per_m"] = total(theirs)
    report.results["cost_usual_design_batched_usd_per_m_events"] = total(theirs_batched) / per_event
    report.results["cost_fixed_usd_per_month"] = sum(v for k, v in fixed.items() if not k.startswith("_"))
    report.results["cost_storage_usd_per_m_events_month"] = storage_per_million_events(report)
    report.facts[NAME] = {
        "prices": PRICES,
        "prices_as_of": PRICES_AS_OF,
        "prices_source": PRICES_SOURCE,
        "latency_ms": LATENCY_MS,
        "cold_start_share": COLD_START_SHARE,
        "access_log_bytes": access_log_bytes(),
        "platform_bytes_per_ingest_invocation": _platform_bytes_with_overhead(mine["_ingest_billed_ms"]),
        "single": {"ours": mine, "ours_provisioned": mine_provisioned, "usual": theirs, "scenario": vars(single)},
        "batched": {
            "ours": on_demand,
            "ours_provisioned": provisioned,
            "usual": theirs_batched,
            "scenario": vars(batched),
        },
        "fixed_monthly": fixed,
        "other_platform_log_level": what_if,
    }
    report.notes.append(f"cost, single-event deliveries, per delivery x 1 M: {_breakdown(mine, 1)}")
    report.notes.append(f"cost, Viafoura deliveries of 10, per event x 1 M (on-demand): {_breakdown(on_demand, 10)}")
    report.notes.append(
        f"cost: {PRICES_SOURCE}, as of {PRICES_AS_OF}; latencies assumed {LATENCY_MS}; CPU measured here scaled by"
        f" {FULL_VCPU_MB} MB / memory; every event new; full batches of {template_defaults()['ConsumerBatchSize']};"
        " no free tier; fixed monthly costs apart."
    )
