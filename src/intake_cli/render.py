"""Rich tables for the terminal: stored events, queue status, dead letters, routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from intake_cli.queues import DeadLetter, QueueStatus

TEXT_WIDTH = 40
ID_WIDTH = 28
# Below this many columns the events table leaves out the actor.
NARROW = 110


def short(value: Any, width: int) -> str:
    """One line of at most ``width`` characters, an ellipsis where it was cut."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text if len(text) <= width else text[: width - 1] + "…"


def actor_label(item: dict[str, Any]) -> str:
    """Who acted: the name the vendor sent, else the id."""
    actor = item.get("actor") or {}
    return short(actor.get("name") or actor.get("id") or "", ID_WIDTH)


def content_label(item: dict[str, Any]) -> str:
    """On what: a short piece of the text, else the content id."""
    content = item.get("content") or {}
    if content.get("text"):
        return short(content["text"], TEXT_WIDTH)
    return short(content.get("id") or content.get("type") or "", TEXT_WIDTH)


def events_table(items: list[dict[str, Any]], title: str | None = None, width: int = 200) -> Table:
    """Stored events: vendor, event_type, occurred_at, actor, content (actor dropped below ``NARROW``)."""
    table = Table(title=title or f"Stored events ({len(items)})", title_justify="left", expand=False)
    # Who, what and when stay whole; actor and content give way on a narrow terminal.
    table.add_column("vendor", style="cyan", no_wrap=True, min_width=_widest(items, "vendor"))
    table.add_column("event_type", style="green", no_wrap=True, min_width=_widest(items, "event_type"))
    table.add_column("occurred_at", no_wrap=True, min_width=min(_widest(items, "occurred_at"), 16))
    with_actor = width >= NARROW
    if with_actor:
        table.add_column("actor", no_wrap=True, overflow="ellipsis", max_width=ID_WIDTH)
    table.add_column("content", no_wrap=True, overflow="ellipsis", max_width=TEXT_WIDTH)
    for item in items:
        row = [str(item.get("vendor", "")), str(item.get("event_type", "")), str(item.get("occurred_at", ""))]
        row += [actor_label(item)] if with_actor else []
        table.add_row(*row, content_label(item))
    return table


def _widest(items: list[dict[str, Any]], key: str) -> int:
    return max((len(str(item.get(key, ""))) for item in items), default=len(key))


def status_table(rows: list[QueueStatus], title: str = "Queues") -> Table:
    """Queue depth, in flight, oldest message age, dead letters and stored events per vendor."""
    table = Table(title=title, title_justify="left")
    table.add_column("vendor", style="cyan", no_wrap=True)
    table.add_column("queued", justify="right")
    table.add_column("in flight", justify="right")
    table.add_column("oldest", justify="right")
    table.add_column("DLQ", justify="right")
    table.add_column("events stored", justify="right")
    for row in rows:
        dead = row.dead_letters + row.dead_letters_in_flight
        table.add_row(
            row.vendor,
            str(row.queued),
            str(row.in_flight),
            "—" if row.oldest_age_seconds is None else f"{row.oldest_age_seconds} s",
            f"[bold red]{dead}[/]" if dead else "0",
            "—" if row.events_stored is None else str(row.events_stored),
        )
    return table


def dead_letters_table(letters: list[DeadLetter]) -> Table:
    """Dead letters: vendor, message id, when sent, receives, the start of the body."""
    table = Table(title=f"Dead letters ({len(letters)})", title_justify="left")
    table.add_column("vendor", style="cyan", no_wrap=True)
    table.add_column("message id", no_wrap=True)
    table.add_column("sent at", no_wrap=True)
    table.add_column("receives", justify="right")
    table.add_column("body", no_wrap=True)
    for letter in letters:
        document = letter.to_json()
        table.add_row(
            letter.vendor,
            letter.message_id,
            str(document["sent_at"] or ""),
            "" if letter.receive_count is None else str(letter.receive_count),
            short(letter.body, 60),
        )
    return table


def routes_table(routes: list[str], api_url: str) -> Table:
    """The HTTP API routes the gateway serves."""
    table = Table(title="Routes (template.yaml)", title_justify="left")
    table.add_column("method", style="cyan", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    for route in routes:
        method, _, path = route.partition(" ")
        table.add_row(method, api_url + path)
    return table
