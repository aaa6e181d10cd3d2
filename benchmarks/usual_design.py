"""The design most teams would build, for comparison: Powertools idempotency around a plain write.

The consumer is the project's own (same normalizers, same items, same batch handling, same
Powertools logger and metrics, no tracer), with two changes: each SQS record is processed inside
Powertools' ``idempotent_function`` with its DynamoDB persistence layer (keyed on the record
body, as Powertools' batch + idempotency guide does), and each event is written with a plain,
unconditional ``PutItem`` of the same item. So a new record costs an INPROGRESS put, the event
puts and a COMPLETED update; a duplicate record costs one failed conditional put. In the cost
model it runs behind the same kind of API as ours (an HTTP API), synchronously: one function
authenticates, normalizes and writes before answering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from webhook_intake.consumer.service import ConsumerService
from webhook_intake.consumer.shapes import ShapeWatch
from webhook_intake.observability import vendor_metrics
from webhook_intake.payloads import PayloadStore
from webhook_intake.registry import vendor
from webhook_intake.store.events import EventStore, Outcome, PutResult
from webhook_intake.store.quarantine import QuarantineStore
from webhook_intake.store.wire import encode_item

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_intake.store.items import Prepared

IDEMPOTENCY_KEY = "id"


class PlainEventStore(EventStore):
    """Writes every event with an unconditional PutItem: idempotency is Powertools' job here."""

    def put(self, prepared: Prepared, raw: bytes) -> PutResult:
        """One plain ``PutItem`` of the item (no condition: nothing to tell of an earlier try)."""
        self.dynamodb.put_item(TableName=self.table_name, Item=encode_item(prepared.item))
        return PutResult(Outcome.STORED, float(prepared.write_units()))


def build_usual_handler(
    vendor_key: str,
    table_name: str,
    idempotency_table: str,
    dynamodb_client: DynamoDBClient,
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The usual design's SQS consumer for ``vendor_key``."""
    logger = Logger()
    metrics = vendor_metrics(vendor_key)
    spec = vendor(vendor_key)
    payloads = PayloadStore(None)
    service = ConsumerService(
        normalizer=spec.normalizer(),
        events=PlainEventStore(table_name, dynamodb_client=dynamodb_client, payloads=payloads),
        quarantine=QuarantineStore(table_name, dynamodb_client=dynamodb_client, payloads=payloads),
        payloads=payloads,
        logger=logger,
        metrics=metrics,
        shapes=ShapeWatch(spec, table_name, logger, dynamodb_client=dynamodb_client),
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=idempotency_table, key_attr=IDEMPOTENCY_KEY, boto3_client=dynamodb_client
    )
    config = IdempotencyConfig(event_key_jmespath="body", raise_on_no_idempotency_key=True)

    @idempotent_function(data_keyword_argument="record", persistence_store=persistence, config=config)
    def record_handler(record: dict[str, Any]) -> dict[str, str]:
        service.handle_record(SQSRecord(record))
        return {"messageId": str(record.get("messageId", ""))}

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config.register_lambda_context(context)
        service.begin()
        try:
            return dict(
                process_partial_response(
                    event=event,
                    record_handler=lambda record: record_handler(record=record.raw_event),
                    processor=processor,
                    context=context,
                )
            )
        finally:
            service.finish()

    return handler  # type: ignore[no-any-return]
