"""`intake tail`: the consumers' outcome lines from the local log file, CloudWatch Live Tail, or polling."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from urllib3.exceptions import ProtocolError

from intake_cli.outcomes import FILTER_PATTERN, LogGroup, Outcome, follow_file, live_tail, outcomes_in, poll
from intake_cli.target import IntakeError
from tests.helpers import (
    cli,
    cli_json,
    handler_logs,
    notifications_body,
    publish_outputs,
    send_body,
    stack_with,
    undocumented,
)
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from intake_cli.runtime import LocalRuntime

pytestmark = pytest.mark.usefixtures("no_network")

GROUPS = [
    LogGroup(
        "openweb", "/aws/lambda/s-OpenWebConsumer", "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/s-OpenWebConsumer"
    )
]


def outcomes_line(vendor: str, *outcomes: str, stamp: str = "2026-11-29 12:00:01,250+0000") -> str:
    """A consumer's outcomes log line, as Powertools writes it."""
    return json.dumps(
        {"level": "INFO", "message": "outcomes", "timestamp": stamp, "vendor": vendor, "outcomes": list(outcomes)}
    )


def test_each_kind_of_outcome_is_read_with_what_it_is_about() -> None:
    line = outcomes_line(
        "viafoura-notifications",
        "stored user.followed n-1",
        "duplicate user.followed n-2",
        "quarantined missing_id - viafoura-notifications/2026-11-29T12:00:00.000Z#abc",
        "released viafoura-notifications/2026-11-29T11:00:00.000Z#def",
        "retrying m-1",
        "dead-lettered m-2",
    )
    found = [outcome.to_json() for outcome in outcomes_in(line)]
    assert [item["outcome"] for item in found] == [
        "stored",
        "duplicate",
        "quarantined",
        "released",
        "retrying",
        "dead-lettered",
    ]
    assert found[0] == {
        "time": "2026-11-29T12:00:01.250Z",
        "vendor": "viafoura-notifications",
        "outcome": "stored",
        "event_type": "user.followed",
        "event_id": "n-1",
    }
    assert found[2]["reason"] == "missing_id"
    assert "event_id" not in found[2]
    assert found[2]["quarantine_id"].endswith("#abc")
    assert found[5]["message_id"] == "m-2"
    assert outcomes_in("2026 INFO intake.gateway POST /webhooks/firstup 200 3ms") == []
    assert outcomes_in(json.dumps({"message": "event quarantined", "outcomes": ["x"]})) == []


def test_a_line_names_its_day_when_it_is_not_today() -> None:
    (outcome,) = outcomes_in(outcomes_line("openweb", "stored comment.liked c-1"))  # 2026-11-29T12:00:01.250Z
    assert outcome.line(today=date(2026, 11, 29)).plain.startswith("12:00:01  openweb  stored")
    assert outcome.line(today=date(2026, 12, 1)).plain.startswith("11-29 12:00:01  openweb  stored")
    assert outcome.line(today=date(2027, 1, 2)).plain.startswith("2026-11-29 12:00:01  openweb  stored")


def test_an_event_id_with_spaces_is_read_whole() -> None:
    line = outcomes_line(
        "viafoura-notifications",
        "stored user.followed note 1",
        "quarantined missing_field note 2 viafoura-notifications/2026-11-29T12:00:00.000Z#abc",
    )
    stored, kept = [outcome.to_json() for outcome in outcomes_in(line)]
    assert (stored["event_type"], stored["event_id"]) == ("user.followed", "note 1")
    assert (kept["reason"], kept["event_id"]) == ("missing_field", "note 2")
    assert kept["quarantine_id"] == "viafoura-notifications/2026-11-29T12:00:00.000Z#abc"


