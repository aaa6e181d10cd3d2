"""benchmarks/results.json, results.detail.json and docs/performance.md, written from one run.

``.venv/bin/python -m benchmarks.report`` writes docs/performance.md again from the last results.detail.json
(after editing the text here, without measuring again).
"""

from __future__ import annotations

import json
import time
from typing import Any

from benchmarks.cost import ANSWER_BYTES, COLD_START_SHARE, total
from benchmarks.harness import ROOT, Report, Row, render

COLD = f"{COLD_START_SHARE * 100:g} %"
"""The share of invocations priced as cold starts, as the text writes it."""

RESULTS = ROOT / "benchmarks" / "results.json"
DETAIL = ROOT / "benchmarks" / "results.detail.json"
DOCUMENT = ROOT / "docs" / "performance.md"

# The headline figures: key, what it is, goal (at most), unit, how it is measured.
GOALS: list[tuple[str, str, float | None, str, str]] = [
    (
        "cost_single_all_in_usd_per_m",
        "all-in cost per million single-event deliveries, on-demand DynamoDB",
        3.50,
        "$",
        "every sample event delivered on its own: API Gateway HTTP API, both Lambdas (requests and GB-s at the"
        " template's memory, arm64, from the CPU measured in parts 2 and 3; a cold start's INIT and first request,"
        f" part 1's CPU, in {COLD} of invocations), SQS (64 KB chunks, batch receive and"
        " delete), DynamoDB (write units metered in part 4: items, index entries and feed pages), S3, X-Ray at"
        " Lambda's fixed rate for active tracing (5 % past its reservoir, which is in the fixed monthly costs),"
        " CloudWatch Logs of what the functions print (EMF included), Lambda's own lines at the template's"
        " PlatformLogLevel (JSON records in its LogFormat), the access log, a cold start's secret read, and the"
        " answers' bytes out",
    ),
    (
        "cost_batched_on_demand_usd_per_m_events",
        "the same per million events, in Viafoura deliveries of 10 events, on-demand",
        1.75,
        "$",
        "as above for a Viafoura engagement delivery of 10 events (fresh ids, every sample event in turn), divided"
        " by 10",
    ),
    (
        "cost_batched_provisioned_usd_per_m_events",
        "the same with TableBillingMode PROVISIONED",
        0.90,
        "$",
        "write units priced as WCU-hours at TableTargetUtilization (auto scaling keeps that share of the capacity"
        " in use); steady traffic",
    ),
    (
        "wru_per_new_event",
        "write units per new event, index entry, feed page share and ingest's replay write included",
        2.5,
        "WRU",
        "metered on moto: the consumer handler over every event of every sample in events/ (all vendors, the"
        " documented examples too) as single-event deliveries, up to ConsumerBatchSize records per invocation; every"
        " write priced from the item it leaves and the table's own index definitions, the invocation's feed"
        " pages included, and one WRU per FastComments delivery for the replay-table item ingest writes;"
        " `Prepared.write_units()` (the item and its index entry, no page share) is in part 4's rows",
    ),
    (
        "wru_per_duplicate",
        "write units per duplicate",
        1.5,
        "WRU",
        "metered on moto, the same deliveries again: a failed condition costs the larger of the new and the"
        " stored item (the same item), and writes no index entry and no feed entry; a FastComments copy's"
        " replay-table condition costs one WRU too",
    ),
    (
        "consumer_cpu_ratio",
        "consumer CPU per event / one put_item of the same item",
        1.3,
        "x",
        "the worse of two workloads (every sample event as single-event records; Viafoura records of 10 events),"
        " batches of 10, Lambda's variables; the floor writes the same items, built in advance, validation off",
    ),
    (
        "ingest_warm_cpu_ratio",
        "ingest warm CPU per delivery / one send_message of the same body",
        1.3,
        "x",
        "every sample delivery of every vendor, interleaved delivery by delivery; the floor uses the ingest"
        " client's settings (validation off) and no Powertools",
    ),
    (
        "cold_start_ratio_as_shipped",
        "ingest cold start (init + first request) as shipped / floor",
        1.15,
        "x",
        "python3.13, the layer built by its make recipe (bytecode by python3.13), runtime boto3 compiled, no"
        " awscrt; the floor imports boto3 under the same start-up trick and sends one message; slowest vendor",
    ),
    (
        "cold_start_ratio_with_bytecode",
        "the same, layer with bytecode",
        None,
        "x",
        "the same layer compiled (the layer as shipped when the build found a python3.13)",
    ),
    (
        "cold_start_ratio_without_bytecode",
        "the same, layer without bytecode (a build with no python3.13)",
        None,
        "x",
        "the same layer with its bytecode removed, run read-only: every cold start compiles what it imports"
        " (viafoura-engagement)",
    ),
]


def detail(report: Report, machine: dict[str, str], wall_seconds: float) -> dict[str, Any]:
    """Everything the run found, as one JSON document."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": report.quick,
        "wall_seconds": round(wall_seconds, 1),
        "part_seconds": {name: round(seconds, 1) for name, seconds in report.timings.items()},
        "machine": machine,
        "results": report.results,
        "rows": [{**vars(row), "ratio": row.ratio} for row in report.rows],
        "facts": report.facts,
        "notes": report.notes,
    }


def restore(report: Report) -> None:
    """Start ``report`` from the last run's figures (``--reuse``)."""
    found = json.loads(DETAIL.read_text(encoding="utf-8"))
    report.facts.update(found["facts"])
    report.results.update(found["results"])
    report.notes.extend(found["notes"])
    for row in found["rows"]:
        report.rows.append(Row(**{name: value for name, value in row.items() if name != "ratio"}))


def write(report: Report, found: dict[str, Any]) -> None:
    """results.json (numbers only), results.detail.json and docs/performance.md."""
    numbers = {key: round(float(value), 4) for key, value in sorted(report.results.items())}
    RESULTS.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    DETAIL.write_text(json.dumps(found, indent=2, default=str) + "\n", encoding="utf-8")
    DOCUMENT.write_text(document(found), encoding="utf-8")


def _value(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:,.2f}"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.2f} {unit}"


def _goals(results: dict[str, float]) -> str:
    lines = [
        "| figure (`results.json` key) | result | goal | met | how it is measured |",
        "|---|---|---|---|---|",
    ]
    for key, label, goal, unit, method in GOALS:
        value = results.get(key)
        shown = "not measured" if value is None else _value(value, unit)
        if goal is None or value is None:
            verdict, target = "", "—" if goal is None else f"≤ {_value(goal, unit)}"
        else:
            verdict, target = ("met" if value <= goal else "**missed**"), f"≤ {_value(goal, unit)}"
        lines.append(f"| {label} (`{key}`) | {shown} | {target} | {verdict} | {method} |")
    return "\n".join(lines)


def _cost_table(facts: dict[str, Any]) -> str:
    single, batched = facts["single"], facts["batched"]
    parts = [name for name in single["ours"] if not name.startswith("_")]
    lines = [
        "| component | per 1 M single-event deliveries | per 1 M events, deliveries of 10, on-demand |"
        " per 1 M events, deliveries of 10, provisioned |",
        "|---|---|---|---|",
    ]
    for name in parts:
        lines.append(
            f"| {name} | ${single['ours'][name]:,.3f} | ${batched['ours'][name] / 10:,.3f} |"
            f" ${batched['ours_provisioned'][name] / 10:,.3f} |"
        )

    lines.append(
        f"| **total** | **${total(single['ours']):,.2f}** | **${total(batched['ours']) / 10:,.2f}** |"
        f" **${total(batched['ours_provisioned']) / 10:,.2f}** |"
    )
    lines.append(
        f"| usual design, same HTTP API | ${total(single['usual']):,.2f} | ${total(batched['usual']) / 10:,.2f} | |"
    )
    return "\n".join(lines)


def _quantities(facts: dict[str, Any]) -> str:
    single, batched = facts["single"], facts["batched"]
    rows = []
    for label, found, per in (("single-event deliveries", single, 1), ("Viafoura deliveries of 10", batched, 10)):
        scenario, ours = found["scenario"], found["ours"]
        rows.append(
            f"- {label}: ingest billed {ours['_ingest_billed_ms']:.0f} ms per delivery (CPU"
            f" {scenario['ingest_cpu_ms']:.2f} ms measured); consumer billed"
            f" {ours['_consumer_billed_ms_per_batch']:.0f} ms per batch of 10 records; a cold start"
            f" ({facts['cold_start_share'] * 100:g} % of invocations) {ours['_ingest_cold_billed_ms']:,.0f} ms more at"
            f" ingest, {ours['_consumer_cold_billed_ms']:,.0f} ms at the consumer;"
            f" {ours['_sqs_requests_per_delivery']:.2f} SQS requests per delivery"
            f" ({scenario['message_bytes']:,.0f} B message); {ours['_wru_per_delivery'] / per:.2f} WRU per event;"
            f" {scenario['ingest_log_bytes']:,.1f} B printed per ingest invocation (an environment's first prints"
            " its ColdStart metric; a warm accepted delivery nothing),"
            f" {scenario['consumer_log_bytes_per_event']:,.0f} B per event by the consumer;"
            f" access log line {facts['access_log_bytes']} B"
        )
    return "\n".join(rows)


