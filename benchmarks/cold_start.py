"""Measure 1: cold start. Init and first invocation of each handler in a fresh interpreter, against its floor.

Each sample is one fresh interpreter (``benchmarks/cold_child.py``) under python3.13 when one
is found (Lambda's runtime version), with the import environment of a deployed function
(``benchmarks/lambda_layout.py``: the layer as ``make build`` ships it, the runtime's
compiled boto3, no awscrt) and Lambda's variables (active tracing, an unsampled invocation).
Three phases are timed: init (``app.py`` loaded by path, the handler built), the first AWS
client, and the first request (AWS answered by benchmarks/canned.py). The floor imports boto3
and makes one client with the function's own client settings (parameter validation off),
under the same start-up trick as app.py (the collector paused, then frozen), and sends one
message. Every candidate runs once per round, the order rotated each round; a ratio is the
median over rounds of the ratio in the round. Ratios use CPU time: on a busy machine a
process's wall-clock time is mostly waiting for a core.
"""

from __future__ import annotations

import json
import os
import subprocess
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
    lambda_variables,
    median,
    within,
)

NAME = "cold_start"
PART = "1 cold start"
REQUIRES: tuple[str, ...] = ()
CHILD = Path(__file__).with_name("cold_child.py")
GOAL = 1.15
PHASES = ("import", "client", "first")
ALL = PHASES
INIT_AND_CLIENT = ("import", "client")


@dataclass
class Candidate:
    """One kind of cold start: which child, with which layer, how often."""

    label: str
    kind: str
    function: str
    vendor_key: str
    layer: str = "as_shipped"
    every: int = 1
    """Run in every ``every``-th round (the slow, informational variants run less often)."""
    samples: dict[int, dict[str, tuple[int, int]]] = field(default_factory=dict)
    """Round number → phase → (wall ns, CPU ns)."""

    def cpu_ms(self, *phases: str) -> float:
        """Median CPU milliseconds of the phases summed per sample."""
        return median([sum(sample[p][1] for p in phases) / 1e6 for sample in self.samples.values()])

    def wall_ms(self, *phases: str) -> float:
        """Median wall-clock milliseconds of the phases summed per sample."""
        return median([sum(sample[p][0] for p in phases) / 1e6 for sample in self.samples.values()])

    def ratio(self, floor: Candidate, *phases: str) -> float:
        """Median over the rounds both ran in of (this CPU / the floor's CPU) in that round."""
        rounds = sorted(set(self.samples) & set(floor.samples))
        return median(
            [sum(self.samples[r][p][1] for p in phases) / sum(floor.samples[r][p][1] for p in phases) for r in rounds]
        )

    @property
    def count(self) -> int:
        """Samples taken."""
        return len(self.samples)


def _candidates(layout: lambda_layout.LambdaLayout) -> list[Candidate]:
    ingest = [Candidate(f"ingest {key}", "ingest", "ingest", key) for key in workload.vendor_keys()]
    candidates = [
        Candidate("ingest floor", "ingest-floor", "ingest", workload.VIAFOURA),
        *ingest,
        Candidate("ingest, no bytecode", "ingest", "ingest", workload.VIAFOURA, layer="without_bytecode"),
        Candidate("consumer floor", "consumer-floor", "consumer", workload.VIAFOURA),
        Candidate("consumer", "consumer", "consumer", workload.VIAFOURA),
        Candidate("consumer, no bytecode", "consumer", "consumer", workload.VIAFOURA, layer="without_bytecode"),
    ]
    if not layout.shipped_has_bytecode:
        candidates.append(Candidate("ingest, with bytecode", "ingest", "ingest", workload.VIAFOURA, "with_bytecode"))
    return candidates


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
    if candidate.function == "ingest":
        variables, memory = ingest_environment(candidate.vendor_key), INGEST_MEMORY_MB
    else:
        variables, memory = consumer_environment(candidate.vendor_key), CONSUMER_MEMORY_MB
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **variables,
        **lambda_variables(candidate.function, memory),
    }


