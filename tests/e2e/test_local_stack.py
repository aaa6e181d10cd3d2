"""The local stack as a user runs it: `intake serve` in a subprocess, real HTTP, the `intake` CLI.

Every vendor's samples go over HTTP with real auth and come back through `intake events`;
a duplicate is stored once, a bad signature is refused, a bad event is quarantined with its
reason while the rest of its delivery is stored, and a record whose dependency (S3) keeps
failing reaches its DLQ, shows its real body once S3 has it, and is stored after a redrive.
`intake tail` and the `serve` terminal show each outcome.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from intake_cli import stack as stack_module
from intake_cli.samples import NEGATIVE_DIR, load_secrets, ping_files, sample_files, sample_request
from intake_cli.sending import post
from intake_cli.stack import Left
from intake_cli.stopping import stop_as_ctrl_c
from intake_cli.target import Target
from intake_cli.template import TEMPLATE_PATH, SamTemplate
from tests.e2e.stack import (
    STARTUP_TIMEOUT,
    cli_environment,
    expected_event_ids,
    intake_command,
    killed_if_running,
    run_cli,
    start_served_stack,
)
from tests.helpers import SUCCESS, cli
from webhook_intake.delivery import Delivery
from webhook_intake.payloads import ClaimCheck
from webhook_intake.registry import VENDORS
from webhook_intake.store.quarantine import QuarantineKey, QuarantineStore
from webhook_intake.store.reads import EventReader

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.e2e.stack import ServedStack

pytestmark = pytest.mark.e2e

NOTIFICATIONS = "viafoura-notifications"
BIG_ID = "0e2e0e2e-0000-4000-8000-0000000b1600"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedStack]:
    """The local stack; failed records retried at once, so a failing dependency dead-letters in seconds."""
    stack = start_served_stack(tmp_path / "state", "--retry-visibility", "0")
    try:
        yield stack
    finally:
        try:
            stack.terminate()
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()


def lines(result: Any) -> list[dict[str, Any]]:
    """A `--json` command's lines; the command must have exited 0."""
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def aws(served: ServedStack, service: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=served.state["region"]
    ).client(service, endpoint_url=served.state["aws_endpoint_url"])


def claim_checked_delivery(served: ServedStack) -> tuple[ClaimCheck, bytes]:
    """A delivery too large for SQS, queued as ingest queues one, whose body is not in S3 (yet)."""
    body = json.dumps(
        {
            "request_uuid": "big",
            "time": 1790000000000,
            "version": 1,
            "notifications": [{"notification_type": "follow", "notification_uuid": BIG_ID, "time": 1790000000000}],
        }
    ).encode()
    bucket = served.state["outputs"]["PayloadBucketName"]
    key = f"deliveries/{NOTIFICATIONS}/2026-11-29/big.json"
    check = ClaimCheck(bucket, key, len(body), hashlib.sha256(body).hexdigest())
    delivery = Delivery(
        NOTIFICATIONS,
        "2026-11-29T12:00:00.000Z",
        "e2e-big",
        "POST",
        "/webhooks/viafoura/notifications",
        claim_check=check.uri,
    )
    aws(served, "sqs").send_message(
        QueueUrl=served.state["resources"]["ViafouraNotificationsQueue"],
        MessageBody=check.pointer(),
        MessageAttributes=delivery.to_message_attributes(),
    )
    return check, body


