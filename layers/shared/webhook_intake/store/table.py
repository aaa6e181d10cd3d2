"""What every reader and writer of a table holds: its name, a DynamoDB client, the payload store."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from botocore.config import Config

from webhook_intake.clients import client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_intake.payloads import PayloadStore

CONSUMER_CONFIG = Config(retries={"total_max_attempts": 5, "mode": "standard"}, parameter_validation=False)
"""The consumer's DynamoDB and S3 clients: standard-mode retries (throttling backs off), no client-side
validation of requests this code builds itself."""


class TableAccess:
    """A table (the events table, the replay table), through an injected client or the process-wide one
    (made on first use, with the subclass's ``client_config``)."""

    client_config: ClassVar[Config | None] = CONSUMER_CONFIG

    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient | None = None,
        payloads: PayloadStore | None = None,
    ) -> None:
        self.table_name = table_name
        self._client = dynamodb_client
        self._payloads = payloads

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The injected client, else the process-wide one."""
        if self._client is None:
            self._client = client("dynamodb", self.client_config)
        return self._client
