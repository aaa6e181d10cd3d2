"""What every vendor's normalizer shares: the split into events, per-event verdicts, the time model.

A delivery body is split into its events once (a :class:`Reading`); each event is then mapped
when its turn comes, or *rejected* with a short reason and its exact text, to be quarantined
(:meth:`VendorNormalizer.normalize` gives them all at once, a :class:`Normalized`). Nothing is
retried for being what it is: a rejection is decided once, from the payload alone.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PrivateAttr, ValidationError

from webhook_intake.consumer.models import NormalizedEvent, blank
from webhook_intake.consumer.splitting import BodyError, Element, split
from webhook_intake.ingest.contract import Verdict, id_text, judge_event, out_of_range_verdict
from webhook_intake.taxonomy import event_type
from webhook_intake.text import canonical_json
from webhook_intake.times import from_iso, iso_millis, judge

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from webhook_intake.delivery import Delivery
    from webhook_intake.registry import VendorSpec

_LENIENT_ROUNDS = 4


class VendorModel(BaseModel):
    """Base of every vendor payload model: unknown fields are kept, ids may arrive as numbers."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)

    _dropped: tuple[str, ...] = PrivateAttr(default=())

    @property
    def dropped(self) -> tuple[str, ...]:
        """The fields :func:`validate_leniently` left out for their type (``mentions.*.id``), sorted."""
        return self._dropped


V = TypeVar("V", bound=VendorModel)


def _whole_number_as_digits(value: Any) -> Any:
    """An id sent as a float that is a whole number (``12345.0``, ``1.2345e4``) as its digits, read by ingest's
    :func:`id_text` (``coerce_numbers_to_str`` would write ``12345.0``, another id than a retry's ``12345``); any
    other float as it is, for the model to refuse."""
    if isinstance(value, float):
        return id_text(value) or value
    return value


def _blank_as_none(value: Any) -> Any:
    """A text of white space alone (or empty) as none: no name, so the field a mapping falls back to is taken."""
    return None if blank(value) else value


def _id_or_none(value: Any) -> Any:
    """An id as :func:`_whole_number_as_digits` reads it; an empty one, or one of white space alone, as none (ingest's
    :func:`id_text` rule), so that a mapping falling back to another field when one is absent falls back for it too."""
    return _whole_number_as_digits(_blank_as_none(value))


ID_DIGITS = BeforeValidator(_whole_number_as_digits)
"""For an event's id field (``Annotated[str, ID_DIGITS]``): a whole number is its digits however it is written."""
IdText = Annotated[str | None, BeforeValidator(_id_or_none)]
"""Any other id a vendor sends (a user's, a comment's, a section's): the same digits however the number is written,
so reads by content, container, actor or recipient find it by the id the vendor means; a blank one is none (a
container id sent as ``"  "`` leaves the topic or channel the event also names as its container)."""
NameText = Annotated[str | None, BeforeValidator(_blank_as_none)]
"""A person's name a vendor sends: a blank one is none (an OpenWeb ``display_name`` of ``" "`` leaves the
``user_name``, a FastComments comment with no user id and a blank ``commenterName`` names no author)."""


class MappingError(ValueError):
    """An event whose fields cannot make a normalized event (the message never holds payload values)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event of a delivery that will not be stored, and why (no payload values in ``message``)."""

    reason: str
    message: str
    text: str
    """The event's exact text (the whole body when the body itself could not be read)."""
    index: int | None = None
    event_id: str | None = None
    source_type: str | None = None
    envelope: str | None = None
    """The rest of a batch body (without its events), so the event can be sent again on its own."""


@dataclass(frozen=True, slots=True)
class Mapped:
    """A normalized event and where it sits in its delivery (to quarantine it later if need be)."""

    event: NormalizedEvent
    index: int
    envelope: str | None = None
    document: Any = field(default=None, repr=False, compare=False)
    """The event as parsed when the body was split (``event.raw`` as JSON; read, never changed)."""

    def rejected(self, reason: str, message: str) -> Rejected:
        """This event, quarantined after all (a conflict, a refusal by the store)."""
        return Rejected(
            reason,
            message,
            self.event.raw.decode("utf-8"),
            self.index,
            self.event.event_id,
            self.event.source_type,
            self.envelope,
        )


