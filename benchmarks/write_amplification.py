"""Measure 4: DynamoDB write units per new event and per duplicate, feed pages and index writes included.

An event's write units are its item's (1 per started KB), its by-content index entry's when
it changes a comment's state, and its share of the feed pages: the consumer collects the feed
entries of the events one invocation stored and writes them as one or a few page items
(``pk`` ``feed#<day>#<shard>``) after the batch. The page share depends on how many events an
invocation stores, so the headline figures are metered, not priced event by event.

The headline figures, on moto (real conditional semantics, tables provisioned from
template.yaml): the consumer handler, as app.py builds it, consumes the deliveries in
invocations of the template's ConsumerBatchSize records, twice (the second pass all
duplicates). Requests are counted per operation through botocore's hooks on the client the
consumer writes with, and each write is priced, independently of the project's own estimate,
from the item it leaves (read back with another client) and the index definitions the table
was created with; a write whose ``pk`` starts with ``feed#`` is a feed page, counted with its
bytes. Two workloads: every event of every sample in events/ (every vendor, the vendors'
documented examples included) as single-event deliveries, and Viafoura engagement deliveries
of 10 events, one full invocation of them. The same writes are priced again by the project's
rules (``store.wire``, ``index_entry_sizes``); a note says where the two disagree. The usual
design (benchmarks/usual_design.py) runs over the same deliveries, priced the same way
(transaction items count twice, as DynamoDB bills them).

A breakdown: every sample event made into its item by ``webhook_intake.store.items.prepare``
and priced by ``Prepared.write_units()`` (the item and its index entry, by DynamoDB's rules;
the feed page share is not in it). A duplicate fails its condition: it costs the units of the
larger of the new and the stored item (here the same item), writes no index entry and owes no
feed entry; ``ReturnValuesOnConditionCheckFailure`` consumes no read units.
"""

from __future__ import annotations

import json
import math
import statistics
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws

from benchmarks import workload
from benchmarks.harness import (
    PAYLOAD_BUCKET,
    REGION,
    Report,
    Row,
    consumer_environment,
    environment,
    lambda_context,
    quiet_stdout,
    template_defaults,
)
from benchmarks.usual_design import IDEMPOTENCY_KEY, build_usual_handler
from intake_cli.provision import provision
from intake_cli.template import SamTemplate
from webhook_intake.clients import client, reset
from webhook_intake.consumer.lambda_handler import build_handler
from webhook_intake.consumer.settings import ConsumerSettings
from webhook_intake.delivery import Delivery
from webhook_intake.registry import vendor
from webhook_intake.store.items import index_entry_sizes, prepare
from webhook_intake.store.schema import FEED_PREFIX
from webhook_intake.store.table import CONSUMER_CONFIG
from webhook_intake.store.wire import decode_item, write_units
from webhook_intake.store.wire import item_size as wire_item_size

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from webhook_intake.consumer.models import NormalizedEvent

    Write = tuple[str, dict[str, Any], dict[str, Any] | None, bool]

NAME = "write_amplification"
PART = "4 write units"
REQUIRES: tuple[str, ...] = ()
NEW_GOAL = 2.5
DUPLICATE_GOAL = 1.5
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
TRACING_OFF = {"POWERTOOLS_TRACE_DISABLED": "true"}
IDEMPOTENCY_TABLE = "bench-idempotency"
RECORDS_PER_INVOCATION = int(template_defaults()["ConsumerBatchSize"])
"""Records (deliveries) the handler is given per invocation, as the event source mapping does."""
BATCH_DELIVERIES = RECORDS_PER_INVOCATION
"""Viafoura deliveries of the batched workload: one full invocation."""
EVENTS_PER_DELIVERY = 10
FASTCOMMENTS = "fastcomments"
SINGLE_SCENARIO = "single-event deliveries"
BATCHED_SCENARIO = f"Viafoura batches of {EVENTS_PER_DELIVERY}"


