"""What every vendor's ingest contract provides: authentication, the body check, the answer.

A contract takes its vendor's facts (key, path, batch field, id and required fields) from the
vendor's :class:`~webhook_intake.registry.VendorSpec`; each vendor module overrides only what
differs from the defaults here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from webhook_intake.auth import is_text, matches_any, secret_list
from webhook_intake.http import Response
from webhook_intake.text import OUT_OF_RANGE_MESSAGE, whole_number

if TYPE_CHECKING:
    from collections.abc import Iterator

    from webhook_intake.http import Request
    from webhook_intake.registry import VendorSpec
    from webhook_intake.replay import Claim

_LINE_BREAK = re.compile(r"[\r\n]")

BYTE_ORDER_MARK = "\ufeff".encode()
"""No part of a body's JSON text (RFC 8259 §8.1 lets a reader ignore it): a body led by one is read without it."""
MAX_ID_CHARS = 512
"""Longer ids are refused: an event's key must stay well inside DynamoDB's key limits."""
MAX_BATCH_EVENTS = 10_000
"""The most elements a batch may hold (vendors send tens): judging and answering each costs memory
and time, and a body of megabytes of bare elements would outgrow the function's (a 5xx)."""


class RejectedError(Exception):
    """A delivery refused with a 4xx, a short machine-readable code and a human message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def envelope_error(message: str) -> RejectedError:
    """A 400 for a JSON body that lacks the vendor's envelope."""
    return RejectedError(400, "invalid_envelope", message)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event will not be stored: a short machine-readable type and a human description."""

    error_type: str
    error_description: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The door's judgement of one event of a delivery: taken (``refusal`` None) or why not."""

    index: int
    event_id: str | None
    refusal: Refusal | None = None

    @property
    def usable(self) -> bool:
        """Will be stored (or found to be a duplicate)."""
        return self.refusal is None


def id_text(value: Any) -> str | None:
    """An event id as text: a non-empty string or a whole number, else None (booleans are not ids).

    A whole number is its digits however it is written (``12345``, ``12345.0``, ``1.2345e4``), as
    canonical JSON writes it: a vendor that re-serializes a retry keeps its event's id.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        whole = whole_number(value)
        return str(whole) if whole is not None else None
    if isinstance(value, str) and value.strip():
        return value
    return None


def unusable(event: dict[str, Any], name: str, kind: str) -> Refusal:
    """Why ``event[name]`` is no id text: missing (or null, or blank), or a value of another kind."""
    value = event.get(name)
    if value is None or isinstance(value, str):
        return Refusal(f"missing_{kind}", f"'{name}' is missing or empty")
    # There, but a fraction, a boolean, an object or a list: "missing" would send the reader looking for it.
    return Refusal(f"invalid_{kind}", f"'{name}' is not a string or a whole number")


class HoldsOutOfRange(dict[str, Any]):
    """An event of a batch holding a number no float or int can hold (:class:`webhook_intake.text.OutOfRange`)."""


def out_of_range_verdict(spec: VendorSpec, index: int, event: Any) -> Verdict:
    """An event holding a number out of range: refused on its own, named by its id when it has one."""
    event_id = id_text(event.get(spec.id_field)) if isinstance(event, dict) else None
    return Verdict(index, event_id, Refusal("invalid_event", f"event {OUT_OF_RANGE_MESSAGE}"))


def set_apart_out_of_range(spec: VendorSpec, document: Any, text: str) -> Any:
    """A body read with a number out of range in it: each event of a batch holding one is marked to be refused
    alone (its siblings are taken); a 400 when the number is in the body of a single event, or in a batch's
    envelope, where there is no event to refuse alone.

    Judged on the text, as the consumer splits it: a number under a key the body names twice is in the text
    the consumer keeps, though the value read keeps only the last."""
    field = spec.batch_field
    events = document.get(field) if field is not None and isinstance(document, dict) else None
    if field is None or not isinstance(events, list):
        raise RejectedError(400, "invalid_json", f"body {OUT_OF_RANGE_MESSAGE}")
    if len(events) > MAX_BATCH_EVENTS:
        return document  # refused whole for its count (examine_body), before its events are read again
    # Imported here: a body holding such a number is rare, and the ingest functions' cold start reads no more.
    from webhook_intake.consumer.splitting import BodyError, split  # noqa: PLC0415

    try:
        _, elements = split(text, field)
    except BodyError as exc:
        raise RejectedError(400, exc.reason, exc.message) from None
    marked = {element.index for element in elements if element.out_of_range}
    document[field] = [
        HoldsOutOfRange(event if isinstance(event, dict) else {}) if index in marked else event
        for index, event in enumerate(events)
    ]
    return document


def judge_event(spec: VendorSpec, index: int, event: Any) -> Verdict:
    """Whether one event can be stored: a JSON object with its vendor's id and required fields."""
    if isinstance(event, HoldsOutOfRange):
        return out_of_range_verdict(spec, index, event)
    if not isinstance(event, dict):
        return Verdict(index, None, Refusal("invalid_event", "event is not a JSON object"))
    event_id = id_text(event.get(spec.id_field))
    if event_id is None:
        return Verdict(index, None, unusable(event, spec.id_field, "id"))
    if len(event_id) > MAX_ID_CHARS:
        # Named still, so the vendor can tell which event its failure is (Viafoura's results echo it).
        return Verdict(index, event_id, Refusal("invalid_id", f"'{spec.id_field}' is over {MAX_ID_CHARS} characters"))
    for name in spec.required:
        if id_text(event.get(name)) is None:
            return Verdict(index, event_id, unusable(event, name, "field"))
    return Verdict(index, event_id)