def _fixed(facts: dict[str, Any]) -> str:
    lines = ["| item | $ a month |", "|---|---|"]
    for name, value in facts["fixed_monthly"].items():
        lines.append(f"| {name.lstrip('_')} | ${value:,.2f} |")
    return "\n".join(lines)


def _prices(facts: dict[str, Any]) -> str:
    lines = ["| item | price |", "|---|---|"]
    for name, value in facts["prices"].items():
        per_million = value * 1e6 if value < 0.001 else None
        shown = f"${per_million:,.3f} per million" if per_million is not None else f"${value:,.6g}"
        lines.append(f"| `{name}` | {shown} |")
    return "\n".join(lines)


def _rows(found: dict[str, Any]) -> str:
    rows = [Row(**{name: value for name, value in row.items() if name != "ratio"}) for row in found["rows"]]
    return render(rows)


def document(found: dict[str, Any]) -> str:
    """docs/performance.md for one run."""
    machine = found["machine"]
    facts = found["facts"]
    results = found["results"]
    cold = facts.get("cold_start", {})
    interpreter = cold.get("interpreter", {})
    parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in found["part_seconds"].items())
    out = [
        "# Performance",
        "",
        "How close the pipeline is to the cheapest possible work per webhook (the *floor*), and what it costs,"
        " all in. Written by `make bench` from `benchmarks/results.json` and `benchmarks/results.detail.json`"
        " (this file is generated: change `benchmarks/report.py`, then `.venv/bin/python -m benchmarks.report`).",
        "",
        f"Run of {found['date']} ({'quick' if found['quick'] else 'full'}, {found['wall_seconds']:.0f} s: {parts})"
        f" on {machine['cpu']}, {machine['cores']} cores shared with other work (load average {machine['load']} at"
        f" the end), Python {machine['python']} for the warm parts, Python {interpreter.get('version', '?')}"
        " for the cold starts. Every ratio is measured in one run, the two sides interleaved unit by unit"
        " (a delivery, a batch, a fresh interpreter), as the median over rounds of the ratio within a round.",
        "",
        "## Goals",
        "",
        _goals(results),
        "",
    ]
    if "cost" in facts:
        cost = facts["cost"]
        other = cost["other_platform_log_level"]
        level = "INFO" if other["platform_lines"] else "WARN"
        out += [
            "## Where the money goes",
            "",
            _cost_table(cost),
            "",
            _quantities(cost),
            "",
            f"Prices: {cost['prices_source']}, as of {cost['prices_as_of']} (table below). Not in these figures:"
            " free tiers, data transfer in (free), a warm function's Secrets Manager reads (one per execution"
            " environment every SECRET_MAX_AGE_SECONDS; a cold start's read is in), reads of the events, storage"
            f" and the fixed monthly costs (answers out are priced at {ANSWER_BYTES} bytes each, an estimate):",
            "",
            _fixed(cost),
            "",
            f"Storage, a million events kept a month (items, their feed pages, the by-content index, continuous"
            f" backups):"
            f" ${results.get('cost_storage_usd_per_m_events_month', 0):,.2f}.",
            "",
            f"With `PlatformLogLevel={level}` (Lambda's own lines, a platform.start and a platform.report record"
            " per invocation in the template's JSON LogFormat,"
            f" {'kept' if other['platform_lines'] else 'dropped'}; the template's default"
            f" {'drops' if other['platform_lines'] else 'keeps'} them) the three figures would be"
            f" ${other['single']:,.2f}, ${other['batched_on_demand']:,.2f} and ${other['batched_provisioned']:,.2f}.",
            "",
        ]
    out += [
        "## Every figure of the run",
        "",
        _rows(found),
        "",
        "Notes of the run:",
        "",
        *[f"- {note}" for note in found["notes"]],
        "",
        *METHOD,
    ]
    if "cost" in facts:
        out += ["### Prices", "", _prices(facts["cost"]), ""]
    out += [*_findings(facts), *CHANGES, *LIMITS]
    return "\n".join(out) + "\n"


def _share(found: dict[str, float], side: str) -> str:
    return f"{found.get(side, float('nan')):.2f}x"


def _findings(facts: dict[str, Any]) -> list[str]:
    """Where the time goes, from this run's breakdowns, with what profiles found inside each part."""
    out = ["## Where the time goes", ""]
    consumer = facts.get("consumer")
    if consumer:
        out += [
            "**Consumer** (goal 1.3x the floor). The breakdown of this run, each part against the floor:",
            "",
            "| workload | the handler | its write alone | all of it but the write | the two together fall short by"
            " | the read ahead: the handler against itself mapping each event in its turn |",
            "|---|---|---|---|---|---|",
        ]
        for label in ("single-event records", "Viafoura records of 10"):
            found = consumer[label]["breakdown"]
            rest = found["ours"] - found["its write only"] - found["all but the write"]
            read_ahead = consumer[label].get("read_ahead", float("nan"))
            out.append(
                f"| {label} | {_share(found, 'ours')} | {_share(found, 'its write only')} |"
                f" {_share(found, 'all but the write')} | {rest:.2f}x | {read_ahead:.2f}x |"
            )
        out += ["", *CONSUMER_PROFILE, ""]
    ingest = facts.get("warm_ingest")
    if ingest and "breakdown" in ingest:
        found = ingest["breakdown"]
        rest = found["ours"] - found["its send only"] - found["its service, no send"]
        out += [
            f"**Ingest, warm** (goal 1.3x). The handler {_share(found, 'ours')} the floor: its send alone"
            f" {_share(found, 'its send only')}, its service without the send {_share(found, 'its service, no send')},"
            f" which leaves {rest:.2f}x for the Lambda decorators and reading the API Gateway event.",
            "",
            *INGEST_PROFILE,
            "",
        ]
    cold = facts.get("cold_start")
    if cold:
        candidates = cold["candidates"]
        floor = candidates["ingest floor"]
        worst = max(cold["by_vendor_as_shipped"], key=lambda key: cold["by_vendor_as_shipped"][key])
        ours = candidates[f"ingest {worst}"]
        out += [
            f"**Ingest cold start** (goal 1.15x). Medians, CPU ms, {worst} against the floor: init"
            f" {ours['import_cpu_ms']:.0f} vs {floor['import_cpu_ms']:.0f}, first client {ours['client_cpu_ms']:.0f}"
            f" vs {floor['client_cpu_ms']:.0f}, first request {ours['first_cpu_ms']:.0f} vs"
            f" {floor['first_cpu_ms']:.0f}.",
            "",
            *COLD_PROFILE,
            "",
        ]
    if "cost" in facts:
        out += [*_money(facts["cost"]), ""]
    return out


def _money(cost: dict[str, Any]) -> list[str]:
    single = cost["single"]
    scenario, ours = single["scenario"], single["ours"]
    platform = cost.get("platform_bytes_per_ingest_invocation", 0)
    ranked = sorted((name for name in ours if not name.startswith("_")), key=lambda name: -ours[name])
    place = ("the largest", "the second largest", "the third largest", "one")[min(ranked.index("DynamoDB"), 3)]
    return [
        f"**Money.** DynamoDB is {place} part: {scenario['wru_per_event']:.2f} write units per event (one for an"
        " item under 1 KB, its share of the invocation's feed page for its feed entry, one more for a comment's"
        " state change) at $0.625 per million on"
        f" demand, and a signed FastComments delivery's one write to the replay table"
        f" ({scenario.get('replay_wru_per_delivery', 0):.2f} per delivery in this mix):"
        f" ${ours['DynamoDB']:.2f} of ${sum(v for k, v in ours.items() if not k.startswith('_')):.2f}."
        f" API Gateway is a fixed ${ours['API Gateway']:.2f} per million deliveries, SQS ${ours['SQS']:.2f} (a"
        " send, and a tenth of a receive and of a delete), the two Lambdas"
        f" ${ours['ingest Lambda'] + ours['consumer Lambda']:.2f} (requests $0.22 of it). CloudWatch Logs"
        f" ${ours['CloudWatch Logs']:.2f}: per ingest invocation"
        + (
            f" Lambda's own lines (about {platform:.0f} bytes with CloudWatch's 26 per event),"
            if cost["other_platform_log_level"]["platform_lines"] is False
            else ""
        )
        + (
            f" what the function prints ({scenario['ingest_log_bytes']:.0f} bytes) and"
            if scenario["ingest_log_bytes"]
            else " nothing from the function for an accepted delivery (Lambda counts the invocations), only"
        )
        + f" the access log line ({cost['access_log_bytes']} bytes); the consumer"
        f" {scenario['consumer_log_bytes_per_event']:.0f} bytes per event.",
    ]