@dataclass
class Priced:
    """Write units of a set of events, by ``Prepared.write_units()``: each event's item and its index entry.

    The event's share of the invocation's feed page writes is not in these (the moto run meters it).
    """

    new: list[int] = field(default_factory=list)
    duplicate: list[int] = field(default_factory=list)
    item_bytes: list[int] = field(default_factory=list)
    index_units: list[int] = field(default_factory=list)
    offloads: int = 0

    def add(self, event: NormalizedEvent) -> None:
        """Price one event's first write and a duplicate of it."""
        prepared = prepare(event, int(template_defaults()["RetentionDays"]), bucket=PAYLOAD_BUCKET)
        self.new.append(prepared.write_units())
        # A duplicate's failed condition: the larger of the new and the stored item, the same item here.
        self.duplicate.append(write_units(prepared.size))
        self.item_bytes.append(prepared.size)
        self.index_units.append(sum(write_units(size) for size in index_entry_sizes(prepared.item).values()))
        self.offloads += len(prepared.offloads)

    def summary(self) -> dict[str, float]:
        """Means and counts, for the facts."""
        return {
            "events": len(self.new),
            "wru_per_new_event": statistics.fmean(self.new),
            "wru_per_duplicate": statistics.fmean(self.duplicate),
            "index_wru_per_event": statistics.fmean(self.index_units),
            "item_bytes_median": statistics.median(self.item_bytes),
            "item_bytes_max": max(self.item_bytes),
            "items_over_1kb": sum(1 for size in self.item_bytes if size > 1024),
            "s3_offloads": self.offloads,
        }


def batch_events() -> list[NormalizedEvent]:
    """The events of Viafoura engagement deliveries of 10 events, as the consumer normalizes them."""
    normalizer = vendor(workload.VIAFOURA).normalizer()
    events: list[NormalizedEvent] = []
    for body in workload.viafoura_deliveries(BATCH_DELIVERIES, EVENTS_PER_DELIVERY):
        message = workload.queue_message(workload.VIAFOURA, body)
        delivery = Delivery.from_message_attributes(message["MessageAttributes"], vendor=workload.VIAFOURA)
        events.extend(normalizer.normalize(body.decode("utf-8"), delivery).events)
    return events


# ---------------------------------------------------------------- the moto cross-check


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
    rule_units: float = 0.0
    """The same writes priced by the project's own rules (``store.wire``, ``index_entry_sizes``)."""
    deliveries: int = 0
    events: int = 0
    failures: int = 0
    invocations: int = 0
    page_puts: int = 0
    """Feed pages written (a written item whose ``pk`` starts with ``feed#``)."""
    page_bytes: int = 0
    """Their bytes, by DynamoDB's item-size rules."""
    page_units: float = 0.0
    """Their write units (in ``units`` too)."""

    @property
    def writes(self) -> int:
        """Write requests."""
        return sum(count for operation, count in self.requests.items() if operation in WRITE_OPERATIONS)

    def per_event(self, amount: float) -> float:
        """``amount`` over the events of the pass (0 when there were none)."""
        return amount / self.events if self.events else 0.0


class WriteMeter:
    """Counts the requests a client makes, and prices each write in request units, as they happen.

    A write's units come from the item it leaves (read back with another client): 1 per KB,
    twice that inside a transaction, plus the propagation to each global secondary index the
    item lands in (by the table's own index definitions). A failed condition costs the size
    of the larger of the new and the stored item and reaches no index. A written feed page is
    counted apart too, with its bytes.
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
            units = _units(size) * (2 if transactional else 1)
            if succeeded and stored:
                units += self._index_units(table, stored) * (2 if transactional else 1)
            self.tally.units += units
            if succeeded and written and _is_page(written):
                self.tally.page_puts += 1
                self.tally.page_bytes += item_size(written)
                self.tally.page_units += units
            self.tally.rule_units += _rule_units(written, stored, succeeded=succeeded) * (2 if transactional else 1)

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


def _is_page(item: dict[str, Any]) -> bool:
    """Whether a typed item is a feed page."""
    return str(item.get("pk", {}).get("S", "")).startswith(FEED_PREFIX)


def _rule_units(written: dict[str, Any] | None, stored: dict[str, Any] | None, *, succeeded: bool) -> int:
    """A write priced by the project's own rules: the item, and its index entries when it was written."""
    sizes = [wire_item_size(decode_item(item)) for item in (written, stored) if item]
    units = write_units(max(sizes, default=0))
    if succeeded and stored:
        units += sum(write_units(size) for size in index_entry_sizes(decode_item(stored)).values())
    return units


