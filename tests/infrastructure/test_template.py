"""template.yaml: every registered vendor has its row, and its route, queue, DLQ, consumer and secret, wired right."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.provision import provision
from intake_cli.samples import build_request
from intake_cli.template import TEMPLATE_PATH, SamTemplate, read
from webhook_intake.registry import VENDORS, vendor
from webhook_intake.store import schema

if TYPE_CHECKING:
    import boto3

pytestmark = pytest.mark.usefixtures("no_network")

TEMPLATE = SamTemplate()
RESOURCES = TEMPLATE.resources
FUNCTIONS = {spec.logical_id: spec for spec in TEMPLATE.functions()}
AS_WRITTEN = read()
VENDOR_TABLE = AS_WRITTEN["Mappings"]["Vendors"]
# Each route shape's loop of ingest functions, and its stems as written.
SHAPE_STEMS = {
    shape: AS_WRITTEN["Resources"][f"Fn::ForEach::{shape}Ingest"][1] for shape in ("Delivery", "PutPostDelete")
}
# Loops over every vendor's stem.
ALL_VENDOR_LOOPS = {
    "Resources": AS_WRITTEN["Resources"]["Fn::ForEach::Vendor"],
    "Outputs": AS_WRITTEN["Outputs"]["Fn::ForEach::VendorOutputs"],
}
# The SAM events of each route shape, by HTTP method (their names are part of logical ids).
ROUTE_SHAPES = {"Delivery": {"POST": "Delivery"}, "PutPostDelete": {"PUT": "Put", "POST": "Post", "DELETE": "Delete"}}
# What one row of the vendor table makes, by the suffix of its logical ids.
PER_VENDOR_RESOURCES = {
    "IngestFunction",
    "IngestLogGroup",
    "ConsumerFunction",
    "ConsumerFunctionQueue",
    "ConsumerLogGroup",
    "Queue",
    "DeadLetterQueue",
    "Secret",
    "DeadLetterAlarm",
    "QueueAgeAlarm",
    "SilenceAlarm",
    "FunctionsAlarm",
}
PER_VENDOR_OUTPUTS = {"QueueUrl", "DeadLetterQueueUrl", "DeadLetterQueueArn", "SecretArn"}
# Written out once in the template, not generated from the table.
EXPLICIT = {
    "SharedLayer",
    "HttpApi",
    "HttpApiAccessLogGroup",
    "OpenWebTokenFunction",
    "OpenWebTokenLogGroup",
    "ReplayTable",
    "PayloadBucket",
    "PayloadBucketPolicy",
    "EventsTable",
    "AlarmTopic",
    "AlarmEmailSubscription",
    "TraceSamplingRule",
    "TokenFunctionAlarm",
    "QuarantineAlarm",
    "SecretProblemsAlarm",
    "AuthFailureBurstAlarm",
    *(
        f"{part}{kind}Scaling{policy}"
        for part in ("EventsTable", "ByContent")
        for kind in ("Read", "Write")
        for policy in ("", "Policy")
    ),
    "ApiServerErrorAlarm",
    "ThrottledDeliveriesFilter",
    "ThrottledDeliveriesAlarm",
    "Dashboard",
}


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
        request = build_request(spec.key, b"{}", {}, "")
        method, path = request.method, request.path
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


def test_the_events_table_has_the_keys_and_indexes_the_code_uses() -> None:
    table = TEMPLATE.value(props("EventsTable"))
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in table
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    declared = {
        index["IndexName"]: (
            [k["AttributeName"] for k in index["KeySchema"]],
            set(index["Projection"]["NonKeyAttributes"]),
        )
        for index in table["GlobalSecondaryIndexes"]
    }
    assert declared == {
        name: ([partition, sort], set(projected)) for name, (partition, sort, projected) in schema.INDEXES.items()
    }


def test_the_provisioned_table_gets_capacity_on_the_table_and_each_index() -> None:
    table = SamTemplate(parameters={"TableBillingMode": "PROVISIONED"}).value(props("EventsTable"))
    assert table["BillingMode"] == "PROVISIONED"
    capacities = [
        table["ProvisionedThroughput"],
        *(index["ProvisionedThroughput"] for index in table["GlobalSecondaryIndexes"]),
    ]
    assert capacities == [{"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}] * 2


def test_the_local_stack_provisions_capacity_given_as_parameters(
    aws: boto3.session.Session, secrets: dict[str, Any]
) -> None:
    # Given capacities set by parameter (text, as CloudFormation passes a Number parameter on)
    parameters = {"TableBillingMode": "PROVISIONED", "TableMinWriteCapacity": "10", "TableMinReadCapacity": "7"}

    # When the local stack provisions the template
    stack = provision(SamTemplate(parameters=parameters), aws, "wi-capacity", secrets)

    # Then the table and each index have them
    table = aws.client("dynamodb").describe_table(TableName=stack.tables["EventsTable"])["Table"]
    capacities = [table, *table["GlobalSecondaryIndexes"]]
    assert [
        (each["ProvisionedThroughput"]["ReadCapacityUnits"], each["ProvisionedThroughput"]["WriteCapacityUnits"])
        for each in capacities
    ] == [(7, 10)] * 2


def test_each_function_has_a_log_group_with_retention() -> None:
    groups = TEMPLATE.of_type("AWS::Logs::LogGroup")
    named = {str(group["LogGroupName"]["Fn::Sub"]) for group in groups.values() if "LogGroupName" in group}
    for function_id in FUNCTIONS:
        assert f"/aws/lambda/${{{function_id}}}" in named
    assert all(group["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in groups.values())


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_every_registered_vendor_has_exactly_its_row(vendor_key: str) -> None:
    # Given the registry entry, and its row and stem lists in the vendor table as written
    spec = vendor(vendor_key)
    row = VENDOR_TABLE[spec.stem]
    (shape,) = [name for name, stems in SHAPE_STEMS.items() if spec.stem in stems]
    # When the row's routes are spelled out as API Gateway route keys
    routes = {f"{method} {row['Path']}" for method in ROUTE_SHAPES[shape]}
    # Then they are the registry's, under the registry's vendor key, and the stem is listed once
    assert row["Key"] == vendor_key
    assert routes == set(spec.routes)
    assert SHAPE_STEMS[shape].count(spec.stem) == 1


def test_the_vendor_table_has_no_row_the_registry_lacks() -> None:
    stems = {spec.stem for spec in VENDORS.values()}
    assert set(VENDOR_TABLE) == stems
    assert set(SHAPE_STEMS) == set(ROUTE_SHAPES)
    assert sorted(stem for listed in SHAPE_STEMS.values() for stem in listed) == sorted(stems)
    for loop in ALL_VENDOR_LOOPS.values():
        assert sorted(loop[1]) == sorted(stems)


def _loops(section: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    """Every Fn::ForEach of a section, nested ones included: (name, collection, body)."""
    found = []
    for name, value in section.items():
        if name.startswith("Fn::ForEach::"):
            collection, body = value[1], value[2]
            found.append((name, collection, body))
            found += _loops(body)
    return found


def test_every_loop_that_makes_code_iterates_a_written_out_list() -> None:
    # `sam package` puts each function's uploaded code location back into a loop only when the
    # loop's collection is a literal list; over a FindInMap it leaves the local CodeUri, and
    # CloudFormation refuses the template (SAM CLI, lib/package/language_extensions_packaging.py).
    with_code = [
        (name, collection)
        for name, collection, body in _loops(AS_WRITTEN["Resources"])
        if "CodeUri" in json.dumps(body) or "ContentUri" in json.dumps(body)
    ]
    assert {name for name, _ in with_code} >= {"Fn::ForEach::DeliveryIngest", "Fn::ForEach::Vendor"}
    assert all(isinstance(collection, list) for _, collection in with_code), with_code


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_each_row_makes_the_full_set_of_resources_and_outputs(vendor_key: str) -> None:
    stem = vendor(vendor_key).stem
    made = {logical_id for logical_id in RESOURCES if logical_id.startswith(stem)} - EXPLICIT
    assert made == {stem + suffix for suffix in PER_VENDOR_RESOURCES}
    outputs = {name for name in TEMPLATE.document["Outputs"] if name.startswith(stem) and "Token" not in name}
    assert outputs == {stem + suffix for suffix in PER_VENDOR_OUTPUTS}


def test_the_template_makes_the_vendor_resources_and_the_explicit_ones_and_nothing_else() -> None:
    per_vendor = {spec.stem + suffix for spec in VENDORS.values() for suffix in PER_VENDOR_RESOURCES}
    assert set(RESOURCES) == per_vendor | EXPLICIT


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_each_ingest_function_has_the_sam_events_of_its_route_shape(vendor_key: str) -> None:
    # SAM names a route's permission after its event (FastCommentsIngestFunctionPutPermission):
    # renaming an event would replace the permission.
    spec = vendor(vendor_key)
    events = RESOURCES[f"{spec.stem}IngestFunction"]["Properties"]["Events"]
    by_event = {name: str(event["Properties"]["Method"]) for name, event in events.items()}
    assert {method: name for name, method in by_event.items()} in ROUTE_SHAPES.values()


def test_no_template_line_is_longer_than_160_characters() -> None:
    long_lines = [
        number for number, line in enumerate(TEMPLATE_PATH.read_text().splitlines(), start=1) if len(line) > 160
    ]
    assert long_lines == []