@dataclass
class Normalized:
    """The events of one queue record, and each event of it that will not be stored."""

    mapped: list[Mapped] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def events(self) -> list[NormalizedEvent]:
        """The normalized events, in delivery order."""
        return [mapped.event for mapped in self.mapped]


@dataclass(frozen=True, slots=True)
class Reading:
    """A delivery body split into its events, each normalized only when it is asked for (:meth:`step`).

    Splitting reads the body once. Mapping its events is the costly part of a large delivery (a
    model and a normalized event each: seconds for ten thousand), so it is done one event at a
    time, in the delivery's order, and a consumer short of time stops between two events.
    """

    normalizer: VendorNormalizer
    delivery: Delivery
    document: Any = None
    elements: Sequence[Element] = ()
    envelope: str | None = None
    """The rest of a batch body (without its events), for an event quarantined."""
    refused: Rejected | None = None
    """The whole body, when it cannot be split into events: then the record's one step."""

    def __len__(self) -> int:
        """The record's steps: its events, or its body refused."""
        return 1 if self.refused is not None else len(self.elements)

    def step(self, position: int) -> Mapped | Rejected:
        """The event at ``position`` in the delivery, normalized now or rejected with its reason."""
        if self.refused is not None:
            return self.refused
        return self.normalizer.one(self.elements[position], self.document, self.delivery, self.envelope)

    def texts(self) -> list[str]:
        """The exact text of every event of the record, read or not (the body's, when it was refused)."""
        if self.refused is not None:
            return [self.refused.text]
        return [element.text for element in self.elements]


_MAPPING_FAULTS = (ArithmeticError, AttributeError, LookupError, RecursionError, TypeError, ValueError)
"""What a vendor mapping can raise on an event it did not foresee (a date beyond what UTC can
write, say): never a dependency's failure, since mapping reads nothing but the event."""


def canonical_hash(document: Any) -> str:
    """A hash of a JSON document that ignores key order and white space."""
    return hashlib.sha256(canonical_json(document).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def type_text(value: Any) -> str | None:
    """A vendor's type as it sent it, when it is plain readable text (no blank, no control or format
    character, no lone surrogate); None for anything else, which is then not kept."""
    if isinstance(value, str) and value.strip() and value.isprintable():
        return value
    return None


def describe(exc: ValidationError) -> str:
    """A validation failure without the input values (they may hold comment text or e-mail)."""
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()]
    return f"{exc.title}: " + "; ".join(parts)


_Copies = dict[int, Any]
"""The lists and objects of a document being cleaned that are its own copies, by ``id`` (held, so no id is reused)."""


def _drop(document: Any, loc: tuple[Any, ...], remove: bool, copies: _Copies) -> bool:
    """Set the value at ``loc`` to None (or remove it); False when ``loc`` is not in ``document``."""
    parent = document
    for step in loc[:-1]:
        try:
            child = parent[step]
        except (KeyError, IndexError, TypeError):
            return False
        if isinstance(child, dict | list) and id(child) not in copies:
            # Copied on the way down, the caller's document stays as it was (no deep copy of
            # all of it, which a deeply nested value elsewhere would make recurse too deep).
            # Once each: a list of 100,000 entries with a field to leave out in each would
            # otherwise be copied once per entry, minutes of an invocation's time.
            child = child.copy()
            copies[id(child)] = child
            parent[step] = child
        parent = child
    last = loc[-1] if loc else None
    if isinstance(parent, dict) and last in parent:
        if remove:
            del parent[last]
        else:
            parent[last] = None
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        if remove:
            del parent[last]
        else:
            parent[last] = None
        return True
    return False


def _is_null(document: Any, loc: tuple[Any, ...]) -> bool:
    """Whether the value at ``loc`` is a JSON null (False when ``loc`` is not in ``document``)."""
    value = document
    for step in loc:
        if isinstance(value, dict | list) and (step in value if isinstance(value, dict) else _is_place(value, step)):
            value = value[step]
        else:
            return False
    return value is None


