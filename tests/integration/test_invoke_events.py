"""events/apigw/: the `sam local invoke -e` events match the samples and are accepted by the handlers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from intake_cli.invoke_events import INVOKE_DIR, invoke_events

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def test_the_committed_invoke_events_are_current() -> None:
    expected = invoke_events()
    committed = {str(p.relative_to(INVOKE_DIR)): json.loads(p.read_text()) for p in INVOKE_DIR.rglob("*.json")}
    assert committed == expected, "run `python -m intake_cli.invoke_events` and commit events/apigw/"


def test_each_invoke_event_is_accepted_by_its_route_handler(runtime: LocalRuntime) -> None:
    for relative, event in invoke_events().items():
        route = next(r for r in runtime.routes if r.route_key == event["routeKey"])
        result = runtime.functions[route.function_id].invoke(event)
        assert result["statusCode"] in {200, 204}, (relative, result)