def require_object(document: Any) -> dict[str, Any]:
    """The body as a JSON object, or a 400."""
    if not isinstance(document, dict):
        raise envelope_error("body must be a JSON object")
    return document


def examine_body(spec: VendorSpec, document: Any) -> list[Verdict]:
    """A verdict per event of the body; a 400 when the body holds no event that can be stored.

    One element that cannot be stored never costs its siblings: a batch is refused only
    when none of its events is usable.
    """
    body = require_object(document)
    if spec.batch_field is None:
        verdict = judge_event(spec, 0, body)
        if verdict.refusal is not None:
            raise envelope_error(verdict.refusal.error_description)
        return [verdict]
    events = body.get(spec.batch_field)
    if not isinstance(events, list):
        raise envelope_error(f"'{spec.batch_field}' must be an array")
    if len(events) > MAX_BATCH_EVENTS:
        message = f"{len(events)} events in one delivery; at most {MAX_BATCH_EVENTS} are taken: send fewer"
        raise RejectedError(413, "too_many_events", message)
    verdicts = [judge_event(spec, index, event) for index, event in enumerate(events)]
    if not any(verdict.usable for verdict in verdicts):
        raise envelope_error(f"'{spec.batch_field}' holds no event that can be stored")
    return verdicts


@dataclass(frozen=True)
class Contract:
    """A vendor's ingest contract. Subclasses override what differs from the defaults."""

    spec: VendorSpec
    auth_failure_status: int = 401
    deadline_seconds: float = 8.0
    """How long the ingest path may take before answering: inside the vendor's own timeout when the vendor retries
    (a 5xx comes before it gives up); for Viafoura engagement, which never retries, about as long as API Gateway
    waits for the function."""
    success_status: int = 200
    credential_fields: ClassVar[tuple[str, ...]] = ()
    """The secret's fields that hold a credential, or a list of them all accepted at once: a rotation
    lists the new one beside the old until the vendor uses it (README, "Configure each vendor's secret")."""

    @property
    def vendor(self) -> str:
        """The vendor key."""
        return self.spec.key

    @property
    def path(self) -> str:
        """The webhook route's path."""
        return self.spec.path

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        """True when the request carries a valid credential for ``secret``."""
        raise NotImplementedError

    def check_route(self, request: Request) -> None:
        """Refuse a request the route should not take (raises :class:`RejectedError`)."""

    def single_use(self, request: Request) -> Claim | None:
        """The credential of an authenticated request that must not be replayed elsewhere, if any."""
        return None

    def is_ping(self, document: Any) -> bool:
        """A vendor's subscription check, answered 2xx and never enqueued (no vendor sends one by default)."""
        return False

    def is_bodiless_ping(self, request: Request) -> bool:
        """An authenticated request with no body that is a subscription check (otherwise it is not JSON: 400)."""
        return False

    def examine(self, request: Request, document: Any) -> list[Verdict]:
        """A verdict per event; raises :class:`RejectedError` when nothing in the body can be stored."""
        return examine_body(self.spec, document)

    def accepted(self, request: Request, document: Any, verdicts: list[Verdict]) -> Response:
        """The answer once the delivery is on the queue."""
        return Response(self.success_status, {"accepted": True})

    def correlation_id(self, request: Request) -> str:
        """The id that follows this delivery through logs: the vendor's, else API Gateway's."""
        return request.header(self.spec.delivery_header) or request.request_id

    def refusal(self, request: Request) -> Response:
        """The answer to a missing or wrong credential on ``request``."""
        code = "forbidden" if self.auth_failure_status == 403 else "unauthorized"
        return Response(self.auth_failure_status, {"error": code, "message": "authentication failed"})

    def secret_problems(self, secret: dict[str, Any]) -> list[str]:
        """Why ``secret`` cannot authenticate anything, rule by rule (never its values); empty when usable."""
        return []

    def secret_advice(self, secret: dict[str, Any]) -> list[str]:
        """Values that work but are not what the vendor documents (logged, not counted as a problem)."""
        return []


