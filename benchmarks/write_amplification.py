"""Measure 4: DynamoDB write requests (and write units) per new event and per duplicate.

Both designs run on moto (real conditional semantics) over the same deliveries: every
sample of every vendor as single-event deliveries, then Viafoura batches of 10 events. Each
delivery goes through twice; the second pass is all duplicates. Requests are counted per
operation name through botocore's event hooks on the client the consumer writes with, so the
count stays right whichever API the repository uses (PutItem, TransactWriteItems...).
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws

from benchmarks import workload
from benchmarks.harness import REGION, Report, Row, consumer_environment, environment, lambda_context, quiet_stdout
from benchmarks.usual_design import IDEMPOTENCY_KEY, build_usual_handler
from intake_cli.provision import provision
from intake_cli.samples import sample_files
from intake_cli.template import SamTemplate
from webhook_intake.clients import reset
from webhook_intake.consumer.lambda_handler import build_handler
from webhook_intake.consumer.settings import ConsumerSettings
from webhook_intake.repository import EventRepository

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    Write = tuple[str, dict[str, Any], dict[str, Any] | None, bool]

NAME = "write_amplification"
REQUIRES: tuple[str, ...] = ()
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
TRACING_OFF = {"POWERTOOLS_TRACE_DISABLED": "true"}
IDEMPOTENCY_TABLE = "bench-idempotency"
ESM_BATCH_SIZE = 10


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    return (len(digits) + 1) // 2 + 1


_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda data: len(str(data).encode("utf-8")),
    "N": lambda data: _number_size(str(data)),
    "B": len,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "SS": lambda data: sum(len(str(member).encode("utf-8")) for member in data),
    "NS": lambda data: sum(_number_size(str(member)) for member in data),
    "BS": lambda data: sum(len(member) for member in data),
    "M": lambda data: 3 + sum(len(name.encode("utf-8")) + attribute_size(member) + 1 for name, member in data.items()),
    "L": lambda data: 3 + sum(attribute_size(member) + 1 for member in data),
}


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one typed attribute value, by DynamoDB's item-size rules (numbers approximated)."""
    ((kind, data),) = value.items()
    return _SIZES[kind](data)