def _is_place(values: list[Any], step: Any) -> bool:
    return isinstance(step, int) and 0 <= step < len(values)


def _leave_out(document: Any, loc: tuple[Any, ...], seen: set[tuple[Any, ...]], copies: _Copies) -> bool:
    """Leave out the value at ``loc`` (``seen`` gathers what was left out for its type); False if none was."""
    if loc not in seen and _is_null(document, loc):
        # A null where a list or an object was expected is the field absent: nothing of it is left out.
        return _drop(document, loc, remove=True, copies=copies)
    # A union member's name may end the path: drop the deepest part that exists.
    for end in range(len(loc), 0, -1):
        if _drop(document, loc[:end], remove=loc[:end] in seen, copies=copies):
            seen.add(loc[:end])
            return True
    return False


_DROPPED_MAX = 20
"""Dropped fields named on an event (a list of a thousand malformed entries is one name: ``mentions.*``)."""


def _dropped_name(loc: tuple[Any, ...]) -> str:
    """``mentions.*.id`` for ``("mentions", 3, "id")``: a list's entries share a name."""
    return ".".join("*" if isinstance(step, int) else str(step)[:64] for step in loc[:4])


def _loc_order(loc: tuple[Any, ...]) -> tuple[tuple[int, int, str], ...]:
    """Orders error locations: list places by number, names by text (no int is compared with a str)."""
    return tuple((0, step, "") if isinstance(step, int) else (1, 0, str(step)) for step in loc)


def validate_leniently(model: type[V], data: dict[str, Any], required: frozenset[str]) -> V:
    """``model`` from ``data``; a field of the wrong type is dropped, unless it is one the event cannot lack.

    The fast path is one validation. A vendor field of an unexpected type (an id sent as an
    object, a time as text) costs that field, never the event: the raw event keeps it, and the
    result's ``dropped`` names it (the normalized event and its item carry the names).
    """
    try:
        return model.model_validate(data)
    except ValidationError as first:
        failure = first
    cleaned = dict(data)
    seen: set[tuple[Any, ...]] = set()
    copies: _Copies = {}
    for _ in range(_LENIENT_ROUNDS):
        changed = False
        # The last entry of a list first: removing one leaves the places of those before it as they were.
        for loc in sorted((tuple(error["loc"]) for error in failure.errors()), key=_loc_order, reverse=True):
            if not loc or loc[0] in required:
                raise failure
            changed = _leave_out(cleaned, loc, seen, copies) or changed
        if not changed:
            raise failure
        try:
            result = model.model_validate(cleaned)
        except ValidationError as again:
            failure = again
        else:
            result._dropped = tuple(sorted({_dropped_name(loc) for loc in seen}))[:_DROPPED_MAX]
            return result
    raise failure


