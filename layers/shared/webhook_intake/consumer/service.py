"""One queue record → its vendor events → conditional writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from webhook_intake.delivery import Delivery
from webhook_intake.repository import PutOutcome

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

    from webhook_intake.consumer.normalizing import VendorNormalizer
    from webhook_intake.repository import EventRepository


class EventsRejectedError(ValueError):
    """Some events of a record could not be normalized; the record is retried, then dead-lettered."""


@dataclass
class ConsumerService:
    """Normalizes and stores the events of one vendor's queue records."""

    normalizer: VendorNormalizer
    repository: EventRepository
    logger: Logger

    def handle_record(self, record: SqsRecordModel) -> dict[str, int]:
        """Store every event of ``record``; raise if any event could not be normalized.

        The good events of a partly bad record are written first: on every retry they are
        duplicates (no-ops), and the record still reaches the dead-letter queue whole.
        """
        delivery = Delivery.from_message_attributes(
            {name: attribute.model_dump() for name, attribute in record.messageAttributes.items()}
        )
        self.logger.set_correlation_id(delivery.correlation_id or record.messageId)
        result = self.normalizer.normalize(str(record.body), delivery)
        counts = {PutOutcome.STORED.value: 0, PutOutcome.DUPLICATE.value: 0}
        for event in result.events:
            outcome = self.repository.put_event(event)
            counts[outcome.value] += 1
        self.logger.info(
            "record processed",
            extra={"message_id": record.messageId, "failed": len(result.errors), **counts},
        )
        if result.errors:
            raise EventsRejectedError(f"{len(result.errors)} event(s) not normalized: " + " | ".join(result.errors))
        return counts
