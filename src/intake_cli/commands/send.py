"""``intake send``: a delivery as the vendor makes it, by sample name, normalized type, file, stdin or inline."""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from intake_cli.cli import (
    IntakeCommand,
    JsonOption,
    RegionOption,
    SendSecretsOption,
    StackOption,
    YesOption,
    app,
    confirm,
    console,
    examples,
    not_a_vendor,
    not_empty,
    one_of,
    print_json_lines,
    reports_errors,
    state_dir,
    vendor_meant,
)
from intake_cli.suggest import closest, suggestion
from intake_cli.target import IntakeError
from intake_cli.terminal import inline
from webhook_intake.registry import vendors
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from intake_cli.runtime import HttpResponse
    from intake_cli.samples import Chosen, OutgoingRequest
    from intake_cli.target import Target

WAIT_SECONDS = 30.0
_WAIT_TICK = 0.3
MISSING_SHOWN = 10
"""Events not stored listed one a line on a terminal; the rest are counted (``--json`` lists every one)."""
_NOT_WITHIN = "not stored within"
_NOT_HEARD = "was not heard of within"
_NO_OUTCOME = "no outcome of the consumer for this delivery"
WHAT, BODY = "VENDOR|TYPE", "SAMPLE|TYPE|FILE|-"
"""The arguments' names in the usage line (and in a usage error of either)."""
_UNHEARD = frozenset({"not_stored", "copy_not_heard", "stored_before_no_outcome"})
"""The states of an event whose outcome is not known yet (the consumer behind, or its log unread)."""
_CLOCK_MARGIN = timedelta(seconds=5)
"""Outcomes logged this long before the send still count (clocks of this machine and AWS differ a little)."""
_LOCAL_CLOCK_MARGIN = timedelta(milliseconds=500)
"""The same, for the local stack, whose log this machine's clock stamps."""
_SETTLE_SECONDS = 5.0
"""Beyond the margin, how long an outcome logged in the margin waits for a later one to take its place."""
FASTCOMMENTS_EVENTS = ("comment-created", "comment-updated", "comment-deleted")
"""FastComments' webhook events (its client module's ``EVENT_CHOICES``; a test holds them equal)."""


def _complete_what(incomplete: str) -> list[str]:
    """Shell completion of ``VENDOR|TYPE``: the vendors, then the normalized types, that start with what is typed."""
    from webhook_intake.taxonomy import EVENT_TYPES

    return [word for word in (*vendors(), *EVENT_TYPES) if word.startswith(incomplete)]


