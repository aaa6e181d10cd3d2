"""Metric names and the Powertools Metrics objects both paths use (no pydantic).

Namespace: ``POWERTOOLS_METRICS_NAMESPACE`` (template Globals). Every metric carries the
``vendor`` dimension; ``DeliveriesRejected`` and ``EventsQuarantinedByReason`` add
``reason``, ``NewShapes`` adds ``source_type``. The consumer adds its counts up and writes
them once per invocation.

What Lambda already counts is not counted again: deliveries received are the ingest
function's ``Invocations`` (AWS/Lambda, free), so a plain accepted delivery writes no metric
line at all, and the ingest functions emit only what went otherwise (a refusal, a ping, a
failure) and, with an execution environment's first invocation, its ``ColdStart``.
"""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.constants import MAX_METRICS
from botocore.exceptions import ClientError

from webhook_intake.clients import error_code
from webhook_intake.secrets import SecretValueError

if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence
    from types import TracebackType

    from webhook_intake.secrets import SecretStore


class Metric(StrEnum):
    """Every metric the functions emit (the dashboard and alarms in template.yaml use these names)."""

    # ingest (deliveries received: the function's AWS/Lambda Invocations)
    AUTH_FAILURES = "AuthFailures"
    REJECTED = "DeliveriesRejected"
    ENQUEUE_FAILURES = "EnqueueFailures"
    EVENTS_REFUSED = "EventsRefused"
    """Events of an accepted delivery answered as failures (quarantined by the consumer)."""
    PINGS = "Pings"
    SECRET_PROBLEMS = "SecretProblems"  # noqa: S105 (a metric name)
    # consumer
    STORED = "EventsStored"
    DUPLICATES = "DuplicateEvents"
    QUARANTINED = "EventsQuarantined"
    QUARANTINED_BY_REASON = "EventsQuarantinedByReason"
    CONFLICTS = "ConflictingDuplicates"
    WRITE_UNITS = "WriteUnits"
    WRITE_UNITS_PER_EVENT = "WriteUnitsPerEvent"
    """An invocation's write units over its events (the dashboard prices it per million events)."""
    ATTRIBUTE_PROBLEMS = "AttributeProblems"
    RECORDS_RETRIED = "RecordsRetried"
    """Records that failed for a dependency's reason and go back to the queue (or to the DLQ)."""
    NEW_SHAPES = "NewShapes"
    END_TO_END_LAG = "EndToEndLag"
    INGEST_TO_STORE_LAG = "IngestToStoreLag"
    ACCESS_TOKENS_ISSUED = "AccessTokensIssued"
    """OpenWeb's token route: how often OpenWeb re-authenticates (a jump follows 401s on deliveries)."""
    # every function
    COLD_STARTS = "ColdStart"
    """Execution environments started (Powertools' name for it): :func:`count_cold_start`."""


# An invocation that counted nothing (the usual accepted delivery) flushes nothing; Powertools
# would warn about it once per execution environment.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def vendor_metrics(vendor: str) -> Metrics:
    """The function's metrics, every one dimensioned by ``vendor``.

    A provider of its own: plain ``Metrics()`` objects share one class-level metric set, so
    two vendors' functions in one process (the local stack, the tests) would mix dimensions.
    """
    return Metrics(provider=AmazonCloudWatchEMFProvider(default_dimensions={"vendor": vendor}))


def count(metrics: Metrics, metric: Metric, value: float = 1) -> None:
    """Add to a per-vendor counter, flushed with the invocation."""
    metrics.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)


def count_cold_start(metrics: Metrics) -> None:
    """One more execution environment, counted as its handler is built and written with its first
    invocation's metrics: a warm invocation does nothing for it (Powertools' ``capture_cold_start_metric``
    tests a flag on every one). Lambda's REPORT line says the same, but ``PlatformLogLevel=WARN`` drops it."""
    count(metrics, Metric.COLD_STARTS)


def secret_misconfigured(metrics: Metrics, logger: Logger, vendor: str, problems: list[str]) -> None:
    """A secret Secrets Manager gives that cannot work: counted in ``SecretProblems`` (its alarm) and logged,
    naming what is wrong, never a value (the ingest functions and the token route alike)."""
    count(metrics, Metric.SECRET_PROBLEMS, len(problems))
    logger.error("secret misconfigured", extra={"vendor": vendor, "problems": problems})