def test_the_consumers_own_lines_are_the_ones_read(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    # Given a delivery with a good and a bad notification, through the real consumer
    send_body(runtime, "viafoura-notifications", notifications_body("tail-1", None), secrets["viafoura-notifications"])
    with handler_logs() as logs:
        runtime.drain()

    # When its log is read as tail reads it
    found = [outcome for line in logs.getvalue().splitlines() for outcome in outcomes_in(line)]

    # Then one stored, one quarantined with its reason, and no payload value anywhere in the line
    assert [(o.outcome, o.event_id, o.reason) for o in found] == [
        ("quarantined", None, "missing_id"),
        ("stored", "tail-1", None),
    ] or [(o.outcome, o.event_id, o.reason) for o in found] == [
        ("stored", "tail-1", None),
        ("quarantined", None, "missing_id"),
    ]
    assert "poison" not in logs.getvalue().split('"outcomes"')[1]


def follow(path: Path, **kwargs: Any) -> tuple[list[Outcome], threading.Event, threading.Thread]:
    found: list[Outcome] = []
    stop = threading.Event()

    def run() -> None:
        found.extend(follow_file(path, stop, **kwargs))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return found, stop, thread


@pytest.mark.parametrize("level", ["WARNING", "ERROR"])
def test_a_stack_logging_at_warning_or_error_still_writes_the_outcomes_line_as_lambda_does(
    aws: Any, secrets: dict[str, Any], level: str
) -> None:
    # Given a local stack whose LogLevel is above INFO (Lambda's application log level stays INFO)
    runtime = stack_with({"LogLevel": level}, aws, f"wi-level-{level.lower()}", secrets)
    send_body(runtime, "viafoura-notifications", notifications_body("level-1"), secrets["viafoura-notifications"])

    # When its delivery is consumed
    with handler_logs() as logs:
        runtime.drain()

    # Then the consumer wrote its outcomes line, which tail and send --wait read, as it would on Lambda
    found = [outcome for line in logs.getvalue().splitlines() for outcome in outcomes_in(line)]
    assert [(o.outcome, o.event_id) for o in found] == [("stored", "level-1")]


def test_the_local_log_is_followed_from_its_end_and_lines_written_later_show(tmp_path: Path) -> None:
    # Given a log with an old outcome, followed from now
    log = tmp_path / "stack.log"
    log.write_text(outcomes_line("openweb", "stored comment.liked old") + "\n")
    found, stop, thread = follow(log)
    time.sleep(0.3)

    # When the consumer writes another outcome line (and an access line)
    with log.open("a") as handle:
        handle.write("12:00:02 POST /webhooks/openweb 200 4ms\n")
        handle.write(outcomes_line("openweb", "stored comment.liked new") + "\n")
    deadline = time.monotonic() + 5
    while not found and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=5)

    # Then only the new one is printed
    assert [outcome.event_id for outcome in found] == ["new"]


def test_since_reads_the_log_from_that_time_and_no_follow_stops(tmp_path: Path) -> None:
    log = tmp_path / "stack.log"
    log.write_text(
        outcomes_line("openweb", "stored a.b early", stamp="2026-11-29 11:00:00,000+0000")
        + "\n"
        + outcomes_line("openweb", "stored a.b late", stamp="2026-11-29 12:30:00,000+0000")
        + "\n"
    )
    since = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    found = list(follow_file(log, threading.Event(), since=since, follow=False))
    assert [outcome.event_id for outcome in found] == ["late"]


class LiveTailLogs:
    """CloudWatch Logs with a Live Tail session that sends the given stream events, or refuses."""

    def __init__(self, events: list[dict[str, Any]] | None = None, refuse: str | None = None) -> None:
        self.events = events or []
        self.refuse = refuse
        self.requests: list[dict[str, Any]] = []
        self.closed = False

    def start_live_tail(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "no"}}, "StartLiveTail")
        return {"responseStream": self}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.events)

    def close(self) -> None:
        self.closed = True


