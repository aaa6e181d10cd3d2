"""What the terminal shows: stored events, a comment's state, queue status, what waits in the DLQs, routes.

Tables fit the terminal: a column that does not fit is left out, least useful first, and ids
give way with an ellipsis (``--json`` always has everything). Nothing here prints comment
text: rows show types, ids and times, as stored. Ids and types are whatever a vendor sent (an
id may even be an address): a character a terminal would act on (an escape sequence, a
carriage return, a bidirectional override), one it would show as nothing (a zero-width space), and a
line feed or tab that would break a row, is shown as its escape (``\\x1b``, ``\\u200b``, ``\\x0a``), never
sent to the terminal.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich import box
from rich.cells import cell_len
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from intake_cli.terminal import inline

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console, JustifyMethod

    from intake_cli.dlq import Held
    from intake_cli.queues import QueueStatus
    from intake_cli.shapes import Shape
    from webhook_intake.store.reads import CurrentState

_GAP = 3  # between two columns of a box.SIMPLE table: its padding (2) and its blank divider (1)


def short(value: Any, width: int) -> str:
    """One line of at most ``width`` terminal cells (a CJK character or an emoji takes two), an ellipsis where it
    was cut."""
    line = Text(" ".join(str(value).split()) if value is not None else "")
    line.truncate(width, overflow="ellipsis")
    return line.plain


def counted(number: int, one: str, many: str) -> str:
    """``number`` with the word for that many: ``1 try``, ``2 tries``, ``0 dead letters``."""
    return f"{number} {one if number == 1 else many}"


def when(iso: Any, now: datetime | None = None) -> str:
    """A stored time, short: ``11-29 12:00:01`` this year, ``2024-07-04 20:01`` otherwise (UTC)."""
    text = str(iso or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return text
    year = (now or datetime.now(UTC)).year
    return moment.strftime("%m-%d %H:%M:%S") if moment.year == year else moment.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Column:
    """A column of a fitted table: its header, how a row fills it, and how far it may shrink."""

    header: str
    value: Callable[[dict[str, Any]], str]
    keep: int
    """Lower is kept longer when the terminal is narrow."""
    shrinks_to: int | None = None
    """None: never cut (the column is dropped before it would be)."""
    style: str | None = None
    justify: JustifyMethod = "left"
    emphasis: Callable[[dict[str, Any]], str] | None = None
    """The style of one row's cell (a count that needs the operator), beside the column's."""
    mark: Callable[[dict[str, Any]], str] | None = None
    """What ends a row's cell and stays whole when the cell is cut (a test event's ``(test)``)."""
    cut_last: bool = False
    """Cut only once the other columns shown can give no more room."""


def fitted_table(title: str, rows: list[dict[str, Any]], columns: list[Column], width: int) -> Table:
    """The columns that fit ``width`` (in their order), each as wide as its widest value or cut to fit.

    Widths are in terminal cells, as rich lays the table out: a CJK character or an emoji takes two."""
    values = {column.header: [inline(column.value(row)) for row in rows] for column in columns}
    marks = {column.header: [inline(column.mark(row)) if column.mark else "" for row in rows] for column in columns}
    cells = {
        header: [value + mark for value, mark in zip(values[header], marks[header], strict=True)] for header in values
    }
    natural = {
        column.header: max([cell_len(column.header), *(cell_len(cell) for cell in cells[column.header])])
        for column in columns
    }
    least = {
        column.header: min(natural[column.header], column.shrinks_to or natural[column.header]) for column in columns
    }
    chosen: list[Column] = []
    for column in sorted(columns, key=lambda column: column.keep):
        needed = sum(least[c.header] for c in chosen) + least[column.header] + _GAP * len(chosen)
        if needed <= width:
            chosen.append(column)
    shown = [column for column in columns if any(column is kept for kept in chosen)]
    # Rich would squeeze (and then drop) columns its own way: each width is decided here.
    widths = {column.header: natural[column.header] for column in shown}
    excess = sum(widths.values()) + _GAP * (len(shown) - 1) - width
    while excess > 0:
        can = [c for c in shown if c.shrinks_to is not None and widths[c.header] > least[c.header]]
        room = [c.header for c in can if not c.cut_last] or [c.header for c in can]
        if not room:
            break
        widest = max(room, key=lambda header: widths[header])
        widths[widest] -= 1
        excess -= 1
    for header, wide in widths.items():
        for index, mark in enumerate(marks[header]):
            if mark and cell_len(cells[header][index]) > wide:
                cells[header][index] = short(values[header][index], max(wide - cell_len(mark), 1)) + mark
    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_edge=False, pad_edge=False)
    for column in shown:
        table.add_column(
            column.header,
            style=column.style,
            no_wrap=True,
            overflow="ellipsis",
            width=widths[column.header],
            justify=column.justify,
        )
    for index, row in enumerate(rows):
        # Text, not markup: ids and vendor types are whatever a vendor sent ("[/]" included).
        table.add_row(*(Text(cells[c.header][index], style=c.emphasis(row) if c.emphasis else "") for c in shown))
    return table


def _id(part: str) -> Callable[[dict[str, Any]], str]:
    def value(row: dict[str, Any]) -> str:
        found = row.get(f"{part}_id") or (row.get(part) or {}).get("id")
        return str(found or "")

    return value


EVENT_COLUMNS = [
    Column("received", lambda row: when(row.get("received_at")), keep=0),
    Column("event time", lambda row: when(row.get("occurred_at")), keep=6),
    Column("vendor", lambda row: str(row.get("vendor", "")), keep=1, style="cyan"),
    # A test event (listed with --tests) says so where its type is read, however short the type is cut. The
    # type gives way too, after the ids: the longest (followed_keyword.published) beside the longest vendor key
    # would leave no room on 80 columns for the event id.
    Column(
        "type",
        lambda row: str(row.get("event_type", "")),
        keep=2,
        shrinks_to=16,
        cut_last=True,
        style="green",
        mark=lambda row: " (test)" if row.get("test") else "",
    ),
    Column("source type", lambda row: str(row.get("source_type", "")), keep=7, shrinks_to=12),
    Column("event id", lambda row: str(row.get("event_id", "")), keep=3, shrinks_to=14),
    Column("actor", _id("actor"), keep=5, shrinks_to=10),
    Column("content", _id("content"), keep=4, shrinks_to=10),
]


def events_table(rows: list[dict[str, Any]], title: str, width: int) -> Table:
    """Events (feed entries or whole events): received, event time, vendor, type, source type, ids."""
    return fitted_table(title, rows, EVENT_COLUMNS, width)


def state_view(found: CurrentState, width: int) -> tuple[Text, Table]:
    """A comment's state in a line, and the events behind it, newest first."""
    event = found.event
    colour = "red" if found.deleted else "green"
    line = Text.assemble(
        (inline(f"{found.vendor} {found.content_id}"), "bold"),
        ": ",
        (found.status, f"bold {colour}"),
        f" ({event.get('event_type')}, event time {when(event.get('occurred_at'))}, "
        f"{len(found.events)} state event{'s' if len(found.events) != 1 else ''})",
    )
    columns = [column for column in EVENT_COLUMNS if column.header not in ("vendor", "content")]
    return line, fitted_table("Events behind it, newest first", found.events, columns, width)


