"""`make bench` and `make load` are not run by `make test`: at least every module of theirs must import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_benchmark_module_imports_with_the_code_as_it_is() -> None:
    modules = sorted(path.stem for path in (ROOT / "benchmarks").glob("*.py") if path.stem != "__main__")
    # A process of its own: the benchmarks must load before botocore (Lambda has no awscrt).
    code = "; ".join(["import importlib", *(f"importlib.import_module('benchmarks.{name}')" for name in modules)])
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_benchmarks_stores_take_what_the_consumer_passes_the_events_store() -> None:
    # The consumer benchmark swaps the events store (no write; the usual design's plain put)
    code = """
import inspect
from benchmarks.consumer import _NoWrite
from benchmarks.usual_design import PlainEventStore
from webhook_intake.store.events import EventStore
expected = inspect.signature(EventStore.put)
for store in (_NoWrite, PlainEventStore):
    got = inspect.signature(store.put)
    assert list(got.parameters) == list(expected.parameters), (store.__name__, got, expected)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("part", ["consumer", "end_to_end"])
def test_a_part_run_in_a_process_of_its_own_measures_the_checkout_named_by_source(tmp_path: Path, part: str) -> None:
    # `--source OTHER` compares another checkout's code: these parts measure it in a process of their own.
    package = tmp_path / "layers" / "shared" / "webhook_intake"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    code = f"""
import subprocess, sys
from benchmarks.{part} import child_environment
probe = "import webhook_intake; print(webhook_intake.__file__)"
done = subprocess.run([sys.executable, "-c", probe], env=child_environment(), capture_output=True, text=True)
print(done.stdout.strip())
"""
    env = {**os.environ, "BENCH_SOURCE": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(package / "__init__.py")


def test_each_cold_start_round_sends_requests_signed_for_it() -> None:
    # FastComments refuses a signature over 300 s old, and a full run on a busy machine lasts longer.
    code = """
import json
from types import SimpleNamespace
from benchmarks import cold_start
from benchmarks.harness import Report

used = []
cold_start.lambda_layout.build = lambda root: SimpleNamespace(shipped_has_bytecode=True)
made = iter(range(1000))
cold_start._inputs = lambda root: {"made": next(made)}
cold_start._run = lambda candidate, layout, inputs, round_number: used.append((round_number, inputs["made"]))
cold_start._add_rows = lambda report, candidates, layout: None
cold_start.run(Report(quick=True))
by_round = {}
for round_number, made_in in used:
    by_round.setdefault(round_number, set()).add(made_in)
print(json.dumps(sorted((r, sorted(m)) for r, m in by_round.items())))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    rounds = json.loads(result.stdout.splitlines()[-1])
    made_for = [made[0] for _, made in rounds]
    assert all(len(made) == 1 for _, made in rounds)
    assert len(set(made_for)) == len(rounds), rounds


def test_the_consumer_benchmark_measures_the_handler_with_the_client_it_has_when_deployed() -> None:
    # The usual design compared with runs Powertools idempotency, which adds its own user-agent hook to the
    # client it is given: the measured handler's requests must not carry it (nor pay for it).
    code = """
import json, sys
from benchmarks import consumer, workload
from benchmarks.canned import CannedAWS, answering
from benchmarks.harness import consumer_environment, environment, quiet_stdout

class Recording(CannedAWS):
    agents = []
    def __call__(self, request):
        self.agents.append(request.headers.get("User-Agent").decode())
        return super().__call__(request)

canned = Recording()
with environment(consumer_environment(workload.VIAFOURA)), quiet_stdout(), answering(canned):
    cases = [consumer.Case(key, consumer._records(key, bodies))
             for key, bodies in sorted(workload.single_event_deliveries().items())[:2]]
    canned.agents.clear()
    for case in cases:
        case.units("ours", None)[0]()
sys.__stdout__.write(json.dumps(sorted(set(canned.agents))) + "\\n")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    agents = json.loads(result.stdout.splitlines()[-1])
    assert agents
    for agent in agents:
        assert "PT/idempotency" not in agent, agent
        assert agent.count(" PT/") == 1, agent
