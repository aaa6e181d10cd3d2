"""Builds the consumer Lambda handler from the environment (used by functions/consumer/app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from webhook_intake.consumer.service import ConsumerService
from webhook_intake.consumer.settings import ConsumerSettings
from webhook_intake.observability import vendor_metrics
from webhook_intake.payloads import PayloadStore
from webhook_intake.registry import vendor
from webhook_intake.repository import EventRepository

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext


def build_handler(
    settings: ConsumerSettings | None = None, repository: EventRepository | None = None
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The SQS-triggered handler for the vendor named by ``VENDOR`` (partial batch responses)."""
    settings = settings or ConsumerSettings.from_env()
    logger = Logger()
    metrics = vendor_metrics(settings.vendor)
    tracer = Tracer()
    payloads = PayloadStore(settings.payload_bucket)
    service = ConsumerService(
        normalizer=vendor(settings.vendor).normalizer(),
        repository=repository or EventRepository(settings.table_name, settings.retention_days, payloads=payloads),
        logger=logger,
        metrics=metrics,
        payloads=payloads,
    )
    # A batch where every record fails is still a partial response: the event source
    # mapping retries each record and dead-letters it on its own receive count.
    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)

    # Never the event: it holds credentials and comment text, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return dict(
            process_partial_response(
                event=event, record_handler=service.handle_record, processor=processor, context=context
            )
        )

    return handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped
