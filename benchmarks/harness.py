"""What every benchmark shares: the results table, medians, alternated timing, the Lambda-like environment."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import boto3
import botocore

from intake_cli.lambdas import LambdaContext

try:
    from aws_lambda_powertools.shared.user_agent import _initializer_botocore_session as _POWERTOOLS_INITIALIZER
except ImportError:  # a Powertools without the hook: nothing to take off
    _POWERTOOLS_INITIALIZER = None

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]
# The code under measurement: this checkout, or another one (``--source``) for a before/after.
SOURCE = Path(os.environ.get("BENCH_SOURCE") or ROOT)
LAYER_DIR = SOURCE / "layers" / "shared"
FUNCTIONS_DIR = SOURCE / "functions"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/bench-queue"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:bench-queue"
TABLE_NAME = "bench-events"
# template.yaml defaults (IngestMemorySize, ConsumerMemorySize, Timeout).
INGEST_MEMORY_MB = 256
CONSUMER_MEMORY_MB = 512

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": "webhook-intake",
    "POWERTOOLS_METRICS_NAMESPACE": "WebhookIntake",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
# Variables that would point a client somewhere else (or at a profile) while we measure.
_UNSET = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE")


def ingest_environment(vendor_key: str) -> dict[str, str]:
    """What template.yaml gives an ingest function (the secret id is the vendor key here)."""
    return {**FAKE_AWS, **POWERTOOLS, "VENDOR": vendor_key, "QUEUE_URL": QUEUE_URL, "SECRET_ID": vendor_key}


def consumer_environment(vendor_key: str) -> dict[str, str]:
    """What template.yaml gives a consumer function."""
    return {**FAKE_AWS, **POWERTOOLS, "VENDOR": vendor_key, "TABLE_NAME": TABLE_NAME, "RETENTION_DAYS": "0"}


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set (and endpoint overrides removed) for the block; restored after."""
    names = [*values, *_UNSET]
    saved = {name: os.environ.get(name) for name in names}
    for name in _UNSET:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Powertools writes JSON logs and EMF metrics to stdout: to /dev/null while we measure.

    Writing still happens (as it does to CloudWatch on Lambda), so its cost stays in the numbers.
    The sink stays open for the process: a Powertools logger keeps the stream it was made with.
    """
    with contextlib.redirect_stdout(_sink()):
        yield


@functools.cache
def _sink() -> TextIO:
    return open(os.devnull, "w", encoding="utf-8")


def lambda_context(function_name: str, memory_mb: int, timeout_seconds: int = 30) -> LambdaContext:
    """A Lambda context object like the one the runtime passes."""
    return LambdaContext(
        function_name=function_name,
        memory_limit_in_mb=memory_mb,
        timeout_seconds=timeout_seconds,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}",
        aws_request_id=str(uuid.uuid4()),
    )


def floor_session() -> boto3.session.Session:
    """A boto3 session as a function without Powertools would make it.

    Importing Powertools registers a botocore session initializer (its user-agent hook) that
    every later session gets; the floor's clients are made without it.
    """
    if _POWERTOOLS_INITIALIZER is None:
        return boto3.session.Session()
    try:
        botocore.unregister_initializer(_POWERTOOLS_INITIALIZER)
    except ValueError:  # not registered: nothing to take off
        return boto3.session.Session()
    try:
        return boto3.session.Session()
    finally:
        botocore.register_initializer(_POWERTOOLS_INITIALIZER)


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return float(statistics.median(values)) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


@dataclass
class Timing:
    """Per-call CPU and wall-clock times of one side, one sample per block of calls."""

    cpu_ns: list[float] = field(default_factory=list)
    wall_ns: list[float] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        """Median CPU nanoseconds per call."""
        return median(self.cpu_ns)

    @property
    def wall(self) -> float:
        """Median wall-clock nanoseconds per call."""
        return median(self.wall_ns)


def alternate(
    sides: Mapping[str, Callable[[], object]], *, rounds: int, calls: int, warmup: int = 20
) -> dict[str, Timing]:
    """Time each side in blocks of ``calls`` calls, alternating sides (order flipped each round).

    Alternating in one loop puts the machine's drift on both sides alike; the median of the
    per-block means drops the blocks a neighbour's burst of work landed on.
    """
    for run in sides.values():
        for _ in range(warmup):
            run()
    timings = {name: Timing() for name in sides}
    order = list(sides)
    for round_number in range(rounds):
        for name in order if round_number % 2 == 0 else reversed(order):
            run = sides[name]
            cpu0, wall0 = time.process_time_ns(), time.perf_counter_ns()
            for _ in range(calls):
                run()
            cpu1, wall1 = time.process_time_ns(), time.perf_counter_ns()
            timings[name].cpu_ns.append((cpu1 - cpu0) / calls)
            timings[name].wall_ns.append((wall1 - wall0) / calls)
    return timings


@dataclass
class Row:
    """One line of the results table."""

    part: str
    measure: str
    ours: float
    unit: str
    other: float | None = None
    other_label: str = "floor"
    goal: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """This project's value over the compared value."""
        if self.other is None or self.other == 0:
            return None
        return self.ours / self.other


def within(row: Row, limit: float) -> Row:
    """Mark ``row`` met when its ratio is at most ``limit``."""
    row.goal = f"≤ {limit:g}x"
    row.met = row.ratio is not None and row.ratio <= limit
    return row


@dataclass
class Report:
    """The rows of one run and the measurements later parts (the cost model) build on."""

    quick: bool = False
    rows: list[Row] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        """Add a row and echo it to stderr, so a long run shows progress."""
        self.rows.append(row)
        ratio = f" ({row.ratio:.2f}x)" if row.ratio is not None else ""
        print(f"  {row.part}: {row.measure}: {format_value(row.ours, row.unit)}{ratio}", file=sys.stderr)
        return row


def format_value(value: float, unit: str) -> str:
    """A value with its unit, to a sensible precision."""
    if unit == "$":
        return f"${value:,.2f}"
    if unit in ("count", "req", "WRU", ""):
        number = f"{value:g}" if value == int(value) else f"{value:.2f}"
        return f"{number} {unit}".strip() if unit != "count" else number
    if unit in {"events/s", "deliveries/s"}:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def render(rows: Sequence[Row]) -> str:
    """The results as one Markdown table (readable in a terminal, pasted as is into the docs)."""
    header = ["part", "measure", "this project", "compared with", "ratio", "goal", "met"]
    lines = [header]
    for row in rows:
        other = "" if row.other is None else f"{format_value(row.other, row.unit)} ({row.other_label})"
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append([row.part, row.measure, format_value(row.ours, row.unit), other, ratio, row.goal, met])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)