METHOD = [
    "## How each figure is measured",
    "",
    "`make bench` runs `.venv/bin/python -m benchmarks --write` (under 10 minutes here); `--quick` is a smoke run,"
    " `--only PART` runs one part and what it needs, `--reuse --only cost` prices the last run's figures again,"
    " `--source ../other-checkout` measures another checkout's `layers/` and `functions/`. Parts live in"
    " `benchmarks/`, one module each.",
    "",
    "- **Both sides alike.** AWS is answered from memory at botocore's HTTP layer (`benchmarks/canned.py`), so"
    " every client runs its whole request pipeline (serialization, signing, parsing) without a network. The"
    " benchmark's botocore signs without awscrt (Lambda has none). Sides are interleaved unit by unit, the order"
    " turning at each unit, and the heap is frozen before timing, as app.py freezes a function's init.",
    "- **1 cold start** (`cold_start.py`, `cold_child.py`, `lambda_layout.py`). Each sample is a fresh"
    " python3.13 (`-S -B`, so nothing of the virtual environment, and nothing compiled at run time is kept), with"
    " the function directory, the layer built by `make -C layers/shared build-SharedLayer` (the recipe `sam build`"
    " runs; wheels for this machine instead of arm64) and a runtime directory of boto3/botocore compiled by the"
    " same python3.13, and Lambda's variables. Phases: init (app.py loaded by path), first client, first request."
    " The floor: `import boto3` with the collector paused and frozen as app.py does, one client with the"
    " function's own settings, one `send_message`.",
    "- **2 warm ingest** (`warm_ingest.py`). The handler as app.py builds it, with Lambda's variables (the trace"
    " header is passed on to SQS), over every sample delivery of every vendor with its real credential; the floor"
    " is one `send_message` of the same body from a client with the ingest settings and no Powertools hook.",
    "- **3 consumer** (`consumer.py`). In a process of its own with Lambda's variables (active tracing, an"
    " unsampled invocation). Batches of 10 records; the floor puts the very items the handler writes, normalized,"
    " prepared and encoded in advance, with the consumer's client settings, through botocore's own methods. The"
    " usual design runs against the handler in a few rounds of its own. The breakdown times the handler's write"
    " alone and all of the handler but the write against the floor.",
    "- **4 write units** (`write_amplification.py`). On moto, the consumer handler over every sample delivery"
    " and over Viafoura deliveries of 10 events, ConsumerBatchSize records per invocation, twice (second pass"
    " all duplicates); each write priced from the item read back and the table's own index definitions, the"
    " feed pages each invocation writes after its batch included (counted apart too: pages and bytes). An"
    " event's units: one for its item under 1 KB, a share of its invocation's page for its feed entry, one more"
    " for a comment's state change (its by-content index entry). `Prepared.write_units()` over every sample"
    " event gives the item and index entry alone.",
    "- **5 cost** (`cost.py`). Lambda duration = measured CPU x 1,769 MB / memory (Lambda's CPU share) + the"
    " runtime's JSON work + assumed AWS latencies, billed per started ms; log bytes are what the handlers printed"
    " in this run plus Lambda's own lines at the template's PlatformLogLevel, in its LogFormat (JSON: a"
    " platform.start and a platform.report record per invocation), and 26 bytes of overhead per log event; SQS"
    " counts 64 KB chunks, one ReceiveMessage and one DeleteMessageBatch per batch of 10; every event new; full"
    " batches.",
    "- **6 end to end** (`end_to_end.py`). The local stack (`intake serve`'s), real HTTP: bounded by moto and"
    " one Python process, not AWS.",
    "",
]

CONSUMER_PROFILE = [
    "Inside, by sampled profiles (pyinstrument, single-event records, 2026-11-29): the write is botocore's"
    " request pipeline for the same item the floor sends, plus what the handler's request adds:"
    " `ReturnValuesOnConditionCheckFailure`, `ReturnConsumedCapacity` and its parsing, and Powertools'"
    " user-agent hook, which the session of `webhook_intake.clients` carries into every request. botocore"
    " itself builds the User-Agent twice a request, from some twenty parts checked character by character"
    " (a fifth of a `put_item`, the floor's too); the clients of `webhook_intake.clients` keep the text of each"
    " set of request features instead, and so do the floors' clients (`benchmarks/harness.py`, `floor_client`)."
    " All of it but the write, about 100:"
    " `prepare` 31 (the body's DEFLATE with the vendor dictionary 13, the normalized parts 6, the item's size"
    " walk), normalization 28 (pydantic validation and the vendor mapping), Powertools' batch processing,"
    " logging context and the rest 19, shape tracking 9 (a walk of every stored event's JSON),"
    " `Delivery.from_message_attributes` 7, the invocation's metrics and outcomes line 5. What neither part"
    " shows alone is the two together: the handler's code and data push botocore's out of the CPU caches"
    " and back between events. So the handler maps and prepares a batch's events before it writes any"
    " (`ConsumerService.look_ahead`: the first 100 events of records of up to 65,536 characters), and the table's last"
    " column is what that saves, the handler against itself mapping each event in its turn, interleaved in the"
    " same run (three A/B runs of 15 rounds on 2026-12-03, before it was in the bench: 0.92-0.95 for single-event"
    " records, 0.91-0.92 for records of 10). What stays between two writes is each event's outcome: its feed"
    " entry, the tally, its lags, the shape walk, its record's correlation id, all of which need the write's"
    " answer. An experiment that deferred every write to the end of the invocation (its outcomes then made up)"
    " measured 0.91 of the handler before the read ahead: what reordering the rest could still take, far short"
    " of the goal. No single piece is over a tenth of the handler: reaching 1.3x would need"
    " the handler's own work (all of it but the write) under about 0.15 of one `put_item`, against 0.5-0.9"
    " today. Within this machine's noise (A/A 1.01), and kept because they are simpler, not faster: the"
    " write-unit estimate worked out only when DynamoDB reports none, and the JSON parsed at split reused for"
    " shape tracking. Tried and not kept, also within the noise: a compressor with the dictionary loaded once"
    " and copied (copying deflate's state costs what loading the dictionary did), and a type lookup in the"
    " shape walk. Measured apart on 2026-12-01 and left, each under the noise of a whole run: the DEFLATE of"
    " `body` at level 8 or memLevel 8 (the same bytes for every sample event) or memLevel 5-7 or level 6-7"
    " (level 6 changes 17 of 107 items), 0.92-1.03 of its 40-60 us an event, interleaved: the cost is"
    " the compressor's set-up and the dictionary, not the search (on 2026-12-02 a 16 KB window, memLevel 8 or 9,"
    " in the consumer's process over the 107 sample events: 18 us an event each, as the 32 KB window; a fresh"
    " process compressing the larger sample files gave 118 against 26 us, a difference the consumer's warm"
    " allocator does not show); Powertools' user-agent text built into the"
    " client's kept User-Agent instead of its hook rewriting each request's header (the same header), 1.4 % of a"
    " put, its quartiles over 81 interleaved blocks on either side of no change; Powertools' batch processing, 70 us an"
    " invocation of 10 records against a plain loop (0.5 % of a single-event record); the garbage collector,"
    " 6-7 us an event; the vendor spec looked up twice an event, 1.6 us each. Taken out one at a time from the"
    " handler, interleaved batch by batch (the handler against itself 1.01-1.03): shape tracking 3-4 %, the"
    " feed (its entries and the page each invocation writes, a `put_item` per ten records that neither"
    " breakdown part holds) 5-6 %, in both workloads; the lag samples nothing to tell.",
]

INGEST_PROFILE = [
    "The send alone is dearer than the floor's by the four message attributes (vendor, receive time,"
    " correlation id, route), the trace header Lambda sets, and Powertools' user-agent hook on the"
    " function's session. The service is JSON parsing of the body, authentication (an HMAC, a token"
    " compare), the per-event verdicts and the `Delivery`; for FastComments also the replay table's"
    " conditional write, a second AWS request the floor does not make (FastComments alone is about 2.7x)."
    " The decorators are Powertools' `inject_lambda_context` and `log_metrics`; an accepted delivery counts"
    " no metric (deliveries received are the function's Lambda invocations), so the flush prints nothing."
    " Within `ingest/service.py`, `queue.py`, `http.py`"
    " and `delivery.py` there is at most a few hundredths left to take; the rest is Powertools in"
    " `ingest/lambda_handler.py` and `observability.py`, and the session hook in `clients.py`.",
]

COLD_PROFILE = [
    "By `-X importtime` under python3.13 with the layer as shipped (its figures run high; read them as"
    " shares; 2026-11-30): Powertools' Logger about 39 ms (its `jmespath_utils` 11), Powertools' parameters"
    " utility 7.5 ms (the `SecretsProvider`, which imports its DynamoDB and AppConfig providers too; no longer"
    " imported since: the secret is read through the process's own client), `aws_lambda_powertools`"
    " itself and Metrics about 10, the ingest modules about 20. The first request makes a second client (Secrets"
    " Manager: its service model and endpoint rules) and fetches the secret before the send the floor also"
    " makes (process CPU, python3.13, 2026-12-01: the client 10-11 ms, the read 5). FastComments' first request"
    " makes a third, for the replay table's conditional write (docs/reliability.md): the DynamoDB client"
    " 21-25 ms, about 16 of them botocore reading DynamoDB's 556 KB service model, and its put 3-5 ms; that is"
    " why FastComments is the slowest vendor. The layer without bytecode (what a build without python3.13"
    " ships) compiles all of it at every"
    " cold start. Much of what `-X importtime` charges to the Logger is the standard library (`inspect`,"
    " `logging`, `json`) that boto3 imports too: it is charged to whichever imports it first. Timed apart"
    " (process CPU, python3.13, nine fresh processes, 2026-11-30), once boto3 and Powertools are imported the"
    " ingest modules import and build the handler in about 24 ms, about 12 ms of it in creating their 13"
    " dataclasses (each compiles the methods it generates): 3 % of the floor's cold start, short of the 6 % the"
    " goal lacks, and the dataclasses stay (the code's style).",
]

