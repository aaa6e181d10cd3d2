"""Shape drift: what a consumer keeps of the shapes a vendor sends."""

from __future__ import annotations

import gc
import tracemalloc
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from webhook_intake.consumer.shapes import MAX_PATH_BYTES, MAX_SHAPE_WRITES, ShapeWatch
from webhook_intake.observability import vendor_metrics
from webhook_intake.registry import VENDORS
from webhook_intake.store.wire import decode_item

if TYPE_CHECKING:
    import boto3


def test_a_consumer_keeps_no_vendor_type_whole_however_long(aws: boto3.session.Session) -> None:
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    watch = ShapeWatch(VENDORS["openweb"], "events", Logger(service="test"), dynamodb_client=dynamodb)
    metrics = vendor_metrics("openweb")
    # Given 40 stored events, each of a new type 150 KB long (6 MB of types), kept over two invocations
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for invocation in range(2):
            for n in range(MAX_SHAPE_WRITES):
                source_type = f"{invocation}-{n}-" + "t" * 150_000
                watch.observe(source_type, {"event_id": f"{invocation}-{n}", "type": source_type})
                del source_type
            watch.flush(metrics)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    # Then the consumer holds under 1 MB of them afterwards (a warm consumer kept them all: 512 MB is 3,500 of them)
    assert kept < 1_000_000, kept
    # and every shape is kept, its type cut as its item holds it
    items = dynamodb.query(
        TableName="events",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "shape#openweb"}},
    )["Items"]
    assert len(items) == 2 * MAX_SHAPE_WRITES
    assert all(len(decode_item(item)["source_type"].encode()) <= MAX_PATH_BYTES for item in items)
