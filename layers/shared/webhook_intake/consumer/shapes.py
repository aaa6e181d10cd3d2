"""Shape drift: the key paths and value types of each vendor's events, and the ones never seen before.

A vendor that renames a field, or starts sending an id as a number, changes nothing that
fails: the event is stored all the same. The change shows here instead. An event's shape is
the sorted set of its ``path:type`` pairs (arrays as ``[]``, values never kept); its
fingerprint is a hash of that. The shapes of the vendors' documented examples ship with the
code (``shapes.json`` of each vendor package); a shape outside them is counted
(``NewShapes``) and kept, paths only, as ``pk`` = ``shape#<vendor>``, ``sk`` =
``<source_type>#<fingerprint>``, written once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import error_code
from webhook_intake.consumer.attempts import OutOfTimeError
from webhook_intake.observability import Metric, count_by
from webhook_intake.store.events import REFUSED_ITEM, consumed
from webhook_intake.store.schema import SHAPE_PREFIX
from webhook_intake.store.table import TableAccess, once
from webhook_intake.store.wire import encode_item, item_size, write_units
from webhook_intake.taxonomy import type_label
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_intake.registry import VendorSpec
    from webhook_intake.store.table import Attempts

MAX_DEPTH = 8
MAX_PATHS = 400
MAX_PATH_BYTES = 512
"""A path is cut to this many bytes of UTF-8 (keys are the vendor's, any length and script): a
shape item of :data:`MAX_PATHS` paths stays far under 400 KB."""
MAX_SHAPE_BYTES = 14 * 1024
"""The paths kept of one shape, in bytes of UTF-8, the first in sorted order: a shape item then takes at most 16
write units. Without it a vendor's long keys, nested, made each path :data:`MAX_PATH_BYTES` long: a 27 KB event
kept a 171 KB item (168 write units), for ever, and every new shape of the kind another. The documented shapes
hold under 1 KB; two shapes that differ only past this budget are one."""
SHAPES_FILE = "shapes.json"
MAX_SHAPE_WRITES = 20
"""New shapes written by one flush: it runs in the consumer's time reserve, and a delivery may hold thousands
of events each of a shape of its own (a field named differently in each). The rest wait for later flushes."""
MAX_PENDING = 200
"""New shapes held for later flushes; one noticed beyond them is noticed again when it comes again."""
UNMAPPED = "unmapped"
"""``NewShapes``' ``source_type`` for a type neither the vendor's mapping nor its documented examples name."""


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return "object"


def _cut(text: str) -> str:
    """``text`` within :data:`MAX_PATH_BYTES` of UTF-8, never splitting a character."""
    if len(text) * 4 <= MAX_PATH_BYTES:
        return text
    return text.encode("utf-8", "surrogatepass")[:MAX_PATH_BYTES].decode("utf-8", "ignore")


def paths(document: Any) -> list[str]:
    """The sorted ``path:type`` pairs of a JSON document (at most :data:`MAX_PATHS`, :data:`MAX_DEPTH` deep, and
    :data:`MAX_SHAPE_BYTES` in all)."""
    found: set[str] = set()

    def walk(value: Any, path: str, depth: int) -> None:
        if len(found) >= MAX_PATHS:
            return
        found.add(_cut(f"{path or '$'}:{_kind(value)}"))
        if depth >= MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key), depth + 1)
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}[]", depth + 1)

    walk(document, "", 0)
    return _within_budget(sorted(found))


def _within_budget(shape: list[str]) -> list[str]:
    """The first paths of ``shape`` that hold :data:`MAX_SHAPE_BYTES` of UTF-8."""
    if sum(map(len, shape)) * 4 <= MAX_SHAPE_BYTES:  # within the budget in any script: nothing to count
        return shape
    kept: list[str] = []
    size = 0
    for path in shape:
        size += len(path.encode("utf-8", "surrogatepass"))
        if size > MAX_SHAPE_BYTES:
            break
        kept.append(path)
    return kept


def fingerprint(shape: list[str]) -> str:
    """A short, stable name for a shape."""
    return hashlib.sha256("\n".join(shape).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def documented_shapes(spec: VendorSpec) -> dict[str, dict[str, list[str]]]:
    """The shapes of a vendor's documented examples: source_type → fingerprint → paths."""
    package = f"webhook_intake.vendors.{spec.package}"
    try:
        text = resources.files(package).joinpath(SHAPES_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    document = json.loads(text)
    return document if isinstance(document, dict) else {}


@dataclass
class ShapeWatch:
    """Notices shapes a vendor has not been seen to send; writes each new one once."""

    spec: VendorSpec
    table_name: str
    logger: Logger
    dynamodb_client: DynamoDBClient | None = None
    attempts: Attempts = once
    """How its writes are tried (the consumer's: within its invocation's time)."""
    known: set[tuple[str, str]] = field(default_factory=set)
    """The shapes kept or documented, as ``(type label, fingerprint)``: their items' key. Never the type as sent,
    which may be any length: a process that kept each one whole grew by it with every new shape."""
    pending: dict[tuple[str, str], tuple[str, list[str]]] = field(default_factory=dict)
    """The shapes noticed and not yet kept: the type as sent (cut as the item keeps it) and the paths."""
    table: TableAccess = field(init=False, repr=False)
    """The shapes' table, through ``dynamodb_client`` or the process-wide client (the consumer's config)."""
    named_types: frozenset[str] = field(init=False, repr=False)
    """The types the vendor's mapping or documented examples name (:meth:`dimension`)."""

    def __post_init__(self) -> None:
        self.table = TableAccess(self.table_name, self.dynamodb_client, attempts=self.attempts)
        documented = documented_shapes(self.spec)
        for source_type, shapes in documented.items():
            self.known.update((type_label(source_type), shape) for shape in shapes)
        self.named_types = frozenset(documented) | frozenset(self.spec.normalizer().type_map)

    def dimension(self, source_type: str, label: str) -> str:
        """The ``source_type`` dimension of a new shape's count: the type's ``label`` when the vendor's mapping or
        documented examples name it, else :data:`UNMAPPED`. Types are the vendor's text: each one a dimension value
        of its own would let a vendor make metrics without end (the shape item and the log line name it)."""
        return label if source_type in self.named_types else UNMAPPED

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The injected client, else the process-wide one."""
        return self.table.dynamodb

    def observe(self, source_type: str, document: Any) -> None:
        """Note an event's shape if this process has not seen it (nothing is written until :meth:`flush`)."""
        shape = paths(document)
        key = (type_label(source_type), fingerprint(shape))
        if key not in self.known and (key in self.pending or len(self.pending) < MAX_PENDING):
            self.pending.setdefault(key, (_cut(source_type), shape))

    def flush(self, metrics: Metrics) -> float:
        """Keep the shapes noticed since the last flush (:data:`MAX_SHAPE_WRITES` of them at most, the rest
        at the next); count each one no one had kept before.

        The write units those writes took (a write whose condition failed takes them too).
        """
        units = 0.0
        for (label, shape_id), (source_type, shape) in list(self.pending.items())[:MAX_SHAPE_WRITES]:
            item = {
                "pk": f"{SHAPE_PREFIX}{self.spec.key}",
                # A type that is no type name (any length, any text) is keyed by its hash.
                "sk": f"{label}#{shape_id}",
                "source_type": source_type,
                "fingerprint": shape_id,
                "paths": shape,
                "first_seen": iso_millis(datetime.now(UTC)),
            }
            try:
                response = self.attempts(
                    partial(
                        self.dynamodb.put_item,
                        TableName=self.table_name,
                        Item=encode_item(item),
                        ConditionExpression="attribute_not_exists(pk)",
                        ReturnConsumedCapacity="TOTAL",
                    )
                )
            except OutOfTimeError:
                break  # no time left for a write: the rest are kept with the next invocation
            except ClientError as exc:
                code = error_code(exc)
                if code == "ConditionalCheckFailedException":  # kept already; its units are not in the answer
                    units += write_units(item_size(item))
                else:
                    # Shapes are advice: a failed write is tried again with the next invocation,
                    # unless DynamoDB refused the item itself (no later try would differ).
                    self.logger.warning("shape not recorded", extra={"error": code})
                    if code not in REFUSED_ITEM:
                        continue
            except BotoCoreError as exc:
                self.logger.warning("shape not recorded", extra={"error": type(exc).__name__})
                continue
            else:
                units += consumed(dict(response), partial(write_units, item_size(item)))
                count_by(metrics, Metric.NEW_SHAPES, "source_type", self.dimension(source_type, label))
                self.logger.warning(
                    "new event shape",
                    extra={"vendor": self.spec.key, "source_type": label, "fingerprint": shape_id, "paths": len(shape)},
                )
            del self.pending[(label, shape_id)]
            self.known.add((label, shape_id))
        return units
