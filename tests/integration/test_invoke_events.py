"""events/apigw/: the `sam local invoke -e` events match the samples and are accepted by the handlers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from intake_cli import invoke_events as invoke_events_module
from intake_cli.invoke_events import INVOKE_DIR, invoke_events

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

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


def test_writing_them_again_removes_those_of_samples_and_vendors_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given written invoke events, plus one of a sample since renamed and a folder of a vendor since removed
    monkeypatch.setattr(invoke_events_module, "INVOKE_DIR", tmp_path / "apigw")
    monkeypatch.setattr(invoke_events_module, "SQS_DIR", tmp_path / "sqs")
    invoke_events_module.main()
    for kind in ("apigw", "sqs"):
        (tmp_path / kind / "firstup" / "old-name.json").write_text("{}")
        (tmp_path / kind / "retired-vendor").mkdir()
        (tmp_path / kind / "retired-vendor" / "sample.json").write_text("{}")

    # When they are written again
    invoke_events_module.main()

    # Then exactly the current samples' events are there
    written = {p.relative_to(tmp_path / "apigw").as_posix() for p in (tmp_path / "apigw").rglob("*.json")}
    assert written == set(invoke_events())
    assert not (tmp_path / "sqs" / "firstup" / "old-name.json").exists()
    assert not (tmp_path / "sqs" / "retired-vendor").exists()
