"""`intake serve --parameter` and `--log-level`: checked against template.yaml as CloudFormation checks them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from intake_cli.parameter_docs import REFERENCE_PATH, reference
from intake_cli.parameters import FRACTIONS_TAKEN, checked, deploy_check
from intake_cli.target import IntakeError
from intake_cli.template import TEMPLATE_PATH, read
from tests.helpers import cli

pytestmark = pytest.mark.usefixtures("no_network")


TEMPLATE_TEXT = TEMPLATE_PATH.read_text(encoding="utf-8")

NO_IAM = (
    "capabilities must hold CAPABILITY_IAM (the template makes its functions' IAM roles):"
    ' capabilities = "CAPABILITY_IAM"'
)


def check_file(config: Path, environment: str) -> int:
    """make deploy's first step on ``config``'s ``environment``, in a region given."""
    return deploy_check(["--config-env", environment, "--config-file", str(config), "--region", "eu-west-1"])


@pytest.fixture(scope="module")
def declared() -> dict[str, dict[str, object]]:
    """template.yaml's Parameters."""
    return dict(read()["Parameters"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("MaxReceiveCount=abc", "MaxReceiveCount is a Number; 'abc' is not a number"),
        ("MaxReceiveCount=0", "MaxReceiveCount must be at least 1"),
        ("MaxReceiveCount=2.5", "MaxReceiveCount is a whole number; '2.5' is not written as one"),
        ("IngestMemorySize=256.0", "IngestMemorySize is a whole number"),
        ("MaxReceiveCount=\u0663", "MaxReceiveCount is a Number; '\u0663' is not a number"),
        # CloudFormation passes a value on as written: the bucket's rules would look for the tag value 030
        # (parts are tagged retention-days=30, and never expired), and 00 is no 0 to the template's conditions
        ("RetentionDays=030", "RetentionDays is written with a leading zero: write '30'"),
        ("RetentionDays=00", "RetentionDays is written with a leading zero: write '0'"),
        ("SilentVendorHours=06", "SilentVendorHours is written with a leading zero: write '6'"),
        # Passed on with its spaces or its sign: no tag value 30, no 0 to the silence alarm's condition
        ("RetentionDays= 30", "RetentionDays is written with spaces around it: write '30'"),
        ("TraceSampleRate=0.5 ", "TraceSampleRate is written with spaces around it: write '0.5'"),
        ("SilentVendorHours=-0", "SilentVendorHours is written with a minus sign: write '0'"),
        ("ConsumerBatchSize=100000", "ConsumerBatchSize must be at most 10000"),
        # The bucket's lifecycle rules take the days as a 32-bit integer: S3 would refuse the deploy part way
        (
            "RetentionDays=2147483648",
            "RetentionDays must be from 0 (events kept for ever) to 2147483647 days, the most an S3 lifecycle rule",
        ),
        ("LogLevel=LOUD", "LogLevel must be one of DEBUG, INFO, WARNING, ERROR"),
        ("LogRetentionDays=8", "LogRetentionDays must be one of 1, 3, 5, 7, 14"),
        # The queue keeps a message four days: an older threshold, held five minutes, never fires
        ("QueueAgeAlarmSeconds=345301", "QueueAgeAlarmSeconds must be at most 345300"),
        # SNS would refuse the subscription only when the stack creates it
        ("AlarmEmail=ops", "AlarmEmail must be an e-mail address, or empty for none"),
        ("Bogus=1", "template.yaml has no parameter Bogus"),
        ("MaxRecieveCount=2", "did you mean MaxReceiveCount?"),
        ("NoEquals", "--parameter takes Name=Value"),
    ],
)
def test_a_value_cloudformation_would_refuse_is_one_clean_line(override: str, message: str) -> None:
    # When the local stack is started with it
    code, text = cli("serve", "--port", "0", "--parameter", override)

    # Then it does not start: exit 1 and one line saying what is wrong, no traceback
    assert code == 1
    assert message in text
    assert len(text.strip().splitlines()) == 1, text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--log-level", "debgu"),
            "--log-level debgu: LogLevel must be one of DEBUG, INFO, WARNING, ERROR (did you mean DEBUG?)",
        ),
        (
            ("--parameter", "TableBillingMode=PAY_PER_REQEST"),
            "TableBillingMode must be one of PAY_PER_REQUEST, PROVISIONED (did you mean PAY_PER_REQUEST?)",
        ),
        # CloudFormation's values are case-sensitive; a value typed in another case is told the one meant
        (
            ("--parameter", "TableBillingMode=provisioned"),
            "TableBillingMode must be one of PAY_PER_REQUEST, PROVISIONED (did you mean PROVISIONED?)",
        ),
    ],
)
def test_a_misspelt_allowed_value_is_told_the_one_meant(args: tuple[str, ...], message: str) -> None:
    code, text = cli("serve", "--port", "0", *args)
    assert code == 1
    assert message in text
    assert len(text.strip().splitlines()) == 1, text


