"""Make moto's DynamoDB transactions behave like DynamoDB's under the local stack's load.

moto 5 runs ``TransactWriteItems`` by deep-copying every table it touches, applying the
writes one by one, and on a cancelled transaction putting the copies back. Two things go
wrong once the local stack has many items and several consumers: the copy grows with the
table (about 0.1 s per transaction at a thousand items), and a rollback puts back a table
snapshot taken before other threads' writes, losing them, or fails outright (HTTP 500)
when another thread changes the table while it is being copied. DynamoDB does neither.

The replacement keeps moto's semantics for what a transaction does (condition checks,
cancellation reasons) but checks every condition first and writes only if all hold, all
under one lock that the single-item writes take too: atomic, isolated, and no copying.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()
_MAX_ITEMS = 100
_patched = False


def _locked(method: Any) -> Any:
    def call(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(self, *args, **kwargs)

    call.__wrapped__ = method  # type: ignore[attr-defined]
    return call


def _key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _check(backend: DynamoDBBackend, op: dict[str, Any], key: dict[str, Any]) -> tuple[str | None, str | None, None]:
    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)
    current = backend.get_item(op["TableName"], key)
    expression = get_filter_expression(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if expression.expr(current):
        return (None, None, None)
    return ("ConditionalCheckFailed", "The conditional request failed", None)


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(
            op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values
        )
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names or {},
            expression_attribute_values=values or {},
        )


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """All conditions first, then all writes, under the backend's write lock."""
    if len(transact_items) > _MAX_ITEMS:
        raise TooManyTransactionsException()
    with _LOCK:
        planned: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        seen: set[str] = set()
        for item in transact_items:
            if len(item) != 1:
                raise TransactWriteSingleOpException
            ((op_type, op),) = item.items()
            key = _key(self, op_type, op)
            identity = f"{op['TableName']}|{sorted(key.items())}"
            if identity in seen:
                raise MultipleTransactionsException()
            seen.add(identity)
            planned.append((op_type, op, key))
        reasons = [_check(self, op, key) for _, op, key in planned]
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        for op_type, op, key in planned:
            if op_type != "ConditionCheck":
                _apply(self, op_type, op, key)


def apply() -> None:
    """Patch moto's DynamoDB backend (once per process)."""
    global _patched  # noqa: PLW0603 - a process-wide patch, applied once
    if _patched:
        return
    for name in ("put_item", "update_item", "delete_item", "get_item"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _patched = True
