"""AWS answered from memory, at botocore's HTTP layer.

The canned answer replaces only the network round trip: every client, whichever session made
it (the handler's own, the floor's), still runs its whole request pipeline (parameter
validation, serialization, SigV4 signing, response parsing, retry checks). That is the CPU a
request costs on Lambda, minus the wait for AWS. A botocore ``Stubber`` would need one
``add_response`` per call and, like a ``before-send`` hook, reaches only the clients we hold;
this reaches the clients the handlers make for themselves.

Standard library and botocore only: the cold-start child imports it after the timed imports.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse
from botocore.httpsession import URLLib3Session

if TYPE_CHECKING:
    from collections.abc import Iterator

    from botocore.awsrequest import AWSPreparedRequest

_CONDITIONAL_CHECK_FAILED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "message": "The conditional request failed",
    }
).encode()


_TRANSACTION_CANCELED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": "Transaction cancelled, please refer cancellation reasons for specific reasons"
        " [ConditionalCheckFailed, None]",
        "CancellationReasons": [
            {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
            {"Code": "None"},
        ],
    }
).encode()
_CONSUMED = json.dumps({"ConsumedCapacity": {"TableName": "bench-events", "CapacityUnits": 2.0}}).encode()
_SENT = json.dumps(
    {"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "MD5OfMessageBody": "d41d8cd98f00b204e9800998ecf8427e"}
).encode()


class _Body(io.BytesIO):
    """The raw stream botocore reads a response body from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


class CannedAWS:
    """Answers the JSON-protocol calls the pipeline makes: SQS, Secrets Manager, DynamoDB.

    ``secrets`` maps a SecretId to its SecretString. With ``duplicates`` set, every
    conditional DynamoDB write fails its condition, as it does for an event already stored.
    """

    def __init__(self, secrets: dict[str, str] | None = None, *, duplicates: bool = False) -> None:
        self.secrets = secrets or {}
        self.duplicates = duplicates
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: AWSPreparedRequest) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        with self._lock:
            self.calls[operation] += 1
        status, body = self._answer(operation, request.body)
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "00000000-bench"}
        return AWSResponse(request.url, status, headers, _Body(body))

    def _answer(self, operation: str, body: Any) -> tuple[int, bytes]:
        if operation == "SendMessage":
            # A constant answer: the canned layer should cost both sides next to nothing
            # (botocore does not check MD5OfMessageBody).
            return 200, _SENT
        if operation == "GetSecretValue":
            secret_id = str(json.loads(body or b"{}").get("SecretId", ""))
            value = self.secrets.get(secret_id, "{}")
            answer = {"ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret_id}", "Name": secret_id}
            return 200, json.dumps({**answer, "SecretString": value, "VersionStages": ["AWSCURRENT"]}).encode()
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"):
            if self.duplicates and b"ConditionExpression" in (body or b""):
                return 400, _TRANSACTION_CANCELED if operation == "TransactWriteItems" else _CONDITIONAL_CHECK_FAILED
            # As DynamoDB answers a write asked with ReturnConsumedCapacity (the consumer reads it).
            return 200, _CONSUMED if b"ReturnConsumedCapacity" in (body or b"") else b"{}"
        return 200, b"{}"


@contextlib.contextmanager
def answering(canned: CannedAWS) -> Iterator[CannedAWS]:
    """Every botocore HTTP request in this process is answered by ``canned`` during the block."""
    original = URLLib3Session.send

    def send(self: URLLib3Session, request: AWSPreparedRequest) -> AWSResponse:
        return canned(request)

    URLLib3Session.send = send  # type: ignore[method-assign]
    try:
        yield canned
    finally:
        URLLib3Session.send = original  # type: ignore[method-assign]
