"""``intake tail``: the consumers' outcome lines, followed as they are written.

Each consumer invocation logs one INFO line ``{"message": "outcomes", "vendor": ..., "outcomes":
["stored <type> <id>", "duplicate <type> <id>", "quarantined <reason> <id|-> <key>", "released
<key>", "retrying <message id>", "dead-lettered <message id>"]}``. They hold types, ids and
reasons, never payload values, so following them costs nothing new on a deployed stack:

- the local stack: the state dir's log file, where its functions log;
- a deployed stack: the consumers' CloudWatch log groups, through a Live Tail session
  (``StartLiveTail``, filtered to the outcome lines; billed per session minute beyond the
  free 1,800 a month, and closed with the command) or, where Live Tail cannot be used
  (not allowed, not offered, ``--poll``), ``FilterLogEvents`` every two seconds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.text import Text
from urllib3.exceptions import HTTPError

from intake_cli.target import IntakeError, aws_problem
from intake_cli.terminal import Terminal, printable
from webhook_intake.registry import vendor as vendor_spec
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from intake_cli.target import Target

OUTCOMES_MESSAGE = "outcomes"
FILTER_PATTERN = '{ $.message = "outcomes" }'
"""CloudWatch Logs' JSON filter pattern for the outcome lines (Live Tail and FilterLogEvents alike)."""
POLL_SECONDS = 2.0
# CloudWatch may ingest a line a few seconds after its timestamp: each poll looks back this far, and
# lines already printed (by event id) are not printed twice.
_LOOKBACK_MS = 30_000
_FILE_TICK = 0.2
_POWERTOOLS_TIME = "%Y-%m-%d %H:%M:%S,%f%z"
_COLOURS = {
    "stored": "green",
    "duplicate": "dim",
    "quarantined": "yellow",
    "released": "cyan",
    "retrying": "magenta",
    "dead-lettered": "bold red",
}


@dataclass(frozen=True)
class Outcome:
    """What became of one event or record, as the consumer logged it."""

    time: datetime | None
    vendor: str
    outcome: str
    event_type: str | None = None
    event_id: str | None = None
    reason: str | None = None
    quarantine_id: str | None = None
    message_id: str | None = None

    @classmethod
    def parse(cls, vendor: str, line: str, moment: datetime | None) -> Outcome:
        """One entry of an outcomes line (``stored comment.liked 405ea…``).

        An event id is what lies between the words around it (the consumer logs an id with a space
        or an ``@`` by its hash, and ids written before that may hold spaces).
        """
        outcome, _, rest = line.partition(" ")
        if outcome in ("stored", "duplicate") and " " in rest:
            event_type, _, event_id = rest.partition(" ")
            return cls(moment, vendor, outcome, event_type=event_type, event_id=event_id)
        if outcome == "quarantined" and rest.count(" ") >= 2:
            head, _, key = rest.rpartition(" ")
            reason, _, identifier = head.partition(" ")
            kept_id = None if identifier == "-" else identifier
            return cls(moment, vendor, outcome, reason=reason, event_id=kept_id, quarantine_id=key)
        words = rest.split()
        if outcome == "released" and words:
            return cls(moment, vendor, outcome, quarantine_id=words[0])
        if outcome in ("retrying", "dead-lettered") and words:
            return cls(moment, vendor, outcome, message_id=words[0])
        return cls(moment, vendor, outcome, reason=" ".join(words) or None)

    def to_json(self) -> dict[str, Any]:
        """The outcome as ``intake tail --json`` prints it."""
        document: dict[str, Any] = {
            "time": iso_millis(self.time) if self.time else None,
            "vendor": self.vendor,
            "outcome": self.outcome,
        }
        for name in ("event_type", "event_id", "reason", "quarantine_id", "message_id"):
            value = getattr(self, name)
            if value is not None:
                document[name] = value
        return document

    def line(self, today: date | None = None) -> Text:
        """One terminal line: time (UTC; with its day when not ``today``'s), vendor, outcome, then what it is about."""
        stamp = "--:--:--"
        if self.time:
            moment, day = self.time.astimezone(UTC), today or datetime.now(UTC).date()
            shape = (
                "%H:%M:%S"
                if moment.date() == day
                else "%m-%d %H:%M:%S"
                if moment.year == day.year
                else "%Y-%m-%d %H:%M:%S"
            )
            stamp = moment.strftime(shape)
        text = Text.assemble(stamp, "  ", (self.vendor, "cyan"), "  ", (self.outcome, _COLOURS.get(self.outcome, "")))
        # What a log line names is read from the line: shown, never let steer the terminal.
        if self.outcome in ("stored", "duplicate"):
            text.append(printable(f"  {self.event_type}  {self.event_id}"))
        elif self.outcome == "quarantined":
            text.append(printable(f"  {self.reason}  event {self.event_id or '-'}  id {self.quarantine_id}"))
        elif self.outcome == "released":
            text.append(printable(f"  {self.quarantine_id} (stored after all)"))
        elif self.message_id:
            text.append(printable(f"  message {self.message_id}"))
        elif self.reason:
            text.append(printable(f"  {self.reason}"))
        return text


