"""What travels with a raw body on the queue, as SQS message attributes. Standard library only.

The SQS message body is the vendor's raw body, byte for byte (a leading byte order mark aside: no
part of the JSON, it is dropped at ingest), so that a message that ends in
the dead-letter queue is exactly what the vendor sent. Everything else about the delivery
(who, when, which route, the headers that matter) rides in message attributes, which the
consumer checks like any other input (docs/reliability.md, the row "message attributes missing or malformed").
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from webhook_intake import registry
from webhook_intake.registry import REQUEST_ID_HEADER
from webhook_intake.text import clean_text
from webhook_intake.times import from_epoch, from_iso, iso_millis

if TYPE_CHECKING:
    from webhook_intake.registry import VendorSpec

TEST_HEADER = "x-intake-test"
"""Set by ``intake send``: the delivery is a test, stored but never read as a real event."""
KEPT_HEADERS = ("content-type", REQUEST_ID_HEADER, "user-agent", TEST_HEADER)
"""Headers every delivery keeps (a vendor's spec names its own, :func:`kept_header_names`).
Never authorization, tokens or signatures."""
_MAX_HEADER_CHARS = 256
_MAX_PATH_PARAMETERS = 8
_PLACE = re.compile(r"[1-9][0-9]{0,8}")
"""A place among a body's events (resume_at, index_offset): a positive whole number, at most nine digits."""
MAX_PLACE = 999_999_999
"""The largest place :data:`_PLACE` reads."""
RESUME_CHECK_CHARS = 16
"""``resume_check``: this many hex digits (:attr:`Delivery.resume_check`)."""
_RESUME_CHECK = re.compile(rf"[0-9a-f]{{{RESUME_CHECK_CHARS}}}")
RECEIVED_AT_SKEW = timedelta(seconds=60)
"""How much later than SQS's sent timestamp a message's ``received_at`` may read (two clocks)."""
MAX_CORRELATION_ID_CHARS = 128


# Printable ASCII but the space and "@": no sentence, no e-mail address (a correlation id kept before as
# printable ASCII stays as it was unless it held one of those).
_ID = re.compile(rf"[\x21-\x3f\x41-\x7e]{{1,{MAX_CORRELATION_ID_CHARS}}}")


def id_label(value: str) -> str:
    """An id as a log line may carry it: itself when made of id characters (printable ASCII but
    the space and ``@``, at most 128), else ``sha256:<hex>`` of it. A vendor can put anything in
    an id field, an e-mail address or a sentence among it, and logs never hold those.
    """
    if _ID.fullmatch(value):
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def correlation_id_of(value: str) -> str:
    """A correlation id safe to log and to carry: the vendor's value when it is an id, else its hash."""
    text = value.strip()
    return text if _ID.fullmatch(text) else id_label(value)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One accepted HTTP delivery, as the ingest function saw it."""

    vendor: str
    received_at: str
    correlation_id: str
    method: str
    path: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    claim_check: str | None = None
    """``s3://…`` when the body waits in S3 and the message holds a pointer (set by the queue sender)."""
    quarantine_key: str | None = None
    """Set on a quarantined event sent back for another try: the body is that one event."""
    resume_at: int = 0
    """Set on the rest of a delivery the consumer ran out of time for: its events before this place in the
    delivery have their outcomes (``consumer/service.py``)."""
    resume_check: str | None = None
    """Set with ``resume_at``: how its place is counted (a hash): among the delivery's events in its order,
    so that it names the same event however they are judged (a mapping fixed meanwhile). A place counted
    otherwise (an earlier consumer's, the events to quarantine first, sent with no check or another) or among
    another number of events may name another event: that rest is read whole."""
    index_offset: int = 0
    """Set on a quarantined event sent back alone: its place in the batch it came in, which it keeps
    (the order of a comment's events dated alike, docs/data-model.md)."""
    problems: tuple[str, ...] = ()
    """Message attributes that were missing or malformed, and the fallback used for each."""

    @property
    def test(self) -> bool:
        """Marked as a test by its sender."""
        return self.headers.get(TEST_HEADER, "").lower() in {"1", "true", "yes"}

    def route(self) -> dict[str, Any]:
        """The ``route`` attribute's value."""
        return {
            "method": self.method,
            "path": self.path,
            "path_parameters": self.path_parameters,
            "headers": self.headers,
        }

    def to_message_attributes(self) -> dict[str, dict[str, str]]:
        """SQS ``MessageAttributes`` (at most nine of the ten SQS allows)."""
        attributes = {
            "vendor": {"DataType": "String", "StringValue": self.vendor},
            "received_at": {"DataType": "String", "StringValue": self.received_at},
            "correlation_id": {"DataType": "String", "StringValue": self.correlation_id},
            "route": {"DataType": "String", "StringValue": json.dumps(self.route(), separators=(",", ":"))},
        }
        if self.claim_check:
            attributes["claim_check"] = {"DataType": "String", "StringValue": self.claim_check}
        if self.quarantine_key:
            attributes["quarantine_key"] = {"DataType": "String", "StringValue": self.quarantine_key}
        attributes.update(resume_marks(self.resume_at, self.resume_check))
        if self.index_offset:
            attributes["index_offset"] = {"DataType": "Number", "StringValue": str(self.index_offset)}
        return attributes

    @classmethod
    def from_message_attributes(
        cls,
        attributes: dict[str, Any],
        *,
        vendor: str,
        sent_timestamp_ms: object = None,
        message_id: str = "",
    ) -> Delivery:
        """Read the attributes of a record on ``vendor``'s queue, with a documented fallback for each bad one.

        ``vendor``: the queue's own vendor wins over the attribute. ``received_at``: a time the
        log can hold and no later than SQS got the message, else the SQS sent timestamp.
        ``correlation_id``: else the message id. ``route``: a JSON object of strings, else empty
        (a vendor that needs it quarantines).
        """
        problems: list[str] = []

        def text(name: str) -> str | None:
            value = (attributes.get(name) or {}) if isinstance(attributes, dict) else {}
            found = value.get("stringValue") or value.get("StringValue") if isinstance(value, dict) else None
            return found if isinstance(found, str) else None

        claimed = text("vendor")
        if claimed != vendor:
            problems.append("vendor: missing or not this queue's vendor; the queue's vendor is used")
        received_at = _received_at(text("received_at"))
        sent = from_epoch(sent_timestamp_ms, 1000) or datetime.now(UTC)
        if received_at is None:
            received_at = iso_millis(sent)
            problems.append("received_at: missing or not a time; the SQS sent timestamp is used")
        elif received_at > iso_millis(sent + RECEIVED_AT_SKEW):
            # Ingest stamps a delivery before it sends it: a later time was written by hand, and would
            # sort the event after every one received since.
            received_at = iso_millis(sent)
            problems.append("received_at: later than SQS got the message; the SQS sent timestamp is used")
        correlation = text("correlation_id")
        if correlation is None:
            problems.append("correlation_id: missing; the message id is used")
        route = _route(text("route"))
        if route is None:
            problems.append("route: missing or malformed; no method, path or headers")
            route = {}
        claim_check = text("claim_check")

        def place(name: str, fallback: str) -> int:
            found = text(name)
            if found is None:
                return 0
            if not _PLACE.fullmatch(found):
                problems.append(f"{name}: {fallback}")
                return 0
            return int(found)

        resume_at = place("resume_at", "not a count of events; the delivery is read from its first event")
        resume_check = _resume_check(text("resume_check"), problems)
        index_offset = place("index_offset", "not a place in a batch; the event's place in this body is used")
        return cls(
            vendor=vendor,
            received_at=received_at,
            correlation_id=correlation_id_of(correlation or message_id or "unknown"),
            method=_string(route.get("method")),
            path=_string(route.get("path")),
            path_parameters=_strings(route.get("path_parameters"), _MAX_PATH_PARAMETERS),
            # The headers the ingest function keeps, as it keeps them: a hand-made route holds no more.
            headers=kept_headers(registry.vendor(vendor), _strings(route.get("headers"))),
            claim_check=claim_check if claim_check and claim_check.startswith("s3://") else None,
            quarantine_key=text("quarantine_key"),
            resume_at=resume_at if resume_check != "" else 0,  # a check that is none: read whole
            resume_check=resume_check or None,
            index_offset=index_offset,
            problems=tuple(problems),
        )


def resume_marks(resume_at: int, resume_check: str | None) -> dict[str, dict[str, str]]:
    """The message attributes that make a message the rest of a delivery (none for a whole one)."""
    marks: dict[str, dict[str, str]] = {}
    if resume_at:
        marks["resume_at"] = {"DataType": "Number", "StringValue": str(resume_at)}
        if resume_check:
            marks["resume_check"] = {"DataType": "String", "StringValue": resume_check}
    return marks


LARGEST_RESUME_MARKS = resume_marks(MAX_PLACE, "f" * RESUME_CHECK_CHARS)
"""The most a rest's marks can add to its message (the ingest keeps room for them in an inline one)."""


def _resume_check(value: str | None, problems: list[str]) -> str | None:
    """A ``resume_check`` as sent; "" (and a problem noted) when it is not one: the delivery is read whole."""
    if value is None or _RESUME_CHECK.fullmatch(value):
        return value
    problems.append("resume_check: not a check of the rest of a delivery; it is read whole")
    return ""


def _received_at(value: str | None) -> str | None:
    moment = from_iso(value)
    return iso_millis(moment) if moment is not None and value == iso_millis(moment) else None


def _route(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        route = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return route if isinstance(route, dict) else None


def _string(value: Any) -> str:
    # The route is JSON: a ``\ud800`` escape in it reads as a lone surrogate, which no UTF-8 can carry
    # (a quarantine key hashes the path; the item keeps the route cleaned): replaced as the body's are.
    return clean_text(value[:_MAX_HEADER_CHARS]) if isinstance(value, str) else ""


def _strings(value: Any, most: int | None = None) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    found = ((_string(str(k)), _string(v)) for k, v in value.items() if isinstance(v, str))
    return dict(itertools.islice(found, most))


def kept_headers(spec: VendorSpec, headers: dict[str, str]) -> dict[str, str]:
    """The headers that travel with a delivery of ``spec``'s vendor, each cut to a sane length."""
    return {name: headers[name][:_MAX_HEADER_CHARS] for name in kept_header_names(spec) if name in headers}


@cache
def kept_header_names(spec: VendorSpec) -> tuple[str, ...]:
    """The headers a delivery of ``spec``'s vendor keeps: every delivery's, its id's, the vendor's own."""
    return tuple(dict.fromkeys((*KEPT_HEADERS, spec.delivery_header, *spec.kept_headers)))
