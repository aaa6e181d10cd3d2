"""Make moto behave like AWS where the local stack's answers depend on it.

- **Conditional writes are atomic.** moto's DynamoDB backend reads an item, evaluates the
  condition and writes, with nothing stopping another thread in between; several consumers
  and ingest functions run at once on the local stack, so a duplicate could pass as new.
  Single-item writes and reads here run under one lock, as DynamoDB serialises them per item.
- **SQS refuses what real SQS refuses.** A message body and its attributes' strings may only hold #x9, #xA, #xD,
  #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF; SQS answers ``InvalidMessageContents``
  otherwise, and moto takes anything. The same check here means a body SQS would refuse
  fails on the local stack too, instead of only in production. And as SQS does, it counts a
  message's attributes (names, types, values) into its size: over 1 MiB together is refused.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.sqs.exceptions import SQSException
from moto.sqs.models import SQSBackend

from webhook_intake.ingest.queue import attributes_size
from webhook_intake.ingest.settings import SQS_MAX_MESSAGE_BYTES

_LOCK = threading.RLock()
_SQS_REFUSED = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_patched = False


class InvalidMessageContentsError(SQSException):
    """SQS's answer to a body with characters outside its allowed set."""

    def __init__(self) -> None:
        super().__init__(
            "InvalidMessageContents",
            "Invalid binary character in the message body. Only the following characters are allowed:"
            " #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )


class MessageTooLongError(SQSException):
    """SQS's answer to a message whose body and attributes together pass 1 MiB."""

    def __init__(self, size: int) -> None:
        super().__init__(
            "InvalidParameterValue",
            f"One or more parameters are invalid. Reason: Message must be shorter than {SQS_MAX_MESSAGE_BYTES} bytes"
            f" (this one is {size}, attributes included).",
        )


def _locked(method: Any) -> Any:
    def call(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(self, *args, **kwargs)

    call.__wrapped__ = method  # type: ignore[attr-defined]
    return call


def _checked_contents(method: Any) -> Any:
    def send_message(self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        attributes = kwargs.get("message_attributes") or (args[0] if args else None) or {}
        texts = [message_body] + [str(value.get("StringValue", "")) for value in attributes.values()]
        if any(_SQS_REFUSED.search(text) for text in texts):
            raise InvalidMessageContentsError
        size = len(message_body.encode("utf-8")) + attributes_size(attributes)
        if size > SQS_MAX_MESSAGE_BYTES:
            raise MessageTooLongError(size)
        return method(self, queue_name, message_body, *args, **kwargs)

    send_message.__wrapped__ = method  # type: ignore[attr-defined]
    return send_message


def apply() -> None:
    """Patch moto's DynamoDB and SQS backends (once per process)."""
    global _patched  # noqa: PLW0603 - a process-wide patch, applied once
    if _patched:
        return
    for name in ("put_item", "update_item", "delete_item", "get_item"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    SQSBackend.send_message = _checked_contents(SQSBackend.send_message)  # type: ignore[method-assign]
    _patched = True