def _complete_body(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of ``SAMPLE``: the chosen vendor's sample names (none: the shell completes a file)."""
    from intake_cli.samples import named_files

    vendor_key = str(ctx.params.get("what"))
    if vendor_key not in vendors():
        return []
    names = [name for files in named_files(vendor_key).values() for name in files]
    return [name for name in names if name.startswith(incomplete)]


def _what_help() -> str:
    return (
        "A vendor key (" + ", ".join(vendors()) + ") or a normalized event type (comment.liked: a sample "
        "holding one, from any vendor)."
    )


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Send",
    epilog=examples(
        "intake send openweb liked-message --wait",
        "intake send comment.liked",
        "intake send firstup - < body.json",
        "intake send fastcomments --bad-auth",
        "intake send firstup --stack webhook-intake-dev --yes --wait",
    ),
)
@reports_errors
def send(
    ctx: typer.Context,
    what: Annotated[
        str,
        typer.Argument(
            metavar=WHAT,
            help=_what_help(),
            show_default=False,
            autocompletion=_complete_what,
            callback=not_empty("a vendor or an event type"),
        ),
    ],
    body: Annotated[
        str | None,
        typer.Argument(
            metavar=BODY,
            help="With a vendor: a sample's name (events/VENDOR/NAME.json, a ping or a negative sample), "
            "a normalized type, a file, or - for stdin. Default: the vendor's first sample.",
            show_default=False,
            autocompletion=_complete_body,
            callback=not_empty("a sample name, a type, a file path or -, or leave it out (the vendor's first sample)"),
        ),
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", "-d", metavar="JSON", help='The body itself, e.g. \'{"id": "x"}\'.')
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            metavar="[" + "|".join(FASTCOMMENTS_EVENTS) + "]",
            help="FastComments only: the event (its route's last segment); default: the sample's name, "
            "else comment-created.",
            autocompletion=lambda: list(FASTCOMMENTS_EVENTS),
            callback=one_of(*FASTCOMMENTS_EVENTS),
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help=f"Wait (up to {WAIT_SECONDS:.0f} s) and print the events stored.")
    ] = False,
    bad_auth: Annotated[bool, typer.Option("--bad-auth", help="Send a wrong credential (expect a refusal).")] = False,
    auth: Annotated[
        str,
        typer.Option(
            "--auth",
            metavar="[token|oauth]",
            help="OpenWeb only: token (the shared header) or oauth (client_secret_jwt, then Bearer).",
            autocompletion=lambda: ["token", "oauth"],
            callback=one_of("token", "oauth"),
        ),
    ] = "token",
    secrets: SendSecretsOption = None,
    yes: YesOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send a delivery as the vendor would (its route, headers and credential) and print the answer.

    To a deployed stack (--stack) the delivery is marked as a test (header x-intake-test:
    true): its events are stored with test: true, left out of reads unless --tests. It asks
    first; --yes does not. Exit status 0 when the answer is the expected one (a 2xx, or with
    --bad-auth a 401/403) and, with --wait, every event it holds was stored (an event stored before:
    once the consumer's outcomes show it took this delivery's copy as a duplicate).
    """
    from intake_cli.samples import WRONG_CREDENTIAL, build_request
    from intake_cli.sending import TokenRefusedError, deliver, openweb_access_token, vendor_secret, with_bearer
    from intake_cli.target import resolve_target

    chosen = _chosen(ctx, what, body, data)
    # Options the chosen vendor does not take are mistakes in the command line (exit status 2): nothing is sent.
    if auth == "oauth" and chosen.vendor != "openweb":
        raise typer.BadParameter(
            f"oauth is OpenWeb's (client_secret_jwt): {chosen.vendor} takes its own credential",
            ctx=ctx,
            param_hint="'--auth'",
        )
    if event is not None and chosen.vendor != "fastcomments":
        raise typer.BadParameter(
            f"is FastComments' (its route's last segment): {chosen.vendor} has one route",
            ctx=ctx,
            param_hint="'--event'",
        )
    target = resolve_target(state_dir(ctx), stack, region)
    if not target.local:
        confirm(
            f"Send {chosen.label} to stack {target.name} (marked as a test)?",
            yes=yes,
            why=f"sending to the deployed stack {target.name}",
        )
    secret = vendor_secret(target, chosen.vendor, secrets)
    request = build_request(chosen.vendor, chosen.body, secret, chosen.name, bad_auth=bad_auth, event=event)
    if not target.local:
        request = _as_test(request)
    if auth == "oauth":
        try:
            token = WRONG_CREDENTIAL if bad_auth else openweb_access_token(target, secret)
        except TokenRefusedError:
            # The client secret signing the assertion is refused as a delivery's credential is: said the same way.
            _note_secrets_file_changed(target, chosen.vendor, secrets)
            raise
        request = with_bearer(request, token)
    # What --wait will look for, and which of it is stored already, read before sending.
    awaited = _awaited(target, request) if wait and not bad_auth else None
    response = deliver(target, request)
    expected = response.status in (401, 403) if bad_auth else 200 <= response.status < 300
    url = target.api_url + request.path
    said = functools.partial(_print, request, url, chosen, response)
    waited = _wait_for_events(target, awaited, said, json_output) if awaited is not None and expected else None
    said(waited, json_output)
    if not expected and response.status in (401, 403):
        _note_secrets_file_changed(target, chosen.vendor, secrets)
    if not expected or (waited is not None and not waited.complete):
        raise typer.Exit(1)


def _wait_for_events(
    target: Target, awaited: Awaited, said: Callable[[Waited | None, bool], None], json_output: bool
) -> Waited:
    """:func:`_wait_for`, once the delivery was sent and answered: when the wait fails or is stopped (Ctrl-C, or a
    signal taken as it), a script (and the operator) still get the answer (``said``), then the failure, or the
    stop's status (130, which the entry point makes a signal's own)."""
    try:
        return _wait_for(target, awaited)
    except IntakeError:
        said(None, json_output)
        raise
    except KeyboardInterrupt as interrupt:
        from intake_cli.stopping import what_stopped

        said(None, json_output)
        console(sys.stderr).print(
            f"stopped by {what_stopped(interrupt)} while waiting for the delivery's events; intake tail follows them",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None


def _note_secrets_file_changed(target: Target, vendor: str, secrets: Path | None) -> None:
    """After a refused credential: says so when the local stack's secrets file changed since it started (it
    checks what it read then, and send signs with the file as it is now). Never a value of the file."""
    from intake_cli.sending import secrets_file_changed

    if secrets is None and secrets_file_changed(target, vendor):
        console(sys.stderr).print(
            f"[yellow]{target.secrets_file} has changed since the local stack started: it checks {vendor}'s"
            " credential against the values it read then; restart intake serve to load the file again[/]",
            soft_wrap=True,
        )


class NotAChoiceError(IntakeError):
    """``WHAT`` or ``BODY`` names nothing ``intake send`` can send: a mistake in the command line (exit status 2)."""

    def __init__(self, message: str, argument: str = WHAT) -> None:
        super().__init__(message)
        self.argument = argument


def _chosen(ctx: typer.Context, what: str, body: str | None, data: str | None) -> Chosen:
    """:func:`choose`, with what names nothing to send said as the usage error it is (exit status 2)."""
    if data is not None and body is not None:
        raise typer.BadParameter("give the body once: SAMPLE, FILE, - or --data", ctx=ctx, param_hint="'--data'")
    try:
        return choose(what, body, data)
    except NotAChoiceError as exc:
        raise typer.BadParameter(str(exc), ctx=ctx, param_hint=f"'{exc.argument}'") from None


def choose(what: str, body: str | None, data: str | None) -> Chosen:
    """The body ``intake send WHAT [BODY] [--data]`` means (never both: the command refuses that first)."""
    from intake_cli.samples import Chosen, sample_files

    if what not in vendors():
        if body is not None or data is not None:
            raise NotAChoiceError(not_a_vendor(what))
        return _by_type(what)
    if data is not None:
        return Chosen(what, data.encode("utf-8"), "--data")
    if body is None:
        files = sample_files(what)
        if not files:
            raise IntakeError(f"no samples for {what} under events/{what}/")
        return Chosen(what, files[0].read_bytes(), f"{what}/{files[0].name}", files[0].name.removesuffix(".json"))
    if body == "-":
        if sys.stdin.isatty():
            raise NotAChoiceError("- reads the body from stdin: pipe it in (intake send VENDOR - < body.json)", BODY)
        return Chosen(what, sys.stdin.buffer.read(), "stdin")
    return _named(what, body)


def _by_type(what: str) -> Chosen:
    """``intake send comment.liked``: a sample of any vendor holding that type."""
    from intake_cli.samples import sample_for_type

    keys = list(vendors())
    try:
        wanted = _event_type(what)
    except IntakeError as exc:
        if vendor_meant(what):
            # A typo in a vendor key: the type list would only bury the name meant.
            raise NotAChoiceError(not_a_vendor(what)) from None
        raise NotAChoiceError(f"{not_a_vendor(what)}\n{exc}") from None
    found = sample_for_type(wanted, None, keys)
    if found is None:
        raise NotAChoiceError(f"no sample holds a {what} event (golden files under events/)")
    return found


def _named(vendor_key: str, name: str) -> Chosen:
    from intake_cli.samples import Chosen, named_files, sample_for_type

    named = named_files(vendor_key)
    for files in named.values():
        path = files.get(name.removesuffix(".json"))
        if path is not None:
            return Chosen(vendor_key, path.read_bytes(), f"{vendor_key}/{path.name}", path.name.removesuffix(".json"))
    candidate = Path(name)
    if candidate.is_dir():
        raise NotAChoiceError(f"{name} is a directory: give a file, a sample name, - or --data", BODY)
    if candidate.is_file():
        try:
            body = candidate.read_bytes()
        except OSError as exc:
            raise IntakeError(f"cannot read {name}: {exc.strerror or exc}") from None
        return Chosen(vendor_key, body, str(candidate), candidate.name.removesuffix(".json"))
    if "." in name and "/" not in name and not name.endswith(".json"):
        try:
            wanted = _event_type(name)
        except IntakeError as exc:
            # No type: a sample name with a dot (liked-message.documented, comment-created.reply) mistyped.
            if _sample_meant(named, name, cutoff=0.8):
                raise NotAChoiceError(_no_sample(vendor_key, named, name), BODY) from None
            raise NotAChoiceError(str(exc), BODY) from None
        found = sample_for_type(wanted, vendor_key, [vendor_key])
        if found is not None:
            return found
        raise NotAChoiceError(_no_sample_of_type(vendor_key, wanted), BODY)
    raise NotAChoiceError(_no_sample(vendor_key, named, name), BODY)


def _sample_meant(named: dict[str, dict[str, Path]], name: str, cutoff: float = 0.6) -> str | None:
    """The body of ``named`` (a vendor's, by kind and name) that ``name`` looks like a typo of, if any (difflib's
    default closeness)."""
    close = closest(name.removesuffix(".json"), [n for files in named.values() for n in files], cutoff=cutoff)
    return close[0] if close else None


def _no_sample(vendor_key: str, named: dict[str, dict[str, Path]], name: str) -> str:
    """What to say of a name that is none of the vendor's bodies (``named``): the one meant, if it looks like a
    typo, and all."""
    known = "; ".join(f"{kind}: {', '.join(files)}" for kind, files in named.items())
    meant = _sample_meant(named, name)
    return f"no sample or file {name!r} for {vendor_key}{suggestion([meant])}\n{known or 'no samples'}"


def _no_sample_of_type(vendor_key: str, event_type: str) -> str:
    """Why ``intake send VENDOR TYPE`` has nothing to send: the types the vendor's samples do hold, and
    whether another vendor's sample holds this one."""
    from intake_cli.samples import golden_events, sample_files, sample_for_type

    held = sorted(
        {
            str(event["event_type"])
            for sample in sample_files(vendor_key)
            for event in golden_events(vendor_key, sample)
            if event.get("event_type") and not event.get("test")
        }
    )
    message = f"no {vendor_key} sample holds a {event_type} event; its samples hold: {', '.join(held) or 'none'}"
    elsewhere = sample_for_type(event_type, None, list(vendors()))
    if elsewhere is not None:
        message += f"\na sample of {elsewhere.vendor} does: intake send {event_type}"
    return message