def secret_or_kept(secrets: SecretStore, metrics: Metrics, logger: Logger, vendor: str) -> tuple[dict[str, Any], bool]:
    """The vendor's secret; when Secrets Manager holds a value that is no JSON object, the copy read before,
    which keeps authenticating as through an outage (Viafoura engagement never sends an event again), the
    value reported as a secret problem. With it, whether the value was reported. Raises
    :class:`SecretValueError` when there is no such copy, and ``SecretUnavailableError`` when Secrets Manager
    cannot be read and there is none."""
    try:
        return secrets.get(), False
    except SecretValueError as exc:
        if exc.kept is None:
            raise
        secret_misconfigured(metrics, logger, vendor, [str(exc)])
        return exc.kept, True


def refreshed(secrets: SecretStore, reported: bool) -> dict[str, Any] | None:
    """``secrets.refresh()``; a :class:`SecretValueError` it raises is marked ``reported`` when the value was
    reported already in this request (``secret_or_kept``'s flag)."""
    try:
        return secrets.refresh()
    except SecretValueError as exc:
        exc.reported = exc.reported or reported
        raise


class SecretRules(Protocol):
    """What a vendor's contract says of its secret (``webhook_intake.ingest.contract.Contract``)."""

    @property
    def vendor(self) -> str: ...

    def secret_problems(self, secret: dict[str, Any]) -> list[str]: ...

    def secret_advice(self, secret: dict[str, Any]) -> list[str]: ...


@dataclass
class SecretCheck:
    """Reports a secret that cannot work, once per copy read from Secrets Manager (never its values), and
    once for a delivery that read it twice (the cached copy, then a forced read of the same value).

    Every function that loads a vendor's secret checks each copy with it: the ingest functions, and
    OpenWeb's token route, which in client_secret_jwt mode is the only one OpenWeb reaches while its
    OAuth client cannot work.
    """

    rules: SecretRules
    metrics: Metrics
    logger: Logger
    _checked: dict[str, Any] | None = field(default=None, init=False, repr=False)
    """The copy last checked, held so that no other copy can be mistaken for it."""

    def __call__(self, secret: dict[str, Any]) -> bool:
        """Whether ``secret`` is a copy not checked before (and so checked now)."""
        if secret is self._checked:
            return False
        self._checked = secret
        problems = self.rules.secret_problems(secret)
        if problems:
            secret_misconfigured(self.metrics, self.logger, self.rules.vendor, problems)
        advice = self.rules.secret_advice(secret)
        if advice:
            self.logger.warning("secret unusual", extra={"vendor": self.rules.vendor, "advice": advice})
        return True

    def adopt(self, secret: dict[str, Any]) -> None:
        """Take ``secret`` as checked without a report: a copy equal to one just reported, which the cache
        now holds in its place (one delivery that read the secret twice says its problems once)."""
        self._checked = secret


def samples(metrics: Metrics, metric: Metric, unit: MetricUnit, values: Sequence[float]) -> None:
    """Many samples of one metric (one per event), flushed with the invocation: printed as ``add_metric``
    would print them one at a time.

    Each ``add_metric`` formats the metric's whole list of values into a debug message, even with
    debug off: a sample an event would cost as much again per event as a batch holds events. So the
    first of each run of samples goes through ``add_metric`` (its checks, its unit), the others join
    its list directly, up to one short of the 100 values a record may hold: the sample that fills
    it goes through ``add_metric``, which prints the record and starts the next, as it would have.
    """
    provider = metrics.provider
    name = metric.value
    at = 0
    while at < len(values):
        metrics.add_metric(name=name, unit=unit, value=values[at])
        at += 1
        entry = provider.metric_set.get(name) if isinstance(provider, AmazonCloudWatchEMFProvider) else None
        if entry is not None:
            joining = values[at : at + max(0, MAX_METRICS - 1 - len(entry["Value"]))]
            entry["Value"].extend(float(value) for value in joining)
            at += len(joining)


