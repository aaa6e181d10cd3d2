"""`intake dlq`: SQS dead letters and quarantined events listed together, sent back or let go, one or all."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from intake_cli import dlq, queues
from intake_cli.samples import SAMPLES_DIR
from tests.helpers import (
    TypedAtATerminal,
    at_a_terminal,
    cli,
    cli_json,
    depth,
    dlq_url,
    hook_cli_clients,
    mapping_fails_on,
    notifications_body,
    payloads,
    publish_outputs,
    quarantined,
    queue_url,
    run_as_intake,
    runbook_row,
    sample_document,
    send,
    send_body,
    stored_ids,
    table,
    undocumented,
)
from webhook_intake.delivery import Delivery
from webhook_intake.ingest.queue import EnqueueError, QueueSender
from webhook_intake.payloads import ClaimCheck
from webhook_intake.registry import vendors
from webhook_intake.store.quarantine import QuarantineStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import boto3

    from intake_cli.runtime import LocalRuntime

VENDOR = "viafoura-notifications"


def claim_checked_dead_letter(runtime: LocalRuntime, body: bytes) -> ClaimCheck:
    """A dead letter whose body waits in S3 (a delivery over the SQS limit), as the consumer gave up on it."""
    bucket = runtime.stack.buckets["PayloadBucket"]
    check = ClaimCheck(bucket, f"deliveries/{VENDOR}/2026-11-29/big.json", len(body), hashlib.sha256(body).hexdigest())
    payloads(runtime).put_object(check.key, body, "application/json")
    delivery = Delivery(
        VENDOR,
        "2026-11-29T12:00:00.000Z",
        "corr-big",
        "POST",
        "/webhooks/viafoura/notifications",
        claim_check=check.uri,
    )
    runtime.sqs.send_message(
        QueueUrl=dlq_url(runtime, VENDOR),
        MessageBody=check.pointer(),
        MessageAttributes=delivery.to_message_attributes(),
    )
    return check


def dead_letters_after_the_first(runtime: LocalRuntime, count: int) -> None:
    """``count`` claim-checked dead letters more than the stack's own (``big-2`` on): 25 in all for 24, enough for
    three of SQS's batches of ten."""
    for n in range(count):
        claim_checked_dead_letter(runtime, notifications_body(f"big-{n + 2}"))


@pytest.fixture
def stack(aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]) -> str:
    """A stack with one quarantined notification (no notification_uuid) and one claim-checked dead letter."""
    publish_outputs(aws, runtime)
    send_body(runtime, VENDOR, notifications_body("good-1", None), secrets[VENDOR])
    runtime.drain()
    claim_checked_dead_letter(runtime, notifications_body("big-1"))
    return runtime.stack.name


def listed(stack: str, *args: str) -> list[dict[str, Any]]:
    return cli_json("dlq", "list", "--stack", stack, "--json", *args)


def test_dead_letters_and_quarantined_events_are_listed_together_with_their_reasons(stack: str) -> None:
    # When both kinds are listed
    items = {item["kind"]: item for item in listed(stack)}

    # Then the quarantined event says why, with its exact text; the dead letter its real body from S3
    held = items["quarantined"]
    assert held["vendor"] == VENDOR
    assert held["reason"] == "missing_id"
    assert held["id"].startswith(f"{VENDOR}/")
    assert json.loads(held["body"]) == {"notification_type": "follow", "time": 1790000000000, "poison": True}
    letter = items["dead-letter"]
    assert letter["reason"] == "retries_exhausted"
    assert letter["correlation_id"] == "corr-big"
    assert json.loads(letter["body"])["notifications"][0]["notification_uuid"] == "big-1"
    assert letter["claim_check"].startswith("s3://")


@pytest.mark.parametrize(
    ("vendor_key", "sample", "mapping_fails", "reason", "source_type"),
    [
        # Refused before it was mapped: an event without its id, or without its action
        ("viafoura-notifications", "negative/viafoura-notifications/missing-uuid.json", False, "missing_id", "like"),
        (
            "viafoura-engagement",
            "negative/viafoura-engagement/without-action.json",
            False,
            "missing_field",
            "livecomment_post",
        ),
        # A mapping that fails on an event it did not foresee (invalid_event: the mapping to fix is its type's)
        ("openweb", "openweb/liked-message.json", True, "invalid_event", "liked-message"),
        ("fastcomments", "fastcomments/comment-updated.json", True, "invalid_event", "comment-updated"),
        ("firstup", "firstup/legacy-content.published.json", True, "invalid_event", "content_published"),
    ],
)
def test_an_event_quarantined_before_it_was_mapped_is_listed_with_its_vendor_type(
    aws: boto3.session.Session,
    runtime: LocalRuntime,
    secrets: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    vendor_key: str,
    sample: str,
    mapping_fails: bool,
    reason: str,
    source_type: str,
) -> None:
    # Given a delivery the vendor was answered 2xx for, one event of which the consumer cannot map
    publish_outputs(aws, runtime)
    if mapping_fails:
        mapping_fails_on(monkeypatch, vendor_key, lambda _: True, ValueError("unforeseen"))
    answer = send(runtime, vendor_key, SAMPLES_DIR / sample, secrets)
    assert 200 <= answer.status < 300, answer
    runtime.drain()

    # Then its quarantine item keeps the vendor's own type, and the list shows it, as JSON and on the terminal
    [item] = quarantined(runtime, vendor_key)
    assert (item["reason"], item["source_type"]) == (reason, source_type)
    [held] = listed(runtime.stack.name, "--vendor", vendor_key)
    assert (held["reason"], held["source_type"]) == (reason, source_type)
    monkeypatch.setenv("COLUMNS", "120")
    code, text = cli("dlq", "list", "--stack", runtime.stack.name, "--vendor", vendor_key)
    assert code == 0, text
    assert f"type {source_type}   event " in text, text


@pytest.mark.parametrize("sent", ["\u202efollow", "follow\nlike", "  ", 7, ["follow"]])
def test_a_vendor_type_that_is_no_plain_text_is_not_kept_beside_a_quarantined_event(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any], sent: Any
) -> None:
    # Given a notification without its id, whose type is no plain readable text (a payload value of another kind)
    publish_outputs(aws, runtime)
    body = json.loads(notifications_body("good-1", None))
    body["notifications"][1]["notification_type"] = sent
    assert send_body(runtime, VENDOR, body, secrets[VENDOR]).status == 204
    runtime.drain()

    # Then it is quarantined for its id, and no type is kept or listed for it
    [item] = quarantined(runtime, VENDOR)
    assert item["reason"] == "missing_id"
    assert "source_type" not in item
    [held] = listed(runtime.stack.name)
    assert "source_type" not in held


