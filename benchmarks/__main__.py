"""``python -m benchmarks [--quick] [--only NAME ...] [--write] [--reuse]``: run the benchmarks, print one table.

``--write`` (what ``make bench`` passes) writes benchmarks/results.json (the headline figures),
benchmarks/results.detail.json (every row, fact and note) and docs/performance.md from them.
``--reuse`` starts from the last results.detail.json and runs only the parts named by ``--only``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

# In table order. A part names the parts whose measurements it builds on (REQUIRES).
PARTS = ("cold_start", "warm_ingest", "consumer", "write_amplification", "cost", "end_to_end")


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"benchmarks.{name}")


def _plan(only: list[str]) -> list[str]:
    """The parts to run: the ones asked for and what they require, in table order."""
    wanted: set[str] = set()
    pending = list(only or PARTS)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(_module(name).REQUIRES)
    return [name for name in PARTS if name in wanted]


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load": " ".join(f"{value:.1f}" for value in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the results table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and deliveries: a smoke run")
    parser.add_argument("--only", action="append", choices=PARTS, default=[], help="run one part (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the rows, facts and machine to this file")
    parser.add_argument(
        "--write", action="store_true", help="write benchmarks/results.json, results.detail.json, docs/performance.md"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the last run's figures; run only the parts named by --only"
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="measure the layers/ and functions/ of another checkout (before/after a change); default: this one",
    )
    args = parser.parse_args(argv)
    if args.source:
        # Before anything imports webhook_intake: the other checkout's package wins.
        os.environ["BENCH_SOURCE"] = str(args.source.resolve())
        sys.path.insert(0, str(args.source.resolve() / "layers" / "shared"))
    from benchmarks import report as document  # noqa: PLC0415  (after --source has set the path)
    from benchmarks.harness import Report, render  # noqa: PLC0415

    report = Report(quick=args.quick)
    plan = _plan(args.only)
    if args.reuse:
        document.restore(report)
        plan = list(args.only)
        # The parts run again replace their rows and notes (a note starts with its part's name).
        again = [_module(name).PART for name in plan]
        report.rows = [row for row in report.rows if row.part not in again]
        prefixes = tuple(label.split(" ", 1)[1] for label in again)
        report.notes = [note for note in report.notes if not note.startswith(prefixes)]
    failed = []
    started = time.monotonic()
    for name in plan:
        print(f"[{name}]", file=sys.stderr)
        part_started = time.monotonic()
        try:
            _module(name).run(report)
        except Exception as exc:  # one part failing should not lose the others' numbers
            traceback.print_exc()
            failed.append(name)
            report.notes.append(f"{name} FAILED: {type(exc).__name__}: {exc}")
        print(f"[{name}] {time.monotonic() - part_started:.0f} s", file=sys.stderr)
        report.timings[name] = time.monotonic() - part_started
    about = machine()
    print(render(report.rows))
    print()
    for note in report.notes:
        print(f"- {note}")
    print(
        f"- machine: {about['cpu']}, {about['cores']} cores, Python {about['python']}, load average {about['load']};"
        f" {'quick' if args.quick else 'full'} run in {time.monotonic() - started:.0f} s"
    )
    detail = document.detail(report, about, time.monotonic() - started)
    if args.json:
        args.json.write_text(json.dumps(detail, indent=2, default=str) + "\n", encoding="utf-8")
    if args.write:
        document.write(report, detail)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
