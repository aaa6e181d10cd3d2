"""One queue record → its vendor events → each one stored, a duplicate, or quarantined.

A record succeeds once every event in it has an outcome. It fails (and SQS brings it back,
then dead-letters it after ``MaxReceiveCount`` receives) only when a dependency fails for a
reason of its own: DynamoDB or S3 throttled or unavailable. What an event *is* never makes a
record retry: that is decided once, and a bad event is quarantined with its reason.

Nor does an invocation run into its timeout: with ``TIME_RESERVE_MS`` left it stops, before a
record or between two events of one. A record's events are taken in the delivery's order, each
mapped only when its turn comes, so that the time checked before an event covers its mapping too,
never a whole large delivery's (a batch's first hundred events of small records are mapped before
any is written, with time to spare: :meth:`ConsumerService.look_ahead`). The events given their
outcomes so far keep them, and the feed entries of those stored are written; the rest of a
delivery goes back on the vendor's queue as a message of its own that resumes at the first event
without an outcome (``Continuation``), and the record is done. When nothing of the record was done
in this invocation, or SQS does not take the rest, the record itself goes back.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import client, error_code
from webhook_intake.consumer.attempts import InvocationAttempts, OutOfTimeError
from webhook_intake.consumer.normalizing import Reading, Rejected
from webhook_intake.delivery import RESUME_CHECK_CHARS, Delivery, id_label
from webhook_intake.observability import Metric, count, count_by, samples
from webhook_intake.payloads import ClaimCheck, ClaimCheckError, PayloadError
from webhook_intake.store.events import ItemRefusedError, Outcome, StoreError, same_event
from webhook_intake.store.feed import FeedPage, PendingFeed
from webhook_intake.store.items import TooLargeError, prepare
from webhook_intake.store.quarantine import INVALID_CLAIM_CHECK, Kept, QuarantineKey, key_for
from webhook_intake.store.schema import key_parts
from webhook_intake.times import from_iso

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from aws_lambda_powertools import Logger, Metrics

    from webhook_intake.consumer.models import NormalizedEvent
    from webhook_intake.consumer.normalizing import Mapped, VendorNormalizer
    from webhook_intake.consumer.shapes import ShapeWatch
    from webhook_intake.payloads import PayloadStore
    from webhook_intake.store.events import EventStore, LaterVersion, PutResult
    from webhook_intake.store.items import Prepared
    from webhook_intake.store.quarantine import QuarantineStore

MAX_OUTCOMES_PER_LINE = 200
"""Outcome lines stay far below CloudWatch's 256 KB per log event."""
_LOOK_FAILED = (OutOfTimeError, StoreError, PayloadError, ClientError, BotoCoreError)
"""What ends a first version's look for its copies kept as conflicts undone (no time, DynamoDB or S3 failing): held
for the reserve, and there said in the log."""
TIME_RESERVE_MS = 3_000
"""Kept back at the end of an invocation: one try at sending the rest of a delivery back (``Continuation``),
the feed pages owed (:data:`MAX_FEED_PAGES_OWED` at most), the metrics and the outcomes line fit in it. No
attempt of a call to DynamoDB or S3 made before it runs into it (``InvocationAttempts``)."""
FINAL_MS = 500
"""Kept back from the reserve's own calls (feed pages, new shapes): the metrics, the outcomes line and the
batch response are written whatever DynamoDB does."""
MAX_FEED_PAGES_OWED = 20
"""Feed pages an invocation may owe before it writes them, between two events: the reserve then writes no
more than these, however many minutes its batch was received over (a page for each)."""
LOOK_AHEAD_EVENTS = 100
"""Events an invocation maps and prepares before it writes any (:meth:`ConsumerService.look_ahead`): a batch of
ten records of ten events, in a few milliseconds."""
LOOK_AHEAD_SPARE_MS = 2_000
"""Needed beyond the reserve for an event to be read ahead (5 s or more left): an invocation short of time maps each
event in its turn, the time checked before it covering its mapping."""
LOOK_AHEAD_BODY_CHARS = 65_536
"""A record with a longer body (in characters, as the message's text is counted) is mapped in its turn, an event at
a time, as a large delivery must be."""


# One try, within the reserve: a send that cannot finish in time must not become the function's timeout.
CONTINUATION_CONFIG = Config(
    connect_timeout=0.5, read_timeout=1.0, retries={"total_max_attempts": 1}, parameter_validation=False
)


