"""Measure 3: consumer CPU per event, the real Lambda handler against the floor; its log bytes and memory.

The handler is ``webhook_intake.consumer.lambda_handler.build_handler`` (Powertools batch
processing, normalization, ``prepare``, the conditional write, the invocation's metrics and
outcomes line). The floor is one boto3 ``put_item`` per event of the same item, built in
advance (normalized, prepared and encoded before the clock starts), with the consumer's own
client settings (parameter validation off) and a conditional expression, as the least a
consumer that stores each event once must send. The usual design (Powertools idempotency
around plain writes, benchmarks/usual_design.py) runs in the same loop.

Two workloads, each in batches of 10 records (the template's ConsumerBatchSize): every event
of every sample in events/ as single-event records (each vendor's handler over its own
records), and Viafoura engagement records of 10 events. All AWS calls are answered by the
canned HTTP layer, so this is CPU, not DynamoDB latency.

It runs in a process of its own with Lambda's variables, as a deployed function sees them
(with active tracing: had the consumer a Powertools Tracer, it would be on, as for an unsampled
invocation). Anything that patches botocore process-wide (the X-Ray SDK does) does not reach
the floor: its client calls botocore's own, unpatched methods.

The breakdown says where the time goes, in a run of its own: the handler's write alone
(``EventStore.put`` of the prepared items, its client and request) and all of the handler but
the write (a store that writes nothing), each against the floor; and what the read ahead saves:
the handler against itself with each event mapped and prepared in its turn, between two writes.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tracemalloc
import types
from typing import TYPE_CHECKING, Any

from botocore.client import BaseClient
from botocore.endpoint import Endpoint

from benchmarks import workload
from benchmarks.canned import CannedAWS, answering
from benchmarks.harness import (
    CONSUMER_MEMORY_MB,
    PAYLOAD_BUCKET,
    ROOT,
    TABLE_NAME,
    Report,
    Row,
    Timing,
    alternate,
    child_process_environment,
    consumer_environment,
    emf_metrics,
    environment,
    floor_client,
    lambda_context,
    lambda_variables,
    quiet_stdout,
    ratio,
    runtime_ms,
    sink,
    template_defaults,
    unit_range,
    within,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "consumer"
PART = "3 consumer"
REQUIRES: tuple[str, ...] = ()
GOAL = 1.3
ESM_BATCH = int(template_defaults()["ConsumerBatchSize"])
VIAFOURA_EVENTS_EACH = 10
VIAFOURA_BATCHES = 4
MEMORY_BATCH_BYTES = 1_048_576
IDEMPOTENCY_TABLE = "bench-idempotency"
_NEW_EVENT = "attribute_not_exists(pk)"
# botocore's own methods, before anything patches them: the X-Ray SDK wraps both for every client.
_UNPATCHED_API_CALL = BaseClient._make_api_call
_UNPATCHED_PREPARE_REQUEST = Endpoint.prepare_request


def run(report: Report) -> None:
    """Measure in a child process with Lambda's variables, and add the rows."""
    rounds = 5 if report.quick else 21
    command = [sys.executable, "-m", "benchmarks.consumer", str(rounds)]
    done = subprocess.run(  # noqa: S603  (our own interpreter and module)
        command, cwd=ROOT, env=child_environment(), capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"consumer measurement failed:\n{done.stderr[-3000:]}")
    facts = json.loads(done.stdout.splitlines()[-1])
    _add_rows(report, facts, rounds)


def child_environment() -> dict[str, str]:
    """The measuring process's variables: Lambda's, as a deployed consumer sees them, and the code measured."""
    return child_process_environment(lambda_variables("consumer", CONSUMER_MEMORY_MB))


# ---------------------------------------------------------------- the child process


def _floor_client() -> Any:
    """A DynamoDB client as a function without Powertools would make it, with the consumer's settings."""
    from webhook_intake.store.table import CONSUMER_CONFIG  # noqa: PLC0415  (after the environment is set)

    dynamodb = floor_client("dynamodb", CONSUMER_CONFIG)
    dynamodb._make_api_call = types.MethodType(_UNPATCHED_API_CALL, dynamodb)
    endpoint = dynamodb._endpoint
    endpoint.prepare_request = types.MethodType(_UNPATCHED_PREPARE_REQUEST, endpoint)
    return dynamodb


def _floor(dynamodb: Any, items_per_record: list[list[dict[str, Any]]]) -> Callable[[], object]:
    """One conditional ``put_item`` per event, of items built in advance."""

    def floor() -> None:
        for items in items_per_record:
            for item in items:
                dynamodb.put_item(TableName=TABLE_NAME, Item=item, ConditionExpression=_NEW_EVENT)

    return floor


