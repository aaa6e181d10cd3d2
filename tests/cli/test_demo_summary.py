"""The demo's verdict: exit 1, saying why, when a sample is refused, an event missing, or anything held back."""

from __future__ import annotations

import shlex
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from rich.console import Console

from intake_cli import demo
from intake_cli.demo import Delivery, Outcome, _explore, _summary, expected_keys
from intake_cli.dlq import Held
from intake_cli.local import DEFAULT_STATE_DIR
from intake_cli.samples import ping_files
from intake_cli.stack import StackOptions

if TYPE_CHECKING:
    import pytest


def verdict(outcome: Outcome) -> tuple[int, str]:
    out = StringIO()
    code = _summary(Console(file=out, width=200), outcome, 1.0, Path("demo.log"))
    return code, out.getvalue()


def test_all_accepted_stored_and_nothing_held_is_success_and_a_ping_is_expected_not_stored() -> None:
    code, text = verdict(
        Outcome([Delivery("firstup", Path("a.json"), 200, b""), Delivery("firstup", Path("p.json"), 200, b"", True)], 3)
    )
    assert code == 0
    assert "2/2 deliveries accepted (1 ping: answered, never stored, as expected), 3 events stored" in text
    assert "0 quarantined, 0 dead letters" in text


def test_a_refused_sample_fails_the_demo_and_is_named() -> None:
    deliveries = [Delivery("firstup", Path("a.json"), 200, b""), Delivery("openweb", Path("b.json"), 401, b'{"e":1}')]
    code, text = verdict(Outcome(deliveries, 1))
    assert code == 1
    assert "refused openweb/b.json: 401" in text
    assert "demo failed" in text


def test_an_event_its_golden_file_promises_and_the_table_lacks_fails_the_demo() -> None:
    code, text = verdict(Outcome([Delivery("openweb", Path("b.json"), 200, b"")], 0, missing=["openweb#e-1"]))
    assert code == 1
    assert "missing openweb#e-1" in text


def test_a_quarantined_event_fails_the_demo_and_is_shown_with_its_id() -> None:
    held = Held("quarantined", "fastcomments", "fastcomments/2026-11-29T12:00:00.000Z#x", "invalid_event", "m", None)
    code, text = verdict(Outcome([Delivery("fastcomments", Path("c.json"), 200, b"")], 0, held=[held]))
    assert code == 1
    assert "fastcomments/2026-11-29T12:00:00.000Z#x" in text
    assert "1 quarantined, 0 dead letters" in text


def test_the_demo_expects_every_golden_event_and_sends_the_firstup_ping() -> None:
    assert ("fastcomments", "bW6hJ1sXaP:comment-deleted:638873cdd631f6108de4d005e01eb966") in expected_keys()
    assert [path.name for path in ping_files("firstup")] == ["subscription-ping.json"]


def kept(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``demo --keep`` offers to run in another terminal, for a stack kept in ``state_dir``."""
    monkeypatch.setattr(demo, "wait_for_signal", lambda: None)
    out = StringIO()
    stack = SimpleNamespace(api_url="http://127.0.0.1:3000")
    _explore(Console(file=out, width=80), stack, StackOptions(state_file=state_dir / "stack.json"))  # type: ignore[arg-type]
    return [line for line in out.getvalue().splitlines() if line.startswith("  intake")]


def test_a_demo_kept_in_another_state_dir_offers_commands_that_find_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo kept running in a state dir of its own (its path with a space, as a clone can have)
    state_dir = tmp_path / "my demo"

    # When it says what to try in another terminal
    offered = kept(state_dir, monkeypatch)

    # Then each command names that state dir, so that it finds the stack rather than "no local stack running"
    assert len(offered) == 6, offered
    for command in offered:
        assert shlex.split(command)[:3] == ["intake", "--state-dir", str(state_dir)], command
    assert "intake --state-dir" not in "".join(kept(DEFAULT_STATE_DIR, monkeypatch))
