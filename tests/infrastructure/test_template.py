"""template.yaml: every registered vendor has its route, queue, DLQ, consumer and secret, wired right."""

from __future__ import annotations

from typing import Any

import pytest

from intake_cli.template import SamTemplate
from webhook_intake.registry import VENDORS, vendor

pytestmark = pytest.mark.usefixtures("no_network")

TEMPLATE = SamTemplate()
RESOURCES = TEMPLATE.resources
FUNCTIONS = {spec.logical_id: spec for spec in TEMPLATE.functions()}


def props(logical_id: str) -> dict[str, Any]:
    return dict(RESOURCES[logical_id]["Properties"])


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_every_vendor_has_its_routes_queue_dlq_consumer_and_secret(vendor_key: str) -> None:
    stem = vendor(vendor_key).stem
    ingest, consumer = FUNCTIONS[f"{stem}IngestFunction"], FUNCTIONS[f"{stem}ConsumerFunction"]
    assert {route.route_key for route in ingest.routes} == set(vendor(vendor_key).routes)
    assert ingest.environment["VENDOR"] == consumer.environment["VENDOR"] == vendor_key
    assert ingest.environment["QUEUE_URL"] == {"Ref": f"{stem}Queue"}
    assert ingest.environment["SECRET_ID"] == {"Ref": f"{stem}Secret"}
    (source,) = consumer.queue_sources
    assert source.queue_id == f"{stem}Queue"
    assert source.report_batch_item_failures
    assert RESOURCES[f"{stem}Secret"]["Type"] == "AWS::SecretsManager::Secret"
    redrive = props(f"{stem}Queue")["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": [f"{stem}DeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }


def test_the_contract_paths_are_template_routes() -> None:
    template_routes = {route.route_key for spec in FUNCTIONS.values() for route in spec.routes}
    for spec in VENDORS.values():
        contract = spec.contract()
        method, path = contract.client_route("")
        route = next(r for r in spec.routes if r.startswith(method))
        assert route in template_routes
        assert path.startswith(route.split(" ", 1)[1].split("{", 1)[0].rstrip("/"))


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_every_handler_named_in_the_template_exists(function_id: str) -> None:
    spec = FUNCTIONS[function_id]
    assert spec.app_path.is_file()
    assert (
        f"{spec.handler_name} =" in spec.app_path.read_text()
        or f"def {spec.handler_name}(" in spec.app_path.read_text()
    )
    assert (spec.app_path.parent / "Makefile").is_file()
    assert RESOURCES[function_id]["Metadata"]["BuildMethod"] == "makefile"


def test_functions_run_python313_on_arm64_with_the_shared_layer() -> None:
    function_globals = TEMPLATE.document["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "SharedLayer"}]
    layer = RESOURCES["SharedLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


@pytest.mark.parametrize("queue_id", sorted(TEMPLATE.of_type("AWS::SQS::Queue")))
def test_queues_are_encrypted_and_take_1_mib(queue_id: str) -> None:
    queue = props(queue_id)
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MaximumMessageSize"] == 1_048_576


def test_visibility_timeout_is_six_times_the_consumer_timeout() -> None:
    parameters = TEMPLATE.parameters
    assert parameters["QueueVisibilityTimeout"] >= 6 * parameters["ConsumerTimeout"]
    for stem in (spec.stem for spec in VENDORS.values()):
        assert props(f"{stem}Queue")["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeout"}
        assert props(f"{stem}ConsumerFunction")["Timeout"] == {"Ref": "ConsumerTimeout"}


def test_the_events_table_serves_the_documented_reads() -> None:
    table = props("EventsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    indexes = {
        index["IndexName"]: [k["AttributeName"] for k in index["KeySchema"]]
        for index in table["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by-content": ["content_key", "occurred_at"],
        "by-container": ["container_key", "occurred_at"],
        "by-actor": ["actor_key", "occurred_at"],
        "by-recipient": ["recipient_key", "occurred_at"],
        "by-type": ["event_type", "occurred_at"],
    }


def test_each_function_has_a_log_group_with_retention() -> None:
    groups = TEMPLATE.of_type("AWS::Logs::LogGroup")
    named = {str(group["LogGroupName"]["Fn::Sub"]) for group in groups.values() if "LogGroupName" in group}
    for function_id in FUNCTIONS:
        assert f"/aws/lambda/${{{function_id}}}" in named
    assert all(group["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in groups.values())
