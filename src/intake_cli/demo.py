"""``intake demo``: every sample through the local stack over real HTTP, then what was stored."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from intake_cli.event_log import count_by_vendor, stored_events
from intake_cli.queues import dead_letters, depth, statuses
from intake_cli.render import dead_letters_table, events_table, short, status_table
from intake_cli.samples import load_secrets, sample_files, sample_request
from intake_cli.sending import deliver
from intake_cli.stack import LocalStack
from intake_cli.target import IntakeError, Target
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from intake_cli.queues import DeadLetter
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

    @property
    def accepted(self) -> bool:
        """A 2xx: the delivery is on the queue."""
        return 200 <= self.status < 300


def run_demo(console: Console, options: StackOptions) -> int:
    """Start the stack, send every sample, wait for the consumers, show the result; the exit status."""
    started = time.monotonic()
    secrets = load_secrets(options.secrets_file)
    samples = [(key, path) for key in VENDORS for path in sample_files(key)]
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
        )
        console.print(f"Local stack up: API [bold]{stack.api_url}[/], AWS (moto) {stack.aws_endpoint_url}")
        deliveries = _send_all(console, target, samples, secrets)
        with console.status("Waiting for the consumers to empty the queues…"):
            _wait_until_drained(target)
        events = stored_events(target)
        order = {key: index for index, key in enumerate(VENDORS)}
        events.sort(key=lambda item: (order.get(str(item.get("vendor")), len(order)), str(item.get("occurred_at"))))
        console.print(events_table(events, width=console.width))
        rows = statuses(target, count_by_vendor(events))
        console.print(status_table(rows, title="Queues and dead-letter queues"))
        letters = dead_letters(target, [row.vendor for row in rows if row.dead_letters + row.dead_letters_in_flight])
    finally:
        stack.stop()
    return _summary(console, deliveries, len(events), letters, time.monotonic() - started, options.log_file)


def _send_all(
    console: Console, target: Target, samples: list[tuple[str, Path]], secrets: dict[str, dict[str, object]]
) -> list[Delivery]:
    deliveries = []
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("Sending samples", total=len(samples))
        for key, path in samples:
            progress.update(task, description=f"Sending {key}/{path.name}")
            response = deliver(target, sample_request(key, path, secrets))
            deliveries.append(Delivery(key, path, response.status, response.body))
            progress.advance(task)
        progress.update(task, description="Sent every sample")
    return deliveries


def _wait_until_drained(target: Target, timeout: float = DRAIN_TIMEOUT) -> None:
    """Until no vendor queue holds a message (each one stored, or moved to its dead-letter queue)."""
    sqs = target.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(sum(depth(sqs, resources.queue_url)) == 0 for resources in target.vendors.values()):
            return
        time.sleep(_DRAIN_TICK)
    raise IntakeError(f"the queues did not empty within {timeout:.0f} s: see the log for consumer errors")


def _summary(
    console: Console, deliveries: list[Delivery], stored: int, letters: list[DeadLetter], elapsed: float, log_file: Path
) -> int:
    refused = [delivery for delivery in deliveries if not delivery.accepted]
    for delivery in refused:
        console.print(
            f"[bold red]refused[/] {delivery.vendor}/{delivery.sample.name}: "
            f"{delivery.status} {short(delivery.body.decode('utf-8', 'replace'), 100)}"
        )
    if letters:
        console.print(dead_letters_table(letters))
    accepted = len(deliveries) - len(refused)
    console.print(
        f"{accepted}/{len(deliveries)} deliveries accepted, {stored} events stored, "
        f"{len(letters)} dead letters, in {elapsed:.1f} s (handler logs: {log_file})"
    )
    if refused or letters:
        console.print("[bold red]demo failed[/]: every sample should be accepted and stored")
        return 1
    return 0