def item_size(item: dict[str, Any]) -> int:
    """Bytes of a typed item: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def _units(size: int) -> int:
    """Write request units for an item of ``size`` bytes (1 KB each, at least one)."""
    return max(1, math.ceil(size / 1024))


@dataclass
class Tally:
    """What one pass cost: requests by operation, write units, deliveries and events."""

    requests: Counter[str] = field(default_factory=Counter)
    units: float = 0.0
    deliveries: int = 0
    events: int = 0
    failures: int = 0

    @property
    def writes(self) -> int:
        """Write requests."""
        return sum(count for operation, count in self.requests.items() if operation in WRITE_OPERATIONS)


class WriteMeter:
    """Counts the requests a client makes, and prices each write in request units, as they happen.

    A write's units come from the item it leaves (read back with another client): 1 per KB,
    twice that inside a transaction, plus the propagation to each global secondary index the
    item lands in. A failed condition costs the size of the item that is already there and
    reaches no index.
    """

    def __init__(self, counted: Any, inspector: Any, tally: Tally) -> None:
        self.tally = tally
        self._counted = counted
        self._inspector = inspector
        self._tables: dict[str, dict[str, Any]] = {}
        counted.meta.events.register("provide-client-params.dynamodb", self._remember)
        counted.meta.events.register("after-call.dynamodb", self._count)

    def detach(self) -> None:
        """Stop counting."""
        self._counted.meta.events.unregister("provide-client-params.dynamodb", self._remember)
        self._counted.meta.events.unregister("after-call.dynamodb", self._count)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def _count(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        self.tally.requests[operation] += 1
        if operation not in WRITE_OPERATIONS:
            return
        succeeded = "Error" not in parsed
        for table, key, written, transactional in self._writes(operation, context.get("bench_params", {})):
            stored = self._inspector.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            size = max(item_size(written or {}), item_size(stored or {}))
            self.tally.units += _units(size) * (2 if transactional else 1)
            if succeeded and stored:
                self.tally.units += self._index_units(table, stored)

    def _writes(self, operation: str, params: dict[str, Any]) -> Iterator[Write]:
        """(table, key, item written or None, transactional) for every item a write request touches."""
        if operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                for kind, request in action.items():
                    if kind != "ConditionCheck":
                        yield self._write(kind, request["TableName"], request, transactional=True)
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    for kind, inner in request.items():
                        yield self._write(kind.removesuffix("Request"), table, inner, transactional=False)
        else:
            yield self._write(operation.removesuffix("Item"), params["TableName"], params, transactional=False)

    def _write(self, kind: str, table: str, request: dict[str, Any], *, transactional: bool) -> Write:
        if kind == "Put":
            return table, self._key(table, request["Item"]), request["Item"], transactional
        return table, request["Key"], None, transactional

    def _table(self, name: str) -> dict[str, Any]:
        if name not in self._tables:
            self._tables[name] = self._inspector.describe_table(TableName=name)["Table"]
        return self._tables[name]

    def _key(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {part["AttributeName"]: item[part["AttributeName"]] for part in self._table(table)["KeySchema"]}

    def _index_units(self, table: str, item: dict[str, Any]) -> int:
        description = self._table(table)
        table_keys = [part["AttributeName"] for part in description["KeySchema"]]
        units = 0
        for index in description.get("GlobalSecondaryIndexes", []):
            index_keys = [part["AttributeName"] for part in index["KeySchema"]]
            if not all(name in item for name in index_keys):
                continue
            projection = index.get("Projection", {})
            if projection.get("ProjectionType") == "ALL":
                projected = item
            else:
                names = {*table_keys, *index_keys, *projection.get("NonKeyAttributes", [])}
                projected = {name: value for name, value in item.items() if name in names}
            units += _units(item_size(projected))
        return units


def single_event_deliveries() -> dict[str, list[tuple[bytes, str]]]:
    """Every sample of every vendor, one event per delivery (Viafoura's batches split up)."""
    deliveries: dict[str, list[tuple[bytes, str]]] = {}
    for key in workload.vendor_keys():
        if key == workload.VIAFOURA:
            deliveries[key] = [(body, "") for body in workload.viafoura_deliveries(len(workload.viafoura_events()), 1)]
        else:
            deliveries[key] = [(path.read_bytes(), path.stem) for path in sample_files(key)]
    return deliveries


def _events_in(vendor_key: str, body: bytes) -> int:
    document = json.loads(body)
    if vendor_key == workload.VIAFOURA:
        return len(document["events"])
    if vendor_key == "viafoura-notifications":
        return len(document["notifications"])
    return 1


def _ours(vendor_key: str, table: str, dynamodb: Any) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    settings = ConsumerSettings.from_env({"VENDOR": vendor_key, "TABLE_NAME": table})
    return build_handler(settings, repository=EventRepository(table, dynamodb_client=dynamodb))


def _usual(vendor_key: str, table: str, dynamodb: Any) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return build_usual_handler(vendor_key, table, IDEMPOTENCY_TABLE, dynamodb)


def measure(
    design: Callable[[str, str, Any], Any], deliveries: dict[str, list[tuple[bytes, str]]]
) -> tuple[Tally, Tally]:
    """The new pass and the duplicate pass of ``deliveries`` through ``design``, on a fresh moto."""
    reset()
    passes = (Tally(), Tally())
    with mock_aws(), quiet_stdout(), warnings.catch_warnings():
        # A pass of duplicates stores nothing, and Powertools says so for every batch.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        session = boto3.session.Session(region_name=REGION)
        stack = provision(SamTemplate(), session, "bench", workload.secrets())
        table = stack.tables["EventsTable"]
        session.client("dynamodb").create_table(
            TableName=IDEMPOTENCY_TABLE,
            KeySchema=[{"AttributeName": IDEMPOTENCY_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": IDEMPOTENCY_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        counted, inspector = session.client("dynamodb"), session.client("dynamodb")
        for tally in passes:
            meter = WriteMeter(counted, inspector, tally)
            for vendor_key, bodies in deliveries.items():
                with environment({**consumer_environment(vendor_key), "TABLE_NAME": table, **TRACING_OFF}):
                    handler = design(vendor_key, table, counted)
                    context = lambda_context(f"bench-consumer-{vendor_key}", 512)
                    messages = [workload.queue_message(vendor_key, body, sample) for body, sample in bodies]
                    for start in range(0, len(messages), ESM_BATCH_SIZE):
                        response = handler(workload.sqs_batch(messages[start : start + ESM_BATCH_SIZE]), context)
                        tally.failures += len(response.get("batchItemFailures", []))
                tally.deliveries += len(bodies)
                tally.events += sum(_events_in(vendor_key, body) for body, _ in bodies)
            meter.detach()
    return passes


def _breakdown(tally: Tally) -> str:
    return ", ".join(f"{operation} {count}" for operation, count in sorted(tally.requests.items()))


def run(report: Report) -> None:
    """Run both designs over both workloads and add the rows."""
    part = "4 write amplification"
    scenarios = {
        "single-event deliveries": single_event_deliveries(),
        "Viafoura batches of 10": {workload.VIAFOURA: [(body, "") for body in workload.viafoura_deliveries(4, 10)]},
    }
    facts: dict[str, Any] = {}
    for scenario, deliveries in scenarios.items():
        ours_new, ours_dup = measure(_ours, deliveries)
        usual_new, usual_dup = measure(_usual, deliveries)
        for tally in (ours_new, ours_dup, usual_new, usual_dup):
            if tally.failures:
                report.notes.append(f"write amplification: {tally.failures} record(s) failed in {scenario}")
        if scenario == "single-event deliveries":
            n = ours_new.events
            for label, ours, usual in (("new", ours_new, usual_new), ("duplicate", ours_dup, usual_dup)):
                row = Row(part, f"write requests per {label} event ({n} single-event deliveries)",
                          ours.writes / ours.events, "count", usual.writes / usual.events, "usual design")  # fmt: skip
                row.goal, row.met = "= 1", ours.writes == ours.events
                report.add(row)
            report.add(Row(part, "write units (WRU, with GSIs) per new event", ours_new.units / ours_new.events,
                           "count", usual_new.units / usual_new.events, "usual design"))  # fmt: skip
        else:
            for label, ours, usual in (("new", ours_new, usual_new), ("duplicate", ours_dup, usual_dup)):
                report.add(Row(part, f"write requests per {label} 10-event delivery",
                               ours.writes / ours.deliveries, "count", usual.writes / usual.deliveries,
                               "usual design"))  # fmt: skip
        facts[scenario] = {
            name: {
                "deliveries": tally.deliveries,
                "events": tally.events,
                "writes": tally.writes,
                "units": tally.units,
                "requests": dict(tally.requests),
            }
            for name, tally in (
                ("ours_new", ours_new),
                ("ours_duplicate", ours_dup),
                ("usual_new", usual_new),
                ("usual_duplicate", usual_dup),
            )
        }
        report.notes.append(
            f"write amplification, {scenario}: this project new [{_breakdown(ours_new)}], duplicate"
            f" [{_breakdown(ours_dup)}]; usual design new [{_breakdown(usual_new)}],"
            f" duplicate [{_breakdown(usual_dup)}]"
        )
    report.facts[NAME] = facts