class VendorNormalizer(ABC):
    """Splits a raw body into vendor events and maps each to a :class:`NormalizedEvent`."""

    spec: VendorSpec
    type_map: dict[str, str]

    def read(self, body: str, delivery: Delivery) -> Reading:
        """``body`` split into its events, none of them mapped yet (a body that cannot be split: refused)."""
        try:
            document, elements = split(body, self.spec.batch_field)
        except BodyError as exc:
            return Reading(self, delivery, refused=Rejected(exc.reason, exc.message, body))
        return Reading(self, delivery, document, elements, self._envelope(document))

    def normalize(self, body: str, delivery: Delivery) -> Normalized:
        """Every event in ``body``, each normalized or rejected with its reason."""
        reading = self.read(body, delivery)
        result = Normalized()
        for position in range(len(reading)):
            step = reading.step(position)
            if isinstance(step, Rejected):
                result.rejected.append(step)
            else:
                result.mapped.append(step)
        return result

    def _envelope(self, document: Any) -> str | None:
        field_name = self.spec.batch_field
        if field_name is None or not isinstance(document, dict):
            return None
        rest = {key: value for key, value in document.items() if key != field_name}
        return json.dumps(rest, separators=(",", ":"), ensure_ascii=False)

    def one(self, element: Element, document: Any, delivery: Delivery, envelope: str | None) -> Mapped | Rejected:
        """One event of a delivery, mapped, or rejected with its reason."""
        verdict = (
            out_of_range_verdict(self.spec, element.index, element.value)
            if element.out_of_range
            else self.judge(element, delivery)
        )
        if verdict.refusal is not None:
            return Rejected(
                verdict.refusal.error_type,
                verdict.refusal.error_description,
                element.text,
                element.index,
                verdict.event_id,
                self._sent_type(element, delivery),
                envelope,
            )
        try:
            return Mapped(self.to_event(element, document, delivery), element.index, envelope, element.value)
        except ValidationError as exc:
            message = describe(exc)
        except MappingError as exc:
            message = str(exc)
        except _MAPPING_FAULTS as exc:
            # Mapping is pure: what fails on this event fails on every try, so it is poison, decided
            # now (named by the exception's class: its message may hold payload values).
            message = f"the event could not be mapped ({type(exc).__name__})"
        return Rejected(
            "invalid_event",
            message,
            element.text,
            element.index,
            verdict.event_id,
            self._sent_type(element, delivery),
            envelope,
        )

    def _sent_type(self, element: Element, delivery: Delivery) -> str | None:
        """The vendor's type of an event refused before it was mapped, kept so the operator knows which
        mapping it concerns: only plain readable text (:func:`type_text`), never any other payload value."""
        if not isinstance(element.value, dict):
            return None
        try:
            return type_text(self.sent_type(element.value, delivery))
        except _MAPPING_FAULTS:
            return None

    def sent_type(self, event: dict[str, Any], delivery: Delivery) -> Any:
        """Where the vendor names an event's type, read from the event as sent (or its delivery), before
        any validation: what a mapped event's ``source_type`` would be. None when it names none."""
        return None

    def judge(self, element: Element, delivery: Delivery) -> Verdict:
        """Whether the event can be stored, as the ingest function judged it (a vendor may read it first)."""
        return judge_event(self.spec, element.index, element.value)

    def event_type(self, source_type: str) -> str:
        """The normalized type for a vendor type (``other`` when unmapped)."""
        return event_type(self.type_map, source_type)

    @abstractmethod
    def to_event(self, element: Element, document: Any, delivery: Delivery) -> NormalizedEvent:
        """Validate one vendor event and map it (raises ``ValidationError`` or :class:`MappingError`)."""

    def event(
        self,
        element: Element,
        delivery: Delivery,
        *,
        event_id: str,
        source_type: str,
        vendor_time: datetime | None,
        time_present: bool,
        model: VendorModel,
        mapped_type: str | None = None,
        **fields: Any,
    ) -> NormalizedEvent:
        """The normalized event, with the one time model: the vendor's event time if trusted, else received_at.

        ``model`` is the vendor event as validated: the fields it left out for their type are named.
        """
        received = from_iso(delivery.received_at)
        if received is None:  # the delivery's attributes are checked before this; never reached in practice
            raise MappingError("the delivery has no receive time")
        # A test delivery (``x-intake-test``), or an event the vendor marks as a test itself.
        test = bool(fields.pop("test", False)) or delivery.test
        rejected = judge(vendor_time, received, present=time_present)
        trusted = vendor_time is not None and rejected is None
        return NormalizedEvent(
            vendor=self.spec.key,
            event_id=event_id,
            event_type=mapped_type or self.event_type(source_type),
            source_type=source_type,
            occurred_at=iso_millis(vendor_time) if trusted and vendor_time is not None else delivery.received_at,
            received_at=delivery.received_at,
            index=element.index + delivery.index_offset,
            time_source="vendor" if trusted else "received",
            time_rejected=rejected.value if rejected is not None else None,
            test=test,
            correlation_id=delivery.correlation_id or None,
            delivery_id=self.spec.delivery_id(delivery.headers),
            raw=element.text.encode("utf-8"),
            dropped=model.dropped,
            **fields,
        )