SHAPE_COLUMNS = [
    Column("vendor", lambda row: str(row["vendor"]), keep=1, style="cyan"),
    Column("source type", lambda row: str(row["source_type"]), keep=2, shrinks_to=14),
    Column("shape", lambda row: str(row["fingerprint"]), keep=3),
    Column("origin", lambda row: str(row["origin"]), keep=4, style="bold"),
    Column("paths", lambda row: str(len(row["paths"])), keep=6),
    Column(
        "change",
        lambda row: (
            f"+{len(row['added'])} -{len(row['missing'])}"
            if row["compared_with"]
            else "new type"
            if row["origin"] == "new"
            else ""
        ),
        keep=5,
    ),
    Column("first seen", lambda row: when(row["first_seen"]) if row["first_seen"] else "", keep=7),
]


def shapes_table(found: list[Shape], width: int) -> Table:
    """Known and new shapes per vendor and source type; a new one with the paths it adds and lacks."""
    new = sum(1 for shape in found if shape.origin == "new")
    title = f"Event shapes: {len(found) - new} documented, {new} new"
    return fitted_table(title, [shape.to_json() for shape in found], SHAPE_COLUMNS, width)


def _count(value: int | None) -> str:
    """A count of ``intake status``; a dash for one not known (not asked for, or its queue or table unread)."""
    return "—" if value is None else str(value)


