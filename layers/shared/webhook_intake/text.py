"""Text a store can hold (standard library only).

JSON may escape a lone UTF-16 surrogate (``"\\ud800"``): valid JSON, but no UTF-8 string can
carry it, so neither DynamoDB nor the SDK will take it. Parsed values are cleaned once, as
they are read, so every later step (ids, mapping, keys, quarantine) sees text it can store;
the event's raw bytes stay exactly as sent.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_SURROGATE = re.compile("[\ud800-\udfff]")
_T = TypeVar("_T")
REPLACEMENT = "\ufffd"


def escape_surrogates(value: str) -> str:
    """``value`` with each lone surrogate written as its JSON escape (``\\ud83d``), as JavaScript's
    ``JSON.stringify`` writes one: no UTF-8 can carry it."""
    if value.isascii():
        return value
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", value)


def clean_text(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD."""
    if value.isascii():
        return value
    return _SURROGATE.sub(REPLACEMENT, value)


def may_escape_a_surrogate(json_text: str) -> bool:
    """Whether a JSON text has an escape in ``\\ud800``-``\\udfff``: only then can its values hold a lone one.

    (A pair that makes one character, an emoji's, is decoded whole and needs no cleaning.)
    """
    return "\\ud" in json_text or "\\uD" in json_text


def clean_json(value: Any) -> Any:
    """Parsed JSON with a lone surrogate in none of its strings or keys (containers cleaned in place).

    A loop, not recursion: a value nested as deep as the parser allows is cleaned too.
    """
    if isinstance(value, str):
        return clean_text(value)
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if not all(key.isascii() for key in node):
                entries = list(node.items())
                node.clear()
                node.update((clean_text(key), item) for key, item in entries)
            _clean_values(node, node.items(), pending)
        elif isinstance(node, list):
            _clean_values(node, enumerate(node), pending)
    return value


def _clean_values(node: Any, entries: Iterable[tuple[Any, Any]], pending: list[Any]) -> None:
    """Clean ``node``'s string values in place; queue its containers."""
    for place, item in entries:
        if isinstance(item, str):
            node[place] = clean_text(item)
        elif isinstance(item, (dict, list)):
            pending.append(item)