def _event_type(value: str) -> str:
    from intake_cli.event_log import event_types

    (chosen,) = event_types([value])
    if chosen.endswith("."):
        raise IntakeError(f"{value!r} is a subject: name one of its types (e.g. {value}.created)")
    return chosen


def _as_test(request: OutgoingRequest) -> OutgoingRequest:
    from intake_cli.samples import OutgoingRequest
    from webhook_intake.delivery import TEST_HEADER

    headers = {**request.headers, TEST_HEADER: "true"}
    return OutgoingRequest(request.vendor, request.method, request.path, headers, request.body)


@dataclass(frozen=True)
class NotStored:
    """An event of the delivery ``--wait`` cannot count as stored by it: a sentence on a terminal, and for a script
    the same as fields it can test (``state``, and ``reason`` where the event was quarantined) without parsing it."""

    event_id: str | None
    """None for an event that has no id (the normalizer quarantines it)."""
    state: str
    """``quarantined``, ``not_stored`` (nothing heard within the wait), ``copy_quarantined`` or ``copy_not_heard``
    (stored; a copy with other content in the same delivery quarantined, or not heard of), and, for an event stored
    before this send, ``stored_before_quarantined`` or ``stored_before_no_outcome``."""
    detail: str
    """What became of it, in words (the sentence after the id)."""
    reason: str | None = None
    """The quarantine's reason (``missing_id``, ``conflict``…) when it was quarantined."""

    @property
    def unheard(self) -> bool:
        """Whether what became of it is merely not known yet."""
        return self.state in _UNHEARD

    def sentence(self) -> str:
        """The line a terminal shows."""
        return f"{self.event_id or '-'}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        """The entry of ``not_stored`` a script reads."""
        return {"id": self.event_id, "state": self.state, "reason": self.reason, "detail": self.detail}


class Waited:
    """What ``--wait`` found: the events stored, those taken again as duplicates, and those not stored."""

    def __init__(
        self,
        events: list[dict[str, Any]],
        missing: list[NotStored],
        ping: bool = False,
        duplicates: list[str] | None = None,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self.events = events
        self.missing = missing
        self.ping = ping
        self.duplicates = duplicates or []
        self.dead_letters = dead_letters

    @property
    def complete(self) -> bool:
        """Every event it holds is stored, by this delivery or (a duplicate the consumer took) before it."""
        return not self.missing


@dataclass(frozen=True)
class DeadLetters:
    """How many more messages the vendor's dead-letter queue holds at the end of the wait than at the send.

    Any sender's, less any taken off meanwhile (a redrive): where to look for a delivery the consumer kept
    failing, never proof that this one is there."""

    vendor: str
    arrived: int

    @staticmethod
    def note_of(dead_letters: DeadLetters | None) -> str | None:
        """Where an event not heard of may be, said and never claimed as this delivery's; None when the queue could
        not be read or took nothing."""
        if dead_letters is None or dead_letters.arrived <= 0:
            return None
        from intake_cli.render import counted

        took = counted(dead_letters.arrived, "message", "messages")
        return f"{dead_letters.vendor}'s dead-letter queue took {took} since the send: intake dlq list shows them"


@dataclass
class Awaited:
    """What ``--wait`` waits for, read before the delivery is sent."""

    vendor: str
    keys: list[tuple[str, str]]
    refused: list[NotStored]
    already: set[str]
    """Events stored before this send: only the consumer's outcome shows this delivery was taken."""
    since: datetime
    """From when the consumer's outcomes are read: the send, less the clock margin."""
    sent: datetime
    replaced: set[str] = field(default_factory=set)
    """Of ``already``, the test copies this delivery (the vendor's own) replaces: ``stored``, not a duplicate."""
    ping: bool = False
    split: set[str] = field(default_factory=set)
    """Ids this delivery holds twice or more with other content: one copy is stored, the other is a conflict."""
    dead_letters: int | None = None
    """The vendor's dead-letter queue's messages at the send; None when it cannot be read."""