CHANGES = [
    "## Changes made for these figures",
    "",
    "- The consumer has no Powertools Tracer: its X-Ray patch wrapped every DynamoDB call even in unsampled"
    " invocations; consumer CPU per event / floor 2.28x -> 1.96x (single-event records), 1.96x -> 1.67x"
    " (Viafoura records of 10), peak heap of a 1 MiB batch 3.5 -> 1.9 MiB.",
    "- An accepted delivery prints nothing at ingest: deliveries received are the ingest function's Lambda"
    " `Invocations` (the dashboard, the silence alarm), not an EMF line of about 330 bytes per delivery; the"
    " access log has no time field (CloudWatch stamps each line). All-in cost $3.80 -> $3.63 per million"
    " single-event deliveries, $1.81 -> $1.80 and $0.93 -> $0.92 per million events in deliveries of 10;"
    " ingest warm CPU / floor 1.59x -> 1.53x (two runs, 22:53 and 23:31).",
    "- The characters SQS refuses are written as the few ranges they are: 9 ms less to compile at every ingest"
    " cold start (ratio 1.19 -> 1.175 and 1.21 -> 1.17 in two interleaved runs).",
    "- `layers/shared/Makefile` uses a python3.13 only if it runs (a pyenv shim for an unselected version"
    " failed `make build`), and takes the wheel platform as a variable (the benchmark builds the layer for"
    " this machine).",
    "- The 2026-11-30 02:14 run was on the code with the fixes made since the 2026-11-29 23:57"
    " run: the sender counts message attributes into SQS's 1 MiB; the split cleans lone surrogates when the"
    " body escapes one; a duplicate received before the stored copy moves the event to its times (a"
    " conditional update, only then). And the consumer's metrics are one sample per event (WriteUnitsPerEvent,"
    " both lags): the dashboard's per-event average and the lag percentiles were of per-invocation values."
    " That last costs log bytes: 198 -> 218 B per event printed by the consumer (single-event records),"
    " 76 -> 109 B (Viafoura records of 10; the samples' event times are years old, so EndToEndLag's"
    " values are 11 digits here, 3 to 5 on live traffic). Against the 23:57 run: costs $3.63 -> $3.62,"
    " $1.79 -> $1.82 and $0.91 -> $0.94; ingest warm 1.54x -> 1.45x; consumer 1.90x -> 1.97x (records of"
    " 10: 1.56x -> 1.86x, where two runs earlier today on nearly this code gave 1.67x and 1.69x: the"
    " spread). Cold start 1.22x in this run (1.36x, 1.24x and 1.19x in three other runs today).",
    "- The 2026-11-30 04:25 run was on the code with the next fixes: the ingest"
    " function reads JSON strictly (NaN and Infinity refused, nesting over 100 counted in the text: two"
    " `str.count` calls for a typical body) and builds its answer before the send (measured only for a"
    " batch of over 100 events or a large body); ids too long for a key are keyed by their hash; a test copy"
    " never stands for the vendor's; the consumer decides a bad claim check once; canonical JSON writes"
    " whole numbers as integers (a regex over the text first). Against the 02:14 run: costs $3.62 -> $3.61,"
    " $1.82 -> $1.81, $0.94 -> $0.93. Ingest warm 1.45x -> 1.54x (1.59x in a run at 04:00): this machine"
    " was slower and noisier than at 02:14 (the floor's own send took 640 to 1,180 us across the runs that"
    " followed, 690 us then), and `--only warm_ingest` on the 04:00 code and on the 02:14 code, run by"
    " turns, gave 1.58x, 1.56x (new) and 1.47x, 1.57x (old): within the spread. Consumer 1.97x -> 2.05x"
    " (records of 10: 1.86x -> 1.70x), cold start 1.22x -> 1.31x (1.27x and 1.31x in the two runs before):"
    " the same spread.",
    "- The 2026-11-30 06:41 run was on the code with the day's next fixes, none "
    "on the success path of a delivery or an event: a write whose answer was lost, a quarantine update's "
    "token, an earlier copy's whole-item put, shape items cut by bytes, mapping failures quarantined; it "
    "also measured a check at ingest of ids repeated within a batch (one `Counter` a batch), removed "
    "after the run (ingest cannot tell which version the store holds). The machine was slower again: the "
    "floors took 948 us per send (675 us at 04:25) and 1,096 us per put (744 us), so the costs, priced "
    "from measured CPU, rose with them: $3.61 -> $3.64, $1.81 -> $1.82, $0.93 -> $0.94. The ratios moved "
    "within the spread: ingest warm 1.54x -> 1.57x, consumer 2.05x -> 2.09x (records of 10: 1.70x -> "
    "1.77x), cold start 1.31x -> 1.25x. Write units are unchanged (2.34 per new event, 1.07 per "
    "duplicate).",
    "- The 2026-11-30 08:02 run was the first with the feed's pages: the feed is no longer the `by-time`"
    " index, whose entry cost a write unit"
    " per event however small, but pages of entries the consumer writes once per invocation (docs/data-model.md,"
    ' "The feed"): 12 pages of 7,483 B in all for the 107 single-event deliveries, one page of 4,213 B (5 WRU)'
    " for 100 events in Viafoura deliveries of 10. Write units are now metered on moto, pages included: 2.34 ->"
    " 1.47 per new event (1.43 in deliveries of 10), 1.07 -> 1.08 per duplicate. Costs $3.64 -> $3.10, $1.82 ->"
    " $1.22, $0.94 -> $0.69 (provisioned minimum: one index fewer). Reads now check each entry against its item"
    " (a `BatchGetItem` of 100 keys per 100 candidates), which the costs above, all writes, leave out. The ratios"
    " moved within the spread: consumer 2.09x -> 2.14x (records of 10: 1.77x -> 1.77x; the page's put and its"
    " compression are in the handler's time), ingest warm 1.57x -> 1.51x, cold start 1.25x -> 1.34x (the ingest"
    " path is unchanged; 1.19x-1.36x across the runs of these two days).",
    "- The 2026-11-30 09:16 run was on the code with the pages' fixes (an entry made"
    " from the item as stored, pages written one by one, one entry per event in an invocation, reads' bounds"
    " and order); the figures moved within the spread: costs $3.10 -> $3.09, $1.22 -> $1.21, $0.69 -> $0.69;"
    " write units unchanged (1.47 per new event, 1.08 per duplicate); consumer 2.14x -> 2.11x (records of 10:"
    " 1.77x -> 1.75x), ingest warm 1.51x -> 1.52x, cold start 1.34x -> 1.21x.",
    "- The 2026-11-30 10:35 run was the first with the layer's dependencies pinned to the versions the tests"
    " run with (layers/shared/requirements.txt): the layer the cold starts import held pydantic 2.14.4 before,"
    " 2.13.5 now (only the consumer imports it). Between the runs the code changed off the measured paths (each"
    " role's writes scoped to its vendor's keys; a counter by reason takes its service from the function's"
    " metrics). Figures within the spread: costs $3.09 -> $3.08, $1.21 -> $1.21, $0.69 -> $0.69; write units"
    " unchanged; consumer 2.11x -> 2.21x (records of 10: 1.75x -> 1.69x), ingest warm 1.52x -> 1.51x, ingest"
    " cold start 1.21x -> 1.19x (consumer cold start 1.22x -> 1.30x).",
    "- The 2026-11-30 11:32 run was on the code with a comment's state read as one query under the"
    " vendor's prefix (`state_order` begins with the vendor: a few bytes more in each by-content entry, still"
    " one write unit), expires_at counted from the receive time and S3 parts tagged with their retention"
    " (both only with a retention; the bench runs the template's 0). Write units unchanged (1.47 per new"
    " event, 1.08 per duplicate); costs $3.08 -> $3.08, $1.21 -> $1.21, $0.69 -> $0.69; consumer 2.21x ->"
    " 2.08x (records of 10: 1.69x -> 1.71x), ingest warm 1.51x -> 1.48x, ingest cold start 1.19x -> 1.25x"
    " (consumer cold start 1.30x -> 1.20x): the spread of these runs.",
    "- The 2026-11-30 12:47 run was on the code where each event put carries a `write_id` of its own (8"
    " random bytes: a put botocore sent again finds its own item by them; 16 bytes more an item, no item of"
    " the samples crossed a kilobyte) and the replay table's and the consumer's S3 clients skip botocore's"
    " validation. Write units unchanged (1.47 per new event, 1.08 per duplicate); costs $3.08 -> $3.09,"
    " $1.21 -> $1.22, $0.69 -> $0.69; consumer 2.08x -> 2.20x (records of 10: 1.71x -> 1.89x; the write alone"
    " 1.09x -> 1.02x and 1.12x -> 1.11x of the floor in the breakdown, so the token costs nothing measurable"
    " and the rest is this machine's spread, load average 1.3), ingest warm 1.48x -> 1.49x, ingest cold start"
    " 1.25x -> 1.18x.",
    "- The 2026-11-30 14:14 run was on the code as it stood that afternoon: since 12:47 the consumer resets a"
    " small per-record map of quarantine keys (identical bad events of a delivery are one try), watches a"
    " redriven event's shape, and OpenWeb's mapping names a reply's parent (none of the three adds work"
    " worth measuring); FastComments' fallback after a failed raw signature and the CLI changed off the"
    " measured paths. Write units unchanged (1.47, 1.08); costs $3.09 -> $3.10, $1.22 -> $1.22, $0.69 ->"
    " $0.70; consumer 2.20x -> 2.19x (records of 10: 1.89x -> 1.85x), ingest warm 1.49x -> 1.53x, ingest"
    " cold start 1.18x -> 1.20x: within the spread of these runs.",
    "- The 2026-11-30 15:45 run is on the code that logs an id holding a space or an `@` by its hash (a"
    " regular expression per event, about 0.6 us), meters new shapes' writes and a quarantine release per"
    " event, gives a claim check's S3 retries a deadline of their own, and formats tracebacks without"
    " foreign messages (failure lines only). Write units unchanged (1.47, 1.08); costs $3.10 -> $3.09,"
    " $1.22 -> $1.22, $0.70 -> $0.69; consumer 2.19x -> 2.30x (records of 10: 1.85x -> 2.00x) while its"
    " breakdown, measured in the same run, has the handler at 2.17x -> 2.11x (1.80x -> 1.76x) of the"
    " floor, the floor itself 0.86 -> 0.75 ms per event: the spread of the floor between runs; ingest"
    " warm 1.53x -> 1.56x, ingest cold start 1.20x -> 1.24x (init and client alone 1.10x -> 1.15x).",
    "- The 2026-11-30 16:15 run was on the same code, a second sample of the same paths"
    " (since 15:45 only a branch of the shape writer's error handling was tidied): costs $3.09 -> $3.09,"
    " $1.22 -> $1.21, $0.69 -> $0.69; write units unchanged; consumer 2.30x -> 2.24x (records of 10: 2.00x"
    " -> 1.76x), ingest warm 1.56x -> 1.50x, ingest cold start 1.24x -> 1.22x: the two runs bracket the"
    " 14:14 run's figures, so these fixes moved none of them beyond the spread.",
    "- The 2026-11-30 16:53 run was on the code with one more fix: since 16:15 a vendor list in `details`"
    " cut to its 100 entries is named in `truncated` (a length check per list). Costs $3.09 -> $3.08,"
    " $1.21 -> $1.21, $0.69 -> $0.69; write units unchanged; consumer 2.24x -> 2.06x (records of 10: 1.76x"
    " -> 1.79x), ingest warm 1.50x -> 1.46x, ingest cold start 1.22x -> 1.27x: three runs of nearly the same"
    " code, the spread of this machine.",
    "- The 2026-11-30 17:24 run was on the code with three refactors since 16:53 (the write"
    " units several events owe shared by one method, once per invocation; the log formatter's AWS error"
    " code read by the project's own function, on failures only; the local gateway's route matched once)."
    " Costs $3.08 -> $3.08, $1.21 -> $1.21, $0.69 -> $0.68; write units unchanged; consumer 2.06x -> 2.17x"
    " (records of 10: 1.79x -> 1.66x), ingest warm 1.46x -> 1.45x, ingest cold start 1.27x -> 1.27x.",
    "- The 2026-11-30 23:15 run was on the code since 17:24: the consumer keeps a `dropped` tuple on each"
    " event and unescapes OpenWeb's comment text; ingest tags claim-checked bodies only (the hot path is"
    " unchanged). The benchmark looks for a python3.13 where `make build` does (pyenv's versions too): on a"
    " machine whose only python3.13 is pyenv's, the cold starts ran under Python 3.11 against a layer"
    " without bytecode (1.66x), where the build ships bytecode. Costs $3.08 -> $3.05, $1.21 -> $1.19,"
    " $0.68 -> $0.67; write units unchanged; consumer 2.17x -> 2.21x (records of 10: 1.66x -> 1.78x), ingest"
    " warm 1.45x -> 1.45x, ingest cold start 1.27x -> 1.26x.",
    "- The 2026-12-01 02:19 run priced X-Ray at Lambda's own rate for active tracing (5 %), not the stack's 1 %"
    " sampling rule, which Lambda is not documented to apply (Limits). The code since 23:15: a FastComments body"
    " over 1 MiB is checked over its raw bytes only (a bogus signature on 5.5 MB of one string: 71 -> 4.6 ms of"
    " CPU, outside the measured paths); the consumer compares a message's received_at with its SentTimestamp"
    " and reads a text time only with its date written out. The write units per event count ingest's"
    " replay-table write of each FastComments delivery (priced in the costs before, left out of these"
    " figures). Costs $3.05 -> $3.28, $1.19 -> $1.22, $0.67 -> $0.69 (X-Ray); write units 1.47 -> 1.53 and"
    " 1.08 -> 1.15; consumer 2.21x -> 2.26x (records of 10: 1.78x -> 1.79x), ingest warm 1.45x -> 1.44x, ingest"
    " cold start 1.26x -> 1.23x.",
    "- The 2026-12-01 03:02 run took the replay-table writes per delivery from part 4's count, one place: the cost"
    " weighted them by the warm-ingest sample mix (7 of 77 deliveries) where the single-event workload it prices"
    " holds 7 of 107 (DynamoDB $0.016 less per M deliveries, within this run's CPU noise). Costs $3.28 -> $3.28,"
    " $1.22 -> $1.22, $0.69 -> $0.70; write units unchanged; consumer 2.26x -> 2.14x (records of 10: 1.79x -> 1.75x),"
    " ingest warm 1.44x -> 1.46x, ingest cold start 1.23x -> 1.26x (code unchanged: the spread between runs).",
    "- The 2026-12-01 03:10 run priced Lambda's INIT phase, billed for managed runtimes since 2025-08-01: a"
    f" cold start's init, first client and first request (part 1's CPU, a secret fetch at ingest) in {COLD} of"
    " invocations, the usual design's at the consumer's (Limits); the code is unchanged since 03:02. Costs $3.28 ->"
    " $3.33 (ingest $0.25 -> $0.31: a cold start bills 1.8 s at 256 MB), $1.22 -> $1.22, $0.70 -> $0.70; write"
    " units unchanged; consumer 2.14x -> 2.18x (records of 10: 1.75x -> 1.77x), ingest warm 1.46x -> 1.45x, ingest"
    " cold start 1.26x -> 1.26x.",
    "- The 2026-12-01 04:22 run was on the code since 03:10: the consumer checks the time left before each"
    " record and event (a method call each; the bench's context never runs out), keys a quarantine item by its"
    " delivery too, and a Firstup body-less ping is answered before the body is read (off the measured paths)."
    " Costs $3.33 -> $3.35, $1.22 -> $1.23, $0.70 -> $0.70; write units unchanged; consumer 2.18x -> 2.25x"
    " (records of 10: 1.77x -> 1.81x), ingest warm 1.45x -> 1.46x, ingest cold start 1.26x -> 1.24x.",
    "- The 2026-12-01 04:58 run was on the consumer that walks a record's events as one sequence (the ones to"
    " quarantine, then the ones to store), so the rest of a delivery can resume at any of them; its other changes"
    " since 04:22 are off the measured paths. Costs $3.35 -> $3.38, $1.23 -> $1.24, $0.70 -> $0.71; write units"
    " unchanged; consumer 2.25x -> 2.28x (records of 10: 1.81x -> 1.78x), ingest warm 1.46x -> 1.45x, ingest cold"
    " start 1.24x -> 1.24x.",
    "- The 2026-12-01 07:17 run priced what the cost model had left out: a cold start's"
    " GetSecretValue call ($0.05 per million deliveries), the answers' bytes out (an estimate, $0.02), the"
    " consumer's wait for its feed page; the fixed monthly costs count the alarms as CloudWatch bills them (20"
    " created at the defaults, 36 metrics, not 25) and the X-Ray reservoir (Limits: up to $143 a month). The code"
    " since 04:58: each event keeps its place in its batch (`index`, in `state_order`: a few bytes, no item crossed"
    " a kilobyte), a batch of over 10,000 elements is refused before it is judged, off the measured paths a"
    " malformed secret is reported as one. Costs $3.38 -> $3.42, $1.24 -> $1.24, $0.71 -> $0.71; write units"
    " unchanged (1.53, 1.15); consumer 2.28x -> 2.32x (records of 10: 1.78x -> 1.77x), ingest warm 1.45x -> 1.45x,"
    " ingest cold start 1.24x -> 1.26x.",
    "- The 2026-12-01 10:40 run was on another machine (AMD EPYC; Intel Xeon before), and the costs,"
    " priced from CPU measured here, move with it (ingest Lambda $0.32 -> $0.35 per million deliveries). The code"
    " since 07:17: an inline message keeps room for the marks of a delivery's rest (a constant in the size check),"
    " the rest carries a check of which events were to be quarantined (hashed only when a rest is sent or read), an"
    " event's S3 parts are keyed with their retention (the bench runs the template's 0: keys unchanged), and the"
    " vendor mappings name OpenWeb's comment authors, read OpenWeb text parts sent as strings, type a FastComments"
    " reply as one and keep Firstup's recommended channels apart. Costs $3.42 -> $3.46, $1.24 -> $1.24, $0.71 ->"
    " $0.72; write units unchanged (1.53, 1.15); consumer 2.32x -> 2.36x (records of 10: 1.77x -> 1.72x), ingest"
    " warm 1.45x -> 1.45x, ingest cold start 1.26x -> 1.28x.",
    "- The 2026-12-01 11:17 run was on the code since 10:40: the consumer cleans a route attribute's strings"
    " as it reads them (a lone surrogate escape becomes U+FFFD: a few short strings a record), writes at most 20"
    " new shapes an invocation and counts a type no mapping names as `unmapped`, and a refused claim check's"
    " message names no key (the last three off the measured paths). Costs $3.46 -> $3.45, $1.24 -> $1.24,"
    " $0.72 -> $0.72; write units unchanged (1.53, 1.15); consumer 2.36x -> 2.12x (records of 10: 1.72x -> 1.73x),"
    " ingest warm 1.45x -> 1.43x, ingest cold start 1.28x -> 1.19x: the spread between runs.",
    "- The 2026-12-01 11:51 run was on the same behaviour, refactored: a delivery's resume marks are written by"
    " one function (a call more per message sent), a misconfigured secret reported by one, the key-length rule"
    " asked of one. Costs $3.45 -> $3.46, $1.24 -> $1.24, $0.72 -> $0.72; write units unchanged (1.53, 1.15);"
    " consumer 2.12x -> 2.19x (records of 10: 1.73x -> 1.72x), ingest warm 1.43x -> 1.44x, ingest cold start"
    " 1.19x -> 1.25x: the spread between runs.",
    "- The clients of `webhook_intake.clients` build their User-Agent once per set of request features, where"
    " botocore builds it twice a request (the same text: a test compares it with a plain client's). Measured"
    " on 2026-12-01 against the code before, two interleaved `--source` runs each (load average 5-9): consumer"
    " 2.24x -> 1.92x (records of 10: 1.78x -> 1.50x), ingest warm 1.50x -> 1.19x; each side's two runs within"
    " 0.04x of each other. Those ratios flattered the handlers: their floors still built the header twice a"
    " request (the handler's write alone measured 0.85x of the floor's). The warm floors' clients now get the"
    " same shortcut (`floor_client` in `benchmarks/harness.py`), and the ratios are again of what the handlers"
    " do beyond one request: the run below. The CPU saved is real: the costs, priced from the handlers' CPU,"
    " keep it.",
    "- The consumer's per-event metric samples (WriteUnitsPerEvent and the two lags) join Powertools' list"
    " of values directly, the sample that fills a record of 100 through `add_metric` as before (the same EMF"
    " records: a test compares them): `add_metric` formats the metric's whole list into a debug message at"
    " each call, about 20 us an event in batches of 10 records, 50 us in records of 10 events. Two interleaved"
    " runs each against the code before: consumer, records of 10, 1.47x and 1.52x -> 1.36x and 1.39x (all of"
    " it but the write 0.39x -> 0.32x); single-event records 1.91x and 1.93x -> 1.84x and 2.02x, within the"
    " spread (all of it but the write 0.71x -> 0.67x in both runs).",
    "- The ingest functions read their secret with one `GetSecretValue` per `max_age` through the process's"
    " client, not Powertools' parameters utility (whose private cache `SecretStore` had to reach into): a"
    " cold start imports about 5 ms less, under this machine's spread. Cold start as shipped against the code"
    " before all three changes: 1.27x before (one run; the other failed on the stale FastComments signature"
    " since fixed in the benchmark), 1.29x and 1.22x after: no change to tell.",
    "- The 2026-12-01 13:46 run was on the code with the three changes above, the warm floors' clients"
    " building their User-Agent as the handlers' do, and the day's fixes since 11:51: the consumer maps each"
    " event of a delivery only when its turn comes (a large delivery begun late stops in time) and writes its"
    " feed pages between events once 20 are owed; a delivery keeps the headers its vendor's spec names. Costs"
    " $3.46 -> $3.48, $1.24 -> $1.25, $0.72 -> $0.72 (priced from the CPU measured here: the consumer 1,691 us"
    " an event against 1,541 us at 11:51, the floors 687 and 706 us: this machine's spread between runs);"
    " write units unchanged (1.53, 1.15). The ratios are of the fairer floors: consumer 2.19x -> 2.53x"
    " (records of 10: 1.72x -> 1.92x), ingest warm 1.44x -> 1.59x, ingest cold start 1.25x -> 1.27x. Four"
    " alternated runs of the consumer part after this one, the code before the consumer's rework and after"
    " it: 2.56x and 2.54x -> 2.46x and 2.50x (records of 10: 1.98x and 1.98x -> 1.90x and 1.88x): the rework"
    " costs nothing measurable.",
    "- Since that run the consumer part's usual design has a DynamoDB client of its own. Powertools idempotency"
    " adds its user-agent hook to the client it is given, and it was given the process's client, the one the"
    " measured handler writes with: in the runs above the handler's requests ran six or seven such hooks (a"
    " deployed consumer's run one) and named `PT/idempotency`: a `put_item` with six of them took 8 % more CPU"
    " than with one, interleaved. The same code, the harness before and after, three alternated `--only consumer`"
    " runs each (load average 2-4): the breakdown's write alone 1.15x, 1.11x and 1.15x -> 1.06x, 1.04x and 1.06x"
    " (records of 10: 1.20x, 1.20x and 1.13x -> 1.13x, 1.14x and 1.07x); the headlines within the spread"
    " between runs, single-event records 2.42x, 2.75x and 2.60x -> 2.51x, 2.57x and 2.66x, records of 10 2.22x,"
    " 2.13x and 2.11x -> 1.84x, 1.83x and 2.08x. The figures above are from before it.",
    "- The 2026-12-01 16:23 run was the first with the usual design's own client, on the code with the"
    " fixes since 13:46, none on the success path of an event: a first version consumed after a later one"
    " with other content takes its place (the later one quarantined as the conflict: two more writes, only"
    " then), a token pasted with white space is reported when the secret is read, a Viafoura batch whose"
    " `request_uuid` is null is answered with its header, the CLI and the template's retention. Costs $3.48 ->"
    " $3.47, $1.25 -> $1.25, $0.72 -> $0.72; write units unchanged (1.53, 1.15); consumer 2.53x -> 2.40x"
    " (records of 10: 1.92x -> 1.93x; its write alone 1.05x the floor in the breakdown, 1.14x before the"
    " usual design's own client), ingest warm 1.59x -> 1.54x, ingest cold start 1.27x -> 1.28x.",
    "- The 2026-12-01 18:32 run was on the code since 16:23, whose only changes on a measured path are a"
    " check of a Firstup event's `name` and the author of a Viafoura notification's content (the shapes the"
    " consumer knows from the start are more, read once). Every floor's CPU was slower in this hour than at"
    " 16:23, their code unchanged: the cold start's floor 405 -> 533 ms, the consumer's put_item 586 -> 787 us."
    " The costs are priced from the CPU measured here, and a cold start (1 % of invocations) bills 4.5 s at"
    " ingest where it billed 3.4 s: costs $3.47 -> $3.53, $1.25 -> $1.25, $0.72 -> $0.73; write units"
    " unchanged (1.53, 1.15); consumer 2.40x -> 2.47x (records of 10: 1.93x -> 1.82x), ingest warm 1.54x ->"
    " 1.54x, ingest cold start 1.28x -> 1.27x. A run just before it (18:27, floors as slow) gave $3.53, $1.25"
    " and $0.73 too (consumer 2.99x, ingest warm 1.67x, cold start 1.32x). The single-delivery cost goal is"
    " met on this machine only in its faster hours: it sits at the edge, over by 3 cents here.",
    "- This run (2026-12-01, 19:58) is on the code since 18:32, whose only changes on a measured path are"
    " ingest's reading of a body (a leading byte order mark dropped; the `content-encoding` header read only"
    " when the body is no JSON) and the Firstup consumer's judge of an older envelope's name. The machine was"
    " faster in this hour, every floor's code unchanged: the cold start's floor 546 -> 395 ms, the consumer's"
    " put_item 787 -> 607 us, the ingest send 532 -> 455 us. Costs, priced from the CPU measured here, $3.53"
    " -> $3.46, $1.25 -> $1.24, $0.73 -> $0.72 (a cold start at ingest bills 3.2 s where it billed 4.5 s);"
    " write units unchanged (1.53, 1.15); consumer 2.47x -> 2.33x (records of 10: 1.82x -> 1.84x), ingest warm"
    " 1.54x -> 1.56x, ingest cold start 1.27x -> 1.19x: the ratios move with the machine too, the cold start's"
    " most (our own imports cost relatively more in its slower hours). The single-delivery cost goal is met"
    " in this run and was missed at 18:32 by 3 cents: it sits at the edge of this machine's spread.",
    "- This run (2026-12-02, 00:02) is on the code with the day's last fixes on measured paths: the"
    " consumer's outcomes line names each delivery's correlation id when it reports several (about 32 bytes"
    " more printed per event in a batch of single-event records: 2,224 -> 2,549 B per invocation of 10), the"
    " event's conditional put also names a copy past its retention (`OR #expires <= :received`), and the"
    " secret store keeps the copy it read through an outage (no change on a read that succeeds). The"
    " consumer's floor put_item took 689 us (607 at 19:58): a slower hour. Costs $3.46 -> $3.49, $1.24 ->"
    " $1.25, $0.72 -> $0.72; write units unchanged (1.53, 1.15); consumer 2.33x -> 2.46x (records of 10:"
    " 1.84x -> 1.86x), ingest warm 1.56x -> 1.57x, ingest cold start 1.19x -> 1.21x. The single-delivery"
    " cost goal is met by 1 cent.",
    "- This run (2026-12-02, 02:24) is on code whose only changes on a measured path are FastComments'"
    " check of a `token` header sent beside a signature (one constant-time compare when the header is sent;"
    " the bench's deliveries send none) and the consumer's length kept of an image URL (2,048 characters,"
    " not 512; no sample has one that long). Nothing was changed for the goals. Costs $3.49 -> $3.49, $1.25"
    " -> $1.25, $0.72 -> $0.72; write units unchanged (1.53, 1.15); consumer 2.46x -> 2.54x (records of 10:"
    " 1.86x -> 1.91x), ingest warm 1.57x -> 1.55x, ingest cold start 1.21x -> 1.27x, on a floor of 389 ms"
    " (406 at 00:02) with no change to the code it imports: the vendors' cold starts ranged 1.13x-1.27x in"
    " this run, which is this figure's spread from run to run (1.12-1.29x in five runs of 2026-11-29).",
    "- This run (2026-12-02, 05:46) is on another machine again (AMD EPYC, faster: the consumer's floor"
    " put_item about 460 us, the cold start's floor about 265 ms). The only change on a measured path is"
    " the consumer's check, before each record, of whether a record left out by the time the records"
    " before it took is at its last receive (then sent round as a message of its own, not handed back to be"
    " dead-lettered; the bench's invocations never run out of time). Nothing was changed for the goals."
    " Costs $3.49 -> $3.44, $1.25 -> $1.23, $0.72 -> $0.70 (priced from the CPU measured here); write units"
    " unchanged (1.53, 1.15); consumer 2.54x -> 2.62x (records of 10: 1.91x -> 1.94x), ingest warm 1.55x"
    " -> 1.58x, ingest cold start 1.27x -> 1.23x (the slowest vendor's, OpenWeb's this time; the vendors"
    " ranged 1.12x-1.23x).",
    "- This run (2026-12-02, 07:46) is on code whose changes on a measured path are FastComments' replay-table"
    " write, made one attempt at a time and tried again within the deadline by the function (botocore's"
    " standard mode made up to three, with no deadline; the same single put when it succeeds), and errors"
    " judged worth another attempt by botocore's own checkers (only on a failure). Nothing was changed for"
    " the goals. Costs $3.44 -> $3.42, $1.23 -> $1.23, $0.70 -> $0.70; write units unchanged (1.53, 1.15);"
    " consumer 2.62x -> 2.55x (records of 10: 1.94x -> 1.99x), ingest warm 1.58x -> 1.57x, ingest cold"
    " start 1.23x -> 1.34x, FastComments' on a floor of 243 ms (the other vendors 1.10x-1.21x); a"
    " `--only cold_start` run just after gave FastComments 1.23x and the others 1.15x-1.21x: the spread of"
    " this figure between runs, its first request (a DynamoDB client for the replay table, 29 ms) the same.",
    "- This run (2026-12-02, 12:13) is on another machine again (AMD EPYC; the consumer's floor put_item about"
    " 370 us, the cold start's floor 225 ms). Changes on measured paths: delivery bodies read with a flag for"
    " a number no double or int holds (Python's own integer path kept), the shape walk's byte budget and"
    " its key by type label. Nothing was changed for the goals. Costs $3.42 -> $3.42, $1.23 -> $1.23, $0.70"
    " -> $0.70; write units unchanged (1.53, 1.15); consumer 2.55x -> 2.82x (records of 10: 1.99x -> 2.02x),"
    " ingest warm 1.57x -> 1.59x, ingest cold start 1.34x -> 1.37x (FastComments'; the vendors 1.16x-1.37x)."
    " Measured against the code before the day's changes on this machine, interleaved runs of the part alone:"
    " consumer 2.83x, 2.72x before against 2.87x, 2.89x after (records of 10: 2.11x, 2.10x against 2.14x,"
    " 2.16x), within the machine's noise or 2-4 % dearer; cold start 1.14x-1.27x before against 1.15x-1.27x"
    " after. The rise from the last run is this machine's: the same code measured 2.55x there.",
    "- This run (2026-12-02, 15:39) is on another machine again (AMD EPYC; the consumer's floor put_item about"
    " 250 us, the cold start's floor as before). Changes on measured paths: every normalized part reads an"
    " empty string as the field absent (one look at its values, about 0.3 us a part), a null vendor list or"
    " object is nothing sent (only when lenient validation already failed), a Viafoura notification's"
    " content is a reply when it targets another. Nothing was changed for the goals. Costs $3.42 -> $3.39,"
    " $1.23 -> $1.22, $0.70 -> $0.69; write units unchanged (1.53, 1.15); consumer 2.82x -> 2.72x (records"
    " of 10: 2.02x -> 1.96x), ingest warm 1.59x -> 1.55x, ingest cold start 1.37x -> 1.22x (FastComments';"
    " the vendors 1.07x-1.22x). Measured against the code before the day's changes, interleaved runs of the"
    " part alone (records of 10): 1.99x, 2.00x, 2.01x, 2.01x before against 2.06x, 2.09x, 2.06x, 1.98x"
    " after (two of those after on the per-field rule since replaced), within the noise.",
    "- This run (2026-12-02, 17:28) is on the same machine (the consumer's floor put_item 254 us, the cold"
    " start's floor 230 ms). The change on a measured path: a Firstup event's ids other than its own (content,"
    " channel, campaign, notification, user ids) read a whole-number float as its digits, as the event id"
    " does (a validator call per field sent). Nothing was changed for the goals. Costs $3.39 -> $3.41, $1.22"
    " -> $1.22, $0.69 -> $0.70; write units unchanged (1.53, 1.15); consumer 2.72x -> 2.69x (records of 10:"
    " 1.96x -> 2.04x), ingest warm 1.55x -> 1.56x, ingest cold start 1.22x -> 1.26x (FastComments'; the"
    " vendors 1.19x-1.26x, where the ingest path is unchanged): within the spread between runs.",
    "- This run (2026-12-03, 05:53) is on the same kind of machine (the consumer's floor put_item 215 us, the"
    " cold start's floor 166 ms). Changes on measured paths: the consumer's DynamoDB and S3 calls make one"
    " botocore attempt each, tried again by the function only while an attempt fits before its time reserve"
    " (the same single call when it succeeds); every function counts its execution environment's cold start"
    " (`ColdStart`) as its handler is built, so an ingest environment's first invocation prints one EMF line"
    " (about 240 B) where a warm accepted delivery prints nothing. The cost model now counts that line in"
    " 1 % of ingest invocations (2.4 B an invocation on average; the consumer's cold start adds the metric to"
    " the line it prints anyway), and the fixed costs its five custom metrics (25 -> 30 seen, $7.50 -> $9.00 a"
    " month). Nothing was changed for the goals. Costs $3.41 -> $3.38, $1.22 -> $1.22, $0.70 -> $0.69; write"
    " units unchanged (1.53, 1.15); consumer 2.69x -> 2.67x (records of 10: 2.04x -> 2.04x), ingest warm"
    " 1.56x -> 1.56x, ingest cold start 1.26x -> 1.27x (FastComments'; the vendors 1.19x-1.27x).",
    "- The 2026-12-03 06:51 run was on code whose changes on measured paths are every vendor's id fields read"
    " through the event id's validator (a whole-number float is its digits: a validator call per id field sent)"
    " and more known shapes, read at a consumer cold start (Viafoura notifications' ids sent as numbers: its"
    " file 26 -> 188 KB; OpenWeb's documented spellings and plain-string content; FastComments' `externalId`)."
    " A slower hour (the consumer's floor put_item 239 us, the cold start's floor 188 ms). Nothing was changed"
    " for the goals. Costs $3.38 -> $3.39, $1.22 -> $1.22, $0.69 -> $0.70; write units unchanged (1.53, 1.15);"
    " consumer 2.67x -> 2.73x (records of 10: 2.04x -> 2.01x), ingest warm 1.56x -> 1.57x, ingest cold start"
    " 1.27x -> 1.23x (FastComments'; the vendors 1.14x-1.23x, where the ingest path is unchanged), the"
    " consumer's cold start 1.21x -> 1.24x.",
    "- The 2026-12-03 09:02 run was on code whose changes on measured paths are small: every function names"
    " its vendor in its log lines (a key appended per invocation; a warm accepted delivery still prints"
    " nothing at ingest, and the consumer's outcomes line already carried it), OpenWeb's `followee-commented`"
    " dated by the part it keeps, Firstup's older envelope read with `contentId`, `title` and `url`, and a"
    " FastComments body re-encoded only when it names no key twice (its fallback, not the bench's path). A"
    " slower hour again (the cold start's floor 222 ms, 188 at 06:51). Nothing was changed for the goals. Costs"
    " $3.39 -> $3.40, $1.22 -> $1.22, $0.70 -> $0.70; write units unchanged (1.53, 1.15); consumer 2.73x ->"
    " 2.74x (records of 10: 2.01x -> 2.12x), ingest warm 1.57x -> 1.57x, ingest cold start 1.23x -> 1.22x"
    " (FastComments'; the vendors 1.14x-1.22x), the consumer's cold start 1.24x -> 1.23x.",
    "- The 2026-12-03 09:37 run was on the code since 09:02, whose one change on a measured path is the"
    " vendor key set for the invocation's thread (Powertools' `thread_safe_append_keys`: in the local stack"
    " several vendors' functions share one formatter) rather than on the formatter. A much slower hour (the"
    " consumer's floor put_item 319 us, 245 at 09:02; the cold start's floor 271 ms, 222 at 09:02), and the"
    " costs, priced from the CPU measured, move with it. Nothing was changed for the goals. Costs $3.40 ->"
    " $3.42, $1.22 -> $1.23, $0.70 -> $0.70; write units unchanged (1.53, 1.15); consumer 2.74x -> 2.87x"
    " (records of 10: 2.12x -> 2.03x), ingest warm 1.57x -> 1.59x, ingest cold start 1.22x -> 1.18x"
    " (FastComments'; the vendors 1.08x-1.18x), the consumer's cold start 1.23x -> 1.17x: the spread of"
    " these runs.",
    "- This run (2026-12-03, 10:23) is on the code since 09:37, whose one change on a measured path is that"
    " vendor key set through a function of observability.py (one call more an invocation). A faster hour again"
    " (the consumer's floor put_item 259 us, the cold start's floor 183 ms). Nothing was changed for the goals."
    " Costs $3.42 -> $3.39, $1.23 -> $1.22, $0.70 -> $0.70; write units unchanged (1.53, 1.15); consumer 2.87x"
    " -> 2.74x (records of 10: 2.03x -> 2.01x), ingest warm 1.59x -> 1.58x, ingest cold start 1.18x -> 1.26x"
    " (FastComments'; the vendors 1.15x-1.26x, on an unchanged start-up path: the spread of this part between"
    " runs), the consumer's cold start 1.17x -> 1.21x.",
    "- The 2026-12-03 11:53 run is on the code since 10:23, whose changes on measured paths are two"
    " mapping fixes (an OpenWeb event names its spot as its site; a Firstup notification about a channel names"
    " it as its container), an id of white space alone read as absent (each part's values looked at once, as"
    " before), and a malformed field left out of a long list copying it once (only on a failed validation)."
    " Nothing was changed for the goals. The consumer's floor put_item 230 us (259 at 10:23), the cold start's"
    " floor 228 ms (183): the hours differ by part. Costs $3.39 -> $3.41, $1.22 -> $1.22, $0.70 -> $0.70; write"
    " units 1.53 -> 1.54 and 1.15 -> 1.16 (one write unit more over the 107 sample events, new and duplicate: the"
    " OpenWeb items, the only ones that changed, hold their site, 4-6 bytes more, and one crossed a kilobyte);"
    " consumer 2.74x -> 2.65x (records of 10: 2.01x -> 1.98x),"
    " ingest warm 1.58x -> 1.57x, ingest cold start 1.26x -> 1.26x (FastComments'; the vendors 1.09x-1.26x, two"
    " of them within the goal), the consumer's cold start 1.21x -> 1.26x.",
    "- This run (2026-12-03, 12:32) is on the code since 11:53, whose one change on a measured path is that a"
    " vendor's id is read through one function more (a blank one is none, so a mapping's fallback takes"
    " over). A slower hour for the consumer (its floor put_item 371 us, 230 at 11:53; the cold start's floor"
    " 204 ms). Costs $3.41 -> $3.41, $1.22 -> $1.23, $0.70 -> $0.70; write units unchanged (1.54, 1.16);"
    " consumer 2.65x -> 2.79x (records of 10: 1.98x -> 2.09x; in the breakdown its write alone 1.02x and all"
    " but the write 1.03x of the floor), ingest warm 1.57x -> 1.59x, ingest cold start 1.26x -> 1.28x (Viafoura"
    " engagement's this time; the vendors 1.10x-1.28x), the consumer's cold start 1.26x -> 1.11x: the spread of"
    " these runs.",
    "- The 2026-12-03 13:45 run is on the code since 12:32, whose one change on a measured path is the consumer's "
    "read ahead: a batch's first 100 events of records of up to 65,536 characters mapped and prepared before any is"
    " written. The breakdown now holds the handler without it (each event mapped in its turn), interleaved with the"
    " rest: 0.96x of it for single-event records, 0.94x for records of 10 (three A/B runs of 15 rounds before: "
    "0.92x-0.95x and 0.91x-0.92x). A slower hour for the cold start (its floor 243 ms, 204 at 12:32), the "
    "consumer's floor put_item 377 us (371). Costs $3.41 -> $3.44, $1.23 -> $1.22, $0.70 -> $0.70; write units "
    "unchanged (1.54, 1.16); consumer 2.79x -> 2.74x (records of 10: 2.09x -> 1.88x), ingest warm 1.59x -> 1.59x, "
    "ingest cold start 1.28x -> 1.22x (FastComments'; the vendors 1.19x-1.22x, on an unchanged start-up path), the "
    "consumer's cold start 1.11x -> 1.25x: but for the read ahead's, the spread of these runs.",
    "- This run (2026-12-03, 13:58) is on the same code as 13:45, but for tests: a second sample of it, nothing"
    " else running. The read ahead 0.93x of the handler without it in both workloads. A faster hour for the"
    " consumer (its floor put_item 250 us, 377 at 13:45; the cold start's floor 221 ms, 243). Costs $3.44 ->"
    " $3.41, $1.22 -> $1.22, $0.70 -> $0.70; write units unchanged (1.54, 1.16); consumer 2.74x -> 2.59x"
    " (records of 10: 1.88x -> 1.94x), ingest warm 1.59x -> 1.58x, ingest cold start 1.22x -> 1.16x"
    " (FastComments' again; the vendors 1.07x-1.16x, four of five within the goal), the consumer's cold start"
    " 1.25x -> 1.12x: the spread of these runs.",
    "",
]