def count_by(metrics: Metrics, metric: Metric, dimension: str, label: str, value: float = 1) -> None:
    """A counter with one more dimension than the function's (written at once, as its own EMF record).

    Its namespace and dimensions (``service``, ``vendor``) are the function's ``metrics``', as read
    when the function started: the same as every other metric of the function, whatever the
    environment holds at the time of the call.
    """
    provider = metrics.provider
    dimensions = dict(provider.default_dimensions)
    if provider.service:
        dimensions["service"] = str(provider.service)
    with single_metric(
        name=metric.value,
        unit=MetricUnit.Count,
        value=value,
        namespace=provider.namespace,
        default_dimensions=dimensions,
    ) as one:
        one.add_dimension(name=dimension, value=label)


class QuotingOwnFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, whose tracebacks quote only this package's own exception messages.

    Each exception of a chain (and of a group) keeps its frames and its type; an AWS error its
    code and operation. Their messages, notes and Powertools' ``stack_trace`` copy of them are
    left out: an AWS message or a library's error can quote the request or the data it refused
    (a comment, an e-mail address), and a failure's line must never hold them.
    """

    def __init__(self) -> None:
        super().__init__(serialize_stacktrace=False)

    def _extract_log_exception(self, log_record: logging.LogRecord) -> Any:
        text, name, notes = super()._extract_log_exception(log_record)
        exc = log_record.exc_info[1] if isinstance(log_record.exc_info, tuple) else None
        return text, name, notes if exc is not None and _own(type(exc)) else None

    def formatException(
        self, ei: tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
    ) -> str:
        """The traceback of every exception in the chain, each said as :func:`said` says it."""
        return "".join(_chain_lines(ei[1], depth=0)).rstrip("\n") if ei[1] is not None else ""


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
_GROUP_DEPTH = 3
_GROUP_MEMBERS = 16


def _chain_lines(exc: BaseException | None, depth: int) -> list[str]:
    """``exc`` and what it was raised from or in handling, oldest first, as a traceback prints them."""
    chain: list[BaseException] = []
    while exc is not None and all(exc is not seen for seen in chain):
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    lines: list[str] = []
    for link in reversed(chain):
        if lines:  # what was printed just before is this one's cause, or what it was raised in handling
            lines.append(_CAUSE if link.__cause__ is not None else _CONTEXT)
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_list(traceback.extract_tb(link.__traceback__)))
        lines.append(said(link) + "\n")
        members = getattr(link, "exceptions", None)
        if isinstance(link, BaseExceptionGroup) and isinstance(members, tuple) and depth < _GROUP_DEPTH:
            for number, member in enumerate(members[:_GROUP_MEMBERS], 1):
                lines.append(f"+-- {number} of {len(members)} in the group:\n")
                lines.extend(f"    {line}" for line in "".join(_chain_lines(member, depth + 1)).splitlines(True))
    return lines


def _own(kind: type[BaseException]) -> bool:
    """One of this package's exceptions, whose messages hold codes and rules, never data."""
    module = getattr(kind, "__module__", None)
    return isinstance(module, str) and module.startswith("webhook_intake.")


def said(exc: BaseException) -> str:
    """An exception as a log may say it: this package's own with its message, any other by its type.

    Never raises: an exception whose attributes fail to read is said by its type's name alone.
    """
    kind = type(exc)
    name = getattr(kind, "__qualname__", "an exception")
    try:
        module = kind.__module__
        if isinstance(module, str) and module != "builtins":
            name = f"{module}.{name}"
        if _own(kind):
            return f"{name}: {exc}"
        if isinstance(exc, ClientError):
            return f"{name}: {error_code(exc)} ({exc.operation_name})"
    except Exception:
        return f"{name} (unreadable)"
    return f"{name} (its message is left out of the logs)"


def function_logger() -> Logger:
    """A function's Powertools logger, its tracebacks free of data (:class:`QuotingOwnFormatter`)."""
    return Logger(logger_formatter=QuotingOwnFormatter())


def name_vendor(logger: Logger, vendor_key: str) -> None:
    """Every line the invocation logs names its vendor (``vendor``, as the README's Logs Insights query reads it).

    The key is the invocation's thread's, not the formatter's: the local stack runs several vendors' functions at
    once in one process, where they share one formatter, and the last one set would name every line. Called at the
    start of each invocation: there, one thread may run several vendors' invocations in turn."""
    logger.thread_safe_append_keys(vendor=vendor_key)
