"""``intake demo``: every sample (and ping) through the local stack over real HTTP, then what was stored.

What the demo expects is written down already: each sample's golden file lists the events it
becomes, and a ping is answered but never stored. Anything quarantined or dead-lettered, or
an expected event missing, fails the demo.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from intake_cli.dlq import held, quarantined_by_vendor
from intake_cli.event_log import Window, feed
from intake_cli.local import DEFAULT_STATE_DIR, STATE_FILE_NAME
from intake_cli.queues import depth, statuses
from intake_cli.render import events_table, held_view, progress_bar, short, status_table
from intake_cli.samples import golden_events, load_secrets, ping_files, sample_files, sample_request, secret_for
from intake_cli.sending import deliver
from intake_cli.stack import LocalStack, wait_for_signal
from intake_cli.target import IntakeError, Target
from webhook_intake.registry import VENDORS
from webhook_intake.store.reads import FeedFilter

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from intake_cli.dlq import Held
    from intake_cli.stack import StackOptions

DRAIN_TIMEOUT = 60.0
_DRAIN_TICK = 0.2


@dataclass(frozen=True)
class Delivery:
    """One sample sent, and the answer."""

    vendor: str
    sample: Path
    status: int
    body: bytes
    ping: bool = False

    @property
    def accepted(self) -> bool:
        """A 2xx: the delivery is on the queue (a ping: answered)."""
        return 200 <= self.status < 300


@dataclass
class Outcome:
    """What the demo found once the queues were empty."""

    deliveries: list[Delivery]
    stored: int
    missing: list[str] = field(default_factory=list)
    """``vendor#event_id`` a golden file promises and the table does not hold."""
    held: list[Held] = field(default_factory=list)


def expected_keys() -> set[tuple[str, str]]:
    """(vendor, event id) of every event the samples' golden files promise."""
    return {
        (key, str(event["event_id"]))
        for key in VENDORS
        for sample in sample_files(key)
        for event in golden_events(key, sample)
    }


def run_demo(console: Console, options: StackOptions, *, keep: bool = False) -> int:
    """Start the stack, send every sample, wait for the consumers, show the result; the exit status."""
    started = time.monotonic()
    secrets = load_secrets(options.secrets_file)
    for key in VENDORS:
        secret_for(secrets, key)  # every vendor signs its samples: say which has no object before starting
    samples = [(key, path, False) for key in VENDORS for path in sample_files(key)]
    samples += [(key, path, True) for key in VENDORS for path in ping_files(key)]
    if not samples:
        raise IntakeError("no samples under events/")
    stack = LocalStack(options)
    with console.status("Starting the local stack from template.yaml…"):
        stack.start()
    try:
        target = Target.from_outputs(
            stack.options.stack_name,
            stack.options.region,
            stack.outputs(),
            endpoint_url=stack.aws_endpoint_url,
            secrets_file=options.secrets_file,
            log_file=options.log_file,
        )
        console.print(f"Local stack up: API [bold]{stack.api_url}[/], AWS (moto) {stack.aws_endpoint_url}")
        since = datetime.now(UTC) - timedelta(seconds=1)
        deliveries = _send_all(console, target, samples, secrets)
        with console.status("Waiting for the consumers to empty the queues…"):
            _wait_until_drained(target)
        outcome = _look(console, target, deliveries, since)
        code = _summary(console, outcome, time.monotonic() - started, options.log_file)
        if keep:
            _explore(console, stack, options)
    finally:
        stack.stop()
    return code


def _look(console: Console, target: Target, deliveries: list[Delivery], since: datetime) -> Outcome:
    """Read back what the stack holds, the way an operator would: the feed, the queues, what waits."""
    expected = expected_keys()
    span = Window(since, datetime.now(UTC) + timedelta(minutes=1))
    # The feed, newest first (test payloads included: the samples hold one).
    entries = feed(target, FeedFilter(tests=True), span, limit=len(expected) + 100)
    found = {(str(entry["vendor"]), str(entry["event_id"])) for entry in entries}
    console.print(events_table(entries, f"Stored events, newest first ({len(entries)})", console.width))
    counts: dict[str, int] = {}
    for entry in entries:
        counts[str(entry["vendor"])] = counts.get(str(entry["vendor"]), 0) + 1
    rows = statuses(target, counts, quarantined_by_vendor(target))
    console.print(status_table(rows, console.width, title="Queues and dead-letter queues"))
    return Outcome(
        deliveries=deliveries,
        stored=len(entries),
        missing=sorted(f"{vendor}#{event_id}" for vendor, event_id in expected - found),
        held=held(target, list(target.vendors), 100),
    )