def test_what_the_stack_stores_quarantines_and_dead_letters_is_found_followed_and_fixed_with_the_cli(
    served: ServedStack, tmp_path: Path
) -> None:
    # Given the local stack serving template.yaml, and the development secrets
    secrets = load_secrets()

    # When every vendor's samples and pings are posted over HTTP with real auth
    for key in VENDORS:
        for path in [*sample_files(key), *ping_files(key)]:
            response = post(served.api_url, sample_request(key, path, secrets), use_proxy=False)
            assert response.status == SUCCESS[key], (path.name, response.body)

    # And a bad delivery, a duplicate, refused deliveries and an 11 MiB body go through `intake send`
    huge = tmp_path / "huge.json"
    huge.write_bytes(b'{"id": "' + b"x" * (11 * 1024 * 1024) + b'"}')
    negative, duplicate, refused, oauth, forged, too_large = served.cli_together(
        ("send", NOTIFICATIONS, "missing-uuid", "--json"),
        ("send", "firstup", "--wait", "--json"),
        ("send", "fastcomments", "--bad-auth", "--json"),
        ("send", "openweb", "--auth", "oauth", "--json"),
        ("send", "openweb", "--auth", "oauth", "--bad-auth", "--json"),
        ("send", "firstup", str(huge), "--json"),
    )
    assert lines(negative)[0]["status"] == 204
    # (sent before: --wait knows it by the consumer's duplicate outcome, not by the stored item)
    assert (lines(duplicate)[0]["status"], duplicate.returncode) == (200, 0)
    assert len(lines(duplicate)[0]["duplicates"]) == 1
    assert lines(refused)[0]["status"] == 401
    assert lines(oauth)[0]["status"] == 200
    assert lines(forged)[0]["status"] == 401
    assert too_large.returncode == 1
    assert json.loads(too_large.stdout)["status"] == 413

    # And a delivery too large for SQS whose body S3 does not have: a dependency that keeps failing
    check, big_body = claim_checked_delivery(served)

    # Then the queues drain, and only that record reaches a DLQ
    served.wait_for(
        lambda: (
            served.depth("ViafouraNotificationsDeadLetterQueue") == 1
            and all(served.depth(f"{spec.stem}Queue") == 0 for spec in VENDORS.values())
        ),
        timeout=40,
        what="the queues to drain and the claim-checked record to reach its DLQ",
    )
    events_out, filtered_out, held_out, status_out, tail_out = served.cli_together(
        ("events", "--json", "--tests", "--limit", "1000"),
        ("events", "--vendor", "firstup", "--type", "content.published", "--json"),
        ("dlq", "list", "--json"),
        ("status", "--json"),
        ("tail", "--since", "10m", "--no-follow", "--json"),
    )

    # `intake events`: every event the golden files promise, each once, newest received first, plus the bad
    # delivery's good event; nothing of the refused deliveries
    events = lines(events_out)
    expected = expected_event_ids()
    assert Counter((event["vendor"], event["event_id"]) for event in events).most_common(1)[0][1] == 1
    for key, ids in expected.items():
        assert ids <= {event["event_id"] for event in events if event["vendor"] == key}, key
    assert "0e2e0e2e-0000-4000-8000-0000000600d1" in {event["event_id"] for event in events}
    received = [event["received_at"] for event in events]
    assert received == sorted(received, reverse=True)
    filtered = lines(filtered_out)
    assert filtered
    assert {(event["vendor"], event["event_type"]) for event in filtered} == {("firstup", "content.published")}

    # `intake dlq list`: the bad event quarantined with its reason and exact text; the record dead-lettered
    held = {item["kind"]: item for item in lines(held_out)}
    quarantined = held["quarantined"]
    assert (quarantined["vendor"], quarantined["reason"]) == (NOTIFICATIONS, "missing_id")
    bad = json.loads((NEGATIVE_DIR / NOTIFICATIONS / "missing-uuid.json").read_text())["notifications"][1]
    assert json.loads(quarantined["body"]) == bad
    letter = held["dead-letter"]
    assert (letter["reason"], letter["correlation_id"]) == ("retries_exhausted", "e2e-big")
    assert letter["receive_count"] >= int(served.state["parameters"]["MaxReceiveCount"])
    assert letter["body"] is None
    assert "get_object failed" in letter["body_error"]

    # `intake status`: the dead letter, and the events stored per vendor
    rows = {row["vendor"]: row for row in lines(status_out)}
    assert rows[NOTIFICATIONS]["dead_letters"] == 1
    assert all(row["queued"] == 0 for row in rows.values())
    assert all(row["events_stored"] >= len(expected[key]) for key, row in rows.items())

    # `intake tail`: each kind of outcome, as the consumers logged it
    outcomes = lines(tail_out)
    assert {"stored", "duplicate", "quarantined", "dead-lettered"} <= {item["outcome"] for item in outcomes}
    assert {"missing_id"} == {item["reason"] for item in outcomes if item["outcome"] == "quarantined"}

    # When S3 has the body after all, and that one dead letter is redriven
    aws(served, "s3").put_object(Bucket=check.bucket, Key=check.key, Body=big_body)
    (fetched,) = [item for item in lines(served.cli("dlq", "list", "--json")) if item["kind"] == "dead-letter"]
    assert fetched["body"] == big_body.decode()
    (moved,) = lines(served.cli("dlq", "redrive", "--id", letter["id"], "--json"))
    assert moved["kind"] == "dead-letter"

    # Then its event is stored, and the DLQ is empty
    # (waited for with one read of the table at a time; the CLI is asked once it is there)
    table = served.state["resources"]["EventsTable"]
    dynamodb = aws(served, "dynamodb")
    served.wait_for(
        lambda: EventReader(table, dynamodb).get(NOTIFICATIONS, BIG_ID) is not None,
        timeout=30,
        what="the redriven record's event to be stored",
    )
    assert run_cli(served.state_dir, "events", "--id", f"{NOTIFICATIONS}#{BIG_ID}").returncode == 0
    assert served.depth("ViafouraNotificationsDeadLetterQueue") == 0

    # When the quarantined event is redriven (still bad), then deleted
    lines(served.cli("dlq", "redrive", "--id", quarantined["id"], "--json"))
    key = QuarantineKey.parse(quarantined["id"])
    served.wait_for(
        lambda: (QuarantineStore(table, dynamodb).get(key) or {}).get("attempts") == 2,
        timeout=30,
        what="the redriven bad event to be quarantined again",
    )
    assert [item["attempts"] for item in lines(served.cli("dlq", "list", "--json"))] == [2]
    lines(served.cli("dlq", "delete", "--id", quarantined["id"], "--json"))
    assert lines(served.cli("dlq", "list", "--json")) == []

    # When a stored event is sent again with other content under its id, with --wait
    edited = json.loads(sample_files("openweb")[0].read_text())
    edited["action_link"] = "https://news.example.com/edited"
    conflict = served.cli("send", "openweb", "--data", json.dumps(edited), "--wait", "--json")

    # Then --wait says this copy was quarantined as a conflict (not a duplicate, not stored)
    assert conflict.returncode == 1
    answer = json.loads(conflict.stdout)
    assert (answer["status"], answer["duplicates"]) == (200, [])
    assert answer["not_stored"] == [
        {
            "id": edited["event_id"],
            "state": "stored_before_quarantined",
            "reason": "conflict",
            "detail": "stored before this send; this copy was quarantined (conflict)",
        }
    ]

    # And the serve terminal showed the outcomes beside its HTTP lines; SIGTERM stops it cleanly
    assert served.terminate() == 0
    output = served.output.read_text()
    assert "POST /webhooks/firstup 200" in output
    assert "quarantined  missing_id" in output
    assert "dead-lettered" in output
    assert not (served.state_dir / "stack.json").exists()
    assert "stopped" in output


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


