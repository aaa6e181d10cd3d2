"""The design most teams would build, for comparison: Powertools idempotency around a plain write.

The consumer is the project's own (same normalizers, same batch handling, same Powertools
logger, metrics and tracer), with two changes: each SQS record is processed inside
Powertools' ``idempotent_function`` with its DynamoDB persistence layer (keyed on the record
body, as Powertools' batch + idempotency guide does), and each normalized event is written
with a plain ``PutItem``. So a new record costs an INPROGRESS put, the event puts and a
COMPLETED update; a duplicate record costs one failed conditional put. It keeps no content
state (the project writes that in the same request as the event, see repository.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from boto3.dynamodb.types import TypeSerializer

from webhook_intake.consumer.service import ConsumerService
from webhook_intake.observability import vendor_metrics
from webhook_intake.payloads import PayloadStore
from webhook_intake.registry import vendor
from webhook_intake.repository import EventRepository, PutOutcome, to_item

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_intake.consumer.models import NormalizedEvent

IDEMPOTENCY_KEY = "id"
_SERIALIZER = TypeSerializer()


class PlainRepository(EventRepository):
    """Writes every event with an unconditional PutItem: idempotency is Powertools' job here."""

    def put_event(self, event: NormalizedEvent) -> PutOutcome:
        item = to_item(event, time.time(), self.retention_days)
        self.dynamodb.put_item(TableName=self.table_name, Item={k: _SERIALIZER.serialize(v) for k, v in item.items()})
        return PutOutcome.STORED


def build_usual_handler(
    vendor_key: str,
    table_name: str,
    idempotency_table: str,
    dynamodb_client: DynamoDBClient,
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The usual design's SQS consumer for ``vendor_key``."""
    logger = Logger()
    metrics = vendor_metrics(vendor_key)
    tracer = Tracer()
    payloads = PayloadStore(None)
    service = ConsumerService(
        normalizer=vendor(vendor_key).normalizer(),
        repository=PlainRepository(table_name, dynamodb_client=dynamodb_client),
        logger=logger,
        metrics=metrics,
        payloads=payloads,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=idempotency_table, key_attr=IDEMPOTENCY_KEY, boto3_client=dynamodb_client
    )
    config = IdempotencyConfig(event_key_jmespath="body", raise_on_no_idempotency_key=True)

    @idempotent_function(data_keyword_argument="record", persistence_store=persistence, config=config)
    def record_handler(record: SqsRecordModel) -> dict[str, int]:
        return service.handle_record(record)

    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config.register_lambda_context(context)
        return dict(
            process_partial_response(
                event=event,
                record_handler=lambda record: record_handler(record=record),
                processor=processor,
                context=context,
            )
        )

    return handler  # type: ignore[no-any-return]