@dataclass(frozen=True)
class HeaderTokenContract(Contract):
    """Authentication by a header equal to one of the secret's ``tokens``."""

    header: str = "authorization"
    token_field: ClassVar[str] = "tokens"  # noqa: S105 (the secret field's name)
    credential_fields: ClassVar[tuple[str, ...]] = (token_field,)

    def accepted_tokens(self, secret: dict[str, Any]) -> list[str]:
        """The tokens that authenticate a delivery (several at once during a rotation)."""
        return secret_list(secret.get(self.token_field))

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        return matches_any(request.header(self.header), self.accepted_tokens(secret))

    def secret_problems(self, secret: dict[str, Any]) -> list[str]:
        return token_list_problems(secret, self.token_field, header=True)


def token_list_problems(secret: dict[str, Any], name: str, *, header: bool = False) -> list[str]:
    """What is wrong with a secret's list of accepted values (``tokens``, ``api_secret``).

    With ``header``, the values are compared with a request header as it arrives: HTTP trims white
    space around a header value and carries no line break in it, so a value pasted with either can
    never match.
    """
    value = secret.get(name)
    if value is None:
        return [f"'{name}' is missing"]
    problems = [
        f"'{name}' entry {position} is not a non-empty string"
        if not isinstance(item, str) or not item
        else f"'{name}' entry {position} is not valid Unicode (a lone surrogate)"
        for position, item in secret_entries(value)
        if not isinstance(item, str) or not item or not is_text(item)
    ]
    if header:
        problems += [
            f"'{name}' entry {position} begins or ends with white space or holds a line break:"
            " no header value carries it"
            for position, item in secret_entries(value)
            if isinstance(item, str) and item and (item != item.strip() or _LINE_BREAK.search(item))
        ]
    if not secret_list(value):
        problems.append(f"'{name}' holds no usable value")
    return problems


def secret_entries(value: object) -> Iterator[tuple[int, object]]:
    """A secret field's entries numbered from 1: each item of a list, else the one value itself."""
    return enumerate(value if isinstance(value, list) else [value], 1)
