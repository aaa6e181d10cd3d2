"""`intake demo` (what `make demo` runs): every sample through the local stack, a table, exit 0."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from intake_cli.samples import sample_files
from tests.e2e.stack import expected_event_ids, run_cli
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e


def test_the_demo_stores_every_sample_and_exits_0_well_under_a_minute(tmp_path: Path) -> None:
    # Given the samples under events/
    samples = sum(len(sample_files(key)) for key in VENDORS)
    events = sum(len(ids) for ids in expected_event_ids().values())

    # When the demo runs
    started = time.monotonic()
    result = run_cli(tmp_path / "state", "demo")
    elapsed = time.monotonic() - started

    # Then every delivery was accepted and every event stored, shown as tables, and it exits 0
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{samples}/{samples} deliveries accepted, {events} events stored, 0 dead letters" in result.stdout
    for header in ("vendor", "event_type", "occurred_at", "actor", "content", "DLQ", "events stored"):
        assert header in result.stdout
    assert elapsed < 60
    # And the handlers' logs went to the state dir, not the terminal; nothing was left running
    assert '"level"' not in result.stdout
    assert (tmp_path / "state" / "demo.log").read_text()
    assert not (tmp_path / "state" / "stack.json").exists()
