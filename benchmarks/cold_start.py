"""Measure 1: cold start. Import time of each handler in a fresh interpreter against its floor.

Each sample is one fresh interpreter (``benchmarks/cold_child.py``) with the import
environment of a deployed function (``benchmarks/lambda_layout.py``) and Lambda's variables
(active tracing included, as template.yaml sets it). The floor runs in the same loop as the
handlers, its order rotated each round, so drift lands on both. Ratios use CPU time
(process_time): on a busy machine a process's wall-clock time is mostly waiting for a core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import lambda_layout, workload
from benchmarks.harness import (
    CONSUMER_MEMORY_MB,
    FUNCTIONS_DIR,
    INGEST_MEMORY_MB,
    Report,
    Row,
    consumer_environment,
    ingest_environment,
    median,
    within,
)

NAME = "cold_start"
REQUIRES: tuple[str, ...] = ()
CHILD = Path(__file__).with_name("cold_child.py")
GOAL = 1.15
# Lambda's own variables: with LAMBDA_TASK_ROOT set, Powertools' Tracer is active and the
# X-Ray SDK takes its Lambda code path, as on a function with `Tracing: Active`.
LAMBDA_VARIABLES = {
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "LANG": "C.UTF-8",
}
PHASES = ("import", "client", "first")


@dataclass
class Candidate:
    """One kind of cold start: which child, with which layer, how often."""

    label: str
    kind: str
    function: str
    vendor_key: str
    layer: str = "compiled"
    every: int = 1
    """Run in every ``every``-th round (the slow, informational variants run less often)."""
    samples: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: {phase: [] for phase in PHASES})

    def cpu_ms(self, *phases: str) -> float:
        """Median CPU milliseconds of the phases summed per sample."""
        return median([sum(self.samples[p][i][1] for p in phases) / 1e6 for i in range(self.count)])

    def wall_ms(self, *phases: str) -> float:
        """Median wall-clock milliseconds of the phases summed per sample."""
        return median([sum(self.samples[p][i][0] for p in phases) / 1e6 for i in range(self.count)])

    @property
    def count(self) -> int:
        """Samples taken."""
        return len(self.samples["import"])


def _candidates() -> list[Candidate]:
    ingest = [Candidate(f"ingest {key}", "ingest", "ingest", key) for key in workload.vendor_keys()]
    return [
        Candidate("ingest floor", "ingest-floor", "ingest", workload.VIAFOURA),
        *ingest,
        Candidate("ingest as shipped", "ingest", "ingest", workload.VIAFOURA, layer="as_shipped", every=3),
        Candidate("ingest, boto3 from runtime", "ingest", "ingest", workload.VIAFOURA, layer="without_boto3", every=3),
        Candidate("consumer floor", "consumer-floor", "consumer", workload.VIAFOURA),
        Candidate("consumer", "consumer", "consumer", workload.VIAFOURA),
        Candidate("consumer as shipped", "consumer", "consumer", workload.VIAFOURA, layer="as_shipped", every=3),
    ]


def _inputs(directory: Path) -> dict[str, Path]:
    """The first request of each function (and the secrets it reads), one JSON file per vendor and side."""
    files: dict[str, Path] = {}
    for key in workload.vendor_keys():
        body, sample = workload.typical_body(key)
        path = directory / f"ingest-{key}.json"
        path.write_text(
            json.dumps({"event": workload.api_event(key, body, sample), "secrets": workload.secret_strings()})
        )
        files[f"ingest {key}"] = path
    body = workload.viafoura_deliveries(1, 1)[0]
    path = directory / "consumer.json"
    event = workload.sqs_batch([workload.queue_message(workload.VIAFOURA, body)])
    path.write_text(json.dumps({"event": event, "secrets": {}}))
    files["consumer"] = path
    return files


def _environment(candidate: Candidate) -> dict[str, str]:
    function_dir = str(FUNCTIONS_DIR / candidate.function)
    if candidate.function == "ingest":
        variables = ingest_environment(candidate.vendor_key)
        memory = INGEST_MEMORY_MB
    else:
        variables = consumer_environment(candidate.vendor_key)
        memory = CONSUMER_MEMORY_MB
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **variables,
        **LAMBDA_VARIABLES,
        "LAMBDA_TASK_ROOT": function_dir,
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{candidate.function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
    }


def _run(candidate: Candidate, layout: lambda_layout.LambdaLayout, inputs: dict[str, Path]) -> None:
    layer = {
        "compiled": layout.layer_compiled,
        "as_shipped": layout.layer_as_shipped,
        "without_boto3": layout.layer_without_boto3,
    }[candidate.layer]
    # As on Lambda: the layer first, then the runtime's own (compiled) boto3 and botocore.
    layer_path = f"{layer}{os.pathsep}{layout.runtime}"
    input_file = inputs["consumer"] if candidate.function == "consumer" else inputs[f"ingest {candidate.vendor_key}"]
    # -S: no site-packages of this virtual environment, only the layout's directories.
    # -B: a layer shipped without .pyc is compiled on every cold start (Lambda's /opt is read-only).
    flags = ["-S", "-B"] if candidate.layer != "compiled" else ["-S"]
    command = [sys.executable, *flags, str(CHILD), candidate.kind, str(FUNCTIONS_DIR / candidate.function)]
    command += [layer_path, str(input_file)]
    done = subprocess.run(  # noqa: S603  (our own interpreter and script)
        command, env=_environment(candidate), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{candidate.label}: cold-start child failed:\n{done.stderr[-2000:]}")
    numbers = [int(value) for value in done.stdout.split()]
    for index, phase in enumerate(PHASES):
        candidate.samples[phase].append((numbers[2 * index], numbers[2 * index + 1]))


def run(report: Report) -> None:
    """Spawn fresh interpreters, every candidate in every round, and add the cold-start rows."""
    rounds = 5 if report.quick else 21
    candidates = _candidates()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        root = Path(scratch)
        layout = lambda_layout.build(root / "layout")
        inputs = _inputs(root)
        # One untimed round: the page cache holds every file before the first sample.
        for candidate in candidates:
            _run(candidate, layout, inputs)
            candidate.samples = {phase: [] for phase in PHASES}
        for round_number in range(rounds):
            due = [c for c in candidates if round_number % c.every == 0]
            shift = round_number % len(due)
            for candidate in due[shift:] + due[:shift]:
                _run(candidate, layout, inputs)
    _add_rows(report, {candidate.label: candidate for candidate in candidates})


def _add_rows(report: Report, by_label: dict[str, Candidate]) -> None:
    part = "1 cold start"
    floor = by_label["ingest floor"]
    for key in workload.vendor_keys():
        ours = by_label[f"ingest {key}"]
        report.add(
            within(
                Row(part, f"ingest {key}: import + SQS client (CPU)", ours.cpu_ms("import", "client"), "ms",
                    floor.cpu_ms("import", "client"), "boto3 + SQS client"),
                GOAL,
            )
        )  # fmt: skip
    ours = by_label[f"ingest {workload.VIAFOURA}"]
    report.add(
        Row(part, "ingest: import only (CPU)", ours.cpu_ms("import"), "ms", floor.cpu_ms("import"), "import boto3")
    )
    report.add(
        Row(part, "ingest: import + client + first request (CPU)", ours.cpu_ms(*PHASES), "ms",
            floor.cpu_ms(*PHASES), "floor + first send")
    )  # fmt: skip
    report.add(
        Row(part, "ingest: import + client, wall clock", ours.wall_ms("import", "client"), "ms",
            floor.wall_ms("import", "client"), "boto3 + SQS client")
    )  # fmt: skip
    for label, text in (
        ("ingest as shipped", "ingest, layer as shipped (no .pyc): import + client (CPU)"),
        ("ingest, boto3 from runtime", "ingest, layer without boto3, no .pyc: import + client (CPU)"),
    ):
        variant = by_label[label]
        report.add(Row(part, text, variant.cpu_ms("import", "client"), "ms", floor.cpu_ms("import", "client"),
                       "boto3 + SQS client"))  # fmt: skip
    consumer_floor, consumer = by_label["consumer floor"], by_label["consumer"]
    report.add(
        Row(part, "consumer: import + DynamoDB client (CPU)", consumer.cpu_ms("import", "client"), "ms",
            consumer_floor.cpu_ms("import", "client"), "boto3 + pydantic + models")
    )  # fmt: skip
    report.add(
        Row(part, "consumer: import + client + first batch (CPU)", consumer.cpu_ms(*PHASES), "ms",
            consumer_floor.cpu_ms(*PHASES), "floor + first put")
    )  # fmt: skip
    shipped = by_label["consumer as shipped"]
    report.add(
        Row(part, "consumer, layer as shipped (no .pyc): import + client (CPU)", shipped.cpu_ms("import", "client"),
            "ms", consumer_floor.cpu_ms("import", "client"), "boto3 + pydantic + models")
    )  # fmt: skip
    report.facts[NAME] = {
        label: {
            "samples": candidate.count,
            **{f"{phase}_cpu_ms": candidate.cpu_ms(phase) for phase in PHASES},
            **{f"{phase}_wall_ms": candidate.wall_ms(phase) for phase in PHASES},
        }
        for label, candidate in by_label.items()
    }
    report.notes.append(
        f"cold start: median of {ours.count} fresh interpreters per handler ({by_label['ingest as shipped'].count} for"
        " the as-shipped variants), Lambda import layout and variables, X-Ray tracing active; CPU time."
    )
