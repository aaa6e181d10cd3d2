"""``intake events``, ``state``, ``status`` and ``tail``: find events and follow what the consumers do."""

from __future__ import annotations

import shlex
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from intake_cli.cli import (
    EventTypeOption,
    IntakeCommand,
    JsonOption,
    RegionOption,
    SinceOption,
    StackOption,
    UntilOption,
    Vendor,
    VendorOption,
    a_limit,
    a_vendor,
    a_when,
    an_id,
    app,
    chosen_vendors,
    complete_vendors,
    console,
    examples,
    not_empty,
    print_json_lines,
    reports_errors,
    state_dir,
    vendor_key,
)
from intake_cli.target import IntakeError, OptionsError, resolve_target
from intake_cli.terminal import inline
from webhook_intake.registry import vendors

if TYPE_CHECKING:
    from intake_cli.event_log import Window
    from intake_cli.target import Target


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Find and follow",
    epilog=examples(
        "intake events --vendor openweb --since 7d",
        "intake events --type comment --content COMMENT_ID --json",
        "intake events --id openweb#EVENT_ID",
        "intake events --since 2026-11-29T08:00 --until 2026-11-29T09:00",
    ),
)
@reports_errors
def events(
    ctx: typer.Context,
    vendor: VendorOption = None,
    event_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            metavar="VENDOR#ID",
            help="One event by its key (or --vendor V --id ID); no filter goes with it.",
            show_default=False,
            callback=an_id,
        ),
    ] = None,
    event_type: EventTypeOption = None,
    content: Annotated[
        str | None, typer.Option("--content", metavar="ID", help="On this content item.", callback=an_id)
    ] = None,
    container: Annotated[
        str | None,
        typer.Option("--container", metavar="ID", help="In this container (article, page, channel).", callback=an_id),
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", metavar="ID", help="By this user.", callback=an_id)] = None,
    recipient: Annotated[
        str | None, typer.Option("--recipient", metavar="ID", help="To this user.", callback=an_id)
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            metavar="N",
            help="At most this many, newest first. Default: 50; with --scan, every event that matches.",
            show_default=False,
            callback=a_limit,
        ),
    ] = None,
    tests: Annotated[
        bool,
        typer.Option(
            "--tests", help="Include test events (intake send --stack, test payloads), marked (test) in the table."
        ),
    ] = False,
    scan: Annotated[
        bool, typer.Option("--scan", help="Read the whole table (a full scan: slow and billed on a big table).")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Each whole event as a line of JSON (raw included).")
    ] = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Stored events, newest received first, read through the feed (docs/data-model.md).

    Without --since, the last 24 hours. The filters are the feed's: a read costs what its time
    window holds, not what the table holds. Times are UTC.
    """
    from intake_cli.event_log import (
        DEFAULT_LIMIT,
        MAX_WINDOW_DAYS,
        event_json,
        event_types,
        feed,
        feed_days,
        feed_events,
        scanned,
        window,
    )
    from intake_cli.render import counted, counting_bar, days_bar, events_table
    from webhook_intake.store.reads import FeedFilter

    key = vendor_key(vendor)
    alone_with_id(ctx, event_id, key)
    target = resolve_target(state_dir(ctx), stack, region)
    if event_id is not None:
        rows = [by_key(target, event_id, key)]
    else:
        where = FeedFilter(
            vendor=key,
            event_types=event_types(event_type or []),
            content=content,
            container=container,
            actor=actor,
            recipient=recipient,
            tests=tests,
        )
        if scan:
            span = window(since, until) if since or until else None
            with counting_bar(console(sys.stderr), "Reading every event of the table (--scan)") as heard:
                rows = scanned(target, where, span, limit, progress=heard)
        else:
            unindexed(content=content, container=container, actor=actor, recipient=recipient)
            span = window(since, until, max_days=MAX_WINDOW_DAYS, otherwise="read the whole table with --scan")
            limit = limit or DEFAULT_LIMIT
            with days_bar(console(sys.stderr), "Reading the feed a day at a time", feed_days(span)) as heard:
                rows = (feed_events if json_output else feed)(target, where, span, limit, day_read=heard)
    cut = limit is not None and len(rows) == limit
    if json_output:
        for row in rows:
            typer.echo(event_json(row))
        if cut:
            # Standard output holds the events alone: a script is told here that more may match.
            wider = "a larger --limit" if scan else "--limit N, or --scan"
            console(sys.stderr).print(
                f"[dim]{counted(len(rows), 'event', 'events')}, the limit: more may match ({wider})[/]"
            )
        return
    out = console()
    title = f"Events ({len(rows)}{', the limit' if cut else ''}), newest received first, UTC"
    out.print(events_table(rows, title, out.width))
    if not rows and event_id is None and not scan:
        hint = empty_window_hint(window(since, until), tests=tests, until=until)
        out.print(f"[dim]none in that window: {hint}[/]")


def by_key(target: Target, event_id: str, key: str | None) -> dict[str, Any]:
    """``events --id``: one event by its key, or a clear line saying why there is none."""
    from intake_cli.dlq import quarantine_key
    from intake_cli.event_log import one_event, split_id
    from webhook_intake.store.schema import event_key, fits_a_key

    found_vendor, found_id = split_id(event_id, key)
    # Read first: the events of a vendor taken out of the project stay in the table. A key no item can
    # have (an unknown vendor's name over DynamoDB's limit, which no hash shortens) is not read: it is refused.
    storable = fits_a_key(event_key(found_vendor, found_id)["pk"])
    found = one_event(target, found_vendor, found_id) if storable else None
    if found is None and quarantine_key(target, event_id) is not None:
        raise IntakeError(f"{event_id} is a quarantined event's id, not stored: `intake dlq list --json` shows it")
    if found is None and found_vendor not in target.vendors:
        target.vendor(found_vendor)  # raises: an unknown vendor, or one the stack was deployed without
    if found is None:
        named = found_id.partition("#")[0]
        if key and named != key and named in target.vendors:
            hint = f" (--id names a {named} key: leave out --vendor, or pass --vendor {named})"
            raise IntakeError(f"no event {found_vendor}#{found_id}{hint}")
        raise IntakeError(f"no event {found_vendor}#{found_id}{held_as(target, found_vendor, found_id)}")
    return found


def held_as(target: Target, vendor_key: str, event_id: str) -> str:
    """What an event not stored is held as in the quarantine (the reason and the id ``dlq`` takes), to end the line
    saying it is not stored: an event the consumer refused arrived, and is not to be sent again."""
    from intake_cli.dlq import quarantined_as
    from intake_cli.render import counting_bar

    looking = f"Searching {vendor_key}'s quarantine"
    with counting_bar(console(sys.stderr), looking, transient=True) as heard:
        copies = quarantined_as(target, vendor_key, event_id, progress=heard)
    if not copies:
        return ""
    named = ", ".join(f"{copy.id} ({copy.reason})" for copy in copies[:3])
    more = f" and {len(copies) - 3} more" if len(copies) > 3 else ""
    kept = "it is quarantined" if len(copies) == 1 else f"{len(copies)} copies of it are quarantined"
    return f" stored: {kept}, {named}{more}: `intake dlq list` shows why, `intake dlq redrive --id ID` sends it back"


ID_TAKES = {"event_id", "vendor", "json_output", "stack", "region"}
"""What ``events --id`` goes with: one event by its key is no read of the feed, so a filter would be ignored."""


def alone_with_id(ctx: typer.Context, event_id: str | None, key: str | None) -> None:
    """Refuse an ``--id`` of the wrong form, and a feed option given with it (a usage error naming it): it would
    be ignored, silently."""
    from intake_cli.event_log import split_id

    if event_id is None:
        return
    try:
        split_id(event_id, key)
    except IntakeError as exc:
        raise typer.BadParameter(str(exc), ctx=ctx, param_hint="'--id'") from None
    for param in ctx.command.params:
        given = ctx.get_parameter_source(param.name or "")
        if param.name not in ID_TAKES and given is not None and given.name != "DEFAULT":
            option = param.opts[0]
            raise typer.BadParameter(
                f"not with --id: one event by its key takes no filter (leave out {option})",
                ctx=ctx,
                param_hint=f"'{option}'",
            )


def empty_window_hint(span: Window, *, tests: bool, until: str | None = None) -> str:
    """What to try when a window holds nothing: a longer one, test events, the whole table.

    The longer window ends where this one did: a window that ended in the past (``--until``) is offered the
    week before its end, not the last seven days, which may not even reach back to it. An ``--until`` typed as a
    duration back from now (``2d``) is offered it as durations too (``--since 9d --until 2d``), as it was typed.
    """
    from intake_cli.event_log import EARLIEST, duration_back

    hints = []
    week = timedelta(days=7)
    week_before = max(span.until - week, EARLIEST)
    if week_before < span.since:
        if until is not None and span.until < datetime.now(UTC) - timedelta(minutes=1):
            since = duration_back(until, week) if span.until - week >= EARLIEST else None
            longer = (
                f"--since {since} --until {duration_back(until, timedelta(0))}"
                if since
                else f"--since {_typed(week_before)} --until {_typed(span.until, later=True)}"
            )
            hints.append(f"{longer} looks further back")
        else:
            hints.append("--since 7d looks further back")
    hints += [] if tests else ["--tests includes test events"]
    return ", ".join([*hints, "--scan reads the whole table (events stored before the feed's pages too)"])


def _typed(moment: datetime, *, later: bool = False) -> str:
    """A UTC time as ``--since``/``--until`` take it, to the minute when it falls on one, else to the second
    (rounded up when ``later``: the end of a window keeps what it held)."""
    if later and moment.microsecond:
        moment += timedelta(seconds=1)
    moment = moment.astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return moment.isoformat(timespec="minutes" if moment.second == 0 else "seconds")


def unindexed(**ids: str | None) -> None:
    """Refuse an id the indexes cannot hold (over INDEXED_ID_MAX_CHARS): a read would find nothing, silently."""
    from webhook_intake.store.items import INDEXED_ID_MAX_CHARS

    for name, value in ids.items():
        if value is not None and len(value) > INDEXED_ID_MAX_CHARS:
            raise OptionsError(
                f"the {name.replace('_', ' ')} is {len(value)} characters: ids over {INDEXED_ID_MAX_CHARS} are kept "
                "in the event but not indexed; `intake events --scan` reads the whole table for them"
            )


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Find and follow",
    epilog=examples(
        "intake state fastcomments COMMENT_ID",
        "intake state openweb COMMENT_ID --json --stack webhook-intake-prod",
    ),
)
@reports_errors
def state(
    ctx: typer.Context,
    vendor: Annotated[
        Vendor,
        typer.Argument(
            metavar="VENDOR",
            help="The vendor: " + ", ".join(vendors()) + ".",
            show_default=False,
            parser=a_vendor,
            autocompletion=complete_vendors,
        ),
    ],
    content_id: Annotated[
        str,
        typer.Argument(metavar="CONTENT_ID", help="The comment's (or post's) id.", callback=not_empty("an id")),
    ],
    json_output: Annotated[
        bool,
        typer.Option("--json", help="The state, its newest text and its events whole (raw bodies included), as JSON."),
    ] = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """A comment's current state (the newest state event, a deletion first) and the events behind it."""
    import dataclasses

    from intake_cli.event_log import plain
    from intake_cli.event_log import state as read_state
    from intake_cli.render import state_view
    from intake_cli.terminal import json_line

    key = str(vendor_key(vendor))
    target = resolve_target(state_dir(ctx), stack, region)
    unindexed(content_id=content_id)
    found = read_state(target, key, content_id)
    if found is None:
        raise IntakeError(
            f"no state for {key} {content_id}: only events that change a comment's state are indexed "
            f"(created, updated, approved, rejected, spam, deleted, removed); "
            f"`intake events --vendor {key} --content {shlex.quote(content_id)} --since 30d` lists every event on it"
        )
    if json_output:
        typer.echo(json_line(dataclasses.asdict(found), default=plain, sort_keys=True))
        return
    out = console()
    line, table = state_view(found, out.width)
    out.print(line, soft_wrap=True)
    if found.text:
        size = len(found.text)
        out.print(f"[dim]its newest text is {size} character{'' if size == 1 else 's'}: --json shows it[/]")
    out.print(table)


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Find and follow",
    epilog=examples(
        "intake status",
        "intake status --stack webhook-intake-prod --json",
    ),
)
@reports_errors
def status(
    ctx: typer.Context,
    json_output: JsonOption = False,
    count_events: Annotated[
        bool | None,
        typer.Option(
            "--count/--no-count",
            help="Count stored events per vendor: a full table scan, so by default only on the local stack.",
            show_default=False,
        ),
    ] = None,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Queue depth, DLQ depth, quarantined events, oldest message age and (on the local stack) events stored,
    per vendor.

    The oldest message age is CloudWatch's ApproximateAgeOfOldestMessage (the local stack
    publishes it every few seconds; AWS every minute), shown only for a queue that is not empty.
    """
    from intake_cli.dlq import quarantined_by_vendor
    from intake_cli.event_log import count_by_vendor
    from intake_cli.queues import statuses
    from intake_cli.render import counting_bar, status_table

    target = resolve_target(state_dir(ctx), stack, region)
    counting = target.local if count_events is None else count_events
    stored, problems = None, []
    if counting:
        try:
            with counting_bar(console(sys.stderr), "Counting the stored events (a full scan)") as heard:
                stored = count_by_vendor(target, progress=heard)
        except IntakeError as exc:  # the queues still say what waits, and the DLQs what failed
            problems.append(str(exc))
    try:
        held = quarantined_by_vendor(target)
    except IntakeError as exc:
        held = None
        problems.append(str(exc))
    # A queue that cannot be read is a row of dashes and a line of its own: the other vendors are still seen.
    rows = statuses(target, stored, held, problems)
    if json_output:
        print_json_lines([row.to_json() for row in rows])
    else:
        out = console()
        out.print(status_table(rows, out.width, title=f"Stack {target.name}"))
    if problems:
        raise IntakeError("\n".join(dict.fromkeys(problems)))  # the table's one cause, said once


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Find and follow",
    epilog=examples(
        "intake tail --vendor firstup",
        "intake tail --since 15m --no-follow --json",
        "intake tail --stack webhook-intake-prod",
    ),
)
@reports_errors
def tail(
    ctx: typer.Context,
    vendor: VendorOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Start this far back (15m, 2h, or a time) instead of now.",
            callback=a_when,
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow/--no-follow", help="Keep following (Ctrl-C stops), or stop at what is there now."),
    ] = True,
    poll_only: Annotated[
        bool, typer.Option("--poll", help="Deployed stack: poll FilterLogEvents instead of a Live Tail session.")
    ] = False,
    json_output: JsonOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """A line per consumer outcome as it happens: stored, duplicate, quarantined (with its reason), released,
    retrying, dead-lettered.

    The local stack: its log file (the state dir's). A deployed stack: the consumers' CloudWatch
    log groups (/aws/lambda/CONSUMER_FUNCTION), through a Live Tail session filtered to the
    consumers' "outcomes" lines (billed per session minute beyond CloudWatch's free 1,800 a
    month; the session ends with the command). Where Live Tail is not allowed or offered, and
    with --poll, --since or --no-follow, it reads FilterLogEvents every 2 s instead.
    """
    from intake_cli.event_log import parse_when
    from intake_cli.outcomes import stream

    target = resolve_target(state_dir(ctx), stack, region)
    key = vendor_key(vendor)
    start = parse_when(since, datetime.now(UTC)) if since else None
    stop = threading.Event()
    out = console()
    try:
        for outcome in stream(target, chosen_vendors(target, key), start, stop, follow=follow, poll_only=poll_only):
            if key and outcome.vendor != key:
                continue
            if json_output:
                print_json_lines([outcome.to_json()])
            else:
                out.print(outcome.line(), soft_wrap=True)
    except KeyboardInterrupt:
        stop.set()


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Find and follow",
    epilog=examples(
        "intake shapes --new --paths",
        "intake shapes --vendor openweb --json --stack webhook-intake-prod",
    ),
)
@reports_errors
def shapes(
    ctx: typer.Context,
    vendor: VendorOption = None,
    new_only: Annotated[
        bool, typer.Option("--new", help="Only shapes seen in traffic that no documented example has.")
    ] = False,
    show_paths: Annotated[
        bool, typer.Option("--paths", help="Each new shape's paths added to and missing from the closest known one.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Each shape as a line of JSON, with all its key paths.")
    ] = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """The event shapes each vendor is known to send, and the new ones it started sending.

    A shape is an event's key paths and value types (never its values). Known shapes are
    those of the vendor's documented examples; a new one was kept by the consumer the first
    time it was seen (and counted in the NewShapes metric), and is shown against the closest
    known shape of its source type: fields added, fields gone. An unknown event type is
    stored as `other` and shows up here as a new shape of its own source type.
    """
    from intake_cli import shapes as shape_log
    from intake_cli.event_log import reading
    from intake_cli.render import shapes_table

    target = resolve_target(state_dir(ctx), stack, region)
    key = vendor_key(vendor)
    with reading(target):
        found = shape_log.shapes(
            target.client("dynamodb"),
            target.events_table,
            [key] if key else sorted(vendors()),
            new_only=new_only,
        )
    if json_output:
        print_json_lines([shape.to_json() for shape in found])
        return
    out = console()
    out.print(shapes_table(found, width=out.width))
    if show_paths:
        for shape in found:
            if shape.origin == "new" and (shape.added or shape.missing):
                # Key paths are made of a vendor's keys: each stays on its line.
                title = escape(inline(f"{shape.vendor} {shape.source_type} {shape.fingerprint}"))
                out.print(f"\n[bold]{title}[/]", soft_wrap=True)
                for path in shape.added:
                    out.print(f"  [green]+ {escape(inline(path))}[/]", soft_wrap=True)
                for path in shape.missing:
                    out.print(f"  [red]- {escape(inline(path))}[/]", soft_wrap=True)
