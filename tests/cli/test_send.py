"""`intake send`: by sample name or normalized type, a file, stdin or --data; to a deployed stack, as a test."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import socket
import sys
import threading
import time
import types
import warnings
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from intake_cli.commands.send import Awaited, DeadLetters, NotStored, Waited, _print, _wait_for, choose
from intake_cli.gateway import HTTP_API_PAYLOAD_LIMIT, make_gateway
from intake_cli.outcomes import Outcome
from intake_cli.samples import SAMPLES_DIR, OutgoingRequest, sample_files, sample_request
from intake_cli.sending import openweb_access_token, post
from intake_cli.target import IntakeError
from tests.helpers import (
    TypedAtATerminal,
    cli,
    cli_json,
    consumer_dynamodb_hook,
    depth,
    dlq_url,
    fail_writes_of,
    hook_cli_clients,
    publish_outputs,
    run_as_intake,
    sample_document,
    undocumented,
)
from webhook_intake.clients import client
from webhook_intake.delivery import id_label
from webhook_intake.store.table import CONSUMER_CONFIG

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import boto3

    from intake_cli.runtime import LocalRuntime
    from intake_cli.target import Target


def test_a_normalized_type_picks_a_sample_holding_it_and_the_vendors_own_first() -> None:
    chosen = choose("comment.liked", None, None)
    assert chosen.vendor == "openweb"
    assert chosen.label == "openweb/liked-message.json"
    assert chosen.body == (SAMPLES_DIR / "openweb" / "liked-message.json").read_bytes()


def test_a_batch_is_cut_down_to_the_events_of_the_type_asked_for() -> None:
    # When a type only found inside a Viafoura engagement batch is asked for
    chosen = choose("viafoura-engagement", "comment.pinned", None)

    # Then the body is the sample's envelope with just that event
    document = json.loads(chosen.body)
    assert [event["action"] for event in document["events"]] == ["pinned"]
    assert document["request_uuid"]
    assert "(its 1 comment.pinned event of" in chosen.label


def test_names_files_and_data_are_found_the_same_way(tmp_path: Path) -> None:
    assert choose("fastcomments", "comment-created.reply", None).name == "comment-created.reply"
    assert choose("firstup", None, None).label.startswith("firstup/")
    assert choose("openweb", None, '{"event_id": "x"}').body == b'{"event_id": "x"}'
    body = tmp_path / "mine.json"
    body.write_text("{}")
    assert choose("openweb", str(body), None).body == b"{}"


@pytest.mark.parametrize(
    ("what", "body", "message"),
    [
        ("openweb", "no-such-sample", "no sample or file 'no-such-sample' for openweb"),
        ("openweb", "no-such-sample", "samples: followee-commented"),
        # A sample name one letter off: the one meant
        ("openweb", "liked-mesage", "no sample or file 'liked-mesage' for openweb (did you mean liked-message?)"),
        # and one with a dot in its name, which is no type: the sample meant, not the list of types
        (
            "openweb",
            "liked-mesage.documented",
            "no sample or file 'liked-mesage.documented' for openweb (did you mean liked-message.documented?)",
        ),
        ("fastcomments", "comment-created.rply", "(did you mean comment-created.reply?)"),
        ("fastcomments", "comment.likd", "did you mean comment.liked"),
        # A type the vendor's samples do not hold: which types they do, and who has one
        ("openweb", "comment.created", "no openweb sample holds a comment.created event; its samples hold: "),
        ("openweb", "comment.created", "comment.approved, comment.liked,"),
        ("openweb", "comment.created", "a sample of fastcomments does: intake send comment.created"),
        ("comment.like", None, "did you mean comment.liked"),
        ("disqus", None, "'disqus' is not a vendor"),
        # A vendor key one letter off, with the sample named after it: the vendor meant, as without one
        ("openwbe", "liked-message", "'openwbe' is not a vendor (did you mean openweb?)"),
        ("fastcoments", "-", "'fastcoments' is not a vendor (did you mean fastcomments?)"),
        ("comment", None, "is a subject"),
        ("openweb", ".", "is a directory: give a file, a sample name, - or --data"),
    ],
)
def test_what_cannot_be_sent_is_one_clear_message(what: str, body: str | None, message: str) -> None:
    with pytest.raises(IntakeError) as caught:
        choose(what, body, None)
    assert message in str(caught.value)


def test_a_body_file_that_cannot_be_read_is_one_error_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a body file the operator may not read (root reads every file: the refusal is the one the system gives)
    body = tmp_path / "body.json"
    body.write_text('{"event_id": "e-1", "type": "user-followed"}', encoding="utf-8")
    body.chmod(0)
    read_bytes = pathlib.Path.read_bytes

    def refused(path: pathlib.Path) -> bytes:
        if path == body:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(pathlib.Path, "read_bytes", refused)

    # When it is sent
    code, text = cli("send", "openweb", str(body))

    # Then one line says so, exit status 1, before any stack is looked for
    assert code == 1, text
    assert text.strip().splitlines() == [f"error: cannot read {body}: Permission denied"]


def test_an_empty_body_argument_is_a_usage_error_saying_it_is_empty() -> None:
    # An unset shell variable ("intake send openweb $FILE") is no path, not the current directory
    code, text = cli("send", "openweb", "")
    assert code == 2, text
    assert "is empty: give a sample name" in text
    assert "directory" not in text


def test_a_dash_with_a_terminal_for_stdin_is_a_usage_error_saying_to_pipe_the_body_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given standard input that is the operator's terminal, nothing piped in
    monkeypatch.setattr("sys.stdin", TypedAtATerminal(""))

    # When "-" is named as the body
    with pytest.raises(SystemExit) as exited:
        app(["send", "openweb", "-"], prog_name="intake")

    # Then it is a mistake in the command line, said as one, before anything waits on the terminal
    assert exited.value.code == 2
    said = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert "- reads the body from stdin: pipe it in (intake send VENDOR - < body.json)" in said


@pytest.fixture
def gateway(runtime: LocalRuntime) -> Iterator[str]:
    """The runtime's routes over real HTTP, and consumers draining in the background, like the local stack."""
    # Lambda's init phase now: a handler loaded during a CLI run would log to that run's captured stdout.
    for function in runtime.functions.values():
        _ = function.handler
    server = make_gateway(runtime, 0)
    stop = threading.Event()
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(
            target=lambda: [runtime.drain() or stop.wait(0.1) for _ in iter(stop.is_set, True)], daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    yield f"http://127.0.0.1:{server.port}"
    stop.set()
    server.shutdown()
    for thread in threads:
        thread.join(timeout=10)


def test_an_answer_of_413_is_reported_as_413_not_a_broken_pipe(gateway: str) -> None:
    # Given a body over API Gateway's limit
    body = b'{"id": "' + b"x" * (HTTP_API_PAYLOAD_LIMIT + 10) + b'"}'

    # When it is posted the way intake send posts
    response = post(gateway, OutgoingRequest("firstup", "POST", "/webhooks/firstup", {}, body), use_proxy=False)

    # Then the stack's own answer comes back
    assert response.status == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_a_body_over_a_mib_still_goes_through_after_100_continue(gateway: str) -> None:
    body = json.dumps({"id": "big-ish", "name": "content_published", "padding": "p" * (2 * 1024 * 1024)}).encode()
    response = post(gateway, OutgoingRequest("firstup", "POST", "/webhooks/firstup", {}, body), use_proxy=False)
    assert response.status == 401  # no credential: refused by the function, which means it got the body


@pytest.fixture
def deployed(aws: boto3.session.Session, runtime: LocalRuntime, gateway: str) -> str:
    """A 'deployed' stack whose API is the gateway above; its name."""
    publish_outputs(aws, runtime, api_url=gateway)
    return runtime.stack.name


def test_sending_to_a_deployed_stack_asks_first_and_marks_the_delivery_as_a_test(deployed: str) -> None:
    # Given no --yes and no terminal to ask at
    code, text = cli("send", "comment.liked", "--stack", deployed)
    assert code == 1
    assert "add --yes" in text

    # When sent with --yes and --wait
    (answer,) = cli_json("send", "comment.liked", "--stack", deployed, "--yes", "--wait", "--json")

    # Then it was accepted, and the event stored is marked as a test (so left out of reads by default)
    assert answer["status"] == 200
    (event,) = answer["events"]
    assert (event["event_type"], event["test"]) == ("comment.liked", True)
    assert answer["not_stored"] == []
    assert answer["dead_letters_since_send"] == 0
    assert not undocumented("send", [answer])  # each field a script reads is in docs/local-stack.md's table
    assert cli_json("events", "--stack", deployed, "--json") == []
    assert len(cli_json("events", "--stack", deployed, "--json", "--tests")) == 1


def test_the_answer_names_the_correlation_id_the_stored_event_and_its_log_lines_carry(deployed: str) -> None:
    # Given deliveries of a vendor that sends no delivery id of its own (OpenWeb) and of one that does (Firstup)
    for what, vendor in (("liked-message", "openweb"), ("content_published", "firstup")):
        # When each is sent, for a person and for a script
        code, text = cli("send", vendor, what, "--stack", deployed, "--yes", "--wait")
        (answer,) = cli_json("send", vendor, what, "--stack", deployed, "--yes", "--json")

        # Then each says the id to follow it by: the one its stored events carry (API Gateway's request id
        # where the vendor sends none, which its answer's apigw-requestid header names)
        assert code == 0, text
        (stored,) = cli_json("events", "--stack", deployed, "--json", "--tests", "--vendor", vendor)
        first = stored["correlation_id"]
        assert f"correlation id {first}\n" in text
        assert answer["correlation_id"] and answer["correlation_id"] != first
        if vendor == "openweb":
            assert answer["correlation_id"] == answer["headers"]["apigw-requestid"]
        else:  # its x-socialchorus-delivery, a new one each request
            assert answer["correlation_id"] != answer["headers"]["apigw-requestid"]
            assert re.fullmatch(r"[0-9a-f-]{36}", answer["correlation_id"])
    assert not undocumented("send", [answer])


def test_a_firstup_ping_sent_with_wait_says_it_is_a_ping_and_waits_for_nothing(deployed: str) -> None:
    for body in ("{}", '{"name": "ping"}'):
        started = time.monotonic()
        code, text = cli("send", "firstup", "--data", body, "--stack", deployed, "--yes", "--wait")
        assert code == 0, text
        assert "a ping: answered, never stored" in text
        assert "not stored" not in text.replace("never stored", "")
        assert time.monotonic() - started < 5  # the wait (30 s) is for events, and a ping holds none
    (answer,) = cli_json("send", "firstup", "--data", "{}", "--stack", deployed, "--yes", "--wait", "--json")
    assert (answer["status"], json.loads(answer["body"]), answer["events"], answer["not_stored"]) == (
        200,
        {"accepted": True, "ping": True},
        [],
        [],
    )
    assert cli_json("events", "--stack", deployed, "--json", "--tests") == []


def test_wait_never_counts_an_event_stored_before_the_send_as_this_deliverys(deployed: str) -> None:
    # Given an event already stored by an earlier send
    (first,) = cli_json("send", "comment.liked", "--stack", deployed, "--yes", "--wait", "--json")
    assert first["not_stored"] == []

    # When it is sent again with --wait, where the consumer's outcomes cannot be read
    code, text = cli("send", "comment.liked", "--stack", deployed, "--yes", "--wait", "--json")

    # Then the stored item does not pass for proof that this delivery was consumed
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert answer["duplicates"] == []
    (entry,) = answer["not_stored"]
    assert (entry["id"], entry["state"], entry["reason"]) == (
        first["events"][0]["event_id"],
        "stored_before_no_outcome",
        None,
    )
    assert "stored before this send; no outcome of the consumer for this delivery" in entry["detail"]
    assert code == 1


class ConsumerDown(Exception):
    """A fault of the consumer's that no retry mends: every receive of its record fails."""


@pytest.fixture
def dead_lettering(deployed: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The deployed stack, whose OpenWeb consumer fails every delivery holding an event ``dead-…`` until SQS moves
    it to the dead-letter queue (after MaxReceiveCount receives); a wait for one lasts 1 s from when it is there."""
    import intake_cli.event_log as event_log
    from intake_cli.commands import send as send_module

    monkeypatch.setattr(send_module, "WAIT_SECONDS", 1.0)
    dead_letters = dlq_url(runtime, "openweb")
    reads = event_log.full_events
    before: dict[str, int] = {}

    def read_once_dead_lettered(target: Target, keys: Any) -> list[dict[str, Any]]:
        for _, event_id in keys:
            if not event_id.startswith("dead-"):
                continue
            if event_id not in before:  # the read before the send
                before[event_id] = depth(runtime, dead_letters)
                continue
            deadline = time.monotonic() + 60
            while depth(runtime, dead_letters) <= before[event_id]:
                assert time.monotonic() < deadline, f"{event_id} was never dead-lettered"
                time.sleep(0.1)
        return reads(target, keys)

    monkeypatch.setattr(event_log, "full_events", read_once_dead_lettered)
    with consumer_dynamodb_hook(fail_writes_of("dead-", ConsumerDown)):
        yield deployed


def test_wait_for_a_delivery_the_consumer_dead_lettered_points_at_the_dead_letter_queue(dead_lettering: str) -> None:
    # When a delivery the consumer keeps failing is sent with --wait, and SQS moves it to the dead-letter queue
    first = '{"event_id": "dead-1", "type": "user-followed"}'
    code, text = cli("send", "openweb", "--data", first, "--stack", dead_lettering, "--yes", "--wait")

    # Then the event not stored says the dead-letter queue took a message since the send, and where to see it,
    # rather than only that the wait was too short
    assert code == 1, text
    hint = "openweb's dead-letter queue took 1 message since the send: intake dlq list shows them"
    assert f"not stored dead-1: not stored within 1 s; {hint}" in " ".join(text.split())

    # When another is sent with --wait for a script, the first one still on the dead-letter queue
    second = first.replace("dead-1", "dead-2")
    code, text = cli("send", "openweb", "--data", second, "--stack", dead_lettering, "--yes", "--wait", "--json")

    # Then the count is a field, of the dead letters since this send only, and the event's entry says the same
    assert code == 1, text
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert answer["dead_letters_since_send"] == 1
    assert answer["not_stored"] == [
        {"id": "dead-2", "state": "not_stored", "reason": None, "detail": f"not stored within 1 s; {hint}"}
    ]
    assert not undocumented("send", [answer])
    # and intake dlq list shows both, where the hint sends the operator
    letters = [item for item in cli_json("dlq", "list", "--stack", dead_lettering, "--json")]
    assert sorted(item["event_id"] for item in letters if item["kind"] == "dead-letter") == ["dead-1", "dead-2"]


def test_wait_where_the_dead_letter_queue_cannot_be_read_says_what_it_said_before(
    dead_lettering: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    # Given credentials that may not read a queue's attributes
    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetQueueAttributes")

    hook_cli_clients(monkeypatch, "sqs", {"before-call.sqs.GetQueueAttributes": denied})

    # When a delivery the consumer keeps failing is sent with --wait, and SQS moves it to the dead-letter queue
    body = '{"event_id": "dead-1", "type": "user-followed"}'
    code, text = cli("send", "openweb", "--data", body, "--stack", dead_lettering, "--yes", "--wait", "--json")

    # Then the wait says what it can know, and nothing of the dead-letter queue
    assert code == 1, text
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert answer["dead_letters_since_send"] is None
    assert answer["not_stored"] == [
        {"id": "dead-1", "state": "not_stored", "reason": None, "detail": "not stored within 1 s"}
    ]
    assert not [line for line in text.splitlines() if line.startswith("error:")], text
    assert "dead-letter queue" not in text


def test_stdin_is_a_body_and_wait_says_what_was_not_stored(deployed: str) -> None:
    body = json.dumps(
        {
            "request_uuid": "r",
            "time": 1790000000000,
            "version": 1,
            "notifications": [
                {"notification_type": "follow", "notification_uuid": "stdin-1", "time": 1790000000000},
                {"notification_type": "follow", "time": 1790000000000},
            ],
        }
    )
    code, text = cli(
        "send", "viafoura-notifications", "-", "--stack", deployed, "--yes", "--wait", "--json", input_text=body
    )
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert answer["file"] == "stdin"
    assert [event["event_id"] for event in answer["events"]] == ["stdin-1"]
    # each as fields a script tests, the event without an id as null
    assert answer["not_stored"] == [
        {"id": None, "state": "quarantined", "reason": "missing_id", "detail": "quarantined (missing_id)"}
    ]
    assert not undocumented("send", answer["not_stored"])
    assert code == 1


def test_wait_counts_an_event_sent_with_a_byte_order_mark_as_stored(deployed: str, tmp_path: Path) -> None:
    # Given a body saved with a UTF-8 byte order mark, which the ingest function reads without it
    event = sample_document("openweb", "liked-message")
    event["event_id"] = "bom-1"
    body = tmp_path / "bom.json"
    body.write_bytes("\ufeff".encode() + json.dumps(event).encode())

    # When it is sent with --wait
    code, text = cli("send", "openweb", str(body), "--stack", deployed, "--yes", "--wait", "--json")

    # Then the event stored is what --wait reports, not a body it could not read
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert answer["status"] == 200
    assert [stored["event_id"] for stored in answer["events"]] == ["bom-1"]
    assert answer["not_stored"] == []
    assert code == 0


@pytest.mark.parametrize("vendor_key", ["viafoura-engagement", "viafoura-notifications"])
@pytest.mark.parametrize("request_uuid", ["r\u00e9q-\u202e-\U0001f600", "req-1\r\nx-other: 1"])
def test_a_request_uuid_no_header_can_carry_is_sent_without_a_traceback(
    deployed: str, vendor_key: str, request_uuid: str
) -> None:
    # Given a Viafoura body whose request_uuid (which Viafoura repeats in x-request-id) is no header value
    body = json.loads(sample_files(vendor_key)[0].read_text(encoding="utf-8"))
    body["request_uuid"] = request_uuid

    # When it is sent
    code, text = cli("send", vendor_key, "--data", json.dumps(body), "--stack", deployed, "--yes", "--json")

    # Then it is delivered and answered, the body's request_uuid named in engagement's answer
    assert code == 0, text
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert 200 <= answer["status"] < 300
    if vendor_key == "viafoura-engagement":
        assert json.loads(answer["body"])["request_uuid"] == request_uuid


@pytest.mark.parametrize(("request_uuid", "answered"), [(None, ""), (True, "true"), (42, "42")])
def test_a_request_uuid_that_is_not_a_string_is_repeated_in_the_header_as_json_writes_it(
    deployed: str, request_uuid: object, answered: str
) -> None:
    # Given a Viafoura engagement body whose request_uuid is null (answered by the header's) or another JSON value
    body = json.loads(sample_files("viafoura-engagement")[0].read_text(encoding="utf-8"))
    body["request_uuid"] = request_uuid

    # When it is sent, then the answer names it as JSON writes it: never Python's None or True
    (answer,) = cli_json(
        "send", "viafoura-engagement", "--data", json.dumps(body), "--stack", deployed, "--yes", "--json"
    )
    assert answer["status"] == 200
    assert json.loads(answer["body"])["request_uuid"] == answered


def test_wait_says_at_once_that_the_consumer_quarantined_an_event_the_cli_thought_storable(
    deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake_cli.commands import send as send_module

    monkeypatch.setattr(send_module, "WAIT_SECONDS", 20.0)
    # Given a consumer that quarantines an event the CLI's own mapping takes (DynamoDB refuses its item)
    dynamodb = client("dynamodb", CONSUMER_CONFIG)

    def refuse(request: Any, **_: Any) -> None:
        if b"unforeseen-1" in (request.body or b"") and b"PutItem" in request.headers.get("X-Amz-Target", b""):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "injected"}}, "PutItem")

    body = json.dumps({"event_id": "unforeseen-1", "type": "user-followed", "user": {"user_id": "u-1"}})
    dynamodb.meta.events.register_first("before-send.dynamodb", refuse)
    try:
        # When it is sent with --wait
        started = time.monotonic()
        code, text = cli("send", "openweb", "--data", body, "--stack", deployed, "--yes", "--wait", "--json")
        waited = time.monotonic() - started
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb", refuse)

    # Then it says the event was quarantined, and why, as soon as it was (not after the whole wait)
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert answer["not_stored"] == [
        {
            "id": "unforeseen-1",
            "state": "quarantined",
            "reason": "store_refused",
            "detail": "quarantined (store_refused)",
        }
    ]
    assert code == 1
    assert waited < 15


def engagement_batch(*events: dict[str, Any]) -> str:
    """A Viafoura engagement delivery holding ``events`` (each a like of one comment unless it says)."""
    usual = {"time": 1790000000000, "content_uuid": "c-1", "actor_uuid": "a-1", "message_type": "livecomment_post"}
    return json.dumps(
        {"request_uuid": "r", "time": 1790000000000, "version": 1, "events": [{**usual, **event} for event in events]}
    )


def test_wait_for_a_batch_holding_one_event_twice_ends_once_it_is_stored(deployed: str) -> None:
    # Given a delivery that holds the same event twice (a vendor's batch may repeat one)
    body = engagement_batch({"event_uuid": "twice-1", "action": "liked"}, {"event_uuid": "twice-1", "action": "liked"})

    # When it is sent with --wait
    started = time.monotonic()
    code, text = cli("send", "viafoura-engagement", "--data", body, "--stack", deployed, "--yes", "--wait", "--json")
    waited = time.monotonic() - started

    # Then it ends as soon as the event is stored, not after the whole wait
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert [event["event_id"] for event in answer["events"]] == ["twice-1"]
    assert answer["not_stored"] == []
    assert code == 0
    assert waited < 15


def test_wait_names_a_copy_with_other_content_in_the_same_delivery_that_was_quarantined(
    deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake_cli.commands import send as send_module

    # Given a vendor's own delivery (no test mark: a test copy with other content replaces the one before)
    # holding one id twice, with other content the second time
    monkeypatch.setattr(send_module, "_as_test", lambda request: request)
    body = engagement_batch({"event_uuid": "split-1", "action": "liked"}, {"event_uuid": "split-1", "action": "pinned"})

    # When it is sent with --wait
    code, text = cli("send", "viafoura-engagement", "--data", body, "--stack", deployed, "--yes", "--wait", "--json")

    # Then one copy is stored and the other is said to be quarantined as a conflict: not every event was stored
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert [event["event_id"] for event in answer["events"]] == ["split-1"]
    assert answer["not_stored"] == [
        {
            "id": "split-1",
            "state": "copy_quarantined",
            "reason": "conflict",
            "detail": "a copy with other content in this delivery was quarantined (conflict)",
        }
    ]
    assert code == 1


def test_a_server_that_refuses_unread_and_hangs_up_is_heard_not_a_broken_pipe() -> None:
    # Given a server that answers 413 as soon as it has the headers, then closes without reading the body
    listener = socket.create_server(("127.0.0.1", 0))
    heard: list[bytes] = []

    def refuse() -> None:
        conn, _ = listener.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            heard.append(head)
            conn.sendall(
                b'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{"n": "413"}\n'
            )
            conn.shutdown(socket.SHUT_WR)
            time.sleep(0.5)

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    body = b"x" * (11 * 1024 * 1024)

    # When an 11 MiB body is posted to it
    response = post(
        f"http://127.0.0.1:{listener.getsockname()[1]}",
        OutgoingRequest("firstup", "POST", "/x", {}, body),
        use_proxy=False,
    )
    thread.join(timeout=5)
    listener.close()

    # Then the answer is its 413, the body having been announced, never pushed at a closed socket
    assert response.status == 413
    assert b"expect: 100-continue" in heard[0].lower()


def test_wait_finds_a_firstup_event_whose_id_is_its_deliverys(deployed: str) -> None:
    # Firstup's older envelope names no id: the event takes x-socialchorus-delivery's, and so must --wait
    body = json.dumps({"event": "content.published", "timestamp": "2026-08-03T12:59:58Z", "data": {"content_id": 1}})
    code, text = cli("send", "firstup", "--data", body, "--stack", deployed, "--yes", "--wait", "--json")
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert (answer["status"], answer["not_stored"], code) == (200, [], 0)
    (event,) = answer["events"]
    assert event["event_type"] == "content.published"


# ---------------------------------------------------------------- --wait and the consumer's outcomes

EVENT = "wait-1"


@pytest.fixture
def outcomes_seen(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Waited]:
    """``--wait`` for an event stored before the send, over the outcomes given (a second to wait)."""
    import intake_cli.event_log as event_log
    import intake_cli.outcomes as outcomes_module
    from intake_cli.commands import send as send_module

    monkeypatch.setattr(send_module, "WAIT_SECONDS", 1.0)

    def seen(
        *lines: Outcome,
        sent: datetime,
        replaced: frozenset[str] = frozenset(),
        margin: float = 5.0,
        event_id: str = EVENT,
    ) -> Waited:
        monkeypatch.setattr(event_log, "full_events", lambda _target, _keys: [{"event_id": event_id}])

        def stream(_target: Any, _vendors: Any, _since: Any, stop: threading.Event, **_: Any) -> Iterator[Outcome]:
            yield from lines
            stop.wait()  # as the log is followed: nothing more until the wait ends

        monkeypatch.setattr(outcomes_module, "stream", stream)
        since = sent - timedelta(seconds=margin)
        awaited = Awaited("openweb", [("openweb", event_id)], [], {event_id}, since, sent, set(replaced))
        return _wait_for(cast("Target", None), awaited)

    return seen


def outcome(kind: str, at: datetime, reason: str | None = None, event_id: str = EVENT) -> Outcome:
    return Outcome(at, "openweb", kind, event_type="comment.liked", event_id=event_id, reason=reason, quarantine_id="k")


def test_wait_knows_an_event_whose_id_the_consumer_logged_by_its_hash(outcomes_seen: Callable[..., Waited]) -> None:
    sent = datetime.now(UTC)
    # An id holding an address is logged as sha256:<hex>: still this event's duplicate
    odd = "bob@example.com"
    waited = outcomes_seen(outcome("duplicate", sent, event_id=id_label(odd)), sent=sent, event_id=odd)
    assert (waited.complete, waited.duplicates) == (True, [odd])


def test_wait_takes_this_deliverys_outcome_over_an_earlier_one_in_the_clock_margin(
    outcomes_seen: Callable[..., Waited],
) -> None:
    sent = datetime.now(UTC)
    # An earlier copy was a conflict (logged in the margin); this one is a duplicate: taken
    waited = outcomes_seen(
        outcome("quarantined", sent - timedelta(seconds=2), "conflict"), outcome("duplicate", sent), sent=sent
    )
    assert (waited.complete, waited.duplicates) == (True, [EVENT])
    # An earlier copy was a duplicate; this one is a conflict: said so, not taken
    waited = outcomes_seen(
        outcome("duplicate", sent - timedelta(seconds=2)), outcome("quarantined", sent, "conflict"), sent=sent
    )
    assert waited.duplicates == []
    assert [item.sentence() for item in waited.missing] == [
        f"{EVENT}: stored before this send; this copy was quarantined (conflict)"
    ]
    # Only an outcome in the margin (the clocks differ): taken once nothing later comes
    assert outcomes_seen(outcome("duplicate", sent - timedelta(seconds=1)), sent=sent).complete


def test_wait_takes_stored_only_for_a_copy_that_replaces_a_test_copy(outcomes_seen: Callable[..., Waited]) -> None:
    sent = datetime.now(UTC)
    # The earlier delivery's own "stored" proves nothing of this one
    assert not outcomes_seen(outcome("stored", sent), sent=sent).complete
    # This delivery replacing a test copy (the vendor's, or an edited test copy) is stored, not a duplicate
    waited = outcomes_seen(outcome("stored", sent), sent=sent, replaced=frozenset({EVENT}))
    assert (waited.complete, waited.duplicates) == (True, [])


def test_wait_for_an_outcome_in_the_margin_alone_ends_once_a_later_one_had_time_to_come(
    outcomes_seen: Callable[..., Waited], monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake_cli.commands import send as send_module

    monkeypatch.setattr(send_module, "WAIT_SECONDS", 20.0)
    monkeypatch.setattr(send_module, "_SETTLE_SECONDS", 0.3)
    sent = datetime.now(UTC)
    # This delivery's duplicate, stamped before the send by a clock behind this machine's
    started = time.monotonic()
    waited = outcomes_seen(outcome("duplicate", sent - timedelta(seconds=0.05)), sent=sent, margin=0.1)

    # Then it is taken without waiting out the 20 s
    assert waited.complete
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{not json", "is not valid JSON: "), ("[]", "must hold a JSON object keyed by vendor")],
)
def test_a_bad_secrets_file_is_one_error_line_for_send_and_serve(
    deployed: str, tmp_path: Path, content: str, problem: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    for command in (
        ("send", "openweb", "--secrets", str(bad), "--stack", deployed, "--yes"),
        ("serve", "--secrets", str(bad)),
    ):
        code, text = cli(*command)
        assert code == 1, text
        (line,) = text.strip().splitlines()
        assert line.startswith(f"error: secrets file {bad} {problem}"), line


def test_a_secrets_file_saved_with_a_byte_order_mark_and_crlf_line_ends_signs_as_any_other(
    deployed: str, tmp_path: Path, secrets: dict[str, Any]
) -> None:
    # Given the secrets file as a Windows editor saves it: a UTF-8 byte order mark, CRLF line ends
    saved = tmp_path / "secrets.json"
    saved.write_bytes(b"\xef\xbb\xbf" + json.dumps(secrets, indent=2).replace("\n", "\r\n").encode())

    # When a delivery is signed with it
    code, text = cli("send", "openweb", "--secrets", str(saved), "--stack", deployed, "--yes")

    # Then it is read as the same secrets (JSON ignores the mark) and the delivery is accepted
    assert code == 0, text


def test_signing_with_a_short_openweb_client_secret_prints_no_pyjwt_warning(
    deployed: str, tmp_path: Path, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a secrets file whose OpenWeb client_secret is under PyJWT's 32 bytes
    short = tmp_path / "short.json"
    short.write_text(json.dumps({**secrets, "openweb": {**secrets["openweb"], "client_secret": "short"}}))

    # When the CLI signs its assertion with it, warnings shown as Python shows them (on stderr)
    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    monkeypatch.setattr(warnings, "showwarning", show)
    warnings.simplefilter("default")
    code, text = cli("send", "openweb", "--auth", "oauth", "--secrets", str(short), "--stack", deployed, "--yes")

    # Then the stack's refusal (it holds another secret) is what is said: no warning, no line of PyJWT's code
    assert code == 1, text
    assert "error: the token route answered 401" in text
    assert "InsecureKeyLengthWarning" not in text
    assert "jwt.encode" not in text


def test_a_secrets_file_without_a_vendor_says_which_before_anything_is_sent(
    deployed: str, tmp_path: Path, secrets: dict[str, Any]
) -> None:
    # Given a secrets file that lacks one vendor's object (a vendor added, its local secret forgotten)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({key: value for key, value in secrets.items() if key != "firstup"}))

    # When the demo, a send, or the invoke events want that vendor's credentials
    for command in (
        ("demo", "--secrets", str(partial)),
        ("send", "firstup", "--secrets", str(partial), "--stack", deployed, "--yes"),
    ):
        code, text = cli(*command)

        # Then one line names the vendor: no delivery signed with an empty credential, no 401 to puzzle over
        assert code == 1, text
        (line,) = text.strip().splitlines()
        assert line == "error: the secrets file has no object for firstup", line
    with pytest.raises(IntakeError, match="has no object for firstup"):
        sample_request("firstup", sample_files("firstup")[0], {})


def test_an_openweb_audience_given_as_a_list_signs_the_assertion_with_its_first_entry(
    deployed: str, tmp_path: Path, secrets: dict[str, Any]
) -> None:
    # Given a secrets file whose OpenWeb audience is a list, as docs/openweb-oauth.md allows (the stack's first)
    listed = tmp_path / "listed.json"
    audience = secrets["openweb"]["audience"]
    listed.write_text(json.dumps({**secrets, "openweb": {**secrets["openweb"], "audience": [audience, "another"]}}))

    # When the CLI buys an access token with it and delivers
    code, text = cli("send", "openweb", "--auth", "oauth", "--secrets", str(listed), "--stack", deployed, "--yes")

    # Then the assertion names the first audience, the token route takes it and the delivery is accepted
    assert code == 0, text


def test_an_openweb_secret_without_an_audience_signs_for_the_token_url(
    deployed: str, tmp_path: Path, secrets: dict[str, Any]
) -> None:
    # Given a secrets file whose OpenWeb client names no audience: the token URL is then the one OpenWeb is
    # given, and the stack accepts it (docs/openweb-oauth.md)
    unnamed = tmp_path / "unnamed.json"
    openweb = {name: value for name, value in secrets["openweb"].items() if name != "audience"}
    unnamed.write_text(json.dumps({**secrets, "openweb": openweb}))

    # When the CLI buys an access token with it and delivers
    code, text = cli("send", "openweb", "--auth", "oauth", "--secrets", str(unnamed), "--stack", deployed, "--yes")

    # Then the assertion names the token URL, the token route takes it and the delivery is accepted
    assert code == 0, text


def test_on_the_local_stack_the_token_url_signed_for_is_the_one_its_token_route_reads(
    gateway: str, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given the local stack (its gateway stands in for the API's address) and an OpenWeb client with no audience
    local = cast("Any", types.SimpleNamespace(api_url=gateway, local=True, region=runtime.stack.region))
    openweb = {name: value for name, value in secrets["openweb"].items() if name != "audience"}

    # When an access token is bought as intake send buys it
    token = openweb_access_token(local, openweb)

    # Then the token route took the assertion: the token is one
    assert token.count(".") == 2


def test_wait_lists_the_first_events_not_stored_and_counts_the_rest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough for each line whole
    # Given a delivery of 400 events, 398 of them still queued behind a backlog when the wait ends, the last quarantined
    missing = [NotStored(f"late-{index}", "not_stored", "not stored within 30 s") for index in range(398)]
    missing.append(NotStored("q-1", "quarantined", "quarantined (missing_id)", "missing_id"))
    waited = Waited([{"event_id": "stored-1"}], missing)
    request = OutgoingRequest("openweb", "POST", "/webhooks/openweb", {}, b"{}")
    response = cast("Any", types.SimpleNamespace(status=200, body=b"", headers={}))
    chosen = cast("Any", types.SimpleNamespace(label="stdin"))

    # When the outcome is printed on a terminal
    _print(request, "http://127.0.0.1:3000/webhooks/openweb", chosen, response, waited, as_json=False)

    # Then ten lines name an event each, what became of one first, and one counts the rest, saying where to follow them
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("not stored")]
    assert len(lines) == 11
    assert lines[0] == "not stored q-1: quarantined (missing_id)"
    assert lines[-1] == (
        "not stored 389 more events (389 not stored within 30 s: intake tail follows them); --json lists every one"
    )

    # and when the vendor's dead-letter queue took messages since the send, the count says where to look instead
    waited = Waited([{"event_id": "stored-1"}], missing, dead_letters=DeadLetters("openweb", 3))
    _print(request, "http://127.0.0.1:3000/webhooks/openweb", chosen, response, waited, as_json=False)
    last = [line for line in capsys.readouterr().out.splitlines() if line.startswith("not stored")][-1]
    assert last == (
        "not stored 389 more events (389 not stored within 30 s: openweb's dead-letter queue took 3 messages since the"
        " send: intake dlq list shows them); --json lists every one"
    )


def test_wait_names_a_quarantined_copy_before_events_whose_outcome_is_not_heard_of_yet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import intake_cli.event_log as event_log
    import intake_cli.outcomes as outcomes_module
    from intake_cli.commands import send as send_module

    # Given a delivery of 12 events stored before, sent again behind a backlog: the consumer's outcome
    # of the last one's copy is a conflict, and none of the others' has come yet
    monkeypatch.setattr(send_module, "WAIT_SECONDS", 1.0)
    monkeypatch.setenv("COLUMNS", "250")
    ids = [f"again-{index:02}" for index in range(12)]
    monkeypatch.setattr(event_log, "full_events", lambda _target, keys: [{"event_id": key[1]} for key in keys])
    sent = datetime.now(UTC)

    def stream(_target: Any, _vendors: Any, _since: Any, stop: threading.Event, **_: Any) -> Iterator[Outcome]:
        yield outcome("quarantined", sent, "conflict", event_id=ids[-1])
        stop.wait()

    monkeypatch.setattr(outcomes_module, "stream", stream)
    keys = [("openweb", event_id) for event_id in ids]
    awaited = Awaited("openweb", keys, [], set(ids), sent - timedelta(seconds=5), sent, set())
    waited = _wait_for(cast("Target", None), awaited)

    # When the outcome is printed on a terminal
    request = OutgoingRequest("openweb", "POST", "/webhooks/openweb", {}, b"{}")
    response = cast("Any", types.SimpleNamespace(status=200, body=b"", headers={}))
    _print(
        request, "http://127.0.0.1:3000/webhooks/openweb", types.SimpleNamespace(label="stdin"), response, waited, False
    )

    # Then the copy quarantined is named first, before those the consumer has not taken yet
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("not stored")]
    assert lines[0] == f"not stored {ids[-1]}: stored before this send; this copy was quarantined (conflict)"
    assert len(lines) == 11


def test_a_wait_that_fails_after_the_send_still_prints_the_answer(
    deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import intake_cli.event_log as event_log

    # Given a table that can be read before the send, and no longer once the delivery is answered
    reads = event_log.full_events
    calls: list[int] = []

    def failing(target: Target, keys: Any) -> list[dict[str, Any]]:
        calls.append(1)
        if len(calls) > 1:
            raise IntakeError("cannot read table events: AccessDeniedException: no")
        return reads(target, keys)

    monkeypatch.setattr(event_log, "full_events", failing)

    # When a delivery is sent with --wait, for a script
    code, text = cli("send", "comment.liked", "--stack", deployed, "--yes", "--wait", "--json")

    # Then the answer it got is printed (the delivery was sent), the error after it, and the command fails
    (answer,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"method"')]
    assert answer["status"] == 200
    assert "not_stored" not in answer
    assert "error: cannot read table events: AccessDeniedException: no" in text
    assert code == 1


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["Ctrl-C", "SIGTERM"])
def test_a_wait_stopped_after_the_send_still_prints_the_answer_and_ends_with_the_stops_status(
    deployed: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signum: int,
    status: int,
) -> None:
    import intake_cli.event_log as event_log

    # Given `intake send --wait --json` stopped (Ctrl-C, or SIGTERM: a cancelled CI job) once the delivery is
    # answered, as its wait reads the table
    reads = event_log.full_events
    calls: list[int] = []

    def stopped(target: Target, keys: Any) -> list[dict[str, Any]]:
        calls.append(1)
        if len(calls) > 1:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)
        return reads(target, keys)

    monkeypatch.setattr(event_log, "full_events", stopped)

    # When it runs
    code = run_as_intake(monkeypatch, "send", "comment.liked", "--stack", deployed, "--yes", "--wait", "--json")

    # Then the script reads the answer it got (the delivery was sent), without what the wait would have found, and
    # the status is the stop's
    assert code == status
    out, err = capsys.readouterr()
    (answer,) = [json.loads(line) for line in out.splitlines() if line.startswith('{"method"')]
    assert (answer["status"], answer["file"]) == (200, "openweb/liked-message.json")
    assert answer["correlation_id"]
    assert "not_stored" not in answer
    stopper = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    assert f"stopped by {stopper} while waiting for the delivery's events" in " ".join(err.split())


def test_an_answer_echoing_a_lone_surrogate_is_printed_with_its_escape_not_a_traceback(deployed: str) -> None:
    # Given a Viafoura engagement batch whose event id escapes a lone surrogate (valid JSON), which the answer echoes
    body = json.loads(sample_files("viafoura-engagement")[0].read_text(encoding="utf-8"))
    body["events"] = body["events"][:1]
    text = json.dumps(body).replace(body["events"][0]["event_uuid"], "lone-\\ud800-id")

    # When it is sent, the answer printed as on a terminal
    code, output = cli("send", "viafoura-engagement", "--data", text, "--stack", deployed, "--yes")

    # Then the answer is printed, the id shown with its escape, and the command succeeds
    assert code == 0, output
    assert '"event_uuid": "lone-\\ud800-id"' in output


def test_a_batch_with_a_number_out_of_range_is_sent_with_its_request_uuid_in_x_request_id(deployed: str) -> None:
    # Given a Viafoura engagement batch one of whose events holds an integer of 5,000 digits (beyond what Python
    # converts: that event is refused, its siblings taken)
    body = json.loads(sample_files("viafoura-engagement")[0].read_text(encoding="utf-8"))
    body["request_uuid"] = "r-out-of-range"
    body["events"][0]["time"] = "@digits@"
    text = json.dumps(body).replace('"@digits@"', "9" * 5000)

    # When it is sent
    (answer,) = cli_json("send", "viafoura-engagement", "--data", text, "--stack", deployed, "--yes", "--json")

    # Then it went with the x-request-id Viafoura sends, so the delivery's correlation id is its request_uuid
    assert answer["status"] == 200
    assert answer["correlation_id"] == "r-out-of-range"