def test_live_tail_asks_for_the_outcome_lines_of_the_consumer_log_groups_and_closes_its_session() -> None:
    # Given a Live Tail session that sends one update holding an outcomes line
    message = outcomes_line("openweb", "stored comment.liked live-1")
    logs = LiveTailLogs(
        [
            {"sessionStart": {}},
            {"sessionUpdate": {"sessionResults": [{"message": message, "timestamp": 1795953600000}]}},
        ]
    )
    stop = threading.Event()

    # When tail reads it
    found = []
    for outcome in live_tail(logs, GROUPS, stop):
        found.append(outcome)
        stop.set()

    # Then it asked for the consumer group by ARN with the outcomes filter, and closed the session
    assert logs.requests == [{"logGroupIdentifiers": [GROUPS[0].arn], "logEventFilterPattern": FILTER_PATTERN}]
    assert [(o.event_id, o.time) for o in found] == [("live-1", datetime(2026, 11, 29, 12, 0, tzinfo=UTC))]
    assert logs.closed


class DroppingLiveTail(LiveTailLogs):
    """Live Tail whose sessions each send their events, then lose the connection."""

    def __init__(self, sessions: list[list[dict[str, Any]]]) -> None:
        super().__init__()
        self.sessions = sessions

    def __iter__(self) -> Iterator[dict[str, Any]]:
        events = self.sessions[min(len(self.requests), len(self.sessions)) - 1]
        yield from events
        raise ProtocolError("Connection broken: ConnectionResetError(104, 'Connection reset by peer')")


def update(event_id: str) -> dict[str, Any]:
    message = outcomes_line("openweb", f"stored comment.liked {event_id}")
    return {"sessionUpdate": {"sessionResults": [{"message": message, "timestamp": 1795953600000}]}}


def test_a_live_tail_connection_that_drops_is_taken_up_again_and_one_that_keeps_dropping_is_one_line() -> None:
    # Given a session that drops after one outcome, then sessions that drop before any
    logs = DroppingLiveTail([[update("before-drop")], [update("after-drop")], [], []])
    stop = threading.Event()
    found: list[str | None] = []

    # When tail follows it
    with pytest.raises(IntakeError) as failed:
        found.extend(outcome.event_id for outcome in live_tail(logs, GROUPS, stop))

    # Then a new session follows each drop, nothing is lost between them that was heard, and three
    # drops in a row with nothing heard end in one line
    assert found == ["before-drop", "after-drop"]
    assert len(logs.requests) == 4
    assert str(failed.value).startswith("the Live Tail connection keeps dropping: Connection broken")


def test_live_tail_refused_says_so_so_that_tail_polls_instead() -> None:
    from intake_cli.outcomes import LiveTailUnavailableError

    with pytest.raises(LiveTailUnavailableError) as refused:
        list(live_tail(LiveTailLogs(refuse="AccessDeniedException"), GROUPS, threading.Event()))

    # (said in the note that tail polls instead as every command words an AWS error: code, then message)
    assert str(refused.value) == "AccessDeniedException: no"