def canonical_json(document: Any) -> str:
    """A JSON document written one way: keys sorted, no white space, each number as JSON reads it.

    Two texts of one document (a vendor's retry, serialized again) give the same string: ``1``,
    ``1.0`` and ``1e0`` are one number, written ``1`` (as RFC 8785's canonical JSON writes it).
    Two documents Python's ``==`` would confuse (``true`` and ``1``, ``0`` and ``false``) do not.
    """
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if _INTEGRAL_FLOAT.search(text) is None:  # no number written with a fraction or an exponent
        return text
    return json.dumps(_integral_as_int(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_INTEGRAL_FLOAT = re.compile(r"[0-9]\.0(?![0-9])|[0-9]e[+-]?[0-9]")
"""How Python writes a float that may be a whole number (``1.0``, ``1e+16``); text in strings may
match too, and then costs only a walk that changes nothing."""
_WRITTEN_IN_FULL = 1e21
"""RFC 8785 (ECMAScript's number writing) writes a whole number below this in full, above it with
an exponent, as Python writes such a float too."""


_EXACT_INTEGERS = 2**53
"""Below this, a double holds every integer, so a whole number read as a float is the one written."""


def whole_number(value: float) -> int | None:
    """A float read from JSON that is a whole number (``12345.0``, ``1.2345e4``) as that integer, else None.

    Only below 2**53: a larger one may not be the number written (``12345678901234567890.0``
    reads as ...7168), so no id is made of it.
    """
    if value.is_integer() and abs(value) < _EXACT_INTEGERS:
        return int(value)
    return None


def _integral_as_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < _WRITTEN_IN_FULL:
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_as_int(item) for item in value]
    return value


def refuse_constant(name: str) -> Any:
    """For ``parse_constant``: ``NaN``, ``Infinity`` and ``-Infinity`` are read by Python, and are
    not JSON (RFC 8259 has no such value)."""
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


class OutOfRange:
    """A number read from a delivery that no float or int here can hold: ``1e400`` (a double's range would make it
    infinity, equal to every other such number) or an integer of more digits than Python converts (4,300).

    RFC 8259 §6 lets a reader limit the numbers it takes. The event holding one is refused, never the events
    beside it: read as this marker, a number out of range is found in the text of its event (:func:`read_json_at`
    says whether one was met, even under a key named twice, whose value the reader keeps only the last of).
    Nothing writes a value holding one: the event's text is kept as sent.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "OUT_OF_RANGE"


OUT_OF_RANGE = OutOfRange()
OUT_OF_RANGE_MESSAGE = "holds a number beyond what a JSON number can hold (a double, or 4,300 digits)"


class _Reading(threading.local):
    """Whether the last read of this thread met a number out of range (set by the number hooks as they read)."""

    out_of_range = False


_READING = _Reading()


def _float_in_range(text: str) -> float | OutOfRange:
    value = float(text)
    if math.isinf(value):
        _READING.out_of_range = True
        return OUT_OF_RANGE
    return value


def _int_in_range(text: str) -> int | OutOfRange:
    try:
        return int(text)
    except ValueError:  # over Python's limit of digits a conversion takes
        _READING.out_of_range = True
        return OUT_OF_RANGE


JSON = json.JSONDecoder(parse_constant=refuse_constant, parse_float=_float_in_range)
"""Reads a delivery's JSON as RFC 8259 has it (``json.loads`` with an argument would build a decoder per call); a
number out of range is read as :data:`OUT_OF_RANGE`: read with :func:`read_json` or :func:`read_json_at`, which
say whether one was met."""
_LONG_INTS = json.JSONDecoder(parse_constant=refuse_constant, parse_float=_float_in_range, parse_int=_int_in_range)
""":data:`JSON` with integers read by a function of ours: slower, for the texts whose integers Python refuses."""


def _marked(read: Callable[[json.JSONDecoder], _T]) -> tuple[_T, bool]:
    """``read`` by :data:`JSON`, and whether it met a number out of range; read again by :data:`_LONG_INTS` when
    the text holds an integer of more digits than Python converts (``int`` raised where our hook would not)."""
    _READING.out_of_range = False
    try:
        found = read(JSON)
    except json.JSONDecodeError:
        raise
    except ValueError:
        _READING.out_of_range = False
        found = read(_LONG_INTS)
    return found, _READING.out_of_range


def read_json(text: str) -> tuple[Any, bool]:
    """A JSON text's value, and whether it holds a number out of range anywhere."""
    return _marked(lambda decoder: decoder.decode(text))


def read_json_at(text: str, position: int) -> tuple[Any, int, bool]:
    """The JSON value starting at ``position``, where it ends, and whether it holds a number out of range."""
    (value, end), out_of_range = _marked(lambda decoder: decoder.raw_decode(text, position))
    return value, end, out_of_range


MAX_NESTING = 100
"""Arrays and objects nested deeper than this are refused (no vendor nests a tenth as deep): every
step after the read walks values far from Python's recursion limit, whichever Python reads them."""
TOO_DEEP = f"body nests arrays or objects more than {MAX_NESTING} deep"


def nests_deeper_than(json_text: str, limit: int = MAX_NESTING) -> bool:
    """Whether a JSON text (one Python has read) nests arrays or objects more than ``limit`` deep.

    Counted in the text, not in what Python made of it: a value under a key repeated later is
    gone from the parsed document but still in the raw event. With no more brackets than
    ``limit`` (a typical body) there is nothing to walk; else strings are skipped whole.
    """
    if json_text.count("[") + json_text.count("{") <= limit:
        return False
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(json_text):
        mark = json_text[token.start()]
        if mark in "[{":
            depth += 1
            if depth > limit:
                return True
        elif mark in "]}":
            depth -= 1
    return False


_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
