"""`intake --stack NAME`: a deployed stack found through its CloudFormation outputs (moto stands in for AWS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from intake_cli.main import app
from intake_cli.queues import LocalMessageMover, SqsMessageMover
from intake_cli.samples import sample_files, sample_request
from intake_cli.sending import vendor_secret
from intake_cli.target import IntakeError, Target, deployed_target
from tests.helpers import cli, cli_json, publish_outputs
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    import boto3

    from intake_cli.runtime import LocalRuntime

REGION = "us-east-1"


def test_a_deployed_stack_is_read_from_its_cloudformation_outputs(
    aws: boto3.session.Session, runtime: LocalRuntime
) -> None:
    # Given a stack whose outputs are template.yaml's
    outputs = publish_outputs(aws, runtime)

    # When the CLI looks it up by name
    target = deployed_target(runtime.stack.name, REGION)

    # Then every vendor's queue, DLQ and secret, the table and the API URL come from those outputs
    assert not target.local
    assert target.api_url == outputs["ApiUrl"]
    assert target.events_table == outputs["EventsTableName"] == runtime.stack.tables["EventsTable"]
    for key, spec in VENDORS.items():
        resources = target.vendor(key)
        assert resources.queue_url == runtime.stack.queues[f"{spec.stem}Queue"]
        assert resources.dead_letter_queue_url == runtime.stack.queues[f"{spec.stem}DeadLetterQueue"]
        assert resources.dead_letter_queue_arn == runtime.stack.attrs[f"{spec.stem}DeadLetterQueue.Arn"]
        assert resources.secret_id == runtime.stack.secrets[f"{spec.stem}Secret"]


def test_a_stack_without_the_outputs_is_refused_clearly(aws: boto3.session.Session, runtime: LocalRuntime) -> None:
    publish_outputs(aws, runtime, drop="FirstupDeadLetterQueueArn")
    with pytest.raises(IntakeError, match="has no output FirstupDeadLetterQueueArn"):
        deployed_target(runtime.stack.name, REGION)


def test_a_stack_deployed_before_a_vendor_was_added_is_read_without_it(
    aws: boto3.session.Session, runtime: LocalRuntime
) -> None:
    # Given a stack deployed before the code it is read with added a vendor: none of that vendor's outputs
    suffixes = ("QueueUrl", "DeadLetterQueueUrl", "DeadLetterQueueArn", "SecretArn")
    publish_outputs(aws, runtime, drop=tuple(f"FastComments{suffix}" for suffix in suffixes))
    name = runtime.stack.name

    # When the operator reads it
    rows = cli_json("status", "--stack", name, "--region", REGION, "--json")

    # Then every vendor it has is there, and the one it lacks is not
    assert {row["vendor"] for row in rows} == set(VENDORS) - {"fastcomments"}
    # and a command about that vendor says the stack has none yet, not that it may be no webhook-intake stack
    code, text = cli("dlq", "list", "--vendor", "fastcomments", "--stack", name, "--region", REGION)
    assert code == 1
    assert text.splitlines() == [
        f"error: stack {name} has no fastcomments resources (deployed before the vendor was added):"
        " deploy the template (sam deploy) to make them"
    ]


def test_an_event_of_a_vendor_the_stack_was_deployed_without_says_to_deploy_not_unknown_vendor(
    aws: boto3.session.Session, runtime: LocalRuntime
) -> None:
    # Given a stack deployed before the code it is read with added a vendor
    suffixes = ("QueueUrl", "DeadLetterQueueUrl", "DeadLetterQueueArn", "SecretArn")
    publish_outputs(aws, runtime, drop=tuple(f"FastComments{suffix}" for suffix in suffixes))
    name = runtime.stack.name

    # When the operator asks for one of that vendor's events by its id
    code, text = cli("events", "--id", "fastcomments#c1", "--stack", name, "--region", REGION)

    # Then the answer says the stack lacks the vendor and to deploy, not that the vendor is unknown
    assert code == 1
    assert text.splitlines() == [
        f"error: stack {name} has no fastcomments resources (deployed before the vendor was added):"
        " deploy the template (sam deploy) to make them"
    ]


def described_as(monkeypatch: pytest.MonkeyPatch, aws: boto3.session.Session, status: str) -> None:
    """Every stack read is described as in ``status``, with no outputs (moto cannot put a stack in most states)."""
    import intake_cli.target

    def described(stack_name: str, region: str | None = None) -> tuple[boto3.session.Session, dict[str, Any]]:
        return aws, {"StackName": stack_name, "StackStatus": status}

    monkeypatch.setattr(intake_cli.target, "read_stack", described)


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("CREATE_IN_PROGRESS", "it is still being created: try again once it is CREATE_COMPLETE"),
        ("ROLLBACK_COMPLETE", "its creation failed: its events in CloudFormation say why"),
        # prod's first change set, declined at make deploy's question
        ("REVIEW_IN_PROGRESS", "its first change set was not executed: deploy again and accept it"),
    ],
)
def test_a_stack_whose_creation_has_not_finished_or_failed_says_so(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, status: str, why: str
) -> None:
    # Given a stack as CloudFormation describes it while its first deploy runs, or after that deploy failed
    described_as(monkeypatch, aws, status)

    # When a command reads it, then the one line says what state it is in, not that it may be another stack
    code, text = cli("status", "--stack", "webhook-intake-dev", "--region", REGION)
    assert code == 1
    assert text.splitlines() == [f"error: stack webhook-intake-dev is {status}, with no outputs yet: {why}"]


@pytest.mark.parametrize(
    "status",
    [
        "CREATE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    ],
)
def test_a_created_stack_without_outputs_is_asked_about_not_said_to_have_failed_creation(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    # Given a stack whose creation completed (it is updated, or was) and that has no outputs: another kind of stack
    described_as(monkeypatch, aws, status)

    # When a command reads it
    code, text = cli("status", "--stack", "billing-api", "--region", REGION)

    # Then the one line asks whether it is the stack meant, not that its creation failed or still runs
    assert code == 1
    (line,) = text.splitlines()
    assert line.startswith("error: stack billing-api has no output ")
    assert line.endswith(": is it a webhook-intake stack?")


def test_an_unknown_stack_is_refused_clearly(aws: boto3.session.Session) -> None:
    with pytest.raises(IntakeError, match="cannot read stack nope"):
        deployed_target("nope", REGION)


def test_a_stack_looked_for_in_another_region_is_refused_naming_the_region_looked_in(
    aws: boto3.session.Session, runtime: LocalRuntime
) -> None:
    # Given a stack deployed in us-east-1
    publish_outputs(aws, runtime)

    # When a command looks for it in the region of another profile
    code, text = cli("status", "--stack", runtime.stack.name, "--region", "eu-west-1")

    # Then the one line says where it looked, so that the region is seen to be the mistake
    assert code == 1
    assert text.splitlines() == [
        f"error: cannot read stack {runtime.stack.name} in eu-west-1: ValidationError: Stack with id"
        f" {runtime.stack.name} does not exist"
    ]


@pytest.mark.parametrize(
    ("given", "environment", "message"),
    [
        (
            ["--region", "us-east1"],
            {},
            "--region us-east1 is not an AWS region botocore knows (did you mean us-east-1?)",
        ),
        (
            [],
            {"AWS_DEFAULT_REGION": "eu-wset-1"},
            "the region eu-wset-1 (AWS_DEFAULT_REGION or your profile's) is not an AWS region botocore knows"
            " (did you mean eu-west-1?)",
        ),
    ],
    ids=["--region", "AWS_DEFAULT_REGION"],
)
def test_a_misspelt_region_is_named_as_one_not_as_a_network_failure(
    aws: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    given: list[str],
    environment: dict[str, str],
    message: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # When any command reads a deployed stack in a region no AWS endpoint answers for
    for command in (["events"], ["status"], ["dlq", "list"], ["send", "firstup", "--yes"]):
        code, text = cli(*command, "--stack", "webhook-intake-prod", *given)

        # Then it stops at once with one line that names the region (not "could not connect", after retries)
        assert code == 1, command
        assert text.splitlines() == [f"error: {message}; if it is new, upgrade botocore"], command


def test_send_reads_the_vendors_secret_from_secrets_manager(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    target = deployed_target(runtime.stack.name, REGION)
    for key in VENDORS:
        assert vendor_secret(target, key) == secrets[key]


SECRET_VALUE = "never-shown-token"
"""A secret's text that no stack name, secret id or ARN of the test's can hold (those are hex and words)."""


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (f"tokens: {SECRET_VALUE}", "is not JSON: see README.md, 'Configure each vendor's secret'"),
        (f'["{SECRET_VALUE}"]', "is not a JSON object"),
        (None, "cannot read secret"),
    ],
    ids=["not JSON", "not an object", "deleted"],
)
def test_send_to_a_stack_whose_secret_cannot_be_used_is_one_line_naming_the_secret_never_its_value(
    aws: boto3.session.Session, runtime: LocalRuntime, value: str | None, said: str
) -> None:
    # Given a deployed stack whose Viafoura notifications secret is not what the functions read
    publish_outputs(aws, runtime)
    secret_id = runtime.stack.secrets["ViafouraNotificationsSecret"]
    manager = aws.client("secretsmanager")
    if value is None:
        manager.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
    else:
        manager.put_secret_value(SecretId=secret_id, SecretString=value)

    # When a test delivery is sent to it
    code, text = cli("send", "viafoura-notifications", "--stack", runtime.stack.name, "--region", REGION, "--yes")

    # Then nothing is sent: one line says which secret and what is wrong with it, and no value is shown
    assert code == 1, text
    (line,) = [line for line in text.splitlines() if line.startswith("error:")]
    assert secret_id in line
    assert said in " ".join(text.split())
    assert SECRET_VALUE not in text
    assert "Traceback" not in text


def test_events_status_and_dlq_list_work_with_stack(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a deployed stack with one stored delivery and one dead letter
    publish_outputs(aws, runtime)
    request = sample_request("firstup", sample_files("firstup")[0], secrets)
    assert runtime.request(request.method, request.path, request.headers, request.body).status == 200
    runtime.drain()
    dead_letter_queue = runtime.stack.queues["OpenWebDeadLetterQueue"]
    runtime.sqs.send_message(QueueUrl=dead_letter_queue, MessageBody='{"poison": true}')
    name = runtime.stack.name

    # When the CLI reads it with --stack
    events = cli_json("events", "--stack", name, "--region", REGION, "--json")
    rows = {row["vendor"]: row for row in cli_json("status", "--stack", name, "--region", REGION, "--count", "--json")}
    letters = cli_json("dlq", "list", "--stack", name, "--region", REGION, "--json")

    # Then it sees what the stack holds
    assert [(event["vendor"], event["event_type"]) for event in events] == [("firstup", "campaign.push_sent")]
    assert rows["firstup"]["events_stored"] == 1
    assert rows["openweb"]["dead_letters"] == 1
    assert [(letter["vendor"], letter["body"]) for letter in letters] == [("openweb", '{"poison": true}')]


def test_redrive_on_a_deployed_stack_is_sqs_start_message_move_task(aws: boto3.session.Session) -> None:
    # Given SQS (stubbed: moto does not implement StartMessageMoveTask)
    sqs = aws.client("sqs")
    arn = "arn:aws:sqs:us-east-1:123456789012:prod-FirstupDeadLetterQueue"
    with Stubber(sqs) as stubbed:
        stubbed.add_response("start_message_move_task", {"TaskHandle": "handle-1"}, {"SourceArn": arn})

        # When a redrive starts
        result = SqsMessageMover(sqs).start_message_move_task(SourceArn=arn)

        # Then it is one StartMessageMoveTask on the DLQ, the destination left to SQS (the source queue)
        stubbed.assert_no_pending_responses()
    assert result["TaskHandle"] == "handle-1"


def test_the_local_mover_moves_dead_letters_to_their_source_queue_intact(runtime: LocalRuntime) -> None:
    # Given two dead letters with message attributes
    sqs = runtime.sqs
    dlq = runtime.stack.queues["FirstupDeadLetterQueue"]
    attributes = {
        "vendor": {"DataType": "String", "StringValue": "firstup"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    for body in ('{"a": 1}', '{"b": 2}'):
        sqs.send_message(QueueUrl=dlq, MessageBody=body, MessageAttributes=attributes)

    # When they are moved like StartMessageMoveTask would (no destination given)
    result = LocalMessageMover(sqs).start_message_move_task(SourceArn=runtime.stack.attrs["FirstupDeadLetterQueue.Arn"])

    # Then both are on the source queue, bodies and attributes as they were, and the DLQ is empty
    assert result == {"DestinationArn": runtime.stack.attrs["FirstupQueue.Arn"], "ApproximateNumberOfMessagesMoved": 2}
    moved = sqs.receive_message(
        QueueUrl=runtime.stack.queues["FirstupQueue"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert sorted(message["Body"] for message in moved) == ['{"a": 1}', '{"b": 2}']
    assert all(message["MessageAttributes"] == attributes for message in moved)
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)


def test_an_unknown_vendor_is_refused_naming_the_vendors() -> None:
    result = CliRunner().invoke(app, ["events", "--vendor", "disqus", "--stack", "x"])
    assert result.exit_code == 2
    assert "'disqus' is not a vendor; vendors: " in result.output
    assert all(key in result.output for key in VENDORS)


def test_a_target_names_its_local_state() -> None:
    target = Target.from_outputs(
        "local",
        REGION,
        {
            "ApiUrl": "http://127.0.0.1:3000/",
            "EventsTableName": "t",
            **{
                f"{spec.stem}{suffix}": f"{spec.stem}{suffix}"
                for spec in VENDORS.values()
                for suffix in ("QueueUrl", "DeadLetterQueueUrl", "DeadLetterQueueArn", "SecretArn")
            },
        },
        endpoint_url="http://127.0.0.1:5000",
    )
    assert target.local
    assert target.api_url == "http://127.0.0.1:3000"