def test_the_runbook_lets_go_of_an_invalid_event_no_mapping_fix_would_store(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a batch of one good notification, an element that is no object, and one holding a number out of range
    publish_outputs(aws, runtime)
    good = notifications_body("good-1").decode()
    body = good.replace(
        "}]", '}, "not an object", {"notification_uuid": "huge-1", "notification_type": "follow", "time": 1e400}]'
    )
    assert send_body(runtime, VENDOR, body.encode(), secrets[VENDOR]).status == 204
    runtime.drain()
    first = {item["index"]: item for item in quarantined(runtime, VENDOR)}
    assert {item["reason"] for item in first.values()} == {"invalid_event"}

    # When the operator sends them back, as the runbook says of an invalid_event after a mapping fix
    assert cli("dlq", "redrive", "--stack", runtime.stack.name)[0] == 0
    runtime.drain()

    # Then each comes back the same, one more try: and the runbook tells these two by their messages, to let go
    again = {item["index"]: item for item in quarantined(runtime, VENDOR)}
    assert {index: (item["reason"], item["attempts"]) for index, item in again.items()} == {
        1: ("invalid_event", 2),
        2: ("invalid_event", 2),
    }
    row = runbook_row("QuarantineAlarm")
    assert again[1]["message"] == "event is not a JSON object"
    assert again[2]["message"].startswith("event holds a number beyond what a JSON number can hold")
    advice = (
        "`invalid_event` whose message says the event is not a JSON object or holds a number beyond what a JSON"
        " number can hold: no mapping reads that, and sent back it comes back the same, so tell the vendor and let"
        " it go"
    )
    assert advice in row


def test_the_terminal_list_fits_80_columns_keeps_ids_whole_and_shows_no_body(
    stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, text = cli("dlq", "list", "--stack", stack)
    assert code == 0, text
    assert "1 dead letter, 1 quarantined event" in text
    assert "missing_id  1 try" in text, text
    for item in listed(stack):
        assert item["id"] in text
    assert "missing_id" in text
    assert "poison" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # a heading, four lines an item (the message cut to the width, not wrapped), the hint
    assert len(text.strip().splitlines()) == 1 + 4 * len(listed(stack)) + 1, text


@pytest.mark.parametrize("columns", ["80", "200"])
def test_the_terminal_list_shows_the_correlation_id_of_a_dead_letter_to_look_up_in_the_log(
    stack: str, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    # Given a terminal of either width (the runbook: check the consumer's log for the dead letter's correlation id)
    monkeypatch.setenv("COLUMNS", columns)

    # When the operator lists what waits, without --json
    code, text = cli("dlq", "list", "--stack", stack)

    # Then the dead letter's correlation id is there to search the log with, whole
    assert code == 0, text
    assert "corr-big" in text, text
    assert max(len(line) for line in text.splitlines()) <= int(columns)


def test_a_list_cut_at_its_limit_says_so(stack: str, runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    # Given three quarantined notifications (one from the fixture), listed two at most
    for good in ("more-1", "more-2"):
        assert send_body(runtime, VENDOR, notifications_body(good, None), secrets[VENDOR]).status == 204
        runtime.drain()
    code, text = cli("dlq", "list", "--stack", stack, "--limit", "2")

    # Then the list says there may be more, its count too (2 is not how many there are)
    assert code == 0, text
    assert f"{VENDOR}'s first 2 quarantined events shown, oldest first: there may be more (--limit N)" in text
    assert "at least 2 quarantined events" in text, text
    code, text = cli("dlq", "list", "--stack", stack, "--limit", "4")
    assert "there may be more" not in text
    assert "at least" not in text, text


def test_a_dead_letter_queue_cut_at_the_limit_is_counted_as_sqs_counts_it(stack: str, runtime: LocalRuntime) -> None:
    # Given five dead letters (one from the fixture), listed two at most
    for number in range(4):
        delivery = Delivery(
            VENDOR, "2026-11-29T12:00:01.000Z", f"corr-{number}", "POST", "/webhooks/viafoura/notifications"
        )
        runtime.sqs.send_message(
            QueueUrl=dlq_url(runtime, VENDOR),
            MessageBody=notifications_body(f"dead-{number}").decode(),
            MessageAttributes=delivery.to_message_attributes(),
        )
    code, text = cli("dlq", "list", "--stack", stack, "--limit", "2")
    _, json_text = cli("dlq", "list", "--stack", stack, "--limit", "2", "--json")

    # Then the count is the queue's, as `intake status` shows it, not the two read
    assert code == 0, text
    (row,) = [row for row in cli_json("status", "--stack", stack, "--json") if row["vendor"] == VENDOR]
    assert row["dead_letters"] == 5
    assert "about 5 dead letters, 1 quarantined event" in " ".join(text.split()), text
    shown = f"{VENDOR}'s first 2 of about 5 dead letters shown, oldest first"
    assert shown in " ".join(text.split())
    assert shown in " ".join(json_text.split())
    assert "at least" not in text


def test_a_dead_letter_queue_holding_just_the_limit_is_not_said_to_be_cut(stack: str) -> None:
    # Given one dead letter (the fixture's), SQS counting one on its queue, listed one at most
    code, text = cli("dlq", "list", "--stack", stack, "--limit", "1")
    _, json_text = cli("dlq", "list", "--stack", stack, "--limit", "1", "--json")

    # Then the list claims no more dead letters than SQS counts: only the quarantine, which has no count, may hold more
    assert code == 0, text
    said = " ".join(text.split())
    assert said.startswith("1 dead letter, at least 1 quarantined event "), text
    assert f"\n{VENDOR}'s first 1 quarantined events shown, oldest first: there may be more" in text
    assert "first 1 dead letters" not in said
    assert "first 1 dead letters" not in json_text


def test_one_quarantined_event_goes_back_and_comes_back_quarantined_with_another_try(
    stack: str, runtime: LocalRuntime
) -> None:
    # Given the quarantined event's id
    (held,) = [item for item in listed(stack) if item["kind"] == "quarantined"]

    # When a dry run, then a redrive of that one item, run
    (dry,) = cli_json("dlq", "redrive", "--stack", stack, "--id", held["id"], "--dry-run", "--json")
    assert dry["dry_run"] is True
    assert depth(runtime, queue_url(runtime, VENDOR)) == 0
    (done,) = cli_json("dlq", "redrive", "--stack", stack, "--id", held["id"], "--json")
    assert depth(runtime, queue_url(runtime, VENDOR)) == 1
    runtime.drain()

    # Then, poison still, it is quarantined again under the same id, one try more
    (again,) = quarantined(runtime, VENDOR)
    assert done == {**dry, "dry_run": False}
    assert again["attempts"] == held["attempts"] + 1
    assert [item["id"] for item in listed(stack) if item["kind"] == "quarantined"] == [held["id"]]


def test_one_dead_letter_goes_back_to_its_queue_and_is_stored_once_s3_has_its_body(
    stack: str, runtime: LocalRuntime
) -> None:
    (letter,) = [item for item in listed(stack) if item["kind"] == "dead-letter"]
    (done,) = cli_json("dlq", "redrive", "--stack", stack, "--id", letter["id"], "--json")
    assert done["kind"] == "dead-letter"
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0
    runtime.drain()
    assert "big-1" in stored_ids(runtime, VENDOR)


def test_a_deliverys_x_ray_trace_goes_on_its_queue_and_back_from_the_dead_letter_queue(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a delivery taken by an ingest function Lambda runs in a trace (it sets _X_AMZN_TRACE_ID)
    trace = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace)
    assert (
        send_body(runtime, VENDOR, notifications_body("traced-1", request_uuid="r-traced"), secrets[VENDOR]).status
        == 204
    )
    monkeypatch.delenv("_X_AMZN_TRACE_ID")

    # Then its message carries the trace to the consumer
    url = queue_url(runtime, VENDOR)
    (message,) = runtime.sqs.receive_message(
        QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"], MessageAttributeNames=["All"]
    )["Messages"]
    assert message["Attributes"]["AWSTraceHeader"] == trace

    # And when SQS dead-letters it (the trace kept) and the operator sends it back, it still does
    runtime.sqs.send_message(
        QueueUrl=dlq_url(runtime, VENDOR),
        MessageBody=message["Body"],
        MessageAttributes=message["MessageAttributes"],
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # (moto's SendMessageBatch drops a message's system attributes: what is asked of SQS is checked)
    (letter,) = [item for item in listed(stack) if item["correlation_id"] == "r-traced"]
    real, sent = queues.call, []

    def recording(operation: Any, **kwargs: Any) -> Any:
        if getattr(operation, "__name__", "") == "send_message_batch":
            sent.extend(kwargs["Entries"])
        return real(operation, **kwargs)

    monkeypatch.setattr(queues, "call", recording)
    cli_json("dlq", "redrive", "--stack", stack, "--id", letter["id"], "--json")
    (entry,) = sent
    assert entry["MessageSystemAttributes"] == {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    assert entry["MessageBody"] == message["Body"]
    assert depth(runtime, url) == 1


@pytest.mark.parametrize("action", ["redrive", "delete"])
def test_a_dry_run_on_one_dead_letter_leaves_it_there_for_the_real_thing(
    stack: str, runtime: LocalRuntime, action: str
) -> None:
    (letter,) = [item for item in listed(stack) if item["kind"] == "dead-letter"]
    (dry,) = cli_json("dlq", action, "--stack", stack, "--id", letter["id"], "--dry-run", "--json")
    assert dry["dry_run"] is True
    # Still listed, and the real action finds it at once (a dry run does not hide it for a while)
    assert [item["id"] for item in listed(stack) if item["kind"] == "dead-letter"] == [letter["id"]]
    (done,) = cli_json("dlq", action, "--stack", stack, "--id", letter["id"], "--json")
    assert done["dry_run"] is False
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


def test_the_list_shows_at_a_terminal_how_many_it_has_read_and_leaves_nothing_when_piped(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given 25 dead letters and a quarantined event (SQS cannot peek: each dead letter is received to be listed)
    dead_letters_after_the_first(runtime, 24)

    # When a script lists them with its standard error logged
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        app(["dlq", "list", "--stack", stack, "--json"], prog_name="intake")

    # Then its standard error holds nothing: how far the read got is for a terminal only
    assert exited.value.code == 0
    assert capsys.readouterr().err == ""

    # And when an operator lists them at a terminal, it was told how many were read so far
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, text = cli("dlq", "list", "--stack", stack)
    assert code == 0, text
    # (its last frame: a terminal is shown it as it moves)
    line = ([line for line in text.splitlines() if "Reading the dead letters and quarantined events" in line] or [""])[
        -1
    ]
    assert "26 so far" in line, text
    assert "25 dead letters, 1 quarantined event" in text


@pytest.mark.parametrize("command", ["redrive", "delete"])
def test_one_dead_letter_by_id_shows_at_a_terminal_how_many_dead_letters_were_read_to_find_it(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # Given 25 dead letters (SQS finds none by its id: they are read until it is among them), and an operator
    # at a terminal
    dead_letters_after_the_first(runtime, 24)
    letter = [item for item in listed(stack) if item["kind"] == "dead-letter"][-1]
    monkeypatch.setenv("FORCE_COLOR", "1")

    # When one of them is sent back or let go by its id
    code, text = cli("dlq", command, "--stack", stack, "--id", letter["id"])

    # Then the terminal was told how many were read so far, and the dead letter was acted on
    assert code == 0, text
    # (its last frame: a terminal is shown it as it moves)
    line = ([line for line in text.splitlines() if "Reading the dead letters for that id" in line] or [""])[-1]
    assert "25 so far" in line, text
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 24


def test_the_count_of_dead_letters_read_to_find_one_goes_on_across_vendors_queues(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three dead letters on the queue of a vendor read before this one's, and this one's 25
    earlier = next(key for key in vendors() if key != VENDOR)
    assert list(vendors()).index(earlier) < list(vendors()).index(VENDOR)
    for n in range(3):
        runtime.sqs.send_message(QueueUrl=dlq_url(runtime, earlier), MessageBody=json.dumps({"id": f"e-{n}"}))
    dead_letters_after_the_first(runtime, 24)
    letter = [item for item in listed(stack) if item["kind"] == "dead-letter" and item["vendor"] == VENDOR][-1]
    monkeypatch.setenv("FORCE_COLOR", "1")

    # When one of this vendor's is looked for by its id at a terminal (a dry run: nothing is sent back)
    code, text = cli("dlq", "redrive", "--stack", stack, "--id", letter["id"], "--dry-run")

    # Then the count the terminal last saw holds the other queue's dead letters read before it: 28, not 25
    assert code == 0, text
    line = ([line for line in text.splitlines() if "Reading the dead letters for that id" in line] or [""])[-1]
    assert "28 so far" in line, text


@pytest.mark.parametrize("command", ["redrive", "delete"])
def test_one_dead_letter_by_id_leaves_nothing_on_a_standard_error_that_is_no_terminal(
    stack: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given a script whose standard error is logged
    (letter,) = [item for item in listed(stack) if item["kind"] == "dead-letter"]
    capsys.readouterr()

    # When it acts on one dead letter by its id
    with pytest.raises(SystemExit) as exited:
        app(["dlq", command, "--stack", stack, "--id", letter["id"], "--json"], prog_name="intake")

    # Then standard error holds nothing, and standard output the one result line
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert [json.loads(line)["kind"] for line in out.splitlines() if line.startswith('{"action"')] == ["dead-letter"]


def sqs_refuses_entries(monkeypatch: pytest.MonkeyPatch, batch_operation: str) -> None:
    """SQS answers ``batch_operation`` with HTTP 200 and every entry in ``Failed``, as it may."""
    real = queues.call

    def refusing(operation: Any, **kwargs: Any) -> Any:
        if getattr(operation, "__name__", "") == batch_operation:
            return {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]}
        return real(operation, **kwargs)

    monkeypatch.setattr(queues, "call", refusing)


def test_a_dead_letter_sqs_will_not_take_back_stays_in_the_dlq(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queue that answers the resend with a per-entry failure (HTTP 200, the entry in Failed)
    (letter,) = [item for item in listed(stack) if item["kind"] == "dead-letter"]
    real = queues.call
    sqs_refuses_entries(monkeypatch, "send_message_batch")

    # When it is redriven
    code, text = cli("dlq", "redrive", "--stack", stack, "--id", letter["id"])

    # Then the operator hears it failed, and the dead letter is still there to try again
    assert code == 1
    assert "could not be sent" in text
    monkeypatch.setattr(queues, "call", real)
    assert [item["id"] for item in listed(stack) if item["kind"] == "dead-letter"] == [letter["id"]]
    assert depth(runtime, queue_url(runtime, VENDOR)) == 0


@pytest.mark.parametrize("command", ["delete", "redrive"])
def test_a_dead_letter_sqs_will_not_delete_is_said_so_never_reported_done(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # Given a DLQ that answers the deletion with a per-entry failure (HTTP 200, the entry in Failed)
    (letter,) = [item for item in listed(stack) if item["kind"] == "dead-letter"]
    sqs_refuses_entries(monkeypatch, "delete_message_batch")

    # When it is deleted, or sent back
    code, text = cli("dlq", command, "--stack", stack, "--id", letter["id"])

    # Then the command fails saying so (and where a copy went back, that it is on both queues)
    assert code == 1
    assert "delete_message_batch refused 1 of 1 message(s)" in text
    assert ("on both queues" in text) == (command == "redrive")
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 1  # (in flight until its visibility ends)


def test_a_quarantined_event_sqs_will_not_take_back_is_one_line(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a queue that refuses the send (AccessDenied is not retried)
    (held,) = [item for item in listed(stack) if item["kind"] == "quarantined"]

    def refuse(*_: Any, **__: Any) -> str:
        raise EnqueueError("not retryable: AccessDenied")

    monkeypatch.setattr(QueueSender, "send", refuse)

    # When it is sent back
    code, text = cli("dlq", "redrive", "--stack", stack, "--id", held["id"])

    # Then one line says so
    assert code == 1
    assert "back: not retryable: AccessDenied" in text
    assert "Traceback" not in text


def test_a_redrive_of_all_that_sqs_stops_part_way_says_how_many_went_back(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given three quarantined events, and a queue that refuses the third as it is sent back
    more_quarantined(runtime, secrets, 2)
    sent = QueueSender.send
    calls: list[int] = []

    def refuse_the_third(self: QueueSender, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise EnqueueError("not retryable: AccessDenied")
        return sent(self, *args, **kwargs)

    monkeypatch.setattr(QueueSender, "send", refuse_the_third)

    # When they are all sent back
    code, text = cli("dlq", "redrive", "--stack", stack, "--vendor", VENDOR)

    # Then the command fails, saying how many of them went back before the refusal (a script running it
    # again knows those count one more try), besides the dead letter moved first
    assert code == 1, text
    said = " ".join(text.split())
    assert "back: not retryable: AccessDenied" in said
    assert f"{VENDOR}: 2 quarantined events sent back (of 3, to " in said
    assert f"{VENDOR}: 1 dead letter sent back (to " in said
    assert depth(runtime, queue_url(runtime, VENDOR)) == 3  # the dead letter and those two


def third_delete_raises(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """The quarantine's third delete raises ``error``; the others delete."""
    deleted = QuarantineStore.delete
    calls: list[int] = []

    def delete(self: QuarantineStore, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise error
        return deleted(self, *args, **kwargs)

    monkeypatch.setattr(QuarantineStore, "delete", delete)


def test_a_delete_of_all_that_dynamodb_stops_part_way_says_how_many_went(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three quarantined events, and a table that refuses the third delete
    more_quarantined(runtime, secrets, 2)
    third_delete_raises(monkeypatch, ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DeleteItem"))

    # When they are all let go
    code, text = cli("dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--yes")

    # Then the command fails, saying how many went for good before the refusal
    assert code == 1, text
    said = " ".join(text.split())
    assert "AccessDenied" in said
    assert f"{VENDOR}: 2 quarantined events deleted (of 3)" in said
    assert len(quarantined(runtime, VENDOR)) == 1


def test_deleting_all_says_what_it_had_done_when_a_later_step_fails(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a vendor whose quarantine cannot be read (its dead letters can)
    listing = QuarantineStore.list

    def denied(self: QuarantineStore, vendor: str, *args: Any, **kwargs: Any) -> Any:
        if vendor == VENDOR:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "Query")
        return listing(self, vendor, *args, **kwargs)

    monkeypatch.setattr(QuarantineStore, "list", denied)

    # When everything is deleted
    code, text = cli("dlq", "delete", "--stack", stack, "--yes")

    # Then the error also says what was deleted before it, for good
    assert code == 1
    assert f"cannot delete {VENDOR}'s quarantined events" in text
    assert f"(done before it: {VENDOR}: 1 dead letter deleted)" in " ".join(text.split())
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0

    # And a script deleting another dead letter so gets the line of what was done before the failure, the error after
    runtime.sqs.send_message(QueueUrl=dlq_url(runtime, VENDOR), MessageBody="{}")
    code, text = cli("dlq", "delete", "--stack", stack, "--yes", "--json")
    assert code == 1
    (line,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"action"')]
    assert (line["action"], line["kind"], line["vendor"], line["count"]) == ("delete", "dead-letter", VENDOR, 1)
    assert text.index('{"action"') < text.index(f"error: cannot delete {VENDOR}'s quarantined events")


def test_listing_a_dead_letter_claims_no_count_of_tries(stack: str) -> None:
    for _ in range(3):
        (letter,) = [item for item in listed(stack) if item["kind"] == "dead-letter"]
    assert letter["attempts"] is None
    assert "MaxReceiveCount" in letter["message"]
    assert "receives" not in letter["message"]


def test_redrive_all_sends_back_both_kinds(stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto has no StartMessageMoveTask: the local stack's mover stands in for SQS's (same contract)
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    done = cli_json("dlq", "redrive", "--stack", stack, "--vendor", VENDOR, "--json")
    assert {(item["kind"], item["count"]) for item in done} == {("dead-letter", 1), ("quarantined", 1)}
    runtime.drain()
    assert "big-1" in stored_ids(runtime, VENDOR)
    assert [item["kind"] for item in listed(stack)] == ["quarantined"]


def test_a_dry_run_of_redrive_all_counts_both_kinds_and_sends_nothing_back(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    before = listed(stack)
    done = cli_json("dlq", "redrive", "--stack", stack, "--vendor", VENDOR, "--dry-run", "--json")
    assert {(item["kind"], item["count"], item["dry_run"]) for item in done} == {
        ("dead-letter", 1, True),
        ("quarantined", 1, True),
    }
    assert depth(runtime, queue_url(runtime, VENDOR)) == 0
    assert [item["id"] for item in listed(stack)] == [item["id"] for item in before]


def test_redrive_all_moves_dead_letters_too_large_to_go_back_together(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given two more dead letters of 600 KB each: one SendMessageBatch takes 1 MiB in all
    for n in (1, 2):
        body = json.loads(notifications_body(f"large-{n}"))
        body["pad"] = "p" * 600_000
        runtime.sqs.send_message(QueueUrl=dlq_url(runtime, VENDOR), MessageBody=json.dumps(body))
    done = cli_json("dlq", "redrive", "--stack", stack, "--vendor", VENDOR, "--json")
    (letters,) = [item for item in done if item["kind"] == "dead-letter"]
    assert letters["count"] == 3
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


def test_redrive_all_counts_what_moved_not_what_was_waiting(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given the dead letter received (being read) elsewhere, so not visible to the move
    runtime.sqs.receive_message(QueueUrl=dlq_url(runtime, VENDOR), VisibilityTimeout=60)
    done = cli_json("dlq", "redrive", "--stack", stack, "--vendor", VENDOR, "--json")
    (letters,) = [item for item in done if item["kind"] == "dead-letter"]
    assert letters["count"] == 0
    assert "1 more not visible now" in letters["detail"]


def more_quarantined(runtime: LocalRuntime, secrets: dict[str, Any], count: int) -> None:
    """``count`` more quarantined notifications (no notification_uuid), each its own text."""
    notes = [{"notification_type": "follow", "notification_uuid": "good-more", "time": 1790000000000}]
    notes += [{"notification_type": "follow", "time": 1790000000000 + n} for n in range(count)]
    body = {"request_uuid": "r-more", "time": 1790000000000, "version": 1, "notifications": notes}
    send_body(runtime, VENDOR, body, secrets[VENDOR])
    runtime.drain()


def test_redrive_all_shows_its_progress_on_standard_error(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given three quarantined events, and an operator at a terminal
    more_quarantined(runtime, secrets, 2)
    monkeypatch.setenv("FORCE_COLOR", "1")

    # When they are all sent back
    code, text = cli("dlq", "redrive", "--stack", stack, "--vendor", VENDOR)

    # Then a bar said how far it got, done of all
    assert code == 0, text
    # (its last frame: a terminal is shown it as it moves)
    bar = [line for line in text.splitlines() if f"Sending {VENDOR}'s quarantined events back" in line][-1]
    assert "3/3" in bar
    assert "3 quarantined events sent back" in text


@pytest.mark.parametrize(
    "args", [("redrive",), ("delete", "--yes"), ("redrive", "--json"), ("delete", "--yes", "--json")]
)
def test_redrive_and_delete_of_all_leave_no_bar_on_a_standard_error_that_is_no_terminal(
    stack: str,
    runtime: LocalRuntime,
    secrets: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
) -> None:
    from intake_cli.main import app

    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given three quarantined events, and a nightly job whose standard error is mailed or logged
    more_quarantined(runtime, secrets, 2)
    capsys.readouterr()

    # When they all go at once, from the job
    with pytest.raises(SystemExit) as exited:
        app(["dlq", *args, "--stack", stack, "--vendor", VENDOR], prog_name="intake")

    # Then the job's standard error holds nothing: the bar is for a terminal, the result is on standard output
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "3" in out


def ctrl_c_at_send(monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """Ctrl-C pressed as the ``nth`` quarantined event is sent back (the ones before it go)."""
    sent = QueueSender.send
    calls: list[int] = []

    def send(self: QueueSender, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == nth:
            raise KeyboardInterrupt
        return sent(self, *args, **kwargs)

    monkeypatch.setattr(QueueSender, "send", send)


def test_ctrl_c_while_sending_back_says_how_many_went(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given three quarantined events, and Ctrl-C pressed as the third is sent
    more_quarantined(runtime, secrets, 2)
    ctrl_c_at_send(monkeypatch, 3)

    # When they are all being sent back
    code, text = cli("dlq", "redrive", "--stack", stack, "--vendor", VENDOR)

    # Then it says what went before it stopped (the dead letter, moved first, and two of the three
    # quarantined events), and that running it again is safe
    assert code == 130, text
    said = " ".join(text.split())
    assert f"stopped by Ctrl-C after: {VENDOR}: 1 dead letter sent back (to " in said
    assert f"; {VENDOR}: 2 of 3 quarantined events sent back. A quarantined event stays listed" in said
    assert "running the same redrive again is safe" in said
    assert depth(runtime, queue_url(runtime, VENDOR)) == 3  # the dead letter, moved first, and those two


def test_ctrl_c_while_sending_every_vendors_back_says_what_each_vendor_before_had_sent(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given a dead letter of a vendor redriven before this one, and Ctrl-C pressed as this one's second
    # quarantined event is sent
    runtime.sqs.send_message(QueueUrl=dlq_url(runtime, "firstup"), MessageBody='{"id": "f-1"}')
    more_quarantined(runtime, secrets, 1)
    ctrl_c_at_send(monkeypatch, 2)

    # When every vendor's are being sent back
    code, text = cli("dlq", "redrive", "--stack", stack)

    # Then the earlier vendor's dead letter is said to have gone back too, not only the quarantined events
    assert code == 130, text
    said = " ".join(text.split())
    assert "stopped by Ctrl-C after: firstup: 1 dead letter sent back (to " in said
    assert f"{VENDOR}: 1 dead letter sent back (to " in said
    assert f"{VENDOR}: 1 of 2 quarantined events sent back." in said


def test_delete_all_shows_its_progress_on_standard_error(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three quarantined events, and an operator at a terminal
    more_quarantined(runtime, secrets, 2)
    monkeypatch.setenv("FORCE_COLOR", "1")

    # When they are all let go
    code, text = cli("dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--yes")

    # Then a bar said how far it got, done of all, as a redrive's does
    assert code == 0, text
    # (its last frame: a terminal is shown it as it moves)
    bar = [line for line in text.splitlines() if f"Deleting {VENDOR}'s quarantined events" in line][-1]
    assert "3/3" in bar
    assert "3 quarantined events deleted" in text


def test_ctrl_c_while_deleting_says_how_many_went(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three quarantined events, and Ctrl-C pressed as the third is deleted
    more_quarantined(runtime, secrets, 2)
    third_delete_raises(monkeypatch, KeyboardInterrupt())

    # When they are all being let go
    code, text = cli("dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--yes")

    # Then it says what went for good before it stopped (the dead letter, deleted first, and two of the
    # three quarantined events), and what running it again does
    assert code == 130, text
    said = " ".join(text.split())
    assert (
        f"stopped by Ctrl-C after: {VENDOR}: 1 dead letter deleted; {VENDOR}: 2 of 3 quarantined events deleted" in said
    )
    assert "running the same delete again lets the rest go" in said
    assert len(quarantined(runtime, VENDOR)) == 1


def test_ctrl_c_while_deleting_dead_letters_says_how_many_went(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 25 dead letters (deleted ten to a request), and Ctrl-C pressed as the third request goes out
    dead_letters_after_the_first(runtime, 24)
    ctrl_c_as_sent(monkeypatch, "delete_message_batch", 3)

    # When they are all being let go
    code, text = cli("dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--yes")

    # Then it says the twenty dead letters that went for good before it stopped, not that nothing did
    assert code == 130, text
    said = " ".join(text.split())
    assert f"stopped by Ctrl-C after: {VENDOR}: 20 dead letters deleted (of 25 read)" in said
    assert "nothing deleted yet" not in said
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 5


def on_nth_call(
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    nth: int,
    instead: Callable[[Callable[[], Any], dict[str, Any]], Any],
) -> None:
    """The ``nth`` call of ``operation`` the CLI makes through ``queues.call`` is made by ``instead(go, kwargs)``
    (``go`` makes it as it would have been made); the calls after it go as they would."""
    sent = queues.call
    calls: list[int] = []

    def call(method: Any, **kwargs: Any) -> Any:
        if getattr(method, "__name__", "") == operation:
            calls.append(1)
            if len(calls) == nth:
                monkeypatch.setattr(queues, "call", sent)
                return instead(lambda: sent(method, **kwargs), kwargs)
        return sent(method, **kwargs)

    monkeypatch.setattr(queues, "call", call)


def refused_at_the_third(monkeypatch: pytest.MonkeyPatch, operation_name: str, api_name: str) -> None:
    """SQS refusing (AccessDenied) the third call of ``operation_name`` the CLI makes; the calls after it go through."""

    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, api_name)

    on_nth_call(monkeypatch, operation_name, 3, lambda _go, kwargs: queues.call(denied, **kwargs))


def test_a_delete_of_dead_letters_sqs_stops_part_way_says_how_many_went_and_shows_the_rest_again(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 25 dead letters (deleted ten to a request), and SQS refusing the third request
    dead_letters_after_the_first(runtime, 24)
    refused_at_the_third(monkeypatch, "delete_message_batch", "DeleteMessageBatch")

    # When a script lets them all go
    code, text = cli("dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--yes", "--json")

    # Then the command fails, its line and its error naming the twenty that went for good before the refusal
    assert code == 1, text
    (line,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"action"')]
    assert (line["kind"], line["vendor"], line["count"]) == ("dead-letter", VENDOR, 20)
    said = " ".join(text.split())
    assert "AccessDenied" in said
    assert f"(done before it: {VENDOR}: 20 dead letters deleted (of 25 read))" in said
    # and the five read but never deleted are there for the next look at once, not hidden for a while
    assert queues.depth(runtime.sqs, dlq_url(runtime, VENDOR)) == (5, 0)


def test_a_redrive_of_dead_letters_sqs_stops_part_way_says_how_many_went_back(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given 25 dead letters (moved back ten at a time), and SQS refusing the third receive of them
    dead_letters_after_the_first(runtime, 24)
    refused_at_the_third(monkeypatch, "receive_message", "ReceiveMessage")

    # When a script sends them all back
    code, text = cli("dlq", "redrive", "--stack", stack, "--vendor", VENDOR, "--json")

    # Then the command fails, its line and its error naming the twenty already back on the queue
    assert code == 1, text
    (line,) = [json.loads(line) for line in text.splitlines() if line.startswith('{"action"')]
    assert (line["kind"], line["vendor"], line["count"]) == ("dead-letter", VENDOR, 20)
    said = " ".join(text.split())
    assert "AccessDenied" in said
    assert f"(done before it: {VENDOR}: 20 dead letters sent back (of 25, to " in said
    assert depth(runtime, queue_url(runtime, VENDOR)) == 20


def ctrl_c_as_sent(monkeypatch: pytest.MonkeyPatch, operation: str, nth: int) -> None:
    """Ctrl-C as the ``nth`` call of ``operation`` goes out (before SQS has it); later calls go as they would."""

    def pressed(_go: Callable[[], Any], _kwargs: dict[str, Any]) -> Any:
        raise KeyboardInterrupt

    on_nth_call(monkeypatch, operation, nth, pressed)


def signal_as_answered(monkeypatch: pytest.MonkeyPatch, operation: str, nth: int, signum: int) -> None:
    """Send this process ``signum`` as SQS answers the ``nth`` call of ``operation`` (where a signal lands most:
    a command spends its time waiting for SQS)."""

    def answered(go: Callable[[], Any], _kwargs: dict[str, Any]) -> Any:
        answer = go()
        os.kill(os.getpid(), signum)
        return answer

    on_nth_call(monkeypatch, operation, nth, answered)


def test_ctrl_c_while_moving_dead_letters_back_says_how_many_went(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given 25 dead letters (moved ten at a time), and Ctrl-C pressed as the third receive goes out
    dead_letters_after_the_first(runtime, 24)
    ctrl_c_as_sent(monkeypatch, "receive_message", 3)

    # When they are all being sent back
    code, text = cli("dlq", "redrive", "--stack", stack, "--vendor", VENDOR)

    # Then it says the twenty that went back before it stopped, not that nothing did
    assert code == 130, text
    said = " ".join(text.split())
    assert f"stopped by Ctrl-C after: {VENDOR}: 20 dead letters sent back (of 25, to " in said
    assert "nothing sent back yet" not in said
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 5
    assert depth(runtime, queue_url(runtime, VENDOR)) == 20


def test_ctrl_c_while_sqs_answers_a_delete_counts_what_went_and_leaves_the_rest_there_for_the_next_look(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 25 dead letters (deleted ten at a time), and Ctrl-C pressed while SQS answers the second delete: the
    # twenty of the first two requests are gone by then
    dead_letters_after_the_first(runtime, 24)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    signal_as_answered(monkeypatch, "delete_message_batch", 2, signal.SIGINT)
    try:
        code, text = cli("dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--yes")
    finally:
        signal.signal(signal.SIGINT, previous)

    # Then it says the twenty that are gone, and the five it read but did not delete are there to be seen at once
    assert code == 130, text
    said = " ".join(text.split())
    assert f"stopped by Ctrl-C after: {VENDOR}: 20 dead letters deleted (of 25 read)" in said, said
    assert queues.depth(runtime.sqs, dlq_url(runtime, VENDOR)) == (5, 0)


def test_ctrl_c_while_listing_leaves_every_dead_letter_there_for_the_next_look(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 25 dead letters (received ten at a time to be listed), and Ctrl-C pressed as the third receive goes out
    dead_letters_after_the_first(runtime, 24)
    ctrl_c_as_sent(monkeypatch, "receive_message", 3)
    code, text = cli("dlq", "list", "--stack", stack, "--vendor", VENDOR)
    assert code == 130, text

    # When they are listed again at once (or sent back: a hidden message is not moved)
    letters = [item for item in listed(stack, "--vendor", VENDOR) if item["kind"] == "dead-letter"]

    # Then every one is there: none stays hidden by the list that was stopped
    assert len(letters) == 25
    assert queues.depth(runtime.sqs, dlq_url(runtime, VENDOR)) == (25, 0)


@pytest.mark.parametrize(
    ("operation", "nth"),
    [("receive_message", 3), ("change_message_visibility_batch", 2)],
    ids=["a-receive-answered", "made-visible-again"],
)
def test_ctrl_c_while_sqs_answers_a_listing_leaves_every_dead_letter_there_for_the_next_look(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, operation: str, nth: int
) -> None:
    # Given 25 dead letters, and Ctrl-C pressed while SQS answers a receive of the listing (it has hidden the
    # letters it returns by then), or one of the requests that make the listed ones visible again
    dead_letters_after_the_first(runtime, 24)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    signal_as_answered(monkeypatch, operation, nth, signal.SIGINT)
    try:
        code, text = cli("dlq", "list", "--stack", stack, "--vendor", VENDOR)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130, text

    # When they are listed again at once (or sent back: a hidden message is not moved)
    letters = [item for item in listed(stack, "--vendor", VENDOR) if item["kind"] == "dead-letter"]

    # Then every one is there: the listing stopped only once its letters were visible again
    assert len(letters) == 25
    assert queues.depth(runtime.sqs, dlq_url(runtime, VENDOR)) == (25, 0)


@pytest.mark.parametrize(
    ("signum", "status"),
    [
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
        pytest.param(
            getattr(signal, "SIGHUP", 0),
            129,
            id="SIGHUP",
            marks=pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform"),
        ),
    ],
)
def test_a_signal_while_a_receive_is_answered_leaves_the_dead_letters_it_hid_there_and_ends_with_128_plus_it(
    stack: str,
    runtime: LocalRuntime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signum: int,
    status: int,
) -> None:
    # Given 25 dead letters, and the `intake` command sent SIGTERM (a cancelled CI job, `timeout`) or SIGHUP (its
    # terminal closed) while the third receive is answered: SQS has hidden the five it returns by then
    dead_letters_after_the_first(runtime, 24)
    signal_as_answered(monkeypatch, "receive_message", 3, signum)

    # When the command runs
    code = run_as_intake(monkeypatch, "dlq", "list", "--stack", stack, "--vendor", VENDOR, signum=signum)

    # Then it ends as a shell expects of the signal, with no traceback, and every dead letter is there for the next
    # look, the five the stopped receive was answered with too
    assert code == status
    assert "Traceback" not in capsys.readouterr().err
    letters = [item for item in listed(stack, "--vendor", VENDOR) if item["kind"] == "dead-letter"]
    assert len(letters) == 25
    assert queues.depth(runtime.sqs, dlq_url(runtime, VENDOR)) == (25, 0)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_sighup_the_parent_ignored_leaves_the_listing_to_finish(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 25 dead letters, and `nohup intake dlq list` (SIGHUP ignored) whose terminal closes as the third receive
    # is answered
    dead_letters_after_the_first(runtime, 24)
    signal_as_answered(monkeypatch, "receive_message", 3, signal.SIGHUP)

    # When the command runs
    code = run_as_intake(
        monkeypatch,
        "dlq",
        "list",
        "--stack",
        stack,
        "--vendor",
        VENDOR,
        "--json",
        signum=signal.SIGHUP,
        disposition=signal.SIG_IGN,
    )

    # Then it lists every dead letter, as nohup asked, and ends with 0
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(item["kind"] == "dead-letter" for item in lines) == 25


def test_sigterm_while_moving_dead_letters_back_is_named_as_what_stopped_it_and_ends_with_143(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given 25 dead letters (moved ten at a time), and the `intake` command sent SIGTERM (a cancelled CI job) as
    # the second receive of the move is answered
    dead_letters_after_the_first(runtime, 24)
    signal_as_answered(monkeypatch, "receive_message", 2, signal.SIGTERM)

    # When they are all being sent back
    code = run_as_intake(monkeypatch, "dlq", "redrive", "--stack", stack, "--vendor", VENDOR)

    # Then it says SIGTERM stopped it (not a Ctrl-C nobody pressed), what went back before, and ends with 143
    assert code == 143
    said = " ".join(capsys.readouterr().err.split())
    assert f"stopped by SIGTERM after: {VENDOR}: 20 dead letters sent back (of 25, to " in said
    assert "Ctrl-C" not in said
    assert depth(runtime, queue_url(runtime, VENDOR)) == 20


def stopped_at_the_third(monkeypatch: pytest.MonkeyPatch, owner: type, name: str, signum: int) -> None:
    """Ctrl-C (``signum`` SIGINT) pressed, or ``signum`` sent to this process, as ``owner.name`` is called the third
    time; the two before it do their work."""
    original = getattr(owner, name)
    calls: list[int] = []

    def stopping(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, stopping)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["Ctrl-C", "SIGTERM"])
@pytest.mark.parametrize(
    ("args", "owner", "name", "detail"),
    [
        (("redrive",), QueueSender, "send", "of 3, to "),
        (("delete", "--yes"), QuarantineStore, "delete", "of 3"),
    ],
    ids=["redrive", "delete"],
)
def test_a_script_stopping_a_redrive_or_delete_of_all_gets_a_line_for_each_thing_done(
    stack: str,
    runtime: LocalRuntime,
    secrets: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    owner: type,
    name: str,
    detail: str,
    signum: int,
    status: int,
) -> None:
    monkeypatch.setattr(queues, "SqsMessageMover", queues.LocalMessageMover)
    # Given a dead letter and three quarantined events, and `intake dlq ... --json` stopped (Ctrl-C, or SIGTERM: a
    # cancelled CI job) as the third quarantined event goes
    more_quarantined(runtime, secrets, 2)
    stopped_at_the_third(monkeypatch, owner, name, signum)

    # When they are all being sent back or let go
    code = run_as_intake(monkeypatch, "dlq", *args, "--stack", stack, "--vendor", VENDOR, "--json")

    # Then the script reads a line for each thing done before the stop: the dead letter, and two of the three
    # quarantined events; the stop is said on standard error, and the status is the stop's
    assert code == status
    out, err = capsys.readouterr()
    # (the functions, run in this process, log to the same standard output)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"action"')]
    assert [(line["kind"], line["vendor"], line["count"]) for line in lines] == [
        ("dead-letter", VENDOR, 1),
        ("quarantined", VENDOR, 2),
    ]
    assert lines[1]["detail"].startswith(detail)
    assert f"{VENDOR}: 2 of 3 quarantined events" in " ".join(err.split())
    assert len(quarantined(runtime, VENDOR)) == (3 if args[0] == "redrive" else 1)


def test_delete_one_then_all_asks_before_all_and_dry_run_changes_nothing(stack: str, runtime: LocalRuntime) -> None:
    # Given one of each
    (held,) = [item for item in listed(stack) if item["kind"] == "quarantined"]

    # When one is deleted, then everything (a dry run first, then without --yes, then with it)
    cli_json("dlq", "delete", "--stack", stack, "--id", held["id"], "--json")
    assert [item["kind"] for item in listed(stack)] == ["dead-letter"]
    dry = cli_json("dlq", "delete", "--stack", stack, "--dry-run", "--json")
    assert [(item["kind"], item["count"], item["dry_run"]) for item in dry] == [("dead-letter", 1, True)]
    code, text = cli("dlq", "delete", "--stack", stack)
    assert code == 1
    assert "add --yes" in text
    assert len(listed(stack)) == 1
    cli_json("dlq", "delete", "--stack", stack, "--yes", "--json")

    # Then nothing is left
    assert listed(stack) == []
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 0


def test_deleting_all_says_when_more_remain_than_one_run_deletes(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three quarantined events and three dead letters, and a run that deletes two of each kind
    more_quarantined(runtime, secrets, 2)
    for name in ("big-2", "big-3"):
        claim_checked_dead_letter(runtime, notifications_body(name))
    monkeypatch.setattr(dlq, "DELETE_LIMIT", 2)

    # When everything is deleted
    code, text = cli("dlq", "delete", "--stack", stack, "--yes")

    # Then it says that some are left, and running it again deletes them
    assert code == 0, text
    said = " ".join(text.split())
    assert "2 dead letters deleted (1 more on the queue now: run it again)" in said
    assert "2 quarantined events deleted (more remain: run it again)" in said
    assert len(listed(stack)) == 2
    cli("dlq", "delete", "--stack", stack, "--yes")
    assert listed(stack) == []


def a_conflict(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    """Another version of the fixture's stored good-1 (other content): quarantined as a ``conflict``."""
    note = {"notification_type": "follow", "notification_uuid": "good-1", "time": 1790000000999}
    body = {"request_uuid": "r-2", "time": 1790000000000, "version": 1, "notifications": [note]}
    send_body(runtime, VENDOR, body, secrets[VENDOR])
    runtime.drain()


def test_a_reason_chooses_what_is_listed_sent_back_and_let_go(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a conflict, an event without its id and a dead letter
    a_conflict(runtime, secrets)
    assert Counter(item["reason"] for item in listed(stack)) == {
        "conflict": 1,
        "missing_id": 1,
        "retries_exhausted": 1,
    }

    # When one reason is listed, the conflicts, then the dead letters
    # Then only its items are
    assert [item["reason"] for item in listed(stack, "--reason", "conflict")] == ["conflict"]
    assert [item["kind"] for item in listed(stack, "--reason", "retries_exhausted")] == ["dead-letter"]

    # When the events without an id are sent back, a dry run first
    dry = cli_json("dlq", "redrive", "--stack", stack, "--reason", "missing_id", "--dry-run", "--json")
    sent = cli_json("dlq", "redrive", "--stack", stack, "--reason", "missing_id", "--json")

    # Then they alone go: the conflict stays and the dead letter waits on its queue
    assert [(item["kind"], item["count"], item["dry_run"]) for item in dry] == [("quarantined", 1, True)]
    assert [(item["kind"], item["count"]) for item in sent] == [("quarantined", 1)]
    assert depth(runtime, queue_url(runtime, VENDOR)) == 1
    assert depth(runtime, dlq_url(runtime, VENDOR)) == 1
    runtime.drain()

    # When the conflicts are let go
    gone = cli_json("dlq", "delete", "--stack", stack, "--reason", "conflict", "--yes", "--json")

    # Then only they are: the event without its id (back, quarantined again) and the dead letter stay
    assert [(item["kind"], item["count"]) for item in gone] == [("quarantined", 1)]
    assert Counter(item["reason"] for item in listed(stack)) == {"missing_id": 1, "retries_exhausted": 1}


def test_deleting_every_one_of_a_reason_with_no_terminal_to_ask_at_says_what_it_would_have_asked(stack: str) -> None:
    code, text = cli("dlq", "delete", "--stack", stack, "--reason", "missing_id")
    assert code == 1, text
    assert "deleting every one held for reason 'missing_id': add --yes" in " ".join(text.split())
    assert len(listed(stack)) == 2


@pytest.mark.parametrize("action", [("list",), ("redrive",), ("delete", "--yes")])
def test_a_reason_nothing_is_held_for_does_nothing_and_says_so(stack: str, action: tuple[str, ...]) -> None:
    # When a reason is misspelt
    code, text = cli("dlq", *action, "--stack", stack, "--reason", "conflct")

    # Then nothing is done, and it says so
    assert code == 0, text
    assert "nothing held for reason 'conflct' (`intake dlq list` shows each item's reason)" in " ".join(text.split())
    assert len(listed(stack)) == 2


@pytest.mark.parametrize("action", [("list",), ("redrive",), ("delete", "--yes"), ("redrive", "--dry-run")])
def test_a_reason_nothing_is_held_for_says_so_on_standard_error_from_a_script(
    stack: str, capsys: pytest.CaptureFixture[str], action: tuple[str, ...]
) -> None:
    from intake_cli.main import app

    capsys.readouterr()

    # When a script misspells a reason
    with pytest.raises(SystemExit) as exited:
        app(["dlq", *action, "--stack", stack, "--reason", "conflct", "--json"], prog_name="intake")

    # Then nothing is done and standard output holds no line, but standard error says why, as at a terminal
    out, err = capsys.readouterr()
    assert exited.value.code == 0
    assert [line for line in out.splitlines() if line.startswith('{"action"') or line.startswith('{"kind"')] == []
    assert "nothing held for reason 'conflct' (`intake dlq list` shows each item's reason)" in " ".join(err.split())
    assert len(listed(stack)) == 2


@pytest.mark.parametrize("action", ["redrive", "delete"])
def test_a_reason_beside_an_id_is_a_usage_error_and_nothing_is_done(stack: str, action: str) -> None:
    (held,) = [item for item in listed(stack) if item["kind"] == "quarantined"]
    code, text = cli("dlq", action, "--stack", stack, "--id", held["id"], "--reason", "missing_id")
    assert code == 2, text
    assert "chooses among all the items; --id names one" in " ".join(text.replace("│", " ").split())
    assert len(listed(stack)) == 2


def test_an_unknown_id_is_one_clear_line(stack: str) -> None:
    for identifier in ("not-a-message", f"{VENDOR}/2026-01-01T00:00:00.000Z#nope"):
        code, text = cli("dlq", "redrive", "--stack", stack, "--id", identifier)
        assert code == 1
        assert "intake dlq list" in text


def test_dead_letters_are_listed_while_the_events_table_cannot_be_read(
    stack: str, runtime: LocalRuntime, aws: boto3.session.Session
) -> None:
    # Given the outage that dead-letters records: the events table (which holds the quarantine) is gone
    aws.client("dynamodb").delete_table(TableName=table(runtime))

    # When the dead letters are listed
    code, text = cli("dlq", "list", "--stack", stack)

    # Then the dead letter is there to see, and the quarantine's problem is one line with exit status 1
    assert code == 1, text
    assert "1 dead letter, quarantined events unread" in text
    assert "retries_exhausted" in text
    assert f"cannot read table {table(runtime)}: ResourceNotFoundException" in text
    assert "Traceback" not in text


def test_an_aws_failure_is_said_by_dlq_as_by_every_other_command(
    stack: str, runtime: LocalRuntime, aws: boto3.session.Session
) -> None:
    # Given the events table (which holds the quarantine) gone
    aws.client("dynamodb").delete_table(TableName=table(runtime))

    # When the operator reads the events, a comment's state, the status, and what waits, then acts on it
    said = {
        " ".join(args[:2]): [line for line in text.splitlines() if line.startswith("error:")]
        for args in (
            ("events", "--stack", stack),
            ("state", VENDOR, "c-1", "--stack", stack),
            ("status", "--stack", stack),
            ("dlq", "list", "--stack", stack),
            ("dlq", "delete", "--vendor", VENDOR, "--yes", "--stack", stack),
        )
        for _, text in [cli(*args)]
    }

    # Then each says it in one form: what could not be read, AWS's error code, its message
    cause = "ResourceNotFoundException: Requested resource not found"
    missing = f"error: cannot read table {table(runtime)}: {cause}"
    assert said["events --stack"] == said["state " + VENDOR] == said["status --stack"] == [missing]
    assert said["dlq list"] == [missing]
    (deleting,) = said["dlq delete"]
    assert deleting.startswith(f"error: cannot delete {VENDOR}'s quarantined events: {cause} (done before it: ")


def test_status_shows_the_queues_while_the_events_table_cannot_be_counted(
    stack: str, runtime: LocalRuntime, aws: boto3.session.Session
) -> None:
    aws.client("dynamodb").delete_table(TableName=table(runtime))
    code, text = cli("status", "--stack", stack, "--count")
    assert code == 1, text
    assert VENDOR in text
    assert "Traceback" not in text


def test_status_without_a_count_still_shows_the_queues_when_the_quarantine_cannot_be_read(
    stack: str, runtime: LocalRuntime, aws: boto3.session.Session
) -> None:
    # Given the events table (which holds the quarantine) gone
    aws.client("dynamodb").delete_table(TableName=table(runtime))

    # When the status is asked for without a count of the events stored
    code, text = cli("status", "--stack", stack, "--json")

    # Then each vendor's queues are there, its quarantined count unknown, and the problem one line, exit status 1
    assert code == 1, text
    rows = {row["vendor"]: row for row in map(json.loads, (line for line in text.splitlines() if line[:1] == "{"))}
    assert rows[VENDOR]["dead_letters"] == 1
    assert rows[VENDOR]["quarantined"] is None
    assert "cannot read table" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("broken", "column", "kind"),
    [(queue_url, "queued", "queue"), (dlq_url, "dead_letters", "dead-letter queue")],
    ids=["queue", "dlq"],
)
def test_status_shows_every_other_vendor_when_one_queue_cannot_be_read(
    stack: str, runtime: LocalRuntime, aws: boto3.session.Session, broken: Any, column: str, kind: str
) -> None:
    # Given Firstup's queue (or its dead-letter queue) gone, beside a vendor with a dead letter waiting
    gone = broken(runtime, "firstup")
    aws.client("sqs").delete_queue(QueueUrl=gone)
    name = f"firstup's {kind} ({gone.rsplit('/', 1)[1]})"

    # When the status is asked for, as a table and as JSON
    code, text = cli("status", "--stack", stack)
    json_code, json_text = cli("status", "--stack", stack, "--json")

    # Then every vendor has its row, Firstup's unread count unknown, and the broken queue is named, exit status 1
    assert (code, json_code) == (1, 1), text + json_text
    rows = {row["vendor"]: row for row in map(json.loads, (line for line in json_text.splitlines() if line[:1] == "{"))}
    assert set(rows) == set(vendors())
    assert rows[VENDOR]["dead_letters"] == 1
    assert rows["firstup"][column] is None
    assert rows["openweb"][column] == 0
    for output in (text, json_text):
        problem = next(line for line in output.splitlines() if line.startswith("error:"))
        assert problem.startswith(f"error: cannot read {name}: "), problem
        assert "NonExistentQueue" in problem
    assert all(key in text for key in vendors())
    assert "Traceback" not in text + json_text


def test_dlq_list_shows_every_other_vendors_dead_letters_when_one_dlq_cannot_be_read(
    stack: str, runtime: LocalRuntime, aws: boto3.session.Session
) -> None:
    # Given Firstup's dead-letter queue gone, beside a vendor with a dead letter and a quarantined event waiting
    gone = dlq_url(runtime, "firstup")
    aws.client("sqs").delete_queue(QueueUrl=gone)
    name = f"firstup's dead-letter queue ({gone.rsplit('/', 1)[1]})"

    # When what waits is listed, as a table and as JSON
    code, text = cli("dlq", "list", "--stack", stack)
    json_code, json_text = cli("dlq", "list", "--stack", stack, "--json")

    # Then the other vendor's items are all there, the unreadable queue is named in its own line, exit status 1
    assert (code, json_code) == (1, 1), text + json_text
    items = [json.loads(line) for line in json_text.splitlines() if line[:1] == "{"]
    assert Counter(item["kind"] for item in items if item["vendor"] == VENDOR) == {"dead-letter": 1, "quarantined": 1}
    assert "1 dead letter (unread: firstup's dead-letter queue), 1 quarantined event" in text
    assert "retries_exhausted" in text
    for output in (text, json_text):
        (problem,) = [line for line in output.splitlines() if line.startswith("error:")]
        assert problem.startswith(f"error: cannot read {name}: "), problem
        assert "NonExistentQueue" in problem
    assert "Traceback" not in text + json_text


def test_status_shows_a_backlogs_oldest_age_and_the_queues_still_when_cloudwatch_cannot_be_read(
    stack: str,
    runtime: LocalRuntime,
    secrets: dict[str, Any],
    aws: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a delivery waiting on its queue, whose age CloudWatch has (SQS publishes it there every minute)
    send_body(runtime, VENDOR, notifications_body("waiting-1"), secrets[VENDOR])
    queue_name = queue_url(runtime, VENDOR).rsplit("/", 1)[1]
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                "Value": 42,
                "Unit": "Seconds",
            }
        ],
    )

    # When the status is asked for: the backlog and its age are there
    rows = {row["vendor"]: row for row in cli_json("status", "--stack", stack, "--json")}
    assert (rows[VENDOR]["queued"], rows[VENDOR]["oldest_age_seconds"], rows[VENDOR]["dead_letters"]) == (1, 42, 1)
    assert rows["openweb"]["oldest_age_seconds"] is None
    # and what waits for an operator beside the dead letters: the quarantined events, as dlq list counts them
    held = Counter(item["vendor"] for item in listed(stack) if item["kind"] == "quarantined")
    assert {key: row["quarantined"] for key, row in rows.items()} == {key: held.get(key, 0) for key in rows}
    assert rows[VENDOR]["quarantined"] == 1

    # And when CloudWatch refuses to be read (a role that may read the queues, not the metrics)
    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricStatistics")

    hook_cli_clients(monkeypatch, "cloudwatch", {"before-send.cloudwatch": deny}, first=True)
    code, text = cli("status", "--stack", stack)

    # Then the queues are still shown, the age unknown
    assert code == 0, text
    (line,) = [line for line in text.splitlines() if line.startswith(VENDOR)]
    assert line.split() == [VENDOR, "1", "0", "—", "1", "1", "—"]
    assert "Traceback" not in text


@pytest.mark.parametrize("columns", ["40", "50"])
def test_status_on_a_narrow_terminal_still_shows_each_vendors_dead_letters(
    stack: str, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    # Given a dead letter, and a narrow terminal (a phone's SSH client)
    monkeypatch.setenv("COLUMNS", columns)

    # When the operator reads the status
    code, text = cli("status", "--stack", stack)

    # Then every line fits, each column shown is named whole, and each vendor's row says its dead letters
    assert code == 0, text
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= int(columns), text
    assert "…" not in text, text
    header = next(line for line in lines if line.startswith("vendor"))
    assert "DLQ" in header.split(), text
    if columns == "50":
        # as docs/local-stack.md has it: the age, narrow, fits where the queue depth, taken before it, does not
        assert header.split() == ["vendor", "age", "DLQ", "quarantined"], text
    rows = {line.split()[0]: line.split() for line in lines if line.split() and line.split()[0] in vendors()}
    dlq = header.split().index("DLQ")
    assert rows[VENDOR][dlq] == "1", text
    assert rows["openweb"][dlq] == "0", text


@pytest.mark.parametrize("action", ["redrive", "delete"])
def test_a_quarantine_id_of_another_vendor_than_vendor_is_refused_and_nothing_is_done(
    stack: str, runtime: LocalRuntime, action: str
) -> None:
    # Given a quarantined notification, acted on with --vendor naming another vendor
    (held,) = [item for item in listed(stack) if item["kind"] == "quarantined"]
    code, text = cli("dlq", action, "--stack", stack, "--id", held["id"], "--vendor", "openweb")

    # Then it is one error line, exit 1, and the item is where it was
    assert code == 1, text
    assert text.strip().splitlines() == [
        f"error: {held['id']} is a quarantined event of {VENDOR}, not of openweb: "
        f"leave out --vendor, or pass --vendor {VENDOR}"
    ]
    assert [item["id"] for item in listed(stack) if item["kind"] == "quarantined"] == [held["id"]]
    assert depth(runtime, queue_url(runtime, VENDOR)) == 0


@pytest.mark.parametrize("action", ["redrive", "delete"])
def test_an_empty_id_is_a_usage_error_and_nothing_is_done(stack: str, action: str) -> None:
    # An unset shell variable ("--id $ID") is no id: never a search for one, nor all of them
    code, text = cli("dlq", action, "--stack", stack, "--id", "")
    assert code == 2, text
    assert "Invalid value for '--id': is empty: give an id" in text
    assert len(listed(stack)) == 2


def test_a_dead_letter_a_short_poll_misses_is_still_listed(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given SQS's short polls sampling servers that hold none of the DLQ's messages (a long poll asks them all)
    call = queues.call

    def sampled(operation: Any, **kwargs: Any) -> Any:
        if getattr(operation, "__name__", "") == "receive_message" and not kwargs.get("WaitTimeSeconds"):
            return {}
        return call(operation, **kwargs)

    monkeypatch.setattr(queues, "call", sampled)

    # When the dead letters are listed, Then the one waiting is there
    code, text = cli("dlq", "list", "--stack", stack)
    assert code == 0, text
    assert "1 dead letter, 1 quarantined event" in text


def dead_lettered(runtime: LocalRuntime, vendor_key: str) -> None:
    """What the vendor's queue holds moves to its dead-letter queue, as SQS moves a record no receive could store."""
    url = queue_url(runtime, vendor_key)
    received = runtime.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    for message in received.get("Messages", []):
        runtime.sqs.send_message(
            QueueUrl=dlq_url(runtime, vendor_key),
            MessageBody=message["Body"],
            MessageAttributes=message["MessageAttributes"],
        )
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_dead_letter_of_one_event_names_the_event_it_is_then_stored_under(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an OpenWeb event and a FastComments edit that the store refused on every receive
    publish_outputs(aws, runtime)
    comment = {"id": "dead-comment-1", "comment": "an edit", "date": "2026-11-29T10:00:00.000Z"}
    followed = {"event_id": "dead-ow-1", "type": "user-followed"}
    sent = {
        "openweb": send_body(runtime, "openweb", followed, secrets["openweb"]),
        "fastcomments": send_body(runtime, "fastcomments", comment, secrets["fastcomments"], event="comment-updated"),
    }
    assert {status.status for status in sent.values()} == {200}
    for vendor_key in sent:
        dead_lettered(runtime, vendor_key)

    # When the operator lists them (on a terminal wide enough for a FastComments event id)
    monkeypatch.setenv("COLUMNS", "160")
    letters = {item["vendor"]: item for item in listed(runtime.stack.name) if item["kind"] == "dead-letter"}
    code, text = cli("dlq", "list", "--stack", runtime.stack.name)

    # Then each names its event, as `intake events --id` finds it once the dead letter is sent back and stored
    assert code == 0, text
    for item in letters.values():
        assert f"event {item['event_id']}" in text
    # and its vendor type, as a quarantined event's
    assert {name: item["source_type"] for name, item in letters.items()} == {
        "openweb": "user-followed",
        "fastcomments": "comment-updated",
    }
    assert "type user-followed   event dead-ow-1" in text
    for item in letters.values():
        cli_json("dlq", "redrive", "--stack", runtime.stack.name, "--id", item["id"], "--json")
    runtime.drain()
    assert [letters["openweb"]["event_id"]] == stored_ids(runtime, "openweb") == ["dead-ow-1"]
    assert [letters["fastcomments"]["event_id"]] == stored_ids(runtime, "fastcomments")


class MoveTasks:
    """SQS's message move tasks as AWS keeps them (moto 5.2 has none): a started task is still running, and
    SQS refuses a second one for the same dead-letter queue."""

    def __init__(self) -> None:
        self.running: dict[str, str] = {}

    def start(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        source = json.loads(params["body"])["SourceArn"]
        if source in self.running:
            error = {
                "Code": "InvalidParameterValue",
                "Message": "There is already a task running. Only one active task is allowed for a source queue "
                "arn at a given time.",
            }
            return AWSResponse("", 400, {}, None), {"Error": error}
        self.running[source] = handle = f"task-{len(self.running) + 1}"
        return AWSResponse("", 200, {}, None), {"TaskHandle": handle}

    def list(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        source = json.loads(params["body"])["SourceArn"]
        handle = self.running.get(source)
        results = [{"TaskHandle": handle, "Status": "RUNNING", "SourceArn": source}] if handle else []
        return AWSResponse("", 200, {}, None), {"Results": results}


def test_redriving_again_while_sqs_still_moves_the_dead_letters_says_so_and_sends_the_rest_back(
    stack: str, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployed stack's SQS, whose move task runs in the background
    tasks = MoveTasks()
    moves = {"before-call.sqs.StartMessageMoveTask": tasks.start, "before-call.sqs.ListMessageMoveTasks": tasks.list}
    hook_cli_clients(monkeypatch, "sqs", moves, first=True)
    code, first = cli("dlq", "redrive", "--stack", stack)
    assert code == 0, first
    assert "task-1" in first

    # When the operator runs the same redrive again before SQS has moved them
    code, again = cli("dlq", "redrive", "--stack", stack)

    # Then it says the task started before still moves them, and the quarantined event goes back again
    assert code == 0, again
    assert "task-1" in again
    assert "still" in again
    assert f"{VENDOR}: 1 quarantined event sent back" in again
    assert "Traceback" not in again


@pytest.mark.parametrize("vendor_option", [(), ("--vendor", VENDOR)])
def test_reading_a_quarantined_events_id_as_a_stored_events_says_it_is_quarantined(
    stack: str, vendor_option: tuple[str, ...]
) -> None:
    # Given the id `intake dlq list` shows for a quarantined event
    (held,) = [item for item in listed(stack) if item["kind"] == "quarantined"]

    # When the operator reads it as a stored event's
    code, text = cli("events", "--stack", stack, "--id", held["id"], *vendor_option)

    # Then one line says what it is and where to see it, not that its vendor is unknown
    assert code == 1
    assert "unknown vendor" not in text
    assert "quarantined" in text
    assert "intake dlq list" in text
    assert len(text.strip().splitlines()) == 1, text


def test_reading_an_event_held_only_in_quarantine_by_its_own_id_says_where_it_is_held(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an OpenWeb event the mapping failed on: quarantined, not stored
    publish_outputs(aws, runtime)
    mapping_fails_on(monkeypatch, "openweb", lambda event: "reaction" in event, TypeError("unforeseen"))
    body = {**sample_document("openweb", "liked-message"), "event_id": "held-1"}
    send_body(runtime, "openweb", {**body, "reaction": {"kind": "heart"}}, secrets["openweb"])
    runtime.drain()
    (held,) = [item for item in listed(runtime.stack.name) if item["kind"] == "quarantined"]

    # When the operator asks for it by the id the vendor gave it
    code, text = cli("events", "--stack", runtime.stack.name, "--id", "openweb#held-1")

    # Then one line says it is held, why, and the id to act on: not only that no such event is stored
    assert code == 1
    assert len(text.strip().splitlines()) == 1, text
    assert "quarantined" in text
    assert "invalid_event" in text
    assert held["id"] in text
    assert "intake dlq list" in text


def test_reading_an_event_neither_stored_nor_held_says_only_that_it_is_not_stored(stack: str) -> None:
    code, text = cli("events", "--stack", stack, "--id", f"{VENDOR}#never-sent")

    assert code == 1
    assert text.strip() == f"error: no event {VENDOR}#never-sent"


def test_reading_an_event_not_stored_shows_at_a_terminal_how_far_the_quarantine_was_read(
    stack: str, runtime: LocalRuntime, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three quarantined notifications, and an operator at a terminal
    more_quarantined(runtime, secrets, 2)
    monkeypatch.setenv("FORCE_COLOR", "1")

    # When they ask for an event that was never sent (the vendor's whole quarantine is read to look for it)
    code, text = cli("events", "--stack", stack, "--id", f"{VENDOR}#never-sent")

    # Then the terminal was told what is read and how many so far, and the answer is the same
    assert code == 1
    # (its last frame: a terminal is shown it as it moves)
    line = ([line for line in text.splitlines() if f"Searching {VENDOR}'s quarantine" in line] or [""])[-1]
    assert "3 so far" in line, text
    assert f"no event {VENDOR}#never-sent" in text


def test_every_field_dlq_prints_as_json_is_in_the_scripting_table(stack: str) -> None:
    # When what waits is listed, then sent back and let go (a dry run), for a script
    printed = {
        "dlq list": listed(stack),
        "dlq redrive": cli_json("dlq", "redrive", "--stack", stack, "--dry-run", "--json"),
        "dlq delete": cli_json("dlq", "delete", "--stack", stack, "--dry-run", "--json"),
    }

    # Then docs/local-stack.md names every field a script may read, the dead letter's and the quarantined event's
    assert {item["kind"] for item in printed["dlq list"]} == {"dead-letter", "quarantined"}
    for command, documents in printed.items():
        assert documents, command
        assert not undocumented(command, documents), command


@pytest.mark.parametrize("answer", ["y", "n", "yes", "Yes", "NO", "no"])
def test_asked_at_a_terminal_with_the_output_piped_the_question_is_on_standard_error(
    stack: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    from intake_cli.main import app

    # Given an operator at a terminal whose output goes to a pipe (intake dlq delete --json | jq .)
    at_a_terminal(monkeypatch, f"{answer}\n")
    capsys.readouterr()

    # When every item is let go, asked first
    with pytest.raises(SystemExit) as exited:
        app(["dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--json"], prog_name="intake")

    # Then the question is asked where the operator sees it, and the pipe gets the result lines alone
    out, err = capsys.readouterr()
    assert "for good?" in err
    assert "for good?" not in out
    lines = [line for line in out.splitlines() if '"action"' in line or not line.startswith("{")]
    assert all(json.loads(line)["action"] == "delete" for line in lines), out
    # (a word answers as its letter does, in any case: asked once)
    assert (exited.value.code, len(lines)) == ((0, 2) if answer.lower().startswith("y") else (1, 0))
    assert err.count("for good?") == 1


def test_at_a_terminal_with_standard_error_redirected_the_question_is_asked_on_the_terminal(
    stack: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from intake_cli.main import app

    # Given an operator at a terminal who sends standard error to a file (intake dlq delete 2> errors.log)
    terminal = tmp_path / "tty"
    terminal.touch()
    monkeypatch.setattr("intake_cli.cli.CONTROLLING_TERMINAL", str(terminal))
    monkeypatch.setattr("sys.stdin", TypedAtATerminal("yes\n"))
    capsys.readouterr()

    # When every item is let go, asked first
    with pytest.raises(SystemExit) as exited:
        app(["dlq", "delete", "--stack", stack, "--vendor", VENDOR, "--json"], prog_name="intake")

    # Then the question is on the terminal they answer at, not in the file, and their yes lets the items go
    out, err = capsys.readouterr()
    assert "for good?" in terminal.read_text()
    assert "for good?" not in out + err
    assert exited.value.code == 0
    assert listed(stack) == []


def test_with_standard_error_redirected_and_no_terminal_to_ask_at_it_says_to_add_yes_and_does_nothing(
    stack: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake_cli.main import app

    # Given standard input at a terminal, standard error redirected, and no controlling terminal (setsid)
    monkeypatch.setattr("sys.stdin", TypedAtATerminal("yes\n"))
    capsys.readouterr()

    # When every item is let go without --yes
    with pytest.raises(SystemExit) as exited:
        app(["dlq", "delete", "--stack", stack, "--vendor", VENDOR], prog_name="intake")

    # Then no question waits unseen: one line says why nothing was done, and everything stays
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert "error: deleting them all: add --yes (standard error is not a terminal" in err
    assert "for good?" not in err
    assert len(listed(stack)) == 2