class FilteredLogs:
    """FilterLogEvents over a fixed set of log events, two a page."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.requests: list[dict[str, Any]] = []

    def filter_log_events(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        matching = [event for event in self.events if event["timestamp"] >= request["startTime"]]
        start = int(request.get("nextToken", 0))
        page = matching[start : start + 2]
        more = start + 2 < len(matching)
        return {"events": page, **({"nextToken": str(start + 2)} if more else {})}


def test_polling_reads_every_page_from_since_once_each() -> None:
    events = [
        {"timestamp": 1795953600000 + n, "eventId": f"e{n}", "message": outcomes_line("openweb", f"stored a.b p{n}")}
        for n in range(3)
    ]
    logs = FilteredLogs(events)
    since = datetime.fromtimestamp(1795953600, UTC)
    found = list(poll(logs, GROUPS, threading.Event(), since=since, follow=False))
    assert [outcome.event_id for outcome in found] == ["p0", "p1", "p2"]
    assert logs.requests[0] == {
        "logGroupName": GROUPS[0].name,
        "startTime": 1795953600000,
        "filterPattern": FILTER_PATTERN,
    }


class DeniedLogs:
    """FilterLogEvents denied to these credentials."""

    def filter_log_events(self, **request: Any) -> dict[str, Any]:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "User is not authorized to FilterLogEvents"}}
        raise ClientError(error, "FilterLogEvents")


def test_a_log_group_that_cannot_be_read_is_said_as_every_command_says_an_aws_failure() -> None:
    # When tail polls a log group it may not read
    with pytest.raises(IntakeError) as failed:
        list(poll(DeniedLogs(), GROUPS, threading.Event(), since=datetime.fromtimestamp(1795953600, UTC), follow=False))

    # Then the line names the group and AWS's code and message, not botocore's sentence around them
    assert str(failed.value) == (
        f"cannot read log group {GROUPS[0].name}: AccessDeniedException: User is not authorized to FilterLogEvents"
    )


def test_polling_again_prints_nothing_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a log event that every poll finds again (each poll looks back for late-ingested lines)
    monkeypatch.setattr("intake_cli.outcomes.POLL_SECONDS", 0.01)
    logs = FilteredLogs(
        [{"timestamp": 1795953600000, "eventId": "e0", "message": outcomes_line("openweb", "stored a.b once")}]
    )
    stop = threading.Event()
    found: list[Outcome] = []

    # When tail polls several times
    def run() -> None:
        found.extend(poll(logs, GROUPS, stop, since=datetime.fromtimestamp(1795953600, UTC)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while len(logs.requests) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=5)

    # Then the line was printed once
    assert len(logs.requests) >= 5
    assert [outcome.event_id for outcome in found] == ["once"]


def test_tail_on_a_deployed_stack_reads_its_consumers_log_groups(
    aws: Any, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployed stack whose consumers' log groups hold outcome lines (and other lines)
    outputs = publish_outputs(aws, runtime)
    names = {spec.stem: f"/aws/lambda/s-{spec.stem}Consumer" for spec in VENDORS.values()}
    resources: dict[str, Any] = {
        f"{stem}ConsumerLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name}}
        for stem, name in names.items()
    }
    body = {"Resources": resources, "Outputs": {name: {"Value": value} for name, value in outputs.items()}}
    aws.client("cloudformation").update_stack(StackName=runtime.stack.name, TemplateBody=json.dumps(body))
    logs = aws.client("logs")
    now_ms = int(time.time() * 1000)
    lines = {
        "ViafouraNotifications": outcomes_line("viafoura-notifications", "stored user.followed n-1"),
        "OpenWeb": outcomes_line("openweb", "quarantined missing_id - openweb/2026-11-29T12:00:00.000Z#abc"),
    }
    for stem, line in lines.items():
        name = names[stem]
        logs.create_log_stream(logGroupName=name, logStreamName="s")
        events = [{"timestamp": now_ms, "message": "START RequestId: x"}, {"timestamp": now_ms, "message": line}]
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=events)

    # When the operator reads what the consumers did in the last hour, of every vendor, then of one
    every = cli_json("tail", "--stack", runtime.stack.name, "--since", "1h", "--no-follow", "--json")
    one = cli_json(
        "tail", "--stack", runtime.stack.name, "--since", "1h", "--no-follow", "--json", "--vendor", "openweb"
    )
    code, text = cli("tail", "--stack", runtime.stack.name, "--since", "1h", "--no-follow", "--vendor", "openweb")

    # Then each consumer's outcomes are there, and --vendor keeps to its own
    assert sorted((item["vendor"], item["outcome"]) for item in every) == [
        ("openweb", "quarantined"),
        ("viafoura-notifications", "stored"),
    ]
    assert [(item["vendor"], item["reason"]) for item in one] == [("openweb", "missing_id")]
    assert not undocumented("tail", every)  # each field a script reads is in docs/local-stack.md's table
    assert code == 0, text
    assert "openweb  quarantined  missing_id" in text
    assert "viafoura-notifications" not in text
