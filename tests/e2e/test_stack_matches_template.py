"""The running local stack has every route, queue, table, bucket and secret template.yaml declares.

Expectations are read from the template document itself (not from the code that builds
the stack), and checked against the running gateway and moto server over HTTP.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from intake_cli.stack import LocalStack, StackOptions
from intake_cli.template import SamTemplate

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

GATEWAY_NOT_FOUND = b'{"message":"Not Found"}'
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "MaximumMessageSize")
# The outputs `intake --stack` reads; the local stack.json must have them too (alarm topics and
# dashboards are not part of the local stack).
CLI_OUTPUTS = re.compile(r"ApiUrl|EventsTableName|\w+(QueueUrl|DeadLetterQueueUrl|DeadLetterQueueArn|SecretArn)")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[LocalStack]:
    """The local stack in this process, on free ports, with a stack name of its own."""
    options = StackOptions(
        port=0,
        stack_name=f"wi-e2e-{uuid.uuid4().hex[:8]}",
        log_file=tmp_path / "stack.log",
        state_file=tmp_path / "stack.json",
        capture_stdout=False,
    )
    with LocalStack(options) as stack:
        yield stack


def template_routes(template: SamTemplate) -> set[str]:
    """``METHOD /path`` of every HttpApi event in the template document."""
    return {
        f"{str(event['Properties']['Method']).upper()} {event['Properties']['Path']}"
        for resource in template.resources.values()
        if resource.get("Type") == "AWS::Serverless::Function"
        for event in dict(resource.get("Properties", {}).get("Events", {})).values()
        if event.get("Type") == "HttpApi"
    }


def template_event_sources(template: SamTemplate) -> dict[str, tuple[int, int]]:
    """Queue logical id → (batch size, batching window) of every SQS event in the template document."""
    sources = {}
    for resource in template.resources.values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in dict(resource.get("Properties", {}).get("Events", {})).values():
            if event.get("Type") == "SQS":
                props = event["Properties"]
                queue = props["Queue"]["Fn::GetAtt"][0]
                sources[queue] = (
                    int(template.value(props.get("BatchSize", 10))),
                    int(template.value(props.get("MaximumBatchingWindowInSeconds", 0))),
                )
    return sources


def missing_from(stack: LocalStack, template: SamTemplate) -> list[str]:
    """Everything ``template`` declares that the running ``stack`` lacks or has differently."""
    state = json.loads(stack.options.state_file.read_text()) if stack.options.state_file else stack.state()
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=state["region"]
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=state["aws_endpoint_url"])  # type: ignore[call-overload]

    problems = [f"route {route}" for route in sorted(template_routes(template)) if not _served(state["api_url"], route)]
    problems += _queue_problems(template, state, client("sqs"))
    problems += _event_source_problems(template, stack)
    problems += _table_problems(template, state, client("dynamodb"))
    problems += _secret_problems(template, state, client("secretsmanager"))
    problems += _bucket_problems(template, state, client("s3"))
    problems += [
        f"output {name}"
        for name in dict(template.document.get("Outputs", {}))
        if CLI_OUTPUTS.fullmatch(name) and name not in state["outputs"]
    ]
    # An output that is a URL of the API is one the local gateway answers
    problems += [
        f"output {name} {value} is not the local gateway's"
        for name, value in state["outputs"].items()
        if "execute-api" in value
    ]
    return problems


def _served(api_url: str, route: str) -> bool:
    """Anything but the gateway's own 404 means a handler took the request."""
    method, _, path = route.partition(" ")
    url = api_url + re.sub(r"\{[^}]+\}", "comment-created", path)
    request = urllib.request.Request(url, data=b"{}", method=method, headers={"content-type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status != 404
    except urllib.error.HTTPError as refused:
        with refused:
            return not (refused.code == 404 and refused.read() == GATEWAY_NOT_FOUND)


def _queue_problems(template: SamTemplate, state: dict[str, Any], sqs: Any) -> list[str]:
    problems = []
    urls = state["resources"]
    for logical_id, props in template.of_type("AWS::SQS::Queue").items():
        if logical_id not in urls:
            problems.append(f"queue {logical_id}")
            continue
        try:
            actual = sqs.get_queue_attributes(QueueUrl=urls[logical_id], AttributeNames=["All"])["Attributes"]
        except sqs.exceptions.QueueDoesNotExist:
            problems.append(f"queue {logical_id}")
            continue
        for name in _QUEUE_ATTRIBUTES:
            if name in props and str(template.value(props[name])) != actual.get(name):
                problems.append(f"queue {logical_id} {name}: {actual.get(name)} != {template.value(props[name])}")
        if "RedrivePolicy" in props:
            problems += _redrive_problems(logical_id, props["RedrivePolicy"], template, actual, urls, sqs)
    return problems


def _redrive_problems(
    logical_id: str,
    policy: dict[str, Any],
    template: SamTemplate,
    actual: dict[str, str],
    urls: dict[str, str],
    sqs: Any,
) -> list[str]:
    if "RedrivePolicy" not in actual:
        return [f"queue {logical_id} RedrivePolicy"]
    redrive = json.loads(actual["RedrivePolicy"])
    target = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
    if target not in urls:
        return [f"queue {logical_id} dead-letter target {target}"]
    target_arn = sqs.get_queue_attributes(QueueUrl=urls[target], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    problems = []
    if redrive.get("deadLetterTargetArn") != target_arn:
        problems.append(f"queue {logical_id} deadLetterTargetArn {redrive.get('deadLetterTargetArn')} != {target_arn}")
    if int(redrive.get("maxReceiveCount", -1)) != int(template.value(policy["maxReceiveCount"])):
        problems.append(f"queue {logical_id} maxReceiveCount {redrive.get('maxReceiveCount')}")
    return problems


def _event_source_problems(template: SamTemplate, stack: LocalStack) -> list[str]:
    polled = {poller.source.queue_id: poller.source for poller in stack.pollers}
    alive = {thread.name for thread in threading.enumerate()}
    problems = []
    for queue, (batch_size, window) in template_event_sources(template).items():
        source = polled.get(queue)
        if source is None or f"poller-{queue}" not in alive:
            problems.append(f"event source mapping on {queue}")
        elif (source.batch_size, source.batching_window) != (batch_size, window):
            problems.append(f"event source mapping on {queue}: batch {source.batch_size}/{source.batching_window} s")
    return problems


def _table_problems(template: SamTemplate, state: dict[str, Any], dynamodb: Any) -> list[str]:
    problems = []
    for logical_id, props in template.of_type("AWS::DynamoDB::Table").items():
        name = state["resources"].get(logical_id)
        try:
            table = dynamodb.describe_table(TableName=name or logical_id)["Table"]
        except dynamodb.exceptions.ResourceNotFoundException:
            problems.append(f"table {logical_id}")
            continue
        if table["KeySchema"] != props["KeySchema"]:
            problems.append(f"table {logical_id} KeySchema")
        actual = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        for index in props.get("GlobalSecondaryIndexes", []):
            found = actual.get(index["IndexName"])
            if found is None:
                problems.append(f"table {logical_id} index {index['IndexName']}")
            elif found["KeySchema"] != index["KeySchema"] or _projection(found) != _projection(index):
                problems.append(f"table {logical_id} index {index['IndexName']} keys or projection")
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            described = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if described.get("AttributeName") != ttl["AttributeName"]:
                problems.append(f"table {logical_id} TTL attribute")
    return problems


def _projection(index: dict[str, Any]) -> tuple[str, list[str]]:
    projection = index.get("Projection", {})
    return projection.get("ProjectionType", ""), sorted(projection.get("NonKeyAttributes", []))


def _secret_problems(template: SamTemplate, state: dict[str, Any], secretsmanager: Any) -> list[str]:
    problems = []
    for logical_id, props in template.of_type("AWS::SecretsManager::Secret").items():
        name = template.value(props.get("Name", logical_id), refs={"AWS::StackName": state["stack_name"]})
        try:
            value = secretsmanager.get_secret_value(SecretId=name)["SecretString"]
        except secretsmanager.exceptions.ResourceNotFoundException:
            problems.append(f"secret {logical_id} ({name})")
            continue
        if not json.loads(value):
            problems.append(f"secret {logical_id} ({name}) is not seeded")
    return problems


def _bucket_problems(template: SamTemplate, state: dict[str, Any], s3: Any) -> list[str]:
    problems = []
    for logical_id in template.of_type("AWS::S3::Bucket"):
        name = state["resources"].get(logical_id)
        try:
            s3.head_bucket(Bucket=name or logical_id.lower())
        except s3.exceptions.ClientError:
            problems.append(f"bucket {logical_id}")
    return problems


def test_the_running_stack_has_everything_the_template_declares(running: LocalStack) -> None:
    # Given template.yaml and the local stack started from it
    template = SamTemplate()
    assert template_routes(template)
    assert template.of_type("AWS::SQS::Queue")
    assert template.of_type("AWS::DynamoDB::Table")
    assert template.of_type("AWS::SecretsManager::Secret")

    # When every declared resource is looked up on the running gateway and moto server
    problems = missing_from(running, template)

    # Then none is missing or different
    assert problems == []


def test_a_resource_the_stack_lacks_fails_the_check(running: LocalStack) -> None:
    # Given a template that declares one more route, queue, table and secret than the stack has
    template = SamTemplate()
    function = next(iter(template.of_type("AWS::Serverless::Function")))
    events = template.resources[function]["Properties"]["Events"]
    events["Extra"] = {"Type": "HttpApi", "Properties": {"Path": "/webhooks/extra", "Method": "POST"}}
    template.resources["ExtraQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}
    template.resources["ExtraTable"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]},
    }
    template.resources["ExtraSecret"] = {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "extra"}}
    template.resources["ExtraBucket"] = {"Type": "AWS::S3::Bucket", "Properties": {}}

    # When the check runs against the stack
    problems = missing_from(running, template)

    # Then it names exactly what is missing
    assert sorted(problems) == [
        "bucket ExtraBucket",
        "queue ExtraQueue",
        "route POST /webhooks/extra",
        "secret ExtraSecret (extra)",
        "table ExtraTable",
    ]
