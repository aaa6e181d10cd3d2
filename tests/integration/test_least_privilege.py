"""Every AWS call a function makes is one its own role allows.

moto does not check IAM; AWS does. A key the code writes outside the patterns of its role (a
vendor prefix spelled otherwise, a new kind of item, a new S3 prefix) would pass every local
test and fail on AWS with AccessDenied; so would a send to another queue, a read of another
secret, or a call of a service no role grants anything of. Here every call the functions make, on
the paths that write (events, duplicates with their body in S3, feed pages, shapes, claim checks,
recipient lists, quarantine and its release, both uses of the replay table, the rest of a delivery
sent back on its queue) and the secrets they read, is checked against the statements of the
function's role in SAM's translated template.
"""

from __future__ import annotations

import json
import re
import secrets as secrets_module
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.client import BaseClient

from intake_cli.events import sqs_event
from intake_cli.lambdas import LambdaContext, LocalFunction
from intake_cli.openweb_client import client_assertion, token_request_body
from intake_cli.samples import SAMPLES_DIR, sample_files
from intake_cli.sending import OPENWEB_TOKEN_PATH
from tests.conftest import queue_messages
from tests.helpers import (
    cli_json,
    mapping_fails_on,
    notifications_body,
    publish_outputs,
    quarantined,
    send,
    send_body,
    send_events_with_parts_in_s3,
    stack_with,
)
from tests.infrastructure.translated import translated
from webhook_intake.consumer.service import TIME_RESERVE_MS
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    import boto3

    from intake_cli.provision import Stack
    from intake_cli.runtime import LocalRuntime