def test_every_mistake_is_its_own_line_and_log_level_goes_through_the_same_check() -> None:
    code, text = cli("serve", "--log-level", "LOUD", "--parameter", "MaxReceiveCount=abc", "--parameter", "Bogus=1")
    assert code == 1
    lines = text.strip().splitlines()
    assert len(lines) == 3, text
    assert lines[0].startswith("error: --parameter MaxReceiveCount=abc:")
    assert "--log-level LOUD: LogLevel must be one of DEBUG, INFO, WARNING, ERROR" in text


def test_values_cloudformation_takes_are_passed_on(declared: dict[str, dict[str, object]]) -> None:
    values = checked(
        declared,
        ["MaxReceiveCount=2", "TraceSampleRate=0.5", "AlarmEmail=", "LogRetentionDays=14", "RetentionDays=30"],
        "debug",
    )
    assert checked(declared, ["AlarmEmail=ops+alarms@news.example"], None) == {"AlarmEmail": "ops+alarms@news.example"}
    assert values == {
        "MaxReceiveCount": "2",
        "TraceSampleRate": "0.5",
        "AlarmEmail": "",
        "LogRetentionDays": "14",
        "RetentionDays": "30",
        "LogLevel": "DEBUG",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["ConsumerTimeout=200"], "ConsumerTimeout=200 is above QueueVisibilityTimeout=180"),
        (["ConsumerTimeout=60", "QueueVisibilityTimeout=30"], "ConsumerTimeout=60 is above QueueVisibilityTimeout=30"),
        (["ConsumerBatchSize=20", "ConsumerBatchingWindow=0"], "ConsumerBatchSize=20 needs ConsumerBatchingWindow"),
        (
            ["TableBillingMode=PROVISIONED", "TableMinReadCapacity=300"],
            "TableMinReadCapacity=300 is above TableMaxReadCapacity=200",
        ),
    ],
)
def test_two_values_aws_refuses_together_are_one_clean_line(overrides: list[str], message: str) -> None:
    # When the local stack is started with values each fine alone, which a deploy would fail on together
    code, text = cli("serve", "--port", "0", *[argument for item in overrides for argument in ("--parameter", item)])

    # Then it does not start, and says which two and why
    assert code == 1
    assert message in text
    assert len(text.strip().splitlines()) == 1, text


def test_fractions_are_taken_where_the_property_takes_them(declared: dict[str, dict[str, object]]) -> None:
    # each half above its default: within its range, not whole
    half = Decimal("0.5")
    overrides = [f"{name}={Decimal(str(declared[name]['Default'])) + half}" for name in sorted(FRACTIONS_TAKEN)]
    assert checked(declared, overrides, None) == dict(item.split("=") for item in overrides)
    assert set(declared) >= FRACTIONS_TAKEN


def test_values_that_only_look_alike_are_taken(declared: dict[str, dict[str, object]]) -> None:
    # A minimum over the maximum means nothing on demand; a batch of 20 waits a second; 180 s is 180 s
    overrides = ["TableMinReadCapacity=300", "ConsumerBatchSize=20", "ConsumerTimeout=180"]
    assert checked(declared, overrides, None) == dict(item.split("=") for item in overrides)


