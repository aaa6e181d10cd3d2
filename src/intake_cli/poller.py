"""An SQS poller that behaves like a Lambda event source mapping with ReportBatchItemFailures."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from intake_cli.events import sqs_event

if TYPE_CHECKING:
    from intake_cli.lambdas import LocalFunction
    from intake_cli.template import QueueSource

LOG = logging.getLogger("intake.poller")
_SQS_RECEIVE_MAX = 10
# How often a batching window looks for more messages (SQS long polls take whole seconds).
_WINDOW_TICK = 0.1


@dataclass
class PollResult:
    """What one poll did."""

    received: int = 0
    succeeded: int = 0
    failed: int = 0


class QueuePoller:
    """Receives a batch, invokes the function, deletes what succeeded.

    As with the real mapping, failed records stay on the queue and come back after their
    visibility timeout; each receive counts, so the queue's redrive policy moves a record
    that keeps failing to its dead-letter queue. ``retry_visibility`` (seconds) shortens
    the wait before a failed record comes back, so a local run does not sit out the
    deployed timeout; None keeps the queue's own.
    """

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        function: LocalFunction,
        source: QueueSource,
        region: str,
        retry_visibility: int | None = None,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function = function
        self.source = source
        self.region = region
        self.retry_visibility = retry_visibility

    def poll_once(self, wait_seconds: int = 0, batching_window: float = 0) -> PollResult:
        """One batch, up to the mapping's batch size.

        ``batching_window`` (seconds) is the mapping's MaximumBatchingWindowInSeconds: once a
        first message arrives, keep gathering until the batch is full or the window closes.
        The default 0 invokes at once with what one round of receives returned.
        """
        messages = self._receive(wait_seconds, batching_window)
        if not messages:
            return PollResult()
        failed_ids = self._invoke(messages)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), _SQS_RECEIVE_MAX):
            chunk = done[start : start + _SQS_RECEIVE_MAX]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if self.retry_visibility is not None:
            for message in messages:
                if message["MessageId"] in failed_ids:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=self.retry_visibility,
                    )
        return PollResult(received=len(messages), succeeded=len(done), failed=len(failed_ids))

    def _receive(self, wait_seconds: int, batching_window: float) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        window_closes = 0.0
        while len(messages) < self.source.batch_size:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(_SQS_RECEIVE_MAX, self.source.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0 if messages else wait_seconds,
            )
            batch = response.get("Messages", [])
            if batch:
                if not messages:
                    window_closes = time.monotonic() + batching_window
                messages.extend(batch)
                continue
            remaining = window_closes - time.monotonic()
            if not messages or remaining <= 0:
                break
            time.sleep(min(_WINDOW_TICK, remaining))
        return messages

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        """The ids of the records that failed (all of them when the function itself fails)."""
        event = sqs_event(messages, self.queue_arn, self.region)
        try:
            response = self.function.invoke(event)
        except Exception:  # a function error fails the whole batch, as in Lambda
            LOG.exception("%s failed; its batch of %d will be retried", self.function.spec.logical_id, len(messages))
            return {m["MessageId"] for m in messages}
        if not self.source.report_batch_item_failures:
            return set()
        try:
            failed = {failure.get("itemIdentifier") for failure in (response or {}).get("batchItemFailures") or []}
        except (AttributeError, TypeError):  # not a partial batch response at all
            failed = {None}
        batch = {m["MessageId"] for m in messages}
        if not failed <= batch:
            # As Lambda does: an answer it cannot read, or an identifier empty, null or of no record of the
            # batch, fails all of it.
            LOG.error(
                "%s answered batchItemFailures Lambda would not take (a record not in its batch, or none named); "
                "its batch of %d will be retried",
                self.function.spec.logical_id,
                len(messages),
            )
            return batch
        return {str(identifier) for identifier in failed}