def _prepared(vendor_key: str, messages: list[dict[str, Any]]) -> list[list[tuple[Any, bytes]]]:
    """Each record's events made storable as the handler will make them: (``Prepared``, raw bytes)."""
    from webhook_intake.delivery import Delivery  # noqa: PLC0415
    from webhook_intake.registry import vendor  # noqa: PLC0415
    from webhook_intake.store.items import prepare  # noqa: PLC0415

    normalizer = vendor(vendor_key).normalizer()
    retention = int(template_defaults()["RetentionDays"])
    records = []
    for message in messages:
        delivery = Delivery.from_message_attributes(message["MessageAttributes"], vendor=vendor_key)
        events = normalizer.normalize(message["Body"], delivery).events
        records.append([(prepare(event, retention, PAYLOAD_BUCKET), event.raw) for event in events])
    return records


def _our_writes(store: Any, prepared: list[list[tuple[Any, bytes]]]) -> Callable[[], object]:
    """The handler's own write of each event (``EventStore.put``: its client, its request), nothing else."""

    def writes() -> None:
        for record in prepared:
            for item, raw in record:
                store.put(item, raw)

    return writes


class _NoWrite:
    """An event store that takes every event and writes nothing (for the breakdown)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def put(self, prepared: Any, raw: bytes) -> Any:
        """Stored, at the units the item would cost."""
        from webhook_intake.store.events import Outcome, PutResult  # noqa: PLC0415

        return PutResult(Outcome.STORED, 1.0)


class Case:
    """One vendor's records in batches of ten, the handlers that consume them, and the floor's items."""

    def __init__(self, vendor_key: str, messages: list[dict[str, Any]]) -> None:
        from aws_lambda_powertools import Logger  # noqa: PLC0415

        from benchmarks.usual_design import build_usual_handler  # noqa: PLC0415
        from webhook_intake import clients  # noqa: PLC0415
        from webhook_intake.consumer.lambda_handler import build_handler, build_service  # noqa: PLC0415
        from webhook_intake.consumer.settings import ConsumerSettings  # noqa: PLC0415
        from webhook_intake.observability import vendor_metrics  # noqa: PLC0415
        from webhook_intake.store.events import EventStore  # noqa: PLC0415
        from webhook_intake.store.table import CONSUMER_CONFIG  # noqa: PLC0415
        from webhook_intake.store.wire import encode_item  # noqa: PLC0415

        self.vendor_key = vendor_key
        self.batches = [workload.sqs_batch(messages[at : at + ESM_BATCH]) for at in range(0, len(messages), ESM_BATCH)]
        prepared = _prepared(vendor_key, messages)
        self.prepared = [prepared[at : at + ESM_BATCH] for at in range(0, len(prepared), ESM_BATCH)]
        self.items = [[[encode_item(item.item) for item, _ in record] for record in batch] for batch in self.prepared]
        self.events = sum(len(record) for record in prepared)
        settings = ConsumerSettings.from_env(consumer_environment(vendor_key))
        self.store = EventStore(TABLE_NAME)
        # The handler with a store that writes nothing: all of its work but the write.
        no_write = build_service(settings, Logger(), vendor_metrics(vendor_key))
        no_write.events = _NoWrite(TABLE_NAME)
        # The handler without its read ahead: every event mapped and prepared in its turn, between two writes.
        in_turn = build_service(settings, Logger(), vendor_metrics(vendor_key))
        in_turn.look_ahead = lambda records: None  # type: ignore[method-assign]
        # The usual design's client is its own: Powertools idempotency adds a user-agent hook to the client it
        # is given, which on the handler's would make each of the handler's requests dearer than when deployed.
        usual_client = clients.session().client("dynamodb", config=CONSUMER_CONFIG)
        shortcut = getattr(clients, "user_agent_built_once", None)  # as the handler's (a checkout from before: none)
        usual_client = shortcut(usual_client) if shortcut is not None else usual_client
        self.handlers = {
            "ours": build_handler(settings),
            "usual": build_usual_handler(vendor_key, TABLE_NAME, IDEMPOTENCY_TABLE, usual_client),
            "all but the write": build_handler(settings, service=no_write),
            "mapped in turn": build_handler(settings, service=in_turn),
        }
        self.context = lambda_context(f"bench-consumer-{vendor_key}", CONSUMER_MEMORY_MB)
        self.first_metrics: set[tuple[str, str]] = set()
        for name, handler in self.handlers.items():
            with sink().counting() as first:  # its first invocations: ours prints its ColdStart metric there
                for batch in self.batches:
                    failures = handler(batch, self.context).get("batchItemFailures")
                    if failures:
                        raise RuntimeError(f"consumer benchmark: {name} failed records of {vendor_key}: {failures}")
            if name == "ours":
                self.first_metrics = emf_metrics(first.texts)

    def units(self, name: str, floor_client: Any) -> list[Callable[[], object]]:
        """One unit per batch: the handler ``name`` (ours, usual) on it, or the floor's puts of its items."""
        if name == "floor":
            return [_floor(floor_client, items) for items in self.items]
        if name == "its write only":
            return [_our_writes(self.store, prepared) for prepared in self.prepared]
        handler = self.handlers[name]
        return [functools.partial(handler, batch, self.context) for batch in self.batches]

    def logs(self) -> dict[str, Any]:
        """What the handler prints per invocation (each batch once, counted), and its metrics."""
        per_invocation, lines, texts = [], [], []
        for batch in self.batches:
            with sink().counting() as counted:
                self.handlers["ours"](batch, self.context)
            per_invocation.append(counted.bytes)
            lines.append(counted.lines)
            texts.extend(counted.texts)
        return {
            "bytes_per_invocation": sum(per_invocation) / len(per_invocation),
            "lines_per_invocation": sum(lines) / len(lines),
            "events_per_invocation": self.events / len(self.batches),
            "invocations": len(self.batches),
            "events": self.events,
            "metrics": sorted(emf_metrics(texts) | self.first_metrics),
        }


