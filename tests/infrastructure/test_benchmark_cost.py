"""The cost model of `make bench` (benchmarks/cost.py) prices what a deployed stack is billed for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lambda's own records of an invocation with the JSON log format (template Globals LoggingConfig) and
# PlatformLogLevel=INFO, as Lambda's guide shows them: a platform.start and a platform.report per
# invocation, no END line (platform.runtimeDone is DEBUG).
START = {
    "time": "2026-11-29T12:00:00.000Z",
    "type": "platform.start",
    "record": {
        "requestId": "8f507cfc-0000-4697-b07a-ac58fc914c95",
        "version": "$LATEST",
    },
}


def report(memory_mb: int, billed_ms: int) -> dict[str, object]:
    return {
        "time": "2026-11-29T12:00:00.000Z",
        "type": "platform.report",
        "record": {
            "requestId": "8f507cfc-0000-4697-b07a-ac58fc914c95",
            "metrics": {
                "durationMs": round(billed_ms - 0.42, 3),
                "billedDurationMs": billed_ms,
                "memorySizeMB": memory_mb,
                "maxMemoryUsedMB": memory_mb // 3,
            },
            "status": "success",
        },
    }


def _run(code: str) -> dict[str, float]:
    # A process of its own: the benchmarks must load before botocore (Lambda has no awscrt).
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.splitlines()[-1]))


def test_platform_log_level_info_is_priced_as_the_json_records_lambda_writes() -> None:
    code = """
import json
from benchmarks import cost
from benchmarks.harness import CONSUMER_MEMORY_MB, INGEST_MEMORY_MB

cost.trace_rate = lambda: 0.0  # no sampled invocation: no trace context in any record
scenario = cost.Scenario(
    label="test", events_per_delivery=1, ingest_cpu_ms=0.7, ingest_runtime_ms=0.02, ingest_log_bytes=0.0,
    ingest_log_lines=0.0, message_bytes=900, consumer_cpu_ms_per_event=1.4, consumer_runtime_ms=0.1,
    consumer_log_bytes_per_event=220.0, consumer_log_lines_per_invocation=2.0, wru_per_event=1.5,
    s3_puts_per_event=0.0, usual_cpu_ms_per_event=3.0, usual_wru_per_event=3.3, usual_writes_per_delivery={},
    ingest_cold_cpu_ms=460.0, consumer_cold_cpu_ms=660.0,
)
kept = cost.ours(scenario, False, platform_lines=True)
dropped = cost.ours(scenario, False, platform_lines=False)
print(json.dumps({
    "added": kept["CloudWatch Logs"] - dropped["CloudWatch Logs"],
    "ingest_ms": kept["_ingest_billed_ms"],
    "consumer_ms": kept["_consumer_billed_ms_per_batch"],
    "ingest_memory": INGEST_MEMORY_MB,
    "consumer_memory": CONSUMER_MEMORY_MB,
    "batch": int(cost.template_defaults()["ConsumerBatchSize"]),
    "per_gb": cost.log_cost(1024**3, 0),
    "overhead": cost.LOG_EVENT_OVERHEAD,
}))
"""
    found = _run(code)

    def records_bytes(memory_mb: int, billed_ms: float) -> int:
        lines = (START, report(memory_mb, int(billed_ms)))
        return sum(len(json.dumps(line, separators=(",", ":")).encode()) + int(found["overhead"]) for line in lines)

    ingest = records_bytes(int(found["ingest_memory"]), found["ingest_ms"])
    consumer = records_bytes(int(found["consumer_memory"]), found["consumer_ms"])
    per_million_deliveries = 1_000_000 * ingest + 1_000_000 / found["batch"] * consumer
    expected = per_million_deliveries / 1024**3 * found["per_gb"]
    # The numbers' digits vary with the billed duration: within 5 %.
    assert abs(found["added"] - expected) <= 0.05 * expected, (found["added"], expected)


def test_an_ingest_cold_starts_own_line_is_priced_in_the_share_of_invocations_that_are_cold_starts() -> None:
    # Given an ingest function whose warm accepted delivery prints nothing, and whose execution environment's first
    # invocation prints its ColdStart line (240 B)
    code = """
import json
from benchmarks import cost
entry = {"bytes_per_invocation": 0.0, "lines_per_invocation": 0.0, "cold_start_bytes": 240, "cold_start_lines": 1}
print(json.dumps(dict(zip(("bytes", "lines"), cost._printed(entry)))))
"""
    # When the cost model reads what an invocation prints on average
    printed = _run(code)

    # Then the line counts in the share of invocations that are cold starts (1 %)
    assert printed == {"bytes": 2.4, "lines": 0.01}