# What a shell set up for a real AWS account may hold: a profile this machine's ~/.aws does not have (under
# both names botocore reads), endpoints for one service that outrank AWS_ENDPOINT_URL, the switch that
# turns the configured endpoints off, and an office's proxy whose exceptions leave the loopback out.
ACCOUNT_SHELL = {
    "AWS_PROFILE": "not-on-this-machine",
    "AWS_DEFAULT_PROFILE": "not-on-this-machine",
    "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9",
    "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "intranet.example",
    # under the lower-case names too, which Python reads first
    "http_proxy": "http://127.0.0.1:9",
    "no_proxy": "intranet.example",
}


def test_the_local_stack_and_its_commands_work_whatever_aws_settings_the_shell_holds(tmp_path: Path) -> None:
    # Given a shell whose AWS settings are a real account's
    stack = start_served_stack(tmp_path / "state", extra_environment=ACCOUNT_SHELL)
    try:
        # When a sample is sent and waited for, and the queues are read, from that shell
        sent = run_cli(stack.state_dir, "send", "openweb", "--wait", timeout=90, extra_environment=ACCOUNT_SHELL)
        status = run_cli(stack.state_dir, "status", extra_environment=ACCOUNT_SHELL)
    finally:
        stack.terminate()

    # Then the local stack stored it and the commands read it, as on a machine without those settings
    assert sent.returncode == 0, sent.stdout + sent.stderr + stack.output.read_text()
    assert "Stored (1)" in sent.stdout
    assert status.returncode == 0, status.stderr
    assert "Traceback" not in sent.stderr + status.stderr
    assert "openweb" in status.stdout


def test_a_second_serve_on_the_same_state_dir_names_a_command_line_that_starts_one_beside_it(
    served: ServedStack, tmp_path: Path
) -> None:
    # Given a stack served from a state dir (make serve in one terminal)
    # When serve runs again on it (make serve in another)
    again = run_cli(served.state_dir, "serve", "--port", "0")

    # Then it refuses, naming the running one, and the way it names to run another works as written
    assert again.returncode == 1
    assert served.api_url in again.stderr
    advice = again.stderr.split("or start another beside it: ", 1)[1].split()
    assert advice[0] == "intake"
    accepted = run_cli(tmp_path / "other", *[str(tmp_path / "other") if a == "DIR" else a for a in advice[1:]], "-h")
    assert accepted.returncode == 0, accepted.stderr


