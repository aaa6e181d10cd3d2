"""What every benchmark shares: the results table, medians, alternated timing, the Lambda-like environment."""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import math
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore
import botocore.compat

from intake_cli.lambdas import LambdaContext
from intake_cli.template import read as read_template

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
PAYLOAD_BUCKET = "bench-payloads"
REPLAY_TABLE_NAME = "bench-replays"

if botocore.compat.HAS_CRT:  # benchmarks/__init__.py turns it off before botocore loads
    raise RuntimeError("botocore loaded awscrt: import benchmarks before boto3 (Lambda has no awscrt)")


@functools.cache
def template_defaults() -> dict[str, Any]:
    """template.yaml's parameter defaults: what a deployed stack runs with unless told otherwise."""
    parameters = read_template(ROOT / "template.yaml").get("Parameters", {})
    return {name: spec.get("Default") for name, spec in parameters.items()}


INGEST_MEMORY_MB = int(template_defaults()["IngestMemorySize"])
CONSUMER_MEMORY_MB = int(template_defaults()["ConsumerMemorySize"])
# What Lambda sets for an invocation of a function with active tracing that X-Ray did not sample
# (almost all of them at TraceSampleRate): the handler sees it, and passes it on to SQS.
UNSAMPLED_TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"

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


def lambda_variables(function: str, memory_mb: int, trace_header: str = UNSAMPLED_TRACE_HEADER) -> dict[str, str]:
    """Lambda's own variables for a function with active tracing (template.yaml's TracingMode default).

    With ``LAMBDA_TASK_ROOT`` set, Powertools' Tracer is on and the X-Ray SDK takes its Lambda
    code path; with the trace header of an unsampled invocation (as nearly all are at the
    template's TraceSampleRate), it records nothing, but its wrappers still run.
    """
    return {
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{function}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR / function),
        "_X_AMZN_TRACE_ID": trace_header,
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "LANG": "C.UTF-8",
    }


