"""One queue record → its vendor events → conditional writes."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from webhook_intake.consumer.normalizing import PoisonRecordError
from webhook_intake.delivery import Delivery
from webhook_intake.observability import Metric, count, count_by, milliseconds
from webhook_intake.payloads import ClaimCheck
from webhook_intake.repository import PutOutcome

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

    from webhook_intake.consumer.models import NormalizedEvent
    from webhook_intake.consumer.normalizing import VendorNormalizer
    from webhook_intake.payloads import PayloadStore
    from webhook_intake.repository import EventRepository


class EventsRejectedError(ValueError):
    """Some events of a record could not be normalized; the record is retried, then dead-lettered."""


@dataclass
class ConsumerService:
    """Normalizes and stores the events of one vendor's queue records."""

    normalizer: VendorNormalizer
    repository: EventRepository
    logger: Logger
    metrics: Metrics
    payloads: PayloadStore

    def handle_record(self, record: SqsRecordModel) -> dict[str, int]:
        """Process one record; a failure is logged (without payload values) and re-raised for the batch."""
        try:
            return self._handle(record)
        except Exception as exc:
            # Messages name the failure (a validation path, an AWS error code), never the data.
            self.logger.exception(
                "record failed; it will be retried, then dead-lettered",
                extra={"message_id": record.messageId, "error": type(exc).__name__},
            )
            raise

    def _handle(self, record: SqsRecordModel) -> dict[str, int]:
        """Store every event of ``record``; raise if any event could not be normalized.

        The good events of a partly bad record are written first: on every retry they are
        duplicates (no-ops), and the record still reaches the dead-letter queue whole.
        """
        delivery = Delivery.from_message_attributes(
            {name: attribute.model_dump() for name, attribute in record.messageAttributes.items()}
        )
        self.logger.set_correlation_id(delivery.correlation_id or record.messageId)
        body = str(record.body)
        if delivery.claim_check:
            # The delivery was over the SQS limit: the message is a pointer to the body in S3.
            body = self.payloads.fetch(ClaimCheck.from_pointer(body))
        try:
            result = self.normalizer.normalize(body, delivery)
        except PoisonRecordError:
            count(self.metrics, Metric.NORMALIZATION_FAILURES)
            raise
        counts = {PutOutcome.STORED.value: 0, PutOutcome.DUPLICATE.value: 0}
        stored_types: Counter[str] = Counter()
        for event in result.events:
            outcome = self.repository.put_event(event)
            counts[outcome.value] += 1
            if outcome is PutOutcome.STORED:
                stored_types[event.event_type] += 1
                self._lags(event)
        # Per vendor (alarms, dashboard) and per vendor and event type (drill-down).
        if stored_types:
            count(self.metrics, Metric.STORED, stored_types.total())
        for event_type, stored in stored_types.items():
            count_by(self.normalizer.vendor, Metric.STORED, "event_type", event_type, stored)
        if counts[PutOutcome.DUPLICATE.value]:
            count(self.metrics, Metric.DUPLICATES, counts[PutOutcome.DUPLICATE.value])
        if result.errors:
            count(self.metrics, Metric.NORMALIZATION_FAILURES, len(result.errors))
        self.logger.debug(
            "record processed",
            extra={"message_id": record.messageId, "failed": len(result.errors), **counts},
        )
        if result.errors:
            raise EventsRejectedError(f"{len(result.errors)} event(s) not normalized: " + " | ".join(result.errors))
        return counts

    def _lags(self, event: NormalizedEvent) -> None:
        """Vendor event time → stored, and accepted by ingest → stored, in milliseconds."""
        now_ms = time.time() * 1000
        for metric, moment in (
            (Metric.END_TO_END_LAG, event.occurred_at),
            (Metric.INGEST_TO_STORE_LAG, event.received_at),
        ):
            try:
                then_ms = datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000
            except ValueError:
                continue
            milliseconds(self.metrics, metric, max(0.0, now_ms - then_ms))