def outcomes_of(document: Any, moment: datetime | None = None) -> list[Outcome]:
    """The outcomes of one log record (a parsed JSON line); none when it is another line."""
    if not isinstance(document, dict) or document.get("message") != OUTCOMES_MESSAGE:
        return []
    entries = document.get("outcomes")
    vendor = str(document.get("vendor", ""))
    if moment is None:
        moment = _powertools_time(document.get("timestamp"))
    if not isinstance(entries, list):
        return []
    return [Outcome.parse(vendor, str(entry), moment) for entry in entries if str(entry).strip()]


def outcomes_in(text: str, moment: datetime | None = None) -> list[Outcome]:
    """The outcomes of one log line's text (anything but a JSON outcomes line has none)."""
    start = text.find("{")
    if start < 0 or '"outcomes"' not in text:
        return []
    try:
        document = json.loads(text[start:])
    except ValueError:
        return []
    return outcomes_of(document, moment)


def _powertools_time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), _POWERTOOLS_TIME)
    except ValueError:
        return None


def follow_file(
    path: Path, stop: threading.Event, *, since: datetime | None = None, follow: bool = True
) -> Iterator[Outcome]:
    """Outcomes written to a log file: from its end (or, with ``since``, its start), until ``stop``."""
    try:
        handle = path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise IntakeError(f"cannot read the local stack's log {path}: {exc.strerror}") from None
    with handle:
        if since is None:
            handle.seek(0, 2)
        pending = ""
        while not stop.is_set():
            chunk = handle.readline()
            if not chunk:
                if not follow:
                    return
                if handle.tell() > path.stat().st_size:  # the file was truncated: start again from its top
                    handle.seek(0)
                stop.wait(_FILE_TICK)
                continue
            pending += chunk
            if not pending.endswith("\n"):
                continue  # a line still being written
            line, pending = pending, ""
            for outcome in outcomes_in(line):
                if since is None or outcome.time is None or outcome.time >= since:
                    yield outcome


@dataclass(frozen=True)
class LogGroup:
    """A consumer's log group on a deployed stack."""

    vendor: str
    name: str
    arn: str


def consumer_log_groups(target: Target, vendors: list[str]) -> list[LogGroup]:
    """Each vendor's consumer log group, from the stack's resources (``<Stem>ConsumerLogGroup``)."""
    cloudformation = target.client("cloudformation")
    account, partition = target.account_and_partition()
    groups = []
    for key in vendors:
        logical_id = f"{vendor_spec(key).stem}ConsumerLogGroup"
        try:
            detail = cloudformation.describe_stack_resource(StackName=target.name, LogicalResourceId=logical_id)
        except (ClientError, BotoCoreError) as exc:
            raise IntakeError(f"cannot find {logical_id} in stack {target.name}: {aws_problem(exc)}") from None
        name = str(detail["StackResourceDetail"]["PhysicalResourceId"])
        arn = f"arn:{partition}:logs:{target.region}:{account}:log-group:{name}"
        groups.append(LogGroup(key, name, arn))
    return groups


class LiveTailUnavailableError(RuntimeError):
    """Live Tail cannot be used here (not allowed, not offered): poll instead."""


LIVE_TAIL_DROPS = 3
"""Live Tail connections dropped in a row, with no outcome heard between them, before tail gives up."""