def serve_process(state_dir: Path) -> subprocess.Popen[str]:
    """`intake serve --port 0` on ``state_dir``, its errors kept."""
    return subprocess.Popen(
        [*intake_command(), "serve", "--port", "0"],
        env=cli_environment(state_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def serving(state_dir: Path, process: subprocess.Popen[str]) -> bool:
    """Whether ``process`` is up: stack.json names it."""
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    try:
        return bool(json.loads((state_dir / "stack.json").read_text(encoding="utf-8"))["pid"] == process.pid)
    except (OSError, ValueError, KeyError):
        return False


def test_two_serves_started_together_on_one_state_dir_run_one_stack_and_a_killed_one_blocks_none(
    tmp_path: Path,
) -> None:
    # Given two serves started at the same moment on one state dir (make serve in two terminals at once)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    started = [serve_process(state_dir), serve_process(state_dir)]
    try:
        # When one of them has ended
        wait_until(lambda: any(process.poll() is not None for process in started), "both serves run on one state dir")
        (ended,) = [process for process in started if process.poll() is not None]
        (running,) = [process for process in started if process is not ended]

        # Then it refused in one line naming the other, and the other runs the one stack
        _, refused = ended.communicate(timeout=10)
        assert ended.returncode == 1, refused
        (line,) = refused.strip().splitlines()
        assert line.startswith("error: a local stack is "), line
        assert f"(pid {running.pid})" in line, line
        wait_until(lambda: serving(state_dir, running), "the serve that was not refused to be up")

        # When it is killed where it stands (SIGKILL, as the OOM killer does), its stack.json and lock file left
        running.kill()
        running.wait(timeout=10)
        assert (state_dir / "stack.json").exists()

        # Then a new serve on the state dir starts all the same, and stops as usual
        again = serve_process(state_dir)
        started.append(again)
        wait_until(lambda: serving(state_dir, again), "a serve after a killed one to be up")
        again.send_signal(signal.SIGTERM)
        _, said = again.communicate(timeout=30)
        assert again.returncode == 0, said
    finally:
        for process in started:
            killed_if_running(process)
            if process.stderr is not None:
                process.stderr.close()


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("demo",), ("demo", "--keep")])
def test_a_state_dir_that_cannot_be_written_is_one_error_line_before_anything_starts(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # Given a state dir that cannot be made (as in a clone another user owns, or on a read-only mount:
    # here it would be below a file, which root too is refused)
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    state_dir = tmp_path / "a-file" / "state"

    # When the local stack is started there
    done = run_cli(state_dir, *command)

    # Then it says which directory and how to name another, in one line, and no stack was left running
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write the state directory {state_dir} (Not a directory)"), line
    assert "--state-dir DIR or INTAKE_STATE_DIR" in line


def edited_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str) -> None:
    """The local stack starts from template.yaml with ``old`` written ``new`` (a developer's edit)."""
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    monkeypatch.setattr(stack_module, "SamTemplate", functools.partial(SamTemplate, path))


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # OpenWeb taken out of the all-vendor loops (vendors added since follow FastComments): its ingest
        # function still names its queue
        (
            "Firstup, OpenWeb, FastComments",
            "Firstup, FastComments",
            "error: template.yaml: 'OpenWebQueue' names no parameter or resource of the template",
        ),
        # a vendor row without a field the loops read
        (
            "      IngestTimeout: 10\n      Path: /webhooks/openweb\n",
            "      Path: /webhooks/openweb\n",
            "error: template.yaml: cannot expand the template: Fn::FindInMap cannot find key 'IngestTimeout'",
        ),
        # a vendor row's key that no vendor package has: its functions fail their init phase, as in Lambda
        (
            "Key: openweb\n",
            "Key: open-web\n",
            "error: OpenWebIngestFunction failed its init phase: unknown vendor key 'open-web'",
        ),
    ],
)
def test_a_template_edit_the_stack_cannot_run_is_one_error_line_and_no_stack_left(
    aws: boto3.session.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, said: str
) -> None:
    # Given template.yaml edited by hand since the last serve (the stack served in this process: moto's
    # backends, which the aws fixture empties, are the process's)
    edited_template(tmp_path, monkeypatch, old, new)
    state_dir = tmp_path / "state"

    # When the local stack is started again
    code, output = cli("--state-dir", str(state_dir), "serve", "--port", "0")

    # Then it says what in one line (no traceback), exit status 1, and nothing is left running
    assert code == 1, output
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if line.startswith("error:")]
    assert line.startswith(said), line
    assert not (state_dir / "stack.json").exists()