def _awaited(target: Target, request: OutgoingRequest) -> Awaited:
    """The events the body holds (the consumer's own normalizer says), and which are stored already."""
    from intake_cli.event_log import full_events
    from intake_cli.events import match_path
    from webhook_intake.delivery import Delivery, kept_headers
    from webhook_intake.http import Request
    from webhook_intake.ingest.contract import BYTE_ORDER_MARK
    from webhook_intake.registry import vendor
    from webhook_intake.store.events import same_event

    sent = datetime.now(UTC)
    since = sent - (_LOCAL_CLOCK_MARGIN if target.local else _CLOCK_MARGIN)
    spec = vendor(request.vendor)
    contract = spec.contract()
    try:
        document = json.loads(request.body)
    except ValueError:
        document = None
    if contract.is_ping(document):
        return Awaited(request.vendor, [], [], set(), since, sent, ping=True)
    headers = {name.lower(): value for name, value in request.headers.items()}
    # The correlation id the ingest function will give it (Firstup's older envelope takes its id from it)
    as_received = Request(request.method, request.path, "", headers, request.body, {}, "intake-send", 0)
    delivery = Delivery(
        vendor=request.vendor,
        received_at=iso_millis(datetime.now(UTC)),
        correlation_id=contract.correlation_id(as_received),
        method=request.method,
        path=request.path,
        path_parameters=match_path(spec.path, request.path) or {},
        headers=kept_headers(spec, headers),
    )
    # Read as the ingest function reads it: a leading byte order mark is no part of the JSON text.
    text = request.body.removeprefix(BYTE_ORDER_MARK).decode("utf-8", "replace")
    result = spec.normalizer().normalize(text, delivery)
    # One key per event: a batch may hold an event twice (stored once, the other copy a duplicate or a conflict).
    keys = list(dict.fromkeys((request.vendor, event.event_id) for event in result.events))
    refused = [
        NotStored(rejected.event_id or None, "quarantined", f"quarantined ({rejected.reason})", rejected.reason)
        for rejected in result.rejected
    ]
    stored = full_events(target, keys) if keys else []
    already = {str(event["event_id"]) for event in stored}
    # A test copy is replaced by the vendor's copy, and by a test copy with other content (an edit).
    mine: dict[str, bytes] = {}
    split: set[str] = set()
    for event in result.events:
        first = mine.setdefault(event.event_id, event.raw)
        if not same_event(first, event.raw):
            split.add(event.event_id)
    replaced = {
        str(event["event_id"])
        for event in stored
        if event.get("test")
        and (not delivery.test or not same_event(str(event.get("raw_text", "")).encode(), mine[str(event["event_id"])]))
    }
    # (A test copy with other content replaces the one before it: no conflict.)
    split = set() if delivery.test else split - already
    dead_letters = _dead_letters(target, request.vendor)
    return Awaited(
        request.vendor, keys, refused, already, since, sent, replaced=replaced, split=split, dead_letters=dead_letters
    )