def child_process_environment(values: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of a measuring process of our own: this one's, ``values``, and the layer measured
    (``--source``) ahead of the installed package."""
    path = os.pathsep.join(filter(None, [str(LAYER_DIR), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **(values or {}), "PYTHONPATH": path}


def ingest_environment(vendor_key: str) -> dict[str, str]:
    """What template.yaml gives an ingest function (the secret id is the vendor key here)."""
    return {
        **FAKE_AWS,
        **POWERTOOLS,
        "VENDOR": vendor_key,
        "QUEUE_URL": QUEUE_URL,
        "SECRET_ID": vendor_key,
        "PAYLOAD_BUCKET": PAYLOAD_BUCKET,
        # FastComments' route binding writes each signature once (ReplayTable): measured, and priced.
        "REPLAY_TABLE_NAME": REPLAY_TABLE_NAME,
        "_X_AMZN_TRACE_ID": UNSAMPLED_TRACE_HEADER,
    }


def consumer_environment(vendor_key: str) -> dict[str, str]:
    """What template.yaml gives a consumer function."""
    defaults = template_defaults()
    return {
        **FAKE_AWS,
        **POWERTOOLS,
        "VENDOR": vendor_key,
        "TABLE_NAME": TABLE_NAME,
        "RETENTION_DAYS": str(defaults["RetentionDays"]),
        "MAX_RECEIVE_COUNT": str(defaults["MaxReceiveCount"]),
        "PAYLOAD_BUCKET": PAYLOAD_BUCKET,
    }


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


class LogSink(io.TextIOBase):
    """Where the handlers' stdout goes while measured: /dev/null, counted on request.

    Writing still happens (a system call, as the runtime's log pipe is on Lambda), so its cost
    stays in the numbers. While :meth:`counting`, the bytes and lines written are added up:
    what CloudWatch Logs would ingest from the function's own output.
    """

    def __init__(self) -> None:
        super().__init__()
        self._devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115  (for the process's life)
        self.count = False
        self.bytes = 0
        self.lines = 0
        self.texts: list[str] = []

    def writable(self) -> bool:
        """Always."""
        return True

    def write(self, text: str) -> int:
        """Write ``text`` to /dev/null (and count it while counting)."""
        if self.count:
            self.bytes += len(text.encode("utf-8", "surrogatepass"))
            self.lines += text.count("\n")
            self.texts.append(text)
        return self._devnull.write(text)

    def flush(self) -> None:
        """Flush /dev/null."""
        self._devnull.flush()

    @contextlib.contextmanager
    def counting(self) -> Iterator[LogSink]:
        """Count what is written during the block (from zero)."""
        self.bytes, self.lines, self.texts, self.count = 0, 0, [], True
        try:
            yield self
        finally:
            self.count = False


@contextlib.contextmanager
def quiet_stdout() -> Iterator[LogSink]:
    """Powertools writes JSON logs and EMF metrics to stdout: to :func:`sink` while we measure.

    The sink stays open for the process: a Powertools logger keeps the stream it was made with.
    """
    with contextlib.redirect_stdout(sink()):
        yield sink()


@functools.cache
def sink() -> LogSink:
    """The process's one :class:`LogSink`."""
    return LogSink()


def emf_metrics(texts: Sequence[str]) -> set[tuple[str, str]]:
    """The metrics in EMF records among printed ``texts``: (metric name, its dimensions and their values).

    Each distinct pair is one CloudWatch custom metric, billed per month whatever its traffic.
    """
    found: set[tuple[str, str]] = set()
    for text in texts:
        for line in text.splitlines():
            if not line.startswith("{") or '"_aws"' not in line:
                continue
            record = json.loads(line)
            for directive in record["_aws"].get("CloudWatchMetrics", []):
                for dimensions in directive.get("Dimensions", []):
                    labels = ",".join(f"{name}={record.get(name)}" for name in sorted(dimensions))
                    found.update((metric["Name"], labels) for metric in directive.get("Metrics", []))
    return found


def runtime_ms(event: Mapping[str, Any], answer: Any, runs: int = 200) -> float:
    """CPU of what Lambda's runtime does around a handler call: decode the event's JSON, encode the answer."""
    text = json.dumps(event)
    started = time.process_time_ns()
    for _ in range(runs):
        json.loads(text)
        json.dumps(answer)
    return (time.process_time_ns() - started) / runs / 1e6


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


def floor_client(service: str, config: Any) -> Any:
    """A client of the floor's: made as a function without Powertools would make it, with the settings and
    the request-building shortcuts of the measured code's clients (``webhook_intake.clients``), so a
    ratio shows what the handler does beyond one request, not how it builds that request."""
    from webhook_intake import clients  # noqa: PLC0415  (the measured layer, after the environment is set)

    made = floor_session().client(service, config=config)
    shortcut = getattr(clients, "user_agent_built_once", None)  # a checkout from before it has none
    return shortcut(made) if shortcut is not None else made


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
    unit_cpu_ns: list[list[int]] = field(default_factory=list)
    """Per round, each unit's CPU (for a subset of the units: :func:`unit_range`)."""

    @property
    def cpu(self) -> float:
        """Median CPU nanoseconds per call."""
        return median(self.cpu_ns)

    @property
    def wall(self) -> float:
        """Median wall-clock nanoseconds per call."""
        return median(self.wall_ns)


def alternate(
    sides: Mapping[str, Sequence[Callable[[], object]]], *, rounds: int, warmup: int = 2
) -> dict[str, Timing]:
    """Time the sides unit by unit, interleaved: unit 1 of every side, then unit 2 of every side...

    Every side has the same number of units (a delivery, a batch), unit ``i`` of each doing
    the same job its own way. On a shared machine the CPU a unit costs swings by half within
    seconds as neighbours' work comes and goes; interleaving the sides at each unit puts a
    swing on every side alike, and the order of the sides turns at every unit and round.
    A side's sample is its total over one pass (a round) of all its units.
    """
    counts = {len(units) for units in sides.values()}
    if len(counts) != 1:
        raise ValueError(f"every side needs the same number of units, not {sorted(counts)}")
    (units,) = counts
    for _ in range(warmup):
        for side in sides.values():
            for unit in side:
                unit()
    # As app.py does at the end of a function's init: what exists now is never scanned again. Here
    # that is also the benchmark's own heap (moto, SAM CLI's template reader...), which a Lambda
    # process does not hold and which would make each full collection cost whichever side ran it.
    gc.collect()
    gc.freeze()
    timings = {name: Timing() for name in sides}
    names = list(sides)
    cpu = time.process_time_ns
    wall = time.perf_counter_ns
    for round_number in range(rounds):
        unit_cpu: dict[str, list[int]] = {name: [] for name in names}
        wall_total = dict.fromkeys(names, 0)
        # Every other round runs the sides in the reverse cycle: with three sides or more, each then
        # follows each other side as often (what ran just before warms or cools the caches).
        cycle = names if round_number % 2 == 0 else names[::-1]
        for index in range(units):
            turn = (round_number // 2 + index) % len(cycle)
            for name in cycle[turn:] + cycle[:turn]:
                cpu0, wall0 = cpu(), wall()
                sides[name][index]()
                cpu1, wall1 = cpu(), wall()
                unit_cpu[name].append(cpu1 - cpu0)
                wall_total[name] += wall1 - wall0
        for name in names:
            timings[name].cpu_ns.append(sum(unit_cpu[name]))
            timings[name].wall_ns.append(wall_total[name])
            timings[name].unit_cpu_ns.append(unit_cpu[name])
    return timings


def unit_range(
    timings: Mapping[str, Timing], start: int, count: int, ours: str = "ours", other: str = "floor"
) -> tuple[float, float, float]:
    """Units ``start`` to ``start + count`` only: median CPU per unit of each side, and their paired ratio."""
    rounds = len(timings[ours].unit_cpu_ns)
    mine = [sum(timings[ours].unit_cpu_ns[r][start : start + count]) for r in range(rounds)]
    theirs = [sum(timings[other].unit_cpu_ns[r][start : start + count]) for r in range(rounds)]
    paired = median([a / b for a, b in zip(mine, theirs, strict=True)])
    return median(mine) / count, median(theirs) / count, paired


def ratio(timings: Mapping[str, Timing], ours: Sequence[str], other: Sequence[str]) -> float:
    """The median over rounds of (CPU of the ``ours`` sides) / (CPU of the ``other`` sides) in that round."""
    rounds = len(timings[ours[0]].cpu_ns)
    per_round = [
        sum(timings[name].cpu_ns[index] for name in ours) / sum(timings[name].cpu_ns[index] for name in other)
        for index in range(rounds)
    ]
    return median(per_round)


def pooled(timings: Mapping[str, Timing], names: Sequence[str]) -> float:
    """Median over rounds of the CPU of ``names`` together (each side's CPU per pass, summed per round)."""
    rounds = min(len(timings[name].cpu_ns) for name in names)
    return median([sum(timings[name].cpu_ns[index] for name in names) for index in range(rounds)])


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
    paired: float | None = None
    """The ratio as measured (the median of per-round ratios), when the sides were timed interleaved."""

    @property
    def ratio(self) -> float | None:
        """This project's value over the compared value (the paired ratio when there is one)."""
        if self.paired is not None:
            return self.paired
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
    results: dict[str, float] = field(default_factory=dict)
    """The headline figures (benchmarks/results.json), by key."""
    timings: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds each part took."""

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
