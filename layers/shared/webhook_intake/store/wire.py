"""DynamoDB's attribute-value encoding, item sizes and write units, without boto3's serializer.

Items are built by this code from plain Python values (str, bool, int, bytes, dict, list,
tuple, frozenset of str), so a small encoder does what ``TypeSerializer`` does at a fraction
of its cost on the consumer's hot path. Sizes follow DynamoDB's published rules closely
enough to keep every item under the 400 KB limit and to count write units.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

ITEM_LIMIT_BYTES = 400 * 1024
WRITE_UNIT_BYTES = 1024


def _number(text: str) -> int | Decimal:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else number


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "S": lambda data: data,
    "N": _number,
    "B": bytes,
    "BOOL": bool,
    "M": lambda data: {key: decode(item) for key, item in data.items()},
    "L": lambda data: [decode(item) for item in data],
    "SS": frozenset,
    "NULL": lambda data: None,
}


def encode(value: Any) -> dict[str, Any]:  # noqa: PLR0911 - a return per DynamoDB type
    """A DynamoDB AttributeValue for a plain Python value."""
    # Checked in order: bool before int (a bool is an int), str first (the most common).
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, dict):
        return {"M": {key: encode(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [encode(item) for item in value]}
    if isinstance(value, frozenset | set):
        return {"SS": sorted(value)}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store a {type(value).__name__}")


def encode_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item of plain values as DynamoDB's wire format."""
    return {name: encode(value) for name, value in item.items()}


def decode(value: dict[str, Any]) -> Any:
    """A plain Python value for a DynamoDB AttributeValue (numbers as int, or Decimal when fractional)."""
    ((kind, data),) = value.items()
    try:
        return _DECODERS[kind](data)
    except KeyError:
        raise ValueError(f"unknown attribute type {kind}") from None


def decode_item(item: dict[str, Any]) -> dict[str, Any]:
    """A wire-format item as plain values."""
    return {name: decode(value) for name, value in item.items()}


def _number_size(value: int | Decimal) -> int:
    digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
    return math.ceil(digits / 2) + 1


def value_size(value: Any) -> int:  # noqa: PLR0911 - a return per DynamoDB type
    """The bytes DynamoDB counts for a plain value (its item-size rules)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | Decimal):
        return _number_size(value)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return 3 + sum(1 + value_size(key) + value_size(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(1 + value_size(item) for item in value)
    if isinstance(value, frozenset | set):
        return sum(value_size(item) for item in value)
    raise TypeError(f"cannot size a {type(value).__name__}")


def item_size(item: dict[str, Any]) -> int:
    """An item's size: every attribute name and value."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write units of one write of ``size`` bytes (1 KB each, rounded up; a write costs at least one)."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))
