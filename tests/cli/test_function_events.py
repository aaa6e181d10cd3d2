"""events/sqs/ (the consumers' `sam local invoke -e` events) and the `--env-vars` file for `sam local invoke`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli import env_vars as env_vars_module
from intake_cli.env_vars import environments, stack_refs
from intake_cli.env_vars import main as env_vars_main
from intake_cli.invoke_events import SQS_DIR, sqs_events
from intake_cli.samples import SAMPLES_DIR, expected_path
from intake_cli.template import SamTemplate
from tests.helpers import publish_outputs, reader
from webhook_intake.registry import vendor

if TYPE_CHECKING:
    from pathlib import Path

    import boto3

    from intake_cli.runtime import LocalRuntime


def test_the_committed_sqs_events_are_current() -> None:
    expected = sqs_events()
    committed = {str(p.relative_to(SQS_DIR)): json.loads(p.read_text()) for p in SQS_DIR.rglob("*.json")}
    assert committed == expected, "run `python -m intake_cli.invoke_events` and commit events/sqs/"


def test_each_sqs_event_is_stored_by_its_consumer_as_its_golden_file_says(shared_runtime: LocalRuntime) -> None:
    runtime = shared_runtime
    # Given every consumer event
    consumers = {
        source.queue_id: spec.logical_id for spec in runtime.stack.functions() for source in spec.queue_sources
    }
    for relative, event in sqs_events().items():
        vendor_key = relative.split("/")[0]

        function = runtime.functions[consumers[f"{vendor(vendor_key).stem}Queue"]]

        # When the consumer gets it
        result: dict[str, Any] = function.invoke(event)

        # Then no record failed, and the golden file's events are stored
        assert result == {"batchItemFailures": []}, relative
        golden = json.loads(expected_path(SAMPLES_DIR / relative).read_text())
        for expected in golden["events"]:
            assert reader(runtime).get(vendor_key, expected["event_id"]) is not None, (relative, expected["event_id"])


def test_env_vars_resolve_each_function_environment_as_the_stack_does(shared_runtime: LocalRuntime) -> None:
    runtime = shared_runtime
    # Given the provisioned stack's resources (logical id -> physical id)
    found = environments(SamTemplate(), runtime.stack.refs)

    # Then each function gets the environment the template declares for it (Lambda adds its own variables)
    for spec in runtime.stack.functions():
        declared = {k: v for k, v in runtime.stack.environment(spec).items() if k not in spec.lambda_environment}
        assert found[spec.logical_id] == declared, spec.logical_id
    assert found["FirstupIngestFunction"]["QUEUE_URL"] == runtime.stack.queues["FirstupQueue"]


def test_env_vars_of_a_stack_deployed_before_a_vendor_was_added_leave_out_only_that_vendors_functions(
    shared_runtime: LocalRuntime,
) -> None:
    # Given a stack deployed before the code it is read with added a vendor: none of that vendor's resources
    refs = {name: value for name, value in shared_runtime.stack.refs.items() if not name.startswith("FastComments")}

    # When the functions' environments are written for it
    found = environments(SamTemplate(), refs)

    # Then every other function has its own, and the vendor's functions are left out
    assert found["FirstupIngestFunction"]["QUEUE_URL"] == shared_runtime.stack.queues["FirstupQueue"]
    assert set(found) == {spec.logical_id for spec in shared_runtime.stack.functions()} - {
        "FastCommentsIngestFunction",
        "FastCommentsConsumerFunction",
    }


def test_env_vars_read_a_deployed_stacks_resources_and_pseudo_parameters(
    aws: boto3.session.Session, runtime: LocalRuntime
) -> None:
    publish_outputs(aws, runtime)
    refs, parameters = stack_refs(runtime.stack.name, "us-east-1")
    assert refs["AWS::StackName"] == runtime.stack.name
    assert refs["AWS::Region"] == "us-east-1"
    assert refs["Placeholder"].endswith(f"{runtime.stack.name}-cfn")
    assert parameters == {}


def test_env_vars_of_a_stack_that_is_not_this_templates_stop_with_one_line_saying_so(
    aws: boto3.session.Session, runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack of another template: none of this template's resources (one queue, "Placeholder")
    publish_outputs(aws, runtime)

    # When make env-vars reads it
    with pytest.raises(SystemExit) as stopped:
        env_vars_main(["--stack", runtime.stack.name, "--region", "us-east-1"])

    # Then it stops saying so, and writes no (empty) document for sam local invoke
    assert str(stopped.value) == (
        f"error: stack {runtime.stack.name} has none of this template's vendor queues: is it a webhook-intake stack?"
    )
    assert capsys.readouterr().out == ""


def test_env_vars_of_a_stack_deployed_before_a_vendor_was_added_write_the_others_and_name_the_left_out_apart(
    shared_runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed stack (read as stack_refs reads it) that has no FastComments resources yet
    refs = {name: value for name, value in shared_runtime.stack.refs.items() if not name.startswith("FastComments")}
    monkeypatch.setattr(env_vars_module, "stack_refs", lambda *_: (refs, {}))

    # When make env-vars writes the file
    env_vars_main(["--stack", "webhook-intake-dev", "--region", "us-east-1"])

    # Then standard output (the file) is the document sam local invoke reads, whole; what was left out is
    # said on standard error, never in the file
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["FirstupIngestFunction"]["QUEUE_URL"] == shared_runtime.stack.queues["FirstupQueue"]
    assert "FastCommentsIngestFunction" not in document
    assert err == (
        "left out (not in stack webhook-intake-dev yet: deploy it first): "
        "FastCommentsIngestFunction, FastCommentsConsumerFunction\n"
    )


def test_env_vars_without_a_region_stop_with_one_line_saying_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(SystemExit) as stopped:
        stack_refs("webhook-intake-dev", None)
    assert str(stopped.value).startswith("error: no AWS region: pass --region")