def _run(candidate: Candidate, layout: lambda_layout.LambdaLayout, inputs: dict[str, Path], round_number: int) -> None:
    layer = {
        "as_shipped": layout.layer_as_shipped,
        "without_bytecode": layout.layer_without_bytecode,
        "with_bytecode": layout.layer_with_bytecode,
    }[candidate.layer]
    # As on Lambda: the layer first, then the runtime's own (compiled) boto3 and botocore.
    layer_path = f"{layer}{os.pathsep}{layout.runtime}"
    input_file = inputs["consumer"] if candidate.function == "consumer" else inputs[f"ingest {candidate.vendor_key}"]
    # -S: no site-packages, only the layout's directories. -B: /opt is read-only on Lambda; a layer
    # without bytecode compiles every module it imports at every cold start.
    command = [layout.interpreter.path, "-S", "-B", str(CHILD), candidate.kind, str(FUNCTIONS_DIR / candidate.function)]
    command += [layer_path, str(input_file)]
    done = subprocess.run(  # noqa: S603  (a python found on this machine, our own script)
        command, env=_environment(candidate), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{candidate.label}: cold-start child failed:\n{done.stderr[-2000:]}")
    numbers = [int(value) for value in done.stdout.split()]
    candidate.samples[round_number] = {
        phase: (numbers[2 * index], numbers[2 * index + 1]) for index, phase in enumerate(PHASES)
    }


def run(report: Report) -> None:
    """Build the layer as shipped, spawn fresh interpreters, every candidate in every round, and add the rows."""
    rounds = 5 if report.quick else 21
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        root = Path(scratch)
        layout = lambda_layout.build(root / "layout")
        candidates = _candidates(layout)
        # One untimed round: the page cache holds every file before the first sample.
        inputs = _inputs(root)
        for candidate in candidates:
            _run(candidate, layout, inputs, -1)
            candidate.samples.clear()
        for round_number in range(rounds):
            # Requests made for the round: a run outlasts FastComments' 300 s signature window on a busy machine.
            inputs = _inputs(root)
            due = [c for c in candidates if round_number % c.every == 0]
            shift = round_number % len(due)
            for candidate in due[shift:] + due[:shift]:
                _run(candidate, layout, inputs, round_number)
    _add_rows(report, {candidate.label: candidate for candidate in candidates}, layout)


def _add_rows(report: Report, by_label: dict[str, Candidate], layout: lambda_layout.LambdaLayout) -> None:
    part = PART
    floor = by_label["ingest floor"]
    shipped: dict[str, float] = {}
    for key in workload.vendor_keys():
        ours = by_label[f"ingest {key}"]
        shipped[key] = ours.ratio(floor, *ALL)
        row = Row(part, f"ingest {key}, as shipped: init + first request (CPU)", ours.cpu_ms(*ALL), "ms",
                  floor.cpu_ms(*ALL), "boto3 + SQS client + send")  # fmt: skip
        row.paired = shipped[key]
        report.add(within(row, GOAL))
    worst = max(shipped, key=lambda key: shipped[key])
    ours = by_label[f"ingest {worst}"]
    init_and_client = ours.ratio(floor, *INIT_AND_CLIENT)
    row = Row(part, f"ingest {worst}, as shipped: init + SQS client only (CPU)", ours.cpu_ms(*INIT_AND_CLIENT), "ms",
              floor.cpu_ms(*INIT_AND_CLIENT), "boto3 + SQS client")  # fmt: skip
    row.paired = init_and_client
    report.add(row)
    row = Row(part, f"ingest {worst}, as shipped: init + first request (wall clock)", ours.wall_ms(*ALL), "ms",
              floor.wall_ms(*ALL), "boto3 + SQS client + send")  # fmt: skip
    report.add(row)
    bare = by_label["ingest, no bytecode"]
    without = bare.ratio(floor, *ALL)
    row = Row(part, f"ingest {workload.VIAFOURA}, layer without bytecode: init + first request (CPU)",
              bare.cpu_ms(*ALL), "ms",
              floor.cpu_ms(*ALL), "boto3 + SQS client + send")  # fmt: skip
    row.paired = without
    report.add(row)
    if layout.shipped_has_bytecode:
        with_bytecode = shipped[worst]  # the very same layer
    else:
        compiled = by_label["ingest, with bytecode"]
        with_bytecode = compiled.ratio(floor, *ALL)
        row = Row(part, "ingest, layer with bytecode: init + first request (CPU)", compiled.cpu_ms(*ALL), "ms",
                  floor.cpu_ms(*ALL), "boto3 + SQS client + send")  # fmt: skip
        row.paired = with_bytecode
        report.add(row)
    consumer_floor, consumer = by_label["consumer floor"], by_label["consumer"]
    for label, candidate in (("as shipped", consumer), ("layer without bytecode", by_label["consumer, no bytecode"])):
        row = Row(part, f"consumer, {label}: init + first batch (CPU)", candidate.cpu_ms(*ALL), "ms",
                  consumer_floor.cpu_ms(*ALL), "boto3 + pydantic + models + put")  # fmt: skip
        row.paired = candidate.ratio(consumer_floor, *ALL)
        report.add(row)
    report.results["cold_start_ratio_as_shipped"] = shipped[worst]
    report.results["cold_start_ratio_with_bytecode"] = with_bytecode
    report.results["cold_start_ratio_without_bytecode"] = without
    report.results["cold_start_ratio_init_and_client"] = init_and_client
    report.results["cold_start_ratio_consumer"] = consumer.ratio(consumer_floor, *ALL)
    report.facts[NAME] = {
        "interpreter": {"path": layout.interpreter.path, "version": layout.interpreter.version},
        "shipped_has_bytecode": layout.shipped_has_bytecode,
        "by_vendor_as_shipped": shipped,
        "candidates": {
            label: {
                "samples": candidate.count,
                **{f"{phase}_cpu_ms": candidate.cpu_ms(phase) for phase in PHASES},
                **{f"{phase}_wall_ms": candidate.wall_ms(phase) for phase in PHASES},
            }
            for label, candidate in by_label.items()
        },
    }
    report.notes.append(
        f"cold start: {layout.interpreter.note}; median of {floor.count} fresh interpreters per handler"
        f" ({bare.count} for the ingest layer without bytecode); the headline is the slowest vendor's ({worst});"
        + (
            " the layer as shipped has bytecode, so 'with bytecode' is the same layer."
            if layout.shipped_has_bytecode
            else " the layer as shipped has no bytecode."
        )
    )