@dataclass(frozen=True)
class Continuation:
    """Puts the rest of a delivery back on the vendor's queue: the record's body and its delivery, resuming."""

    queue_url: str

    def __call__(self, body: str, delivery: Delivery) -> None:
        """Send it; :class:`OutOfTimeError` when SQS does not take it (the record itself then goes back)."""
        try:
            client("sqs", CONTINUATION_CONFIG).send_message(
                QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=delivery.to_message_attributes()
            )
        except (ClientError, BotoCoreError) as exc:
            raise OutOfTimeError(error_code(exc)) from exc


@dataclass(frozen=True)
class Release:
    """A quarantine item to let go in the reserve, and the record (message id: receives) whose event was it."""

    key: QuarantineKey
    slots: range
    message_id: str
    receives: int | None


@dataclass(frozen=True)
class HeldCopies:
    """A first version that took a later one's place whose look for its copies kept as conflicts did not fit before
    the reserve, or failed: looked for again in the reserve (its delivery's correlation id; its slot of write units)."""

    event: NormalizedEvent
    slot: int
    delivery: str | None


@dataclass
class Ahead:
    """A record read, and its first events mapped and made storable, before the invocation wrote anything."""

    message_id: str
    delivery: Delivery
    reading: Reading
    steps: dict[int, tuple[Mapped | Rejected, Prepared | None]] = field(default_factory=dict)
    """By position in the delivery: the event mapped or rejected, and its item (None: prepared in its turn)."""


@dataclass
class Tally:
    """What one invocation did, reported once at its end (metrics and the outcomes line)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    write_units: float = 0.0
    units_per_event: list[float] = field(default_factory=list)
    """Each event's write units (its put, a conflict's quarantine): the per-event average is exact."""
    conflicts: int = 0
    attribute_problems: int = 0
    ingest_lags_ms: list[float] = field(default_factory=list)
    event_lags_ms: list[float] = field(default_factory=list)
    lines: list[tuple[str | None, str]] = field(default_factory=list)
    """Each outcome's entry, with the correlation id of the delivery it is about (None: not known)."""
    delivery: str | None = None
    """The correlation id of the delivery whose record is being handled."""
    deliveries: dict[str, str] = field(default_factory=dict)
    """The correlation id of each record handled (by message id)."""
    feed: PendingFeed = field(default_factory=PendingFeed)
    """The feed entries of the events stored as this invocation's copies, written at its end."""
    held: list[FeedPage] = field(default_factory=list)
    """Pages due between two events when no attempt fitted before the reserve any more: written in it."""
    feed_records: dict[str, int | None] = field(default_factory=dict)
    """The records those entries come from (message id: receives), retried when they are not written."""
    feed_slots: dict[str, list[int]] = field(default_factory=dict)
    """Their events' places in ``units_per_event`` (by ``pk``): each gets its share of its page's write units."""
    failed: set[str] = field(default_factory=set)
    """Records already failed (retried or dead-lettered) in this invocation."""
    unwritten: set[str] = field(default_factory=set)
    """Records with a feed entry in a page that could not be written: retried at the invocation's end."""
    releases: list[Release] = field(default_factory=list)
    """Quarantine items of events sent back and stored, let go in the reserve: no attempt fitted before it."""
    copies: list[HeldCopies] = field(default_factory=list)
    """First versions whose copies kept as conflicts are looked for in the reserve: the look before it did not fit, or
    failed."""
    continued: bool = False
    """A rest was sent (or tried) in this invocation: the reserve holds one such try, so no record goes round after."""

    def share(self, units: float, slots: Sequence[int]) -> None:
        """Write units the events at ``slots`` of ``units_per_event`` owe together, in equal parts."""
        self.write_units += units
        for slot in slots:
            self.units_per_event[slot] += units / len(slots)

    def note(self, outcome: str, *words: str, counted: bool = True) -> None:
        """Count an outcome (unless already counted on an earlier try) and keep its line entry.

        The entry holds ids and types only, never payload values.
        """
        if counted:
            self.outcomes[outcome] += 1
        self.lines.append((self.delivery, " ".join([outcome, *words])))