_running = threading.local()
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(function's logical id, service, operation, parameters) of every AWS call a function makes."""
    made: list[tuple[str, str, str, dict[str, Any]]] = []
    invoke, make_api_call = LocalFunction.invoke, BaseClient._make_api_call

    def invoking(self: LocalFunction, event: dict[str, Any]) -> Any:
        _running.function = self.spec.logical_id
        try:
            return invoke(self, event)
        finally:
            _running.function = None

    def recording(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        function = getattr(_running, "function", None)
        if function is not None:
            made.append((function, self.meta.service_model.service_name, operation, dict(params)))
        return make_api_call(self, operation, params)

    monkeypatch.setattr(LocalFunction, "invoke", invoking)
    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return made


def _like(pattern: str, value: str) -> bool:
    """IAM's StringLike: ``*`` any run of characters, ``?`` one, everything else itself."""
    parts = (".*" if part == "*" else "." if part == "?" else re.escape(part) for part in re.split(r"([*?])", pattern))
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


def _sub(value: Any) -> str:
    """An S3 resource of the translated template as a key pattern: ``Fn::Sub`` with its variables put in."""
    text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
    for name, replacement in variables.items():
        text = text.replace("${" + name + "}", str(replacement))
    prefix = "${PayloadBucket.Arn}/"
    assert text.startswith(prefix), f"an S3 resource this check cannot read: {value}"
    return text.removeprefix(prefix)


def _statements(function: str) -> list[dict[str, Any]]:
    role = translated()["Resources"][f"{function}Role"]["Properties"]
    return [statement for policy in role.get("Policies", []) for statement in policy["PolicyDocument"]["Statement"]]


def _leading_key(service_params: dict[str, Any]) -> str:
    if "KeyConditionExpression" in service_params:  # a query: its partition key's value
        (name,) = re.findall(r"\bpk = (:\w+)", service_params["KeyConditionExpression"])
        return str(service_params["ExpressionAttributeValues"][name]["S"])
    key = service_params.get("Item") or service_params.get("Key") or {}
    (attribute,) = [name for name in ("pk", "credential") if name in key]
    return str(key[attribute]["S"])


def _named(value: Any, names: dict[str, str]) -> str | None:
    """What a queue's or secret's resource in the translated template names here: SAM's policy templates write
    ``Fn::Sub`` with the queue (``Fn::GetAtt [Queue, QueueName]``) or secret (``Ref``) as its one variable."""
    if "Fn::Sub" not in value or isinstance(value["Fn::Sub"], str):
        return None
    ((_, named),) = value["Fn::Sub"][1].items()
    logical_id = named["Fn::GetAtt"][0] if "Fn::GetAtt" in named else named.get("Ref")
    return names.get(logical_id)


def _allows(statement: dict[str, Any], action: str, resource: str, leading_key: str | None, stack: Stack) -> bool:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if statement["Effect"] != "Allow" or not any(_like(granted, action) for granted in actions):
        return False
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if action.startswith("dynamodb:"):
        named = {stack.tables[value["Fn::GetAtt"][0]] for value in resources if "Fn::GetAtt" in value}
        if resource not in named:
            return False
        for operator, conditions in (statement.get("Condition") or {}).items():
            (key,) = conditions
            assert key == "dynamodb:LeadingKeys", f"a condition this check cannot read: {key}"
            match = _like if operator == "ForAllValues:StringLike" else str.__eq__
            assert operator in {"ForAllValues:StringLike", "ForAllValues:StringEquals"}, operator
            if not any(match(pattern, leading_key or "") for pattern in conditions[key]):
                return False
        return True
    if action.startswith(("sqs:", "secretsmanager:")):
        names = stack.queues if action.startswith("sqs:") else stack.secrets
        return resource in {_named(value, names) for value in resources}
    return any(_like(_sub(value), resource) for value in resources if "Fn::Sub" in value)


def _refused(calls: list[tuple[str, str, str, dict[str, Any]]], runtime: LocalRuntime) -> list[str]:
    refused = []
    for function, service, operation, params in calls:
        action = f"{service}:{operation}"
        leading_key = None
        if service == "dynamodb":
            resource, leading_key = params["TableName"], _leading_key(params)
        elif service == "s3":
            resource = params["Key"]
        elif service == "sqs":
            resource = params["QueueUrl"]
        elif service == "secretsmanager":
            resource = params["SecretId"]
        else:  # a service no role grants anything of yet: its calls need their statements (and a case here)
            refused.append(f"{function}: {action}")
            continue
        # A PutObject with tags is also an s3:PutObjectTagging, which the role must allow as well
        needed = [action, "s3:PutObjectTagging"] if params.get("Tagging") else [action]
        for one in needed:
            if not any(_allows(s, one, resource, leading_key, runtime.stack) for s in _statements(function)):
                refused.append(f"{function}: {one} {resource} {leading_key or ''}".rstrip())
    return sorted(set(refused))


def test_every_aws_call_of_every_function_is_allowed_by_its_role(
    aws: boto3.session.Session,
    stack_name: str,
    secrets: dict[str, Any],
    calls: list[tuple[str, str, str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stack with a retention: an event's parts in S3 are then put with their retention tag
    runtime = stack_with({"RetentionDays": "30"}, aws, stack_name, secrets)
    # Every sample of every vendor: events, feed pages, new shapes, FastComments' replay table
    for key in VENDORS:
        for path in sample_files(key):
            send(runtime, key, path, secrets)
    # OpenWeb's token route: an assertion's id recorded once
    secret = secrets["openweb"]
    assertion = client_assertion(secret["client_id"], secret["client_secret"], secret["audience"], time.time())
    answer = runtime.request("POST", OPENWEB_TOKEN_PATH, FORM, token_request_body(assertion))
    assert answer.status == 200, answer.body
    # A delivery over SQS's limit (a claim check), whose comment is too large for an item (its body in S3),
    # then the same again (a duplicate, compared with the body read back from S3); a notification to more
    # recipients than an item holds (the list in S3)
    send_events_with_parts_in_s3(runtime, secrets, comment_copies=2)
    # A poison event (quarantined), and one a mapping refused, then sent back once the mapping is fixed (released)
    send_body(runtime, "viafoura-notifications", notifications_body("good-1", None), secrets["viafoura-notifications"])
    fix = mapping_fails_on(
        monkeypatch, "viafoura-engagement", lambda value: value.get("event_uuid") == "fix-me", ValueError("not yet")
    )
    engagement = json.loads((SAMPLES_DIR / "viafoura-engagement" / "livecomment_post.json").read_bytes())
    engagement["events"] = [{**engagement["events"][0], "event_uuid": "fix-me"}]
    send_body(runtime, "viafoura-engagement", json.dumps(engagement).encode(), secrets["viafoura-engagement"])
    runtime.drain()
    fix()
    (held,) = quarantined(runtime, "viafoura-engagement")
    publish_outputs(aws, runtime)
    cli_json("dlq", "redrive", "--stack", runtime.stack.name, "--id", f"viafoura-engagement/{held['sk']}", "--json")
    runtime.drain()
    assert quarantined(runtime, "viafoura-engagement") == []
    # A first version consumed after a later one with other content (kept as the conflict), and after a retry
    # of it kept as a conflict meanwhile (released once the first version takes the later one's place); the
    # first version too large to keep its text in the item (the retry's text waits in S3)
    large = "a" + secrets_module.token_hex(400_000)
    first, later = ({"event_id": "two-versions", "type": "message-rejected", "content": text} for text in (large, "b"))
    for body in (first, later, first):
        assert send_body(runtime, "openweb", json.dumps(body).encode(), secrets["openweb"]).status == 200
        time.sleep(0.01)
    url = runtime.stack.queues["OpenWebQueue"]
    messages = sorted(
        queue_messages(runtime.sqs, url), key=lambda m: m["MessageAttributes"]["received_at"]["StringValue"]
    )
    for message in (messages[1], messages[2], messages[0]):
        runtime.functions["OpenWebConsumerFunction"].invoke(
            sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1")
        )
        runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [json.loads(item["text"])["content"] for item in quarantined(runtime, "openweb")] == ["b"]
    # A delivery its consumer runs out of time for after its first event: the rest goes back on its queue
    vendor, stem = "viafoura-notifications", "ViafouraNotifications"
    assert send_body(runtime, vendor, notifications_body("rest-1", "rest-2"), secrets[vendor]).status == 204
    url = runtime.stack.queues[f"{stem}Queue"]
    (message,) = queue_messages(runtime.sqs, url)
    with monkeypatch.context() as clock:
        # its two events read ahead, the record's check, then its first event and the attempt of its write; the
        # reserve from the second
        left = iter([60_000] * 5)
        clock.setattr(LambdaContext, "get_remaining_time_in_millis", lambda _: next(left, TIME_RESERVE_MS - 1))
        runtime.functions[f"{stem}ConsumerFunction"].invoke(
            sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1")
        )
    runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    (rest,) = queue_messages(runtime.sqs, url)
    assert rest["MessageAttributes"]["resume_at"]["StringValue"] == "1"
    runtime.drain()

    # Then each path was taken, and every call it made is allowed by the role of the function that made it
    made = {(service, operation) for _, service, operation, _ in calls}
    assert {
        ("dynamodb", "PutItem"),
        ("dynamodb", "UpdateItem"),
        ("dynamodb", "DeleteItem"),
        ("dynamodb", "Query"),
    } <= made
    assert {("s3", "PutObject"), ("s3", "GetObject")} <= made
    # Queues and secrets too: each ingest's send and secret, the token route's secret, a consumer's rest of a delivery
    assert {("sqs", "SendMessage"), ("secretsmanager", "GetSecretValue")} <= made
    senders = {function for function, service, *_ in calls if service == "sqs"}
    assert {f"{spec.stem}IngestFunction" for spec in VENDORS.values()} | {f"{stem}ConsumerFunction"} <= senders
    written = {params.get("Key", "").split("/", 1)[0] for _, service, _, params in calls if service == "s3"}
    assert {"deliveries", "bodies", "recipients", "quarantine"} <= written
    assert any(params.get("Tagging") for _, service, _, params in calls if service == "s3")
    assert {function for function, *_ in calls} >= {"OpenWebTokenFunction", "FastCommentsIngestFunction"}
    assert _refused(calls, runtime) == []