def live_tail(logs: Any, groups: list[LogGroup], stop: threading.Event) -> Iterator[Outcome]:
    """Outcomes from a CloudWatch Logs Live Tail session on ``groups``, renewed when it times out (3 hours)
    or its connection drops (a new session at once; after ``LIVE_TAIL_DROPS`` drops in a row with nothing
    heard between them, an IntakeError)."""
    drops = 0
    while not stop.is_set():
        try:
            response = logs.start_live_tail(
                logGroupIdentifiers=[group.arn for group in groups], logEventFilterPattern=FILTER_PATTERN
            )
        except (AttributeError, ClientError, BotoCoreError) as exc:
            raise LiveTailUnavailableError(aws_problem(exc)) from exc
        stream = response["responseStream"]
        try:
            for outcome in _session_outcomes(stream, stop):
                drops = 0
                yield outcome
        except ClientError as exc:
            # botocore raises the stream's error events (EventStreamError): a session lasts three hours.
            if exc.response.get("Error", {}).get("Code") != "SessionTimeoutException":
                raise IntakeError(f"the Live Tail session failed: {aws_problem(exc)}") from None
        except (BotoCoreError, HTTPError) as exc:  # the connection dropped (a read timeout, a reset)
            drops += 1
            if drops >= LIVE_TAIL_DROPS:
                raise IntakeError(f"the Live Tail connection keeps dropping: {exc}") from None
        finally:
            stream.close()


def _session_outcomes(stream: Any, stop: threading.Event) -> Iterator[Outcome]:
    """The outcomes of one Live Tail session's stream, until it ends or ``stop`` is set."""
    for event in stream:
        if stop.is_set():
            return
        for result in (event.get("sessionUpdate") or {}).get("sessionResults", []):
            yield from outcomes_in(str(result.get("message", "")), _epoch_ms(result.get("timestamp")))


def poll(
    logs: Any,
    groups: list[LogGroup],
    stop: threading.Event,
    *,
    since: datetime | None = None,
    follow: bool = True,
    clock: Callable[[], float] = time.time,
) -> Iterator[Outcome]:
    """Outcomes found by ``FilterLogEvents`` on each group, every two seconds, from ``since`` (else now)."""
    start_ms = int((since.timestamp() if since else clock()) * 1000)
    seen: dict[str, int] = {}
    while not stop.is_set():
        newest = start_ms
        found: list[tuple[int, str, str]] = []
        for group in groups:
            found += _filtered(logs, group.name, start_ms)
        for stamp, event_id, message in sorted(found):
            newest = max(newest, stamp)
            if event_id in seen:
                continue
            seen[event_id] = stamp
            yield from outcomes_in(message, _epoch_ms(stamp))
        if not follow:
            return
        start_ms = max(start_ms, newest - _LOOKBACK_MS)
        for event_id in [key for key, stamp in seen.items() if stamp < start_ms]:
            del seen[event_id]
        stop.wait(POLL_SECONDS)


def stream(
    target: Target,
    vendors: list[str],
    since: datetime | None,
    stop: threading.Event,
    *,
    follow: bool = True,
    poll_only: bool = False,
) -> Iterator[Outcome]:
    """The consumers' outcomes on ``target`` (from ``since``, else from now), until ``stop`` or, unfollowed, the end.

    The local stack: its log file. A deployed stack: a Live Tail session when following from
    now (unless ``poll_only``), else FilterLogEvents every two seconds.
    """
    if target.local:
        if target.log_file is None:
            raise IntakeError("the local stack's stack.json names no log file: restart it with `intake serve`")
        yield from follow_file(target.log_file, stop, since=since, follow=follow)
        return
    groups = consumer_log_groups(target, vendors)
    logs = target.client("logs")
    if since is None and follow and not poll_only:
        try:
            yield from live_tail(logs, groups, stop)
            return
        except LiveTailUnavailableError as exc:
            Terminal(stderr=True, highlight=False, emoji=False).print(
                f"[dim]Live Tail unavailable ({exc}); polling FilterLogEvents every 2 s[/]"
            )
    # What is already there (since) only FilterLogEvents can read: Live Tail sees what arrives.
    yield from poll(logs, groups, stop, since=since, follow=follow)


def _filtered(logs: Any, group: str, start_ms: int) -> list[tuple[int, str, str]]:
    request: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "filterPattern": FILTER_PATTERN}
    found: list[tuple[int, str, str]] = []
    while True:
        try:
            response = logs.filter_log_events(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return found  # a consumer that never ran has no log group yet
            raise IntakeError(f"cannot read log group {group}: {aws_problem(exc)}") from None
        except BotoCoreError as exc:
            raise IntakeError(f"cannot read log group {group}: {exc}") from None
        found += [
            (int(event["timestamp"]), str(event["eventId"]), str(event["message"]))
            for event in response.get("events", [])
        ]
        token = response.get("nextToken")
        if not token:
            return found
        request["nextToken"] = token


def _epoch_ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError):
        return None