_EXPLORE = (("events", "events --type comment --json"), ("tail", "send comment.liked --wait"), ("dlq list", "status"))


def _explore(console: Console, stack: LocalStack, options: StackOptions) -> None:
    # Another terminal reads the default state directory unless told: a stack kept elsewhere is named to it,
    # a command a line (a path makes them long), never wrapped inside one.
    state_dir = (options.state_file or DEFAULT_STATE_DIR / STATE_FILE_NAME).parent
    if state_dir.resolve() == DEFAULT_STATE_DIR.resolve():
        width = max(len(f"intake {first}") for first, _ in _EXPLORE)
        tries = "".join(f"  {f'intake {first}':<{width}}    intake {second}\n" for first, second in _EXPLORE)
    else:
        intake = f"intake --state-dir {shlex.quote(str(state_dir))}"
        tries = "".join(f"  {intake} {command}\n" for pair in _EXPLORE for command in pair)
    console.print(
        f"\nThe stack stays up (state {options.state_file}): try, in another terminal,\n{tries}"
        f"API {stack.api_url}. Ctrl-C to stop.",
        markup=False,
        soft_wrap=True,
    )
    wait_for_signal()


def _send_all(
    console: Console, target: Target, samples: list[tuple[str, Path, bool]], secrets: dict[str, dict[str, object]]
) -> list[Delivery]:
    deliveries = []
    with progress_bar(console) as progress:
        task = progress.add_task("Sending samples", total=len(samples))
        for key, path, ping in samples:
            progress.update(task, description=f"Sending {key}/{path.name}")
            response = deliver(target, sample_request(key, path, secrets))
            deliveries.append(Delivery(key, path, response.status, response.body, ping))
            progress.advance(task)
        progress.update(task, description="Sent every sample")
    return deliveries


def _wait_until_drained(target: Target, timeout: float = DRAIN_TIMEOUT) -> None:
    """Until no vendor queue holds a message (each one stored, quarantined, or moved to its dead-letter queue)."""
    sqs = target.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(sum(depth(sqs, resources.queue_url)) == 0 for resources in target.vendors.values()):
            return
        time.sleep(_DRAIN_TICK)
    raise IntakeError(f"the queues did not empty within {timeout:.0f} s: see the log for consumer errors")


def _summary(console: Console, outcome: Outcome, elapsed: float, log_file: Path) -> int:
    deliveries = outcome.deliveries
    refused = [delivery for delivery in deliveries if not delivery.accepted]
    for delivery in refused:
        console.print(
            f"[bold red]refused[/] {delivery.vendor}/{delivery.sample.name}: "
            f"{delivery.status} {short(delivery.body.decode('utf-8', 'replace'), 100)}"
        )
    for key in outcome.missing:
        console.print(f"[bold red]missing[/] {key}: its golden file says it is stored")
    if outcome.held:
        console.print("[bold]Dead letters and quarantined events[/]")
        for line in held_view(outcome.held, console.width):
            console.print(line)
    pings = sum(delivery.ping and delivery.accepted for delivery in deliveries)
    quarantined = sum(item.kind == "quarantined" for item in outcome.held)
    dead = len(outcome.held) - quarantined
    accepted = len(deliveries) - len(refused)
    ping_note = f" ({pings} ping{'s' if pings != 1 else ''}: answered, never stored, as expected)" if pings else ""
    console.print(
        f"{accepted}/{len(deliveries)} deliveries accepted{ping_note}, {outcome.stored} events stored, "
        f"{quarantined} quarantined, {dead} dead letters, in {elapsed:.1f} s (handler logs: {log_file})"
    )
    if refused or outcome.held or outcome.missing:
        console.print(
            "[bold red]demo failed[/]: every sample should be accepted and every event its golden file lists stored"
        )
        return 1
    return 0
