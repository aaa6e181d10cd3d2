"""Reading the stored normalized events back, through the table's keys, the feed and the index.

Every read names its key, the feed or the index (docs/data-model.md, "Reads"): one event by id,
the feed's pages over a window of receive times with a filter, a comment's state (``by-content``).
A full scan happens only when a command is told ``--scan`` (and for ``status`` on the local stack).
"""

from __future__ import annotations

import base64
import dataclasses
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.suggest import did_you_mean
from intake_cli.target import IntakeError, OptionsError, aws_problem
from intake_cli.terminal import json_line
from webhook_intake.payloads import PayloadError, PayloadStore
from webhook_intake.store.reads import EventReader, FeedFilter, newest_first
from webhook_intake.taxonomy import EVENT_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from intake_cli.target import Target
    from webhook_intake.store.reads import CurrentState

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No window starts earlier: nothing stored was received before (nor is a vendor's time before it taken)."""
DEFAULT_WINDOW = timedelta(hours=24)
"""How far back a read looks when not told: the feed is read a day (and a shard) at a time."""
DEFAULT_LIMIT = 50
MAX_WINDOW_DAYS = 400
"""A longer window would read four feed partitions for each of its days, most of them empty."""
# The feed's upper bound sits a little in the future: a clock a moment ahead on the writer's side still shows.
_CLOCK_SLACK = timedelta(minutes=1)
_SCAN_PROGRESS_EVERY = 100
"""A full scan tells how far it got every this many events read."""
_DURATION = re.compile(r"(\d+)\s*(s|m|h|d|w)")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class UnreadableTimeError(IntakeError):
    """A time option that is neither a time nor a duration: a mistake in the command line itself."""


@dataclass(frozen=True)
class Window:
    """Receive times from ``since`` to ``until``, both included."""

    since: datetime
    until: datetime


def parse_when(text: str, now: datetime) -> datetime:
    """``7d``, ``36h``, ``15m`` (back from ``now``), ``now``, or an ISO-8601 date or time (UTC unless it says),
    as a UTC time."""
    value = text.strip()
    if value.lower() == "now":
        return now
    duration = _DURATION.fullmatch(value.lower())
    if duration:
        amount, unit = duration.groups()
        try:
            return now - timedelta(**{_UNITS[unit]: int(amount)})
        except OverflowError:
            raise OptionsError(f"{text!r} reaches back before the year 1") from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UnreadableTimeError(
            f"{text!r} is neither a time (2026-11-29, 2026-11-29T08:00, 2026-11-29T08:00:00Z) "
            "nor a duration (90s, 15m, 36h, 7d, 2w)"
        ) from None
    if not moment.tzinfo:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise OptionsError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


def duration_back(text: str, more: timedelta) -> str | None:
    """``text`` typed as a duration back from now (``2d``), reaching ``more`` further back, in its own unit
    (``9d`` for a week more); None when it is not a duration, or ``more`` is no whole number of its units."""
    duration = _DURATION.fullmatch(text.strip().lower())
    if duration is None:
        return None
    amount, unit = duration.groups()
    units, rest = divmod(more, timedelta(**{_UNITS[unit]: 1}))
    return None if rest else f"{int(amount) + units}{unit}"


def window(
    since: str | None,
    until: str | None,
    now: datetime | None = None,
    *,
    max_days: int | None = None,
    otherwise: str | None = None,
) -> Window:
    """The window a read covers: the day before ``until`` (now by default) unless ``since`` says.

    Nothing is received after now, so a later ``until`` stops there, nor before 2000. A read of the feed (a day
    at a time) passes ``max_days``: a wider window is refused, not read day after empty day;
    ``otherwise`` is what else the calling command offers then (``events``: ``--scan``).
    """
    now = now or datetime.now(UTC)
    # Without --until, up to now and the writer's clock slack: an event a host a moment ahead received shows at once.
    upper = parse_when(until, now) if until else now + _CLOCK_SLACK
    if upper < EARLIEST:
        raise OptionsError(f"--until {until!r} is before 2000: nothing stored was received before then")
    end = min(upper, now + _CLOCK_SLACK)
    start = max(parse_when(since, now) if since else min(upper, now) - DEFAULT_WINDOW, EARLIEST)
    if start > end:
        # An --until in the future stops at now: a --since before it may still be after now.
        raise OptionsError("--since is after --until" if until and start > upper else "--since is in the future")
    days = (end - start).days
    if max_days is not None and days > max_days:
        raise OptionsError(
            f"a window of {days} days: the feed is read a day at a time ({max_days} at most); "
            f"narrow it with --since/--until{f', or {otherwise}' if otherwise else ''}"
        )
    return Window(start, end)


def type_subjects() -> list[str]:
    """The subjects ``--type`` takes for all of their types (``comment``: every comment.*), in taxonomy order."""
    return list(dict.fromkeys(name.partition(".")[0] for name in EVENT_TYPES))


def event_types(values: Iterable[str]) -> tuple[str, ...]:
    """``--type`` values as the feed filter takes them: an exact type, or a subject (``comment``: every comment.*)."""
    subjects = set(type_subjects())
    chosen = []
    for raw in values:
        value = raw.strip().removesuffix(".*").removesuffix(".")
        if value in EVENT_TYPES:
            chosen.append(value)
        elif value in subjects:
            chosen.append(f"{value}.")
        else:
            hint = did_you_mean(value, [*EVENT_TYPES, *sorted(subjects)], n=3)
            raise IntakeError(
                f"unknown event type {raw!r}{hint}; a subject (comment, reply, content…) means all of its types\n"
                f"known types: {', '.join(EVENT_TYPES)}"
            )
    return tuple(chosen)


def split_id(identifier: str, vendor: str | None) -> tuple[str, str]:
    """``VENDOR#ID`` (or ``ID`` with ``--vendor``) as (vendor, event id)."""
    if vendor:
        return vendor, identifier.removeprefix(f"{vendor}#")
    key, sep, event_id = identifier.partition("#")
    if not sep or not key or not event_id:
        raise OptionsError(f"--id takes VENDOR#EVENT_ID (or --vendor VENDOR --id EVENT_ID), got {identifier!r}")
    return key, event_id


@contextmanager
def reading(target: Target) -> Iterator[None]:
    """An AWS failure while reading the table becomes one line."""
    try:
        yield
    except (ClientError, BotoCoreError, PayloadError) as exc:
        raise IntakeError(f"cannot read table {target.events_table}: {aws_problem(exc)}") from None


def payloads(target: Target) -> PayloadStore:
    """The stack's payload bucket (large bodies, claim checks, long quarantined texts)."""
    return PayloadStore(target.payload_bucket, s3_client=target.client("s3"))


def reader(target: Target) -> EventReader:
    """The event log's read side on ``target``."""
    return EventReader(target.events_table, dynamodb_client=target.client("dynamodb"), payloads=payloads(target))


def feed(
    target: Target, where: FeedFilter, span: Window, limit: int, day_read: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Feed entries (keys, times, types and ids: no text) received in ``span``, newest first; ``day_read`` hears
    each day of it once read."""
    with reading(target):
        return reader(target).feed(span.since, span.until, where, limit=limit, day_read=day_read)


def feed_events(
    target: Target, where: FeedFilter, span: Window, limit: int, day_read: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """:func:`feed`'s events whole, decoded, from the same read that checks their entries."""
    with reading(target):
        return reader(target).feed_events(span.since, span.until, where, limit=limit, day_read=day_read)


def feed_days(span: Window) -> int:
    """How many days of the feed a read of ``span`` goes through (UTC days, the first and last included)."""
    return (span.until.astimezone(UTC).date() - span.since.astimezone(UTC).date()).days + 1


def full_events(target: Target, keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Whole events, decoded, in the order asked (BatchGetItem)."""
    with reading(target):
        return reader(target).get_many(keys)


def one_event(target: Target, vendor: str, event_id: str) -> dict[str, Any] | None:
    """One event by its key."""
    with reading(target):
        return reader(target).get(vendor, event_id)


def state(target: Target, vendor: str, content_id: str) -> CurrentState | None:
    """A comment's current state and the events behind it (the ``by-content`` index)."""
    with reading(target):
        return reader(target).state(vendor, content_id)


def matches(where: FeedFilter, item: dict[str, Any]) -> bool:
    """What the feed's filter keeps, checked on a decoded event (for ``--scan``: by its parts' ids,
    however long, where the feed holds only ids it can index)."""
    ids: dict[str, Any] = {f"{name}_id": (item.get(name) or {}).get("id") for name in ("actor", "content", "container")}
    # Every recipient, from the event's list (in S3 when long): the feed's ids leave out one too long for it
    parties = item.get("recipients")
    listed = [party.get("id") for party in parties if isinstance(party, dict)] if isinstance(parties, list) else []
    ids["recipient_ids"] = [*(item.get("recipient_ids") or ()), *listed]
    return where.keeps({**item, **ids})


def scanned(
    target: Target,
    where: FeedFilter,
    span: Window | None,
    limit: int | None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every matching event of the table (a full scan), newest received first; ``progress`` hears how many
    events were read so far."""
    items = []
    read = 0
    # What the item's own attributes settle drops it undecoded (no decompression, no S3 read); the ids
    # need the event's parts (an id too long to index is only there).
    by_attributes = dataclasses.replace(where, content=None, container=None, actor=None, recipient=None)
    with reading(target):
        events = reader(target)
        for read, item in enumerate(events.scan_items(), 1):
            if progress is not None and read % _SCAN_PROGRESS_EVERY == 0:
                progress(read)
            received = str(item.get("received_at", ""))
            if not by_attributes.keeps(item) or (span is not None and not _within(span, received)):
                continue
            event = events.decode(item)
            if matches(where, event):
                items.append(event)
    if progress is not None:
        progress(read)
    items.sort(key=newest_first, reverse=True)
    return items if limit is None else items[:limit]


def _within(span: Window, received_at: str) -> bool:
    try:
        moment = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    return span.since <= moment <= span.until


def count_by_vendor(target: Target, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """How many events each vendor has stored (a full scan: the local stack's ``status``, or ``--count``);
    ``progress`` hears how many were counted so far."""
    with reading(target):
        return reader(target).count_by_vendor(progress)


def event_json(item: dict[str, Any]) -> str:
    """One stored event as one line of JSON (``raw`` is the vendor's object; ``raw_text`` its exact text)."""
    return json_line(item, default=plain, sort_keys=True)


def plain(value: Any) -> Any:
    """DynamoDB's numbers, sets and binaries as JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