def test_a_port_in_use_is_one_error_line_that_offers_a_free_one_and_no_stack_left(
    aws: boto3.session.Session, tmp_path: Path
) -> None:
    # Given a port something else listens on (another serve, a dev server)
    state_dir = tmp_path / "state"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        # When the local stack is asked to serve on it
        code, output = cli("--state-dir", str(state_dir), "serve", "--port", str(port))

    # Then one line says so and how to get a port that is free, exit status 1, and nothing is left running
    assert code == 1, output
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port} ("), line
    assert line.endswith("pick another --port, or --port 0 for a free one"), line
    assert not (state_dir / "stack.json").exists()


def test_a_stack_stopped_while_send_waits_ends_the_wait_in_seconds_with_one_error_line(tmp_path: Path) -> None:
    # Given a stack whose consumer gathers a batch for 20 s, and `intake send --wait` waiting for its event
    stack = start_served_stack(tmp_path / "state", "--parameter", "ConsumerBatchingWindow=20")
    try:
        sender = subprocess.Popen(
            [*intake_command(), "send", "openweb", "--wait"],
            env=cli_environment(stack.state_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stack.wait_for(lambda: "POST /webhooks/openweb 200" in stack.output.read_text(), 30, "the delivery accepted")

        # When the stack is stopped (Ctrl-C in its terminal)
        assert stack.terminate() == 0
        _, errors = sender.communicate(timeout=90)
    finally:
        killed_if_running(stack.process)

    # Then the wait ends in one line, exit status 1
    assert sender.returncode == 1, errors
    assert "Traceback" not in errors
    (line,) = errors.strip().splitlines()
    assert line.startswith("error: "), line


def test_a_local_stack_that_answers_nothing_is_tried_three_times_not_ten() -> None:
    # Given a local stack's address that nothing answers any more (the stack was stopped)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    target = Target("local", "us-east-1", "", "events", {}, endpoint_url=f"http://127.0.0.1:{port}")
    dynamodb = target.client("dynamodb")
    sent: list[object] = []
    dynamodb.meta.events.register("before-send", lambda **_: sent.append(1))

    # When a command reads the table
    with pytest.raises(EndpointConnectionError):
        dynamodb.describe_table(TableName="events")

    # Then it gave up after three tries (botocore's default of ten for DynamoDB sat 26 s in silence)
    assert len(sent) == 3


def test_serve_whose_output_reader_stops_stops_the_stack_quietly_with_status_141(tmp_path: Path) -> None:
    # Given `intake serve | head -12`: what reads its terminal lines stops once it has the first ones
    state_dir = tmp_path / "state"
    serve = subprocess.Popen(
        [*intake_command(), "serve", "--port", "0"],
        env=cli_environment(state_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert serve.stdout is not None
        while b"Ctrl-C to stop." not in serve.stdout.readline():
            assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
        serve.stdout.close()

        # When a delivery arrives (its access line has nowhere to go)
        state = json.loads((state_dir / "stack.json").read_text(encoding="utf-8"))
        request = sample_request("firstup", sample_files("firstup")[0], load_secrets())
        assert post(state["api_url"], request).status == SUCCESS["firstup"]

        # Then serve stops the stack and ends as any intake command at a closed pipe: status 141, nothing said
        code = serve.wait(timeout=30)
        errors = serve.stderr.read().decode() if serve.stderr else ""
    finally:
        killed_if_running(serve)
        for stream in (serve.stdout, serve.stderr):
            if stream is not None:
                stream.close()
    assert code == 141, errors
    assert errors == ""
    assert not (state_dir / "stack.json").exists()


def run_without_standard_output(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One `intake` command started with its standard output closed (``intake ARGS >&-``)."""
    return subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *intake_command(), *args],
        env=cli_environment(state_dir),
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_command_whose_standard_output_is_closed_says_so_in_one_line_as_ls_does(served: ServedStack) -> None:
    # Given a stack, and commands started with their standard output closed (`intake status >&-`)
    table = run_without_standard_output(served.state_dir, "status")
    lines = run_without_standard_output(served.state_dir, "status", "--json")
    nothing = run_without_standard_output(served.state_dir, "events", "--json", "--vendor", "firstup")

    # Then one that has something to print says it cannot, in one line, and ends with 1, as `ls >&-` ends
    # with an error; one with nothing to print ends with 0, as `ls` of an empty directory does
    for result in (table, lines):
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == ["error: cannot write the output: Bad file descriptor"]
    assert (nothing.returncode, nothing.stderr) == (0, "")


HUNG_UP_AT = """
import fcntl, os, select, signal, sys, termios
from intake_cli import __main__ as entry, queues

fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the terminal on its standard streams is its own, as a login shell's is
ready, operation = int(sys.argv[1]), sys.argv[2]
heard, hearing = os.pipe()
os.set_blocking(hearing, False)
signal.set_wakeup_fd(hearing)  # a byte for each signal, as it arrives
sent = queues.call


def call(method, **kwargs):
    answer = sent(method, **kwargs)
    if getattr(method, "__name__", "") == operation:
        queues.call = sent
        os.write(ready, b"!")
        select.select([heard], [], [])  # until the terminal closes: its SIGHUP takes effect as SQS's answer is taken
    return answer


queues.call = call
sys.argv = ["intake", *sys.argv[3:]]
entry.run()
"""
"""`intake ARGS` on a terminal of its own: it says when SQS has answered ``operation``, then waits for the terminal to
close."""


def run_until_its_terminal_closes(served: ServedStack, operation: str, *args: str) -> int:
    """``intake ARGS`` at a terminal that closes (an ssh connection dropped) as SQS answers the first ``operation``:
    the command gets SIGHUP, and every write to the terminal after it fails. Its exit status."""
    import fcntl  # POSIX only, as SIGHUP is
    import pty

    controller, terminal = pty.openpty()
    ready_out, ready_in = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-c", HUNG_UP_AT, str(ready_in), operation, *args],
        env=cli_environment(served.state_dir),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        pass_fds=(ready_in,),
        start_new_session=True,
    )
    for descriptor in (terminal, ready_in):
        os.close(descriptor)
    fcntl.fcntl(controller, fcntl.F_SETFL, fcntl.fcntl(controller, fcntl.F_GETFL) | os.O_NONBLOCK)
    shown = b""
    try:
        while not select.select([ready_out], [], [], 0.2)[0]:
            with contextlib.suppress(BlockingIOError, OSError):
                shown += os.read(controller, 65536)  # what it shows before, read as a terminal would
        with contextlib.suppress(BlockingIOError, OSError):
            shown += os.read(controller, 65536)
        assert os.read(ready_out, 1) == b"!", f"intake {' '.join(args)} ended first:\n{shown.decode(errors='replace')}"
        os.close(controller)
        return process.wait(timeout=60)
    finally:
        os.close(ready_out)
        killed_if_running(process)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_delete_whose_terminal_closes_ends_with_129_its_clean_up_done(served: ServedStack) -> None:
    # Given 25 dead letters (read, then deleted ten at a time)
    sqs = served.sqs()
    queue = served.state["resources"]["ViafouraNotificationsDeadLetterQueue"]
    for n in range(25):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"n": n}))

    # When they are being let go at a terminal that closes (SIGHUP) as SQS answers the first ten deleted
    code = run_until_its_terminal_closes(
        served, "delete_message_batch", "dlq", "delete", "--yes", "--vendor", NOTIFICATIONS
    )

    # Then what it still says to the gone terminal (its bar's last frame, `stopped by SIGHUP after: …`) changes
    # nothing: it ends as SIGHUP ends a command, and the fifteen it read but did not delete are there at once for the
    # next look
    assert code == 129
    listed = lines(served.cli("dlq", "list", "--vendor", NOTIFICATIONS, "--json"))
    assert sum(item["kind"] == "dead-letter" for item in listed) == 15


def test_serve_whose_standard_output_is_closed_stops_the_stack_and_leaves_no_stack_json(tmp_path: Path) -> None:
    # When serve is started with its standard output closed (`intake serve >&-`)
    state_dir = tmp_path / "state"
    served = run_without_standard_output(state_dir, "serve", "--port", "0")

    # Then it says why in one line, ends with 1, and leaves no stack.json naming a stack that is gone
    assert served.returncode == 1, served.stderr
    assert served.stderr.strip().splitlines() == ["error: cannot write the output: Bad file descriptor"]
    assert not (state_dir / "stack.json").exists()


def test_a_secrets_file_edited_since_the_stack_started_is_named_when_its_credential_is_refused(tmp_path: Path) -> None:
    # Given a stack started with a secrets file, which is then edited (OpenWeb's token changed)
    secrets = load_secrets()
    seeded = tmp_path / "secrets.json"
    seeded.write_text(json.dumps(secrets))
    stack = start_served_stack(tmp_path / "state", "--secrets", str(seeded))
    try:
        seeded.write_text(json.dumps({**secrets, "openweb": {**secrets["openweb"], "tokens": ["edited-" * 8]}}))

        # When a delivery is sent, signed with the file as it is now
        edited = run_cli(stack.state_dir, "send", "openweb")
        # and another vendor's, whose values did not change
        unchanged = run_cli(stack.state_dir, "send", "firstup")
    finally:
        stack.terminate()

    # Then the refusal says why: the stack checks the values it read at its start
    assert edited.returncode == 1, edited.stderr
    assert "401" in edited.stdout
    assert "has changed since the local stack started" in edited.stderr, edited.stderr
    assert "restart intake serve" in edited.stderr
    assert "edited-" not in edited.stdout + edited.stderr
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "has changed" not in unchanged.stderr


def test_a_client_secret_edited_since_the_stack_started_is_named_when_the_token_route_refuses_it(
    tmp_path: Path,
) -> None:
    # Given a stack started with a secrets file, whose OpenWeb client secret is then edited
    secrets = load_secrets()
    seeded = tmp_path / "secrets.json"
    seeded.write_text(json.dumps(secrets))
    stack = start_served_stack(tmp_path / "state", "--secrets", str(seeded))
    try:
        seeded.write_text(json.dumps({**secrets, "openweb": {**secrets["openweb"], "client_secret": "edited-" * 8}}))

        # When a delivery is sent in OAuth mode, its assertion signed with the file as it is now
        sent = run_cli(stack.state_dir, "send", "openweb", "--auth", "oauth")
    finally:
        stack.terminate()

    # Then the token route's refusal says why, as a refused delivery's does, never naming the value
    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert "the token route answered 401" in sent.stderr
    assert "has changed since the local stack started" in sent.stderr, sent.stderr
    assert "restart intake serve" in sent.stderr
    assert "edited-" not in sent.stdout + sent.stderr


def test_serve_stopped_with_an_accepted_delivery_not_yet_stored_says_it_is_gone(tmp_path: Path) -> None:
    # Given a stack whose consumer gathers a batch for 20 s, and a delivery it accepted
    stack = start_served_stack(tmp_path / "state", "--parameter", "ConsumerBatchingWindow=20")
    try:
        sent = run_cli(stack.state_dir, "send", "openweb")
        assert sent.returncode == 0, sent.stdout + sent.stderr

        # When the stack is stopped before the consumer took it
        assert stack.terminate() == 0
    finally:
        killed_if_running(stack.process)

    # Then its last line says the delivery was still queued and is gone with the stack
    last = stack.output.read_text().strip().splitlines()[-1]
    assert last.startswith("stopped; its queues held 1 accepted delivery not stored yet, gone with it"), last


def test_a_second_ctrl_c_while_serve_stops_ends_it_at_once_and_leaves_no_stack_json(tmp_path: Path) -> None:
    # Given a stack whose consumer is gathering a batch for 20 s around a delivery it took (Ctrl-C reaches it,
    # as it reaches a command run at a terminal)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    output = state_dir / "serve.out"
    with output.open("wb") as sink:
        serve = subprocess.Popen(
            [*intake_command(), "serve", "--port", "0", "--parameter", "ConsumerBatchingWindow=20"],
            env=cli_environment(state_dir),
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
        )
    try:
        wait_until(lambda: serving(state_dir, serve), "serve to be up")
        state = json.loads((state_dir / "stack.json").read_text(encoding="utf-8"))
        assert run_cli(state_dir, "send", "openweb").returncode == 0
        sqs = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=state["region"]
        ).client("sqs", endpoint_url=state["aws_endpoint_url"])
        queue = state["resources"]["OpenWebQueue"]

        def taken() -> bool:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
            )
            return attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"

        wait_until(taken, "the consumer to take the delivery")

        # When Ctrl-C stops it, and comes again while the consumer's batch is being waited for
        serve.send_signal(signal.SIGINT)
        wait_until(lambda: b"stopping: " in output.read_bytes(), "serve to say it is stopping")
        serve.send_signal(signal.SIGINT)
        code = serve.wait(timeout=30)
    finally:
        killed_if_running(serve)

    # Then it ends at once as Ctrl-C ends a command, and leaves no stack.json naming a stack that is gone
    assert code == 130, output.read_text()
    assert "Ctrl-C again stops at once" in output.read_text()
    assert not (state_dir / "stack.json").exists()
    status = run_cli(state_dir, "status")
    assert status.returncode == 1
    assert "no local stack running" in status.stderr


OUTCOMES_SLOW_TO_END = """
import os, signal, sys, threading
from intake_cli import __main__ as entry, outcomes, stack

followed, waits = outcomes.follow_file, stack.wait_for_signal


def wait_for_signal(until=None, asked=None):
    def said_once_taken():
        while signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            threading.Event().wait(0.05)
        os.write(2, b"serve: waiting for a signal\\n")

    threading.Thread(target=said_once_taken, daemon=True).start()
    waits(until, asked)



def follow_file(path, stop, **kwargs):
    yield from followed(path, stop, **kwargs)
    os.write(2, b"outcomes: last line being written\\n")
    threading.Event().wait(60)  # its last write to the terminal takes its time


outcomes.follow_file, stack.wait_for_signal = follow_file, wait_for_signal
sys.argv = ["intake", *sys.argv[1:]]
entry.run()
"""
"""`intake ARGS` whose outcomes thread, once told to stop, takes its time to end (a terminal slow to take its last
line); says on standard error when serve's wait has taken the signals, and when the outcomes are ending."""


@pytest.mark.parametrize(
    ("sent", "said_before"),
    [
        # Ctrl-C reaches it, as it reaches a command run at a terminal; the first one says a second would stop it
        (signal.SIGINT, "Ctrl-C again stops at once"),
        # a supervisor stops it with SIGTERM, and sends it again
        (signal.SIGTERM, None),
    ],
)
def test_a_second_stop_while_serve_waits_for_its_outcomes_to_end_stops_it_at_once(
    tmp_path: Path, sent: signal.Signals, said_before: str | None
) -> None:
    # Given serve, whose outcome lines take their time to end once it stops
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    output = state_dir / "serve.out"
    with output.open("wb") as sink:
        serve = subprocess.Popen(
            [sys.executable, "-c", OUTCOMES_SLOW_TO_END, "serve", "--port", "0"],
            env=cli_environment(state_dir),
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
        )
    try:
        wait_until(lambda: b"serve: waiting for a signal" in output.read_bytes(), "serve to wait for a signal")

        # When the signal stops it, and comes again while its outcome lines end
        serve.send_signal(sent)
        wait_until(lambda: b"outcomes: last line being written" in output.read_bytes(), "the outcomes to be ending")
        serve.send_signal(sent)
        code = serve.wait(timeout=30)
    finally:
        killed_if_running(serve)

    # Then the second one ends it at once, as that signal ends a command (130, 143): no 'stopped' line, no
    # stack.json left
    said = output.read_text()
    assert code == 128 + sent, said
    if said_before:
        assert said_before in said
    assert "\nstopped" not in said
    assert not (state_dir / "stack.json").exists()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_serve_whose_terminal_closes_stops_the_stack_as_on_sigterm(tmp_path: Path) -> None:
    # Given a running stack
    stack = start_served_stack(tmp_path / "state")
    try:
        # When its terminal closes (SIGHUP)
        stack.process.send_signal(signal.SIGHUP)
        code = stack.process.wait(timeout=20)
    finally:
        killed_if_running(stack.process)

    # Then it stops as on SIGTERM: cleanly, status 0, no stack.json left for the next command to trust
    assert code == 0, stack.output.read_text()
    assert stack.output.read_text().strip().splitlines()[-1].startswith("stopped")
    assert not (stack.state_dir / "stack.json").exists()


AT_ITS_OWN_TERMINAL = """
import fcntl, sys, termios
from intake_cli import __main__ as entry

fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the terminal on its standard streams is its own, as a login shell's is
sys.argv = ["intake", *sys.argv[1:]]
entry.run()
"""
"""`intake ARGS` on a terminal of its own, which sends it SIGHUP as it closes."""


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_serve_whose_terminal_closes_stops_the_stack_with_status_0(tmp_path: Path) -> None:
    import fcntl  # POSIX only, as SIGHUP is
    import pty

    # Given serve running at a terminal of its own (an ssh login)
    state_dir = tmp_path / "state"
    controller, terminal = pty.openpty()
    serve = subprocess.Popen(
        [sys.executable, "-c", AT_ITS_OWN_TERMINAL, "serve", "--port", "0"],
        env=cli_environment(state_dir),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    fcntl.fcntl(controller, fcntl.F_SETFL, fcntl.fcntl(controller, fcntl.F_GETFL) | os.O_NONBLOCK)
    shown = b""

    def up() -> bool:
        nonlocal shown
        with contextlib.suppress(BlockingIOError, OSError):
            shown += os.read(controller, 65536)  # what it shows, read as a terminal would
        return serving(state_dir, serve) and b"Ctrl-C to stop." in shown

    try:
        wait_until(up, "serve to be up")

        # When the terminal closes (the connection dropped): SIGHUP, and every write to the terminal fails after it
        os.close(controller)
        code = serve.wait(timeout=60)
    finally:
        killed_if_running(serve)

    # Then serve stops the stack as on SIGTERM, its last words going nowhere: status 0, no stack.json left behind
    assert code == 0
    assert not (state_dir / "stack.json").exists()


def test_serve_stopped_with_its_queues_empty_says_stopped() -> None:
    assert Left(queued=0, dead_letters=0).sentence() == ""
    assert (
        Left(queued=2, dead_letters=1)
        .sentence()
        .startswith("its queues held 2 accepted deliveries not stored yet and 1 dead letter, gone with it")
    )


def test_a_sigterm_while_serve_starts_stops_the_stack_once_it_is_up_as_one_in_its_wait_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SIGTERM taken as Ctrl-C, as the installed command takes it, and a supervisor that sends it while serve
    # starts (the moment stack.json appears is one such)
    moto_started = stack_module.LocalStack._start_moto

    def then_terminated(self: stack_module.LocalStack) -> None:
        moto_started(self)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(stack_module.LocalStack, "_start_moto", then_terminated)
    previous = signal.signal(signal.SIGTERM, stop_as_ctrl_c)

    # When serve runs
    try:
        code, text = cli("--state-dir", str(tmp_path / "state"), "serve", "--port", "0")
    finally:
        signal.signal(signal.SIGTERM, previous)

    # Then the stop is heeded once the stack is up, as in its wait: status 0, its last line says so, stack.json gone
    assert code == 0, text
    assert "local stack" in text and " is up" in text, text
    assert text.strip().splitlines()[-1].startswith("stopped"), text
    assert not (tmp_path / "state" / "stack.json").exists()
