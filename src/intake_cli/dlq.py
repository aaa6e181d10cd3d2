"""What waits for an operator: SQS dead letters and quarantined events, listed together, sent back or let go.

- A **dead letter** is a queue record the consumer failed ``MaxReceiveCount`` times: only a
  dependency that kept failing (DynamoDB, S3), or invocations that ran out of time before doing
  any of it, put one there. Its id is the SQS message id.
- A **quarantined event** is one the consumer decided, once, it cannot store (its reason says
  why). Its id is ``<vendor>/<sk>`` of its item.

Both go back the same way (``redrive``): a dead letter to its source queue (SQS
StartMessageMoveTask for all of a queue; receive, send, delete for one), a quarantined event to
its vendor's queue as its own delivery (:class:`~intake_cli.quarantine.QuarantineRedrive`),
whose quarantine item the consumer releases once the event is stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.event_log import payloads, reading
from intake_cli.quarantine import QuarantineRedrive, sender
from intake_cli.queues import (
    PEEK_VISIBILITY,
    SQS_BATCH,
    dead_letters,
    delete,
    depth,
    move,
    receive_all,
    redrive,
    release,
)
from intake_cli.target import IntakeError, aws_problem
from webhook_intake.consumer.normalizing import Rejected
from webhook_intake.delivery import Delivery
from webhook_intake.ingest.queue import EnqueueError
from webhook_intake.payloads import ClaimCheck, PayloadError
from webhook_intake.registry import vendor as vendor_spec
from webhook_intake.store.events import StoreError
from webhook_intake.store.quarantine import NAME_MAX_CHARS, QuarantineKey, QuarantineStore
from webhook_intake.store.schema import QUARANTINE_PREFIX
from webhook_intake.store.wire import decode_item, encode
from webhook_intake.text import clean_text

if TYPE_CHECKING:
    from intake_cli.queues import DeadLetter, MoveResult
    from intake_cli.target import Target

Kind = Literal["dead-letter", "quarantined"]
DEAD_LETTER_REASON = "retries_exhausted"
DELETE_LIMIT = 10_000
"""How many of each kind one ``dlq delete`` of everything lets go per vendor (it says when more remain)."""


@dataclass(frozen=True)
class Held:
    """One dead letter or quarantined event: what, why, and the id to act on."""

    kind: Kind
    vendor: str
    id: str
    reason: str
    message: str
    received_at: str | None
    event_id: str | None = None
    source_type: str | None = None
    """The vendor's own type of the event, where it is known: the item's (a quarantined event), or read from the
    one event a dead letter holds."""
    attempts: int | None = None
    correlation_id: str | None = None
    letter: DeadLetter | None = None
    item: dict[str, Any] | None = None

    def to_json(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """As ``intake dlq list --json`` prints it (``body``: what :func:`body_of` found)."""
        document: dict[str, Any] = {
            "kind": self.kind,
            "vendor": self.vendor,
            "id": self.id,
            "reason": self.reason,
            "message": self.message,
            "received_at": self.received_at,
            "event_id": self.event_id,
            **({"source_type": self.source_type} if self.source_type is not None else {}),
            "attempts": self.attempts,
            "correlation_id": self.correlation_id,
        }
        if self.letter is not None:
            letter = self.letter.to_json()
            document.update(
                {
                    "message_id": letter["message_id"],
                    "sent_at": letter["sent_at"],
                    "receive_count": letter["receive_count"],
                    "message_attributes": letter["message_attributes"],
                }
            )
        if self.item is not None:
            document.update(
                {
                    name: self.item.get(name)
                    for name in ("scope", "index", "quarantined_at", "route")
                    if self.item.get(name) is not None
                }
            )
        return {**document, **(body or {})}


def _attribute(letter: DeadLetter, name: str) -> str | None:
    value = (letter.message_attributes.get(name) or {}).get("StringValue")
    return value if isinstance(value, str) else None


def from_letter(letter: DeadLetter) -> Held:
    """A dead letter as a held item."""
    correlation = _attribute(letter, "correlation_id")
    # Its receive count here counts every look at the DLQ too (dlq list receives to read): not the tries.
    message = (
        "the consumer failed it on every receive MaxReceiveCount allows: a dependency kept failing, or"
        " invocations ran out of time before doing any of it"
    )
    # The correlation id first: the terminal cuts the message to its width, and the runbook looks it up in the log.
    message = f"correlation id {correlation}: {message} (its log lines say which)" if correlation else message
    sent = letter.to_json()["sent_at"]
    event_id, source_type = _event_of(letter)
    return Held(
        kind="dead-letter",
        vendor=letter.vendor,
        id=letter.message_id,
        reason=DEAD_LETTER_REASON,
        message=message,
        received_at=_attribute(letter, "received_at") or sent,
        event_id=event_id,
        source_type=source_type,
        correlation_id=correlation,
        letter=letter,
    )


def _event_of(letter: DeadLetter) -> tuple[str | None, str | None]:
    """The id and vendor type of the one event a dead letter holds, read as the consumer reads them (the id it
    is stored under, or the vendor's id of an event it would quarantine); None for a batch of several, or a body
    waiting in S3 (a claim check: not fetched to list it)."""
    if _attribute(letter, "claim_check"):
        return None, None
    delivery = Delivery.from_message_attributes(
        letter.message_attributes,
        vendor=letter.vendor,
        sent_timestamp_ms=letter.sent_timestamp,
        message_id=letter.message_id,
    )
    reading = vendor_spec(letter.vendor).normalizer().read(letter.body, delivery)
    if reading.refused is not None or len(reading) != 1:
        return None, None
    step = reading.step(0)
    if isinstance(step, Rejected):
        return step.event_id, step.source_type
    return step.event.event_id, step.event.source_type


def from_item(item: dict[str, Any]) -> Held:
    """A quarantine item as a held item."""
    return Held(
        kind="quarantined",
        vendor=str(item["vendor"]),
        id=str(QuarantineKey(str(item["vendor"]), str(item["sk"]))),
        reason=str(item.get("reason", "")),
        message=str(item.get("message", "")),
        received_at=str(item.get("received_at")) if item.get("received_at") else None,
        event_id=str(item["event_id"]) if item.get("event_id") else None,
        source_type=str(item["source_type"]) if item.get("source_type") else None,
        attempts=int(item["attempts"]) if item.get("attempts") is not None else None,
        correlation_id=str(item.get("correlation_id") or "") or None,
        item=item,
    )


def quarantine_store(target: Target) -> QuarantineStore:
    """The stack's quarantined events."""
    return QuarantineStore(target.events_table, dynamodb_client=target.client("dynamodb"), payloads=payloads(target))


def quarantined_by_vendor(target: Target) -> dict[str, int]:
    """How many quarantined events each of the stack's vendors has (a count of keys, vendor by vendor)."""
    store = quarantine_store(target)
    with reading(target):
        return {key: store.count(key) for key in target.vendors}


def quarantined_as(
    target: Target, vendor_key: str, event_id: str, progress: Callable[[int], None] | None = None
) -> list[Held]:
    """The quarantined copies of one event, by the id its vendor gave it, oldest first: one query of the vendor's
    partition filtered on the id, so that a read finding no such event stored can say that it is held, and where.

    The filter applies after the read: the whole partition is read, so ``progress`` hears how many of its items
    were read so far, a page at a time."""
    request: dict[str, Any] = {
        "TableName": target.events_table,
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": "#event_id = :event_id",
        "ProjectionExpression": "vendor, sk, reason, attempts, event_id",
        "ExpressionAttributeNames": {"#event_id": "event_id"},
        "ExpressionAttributeValues": {
            ":pk": {"S": f"{QUARANTINE_PREFIX}{vendor_key}"},
            ":event_id": encode(clean_text(event_id[:NAME_MAX_CHARS])),
        },
    }
    pages = target.client("dynamodb").get_paginator("query").paginate(**request)
    found: list[Held] = []
    read = 0
    with reading(target):
        for page in pages:
            found += [from_item(decode_item(item)) for item in page.get("Items", [])]
            read += int(page.get("ScannedCount", 0))
            if progress is not None:
                progress(read)
    return found


def kinds_for(reason: str | None) -> tuple[bool, bool]:
    """Whether a command chosen by ``reason`` (None: any) acts on dead letters, and on quarantined events: the
    dead letters' reason is :data:`DEAD_LETTER_REASON`, every other one a quarantined event's."""
    return reason in (None, DEAD_LETTER_REASON), reason != DEAD_LETTER_REASON


@dataclass
class Unread:
    """What a listing could not read, a line each in ``problems``: the vendors whose dead-letter queue it could not
    read, and whether it could not read the quarantine."""

    queues: list[str] = field(default_factory=list)
    quarantine: bool = False
    problems: list[str] = field(default_factory=list)


def held(
    target: Target,
    vendors: list[str],
    limit: int,
    unread: Unread | None = None,
    reason: str | None = None,
    waiting: dict[str, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Held]:
    """Every vendor's dead letters and quarantined events (up to ``limit`` of each per vendor; those of
    ``reason`` only, when it is given), oldest first; ``waiting`` takes each dead-letter queue's approximate
    depth (:func:`intake_cli.queues.dead_letters`); ``progress`` hears how many of both were read so far.

    The quarantined events are in the events table: when it cannot be read (the very outage that
    dead-letters records), the dead letters are still listed; and a vendor's dead-letter queue that cannot be read
    (deleted, or denied) leaves the other vendors' listed. Each problem goes to ``unread`` (raised when there is no
    one to take it).
    """
    letters, quarantined = kinds_for(reason)
    queues: list[tuple[str, str]] | None = None if unread is None else []
    read = dead_letters(target, vendors, limit, queues, waiting, progress) if letters else []
    found = [from_letter(letter) for letter in read]
    if unread is not None and queues:
        unread.queues += [key for key, _ in queues]
        unread.problems += [problem for _, problem in queues]
    store = quarantine_store(target)
    try:
        for key in vendors if quarantined else ():
            for item in store.list(key, limit, reason=reason):
                found.append(from_item(item))
                if progress is not None:
                    progress(len(found))
    except (ClientError, BotoCoreError) as exc:
        problem = f"cannot read table {target.events_table}: {aws_problem(exc)}"
        if unread is None:
            raise IntakeError(problem) from None
        unread.quarantine = True
        unread.problems.append(problem)
    return sorted(found, key=lambda item: (item.received_at or "", item.vendor, item.id))


def body_of(target: Target, item: Held) -> dict[str, Any]:
    """The exact body: a quarantined event's text, a dead letter's body (from S3 when it is a claim check)."""
    if item.item is not None:
        try:
            return {"body": quarantine_store(target).text(item.item)}
        except (StoreError, PayloadError) as exc:
            return {"body": None, "body_error": str(exc)}
    letter = item.letter
    assert letter is not None
    pointer = _attribute(letter, "claim_check")
    if not pointer:
        return {"body": letter.body}
    try:
        return {"body": payloads(target).fetch(ClaimCheck.from_pointer(letter.body)), "claim_check": pointer}
    except (ValueError, KeyError, TypeError, PayloadError) as exc:
        return {"body": None, "claim_check": pointer, "claim_check_pointer": letter.body, "body_error": str(exc)}


@dataclass(frozen=True)
class Done:
    """What one redrive or delete did (or, on a dry run, would do)."""

    action: Literal["redrive", "delete"]
    kind: Kind
    vendor: str
    id: str
    count: int = 1
    detail: str = ""
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """As ``--json`` prints it: every field."""
        return asdict(self)

    def sentence(self) -> str:
        """One line for the terminal."""
        from intake_cli.render import counted

        verb = {"redrive": "sent back", "delete": "deleted"}[self.action]
        verb = f"would be {verb}" if self.dry_run else verb
        what = "dead letter" if self.kind == "dead-letter" else "quarantined event"
        many = counted(self.count, what, f"{what}s") if self.id == "*" else f"{what} {self.id}"
        return f"{self.vendor}: {many} {verb}{f' ({self.detail})' if self.detail else ''}"


def quarantine_key(target: Target, identifier: str, vendors: list[str] | None = None) -> QuarantineKey | None:
    """``identifier`` as a quarantine id of one of the stack's vendors, else None (an SQS message id).

    With ``vendors`` (what ``--vendor`` chose), a quarantine id of another vendor is an error:
    acting on it anyway would touch an item the operator did not point at.
    """
    try:
        key = QuarantineKey.parse(identifier)
    except ValueError:
        return None
    if key.vendor not in target.vendors:
        return None
    if vendors is not None and key.vendor not in vendors:
        raise IntakeError(
            f"{identifier} is a quarantined event of {key.vendor}, not of {', '.join(vendors)}: "
            f"leave out --vendor, or pass --vendor {key.vendor}"
        )
    return key


def redrive_one(
    target: Target, identifier: str, vendors: list[str], *, dry_run: bool, progress: Callable[[int], None] | None = None
) -> Done:
    """Send one dead letter or quarantined event back; ``progress`` hears how many dead letters were read so far
    while one is looked for (:func:`_find_letter`)."""
    key = quarantine_key(target, identifier, vendors)
    if key is not None:
        runner = QuarantineRedrive(quarantine_store(target), _sender_for(target))
        try:
            sent = runner.run(key.vendor, key, dry_run=dry_run)
        except (StoreError, PayloadError, EnqueueError, ClientError, BotoCoreError) as exc:
            raise IntakeError(f"cannot send {identifier} back: {aws_problem(exc)}") from None
        if not sent:
            raise IntakeError(f"no quarantined event {identifier}: `intake dlq list` shows them")
        return Done("redrive", "quarantined", key.vendor, identifier, detail=sent[0].reason, dry_run=dry_run)
    vendor, message = _find_letter(target, identifier, vendors, progress)
    resources = target.vendor(vendor)
    sqs = target.client("sqs")
    if dry_run:
        release(sqs, resources.dead_letter_queue_url, [message])
    else:
        move(sqs, [message], resources.dead_letter_queue_url, resources.queue_url)
    return Done("redrive", "dead-letter", vendor, identifier, detail=f"to {resources.queue_name}", dry_run=dry_run)


Progress = Callable[[str, int, int], None]
"""Hears, per vendor, how many of its quarantined events were sent back (or deleted) of how many."""


def redrive_all(
    target: Target,
    vendors: list[str],
    *,
    dry_run: bool,
    progress: Progress | None = None,
    done: list[Done] | None = None,
    reason: str | None = None,
) -> list[Done]:
    """Send every dead letter and quarantined event of ``vendors`` back (those of ``reason`` only, when it is given).

    ``done`` (returned) is filled as it goes: when the run is stopped (Ctrl-C), it holds what was done before.
    """
    done = [] if done is None else done
    runner = QuarantineRedrive(quarantine_store(target), _sender_for(target))
    return _vendor_by_vendor(
        vendors,
        done,
        lambda key: _redrive_vendor(target, key, runner, done, dry_run=dry_run, progress=progress, reason=reason),
    )


def _redrive_vendor(
    target: Target,
    key: str,
    runner: QuarantineRedrive,
    done: list[Done],
    *,
    dry_run: bool,
    progress: Progress | None,
    reason: str | None,
) -> None:
    """One vendor's part of :func:`redrive_all`, added to ``done`` as it goes."""
    sqs = target.client("sqs")
    resources = target.vendor(key)
    letters, quarantined = kinds_for(reason)
    waiting = sum(depth(sqs, resources.dead_letter_queue_url)) if letters else 0
    if waiting and dry_run:
        done.append(Done("redrive", "dead-letter", key, "*", waiting, f"to {resources.queue_name}", True))
    elif waiting:
        result = _redrive_letters(target, key, waiting, done)
        detail = f"SQS message move task {result.task_handle}" if result.task_handle else f"to {resources.queue_name}"
        detail += ", started before and still moving them" if result.running else ""
        # SQS's own task moves in the background (its count comes later); the local move is done.
        moved = waiting if result.moved is None else result.moved
        if moved < waiting:
            detail += f"; {waiting - moved} more not visible now (being read), try again shortly"
        done.append(Done("redrive", "dead-letter", key, "*", moved, detail))
    went = (0, 0)

    def heard(so_far: int, total: int) -> None:
        nonlocal went
        went = (so_far, total)
        if progress is not None:
            progress(key, so_far, total)

    if not quarantined:
        return
    try:
        sent = runner.run(key, dry_run=dry_run, progress=heard, reason=reason)
    except (StoreError, PayloadError, EnqueueError, ClientError, BotoCoreError) as exc:
        if went[0]:  # those sent before it are on the queue: said with what was done before the failure
            done.append(Done("redrive", "quarantined", key, "*", went[0], f"of {went[1]}, to {resources.queue_name}"))
        raise IntakeError(f"cannot send {key}'s quarantined events back: {aws_problem(exc)}") from None
    if sent:
        done.append(Done("redrive", "quarantined", key, "*", len(sent), f"to {resources.queue_name}", dry_run))


def _redrive_letters(target: Target, key: str, waiting: int, done: list[Done]) -> MoveResult:
    """Move a vendor's dead letters back; stopped part way (Ctrl-C while the local stack moves them, ten at a
    time, or a request SQS refuses), the ones already on the queue are added to ``done``, so that what is said of
    the run names them."""
    gone: list[int] = []
    try:
        return redrive(target, key, moved=gone.append)
    except (KeyboardInterrupt, IntakeError):
        if gone and gone[-1]:
            queue = target.vendor(key).queue_name
            done.append(Done("redrive", "dead-letter", key, "*", gone[-1], f"of {waiting}, to {queue}"))
        raise


def delete_one(
    target: Target, identifier: str, vendors: list[str], *, dry_run: bool, progress: Callable[[int], None] | None = None
) -> Done:
    """Let one dead letter or quarantined event go; ``progress`` hears how many dead letters were read so far while
    one is looked for (:func:`_find_letter`)."""
    key = quarantine_key(target, identifier, vendors)
    if key is not None:
        store = quarantine_store(target)
        try:
            item = store.get(key)
            if item is None:
                raise IntakeError(f"no quarantined event {identifier}: `intake dlq list` shows them")
            if not dry_run:
                store.delete(key)
        except (StoreError, ClientError, BotoCoreError) as exc:
            raise IntakeError(f"cannot delete {identifier}: {aws_problem(exc)}") from None
        return Done(
            "delete", "quarantined", key.vendor, identifier, detail=str(item.get("reason", "")), dry_run=dry_run
        )
    vendor, message = _find_letter(target, identifier, vendors, progress)
    url = target.vendor(vendor).dead_letter_queue_url
    if dry_run:
        release(target.client("sqs"), url, [message])
    else:
        delete(target.client("sqs"), url, [message])
    return Done("delete", "dead-letter", vendor, identifier, dry_run=dry_run)


def delete_all(
    target: Target,
    vendors: list[str],
    *,
    dry_run: bool,
    progress: Progress | None = None,
    done: list[Done] | None = None,
    reason: str | None = None,
) -> list[Done]:
    """Let every dead letter and quarantined event of ``vendors`` go (those of ``reason`` only, when it is given;
    the ones read now, up to :data:`DELETE_LIMIT` of each kind per vendor; each :class:`Done` says when more remain).

    ``progress`` hears, per vendor, how many of its quarantined events were deleted of how many; ``done``
    (returned) is filled as it goes: when the run is stopped (Ctrl-C), it holds what was done before.
    """
    done = [] if done is None else done
    store = quarantine_store(target)
    return _vendor_by_vendor(
        vendors,
        done,
        lambda key: _delete_vendor(
            target, key, store, done, dry_run=dry_run, limit=DELETE_LIMIT, progress=progress, reason=reason
        ),
    )


def _delete_vendor(
    target: Target,
    key: str,
    store: QuarantineStore,
    done: list[Done],
    *,
    dry_run: bool,
    limit: int,
    progress: Progress | None = None,
    reason: str | None = None,
) -> None:
    """One vendor's part of :func:`delete_all`, added to ``done`` as it goes."""
    sqs = target.client("sqs")
    url = target.vendor(key).dead_letter_queue_url
    any_letters, quarantined = kinds_for(reason)
    letters = receive_all(sqs, url, limit, within=PEEK_VISIBILITY / 2) if any_letters else []
    if letters and not dry_run:
        _delete_letters(sqs, url, letters, key, done)
    elif letters:
        release(sqs, url, letters)
    if letters:
        # Read for a while only (and up to the limit): one that arrived since, or was not read in time, is said.
        left = 0 if dry_run else sum(depth(sqs, url))
        detail = f"{left} more on the queue now: run it again" if left else ""
        done.append(Done("delete", "dead-letter", key, "*", len(letters), detail, dry_run))
    if not quarantined:
        return
    try:
        items = list(store.list(key, limit, reason=reason))
    except (StoreError, ClientError, BotoCoreError) as exc:
        raise IntakeError(f"cannot delete {key}'s quarantined events: {aws_problem(exc)}") from None
    if not dry_run:
        _delete_quarantined(store, key, items, done, progress)
    if items:
        detail = "more remain: run it again" if len(items) >= limit else ""
        done.append(Done("delete", "quarantined", key, "*", len(items), detail, dry_run))


def _delete_quarantined(
    store: QuarantineStore, key: str, items: list[dict[str, Any]], done: list[Done], progress: Progress | None
) -> None:
    """Delete the quarantined events read; stopped part way by a failure, the ones already gone for good are
    added to ``done``, so that what is said of the run counts them."""
    if progress is not None:
        progress(key, 0, len(items))
    for gone, item in enumerate(items):
        try:
            store.delete(QuarantineKey(key, str(item["sk"])))
        except (StoreError, ClientError, BotoCoreError) as exc:
            if gone:
                done.append(Done("delete", "quarantined", key, "*", gone, f"of {len(items)}"))
            raise IntakeError(f"cannot delete {key}'s quarantined events: {aws_problem(exc)}") from None
        if progress is not None:
            progress(key, gone + 1, len(items))


def _delete_letters(sqs: Any, url: str, letters: list[dict[str, Any]], key: str, done: list[Done]) -> None:
    """Delete the dead letters read; stopped part way (Ctrl-C: thousands take a minute, or a request SQS refuses),
    the ones already gone for good are added to ``done``, so that what is said of the run names them, and the ones
    read but not sent to be deleted are made visible again (else hidden from the next look and from a redrive for a
    while). A release that fails as well leaves them to come back once their visibility ends: what stopped the
    delete is what is said."""
    gone: list[int] = []
    try:
        delete(sqs, url, letters, deleted=gone.append)
    except (KeyboardInterrupt, IntakeError):
        if gone and gone[-1]:
            done.append(Done("delete", "dead-letter", key, "*", gone[-1], f"of {len(letters)} read"))
        with contextlib.suppress(IntakeError):
            release(sqs, url, letters[len(gone) * SQS_BATCH :])  # one request of ten a hearing
        raise


def _vendor_by_vendor(vendors: list[str], done: list[Done], step: Callable[[str], None]) -> list[Done]:
    """``step`` for each vendor in turn (it adds to ``done``); a failure says what was done before it (none of
    it is undone)."""
    for key in vendors:
        try:
            step(key)
        except IntakeError as exc:
            if not done:
                raise exc from None
            raise IntakeError(f"{exc} (done before it: {'; '.join(item.sentence() for item in done)})") from None
    return done


def _sender_for(target: Target) -> Any:
    def sender_for(vendor: str) -> Any:
        resources = target.vendor(vendor)
        return sender(
            resources.queue_url,
            target.payload_bucket,
            target.client("sqs"),
            target.client("s3"),
            retention_days=target.retention_days,
        )

    return sender_for


def _find_letter(
    target: Target, message_id: str, vendors: list[str], progress: Callable[[int], None] | None = None
) -> tuple[str, dict[str, Any]]:
    """The vendor and the received message (hidden a moment; the others made visible again) with this id.

    SQS finds no message by its id: each vendor's dead letters are received until it is among them, so
    ``progress`` hears how many were read so far, every vendor's together."""
    sqs = target.client("sqs")
    read = 0
    for key in vendors:
        url = target.vendor(key).dead_letter_queue_url
        received = receive_all(sqs, url, 10_000, within=PEEK_VISIBILITY / 2, progress=progress, read_before=read)
        read += len(received)
        found = next((message for message in received if message["MessageId"] == message_id), None)
        release(sqs, url, [message for message in received if message is not found])
        if found is not None:
            return key, found
    raise IntakeError(f"no dead letter or quarantined event with id {message_id!r}: `intake dlq list` shows the ids")
