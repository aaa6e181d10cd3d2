"""What every reader and writer of a table holds: its name, a DynamoDB client, the payload store."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from botocore.config import Config

from webhook_intake.clients import client

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_intake.payloads import PayloadStore

T = TypeVar("T")

CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 1.0
ATTEMPT_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT
"""The longest one attempt of the consumer's DynamoDB and S3 calls can take (a read time-out bounds each read of
a body, not the whole of it: a body is read in parts, and its attempt given up once ``Attempts.check`` says so)."""
CONSUMER_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    retries={"total_max_attempts": 1},
    parameter_validation=False,
)
"""The consumer's DynamoDB and S3 clients: one attempt a call, short time-outs, no client-side validation of
requests this code builds itself. botocore's own retries (60 s time-outs, five attempts) know no deadline and
could outlast the function's timeout: the consumer's calls are tried again by its ``Attempts`` instead."""


class Attempts(Protocol):
    """How a call to AWS is made: once, or again while the caller's time allows; its answer, or its last failure."""

    def __call__(self, call: Callable[[], T]) -> T:
        """``call()``, tried as the policy allows."""
        ...

    def check(self) -> None:
        """Raise when the caller's time is up: an answer read in parts (a body) stops between two of them."""
        ...


class _Once:
    """Calls made once (a client with retries of its own: the CLI's), with no time of their own to keep."""

    def __call__(self, call: Callable[[], T]) -> T:
        return call()

    def check(self) -> None:
        """No time is kept: a body is read whole."""


once: Attempts = _Once()


class TableAccess:
    """A table (the events table, the replay table), through an injected client or the process-wide one
    (made on first use, with the subclass's ``client_config``), each call made as ``attempts`` allows."""

    client_config: ClassVar[Config | None] = CONSUMER_CONFIG

    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient | None = None,
        payloads: PayloadStore | None = None,
        attempts: Attempts = once,
    ) -> None:
        self.table_name = table_name
        self._client = dynamodb_client
        self._payloads = payloads
        self._attempts = attempts

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The injected client, else the process-wide one."""
        if self._client is None:
            self._client = client("dynamodb", self.client_config)
        return self._client
