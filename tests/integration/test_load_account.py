"""`make load`'s account: each kind of delivery it builds is found as it must be, on a stack that loses nothing."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks import load
from intake_cli.samples import build_request
from tests.helpers import load_state

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


@pytest.mark.parametrize("kind", sorted(load.BUILT))
def test_make_load_finds_every_event_of_the_deliveries_it_builds(
    runtime: LocalRuntime, secrets: dict[str, Any], kind: str
) -> None:
    # Given a delivery `make load` builds of this kind, sent and consumed
    plan = load.Plan()
    plan.deliveries.append(load._planned(kind, 0, random.Random(7), plan, []))
    outcomes = []
    for delivery in plan.deliveries:
        request = build_request(delivery.vendor, delivery.body, secrets[delivery.vendor], delivery.sample)
        answer = runtime.request(request.method, request.path, request.headers, request.body)
        outcomes.append(load.Outcome(answer.status, 0.0))
    runtime.drain()

    # Then its account finds what was stored and quarantined as planned: nothing missing, nothing unasked
    counts = load.verify(load_state(runtime), plan, outcomes)["counts"]
    assert {name: count for name, count in counts.items() if name in load.WRONG and count} == {}
