"""The local stack as a user runs it: `intake serve` in a subprocess, real HTTP, the `intake` CLI.

Every vendor's samples go over HTTP with real auth and come back through `intake events
--json`; a duplicate is stored once, a bad signature is refused and stores nothing, a
poison body ends in its DLQ after the template's MaxReceiveCount receives, and `intake
dlq redrive` moves it back with its body intact.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.samples import load_secrets, sample_files, sample_request
from intake_cli.sending import post
from tests.e2e.stack import expected_event_ids, run_cli, start_served_stack
from tests.helpers import SUCCESS
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.e2e.stack import ServedStack

pytestmark = pytest.mark.e2e

POISON_REQUEST_UUID = "0e2e0e2e-0000-4000-8000-00000000d1e0"
REFUSED_COMMENT_ID = "e2eRefusedC0mment"


def poison_body() -> str:
    """A notifications envelope the ingest accepts, whose notification the consumer can never normalize."""
    return json.dumps(
        {
            "request_uuid": POISON_REQUEST_UUID,
            "time": 1790000000000,
            "version": 1,
            "notifications": [{"notification_type": "like", "time": 1790000000000, "payload": {}}],
        },
        separators=(",", ":"),
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedStack]:
    """The local stack; failed records retried at once, so the poison reaches its DLQ in seconds."""
    stack = start_served_stack(tmp_path / "state", "--retry-visibility", "0")
    try:
        yield stack
    finally:
        try:
            stack.terminate()
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()


def _answer(result: Any) -> dict[str, Any]:
    """`intake send --json`'s one line; the command must have exited 0."""
    (answer,) = [json.loads(line) for line in _ok(result).splitlines()]
    return dict(answer)


