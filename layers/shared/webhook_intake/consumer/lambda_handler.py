"""Builds the consumer Lambda handler from the environment (used by functions/consumer/app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from webhook_intake.consumer.attempts import InvocationAttempts
from webhook_intake.consumer.service import ConsumerService, Continuation
from webhook_intake.consumer.settings import ConsumerSettings
from webhook_intake.consumer.shapes import ShapeWatch
from webhook_intake.observability import count_cold_start, function_logger, name_vendor, vendor_metrics
from webhook_intake.payloads import PayloadStore
from webhook_intake.registry import vendor
from webhook_intake.store.events import EventStore
from webhook_intake.store.quarantine import QuarantineStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext


def build_service(settings: ConsumerSettings, logger: Logger, metrics: Any) -> ConsumerService:
    """The vendor's consumer wired to AWS (clients are made on first use; every call tried within the time of
    the invocation)."""
    spec = vendor(settings.vendor)
    attempts = InvocationAttempts()
    payloads = PayloadStore(settings.payload_bucket, attempts=attempts)
    return ConsumerService(
        normalizer=spec.normalizer(),
        events=EventStore(settings.table_name, payloads=payloads, attempts=attempts),
        quarantine=QuarantineStore(settings.table_name, payloads=payloads, attempts=attempts),
        payloads=payloads,
        logger=logger,
        metrics=metrics,
        retention_days=settings.retention_days,
        max_receive_count=settings.max_receive_count,
        shapes=ShapeWatch(spec, settings.table_name, logger, attempts=attempts),
        continuation=Continuation(settings.queue_url) if settings.queue_url else None,
        attempts=attempts,
    )


def build_handler(
    settings: ConsumerSettings | None = None, service: ConsumerService | None = None
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The SQS-triggered handler for the vendor named by ``VENDOR`` (partial batch responses).

    No Powertools Tracer, as on the ingest functions: its X-Ray SDK wraps every DynamoDB call
    even in the invocations X-Ray does not sample (nearly all of them), a seventh of the
    consumer's CPU per event, and its import is a twelfth of a cold start (docs/performance.md).
    Lambda's active tracing still records each sampled invocation, linked to its message's trace.
    """
    settings = settings or ConsumerSettings.from_env()
    logger = function_logger()
    metrics = vendor_metrics(settings.vendor)
    count_cold_start(metrics)
    consumer = service or build_service(settings, logger, metrics)
    # Records stay Powertools' plain SQSRecord, not the parser's SqsRecordModel: a record the model
    # refuses (it requires SenderId, md5OfBody...) would be failed whole, retried and dead-lettered,
    # where its events are each stored or quarantined; and the model costs about 6 us a record
    # against 0.2 us. A batch where every record fails is still a partial response: each record is
    # retried and dead-lettered on its own.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    # Never the event: it holds comment text, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        name_vendor(logger, settings.vendor)
        consumer.begin(context.get_remaining_time_in_millis)
        try:
            records = event.get("Records")
            consumer.look_ahead(records if isinstance(records, list) else [])
            response: dict[str, Any] = dict(
                process_partial_response(
                    event=event, record_handler=consumer.handle_record, processor=processor, context=context
                )
            )
            # The feed's entries, a page for the whole batch: a record whose entries were not written is retried.
            retry = consumer.write_feed()
            if retry:
                failures = list(response.get("batchItemFailures") or [])
                response["batchItemFailures"] = failures + [{"itemIdentifier": message_id} for message_id in retry]
            return response
        finally:
            consumer.finish()

    return handler