def _records(vendor_key: str, bodies: list[tuple[bytes, str]]) -> list[dict[str, Any]]:
    return [workload.queue_message(vendor_key, body, sample) for body, sample in bodies]


SIDES = ("ours", "floor", "usual")
USUAL_ROUNDS = 5
"""The usual design is slow and only compared with, not graded: a few rounds of its own."""
BREAKDOWN_ROUNDS = 9
"""Where the time goes: the handler's write alone, and all of it but the write, against the floor."""


def _time_cases(cases: list[Case], rounds: int) -> dict[str, Timing]:
    floor_client = _floor_client()
    sides = {side: [unit for case in cases for unit in case.units(side, floor_client)] for side in ("ours", "floor")}
    timings = alternate(sides, rounds=rounds)
    usual = alternate(
        {side: [unit for case in cases for unit in case.units(side, floor_client)] for side in ("ours", "usual")},
        rounds=min(rounds, USUAL_ROUNDS),
    )
    timings["usual"] = usual["usual"]
    timings["ours against usual"] = usual["ours"]
    parts = ("floor", "ours", "its write only", "all but the write", "mapped in turn")
    breakdown = alternate(
        {side: [unit for case in cases for unit in case.units(side, floor_client)] for side in parts},
        rounds=min(rounds, BREAKDOWN_ROUNDS),
    )
    for side in parts:
        timings[f"breakdown {side}"] = breakdown[side]
    return timings


def _summary(cases: list[Case], timings: dict[str, Timing]) -> dict[str, Any]:
    events = sum(case.events for case in cases)
    result: dict[str, Any] = {"events": events, "batches": sum(len(case.batches) for case in cases)}
    for side in SIDES:
        result[f"{side}_cpu_ms_per_event"] = timings[side].cpu / events / 1e6
    result["ratio"] = ratio(timings, ["ours"], ["floor"])
    result["usual_ratio"] = ratio(timings, ["ours against usual"], ["usual"])
    result["breakdown"] = {
        side: ratio(timings, [f"breakdown {side}"], ["breakdown floor"])
        for side in ("ours", "its write only", "all but the write", "mapped in turn")
    }
    result["read_ahead"] = ratio(timings, ["breakdown ours"], ["breakdown mapped in turn"])
    result["by_vendor"] = {}
    start = 0
    for case in cases:
        count = len(case.batches)
        mine, theirs, paired = unit_range(timings, start, count)
        start += count
        result["by_vendor"][case.vendor_key] = {
            "events": case.events,
            "ours_cpu_ms_per_event": mine * count / case.events / 1e6,
            "floor_cpu_ms_per_event": theirs * count / case.events / 1e6,
            "ratio": paired,
        }
    return result


def _peak_bytes(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> int:
    """Python heap allocated at the peak of one invocation, over what was live before it."""
    context = lambda_context("bench-consumer", CONSUMER_MEMORY_MB)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        handler(event, context)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def _memory(case: Case) -> dict[str, Any]:
    """Peak heap of one SQS batch of ten records of about 1 MiB together."""
    sample = len(workload.viafoura_deliveries(1, 100)[0])
    events_each = max(1, int(100 * MEMORY_BATCH_BYTES / ESM_BATCH / sample))
    bodies = workload.viafoura_deliveries(ESM_BATCH, events_each)
    event = workload.sqs_batch([workload.queue_message(workload.VIAFOURA, body) for body in bodies])
    return {
        "batch_bytes": sum(len(body) for body in bodies),
        "events": events_each * ESM_BATCH,
        "peak_bytes": _peak_bytes(case.handlers["ours"], event),
    }


def measure(rounds: int) -> dict[str, Any]:
    """Every measurement of this part (in the child process)."""
    from webhook_intake.clients import reset  # noqa: PLC0415

    reset()
    facts: dict[str, Any] = {}
    with environment(consumer_environment(workload.VIAFOURA)), quiet_stdout(), answering(CannedAWS()):
        singles = [Case(key, _records(key, bodies)) for key, bodies in workload.single_event_deliveries().items()]
        viafoura_bodies = workload.viafoura_deliveries(VIAFOURA_BATCHES * ESM_BATCH, VIAFOURA_EVENTS_EACH)
        batched = Case(workload.VIAFOURA, _records(workload.VIAFOURA, [(body, "") for body in viafoura_bodies]))
        facts["single-event records"] = _summary(singles, _time_cases(singles, rounds))
        facts["single-event records"]["logs"] = {case.vendor_key: case.logs() for case in singles}
        answer = {"batchItemFailures": []}
        facts["single-event records"]["runtime_ms_per_invocation"] = runtime_ms(singles[0].batches[0], answer)
        facts[f"Viafoura records of {VIAFOURA_EVENTS_EACH}"] = _summary([batched], _time_cases([batched], rounds))
        facts[f"Viafoura records of {VIAFOURA_EVENTS_EACH}"]["logs"] = {workload.VIAFOURA: batched.logs()}
        facts[f"Viafoura records of {VIAFOURA_EVENTS_EACH}"]["runtime_ms_per_invocation"] = runtime_ms(
            batched.batches[0], answer
        )
        facts["memory"] = _memory(batched)
    return facts


# ---------------------------------------------------------------- rows


def _add_rows(report: Report, facts: dict[str, Any], rounds: int) -> None:
    part = PART
    ratios = {}
    for label in ("single-event records", f"Viafoura records of {VIAFOURA_EVENTS_EACH}"):
        found = facts[label]
        ours, floor, usual = (found[f"{side}_cpu_ms_per_event"] * 1000 for side in SIDES)
        ratios[label] = found["ratio"]
        what = f"every sample event, {found['events']}" if label.startswith("single") else f"{found['events']} events"
        row = Row(part, f"CPU per event, {label} ({what})", ours, "µs", floor, "one put_item")
        row.paired = found["ratio"]
        report.add(within(row, GOAL))
        row = Row(part, f"CPU per event, {label}", ours, "µs", usual, "usual design")
        row.paired = found["usual_ratio"]
        report.add(row)
        for side, text in (
            ("ours", "the handler"),
            ("its write only", "its write alone (EventStore.put of the prepared item)"),
            ("all but the write", "all of it but the write (a store that writes nothing)"),
            ("mapped in turn", "the handler mapping each event in its turn (no read ahead)"),
        ):
            row = Row(part, f"breakdown, {label}: {text}", found["breakdown"][side], "x the floor")
            row.paired = found["breakdown"][side]
            report.add(row)
        text = "the read ahead (the handler against itself mapping each event in its turn)"
        row = Row(part, f"breakdown, {label}: {text}", found["read_ahead"], "x")
        row.paired = found["read_ahead"]
        report.add(row)
        if label.startswith("single"):
            for key, by_vendor in found["by_vendor"].items():
                row = Row(part, f"CPU per event, {key} ({by_vendor['events']} single-event records)",
                          by_vendor["ours_cpu_ms_per_event"] * 1000, "µs",
                          by_vendor["floor_cpu_ms_per_event"] * 1000, "one put_item")  # fmt: skip
                row.paired = by_vendor["ratio"]
                report.add(row)
    memory = facts["memory"]
    report.add(
        Row(part, f"peak Python heap, one {memory['batch_bytes'] / 1048576:.2f} MiB batch of"
            f" {memory['events']:,} events", memory["peak_bytes"] / 1048576, "MiB")
    )  # fmt: skip
    worst = max(ratios, key=lambda label: ratios[label])
    report.results["consumer_cpu_ratio"] = ratios[worst]
    report.results["consumer_cpu_ratio_single_event_records"] = ratios["single-event records"]
    report.results["consumer_cpu_ratio_viafoura_records_of_10"] = ratios[f"Viafoura records of {VIAFOURA_EVENTS_EACH}"]
    report.facts[NAME] = facts
    report.notes.append(
        f"consumer: {rounds} rounds, each a pass over every batch of the workload with the sides interleaved"
        f" batch by batch; ratios are medians of per-round ratios; the headline is the worse workload's ({worst});"
        " Lambda's variables set (active tracing, an unsampled invocation)."
    )


def main() -> None:
    """``python -m benchmarks.consumer ROUNDS``: measure, print the facts as one JSON line."""
    facts = measure(int(sys.argv[1]))
    sys.__stdout__.write(json.dumps(facts) + "\n")
    sys.__stdout__.flush()


if __name__ == "__main__":
    main()