def _events_in(vendor_key: str, body: bytes) -> int:
    field_name = vendor(vendor_key).batch_field
    return len(json.loads(body)[field_name]) if field_name else 1


def _ours(vendor_key: str, table: str, _dynamodb: Any) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    # The handler as app.py builds it: its stores write with the process-wide client, the one metered.
    settings = ConsumerSettings.from_env({"VENDOR": vendor_key, "TABLE_NAME": table})
    return build_handler(settings)


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
        with environment({**consumer_environment(workload.VIAFOURA), "TABLE_NAME": table, **TRACING_OFF}):
            counted = client("dynamodb", CONSUMER_CONFIG)
        inspector = session.client("dynamodb")
        for tally in passes:
            meter = WriteMeter(counted, inspector, tally)
            for vendor_key, bodies in deliveries.items():
                with environment({**consumer_environment(vendor_key), "TABLE_NAME": table, **TRACING_OFF}):
                    handler = design(vendor_key, table, counted)
                    context = lambda_context(f"bench-consumer-{vendor_key}", 512)
                    messages = [workload.queue_message(vendor_key, body, sample) for body, sample in bodies]
                    for start in range(0, len(messages), RECORDS_PER_INVOCATION):
                        batch = messages[start : start + RECORDS_PER_INVOCATION]
                        response = handler(workload.sqs_batch(batch), context)
                        tally.failures += len(response.get("batchItemFailures", []))
                        tally.invocations += 1
                tally.deliveries += len(bodies)
                tally.events += sum(_events_in(vendor_key, body) for body, _ in bodies)
            meter.detach()
    return passes


def _breakdown(tally: Tally) -> str:
    return ", ".join(f"{operation} {count}" for operation, count in sorted(tally.requests.items()))


def _moto_facts(tallies: dict[str, Tally]) -> dict[str, Any]:
    return {
        name: {
            "deliveries": tally.deliveries,
            "events": tally.events,
            "writes": tally.writes,
            "units": tally.units,
            "rule_units": tally.rule_units,
            "requests": dict(tally.requests),
            "invocations": tally.invocations,
            "feed_page_puts": tally.page_puts,
            "feed_page_bytes": tally.page_bytes,
            "feed_page_units": tally.page_units,
        }
        for name, tally in tallies.items()
    }


def run(report: Report) -> None:
    """Meter both workloads on moto (the headline figures), price every sample event, and add the rows."""
    facts = _on_moto(report)
    facts.update(_priced(report))
    report.facts[NAME] = facts


def _priced(report: Report) -> dict[str, Any]:
    """The breakdown: each event's item and its index entry, by ``Prepared.write_units()`` (no page share)."""
    samples, by_vendor = Priced(), {}
    for vendor_key, events in workload.sample_events().items():
        by_vendor[vendor_key] = Priced()
        for event in events:
            samples.add(event)
            by_vendor[vendor_key].add(event)
    batched = Priced()
    for event in batch_events():
        batched.add(event)
    total = samples.summary()
    what = "item + index entry only, feed page share excluded"
    report.add(Row(PART, f"{what}: WRU per new event, every sample event ({len(samples.new)}, all vendors)",
                   total["wru_per_new_event"], "WRU"))  # fmt: skip
    report.add(Row(PART, "item only (failed condition, no index or feed entry): WRU per duplicate",
                   total["wru_per_duplicate"], "WRU"))  # fmt: skip
    for vendor_key, priced in by_vendor.items():
        report.add(Row(PART, f"{what}: WRU per new event, {vendor_key} ({len(priced.new)} events)",
                       statistics.fmean(priced.new), "WRU"))  # fmt: skip
    report.add(Row(PART, f"{what}: WRU per new event, Viafoura deliveries of {EVENTS_PER_DELIVERY}"
                   f" ({len(batched.new)} events)", statistics.fmean(batched.new), "WRU"))  # fmt: skip
    return {
        "samples": total,
        "by_vendor": {key: priced.summary() for key, priced in by_vendor.items()},
        "viafoura_batched": batched.summary(),
    }


