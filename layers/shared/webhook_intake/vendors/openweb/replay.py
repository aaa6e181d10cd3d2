"""Used client-assertion ids (``jti``), one DynamoDB item each (data-access layer).

A conditional ``PutItem`` on ``attribute_not_exists(jti)`` records an id and refuses one
already recorded, atomically: a replay is refused on any Lambda instance, even when two
arrive at once. Items expire by DynamoDB TTL (``expires_at``) once the assertion could no
longer be accepted anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import client, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Short timeouts and a few standard-mode retries: the token answer stays well inside OpenWeb's 10 s.
REPLAY_TABLE_CONFIG = Config(
    connect_timeout=0.5, read_timeout=1.5, retries={"total_max_attempts": 3, "mode": "standard"}
)
REPLAY_MARGIN = 300
"""Seconds an id is kept beyond its assertion's ``exp`` (clocks of Lambda hosts and DynamoDB differ)."""


class ReplayedAssertionError(Exception):
    """The assertion's ``jti`` was used before."""


class ReplayStoreError(RuntimeError):
    """DynamoDB did not answer: the token request must fail with a 5xx, never pass unchecked."""


class UsedAssertions:
    """The table of used ``jti`` values (``OpenWebAssertionTable``)."""

    def __init__(self, table_name: str, dynamodb_client: DynamoDBClient | None = None) -> None:
        self._table_name = table_name
        self._client = dynamodb_client

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The injected client, else the process-wide one (made on first use, not at import)."""
        if self._client is None:
            self._client = client("dynamodb", REPLAY_TABLE_CONFIG)
        return self._client

    def record(self, jti: str, client_id: str, assertion_expires_at: int, now: float) -> None:
        """Record ``jti`` as used; raises :class:`ReplayedAssertionError` if it already was."""
        try:
            self.dynamodb.put_item(
                TableName=self._table_name,
                Item={
                    "jti": {"S": jti},
                    "client_id": {"S": client_id},
                    "used_at": {"N": str(int(now))},
                    "expires_at": {"N": str(assertion_expires_at + REPLAY_MARGIN)},
                },
                ConditionExpression="attribute_not_exists(jti)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ReplayedAssertionError("client assertion 'jti' was used before") from None
            raise ReplayStoreError(f"put_item failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise ReplayStoreError(f"put_item failed: {error_code(exc)}") from exc