STATUS_COLUMNS = [
    Column("vendor", lambda row: str(row["vendor"]), keep=0, style="cyan"),
    Column("queued", lambda row: _count(row["queued"]), keep=3, justify="right"),
    Column("in flight", lambda row: _count(row["in_flight"]), keep=5, justify="right"),
    Column(
        "age",
        lambda row: "—" if row["oldest_age_seconds"] is None else f"{row['oldest_age_seconds']} s",
        keep=4,
        justify="right",
    ),
    Column(
        "DLQ",
        lambda row: _count(row["dead_letters"]),
        keep=1,
        justify="right",
        emphasis=lambda row: "bold red" if row["dead_letters"] else "",
    ),
    Column(
        "quarantined",
        lambda row: _count(row["quarantined"]),
        keep=2,
        justify="right",
        emphasis=lambda row: "bold yellow" if row["quarantined"] else "",
    ),
    Column(
        "stored",
        lambda row: _count(row["events_stored"]),
        keep=6,
        justify="right",
    ),
]


def status_table(rows: list[QueueStatus], width: int, title: str = "Queues") -> Table:
    """Queue depth, in flight, oldest message age, dead letters, quarantined and stored events per vendor; on a
    narrow terminal the dead letters are the last count left out."""
    return fitted_table(title, [row.to_json() for row in rows], STATUS_COLUMNS, width)


def one_line(text: str, width: int) -> Text:
    """``text`` cut to ``width`` with an ellipsis, never wrapped (what would steer the terminal or break the line
    escaped)."""
    line = Text(inline(text))
    line.truncate(width, overflow="ellipsis")
    return line


def held_view(items: list[Held], width: int) -> list[Text]:
    """What waits for an operator, four lines each: what and why, when and which event (its vendor type, when
    known), the message, the id.

    The event and the message are cut to ``width`` (``--json`` has them whole). A quarantine id is
    about 70 characters: on its own line it is never cut, so it can be copied.
    """
    lines: list[Text] = []
    for item in items:
        dead = item.kind == "dead-letter"
        head = Text.assemble(
            (item.vendor, "cyan"),
            "  ",
            ("dead letter" if dead else "quarantined", "bold red" if dead else "bold yellow"),
            "  ",
            (inline(item.reason), "bold"),
        )
        if item.attempts is not None:
            head.append(f"  {counted(item.attempts, 'try', 'tries')}")
        lines.append(head)
        # The vendor's type before its id: which mapping a quarantined event concerns, where the item names one.
        kind = f"   type {item.source_type}" if item.source_type else ""
        lines.append(one_line(f"  received {when(item.received_at)}{kind}   event {item.event_id or '-'}", width))
        lines.append(one_line(f"  {item.message}", width))
        lines.append(Text.assemble("  id ", (inline(item.id), "bold")))
    return lines


def routes_table(routes: list[str], api_url: str) -> Table:
    """The HTTP API routes the gateway serves."""
    table = Table(title="Routes (template.yaml)", title_justify="left", box=box.SIMPLE, pad_edge=False)
    table.add_column("method", style="cyan", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    for route in routes:
        method, _, path = route.partition(" ")
        table.add_row(method, api_url + path)
    return table


def progress_bar(console: Console) -> Progress:
    """A bar for long work counted in steps, on a terminal only: what is being done, done of all, time taken and
    time left. A pipe or a file (a cron job's mail, a CI log) gets none of it: rich would leave its last frame."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )


@contextmanager
def days_bar(console: Console, doing: str, days: int) -> Iterator[Callable[[str], None]]:
    """A read of a window a day at a time (the feed), on a terminal only and gone once done: what is being read,
    days read of all, time taken. Yields what hears each day read."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(doing, total=days)
        yield lambda _day: bar.advance(task)


@contextmanager
def counting_bar(console: Console, doing: str, *, transient: bool = False) -> Iterator[Callable[[int], None]]:
    """Long work of no known length (a full scan), counted on a terminal only (as :func:`progress_bar`): what is
    being done, how many so far, time taken. Yields what hears the count. ``transient`` clears it once done: work
    on the way to something else (a lookup before an error line) leaves nothing of it behind."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        TextColumn("{task.completed:,} so far"),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(doing, total=None)
        yield lambda so_far: bar.update(task, completed=so_far)