@mock_aws  # no stack deployed yet: the template's defaults stand
def test_make_deploy_checks_the_environments_overrides_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text(
        '[bad.deploy.parameters]\nstack_name = "s-bad"\nparameter_overrides = "ConsumerTimeout=300 MaxReceiveCount=0"\n'
    )
    assert deploy_check(["--config-env", "dev", "--region", "eu-west-1"]) == 0
    assert capsys.readouterr().out == "eu-west-1 webhook-intake-dev\n"
    assert deploy_check(["--config-env", "prod", "--region", "eu-west-1"]) == 0
    assert capsys.readouterr().out == "eu-west-1 webhook-intake-prod\n"
    assert check_file(config, "bad") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [bad]: parameter_overrides MaxReceiveCount=0: MaxReceiveCount must be at least 1"
    ]
    assert "-m intake_cli.parameters --config-env" in (Path(__file__).resolve().parents[2] / "Makefile").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # samconfig's [default] holds no stack to deploy: SAM would deploy dev's name without its overrides
        (["--config-env", "default"], "no environment to deploy by that name (those with a stack: dev, prod)"),
        (["--config-env", "staging"], "no environment to deploy by that name (those with a stack: dev, prod)"),
        (
            ["--config-env", "dev", "--stack", "webhook-intake-prod"],
            "STACK=webhook-intake-prod, but this environment deploys webhook-intake-dev: pick it with ENV=…",
        ),
    ],
)
def test_make_deploy_refuses_an_environment_or_stack_it_would_not_deploy(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy_check([*args, "--region", "eu-west-1"]) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: samconfig.toml [{args[1]}]: {message}"]


@mock_aws  # no stack deployed yet: the template's defaults stand
def test_make_deploy_reads_an_environments_global_parameters_as_sam_deploy_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an environment whose stack name and some overrides are in its global section (as `sam init`
    # writes them), and whose deploy section says the rest: sam deploy takes both, the deploy section first
    config = tmp_path / "samconfig.toml"
    config.write_text(
        "[staging.global.parameters]\n"
        'stack_name = "webhook-intake-staging"\n'
        'parameter_overrides = "MaxReceiveCount=0"\n'
        "[staging.deploy.parameters]\n"
        "capabilities = 'CAPABILITY_IAM'\n"
        "resolve_s3 = true\n"
        "[qa.global.parameters]\n"
        'stack_name = "webhook-intake-qa"\n'
        'parameter_overrides = "MaxReceiveCount=0"\n'
        "[qa.deploy.parameters]\n"
        'parameter_overrides = "MaxReceiveCount=3"\n'
        "capabilities = 'CAPABILITY_IAM'\n"
        "resolve_s3 = true\n"
    )

    # When make deploy's first step checks it, then the stack is the global section's, and so are the
    # overrides the deploy section does not replace
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [staging]: parameter_overrides MaxReceiveCount=0: MaxReceiveCount must be at least 1"
    ]
    assert check_file(config, "qa") == 0
    assert capsys.readouterr().out == "eu-west-1 webhook-intake-qa\n"


def deployed(stack: str, **values: str) -> None:
    """A stack of that name in eu-west-1 whose parameters hold ``values``, as an earlier sam deploy left them."""
    template = {
        "Parameters": {name: {"Type": "String"} for name in values},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    boto3.client("cloudformation", region_name="eu-west-1").create_stack(
        StackName=stack,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": name, "ParameterValue": value} for name, value in values.items()],
    )


STAGING = (
    '[staging.deploy.parameters]\nstack_name = "webhook-intake-staging"\n'
    'resolve_s3 = true\ncapabilities = "CAPABILITY_IAM"\n'
)


@mock_aws
def test_make_deploy_checks_a_pair_with_the_value_the_deployed_stack_keeps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack deployed with batches of 100 and a window of 5 s, whose samconfig.toml no longer names
    # the batch size (sam deploy keeps a deployed value parameter_overrides leaves out) and turns the window off
    deployed("webhook-intake-staging", ConsumerBatchSize="100", ConsumerBatchingWindow="5")
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + 'parameter_overrides = "ConsumerBatchingWindow=0"\n')

    # When make deploy's first step checks it, then it stops there: Lambda would refuse 100 without a window,
    # after the build and in the middle of the stack's update
    assert check_file(config, "staging") == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: samconfig.toml [staging]: ConsumerBatchSize=100 needs ConsumerBatchingWindow of 1 or more: Lambda"
        " takes more than 10 SQS messages at once only with a batching window"
    ]


@mock_aws
def test_make_deploy_says_a_stack_it_may_not_read_as_every_command_words_an_aws_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given credentials that may not describe the environment's stack
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    called = BaseClient._make_api_call

    def denied(self: BaseClient, operation: str, params: dict[str, object]) -> object:
        if operation == "DescribeStacks":
            message = "User is not authorized to perform: cloudformation:DescribeStacks"
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, operation)
        return called(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", denied)
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + 'parameter_overrides = "MaxReceiveCount=5"\n')

    # When make deploy's first step checks it, then it stops on one line: AWS's code, then its message
    assert check_file(config, "staging") == 1
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")] == [
        "error: samconfig.toml [staging]: cannot read stack webhook-intake-staging in eu-west-1: AccessDenied: User is"
        " not authorized to perform: cloudformation:DescribeStacks"
    ]