LIMITS = [
    "## Limits",
    "",
    "- CPU is measured on this x86 machine; Lambda runs arm64 (Graviton). Ratios carry over better than times."
    " The warm parts run under the virtual environment's Python, the cold starts under python3.13.",
    "- The machine is shared, and the ratios move between runs more than within one (within a run two identical"
    " sides agree to about 1.5 %). Five full runs of the same code on 2026-11-29: cold start as shipped"
    " 1.12-1.29x (slowest vendor); consumer 1.91-2.12x (single-event records) and 1.62-1.80x (records of 10);"
    " ingest warm 1.45-1.54x; the costs within 3 cents. A goal is met here only if it holds across runs.",
    "- The floors are made without Powertools' user-agent hook (a function without Powertools has none); the"
    " handlers' clients carry it. Measured apart, the hook makes a request 1 % dearer. The warm floors' clients"
    " build their User-Agent once per set of request features, as the handlers' clients do; the cold starts'"
    " floors do not import the project, and a first request builds the text once either way.",
    "- X-Ray is priced at Lambda's documented rate for functions with active tracing, 5 % of invocations past a"
    " reservoir of one a second per function: Lambda's guide says that rate cannot be configured, and X-Ray's"
    " sampling-rules page names API Gateway, AppSync and Step Functions, not Lambda, so the stack's"
    " TraceSampleRate rule (1 %) is not counted on. The reservoir is a fixed cost, in the fixed monthly table:"
    " up to 2.6 million traces a month per function invoked once a second or more ($13 each, $143 for the"
    " stack's 11). Spread over deliveries it is traffic's: for a vendor at 10 deliveries a second (the least"
    " for full consumer batches) it adds about $0.95 per million deliveries to the figures above, at 100 a"
    " second $0.10, and below one a second every delivery is traced ($5 per million)."
    " `TracingMode=PassThrough` traces none and costs nothing (an HTTP API passes no trace header). Check"
    " `GetSamplingStatisticSummaries` on a deployed stack.",
    "- Every figure assumes full consumer batches (ConsumerBatchSize records per invocation): the feed page,"
    " the SQS receive and delete and the consumer's per-invocation lines are shared by ten records. Batches"
    " fill when a vendor sends more than about ten deliveries a second (ConsumerBatchingWindow 1 s); at a"
    " delivery now and then each invocation holds one record and pays its own page. Measured apart"
    " (2026-12-01, part 4's meter and this cost model with one record per invocation): 2.36 WRU per new event"
    " and $4.58 per million single-event deliveries before cold starts were priced (about $4.77 with them: each"
    " record's invocation may be one), under the write-unit goal and over the cost goal. Those"
    " are low traffics, where the fixed monthly costs dominate.",
    "- Latencies of AWS calls are assumed, not measured; the canned answers remove network time entirely.",
    f"- Cold starts are priced in {COLD} of invocations (AWS's figure for production workloads is under 1 %; at steady"
    " traffic an execution environment serves far more), their CPU scaled to the function's memory like a warm"
    " invocation's: an upper bound if Lambda gives its INIT phase more CPU, which it does not document. The usual"
    " design's cold start is priced as the consumer's, a lower bound for a function that also authenticates.",
]


def main() -> None:
    """Write docs/performance.md again from the last results.detail.json."""
    found = json.loads(DETAIL.read_text(encoding="utf-8"))
    DOCUMENT.write_text(document(found), encoding="utf-8")


if __name__ == "__main__":
    main()