@dataclass
class ConsumerService:
    """Normalizes and stores the events of one vendor's queue records."""

    normalizer: VendorNormalizer
    events: EventStore
    quarantine: QuarantineStore
    payloads: PayloadStore
    logger: Logger
    metrics: Metrics
    retention_days: int = 0
    max_receive_count: int | None = None
    shapes: ShapeWatch | None = None
    continuation: Callable[[str, Delivery], None] | None = None
    """Where the rest of a delivery goes when the invocation runs out of time (none: the record goes back)."""
    clock: Callable[[], float] = field(default=time.time)
    attempts: InvocationAttempts = field(default_factory=InvocationAttempts)
    """How the stores' calls are tried (the stores are given the same): by this invocation's time."""
    tally: Tally = field(default_factory=Tally)
    _remaining_ms: Callable[[], int] | None = field(default=None, init=False, repr=False)
    _kept_in_record: dict[QuarantineKey, bool] = field(default_factory=dict, init=False, repr=False)
    """The quarantine items the record being handled wrote, and whether each was its event's first."""
    _ahead: dict[str, Ahead] = field(default_factory=dict, init=False, repr=False)
    """The records :meth:`look_ahead` read, by message id, until their turn."""

    @property
    def vendor(self) -> str:
        """The vendor whose queue this consumer drains."""
        return self.normalizer.spec.key

    def begin(self, remaining_ms: Callable[[], int] | None = None) -> None:
        """A new invocation: nothing counted yet; ``remaining_ms`` tells the time it has left (Lambda's context)."""
        self.tally = Tally()
        self._ahead = {}
        self._remaining_ms = remaining_ms
        self.attempts.keep(remaining_ms, TIME_RESERVE_MS)

    def _out_of_time(self) -> bool:
        """Only the reserve is left."""
        return self._short_of_time()

    def _short_of_time(self, spare_ms: int = 0) -> bool:
        """No more than the reserve and ``spare_ms`` is left."""
        return self._remaining_ms is not None and self._remaining_ms() < TIME_RESERVE_MS + spare_ms

    def _check_time(self) -> None:
        """Stop before reading a record once only the reserve is left: nothing of it can be done."""
        if self._out_of_time():
            raise OutOfTimeError

    def look_ahead(self, records: Sequence[dict[str, Any]]) -> None:
        """Read, map and prepare the batch's events before any is written (the first :data:`LOOK_AHEAD_EVENTS` of
        the records no longer than :data:`LOOK_AHEAD_BODY_CHARS`, none resuming or behind a claim check).

        The same work each record's turn would do, done first: mapping every event and then writing every one keeps
        each half's code and data in the CPU's caches, where an event mapped between two writes pushes botocore's
        out (5-9 % of the consumer's CPU per event, docs/performance.md). Nothing is decided here: each event
        still has its outcome in its record's turn, in the delivery's order, and what fails here is done again
        there, where its failure has its outcome.
        """
        budget = LOOK_AHEAD_EVENTS
        for raw_record in records:
            if budget <= 0 or self._short_of_time(LOOK_AHEAD_SPARE_MS):
                return
            ahead = self._read_ahead(raw_record, budget)
            if ahead is not None:
                self._ahead[ahead.message_id] = ahead
                budget -= len(ahead.steps)

    def _read_ahead(self, raw_record: dict[str, Any], budget: int) -> Ahead | None:
        """The record's first ``budget`` events read ahead; None when its turn must read it (whatever failed here
        fails again there, where the record is retried or the event quarantined)."""
        try:
            message = str(raw_record.get("body") or "")
            message_id = str(raw_record.get("messageId", ""))
            if len(message) > LOOK_AHEAD_BODY_CHARS:
                return None
            delivery = _delivery_of(raw_record, self.vendor, message_id)
            if delivery.claim_check or delivery.resume_at:
                return None  # its body is in S3, or it starts at an event its turn decides
            reading = self.normalizer.read(message, delivery)
            ahead = Ahead(message_id, delivery, reading)
            for position in range(min(len(reading), budget)):
                if position and self._short_of_time(LOOK_AHEAD_SPARE_MS):
                    break
                step = reading.step(position)
                ahead.steps[position] = (step, None if isinstance(step, Rejected) else self._prepare(step.event))
        except Exception:
            return None
        return ahead

    def _prepare(self, event: NormalizedEvent) -> Prepared:
        """The event's item and its parts for S3; raises :class:`TooLargeError`."""
        return prepare(event, self.retention_days, self.payloads.bucket)

    def handle_record(self, record: Any) -> None:
        """Give every event of one SQS record (a Powertools ``SQSRecord``) its outcome; raise to retry it."""
        raw_record: dict[str, Any] = record.raw_event
        # None until its delivery is read: a record failed before that is not the previous record's delivery.
        self.logger.set_correlation_id(None)
        self.tally.delivery = None
        try:
            self._handle(raw_record)
        except Exception as exc:
            # Only running out of time or a dependency's failure gets here. Names the failure (an AWS error
            # code), never the data.
            receives = _receives(raw_record)
            self._failed(str(raw_record.get("messageId", "")), receives)
            extra = {"message_id": raw_record.get("messageId"), "receives": receives}
            if isinstance(exc, OutOfTimeError):
                self.logger.warning(
                    "invocation nearly out of time; the record goes back to the queue, its stored events stay",
                    extra=extra,
                )
            else:
                self.logger.exception(
                    "record failed; it will be retried, then dead-lettered",
                    extra={**extra, "error": type(exc).__name__},
                )
            raise

    def _last_receive(self, receives: int | None) -> bool:
        """A record failed at this receive is dead-lettered, not brought back."""
        return self.max_receive_count is not None and receives is not None and receives >= self.max_receive_count

    def _failed(self, message_id: str, receives: int | None) -> None:
        """Note a record SQS will bring back (or, at its last receive, dead-letter)."""
        self.tally.failed.add(message_id)
        self.tally.note("dead-lettered" if self._last_receive(receives) else "retrying", message_id)

    def write_feed(self) -> list[str]:
        """Write the feed entries of the invocation's events still owed (a page or a few); the records to retry.

        Called once every record has its outcome: an entry is written after its event, and a
        record whose entries could not be written is retried (its events are then found stored
        as its copies, and their entries owed again).
        """
        tally = self.tally
        self._about_invocation()
        self.attempts.keep(self._remaining_ms, FINAL_MS)
        self._write_pages()
        self._release_held()
        self._release_held_copies()
        retry = [message_id for message_id in tally.feed_records if message_id in tally.unwritten - tally.failed]
        for message_id in retry:
            tally.delivery = tally.deliveries.get(message_id)
            self._failed(message_id, tally.feed_records[message_id])
        return retry

    def _about_invocation(self) -> None:
        """Lines about the whole invocation carry its delivery's correlation id, none when it took several:
        the id of whichever record came last would pass them off as that delivery's."""
        found = set(self.tally.deliveries.values())
        self.logger.set_correlation_id(found.pop() if len(found) == 1 else None)

    def _write_pages(self, *, between_events: bool = False) -> None:
        """Write the feed pages owed so far; the records whose entries a page not written holds are noted.

        Between two events, a page no attempt fits for before the reserve is no failure: it and the pages after it
        are held for the reserve, and :class:`OutOfTimeError` stops the record there as it would before its event.
        """
        tally = self.tally
        pages, tally.held = [*tally.held, *tally.feed.take()], []
        for done, page in enumerate(pages):
            try:
                units = self.events.put_page(page.item)
            except (StoreError, OutOfTimeError) as exc:
                if between_events and isinstance(exc, OutOfTimeError):
                    tally.held = pages[done:]
                    raise
                tally.unwritten |= page.records
                self.logger.exception(
                    "feed entries not written; their records will be retried",
                    extra={"error": str(exc) or type(exc).__name__, "records": len(page.records)},
                )
                continue
            tally.share(units, [slot for pk in page.events for slot in tally.feed_slots.get(pk, ())])

    def _handle(self, raw_record: dict[str, Any]) -> None:
        receives = _receives(raw_record)
        # At its last receive a record handed back is dead-lettered. When records before it in this invocation
        # took its time, it goes round as a message of its own instead; when none did, its own reading took it.
        # Once out of time only one send fits in the reserve: after a rest was sent, a record goes back.
        sends_round = (
            bool(self.tally.deliveries)
            and self._last_receive(receives)
            and self.continuation is not None
            and not self.tally.continued
        )
        if not sends_round:
            # Back to the queue untouched, under no delivery's correlation id: it is read on its next receive.
            self._check_time()
        message_id = str(raw_record.get("messageId", ""))
        self._kept_in_record = {}
        ahead = self._ahead.pop(message_id, None)
        delivery = self._delivery(raw_record, message_id, receives, ahead)
        message = str(raw_record.get("body") or "")
        try:
            if sends_round and self._out_of_time():
                raise OutOfTimeError
            reading, body = (ahead.reading, message) if ahead is not None else self._read(message, delivery)
        except OutOfTimeError:
            if not sends_round:
                raise
            self._send_rest(message, replace(delivery, problems=()), message_id, delivery.resume_at)
            return
        first_slot = len(self.tally.units_per_event)
        kept: set[QuarantineKey] = set()
        # The events in the delivery's order, each mapped in its turn (unless read ahead); the rest of a delivery
        # resumes at ``resume_at``.
        start = self._start(delivery, reading, message_id)
        for position in range(start, len(reading)):
            try:
                key = self._event(reading, position, delivery, record=(message_id, receives), ahead=ahead)
            except OutOfTimeError:
                if position == start and not sends_round:
                    raise
                rest = replace(delivery, resume_at=position, resume_check=_resume_check(reading), problems=())
                self._send_rest(message, rest, message_id, position, len(reading))
                return
            if key is not None:
                kept.add(key)
        if delivery.quarantine_key:
            # A claim check's item is kept under its pointer (the message), the others under their texts.
            texts = (message, body, *reading.texts())
            sent_back = {key_for(self.vendor, delivery, text) for text in texts}
            slots = range(first_slot, len(self.tally.units_per_event))
            self._resolve(delivery.quarantine_key, kept, sent_back, slots, record=(message_id, receives))

    def _event(
        self,
        reading: Reading,
        position: int,
        delivery: Delivery,
        *,
        record: tuple[str, int | None],
        ahead: Ahead | None = None,
    ) -> QuarantineKey | None:
        """Give the event at ``position`` its outcome (the quarantine item it kept, if any), mapped now or taken from
        what its record's ``ahead`` holds; :class:`OutOfTimeError` when only the reserve is left, before it or before
        an attempt of one of its calls fits: it starts the rest."""
        if self._out_of_time():
            raise OutOfTimeError
        if self.tally.feed.pages_owed + len(self.tally.held) >= MAX_FEED_PAGES_OWED:
            self._write_pages(between_events=True)
        done = ahead.steps.pop(position, None) if ahead is not None else None
        step, prepared = done if done is not None else (reading.step(position), None)
        if isinstance(step, Rejected):
            return self._quarantine(step, delivery)
        return self._store(step, delivery, record=record, prepared=prepared)

    def _delivery(
        self, raw_record: dict[str, Any], message_id: str, receives: int | None, ahead: Ahead | None = None
    ) -> Delivery:
        """The record's delivery, read from its message attributes (or read ahead); the lines that follow carry its
        correlation id."""
        delivery = ahead.delivery if ahead is not None else _delivery_of(raw_record, self.vendor, message_id)
        self.logger.set_correlation_id(delivery.correlation_id)
        self.tally.delivery = self.tally.deliveries[message_id] = delivery.correlation_id
        if delivery.problems:
            if receives is None or receives <= 1:  # counted once, not again on each SQS redelivery
                self.tally.attribute_problems += 1
            self.logger.warning(
                "message attributes replaced",
                extra={"message_id": message_id, "problems": list(delivery.problems)},
            )
        return delivery

    def _send_rest(self, message: str, rest: Delivery, message_id: str, position: int, events: int = 0) -> None:
        """The record is done: what is left of its delivery goes back on the queue as a message of its own.

        Out of time before it was read (``events`` unknown), it is sent round whole, from where it starts.
        """
        if self.continuation is None:
            raise OutOfTimeError
        self.tally.continued = True
        self.continuation(message, rest)
        extra = {"message_id": message_id, "resume_at": position, **({"events": events} if events else {})}
        self.logger.warning(
            "invocation nearly out of time; the rest of the delivery goes back on the queue", extra=extra
        )

    def _start(self, delivery: Delivery, reading: Reading, message_id: str) -> int:
        """Where the record's events are taken up: ``resume_at``, unless it no longer names the same place."""
        start = delivery.resume_at if delivery.resume_at < len(reading) else 0
        if delivery.resume_at and not start:
            self.logger.warning(
                "resume_at past the delivery's events; it is read whole", extra={"message_id": message_id}
            )
        elif start and delivery.resume_check != _resume_check(reading):
            # The place was counted otherwise (by a consumer that took the events to quarantine first: one that
            # sent no resume_check, or one whose check hashed those events) or among another count of events: it
            # may name another event now. What was done is done again.
            start = 0
            self.logger.warning(
                "the delivery's events are counted otherwise since its rest was sent; it is read whole",
                extra={"message_id": message_id},
            )
        return start

    def _read(self, body: str, delivery: Delivery) -> tuple[Reading, str]:
        """The record's events (none mapped yet), and the body they were read from (a claim check's, from S3)."""
        if delivery.claim_check:
            # The delivery was too large (or too odd) for SQS: the message is a pointer to the body in S3.
            try:
                check = ClaimCheck.from_pointer(body, self.payloads.bucket, self.vendor)
                body = self.payloads.fetch(check)
            except ClaimCheckError as exc:  # the record's own fault: no retry makes it readable
                refused = Rejected(INVALID_CLAIM_CHECK, str(exc), body)
                return Reading(self.normalizer, delivery, refused=refused), body
        return self.normalizer.read(body, delivery), body

    def _store(
        self, mapped: Mapped, delivery: Delivery, *, record: tuple[str, int | None], prepared: Prepared | None = None
    ) -> QuarantineKey | None:
        event = mapped.event
        try:
            prepared = prepared if prepared is not None else self._prepare(event)
            result = self.events.put(prepared, event.raw)
        except TooLargeError as exc:
            return self._quarantine(mapped.rejected("too_large", str(exc)), delivery)
        except ItemRefusedError as exc:
            return self._quarantine(mapped.rejected("store_refused", str(exc)), delivery)
        self.tally.write_units += result.write_units
        kept_later, counted = None, True
        while result.later is not None:
            # The first version of the event, consumed after a later one with other content: the later
            # one is kept as the conflict (before it is written over), and this one takes its place. When
            # another copy took that place meanwhile, this one is judged against that copy instead.
            kept_later = self._quarantine(*self._later_version(result.later), units_before=result.write_units)
            again = self._take_place(prepared, event.raw, result.later)
            # The event keeps one sample of write units, the keeping of the later one in it.
            self.tally.write_units += again.write_units
            result = replace(again, write_units=self.tally.units_per_event.pop() + again.write_units)
            # Counted once: the event was counted stored when its later version was.
            counted = result.outcome is not Outcome.STORED
            if not counted:
                result = replace(result, write_units=result.write_units + self._release_copies_or_hold(event))
        if result.outcome is Outcome.CONFLICT:
            rejected = mapped.rejected("conflict", "an event with this id and other content is already stored")
            return self._quarantine(rejected, delivery, units_before=result.write_units)
        if result.stored_copy is not None:
            self.tally.feed.add(result.stored_copy, record[0])
            self.tally.feed_records.setdefault(*record)
            self.tally.feed_slots.setdefault(str(result.stored_copy["pk"]), []).append(len(self.tally.units_per_event))
        self.tally.units_per_event.append(result.write_units)
        self.tally.note(result.outcome.value, event.event_type, id_label(event.event_id), counted=counted)
        if result.outcome is Outcome.STORED:
            if counted and not delivery.quarantine_key:
                # A quarantined event sent back says nothing of the pipeline's lag: its receive is days old.
                self._lags(event.received_at, event.occurred_at if event.time_source == "vendor" else None)
            if self.shapes is not None:
                self.shapes.observe(event.source_type, mapped.document)
        return kept_later

    def _take_place(self, prepared: Prepared, raw: bytes, later: LaterVersion) -> PutResult:
        """The first version written over the later one just kept. When that fails (no attempt fits before the reserve,
        the store fails), the event has no outcome in this invocation, its record or its rest going round: the sample
        its keeping of the later one added goes, whose units stay the invocation's."""
        try:
            return self.events.take_place(prepared, raw, later)
        except BaseException:
            self.tally.units_per_event.pop()
            raise

    def _release_copies(self, event: NormalizedEvent) -> float:
        """The first version of an event, now stored in a later one's place: its copies received after it that
        were kept as conflicts while the later version stood (a retry of it, consumed before it) are let go, as
        a run in order keeps none of them. Their delete's write units."""
        units = 0.0
        for item in self.quarantine.conflicts(self.vendor, event.event_id, event.received_at):
            if same_event(self.quarantine.text(item).encode("utf-8"), event.raw):
                key = QuarantineKey(self.vendor, str(item["sk"]))
                units += self.quarantine.delete(key)
                self.tally.note("released", str(key))
        self.tally.write_units += units
        return units

    def _release_copies_or_hold(self, event: NormalizedEvent) -> float:
        """:meth:`_release_copies`, or, when no attempt of it fits before the reserve any more or DynamoDB or S3 fails
        it, the look held for the reserve (:meth:`write_feed`): the event has taken its place, and a receive again
        would find it stored as its copy and never look for them. The write units of what was let go now."""
        try:
            return self._release_copies(event)
        except _LOOK_FAILED:
            self.tally.copies.append(HeldCopies(event, len(self.tally.units_per_event), self.tally.delivery))
            return 0.0

    def _release_held_copies(self) -> None:
        """Let go of the copies kept as conflicts of the first versions held for the reserve; one not let go (no time,
        or DynamoDB failing) stays quarantined, said in the log, as a retry of its record would not look again."""
        tally = self.tally
        for held in tally.copies:
            tally.delivery = held.delivery
            try:
                tally.units_per_event[held.slot] += self._release_copies(held.event)
            except _LOOK_FAILED as exc:
                self.logger.warning(
                    "copies kept as conflicts of a first version not let go",
                    extra={"error": error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__},
                )
        tally.copies = []

    def _later_version(self, later: LaterVersion) -> tuple[Rejected, Delivery]:
        """A later version of an event, as stored, as the conflict to keep: its text, its delivery's times and ids."""
        item = later.item
        spec = self.normalizer.spec
        delivery = Delivery(
            vendor=self.vendor,
            received_at=str(item["received_at"]),
            correlation_id=str(item.get("correlation_id") or ""),
            method=spec.methods[0],
            path=spec.path,
        )
        source_type = item.get("source_type")
        rejected = Rejected(
            "conflict",
            "an event with this id and other content, received before this one, is stored in its place",
            later.raw.decode("utf-8"),
            int(item.get("index", 0)),
            key_parts(item)[1],
            str(source_type) if source_type is not None else None,
        )
        return rejected, delivery

    def _quarantine(self, rejected: Rejected, delivery: Delivery, units_before: float = 0.0) -> QuarantineKey:
        key = key_for(self.vendor, delivery, rejected.text)
        if key in self._kept_in_record:
            # The same text again in this record (two identical events of one delivery): one item, one
            # try; each event is counted, as the first of them was.
            kept = Kept(key, 0.0, first=self._kept_in_record[key])
        else:
            kept = self.quarantine.put(self.vendor, rejected, delivery, self.clock())
            self._kept_in_record[key] = kept.first
        self.tally.write_units += kept.write_units
        self.tally.units_per_event.append(units_before + kept.write_units)
        logged_id = id_label(rejected.event_id) if rejected.event_id else None
        # Counted the first time only: an SQS redelivery quarantines the same event again.
        if kept.first:
            self.tally.quarantine_reasons[rejected.reason] += 1
            if rejected.reason == "conflict":
                self.tally.conflicts += 1
        self.tally.note(Outcome.QUARANTINED.value, rejected.reason, logged_id or "-", str(key), counted=kept.first)
        self.logger.warning(
            "event quarantined",
            extra={
                "vendor": self.vendor,
                "reason": rejected.reason,
                "detail": rejected.message,
                "event_id": logged_id,
                "key": str(key),
            },
        )
        return key

    def _resolve(
        self,
        key_text: str,
        kept: set[QuarantineKey],
        sent_back: set[QuarantineKey],
        slots: range,
        *,
        record: tuple[str, int | None],
    ) -> None:
        """A quarantined event sent back: forget its quarantine item once it is stored (or a duplicate).

        Only the item this record's text was kept under (``sent_back``): a key naming another
        event's item releases nothing. The delete's write units are the record's events' (``slots``).
        When no attempt of it fits before the reserve any more, the record's events are done all the same: the
        item is let go in the reserve (:meth:`write_feed`).
        """
        try:
            key = QuarantineKey.parse(key_text)
        except ValueError:
            return
        if key in sent_back and key not in kept:
            try:
                units = self.quarantine.delete(key)
            except OutOfTimeError:
                self.tally.releases.append(Release(key, slots, *record))
                return
            self.tally.share(units, slots)
            self.tally.note("released", str(key))

    def _release_held(self) -> None:
        """Let go of the quarantine items held for the reserve; a record whose item is not let go is retried (its
        event is then found stored, and its item let go)."""
        tally = self.tally
        for release in tally.releases:
            tally.delivery = tally.deliveries.get(release.message_id)
            try:
                units = self.quarantine.delete(release.key)
            except (StoreError, OutOfTimeError) as exc:
                tally.unwritten.add(release.message_id)
                tally.feed_records.setdefault(release.message_id, release.receives)
                self.logger.warning(
                    "quarantine item not let go; its record will be retried",
                    extra={"error": str(exc) or type(exc).__name__, "message_id": release.message_id},
                )
                continue
            tally.share(units, release.slots)
            tally.note("released", str(release.key))
        tally.releases = []

    def _lags(self, received_at: str, occurred_at: str | None) -> None:
        """One sample per stored event, whole milliseconds (the widgets' percentiles are over events)."""
        now_ms = self.clock() * 1000
        received = from_iso(received_at)
        if received is not None:
            self.tally.ingest_lags_ms.append(round(max(0.0, now_ms - received.timestamp() * 1000)))
        occurred = from_iso(occurred_at)
        if occurred is not None:
            self.tally.event_lags_ms.append(round(max(0.0, now_ms - occurred.timestamp() * 1000)))

    def finish(self) -> None:
        """Report the invocation: one set of metrics and the outcomes, a line per 200 (for ``intake tail``)."""
        tally = self.tally
        self._ahead = {}  # what a record out of time left unread
        self._about_invocation()
        self.attempts.keep(self._remaining_ms, FINAL_MS)
        if self.shapes is not None:
            # New shapes are written now: their units are the invocation's, shared by its events.
            tally.share(self.shapes.flush(self.metrics), range(len(tally.units_per_event)))
        self._counts(tally)
        samples(self.metrics, Metric.INGEST_TO_STORE_LAG, MetricUnit.Milliseconds, tally.ingest_lags_ms)
        samples(self.metrics, Metric.END_TO_END_LAG, MetricUnit.Milliseconds, tally.event_lags_ms)
        for reason, quarantined in tally.quarantine_reasons.items():
            count_by(self.metrics, Metric.QUARANTINED_BY_REASON, "reason", reason, quarantined)
        for start in range(0, len(tally.lines), MAX_OUTCOMES_PER_LINE):
            lines = tally.lines[start : start + MAX_OUTCOMES_PER_LINE]
            # A line of one delivery's outcomes carries its correlation id; any other line names the deliveries.
            ids = list(dict.fromkeys(delivery for delivery, _ in lines))
            only = ids[0] if len(ids) == 1 else None
            extra: dict[str, Any] = {"vendor": self.vendor, "outcomes": [entry for _, entry in lines]}
            if only is None and any(ids):
                extra["correlation_ids"] = [delivery for delivery in ids if delivery is not None]
            self.logger.set_correlation_id(only)
            self.logger.info("outcomes", extra=extra)

    def _counts(self, tally: Tally) -> None:
        """The invocation's counters, each written only when it is not zero."""
        counters = {
            Metric.STORED: tally.outcomes[Outcome.STORED.value],
            Metric.DUPLICATES: tally.outcomes[Outcome.DUPLICATE.value],
            Metric.CONFLICTS: tally.conflicts,
            Metric.QUARANTINED: tally.outcomes[Outcome.QUARANTINED.value],
            Metric.RECORDS_RETRIED: tally.outcomes["retrying"] + tally.outcomes["dead-lettered"],
            Metric.WRITE_UNITS: tally.write_units,
            Metric.ATTRIBUTE_PROBLEMS: tally.attribute_problems,
        }
        for metric, value in counters.items():
            if value:
                count(self.metrics, metric, value)
        samples(self.metrics, Metric.WRITE_UNITS_PER_EVENT, MetricUnit.NoUnit, tally.units_per_event)


def _resume_check(reading: Reading) -> str:
    """How a rest's place is counted, as a short hash (``resume_check``): among the delivery's events, in its order.

    A place so counted names the same event however the events are judged (a mapping changed since the rest
    was sent). The check tells it from a place counted the ones to quarantine first (an earlier consumer's,
    which a mapping changed since would move) or among another count of events: such a rest is read whole.
    """
    return hashlib.sha256(f"in order:{len(reading)}".encode()).hexdigest()[:RESUME_CHECK_CHARS]


def _delivery_of(raw_record: dict[str, Any], vendor: str, message_id: str) -> Delivery:
    """The delivery a queue record holds, read from its message attributes."""
    return Delivery.from_message_attributes(
        raw_record.get("messageAttributes") or {},
        vendor=vendor,
        sent_timestamp_ms=(raw_record.get("attributes") or {}).get("SentTimestamp"),
        message_id=message_id,
    )


def _receives(raw_record: dict[str, Any]) -> int | None:
    """How many times SQS has handed out the record (``ApproximateReceiveCount``), if it says."""
    try:
        return int(str((raw_record.get("attributes") or {}).get("ApproximateReceiveCount")))
    except ValueError:
        return None
