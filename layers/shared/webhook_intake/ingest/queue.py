"""Putting an accepted delivery on the vendor's SQS queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import INGEST_CONFIG, client

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from webhook_intake.delivery import Delivery


class EnqueueError(RuntimeError):
    """The delivery is not on the queue: the vendor must get a 5xx and retry."""


class QueueSender:
    """Sends raw bodies with their delivery attributes to one queue."""

    def __init__(self, queue_url: str, sqs_client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = sqs_client

    @property
    def sqs(self) -> SQSClient:
        """The injected client, else the process-wide one (made on first use, not at import)."""
        if self._client is None:
            self._client = client("sqs", INGEST_CONFIG)
        return self._client

    def send(self, body: str, delivery: Delivery) -> str:
        """Enqueue and return the SQS message id; raises :class:`EnqueueError`."""
        try:
            response = self.sqs.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageAttributes=delivery.to_message_attributes(),  # type: ignore[arg-type]
            )
        except (ClientError, BotoCoreError) as exc:
            raise EnqueueError(f"send_message failed: {type(exc).__name__}") from exc
        return response["MessageId"]