def left_in(stack: str, status: str) -> None:
    """The stack of that name in eu-west-1 as CloudFormation describes it in ``status`` (moto leaves none there)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    (found,) = [s for s in cloudformation_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].stacks.values() if s.name == stack]
    found.status = status


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (
            "ROLLBACK_COMPLETE",
            "its first deploy failed and rolled back, and CloudFormation updates no such stack: delete it"
            " (sam delete --stack-name webhook-intake-staging --region eu-west-1), then deploy again",
        ),
        (
            "ROLLBACK_FAILED",
            "its first deploy failed and so did its rollback, and CloudFormation updates no such stack: delete it"
            " (sam delete --stack-name webhook-intake-staging --region eu-west-1), then deploy again",
        ),
        (
            "UPDATE_ROLLBACK_FAILED",
            "the rollback of an update failed: finish it (aws cloudformation continue-update-rollback"
            " --stack-name webhook-intake-staging --region eu-west-1), then deploy again",
        ),
        ("UPDATE_IN_PROGRESS", "another deploy or deletion of it is still running: deploy once it is done"),
    ],
)
@mock_aws
def test_make_deploy_refuses_a_stack_cloudformation_would_not_update_before_anything_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], status: str, why: str
) -> None:
    # Given a stack CloudFormation refuses to update in that state (sam deploy would stop on it only after the build)
    deployed("webhook-intake-staging", MaxReceiveCount="5")
    left_in("webhook-intake-staging", status)
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + 'parameter_overrides = "MaxReceiveCount=5"\n')

    # When make deploy's first step checks it, then it stops there with one line saying what to do first
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: samconfig.toml [staging]: stack webhook-intake-staging is {status}: {why}"
    ]


@mock_aws
def test_make_deploy_takes_a_pair_whose_other_half_the_deployed_stack_keeps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack deployed with a 30-minute visibility timeout, and an environment that now raises only the
    # consumer's timeout (to 5 minutes, under the timeout the stack keeps; over the template's default)
    deployed("webhook-intake-staging", QueueVisibilityTimeout="1800")
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + 'parameter_overrides = "ConsumerTimeout=300"\n')

    # When make deploy's first step checks it, then it goes on
    assert check_file(config, "staging") == 0, capsys.readouterr().err
    assert capsys.readouterr().out == "eu-west-1 webhook-intake-staging\n"


@mock_aws
def test_make_deploy_says_which_values_the_deployed_stack_keeps_that_samconfig_does_not_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack deployed with provisioned capacity and an alarm address, whose samconfig.toml no longer
    # names either (a team going back to on-demand and to no e-mail), and a value it sets again
    deployed(
        "webhook-intake-staging", TableBillingMode="PROVISIONED", AlarmEmail="ops@news.example", MaxReceiveCount="3"
    )
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + 'parameter_overrides = "MaxReceiveCount=5"\n')

    # When make deploy's first step checks it, then it goes on, and says what the stack will keep all the same
    assert check_file(config, "staging") == 0
    captured = capsys.readouterr()
    assert captured.out == "eu-west-1 webhook-intake-staging\n"
    assert captured.err.splitlines() == [
        "note: samconfig.toml [staging]: webhook-intake-staging keeps AlarmEmail=ops@news.example (the default is"
        ' empty): sam deploy keeps a value parameter_overrides does not set; set AlarmEmail="" there to change it',
        "note: samconfig.toml [staging]: webhook-intake-staging keeps TableBillingMode=PROVISIONED (the default is"
        " PAY_PER_REQUEST): sam deploy keeps a value parameter_overrides does not set; set"
        " TableBillingMode=PAY_PER_REQUEST there to change it",
    ]


@mock_aws
def test_make_deploy_advises_a_value_sam_deploy_reads_as_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from samcli.cli.types import CfnParameterOverridesType

    # Given a stack deployed with an alarm address, whose samconfig.toml no longer names it
    deployed("webhook-intake-staging", AlarmEmail="ops@news.example")
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + 'parameter_overrides = "MaxReceiveCount=5"\n')
    assert check_file(config, "staging") == 0
    (note,) = capsys.readouterr().err.splitlines()

    # When the team does what the note says
    (advice,) = re.findall(r"; set (\S+) there to change it$", note)
    config.write_text(STAGING + f"parameter_overrides = {json.dumps('MaxReceiveCount=5 ' + advice)}\n")

    # Then sam deploy reads the default from it (no address), and make deploy has nothing more to say
    overrides = tomllib.loads(config.read_text())["staging"]["deploy"]["parameters"]["parameter_overrides"]
    assert CfnParameterOverridesType().convert((overrides,), None, None) == {"MaxReceiveCount": "5", "AlarmEmail": ""}
    assert check_file(config, "staging") == 0
    assert capsys.readouterr().err == ""


@mock_aws
def test_make_deploy_refuses_an_empty_value_sam_deploy_would_drop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack deployed with an alarm address, and a team turning the e-mail off with a bare AlarmEmail=
    deployed("webhook-intake-staging", AlarmEmail="ops@news.example")
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + 'parameter_overrides = "MaxReceiveCount=5 AlarmEmail="\n')

    # When make deploy's first step checks it, then it stops there: sam deploy reads no value from it and
    # the stack would keep sending alarms to the old address
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [staging]: parameter_overrides: sam deploy reads no value from AlarmEmail= (an"
        ' empty one only quoted): write AlarmEmail=""'
    ]


@mock_aws  # no stack deployed yet: the template's defaults stand
def test_make_deploy_reads_the_overrides_as_sam_deploy_splits_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from samcli.cli.types import CfnParameterOverridesType

    # Given an environment whose overrides are written one a line (a TOML multi-line string), and one whose
    # list holds two in one item
    config = tmp_path / "samconfig.toml"
    config.write_text(
        STAGING + 'parameter_overrides = """\nLogLevel=DEBUG\nRetentionDays=30\n"""\n'
        '[listed.deploy.parameters]\nstack_name = "webhook-intake-listed"\nresolve_s3 = true\n'
        'capabilities = "CAPABILITY_IAM"\n'
        'parameter_overrides = ["LogLevel=DEBUG RetentionDays=30", "MaxReceiveCount=3"]\n'
    )
    environments = tomllib.loads(config.read_text())
    lines = environments["staging"]["deploy"]["parameters"]["parameter_overrides"]
    listed = environments["listed"]["deploy"]["parameters"]["parameter_overrides"]
    # sam deploy splits a string at spaces only: the first value runs on to the end
    assert CfnParameterOverridesType().convert(lines, None, None) == {"LogLevel": "DEBUG\nRetentionDays=30"}
    assert CfnParameterOverridesType().convert(listed, None, None) == {
        "LogLevel": "DEBUG",
        "RetentionDays": "30",
        "MaxReceiveCount": "3",
    }

    # When make deploy's first step checks them, then the lines stop it before anything is built, saying
    # what sam deploy would read (CloudFormation would refuse it only after the build)
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [staging]: parameter_overrides: sam deploy splits the items at spaces only and"
        " reads LogLevel='DEBUG\\nRetentionDays=30' as one value: write them on one line, or as a list"
    ]
    # And the list, which sam deploy reads whole, goes on
    assert check_file(config, "listed") == 0, capsys.readouterr().err
    assert capsys.readouterr().out == "eu-west-1 webhook-intake-listed\n"


@mock_aws  # no stack deployed yet: the template's defaults stand
def test_make_deploy_checks_overrides_written_as_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from samcli.cli.types import CfnParameterOverridesType

    # Given environments whose overrides are a TOML table, which sam deploy reads name by name
    config = tmp_path / "samconfig.toml"
    config.write_text(
        STAGING + 'parameter_overrides = {LogLevel = "DEBUG", RetentionDays = 30}\n'
        '[bad.deploy.parameters]\nstack_name = "webhook-intake-bad"\nresolve_s3 = true\n'
        'capabilities = "CAPABILITY_IAM"\nparameter_overrides = {MaxReceiveCount = 0}\n'
    )
    table = tomllib.loads(config.read_text())["staging"]["deploy"]["parameters"]["parameter_overrides"]
    assert CfnParameterOverridesType().convert(table, None, None) == {"LogLevel": "DEBUG", "RetentionDays": "30"}

    # When make deploy's first step checks them, then the good one goes on and the bad value is one line
    assert check_file(config, "staging") == 0, capsys.readouterr().err
    assert capsys.readouterr().out == "eu-west-1 webhook-intake-staging\n"
    assert check_file(config, "bad") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [bad]: parameter_overrides MaxReceiveCount=0: MaxReceiveCount must be at least 1"
    ]


@mock_aws  # no stack deployed yet: the template's defaults stand
def test_make_deploy_refuses_an_override_sam_deploy_would_pass_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from samcli.cli.types import CfnParameterOverridesType

    # Given overrides written both ways in one string: sam deploy then reads the ParameterKey= ones only
    overrides = "ParameterKey=LogLevel,ParameterValue=DEBUG MaxReceiveCount=3 RetentionDays=30"
    assert CfnParameterOverridesType().convert(overrides, None, None) == {"LogLevel": "DEBUG"}
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + f"parameter_overrides = {json.dumps(overrides)}\n")

    # When make deploy's first step checks it, then it stops on each value the stack would not get
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: samconfig.toml [staging]: parameter_overrides: sam deploy reads no value from {item} (written"
        " beside ParameterKey=…,ParameterValue=… items in one string): write every item one way"
        for item in ("MaxReceiveCount=3", "RetentionDays=30")
    ]

    # And a misspelt name sam deploy would pass over (it reads names of letters and digits) is named as one
    config.write_text(STAGING + 'parameter_overrides = "Log_Level=DEBUG"\n')
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [staging]: parameter_overrides Log_Level=DEBUG: template.yaml has no parameter"
        " Log_Level (did you mean LogLevel?)"
    ]


@mock_aws  # no stack deployed yet: the template's defaults stand
def test_make_deploy_checks_the_overrides_a_file_holds_as_sam_deploy_reads_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given environments whose overrides are in a file (sam deploy reads file://, YAML or TOML: the whole string,
    # or an item of a list beside others)
    good, bad = tmp_path / "prod.yaml", tmp_path / "bad.toml"
    good.write_text("LogLevel: INFO\nRetentionDays: 30\nAlarmEmail: ops@news.example\n")
    bad.write_text("MaxReceiveCount = 0\n")
    config = tmp_path / "samconfig.toml"
    config.write_text(
        STAGING + f'parameter_overrides = ["file://{good}", "MaxReceiveCount=3"]\n'
        f'[bad.deploy.parameters]\nstack_name = "webhook-intake-bad"\nresolve_s3 = true\n'
        f'capabilities = "CAPABILITY_IAM"\nparameter_overrides = "file://{bad}"\n'
        f'[gone.deploy.parameters]\nstack_name = "webhook-intake-gone"\nresolve_s3 = true\n'
        f'capabilities = "CAPABILITY_IAM"\nparameter_overrides = "file://{tmp_path / "none.yaml"}"\n'
    )

    # When make deploy's first step checks them, then the good file's values go on, and the bad file's value
    # and a file that is not there stop it, in one line each, before anything is built
    assert check_file(config, "staging") == 0, capsys.readouterr().err
    assert capsys.readouterr().out == "eu-west-1 webhook-intake-staging\n"
    assert check_file(config, "bad") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [bad]: parameter_overrides MaxReceiveCount=0: MaxReceiveCount must be at least 1"
    ]
    assert check_file(config, "gone") == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: samconfig.toml [gone]: parameter_overrides: sam deploy cannot read it: file://")
    assert "was not found" in line


@pytest.mark.parametrize(
    "written",
    ['"LogLevel=DEBUG {file}"', '["LogLevel=DEBUG {file}"]'],
    ids=["in one string", "in one item of a list"],
)
def test_make_deploy_refuses_a_file_sam_deploy_would_pass_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    from samcli.cli.types import CfnParameterOverridesType

    # Given a file of overrides named beside another item in one string: sam deploy reads a file only from a
    # string that is one file:// item, and passes this one over (its RetentionDays never deployed)
    params = tmp_path / "params.yaml"
    params.write_text("RetentionDays: 30\n")
    overrides = written.format(file=f"file://{params}")
    sam_reads = CfnParameterOverridesType().convert(tomllib.loads(f"o = {overrides}")["o"], None, None)
    assert sam_reads == {"LogLevel": "DEBUG"}
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + f"parameter_overrides = {overrides}\n")

    # When make deploy's first step checks it, then it stops on the file, in one line, before anything is built
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: samconfig.toml [staging]: parameter_overrides: sam deploy reads no file from file://{params}"
        " written beside other items in one string: give it a string of its own, an item of a list"
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("params.yaml", b"LogLevel: [DEBUG\n"),
        ("params.toml", b"LogLevel = \n"),
        ("params.yaml", b"LogLevel: D\xe9BUG\n"),
    ],
    ids=["YAML it cannot parse", "TOML it cannot parse", "not UTF-8"],
)
def test_make_deploy_names_an_overrides_file_sam_deploy_cannot_read_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: bytes
) -> None:
    # Given an environment whose overrides are in a file sam deploy cannot read (a bracket left open, a value
    # left out, saved in Latin-1)
    (tmp_path / name).write_bytes(text)
    config = tmp_path / "samconfig.toml"
    config.write_text(STAGING + f'parameter_overrides = "file://{tmp_path / name}"\n')

    # When make deploy's first step checks them
    status = check_file(config, "staging")

    # Then it stops before anything is built, with one line naming the file, not a traceback
    (line,) = capsys.readouterr().err.splitlines()
    assert status == 1
    named = f"file://{tmp_path / name}"
    assert line.startswith(f"error: samconfig.toml [staging]: parameter_overrides: sam deploy cannot read {named}: ")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            'resolve_s3 = true\ncapabilities = "CAPABILITY_AUTO_EXPAND"\n',
            NO_IAM,
        ),
        (
            "resolve_s3 = true\n",
            NO_IAM,
        ),
        (
            'capabilities = "CAPABILITY_IAM"\n',
            'no bucket for the built code: resolve_s3 = true (SAM makes one), or s3_bucket = "<your bucket>"',
        ),
    ],
    ids=["other capabilities", "no capabilities", "no bucket"],
)
def test_make_deploy_without_a_setting_sam_deploy_needs_says_so_before_anything_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: str, message: str
) -> None:
    # Given an environment a team wrote for itself that lacks what sam deploy cannot do without
    config = tmp_path / "samconfig.toml"
    config.write_text(f'[staging.deploy.parameters]\nstack_name = "webhook-intake-staging"\n{settings}')

    # When make deploy's first step checks it, then it stops with one line saying what to add (sam deploy
    # would stop only after the build, or once the change set is refused)
    assert check_file(config, "staging") == 1
    assert capsys.readouterr().err.splitlines() == [f"error: samconfig.toml [staging]: {message}"]


@mock_aws  # no stack deployed yet: the template's defaults stand
def test_make_deploy_takes_the_capabilities_and_bucket_however_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text(
        '[a.deploy.parameters]\nstack_name = "a"\ns3_bucket = "artifacts"\n'
        'capabilities = "CAPABILITY_AUTO_EXPAND CAPABILITY_NAMED_IAM"\n'
        '[b.deploy.parameters]\nstack_name = "b"\nresolve_s3 = true\ncapabilities = ["CAPABILITY_IAM"]\n'
        # a flag written as text, which sam deploy reads as its command-line flag
        '[c.deploy.parameters]\nstack_name = "c"\nresolve_s3 = "True"\ncapabilities = "CAPABILITY_IAM"\n'
    )
    for environment in ("a", "b", "c"):
        assert check_file(config, environment) == 0
        assert capsys.readouterr().out == f"eu-west-1 {environment}\n"


def test_make_deploy_with_an_override_quoted_but_not_closed_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an environment whose overrides open a quote they never close
    config = tmp_path / "samconfig.toml"
    config.write_text(
        '[dev.deploy.parameters]\nstack_name = "webhook-intake-dev"\n'
        "parameter_overrides = 'LogLevel=DEBUG AlarmEmail=\"ops@news.example'\n"
    )

    # When make deploy's first step checks it, then it stops with one line naming the setting
    assert check_file(config, "dev") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [dev]: parameter_overrides cannot be split into Name=Value items: No closing quotation"
    ]


@pytest.mark.parametrize("region", [[], ["--region", "eu-west-1"]], ids=["profile's region", "REGION=…"])
def test_make_deploy_without_the_profile_it_names_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], region: list[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert deploy_check(["--config-env", "dev", *region]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [dev]: The config profile (work) could not be found"
    ]


def test_make_deploy_without_credentials_says_so_before_anything_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a machine with a region but no AWS credentials anywhere botocore looks (no variables, no
    # files, no container or instance role)
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    # When make deploy's first step runs, then it stops there with one line (sam build, a minute or
    # two, would otherwise run first, and sam deploy only then fail)
    assert deploy_check(["--config-env", "dev", "--region", "eu-west-1"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [dev]: no AWS credentials: configure a profile (aws configure, then AWS_PROFILE=…)"
        " or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ]


@pytest.mark.parametrize(
    ("prints", "status"),
    [('echo "AWS_ACCESS_KEY_ID=AKIA"', 0), ("echo expired >&2", 1)],
    ids=["no JSON (a tool's other output format)", "a failure"],
)
def test_make_deploy_with_a_credential_process_it_cannot_use_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], prints: str, status: int
) -> None:
    # Given a profile whose credential process prints what botocore cannot read as credentials
    process = tmp_path / "credentials.sh"
    process.write_text(f"#!/bin/sh\n{prints}\nexit {status}\n")
    process.chmod(0o755)
    config = tmp_path / "config"
    config.write_text(f"[profile work]\nregion = eu-west-1\ncredential_process = {process}\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "work")

    # When make deploy's first step runs, then it stops there with one line naming the credential process
    assert deploy_check(["--config-env", "dev"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: samconfig.toml [dev]: ")
    assert "retrieving credentials from custom-process" in line
    assert "AKIA" not in line


def test_sams_other_spelling_of_an_override_is_taken(declared: dict[str, dict[str, object]]) -> None:
    items = ["ParameterKey=RetentionDays,ParameterValue=30", "ParameterKey=LogLevel,ParameterValue=DEBUG"]
    assert checked(declared, items, None) == {"RetentionDays": "30", "LogLevel": "DEBUG"}
    with pytest.raises(IntakeError, match="MaxReceiveCount must be at least 1"):
        checked(declared, ["ParameterKey=MaxReceiveCount,ParameterValue=0"], None)


def make_deploy_dry_run(*variables: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``make -n deploy`` with these variables, in an environment holding no STACK or PROFILE but ``environment``'s."""
    inherited = {key: value for key, value in os.environ.items() if key not in ("STACK", "PROFILE")}
    return subprocess.run(
        ["make", "-n", "--no-print-directory", "deploy", *variables],
        cwd=Path(__file__).resolve().parents[2],
        env={**inherited, **(environment or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_dry_run_of_make_deploy_runs_nothing(tmp_path: Path) -> None:
    # Given a bin directory whose every tool records that it ran
    record = tmp_path / "ran"
    for tool in ("python", "sam", "pip"):
        (tmp_path / tool).write_text(f'#!/bin/sh\necho {tool} "$@" >> {record}\n')
        (tmp_path / tool).chmod(0o755)

    # When make's dry run of deploy is asked for
    done = make_deploy_dry_run(f"BIN={tmp_path}", "REGION=eu-west-1")

    # Then it says what it would do, and nothing ran (no check, no build, no deploy)
    assert done.returncode == 0, done.stderr
    assert "sam deploy --config-env dev" in done.stdout
    assert "sam build" in done.stdout
    assert not record.exists(), record.read_text()


@pytest.mark.parametrize("how", ["command line", "environment"])
def test_make_deploy_checks_a_stack_named_either_way(how: str) -> None:
    # When STACK is given on make's command line, or exported as make's other variables may be
    if how == "command line":
        done = make_deploy_dry_run("REGION=eu-west-1", "STACK=someone-elses")
    else:
        done = make_deploy_dry_run("REGION=eu-west-1", environment={"STACK": "someone-elses"})

    # Then the check before the build is told of it (and refuses a stack the environment does not deploy)
    assert done.returncode == 0, done.stderr
    assert '--stack "someone-elses"' in done.stdout


def test_make_help_lists_every_target_that_says_what_it_does() -> None:
    root = Path(__file__).resolve().parents[2]
    described = re.findall(r"^([^\s:#=]+):[^\n]*## ", (root / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    command = ["make", "--no-print-directory", "help"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    listed = [line.split()[1] for line in done.stdout.splitlines()]
    assert "python3.13" in described
    assert listed == described


def test_every_parameter_says_what_it_does(declared: dict[str, dict[str, object]]) -> None:
    assert [name for name, parameter in declared.items() if not str(parameter.get("Description", "")).strip()] == []


def test_the_parameter_reference_is_the_templates() -> None:
    written = REFERENCE_PATH.read_text(encoding="utf-8")
    assert written == reference(), "docs/parameters.md is stale: run python -m intake_cli.parameter_docs"
    for name, parameter in read()["Parameters"].items():
        assert f"| `{name}` | " in written, name
        assert str(parameter["Description"]).split()[0] in written, name


def test_the_reference_says_what_a_patterned_parameter_takes() -> None:
    # Given AlarmEmail, which CloudFormation refuses unless it is an e-mail address or empty
    (row,) = [line for line in REFERENCE_PATH.read_text(encoding="utf-8").splitlines() if "| `AlarmEmail` |" in line]
    # Then its "takes" column says so, not "text"
    assert row.split(" | ")[2] == "an e-mail address, or empty for none"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # A region misspelt: found before anything is built, with the name meant
        (
            ["--region", "eu-west1"],
            "REGION=eu-west1 is not an AWS region botocore knows (did you mean eu-west-1?);"
            " if it is new, upgrade botocore",
        ),
        # STACK= with nothing after it (an unset shell variable)
        (["--region", "eu-west-1", "--stack", ""], "STACK= is empty: name the environment's stack, or leave it out"),
        # PROFILE=… is not a variable make deploy reads: the deploy would use another profile's credentials
        (
            ["--region", "eu-west-1", "--profile", "work"],
            "PROFILE=work is not read: the profile is AWS_PROFILE's (AWS_PROFILE=work make deploy)",
        ),
    ],
    ids=["misspelt region", "empty stack", "profile variable"],
)
def test_make_deploy_refuses_a_region_stack_or_profile_it_would_not_use_as_meant(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy_check(["--config-env", "dev", *args]) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: samconfig.toml [dev]: {message}"]


def test_make_deploy_passes_an_empty_stack_and_a_profile_variable_to_its_check() -> None:
    done = make_deploy_dry_run("REGION=eu-west-1", "STACK=", "PROFILE=work")
    assert done.returncode == 0, done.stderr
    assert '--stack ""' in done.stdout
    assert '--profile "work"' in done.stdout


def test_a_misspelt_region_of_the_profile_is_named_as_the_profiles(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-wst-2")
    assert deploy_check(["--config-env", "dev"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: samconfig.toml [dev]: the region us-wst-2 (AWS_DEFAULT_REGION or your profile's) is not an AWS region"
        " botocore knows (did you mean us-west-2?); if it is new, upgrade botocore"
    ]


@pytest.fixture(scope="module")
def latin1_locale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a shell in a Latin-1 locale (``LANG=en_US.ISO-8859-1``), compiled for the tests."""
    where = tmp_path_factory.mktemp("locales")
    try:
        made = subprocess.run(
            ["localedef", "-i", "en_US", "-f", "ISO-8859-1", str(where / "en_US.ISO-8859-1")],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("no localedef to make a Latin-1 locale with")
    if not (where / "en_US.ISO-8859-1").is_dir():
        pytest.skip(f"localedef made no Latin-1 locale: {made.stderr.decode(errors='replace')}")
    # The editable install names the clone's directory as text, which a Latin-1 Python would look for
    # as other bytes than a UTF-8 shell made ("wébhook intake/"): the code is found by its bytes instead.
    code = os.pathsep.join(str(TEMPLATE_PATH.parent / part) for part in ("src", "layers/shared"))
    return {"LOCPATH": str(where), "LC_ALL": "en_US.ISO-8859-1", "PYTHONUTF8": "0", "PYTHONPATH": code}


def test_the_template_is_read_as_utf8_in_a_latin1_locale(latin1_locale: dict[str, str], tmp_path: Path) -> None:
    # Given a shell whose locale is Latin-1 (template.yaml holds characters past ASCII)
    assert not TEMPLATE_TEXT.isascii()
    environment = {**os.environ, "INTAKE_STATE_DIR": str(tmp_path), **latin1_locale}

    # When the local stack is started with a parameter the template lacks
    done = subprocess.run(
        [str(Path(sys.executable).with_name("intake")), "serve", "--port", "0", "--parameter", "Bogus=1"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Then the template is read as what it is, and the mistake is the one line said: no traceback
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "template.yaml has no parameter Bogus" in done.stderr
