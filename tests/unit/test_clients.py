"""The process's clients send what a plain boto3 client with the same settings sends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.context import start_as_current_context
from botocore.useragent import register_feature_id

from webhook_intake.clients import client
from webhook_intake.ingest.queue import INGEST_CONFIG
from webhook_intake.store.table import CONSUMER_CONFIG

if TYPE_CHECKING:
    from botocore.config import Config

TABLE = "events"


def _headers_seen(made: Any) -> list[dict[str, Any]]:
    """The headers of every request ``made`` sends, as they leave botocore (before moto answers)."""
    seen: list[dict[str, Any]] = []
    made.meta.events.register_first("before-send", lambda request, **_: seen.append(dict(request.headers)))
    return seen


def _calls(made: Any, queue_url: str) -> None:
    if made.meta.service_model.service_name == "dynamodb":
        made.put_item(TableName=TABLE, Item={"pk": {"S": "a#1"}, "sk": {"S": "event"}}, ReturnConsumedCapacity="TOTAL")
        made.get_item(TableName=TABLE, Key={"pk": {"S": "a#1"}, "sk": {"S": "event"}})
    else:
        made.send_message(QueueUrl=queue_url, MessageBody="{}")


@pytest.mark.parametrize(("service", "config"), [("dynamodb", CONSUMER_CONFIG), ("sqs", INGEST_CONFIG)])
def test_a_request_carries_the_user_agent_a_plain_client_sends(
    aws: boto3.session.Session, service: str, config: Config
) -> None:
    aws.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = aws.client("sqs").create_queue(QueueName="events")["QueueUrl"]
    ours, plain = client(service, config), boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
    ours_seen, plain_seen = _headers_seen(ours), _headers_seen(plain)
    first: dict[str, str] = {}

    def both(phase: str) -> None:
        at = len(ours_seen)
        _calls(ours, queue_url)
        _calls(plain, queue_url)
        first.setdefault(phase, ours_seen[at]["User-Agent"])

    both("before")
    both("before")
    # A feature a request uses (a waiter's, a paginator's) is named in its header: each set of them is its own.
    with start_as_current_context():
        register_feature_id("PAGINATOR")
        both("with a feature")
    both("after")

    assert [headers["User-Agent"] for headers in ours_seen] == [headers["User-Agent"] for headers in plain_seen]
    assert first["with a feature"] != first["before"]
    assert first["after"] == first["before"]