def _on_moto(report: Report) -> dict[str, Any]:
    """The metered figures, feed pages included: the headline results and their goals."""
    scenarios = {
        SINGLE_SCENARIO: workload.single_event_deliveries(),
        BATCHED_SCENARIO: {
            workload.VIAFOURA: [
                (body, "") for body in workload.viafoura_deliveries(BATCH_DELIVERIES, EVENTS_PER_DELIVERY)
            ]
        },
    }
    goals = {"new": NEW_GOAL, "duplicate": DUPLICATE_GOAL}
    facts: dict[str, Any] = {}
    for scenario, deliveries in scenarios.items():
        ours_new, ours_dup = measure(_ours, deliveries)
        usual_new, usual_dup = measure(_usual, deliveries)
        # Ingest's own write: a signed FastComments delivery binds its signature to its route in the replay
        # table (an item under 1 KB: one WRU, taken or, for a copy, refused on its condition).
        replay_units = len(deliveries.get(FASTCOMMENTS, []))
        tallies = {"ours_new": ours_new, "ours_duplicate": ours_dup}
        tallies.update({"usual_new": usual_new, "usual_duplicate": usual_dup})
        for name, tally in tallies.items():
            if tally.failures:
                report.notes.append(f"write units, {scenario}: {tally.failures} record(s) failed ({name})")
            if name.startswith("ours") and tally.units != tally.rule_units:
                report.notes.append(
                    f"write units, {scenario} ({name}): the meter prices the writes at {tally.units:g} WRU, the"
                    f" project's rules at {tally.rule_units:g}: the two size rules disagree on some item"
                )
        for label, ours, usual in (("new", ours_new, usual_new), ("duplicate", ours_dup, usual_dup)):
            requests = Row(PART, f"moto, {scenario}: write requests per {label} event ({ours.events} events)",
                           ours.per_event(ours.writes), "count", usual.per_event(usual.writes),
                           "usual design")  # fmt: skip
            report.add(requests)
            units = ours.per_event(ours.units + replay_units)
            row = Row(PART, f"moto, {scenario}: WRU per {label} event (metered, feed pages and ingest's replay"
                      " writes included)", units, "WRU", usual.per_event(usual.units), "usual design")  # fmt: skip
            if scenario == SINGLE_SCENARIO:
                row.goal, row.met = f"≤ {goals[label]:g}", units <= goals[label]
            report.add(row)
        invocations = f"{ours_new.invocations} invocation{'' if ours_new.invocations == 1 else 's'}"
        report.add(Row(PART, f"moto, {scenario}: feed pages per invocation ({invocations} of up to"
                       f" {RECORDS_PER_INVOCATION} records)",
                       ours_new.page_puts / max(1, ours_new.invocations), "count"))  # fmt: skip
        report.add(Row(PART, f"moto, {scenario}: feed page bytes per new event",
                       ours_new.per_event(ours_new.page_bytes), "B"))  # fmt: skip
        report.add(Row(PART, f"moto, {scenario}: feed page WRU per new event (in the metered WRU)",
                       ours_new.per_event(ours_new.page_units), "WRU"))  # fmt: skip
        facts[f"moto {scenario}"] = {**_moto_facts(tallies), "replay_units_per_pass": replay_units}
        report.notes.append(
            f"write units on moto, {scenario}: this project new [{_breakdown(ours_new)}] in"
            f" {invocations}, {ours_new.page_puts} of the puts feed pages"
            f" ({ours_new.page_bytes:,} B, {ours_new.page_units:g} WRU), duplicate [{_breakdown(ours_dup)}]"
            f" ({ours_dup.page_puts} feed pages); usual design new [{_breakdown(usual_new)}],"
            f" duplicate [{_breakdown(usual_dup)}]"
        )
    single, batched = facts[f"moto {SINGLE_SCENARIO}"], facts[f"moto {BATCHED_SCENARIO}"]

    def per_event(found: dict[str, Any], name: str) -> float:
        return (found[name]["units"] + found["replay_units_per_pass"]) / found[name]["events"]

    report.results["wru_per_new_event"] = per_event(single, "ours_new")
    report.results["wru_per_duplicate"] = per_event(single, "ours_duplicate")
    report.results["wru_per_new_event_viafoura_batched"] = per_event(batched, "ours_new")
    return facts