def test_every_sample_is_stored_once_bad_auth_is_refused_and_poison_is_dead_lettered_then_redriven(
    served: ServedStack, tmp_path: Path
) -> None:
    # Given the local stack serving template.yaml, and the development secrets
    secrets = load_secrets()

    # When every vendor's samples are posted over HTTP with real auth
    for key in VENDORS:
        for path in sample_files(key):
            response = post(served.api_url, sample_request(key, path, secrets), use_proxy=False)
            assert response.status == SUCCESS[key], (path.name, response.body)

    # And a poison body, a duplicate and a refused delivery are sent with `intake send`
    poison_file = tmp_path / "poison.json"
    poison_file.write_text(poison_body())
    refused_file = tmp_path / "comment-created.refused.json"
    refused_file.write_text(
        json.dumps({**json.loads(sample_files("fastcomments")[0].read_text()), "id": REFUSED_COMMENT_ID})
    )
    poisoned, duplicate, refused, oauth, forged = (
        _answer(result)
        for result in served.cli_together(
            ("send", "viafoura-notifications", "--file", str(poison_file), "--json"),
            ("send", "firstup", "--json"),
            ("send", "fastcomments", str(refused_file), "--bad-auth", "--json"),
            # OpenWeb's OAuth mode: assertion -> token route -> Bearer delivery (a duplicate, stored once)
            ("send", "openweb", "--auth", "oauth", "--json"),
            ("send", "openweb", "--auth", "oauth", "--bad-auth", "--json"),
        )
    )
    assert poisoned["status"] == 204
    assert duplicate["status"] == 200
    assert duplicate["file"].endswith(sample_files("firstup")[0].name)
    assert refused["status"] == 401
    assert oauth["status"] == 200
    assert forged["status"] == 401

    # Then the queues drain and the poison lands in its DLQ
    served.wait_for(
        lambda: (
            served.depth("ViafouraNotificationsDeadLetterQueue") == 1
            and all(served.depth(f"{spec.stem}Queue") == 0 for spec in VENDORS.values())
        ),
        timeout=40,
        what="the queues to drain and the poison to reach its DLQ",
    )

    # And the CLI shows what the stack holds
    events_out, filtered_out, dlq_out, status_out = served.cli_together(
        ("events", "--json"),
        ("events", "--vendor", "firstup", "--type", "content.published", "--json"),
        ("dlq", "list", "--json"),
        ("status", "--json"),
    )

    # `intake events --json`: every sample's events, each once, oldest first, nothing refused or poisoned
    events = [json.loads(line) for line in _ok(events_out).splitlines()]
    expected = expected_event_ids()
    assert Counter(event["pk"] for event in events).most_common(1)[0][1] == 1
    for key in ("viafoura-engagement", "viafoura-notifications", "openweb", "firstup"):
        assert {event["event_id"] for event in events if event["vendor"] == key} == expected[key], key
    assert sum(event["vendor"] == "fastcomments" for event in events) == len(expected["fastcomments"])
    assert not [event for event in events if REFUSED_COMMENT_ID in json.dumps(event["raw"])]
    assert not [event for event in events if POISON_REQUEST_UUID in json.dumps(event)]
    assert [event["occurred_at"] for event in events] == sorted(event["occurred_at"] for event in events)

    # `--vendor` and `--type` narrow it
    filtered = [json.loads(line) for line in _ok(filtered_out).splitlines()]
    assert filtered
    assert {(event["vendor"], event["event_type"]) for event in filtered} == {("firstup", "content.published")}

    # `intake dlq list`: the poison byte for byte, received as often as the template allows
    (letter,) = [json.loads(line) for line in _ok(dlq_out).splitlines()]
    assert letter["vendor"] == "viafoura-notifications"
    assert letter["body"] == poison_body()
    assert letter["receive_count"] >= int(served.state["parameters"]["MaxReceiveCount"])

    # `intake status`: the dead letter, and the events stored per vendor
    rows = {row["vendor"]: row for row in map(json.loads, _ok(status_out).splitlines())}
    assert rows["viafoura-notifications"]["dead_letters"] == 1
    assert {key: row["events_stored"] for key, row in rows.items()} == {key: len(ids) for key, ids in expected.items()}
    assert all(row["queued"] == 0 for row in rows.values())

    # When `intake dlq redrive` moves it back
    (moved,) = [json.loads(line) for line in _ok(served.cli("dlq", "redrive", "--json")).splitlines()]

    # Then it left the DLQ for its source queue
    assert moved["vendor"] == "viafoura-notifications"
    assert moved["moved"] == 1
    assert moved["destination_arn"].endswith("ViafouraNotificationsQueue")
    assert served.depth("ViafouraNotificationsDeadLetterQueue") == 0

    # And, poison still, it comes back to the DLQ with the same body and message attributes
    served.wait_for(
        lambda: served.depth("ViafouraNotificationsDeadLetterQueue") == 1,
        timeout=40,
        what="the redriven poison to be dead-lettered again",
    )
    (again,) = [json.loads(line) for line in _ok(served.cli("dlq", "list", "--json")).splitlines()]
    assert again["body"] == poison_body()
    assert again["message_attributes"] == letter["message_attributes"]
    assert again["message_id"] != letter["message_id"]

    # When the stack gets SIGTERM, it stops cleanly and removes stack.json
    assert served.terminate() == 0
    assert not (served.state_dir / "stack.json").exists()
    assert "stopped" in served.output.read_text()


def test_commands_say_how_to_start_the_stack_when_none_is_running(tmp_path: Path) -> None:
    # Given no stack.json, then one naming ports where nothing answers
    state_dir = tmp_path / "state"
    missing = run_cli(state_dir, "status")
    state_dir.mkdir()
    (state_dir / "stack.json").write_text(
        json.dumps({"api_url": "http://127.0.0.1:9", "aws_endpoint_url": "http://127.0.0.1:9", "outputs": {}})
    )
    stale = run_cli(state_dir, "events", "--json")

    # Then both fail with the same clear message
    for result in (missing, stale):
        assert result.returncode == 1
        assert "no local stack running: start it with `intake serve`" in result.stderr


def _ok(result: Any) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)
