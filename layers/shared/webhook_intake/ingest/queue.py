"""Putting an accepted delivery on the vendor's SQS queue, within the vendor's own timeout.

botocore's retry modes know attempts but not deadlines: three standard-mode attempts with
their timeouts and back-off can outlast the 5 s Viafoura gives us. So botocore makes one
attempt per call here, and :func:`call_within` retries what botocore's standard mode would (throttling,
5xx, time-outs, dropped connections) for as long as another attempt still fits before the
deadline. Past it the vendor gets a 5xx and retries; never a 2xx without the message.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries.standard import (
    OrRetryChecker,
    RetryContext,
    ThrottledRetryableChecker,
    TransientRetryableChecker,
)

from webhook_intake.clients import client, error_code
from webhook_intake.delivery import LARGEST_RESUME_MARKS
from webhook_intake.ingest.settings import SQS_MAX_MESSAGE_BYTES
from webhook_intake.payloads import DELIVERIES_PREFIX, ClaimCheck, retention_tagging

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from webhook_intake.delivery import Delivery

T = TypeVar("T")

CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 1.5
ATTEMPT_BUDGET = CONNECT_TIMEOUT + READ_TIMEOUT
"""The longest one attempt can take: another starts only if it fits before the deadline."""
# Requests are built by this code, never taken from input: botocore's parameter validation
# (tens of microseconds a call) is skipped.
INGEST_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    retries={"total_max_attempts": 1},
    parameter_validation=False,
)
# What botocore's standard retry mode takes for worth another attempt, judged by its own checkers: every
# throttling code it knows (DynamoDB's RequestLimitExceeded among them), RequestTimeout, and the network
# failures it takes for transient (a connection refused, torn down or timed out, the TLS handshake among
# them, and any failure of the HTTP exchange: read time-outs, closed connections). Only its attempt count
# is left to this code's deadline.
_BOTOCORE_RETRYABLE = OrRetryChecker([ThrottledRetryableChecker(), TransientRetryableChecker()])
# And a few codes botocore's lists lack: a server's failure said with a code (any 5xx is retried too), and
# SQS's own code when the key of an encrypted queue is throttled (botocore's ``KmsThrottled``).
_MORE_RETRYABLE_CODES = {"ServiceUnavailable", "InternalError", "InternalFailure", "KMS.ThrottlingException"}


# What SQS refuses in a message body: everything outside its documented character set (#x9, #xA,
# #xD, #x20-#xD7FF, #xE000-#xFFFD, astral), written as the few ranges it leaves out. The same set
# as the allowed ranges negated, but about 9 ms less to compile at a cold start and half the time
# to scan a body.
_SQS_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def sqs_safe(body: str) -> bool:
    """Whether SQS accepts ``body`` as a message body (#x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, astral)."""
    return _SQS_UNSAFE.search(body) is None


class EnqueueError(RuntimeError):
    """The delivery is not on the queue: the vendor must get a 5xx and retry."""


def retryable(exc: Exception) -> bool:
    """Throttling, a server-side error or a network failure: worth another attempt."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 or error_code(exc) in _MORE_RETRYABLE_CODES:
            return True
        return bool(_BOTOCORE_RETRYABLE.is_retryable(RetryContext(attempt_number=1, parsed_response=exc.response)))
    return bool(_BOTOCORE_RETRYABLE.is_retryable(RetryContext(attempt_number=1, caught_exception=exc)))


def backoff(attempt: int) -> float:
    """The jittered pause after failed attempt number ``attempt`` (1, 2, ...), at most 0.8 s."""
    return min(0.05 * 2.0**attempt, 0.8) * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not crypto)


def retry_within(
    deadline: float,
    call: Callable[[], T],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    budget: float = ATTEMPT_BUDGET,
    attempts: int | None = None,
) -> T:
    """``call()`` with jittered retries while another attempt (``budget`` seconds at most) fits before ``deadline``
    (on ``clock``), and at most ``attempts`` in all when given; the last failure raised as botocore raised it."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            pause = backoff(attempt)
            if not retryable(exc) or attempt == attempts or clock() + pause + budget > deadline:
                raise
            sleep(pause)


def call_within(
    deadline: float,
    call: Callable[[], T],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()`` with jittered retries while another attempt fits before ``deadline`` (monotonic)."""
    try:
        return retry_within(deadline, call, clock=clock, sleep=sleep)
    except (ClientError, BotoCoreError) as exc:
        if not retryable(exc):
            raise EnqueueError(f"not retryable: {error_code(exc)}") from exc
        raise EnqueueError(f"gave up before the deadline: {error_code(exc)}") from exc


def attributes_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """What message attributes add to a message's size for SQS: each name, data type and value, in bytes."""
    size = 0
    for name, value in attributes.items():
        binary = value.get("BinaryValue")
        data = binary if isinstance(binary, bytes) else str(value.get("StringValue", "")).encode("utf-8")
        size += len(name.encode("utf-8")) + len(str(value.get("DataType", "")).encode("utf-8")) + len(data)
    return size


RESUME_ALLOWANCE_BYTES = attributes_size(LARGEST_RESUME_MARKS)
"""Room kept in an inline message for the marks the consumer adds to the rest of a delivery it runs out of
time for (``resume_at``, at most nine digits, and ``resume_check``): the rest is the same message with them,
and must fit SQS too."""


class QueueSender:
    """Sends raw bodies with their delivery attributes to one queue; large ones through S3."""

    def __init__(
        self,
        queue_url: str,
        inline_max_bytes: int,
        *,
        payload_bucket: str | None = None,
        retention_days: int = 0,
        sqs_client: SQSClient | None = None,
        s3_client: S3Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._queue_url = queue_url
        self._clock = clock
        self._sleep = sleep
        self.inline_max_bytes = inline_max_bytes
        self._payload_bucket = payload_bucket
        self._tagging = retention_tagging(retention_days)
        self._sqs = sqs_client
        self._s3 = s3_client

    @property
    def sqs(self) -> SQSClient:
        """The injected client, else the process-wide one (made on first use, not at import)."""
        if self._sqs is None:
            self._sqs = client("sqs", INGEST_CONFIG)
        return self._sqs

    @property
    def s3(self) -> S3Client:
        """The injected client, else the process-wide one."""
        if self._s3 is None:
            self._s3 = client("s3", INGEST_CONFIG)
        return self._s3

    def accepts(self, size: int) -> bool:
        """Whether a body of ``size`` bytes can be enqueued at all (inline, or through S3)."""
        return size <= self.inline_max_bytes or self._payload_bucket is not None

    def send(self, body: str, delivery: Delivery, deadline: float) -> str:
        """Enqueue before ``deadline`` (monotonic) and return the message id; raises :class:`EnqueueError`."""
        raw = body.encode("utf-8")
        attributes: dict[str, Any] = delivery.to_message_attributes()
        message = body
        # Over the SQS limit (the body with the attributes, as SQS counts), or holding characters
        # SQS refuses (U+FFFE, a raw control character): the body waits in S3, byte for byte,
        # and the message carries a pointer.
        # (with room for ``resume_at`` and ``resume_check``: the rest of a delivery the consumer runs out of time
        # for is this message with them, and a rest SQS refuses would make every receive start again where this
        # one does)
        size = len(raw) + attributes_size(attributes) + RESUME_ALLOWANCE_BYTES
        too_long = len(raw) > self.inline_max_bytes or size > SQS_MAX_MESSAGE_BYTES
        if too_long or not sqs_safe(body):
            # S3 is retried only while an attempt to the queue would still fit after it.
            check = self._store_payload(raw, delivery, deadline - ATTEMPT_BUDGET)
            message = check.pointer()
            attributes["claim_check"] = {"DataType": "String", "StringValue": check.uri}
        request: dict[str, Any] = {"QueueUrl": self._queue_url, "MessageBody": message, "MessageAttributes": attributes}
        # Lambda sets the invocation's X-Ray trace header here; SQS carries it to the consumer.
        trace_header = os.environ.get("_X_AMZN_TRACE_ID")
        if trace_header:
            request["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace_header}}
        response = self._within(deadline, lambda: self.sqs.send_message(**request))
        return response["MessageId"]

    def _within(self, deadline: float, call: Callable[[], T]) -> T:
        return call_within(deadline, call, clock=self._clock, sleep=self._sleep)

    def _store_payload(self, raw: bytes, delivery: Delivery, deadline: float) -> ClaimCheck:
        if self._payload_bucket is None:
            raise EnqueueError("body is over the SQS limit and no payload bucket is configured")
        day = delivery.received_at[:10]
        check = ClaimCheck(
            bucket=self._payload_bucket,
            key=f"{DELIVERIES_PREFIX}{delivery.vendor}/{day}/{uuid.uuid4()}.json",
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
        )
        # Tagged with the stack's retention: the body expires with the events it holds (and no later
        # than a dead letter could still point at it, by the bucket's rule for every delivery).
        tags: dict[str, Any] = {"Tagging": self._tagging} if self._tagging else {}
        self._within(
            deadline,
            lambda: self.s3.put_object(
                Bucket=check.bucket,
                Key=check.key,
                Body=raw,
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
                **tags,
            ),
        )
        return check
