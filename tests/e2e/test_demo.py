"""`intake demo` (what `make demo` runs): every sample and ping through the local stack, tables, exit 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from intake_cli.samples import ping_files, sample_files
from tests.e2e.stack import expected_event_ids, run_cli
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e


def test_the_demo_stores_every_promised_event_answers_the_ping_and_exits_0(
    tmp_path: Path,
) -> None:
    # Given the samples and pings under events/, and what their golden files promise
    deliveries = sum(len(sample_files(key)) + len(ping_files(key)) for key in VENDORS)
    pings = sum(len(ping_files(key)) for key in VENDORS)
    events = sum(len(ids) for ids in expected_event_ids().values())

    # When the demo runs
    result = run_cli(tmp_path / "state", "demo")

    # Then every delivery was accepted, the ping expected not stored, every event stored, nothing held back
    assert result.returncode == 0, result.stdout + result.stderr
    summary = (
        f"{deliveries}/{deliveries} deliveries accepted ({pings} ping: answered, never stored, as expected), "
        f"{events} events stored, 0 quarantined, 0 dead letters"
    )
    assert summary in result.stdout
    for header in ("received", "vendor", "type", "event id", "DLQ", "quarantined", "stored"):
        assert header in result.stdout
    # and the queues' table says, vendor by vendor: nothing queued, dead-lettered or quarantined, its events stored
    queues = result.stdout.split("Queues and dead-letter queues", 1)[1].splitlines()
    rows = {line.split()[0]: line.split() for line in queues if line.split() and line.split()[0] in VENDORS}
    assert {key: row[1:3] + row[4:] for key, row in rows.items()} == {
        key: ["0", "0", "0", "0", str(len(ids))] for key, ids in expected_event_ids().items()
    }
    # And the handlers' logs went to the state dir, not the terminal; nothing was left running
    assert '"level"' not in result.stdout
    assert (tmp_path / "state" / "demo.log").read_text()
    assert not (tmp_path / "state" / "stack.json").exists()
