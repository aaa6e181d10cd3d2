"""The demo's verdict: exit 1, saying why, when a sample is refused or a message is dead-lettered."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console

from intake_cli.demo import Delivery, _summary
from intake_cli.queues import DeadLetter


def verdict(deliveries: list[Delivery], letters: list[DeadLetter]) -> tuple[int, str]:
    out = StringIO()
    code = _summary(Console(file=out, width=200), deliveries, 3, letters, 1.0, Path("demo.log"))
    return code, out.getvalue()


def test_all_accepted_and_nothing_dead_lettered_is_success() -> None:
    code, text = verdict([Delivery("firstup", Path("a.json"), 200, b"")], [])
    assert code == 0
    assert "1/1 deliveries accepted, 3 events stored, 0 dead letters" in text


def test_a_refused_sample_fails_the_demo_and_is_named() -> None:
    code, text = verdict(
        [Delivery("firstup", Path("a.json"), 200, b""), Delivery("openweb", Path("b.json"), 401, b'{"error":"x"}')], []
    )
    assert code == 1
    assert "refused openweb/b.json: 401" in text
    assert "demo failed" in text


def test_a_dead_letter_fails_the_demo_and_is_shown() -> None:
    letter = DeadLetter("fastcomments", "m-1", '{"id": 1}', 1_790_000_000_000, 5, {})
    code, text = verdict([Delivery("fastcomments", Path("c.json"), 200, b"")], [letter])
    assert code == 1
    assert "Dead letters (1)" in text
    assert "m-1" in text
