"""``intake shapes``: the event shapes each vendor is known to send, and the ones it started sending.

Known shapes are those of the vendors' documented examples (``shapes.json`` in each vendor
package). New ones are what the consumers kept when an event's key paths and value types
matched none of those (``shape#<vendor>`` items in the events table, paths only, never values).
A new shape is shown against the closest known shape of its source type, so the change reads
as fields added and fields gone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from webhook_intake.consumer.shapes import documented_shapes
from webhook_intake.registry import VENDORS
from webhook_intake.store.schema import SHAPE_PREFIX
from webhook_intake.store.wire import decode_item

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass
class Shape:
    """One shape of one vendor's source type."""

    vendor: str
    source_type: str
    fingerprint: str
    origin: str
    """``documented`` (from the vendor's examples) or ``new`` (seen in traffic, in no example)."""
    paths: list[str]
    first_seen: str | None = None
    added: list[str] = field(default_factory=list)
    """Paths of a new shape that the closest known shape of its source type lacks."""
    missing: list[str] = field(default_factory=list)
    """Paths of that closest known shape that the new one lacks."""
    compared_with: str | None = None
    """The fingerprint of that closest known shape (None when the source type has no known shape)."""

    def to_json(self) -> dict[str, Any]:
        """Plain values, for ``--json``."""
        return asdict(self)


def documented(vendor_key: str) -> list[Shape]:
    """The vendor's documented shapes."""
    return [
        Shape(vendor_key, source_type, shape_id, "documented", list(found))
        for source_type, shapes in sorted(documented_shapes(VENDORS[vendor_key]).items())
        for shape_id, found in sorted(shapes.items())
    ]


def seen(items: Iterable[dict[str, Any]], vendor_key: str) -> list[Shape]:
    """New shapes from the table's ``shape#<vendor>`` items (already decoded)."""
    return [
        Shape(
            vendor_key,
            str(item.get("source_type", "")),
            str(item.get("fingerprint", "")),
            "new",
            [str(path) for path in item.get("paths") or []],
            first_seen=str(item["first_seen"]) if item.get("first_seen") else None,
        )
        for item in items
    ]


def compare(new: Shape, known: list[Shape]) -> Shape:
    """``new`` with the paths it adds to, and lacks from, the closest known shape of its source type."""
    candidates = [shape for shape in known if shape.source_type == new.source_type]
    if not candidates:
        return new
    mine = set(new.paths)

    def distance(shape: Shape) -> tuple[int, str]:
        return (len(mine ^ set(shape.paths)), shape.fingerprint)

    closest = min(candidates, key=distance)
    new.compared_with = closest.fingerprint
    new.added = sorted(mine - set(closest.paths))
    new.missing = sorted(set(closest.paths) - mine)
    return new


def read_seen(dynamodb: Any, table_name: str, vendor_key: str) -> list[Shape]:
    """The new shapes the consumers kept for ``vendor_key`` (one query on the events table)."""
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{SHAPE_PREFIX}{vendor_key}"}},
    )
    return seen((decode_item(item) for page in pages for item in page.get("Items", [])), vendor_key)


def shapes(dynamodb: Any, table_name: str, vendors: Iterable[str], *, new_only: bool = False) -> list[Shape]:
    """Known and new shapes of ``vendors``: per vendor, by source type, new ones compared."""
    found: list[Shape] = []
    for vendor_key in vendors:
        known = documented(vendor_key)
        new = [compare(shape, known) for shape in read_seen(dynamodb, table_name, vendor_key)]
        mine = new if new_only else known + new
        found += sorted(mine, key=lambda shape: (shape.source_type, shape.origin, shape.fingerprint))
    return found
