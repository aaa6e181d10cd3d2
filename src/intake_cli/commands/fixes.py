"""``intake dlq list|redrive|delete`` and ``intake replay``: fix what failed, and what was stored before a fix."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from intake_cli.cli import (
    DryRunOption,
    EventTypeOption,
    IntakeCommand,
    JsonOption,
    RegionOption,
    StackOption,
    UntilOption,
    VendorOption,
    YesOption,
    a_limit,
    a_when,
    app,
    chosen_vendors,
    confirm,
    console,
    dlq_app,
    examples,
    not_empty,
    print_json_lines,
    reports_errors,
    state_dir,
    vendor_key,
)
from intake_cli.stopping import what_stopped
from intake_cli.target import IntakeError, resolve_target
from intake_cli.terminal import inline

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.progress import TaskID

    from intake_cli.dlq import Done, Progress
    from intake_cli.replay import Plan, Replayer, Result
    from intake_cli.target import Target

HeldIdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        metavar="ID",
        help="One item: an SQS message id, or a quarantine id VENDOR/SK (as `intake dlq list` shows them).",
        show_default=False,
        callback=not_empty("an id (`intake dlq list` shows them)"),
    ),
]
ReasonOption = Annotated[
    str | None,
    typer.Option(
        "--reason",
        metavar="REASON",
        help="Only the items held for this reason, as `intake dlq list` shows it (conflict, invalid_event…; "
        "retries_exhausted: the dead letters).",
        show_default=False,
        callback=not_empty("a reason (`intake dlq list` shows each item's)"),
    ),
]

LOOKING_FOR_A_DEAD_LETTER = "Reading the dead letters for that id"
"""What ``--id`` of a dead letter shows at a terminal: SQS finds none by its id, so each queue is read to find it."""


def _one_or_chosen(ctx: typer.Context, item_id: str | None, reason: str | None) -> None:
    """``--id`` names one item, ``--reason`` chooses among all of them: both together is a usage error."""
    if item_id is not None and reason is not None:
        raise typer.BadParameter("chooses among all the items; --id names one", ctx=ctx, param_hint="'--reason'")


def _none_for(reason: str) -> str:
    """What a command chosen by ``--reason`` that found nothing to act on says."""
    return f"nothing held for reason {reason!r} (`intake dlq list` shows each item's reason)"


@dlq_app.command(
    "list",
    cls=IntakeCommand,
    epilog=examples(
        "intake dlq list",
        "intake dlq list --vendor firstup --json --stack webhook-intake-prod",
        "intake dlq list --reason conflict",
    ),
)
@reports_errors
def dlq_list(
    ctx: typer.Context,
    vendor: VendorOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="N", help="At most this many of each kind per vendor.")
    ] = 100,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object a line, with the exact body (a claim-checked delivery's, fetched from S3).",
        ),
    ] = False,
    reason: ReasonOption = None,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Dead letters and quarantined events: vendor, reason, when received, the event, the id to act on.

    Dead letters stay on their queue: SQS cannot peek, so each is received (hidden a moment) and
    made visible again, which adds to its receive count on the DLQ (which has no redrive policy).
    The terminal never shows bodies; --json does.
    """
    from intake_cli.dlq import Unread, body_of, held
    from intake_cli.render import counted, counting_bar, held_view

    target = resolve_target(state_dir(ctx), stack, region)
    unread = Unread()
    waiting: dict[str, int] = {}
    chosen = chosen_vendors(target, vendor_key(vendor))
    with counting_bar(console(sys.stderr), "Reading the dead letters and quarantined events", transient=True) as heard:
        items = held(target, chosen, limit, unread, reason, waiting, progress=heard)
    problems = unread.problems
    kinds = Counter((item.vendor, item.kind) for item in items)
    plural = {"dead-letter": "dead letters", "quarantined": "quarantined events"}
    # A kind read to the limit may hold more; not a dead-letter queue SQS counted as holding just those read.
    cut_kinds = [
        (name, kind)
        for (name, kind), found in sorted(kinds.items())
        if found >= limit and not (kind == "dead-letter" and waiting.get(name) == found)
    ]
    # A dead-letter queue cut at the limit is told at SQS's approximate count of it, as `intake status` tells it
    beyond = {name: waiting[name] for name, kind in cut_kinds if kind == "dead-letter" and waiting.get(name, 0) > limit}
    cut = [
        f"{name}'s first {limit} {f'of about {beyond[name]} ' if kind == 'dead-letter' and name in beyond else ''}"
        f"{plural[kind]}"
        for name, kind in cut_kinds
    ]
    more = f"{', '.join(cut)} shown, oldest first: there may be more (--limit N)" if cut else ""
    if json_output:
        print_json_lines([item.to_json(body_of(target, item)) for item in items])
        if more:
            console(sys.stderr).print(more, soft_wrap=True)
        elif reason is not None and not items and not problems:
            console(sys.stderr).print(escape(_none_for(reason)), soft_wrap=True)
    else:
        out = console()
        dead = sum(item.kind == "dead-letter" for item in items)
        # A kind cut at the limit for some vendor is counted as what was read: at least that many (dead letters:
        # about what SQS counts on each queue cut).
        kinds_cut = {kind for _, kind in cut_kinds}
        quarantined = (
            "quarantined events unread"
            if unread.quarantine
            else ("at least " if "quarantined" in kinds_cut else "")
            + counted(len(items) - dead, "quarantined event", "quarantined events")
        )
        letters = ("about " if "dead-letter" in kinds_cut else "") + counted(
            dead + sum(depth - limit for depth in beyond.values()), "dead letter", "dead letters"
        )
        if unread.queues:
            letters += " (unread: " + ", ".join(f"{key}'s dead-letter queue" for key in unread.queues) + ")"
        out.print(f"[bold]{letters}, {quarantined}[/]")
        if more:
            out.print(f"[yellow]{more}[/]", soft_wrap=True)
        for line in held_view(items, out.width):
            out.print(line)
        if items:
            out.print("[dim]intake dlq redrive --id ID sends one back; intake dlq delete --id ID lets it go[/]")
        elif reason is not None and not problems:
            out.print(f"[dim]{escape(_none_for(reason))}[/]", soft_wrap=True)
    if problems:
        raise IntakeError("\n".join(problems))