def _dead_letters(target: Target, vendor_key: str) -> int | None:
    """The messages on the vendor's dead-letter queue, visible and in flight: GetQueueAttributes, never a receive,
    which would hide them from whoever reads them (``intake dlq list``); None when it cannot be read."""
    from intake_cli.queues import depth

    try:
        return sum(depth(target.client("sqs"), target.vendor(vendor_key).dead_letter_queue_url))
    except IntakeError:
        return None


def _dead_lettered_since(target: Target, awaited: Awaited) -> DeadLetters | None:
    """What the vendor's dead-letter queue took since the send; None when it could not be read either time."""
    if awaited.dead_letters is None:
        return None
    now = _dead_letters(target, awaited.vendor)
    return None if now is None else DeadLetters(awaited.vendor, max(0, now - awaited.dead_letters))


def _wait_for(target: Target, awaited: Awaited) -> Waited:
    """Wait until every event is stored (GetItem by key) and those stored before are taken again (outcomes)."""
    from intake_cli.event_log import full_events

    if awaited.ping:
        return Waited([], [], ping=True)
    deadline = time.monotonic() + WAIT_SECONDS
    fresh = [key for key in awaited.keys if key[1] not in awaited.already]
    stored: set[str] = set()
    quarantined: dict[str, str] = {}
    while fresh:
        stored = {str(event["event_id"]) for event in full_events(target, fresh)}
        # The consumer may quarantine what this machine's mapping took (another version deployed, an
        # item DynamoDB refuses): said as soon as it is, not after the whole wait. A copy with other
        # content in this very delivery is quarantined as a conflict beside the one stored.
        quarantined = _quarantined_since(
            target, awaited, ({event_id for _, event_id in fresh} - stored) | awaited.split
        )
        if all(_heard_of(event_id, stored, quarantined, awaited.split) for _, event_id in fresh):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(_WAIT_TICK)
    taken, kept, unread = _taken_again(target, awaited, deadline) if awaited.already else ({}, {}, None)
    dead_letters = _dead_lettered_since(target, awaited)
    note = DeadLetters.note_of(dead_letters)
    then = f"; {note}" if note else ""
    missing = [
        NotStored(event_id, "quarantined", f"quarantined ({quarantined[event_id]})", quarantined[event_id])
        if event_id in quarantined
        else NotStored(event_id, "not_stored", f"{_NOT_WITHIN} {WAIT_SECONDS:.0f} s{then}")
        for _, event_id in fresh
        if event_id not in stored
    ]
    copy = "a copy with other content in this delivery"
    for _, event_id in fresh:
        if event_id in stored and event_id in awaited.split:
            missing.append(
                NotStored(
                    event_id,
                    "copy_quarantined",
                    f"{copy} was quarantined ({quarantined[event_id]})",
                    quarantined[event_id],
                )
                if event_id in quarantined
                else NotStored(event_id, "copy_not_heard", f"{copy} {_NOT_HEARD} {WAIT_SECONDS:.0f} s{then}")
            )
    within = f"within {WAIT_SECONDS:.0f} s; {note or 'intake tail follows it'}"
    why = f"its outcomes cannot be read: {unread}{then}" if unread else within
    before = "stored before this send"
    for _, event_id in awaited.keys:
        if event_id in kept:
            detail = f"{before}; this copy was quarantined ({kept[event_id]})"
            missing.append(NotStored(event_id, "stored_before_quarantined", detail, kept[event_id]))
        elif event_id in awaited.already and event_id not in taken:
            missing.append(NotStored(event_id, "stored_before_no_outcome", f"{before}; {_NO_OUTCOME} ({why})"))
    # (one stored over a test copy is this delivery's, listed with the stored events)
    duplicates = [event_id for _, event_id in awaited.keys if taken.get(event_id) == "duplicate"]
    found = full_events(target, awaited.keys) if awaited.keys else []
    return Waited(found, awaited.refused + missing, duplicates=duplicates, dead_letters=dead_letters)


