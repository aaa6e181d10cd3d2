"""A delivery body split into its events, each with its exact bytes (standard library only).

Vendors that batch put their events in an array under one field of the body (the vendor's
``batch_field``). Each event is parsed once, in place, so that what is kept as an event's
``raw`` is the vendor's own text for it (numbers, key order and escapes as sent), not a
re-encoding. Parsed values never hold a lone surrogate (:mod:`webhook_intake.text`); the
texts stay as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook_intake.text import (
    JSON,
    OUT_OF_RANGE_MESSAGE,
    TOO_DEEP,
    clean_json,
    may_escape_a_surrogate,
    nests_deeper_than,
    read_json,
    read_json_at,
)

_WHITESPACE = " \t\n\r"


class BodyError(ValueError):
    """The body cannot be split into events at all: not JSON, or without the vendor's envelope."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Element:
    """One event of a delivery: its position, its parsed value and its exact text."""

    index: int
    value: Any
    text: str
    out_of_range: bool = False
    """It holds a number no float or int can hold (:class:`webhook_intake.text.OutOfRange`): refused on its own."""

    def own_or_batch(self, name: str, document: Any) -> Any:
        """The event's own ``name``, else the one its batch body states for all; None when neither has it."""
        own = self.value.get(name) if isinstance(self.value, dict) else None
        if own is not None:
            return own
        return document.get(name) if isinstance(document, dict) else None


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _expect(text: str, position: int, char: str) -> int:
    position = _skip(text, position)
    if position >= len(text) or text[position] != char:
        raise ValueError(f"expected {char!r} at {position}")
    return position + 1


class _EnvelopeOutOfRangeError(ValueError):
    """A number out of range outside the batch's events: no event to refuse alone."""


def _value(text: str, position: int) -> tuple[Any, int]:
    """A value of the body outside its events."""
    value, end, out_of_range = read_json_at(text, _skip(text, position))
    if out_of_range:
        raise _EnvelopeOutOfRangeError
    return value, end


_Span = tuple[Any, int, int, bool]
"""An event of a batch: its value, where its text starts and ends, and whether it holds a number out of range."""


def _array(text: str, position: int) -> tuple[list[_Span], int]:
    """The elements of the array starting at ``position``, each with its span, and the array's end."""
    position = _expect(text, position, "[")
    elements: list[_Span] = []
    position = _skip(text, position)
    if position < len(text) and text[position] == "]":
        return elements, position + 1
    while True:
        start = _skip(text, position)
        value, end, out_of_range = read_json_at(text, start)
        elements.append((value, start, end, out_of_range))
        position = _skip(text, end)
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        return elements, _expect(text, position, "]")


def _batch_spans(text: str, field: str) -> tuple[dict[str, Any], list[_Span] | None]:
    """The body object, and the spans of the array under ``field`` (the last one, as ``json.loads`` keeps)."""
    document: dict[str, Any] = {}
    spans: list[_Span] | None = None
    position = _expect(text, 0, "{")
    position = _skip(text, position)
    if position < len(text) and text[position] == "}":
        position += 1
    else:
        while True:
            key, position = _value(text, position)
            if not isinstance(key, str):
                raise ValueError("an object key that is not a string")
            position = _expect(text, position, ":")
            start = _skip(text, position)
            if key == field and start < len(text) and text[start] == "[":
                elements, end = _array(text, start)
                document[key] = [value for value, _, _, _ in elements]
                spans = elements
            else:
                document[key], end = _value(text, start)
                if key == field:
                    spans = None
            position = _skip(text, end)
            if position < len(text) and text[position] == ",":
                position += 1
                continue
            position = _expect(text, position, "}")
            break
    if _skip(text, position) != len(text):
        raise ValueError("extra data after the body")
    return document, spans


def _readable(text: str) -> None:
    """Refuse what the ingest function refuses: a body nested deeper than every later step can walk."""
    if nests_deeper_than(text):
        raise BodyError("invalid_json", TOO_DEEP)


def split(text: str, batch_field: str | None) -> tuple[Any, list[Element]]:
    """The parsed body and its events; raises :class:`BodyError` when there are none to read.

    For a vendor without ``batch_field`` the body is one event and its text is the whole body.
    """
    if batch_field is None:
        try:
            document, out_of_range = read_json(text)
        except (ValueError, RecursionError):
            raise BodyError("invalid_json", "body is not valid JSON") from None
        _readable(text)
        if may_escape_a_surrogate(text):
            document = clean_json(document)
        return document, [Element(0, document, text, out_of_range)]
    try:
        document, spans = _batch_spans(text, batch_field)
    except _EnvelopeOutOfRangeError:
        raise BodyError("invalid_json", f"body {OUT_OF_RANGE_MESSAGE}") from None
    except (ValueError, RecursionError, IndexError):
        try:
            JSON.decode(text)
        except (ValueError, RecursionError):
            raise BodyError("invalid_json", "body is not valid JSON") from None
        raise BodyError("invalid_envelope", "body is not a JSON object") from None
    if spans is None:
        raise BodyError("invalid_envelope", f"body has no '{batch_field}' array")
    _readable(text)
    values = [value for value, _, _, _ in spans]
    if may_escape_a_surrogate(text):
        document = clean_json(document)
        values = document[batch_field]
    return document, [
        Element(index, values[index], text[start:end], out_of_range)
        for index, (_, start, end, out_of_range) in enumerate(spans)
    ]