def _report(done: list[Done], json_output: bool, nothing: str, *, chosen: bool = False) -> None:
    """What was done, a line each; ``nothing`` when nothing was. With ``--json`` nothing done prints nothing, but a
    ``--reason`` that chose nothing (``chosen``: a misspelt one) still says so, on standard error."""
    if json_output:
        print_json_lines([item.to_json() for item in done])
        if chosen and not done:
            console(sys.stderr).print(escape(nothing), soft_wrap=True)
        return
    out = console()
    for item in done:
        out.print(item.sentence(), soft_wrap=True)
    if not done:
        out.print(escape(nothing))


@contextlib.contextmanager
def _said_when_it_fails(done: list[Done], json_output: bool) -> Iterator[None]:
    """With ``--json``, a run that fails part way still prints a line for each thing done before the failure
    (``done``, filled as it goes): a script learns what changed, and the error follows on standard error."""
    try:
        yield
    except IntakeError:
        if json_output:
            print_json_lines([item.to_json() for item in done])
        raise


def _every_vendor(
    run: Callable[[Progress, list[Done]], object],
    done: list[Done],
    *,
    doing: str,
    did: str,
    again: str,
    so_far: Callable[[str, int, int], Done],
    json_output: bool,
) -> list[Done]:
    """A redrive or delete of every item of the chosen vendors, a bar per vendor's quarantined events on standard
    error (``--json`` keeps standard output to the result lines).

    Ctrl-C (or a signal taken as it: SIGTERM, SIGHUP) stops it with one line saying what stopped it and what was
    done, every vendor's: dead letters (moved or deleted whole), and quarantined events, those of the vendor under
    way counted so far; then ``again``, and exit status 130 (which the entry point makes the signal's own). With
    ``--json``, a line for each of those comes first on standard output, as after a failure part way: a script
    learns what changed. ``doing`` names a bar (``{}`` is the vendor), ``did`` what befell an item, ``so_far`` what
    was done of a vendor under way (its name, how many went, of how many).
    """
    from intake_cli.render import progress_bar

    heard_of: dict[str, tuple[int, int]] = {}
    try:
        with progress_bar(console(sys.stderr)) as bar:
            tasks: dict[str, TaskID] = {}

            def heard(name: str, so_far: int, total: int) -> None:
                heard_of[name] = (so_far, total)
                if not total:  # a vendor with none gets no bar
                    return
                if name not in tasks:
                    tasks[name] = bar.add_task(doing.format(name), total=total)
                bar.update(tasks[name], completed=so_far, total=total)

            run(heard, done)
    except KeyboardInterrupt as interrupt:
        finished = {item.vendor for item in done if item.kind == "quarantined"}
        under_way = {name: heard for name, heard in heard_of.items() if heard[1] and name not in finished}
        if json_output:
            print_json_lines(
                [item.to_json() for item in done]
                + [so_far(name, went, total).to_json() for name, (went, total) in under_way.items() if went]
            )
        what = [item.sentence() for item in done] + [
            f"{name}: {went} of {total} quarantined events {did}" for name, (went, total) in under_way.items()
        ]
        console(sys.stderr).print(
            f"stopped by {what_stopped(interrupt)} after: {'; '.join(what) or f'nothing {did} yet'}. {again}",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    return done


@dlq_app.command(
    "redrive",
    cls=IntakeCommand,
    epilog=examples(
        "intake dlq redrive --id ID --dry-run",
        "intake dlq redrive --vendor openweb --stack webhook-intake-prod",
        "intake dlq redrive --vendor firstup --reason invalid_event",
    ),
)
@reports_errors
def dlq_redrive(
    ctx: typer.Context,
    item_id: HeldIdOption = None,
    vendor: VendorOption = None,
    reason: ReasonOption = None,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Send one item (--id) or all of them (of --vendor, of --reason) back through the consumer.

    Dead letters go back to their source queue: all of a queue by SQS StartMessageMoveTask (moto
    lacks it: the local stack moves them by receive, send and delete), one by receive, send,
    delete. Quarantined events go back to their vendor's queue, one delivery each; the consumer
    releases each one it stores, and one that fails again stays, its reason brought up to date.
    """
    _one_or_chosen(ctx, item_id, reason)
    target = resolve_target(state_dir(ctx), stack, region)
    vendors = chosen_vendors(target, vendor_key(vendor))
    done: list[Done] = []
    with _said_when_it_fails(done, json_output):
        _redrive(target, item_id, vendors, reason, done, dry_run=dry_run, json_output=json_output)
    nothing = _none_for(reason) if reason else "no dead letters and no quarantined events to send back"
    _report(done, json_output, nothing, chosen=reason is not None)


def _redrive(
    target: Target,
    item_id: str | None,
    vendors: list[str],
    reason: str | None,
    done: list[Done],
    *,
    dry_run: bool,
    json_output: bool,
) -> None:
    """``intake dlq redrive``'s work, each thing done added to ``done`` as it is."""
    from intake_cli.dlq import Done, redrive_all, redrive_one
    from intake_cli.render import counting_bar

    if item_id is not None:
        with counting_bar(console(sys.stderr), LOOKING_FOR_A_DEAD_LETTER, transient=True) as heard:
            done.append(redrive_one(target, item_id, vendors, dry_run=dry_run, progress=heard))
    elif dry_run:
        redrive_all(target, vendors, dry_run=dry_run, reason=reason, done=done)
    else:
        _every_vendor(
            lambda heard, done: redrive_all(target, vendors, dry_run=False, progress=heard, done=done, reason=reason),
            done,
            doing="Sending {}'s quarantined events back",
            did="sent back",
            # A quarantined event stays so until the consumer stores it: sending it again costs one more try.
            again="A quarantined event stays listed until the consumer stores it, so running the same redrive "
            "again is safe (those sent count one more try)",
            so_far=lambda name, went, total: Done(
                "redrive", "quarantined", name, "*", went, f"of {total}, to {target.vendor(name).queue_name}"
            ),
            json_output=json_output,
        )


@dlq_app.command(
    "delete",
    cls=IntakeCommand,
    epilog=examples(
        "intake dlq delete --id ID",
        "intake dlq delete --vendor firstup --dry-run",
        "intake dlq delete --reason conflict --yes",
    ),
)
@reports_errors
def dlq_delete(
    ctx: typer.Context,
    item_id: HeldIdOption = None,
    vendor: VendorOption = None,
    reason: ReasonOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    json_output: JsonOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Let one item (--id) or all of them (of --vendor, of --reason) go, for good. All of them asks first; --yes
    does not."""
    from intake_cli.dlq import Done, delete_all, delete_one
    from intake_cli.render import counting_bar

    _one_or_chosen(ctx, item_id, reason)
    target = resolve_target(state_dir(ctx), stack, region)
    vendors = chosen_vendors(target, vendor_key(vendor))
    done: list[Done] = []
    if item_id is not None:
        with counting_bar(console(sys.stderr), LOOKING_FOR_A_DEAD_LETTER, transient=True) as heard:
            done.append(delete_one(target, item_id, vendors, dry_run=dry_run, progress=heard))
    elif dry_run:
        with _said_when_it_fails(done, json_output):
            delete_all(target, vendors, dry_run=True, reason=reason, done=done)
    else:
        which = vendor_key(vendor) or "every vendor"
        items = "dead letter and quarantined event" if reason is None else f"item held for reason {reason!r}"
        confirm(
            f"Delete every {items} of {which} on {target.name}, for good?",
            yes=yes,
            why="deleting them all" if reason is None else f"deleting every one held for reason {reason!r}",
        )
        with _said_when_it_fails(done, json_output):
            _every_vendor(
                lambda heard, done: delete_all(
                    target, vendors, dry_run=False, progress=heard, done=done, reason=reason
                ),
                done,
                doing="Deleting {}'s quarantined events",
                did="deleted",
                again="Each one deleted is gone for good; running the same delete again lets the rest go",
                so_far=lambda name, went, total: Done("delete", "quarantined", name, "*", went, f"of {total}"),
                json_output=json_output,
            )
    nothing = _none_for(reason) if reason else "no dead letters and no quarantined events to delete"
    _report(done, json_output, nothing, chosen=reason is not None)


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Fix and replay",
    epilog=examples(
        "intake replay --vendor openweb --since 30d --dry-run",
        "intake replay --since 7d --type comment --rate 10 --yes",
    ),
)
@reports_errors
def replay(
    ctx: typer.Context,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="From this receive time: ISO-8601 or a duration back from now (7d, 36h). Required.",
            show_default=False,
            callback=a_when,
        ),
    ],
    until: UntilOption = None,
    vendor: VendorOption = None,
    event_type: EventTypeOption = None,
    tests: Annotated[bool, typer.Option("--tests", help="Include test events.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, metavar="N", help="At most this many events.", callback=a_limit)
    ] = None,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            min=0.1,
            metavar="PER_SECOND",
            help="Most rewrites a second (each is one PutItem and its index writes).",
        ),
    ] = 25.0,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    json_output: JsonOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Normalize stored events again from their raw bytes, so a mapping fix reaches events already stored.

    First a plan: how many events match, how many would change, and how (read only). Then, once
    confirmed (--yes, or asked), each changed event is rewritten under its own key, at --rate.
    Identity, receive time, correlation and delivery ids, test mark, expiry and event times stay
    as stored; an event whose id would change is refused. Running it twice writes nothing more.
    """
    from intake_cli.event_log import MAX_WINDOW_DAYS, event_types, window
    from intake_cli.render import counted
    from intake_cli.replay import Replayer, ReplayError
    from webhook_intake.store.reads import FeedFilter

    target = resolve_target(state_dir(ctx), stack, region)
    where = FeedFilter(vendor=vendor_key(vendor), event_types=event_types(event_type or []), tests=tests)
    span = window(since, until, max_days=MAX_WINDOW_DAYS, otherwise="replay a longer span a window at a time")
    replayer = Replayer(target)
    out = console()
    try:
        doing = "Normalizing the matching events again (nothing is written yet)…"
        with out.status(doing) as status:
            plan = replayer.plan(
                where,
                span,
                limit,
                progress=lambda so_far: status.update(
                    f"{doing} {so_far.matched:,} read, {len(so_far.changes):,} would change"
                ),
            )
    except ReplayError as exc:
        raise IntakeError(str(exc)) from None
    summary = plan.summary()
    if json_output:
        print_json_lines([{"plan": summary, "refused": [list(item) for item in plan.refused]}])
    else:
        matched, unchanged = summary["matched"], summary["unchanged"]
        out.print(
            f"{counted(matched, 'event', 'events')} received {span.since:%Y-%m-%d %H:%M} to "
            f"{span.until:%Y-%m-%d %H:%M} UTC {'matches' if matched == 1 else 'match'}; "
            f"{summary['would_change']} would change, {unchanged} "
            f"{'is as the mapping makes it' if unchanged == 1 else 'are as the mapping makes them'} now, "
            f"{summary['refused']} cannot be replayed"
        )
        for change, times in summary["type_changes"].items():
            out.print(f"  {change}: {times}")
        if summary["fields_changed"]:
            out.print(
                "  fields that change: " + ", ".join(f"{name} ({n})" for name, n in summary["fields_changed"].items())
            )
        for vendor_name, event_id, why in plan.refused[:20]:
            refused = inline(f"{vendor_name}#{event_id}: {why}")
            out.print(f"  [yellow]left as stored[/] {escape(refused)}", soft_wrap=True)
    if dry_run or not plan.changes:
        return
    confirm(
        f"Rewrite {counted(len(plan.changes), 'event', 'events')} on {target.name}?",
        yes=yes,
        why="rewriting stored events",
    )
    result = _rewrite(replayer, plan, rate, json_output=json_output)
    if json_output:
        _print_result(result)
        return
    out.print(
        f"rewrote {counted(result.rewritten, 'event', 'events')} ({result.unchanged} already up to date, "
        f"{result.gone} no longer stored as read, {len(result.refused)} refused)"
    )


def _print_result(result: Result) -> None:
    """A replay's result line, for a script."""
    print_json_lines(
        [
            {
                "rewritten": result.rewritten,
                "unchanged": result.unchanged,
                "gone": result.gone,
                "refused": [list(item) for item in result.refused],
            }
        ]
    )


def _rewrite(replayer: Replayer, plan: Plan, rate: float, *, json_output: bool) -> Result:
    """The plan's rewrites, at ``rate``, a progress bar on standard error (``--json`` keeps standard output to
    the result line). A failure part way says how far it got and that running it again is safe."""
    from intake_cli.render import progress_bar
    from intake_cli.replay import ReplayError, Result

    result = Result()
    try:
        # On standard error: --json keeps standard output to the result line.
        with progress_bar(console(sys.stderr)) as bar:
            task = bar.add_task(f"Rewriting at most {rate:g} a second", total=len(plan.changes))
            replayer.apply(plan, rate, progress=lambda: bar.advance(task), result=result)
    except ReplayError as exc:
        # As after Ctrl-C: what was rewritten stays, and a second run rewrites only what still differs. A script
        # gets the result line of what was done, the error after it.
        if json_output:
            _print_result(result)
        raise IntakeError(
            f"{exc} (rewrote {result.rewritten} of {len(plan.changes)} events before it; "
            "running the same replay again is safe: it rewrites only what still differs)"
        ) from None
    except KeyboardInterrupt as interrupt:
        # Each rewrite is a whole PutItem (its feed entry written first), and the plan compares each
        # event with what the mapping makes of it now: a second run rewrites only what still differs. A script
        # gets the result line of what was done, as after a failure.
        if json_output:
            _print_result(result)
        console(sys.stderr).print(
            f"stopped: rewrote {result.rewritten} of {len(plan.changes)} events before {what_stopped(interrupt)}; "
            "running the same replay again is safe (it rewrites only what still differs)",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    return result