def _heard_of(event_id: str, stored: set[str], quarantined: dict[str, str], split: set[str]) -> bool:
    """Whether what became of ``event_id`` is known: stored or quarantined, and for an id this delivery holds
    with other content too, stored and (its other copy) quarantined."""
    if event_id in split:
        return event_id in stored and event_id in quarantined
    return event_id in stored or event_id in quarantined


def _quarantined_since(target: Target, awaited: Awaited, event_ids: set[str]) -> dict[str, str]:
    """Of ``event_ids``, those quarantined from a delivery received since the send (less the clock
    margin), with the reason."""
    from intake_cli.dlq import quarantine_store
    from intake_cli.event_log import reading

    if not event_ids:
        return {}
    with reading(target):
        items = quarantine_store(target).list(awaited.vendor, received_since=iso_millis(awaited.since))
        return {str(item["event_id"]): str(item.get("reason")) for item in items if item.get("event_id") in event_ids}


def _taken_again(
    target: Target, awaited: Awaited, deadline: float
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Of the events stored before the send: those the consumer took again since (with the outcome:
    ``duplicate``, or ``stored`` over a test copy), those it quarantined (with the reason: another
    content under the same id is a ``conflict``), and why none could be read.

    An outcome logged after the send is this delivery's; one logged in the clock margin before it may
    be an earlier delivery's, and is taken only when nothing later comes. A ``stored`` outcome is
    another delivery's (the one that stored the event), unless this one replaces a test copy.
    """
    from intake_cli.outcomes import Outcome, stream
    from webhook_intake.delivery import id_label

    wanted = set(awaited.already)
    # The consumer logs an id that is not made of id characters by its hash: read it back as the id.
    labels = {id_label(event_id): event_id for event_id in wanted}
    after: dict[str, Outcome] = {}
    margin: dict[str, Outcome] = {}
    stop = threading.Event()
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), stop.set)
    # An outcome in the margin stands once a later one had time to come (a clock ahead of AWS's
    # puts this delivery's own there): no full wait for it.
    settle = (awaited.sent - awaited.since).total_seconds() + _SETTLE_SECONDS

    def stop_when_all_heard() -> None:
        if set(after) | set(margin) == wanted:
            stop.set()

    settled = threading.Timer(settle, stop_when_all_heard)
    timer.start()
    settled.start()
    problem = None
    try:
        for outcome in stream(target, [awaited.vendor], awaited.since, stop, poll_only=True):
            event_id = labels.get(outcome.event_id or "")
            if outcome.vendor != awaited.vendor or event_id is None:
                continue
            replaces = outcome.outcome == "stored" and event_id in awaited.replaced
            if outcome.outcome in {"duplicate", "quarantined"} or replaces:
                later = outcome.time is None or outcome.time >= awaited.sent
                (after if later else margin)[event_id] = outcome
            if set(after) == wanted or (not settled.is_alive() and set(after) | set(margin) == wanted):
                break
    except IntakeError as exc:
        problem = str(exc)
    finally:
        stop.set()
        timer.cancel()
        settled.cancel()
    chosen = {**margin, **after}
    taken = {event_id: outcome.outcome for event_id, outcome in chosen.items() if outcome.outcome != "quarantined"}
    kept = {
        event_id: outcome.reason or "quarantined"
        for event_id, outcome in chosen.items()
        if outcome.outcome == "quarantined"
    }
    return taken, kept, problem


def _correlation_id(request: OutgoingRequest, response: HttpResponse) -> str | None:
    """The id every log line of this delivery carries, as the ingest function makes it: the vendor's delivery id
    sent, else API Gateway's id of the request (its answer's ``apigw-requestid``); None when neither is known."""
    from intake_cli.events import APIGW_REQUEST_ID_HEADER
    from webhook_intake.delivery import correlation_id_of
    from webhook_intake.registry import vendor

    sent = {name.lower(): value for name, value in request.headers.items()}
    value = sent.get(vendor(request.vendor).delivery_header) or response.headers.get(APIGW_REQUEST_ID_HEADER)
    return correlation_id_of(value) if value else None


def _print(
    request: OutgoingRequest, url: str, chosen: Chosen, response: HttpResponse, waited: Waited | None, as_json: bool
) -> None:
    from intake_cli.event_log import plain

    text = response.body.decode("utf-8", "replace")
    correlation_id = _correlation_id(request, response)
    if as_json:
        document: dict[str, Any] = {
            "method": request.method,
            "url": url,
            "file": chosen.label,
            "status": response.status,
            "headers": response.headers,
            "body": text,
            "correlation_id": correlation_id,
        }
        if waited is not None:
            document["events"] = json.loads(json.dumps(waited.events, default=plain))
            document["duplicates"] = waited.duplicates
            document["not_stored"] = [item.to_json() for item in waited.missing]
            document["dead_letters_since_send"] = None if waited.dead_letters is None else waited.dead_letters.arrived
        print_json_lines([document])
        return
    out = console()
    colour = "green" if 200 <= response.status < 300 else "red"
    out.print(escape(f"{request.method} {url}  ({chosen.label})"))
    out.print(f"[bold {colour}]{response.status}[/]")
    if correlation_id is not None:
        out.print(f"[dim]correlation id[/] {escape(correlation_id)}", soft_wrap=True)
    if text:
        try:
            out.print_json(text)
        except ValueError:
            out.print(text, markup=False)
    if waited is not None:
        _print_waited(out, waited)


def _print_waited(out: Console, waited: Waited) -> None:
    """What ``--wait`` found, on a terminal: the events stored, duplicates, and those not stored."""
    if waited.ping:
        out.print("a ping: answered, never stored")
        return
    if waited.events:
        from intake_cli.render import events_table

        out.print(events_table(waited.events, f"Stored ({len(waited.events)})", out.width))
    for event_id in waited.duplicates:
        taken = "stored before; the consumer took this delivery's copy as a duplicate"
        out.print(f"[dim]duplicate[/] {escape(inline(event_id))}: {taken}")
    # What became of an event (quarantined, refused) before events whose outcome is merely not known yet: a few
    # of those say it.
    missing = sorted(waited.missing, key=lambda item: item.unheard)
    for item in missing[:MISSING_SHOWN]:
        out.print(f"[bold red]not stored[/] {escape(inline(item.sentence()))}")
    if len(missing) > MISSING_SHOWN:
        more = len(missing) - MISSING_SHOWN
        behind = sum(item.state == "not_stored" for item in missing[MISSING_SHOWN:])
        where = DeadLetters.note_of(waited.dead_letters) or "intake tail follows them"
        why = f" ({behind} not stored within {WAIT_SECONDS:.0f} s: {where})" if behind else ""
        out.print(f"[bold red]not stored[/] {more} more events{why}; --json lists every one")
