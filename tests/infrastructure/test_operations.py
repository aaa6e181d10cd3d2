"""Alarms, dashboard, logs, topic and IAM on the translated template: they exist and point at the right things."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from intake_cli.template import read
from tests.helpers import runbook_row
from tests.infrastructure.translated import resources_of_type, translated
from webhook_intake.ingest.contract import Contract
from webhook_intake.observability import Metric
from webhook_intake.payloads import DELIVERIES_PREFIX, RETENTION_TAG
from webhook_intake.registry import VENDORS
from webhook_intake.store.schema import FEED_PREFIX, QUARANTINE_PREFIX, SHAPE_PREFIX

pytestmark = pytest.mark.usefixtures("no_network")

STEMS = {key: spec.stem for key, spec in VENDORS.items()}


def resource(logical_id: str) -> dict[str, Any]:
    return dict(translated()["Resources"][logical_id])


def alarm_targets(props: dict[str, Any]) -> list[Any]:
    return [props.get("AlarmActions"), props.get("OKActions")]


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_each_vendor_alarms_on_dead_letters_and_queue_age(vendor_key: str) -> None:
    stem = STEMS[vendor_key]
    dead = resource(f"{stem}DeadLetterAlarm")["Properties"]
    assert (dead["Namespace"], dead["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [f"{stem}DeadLetterQueue", "QueueName"]}}
    ]
    assert (dead["Threshold"], dead["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    age = resource(f"{stem}QueueAgeAlarm")["Properties"]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert age["Dimensions"][0]["Value"] == {"Fn::GetAtt": [f"{stem}Queue", "QueueName"]}
    assert age["Threshold"] == {"Ref": "QueueAgeAlarmSeconds"}
    for props in (dead, age):
        assert alarm_targets(props) == [[{"Ref": "AlarmTopic"}]] * 2
    # The largest threshold still fires: a message older than it for the alarm's minutes is still kept
    kept = resource(f"{stem}Queue")["Properties"]["MessageRetentionPeriod"]
    largest = read()["Parameters"]["QueueAgeAlarmSeconds"]["MaxValue"]
    assert largest + age["Period"] * age["EvaluationPeriods"] <= kept


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_silent_vendor_alarm_exists_but_is_off_by_default(vendor_key: str) -> None:
    silence = resource(f"{STEMS[vendor_key]}SilenceAlarm")
    assert silence["Condition"] == "WatchSilence"
    props = silence["Properties"]
    # Every delivery is one invocation of the vendor's ingest function: Lambda counts them.
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": f"{STEMS[vendor_key]}IngestFunction"}}]
    assert props["TreatMissingData"] == "breaching"
    assert translated()["Parameters"]["SilentVendorHours"]["Default"] == 0
    assert translated()["Conditions"]["WatchSilence"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SilentVendorHours"}, 0]}]
    }


def alarm_query(alarm_id: str) -> str:
    """The alarm's one Metrics Insights query: ``${Function}`` placeholders for the names SAM gives."""
    (query,) = resource(alarm_id)["Properties"]["Metrics"]
    assert query["ReturnData"] is True
    expression = query["Expression"]
    return str(expression["Fn::Sub"] if isinstance(expression, dict) else expression)


def summed_with_gaps_as_zero(metrics: dict[str, dict[str, Any]]) -> set[str]:
    """The series the alarm's ``total`` adds up, each of which must be ``FILL(id, 0)``.

    Metric math adds two series only where both have a data point: a sum of bare series is empty
    in every minute one of them has none (an idle consumer has no Errors point while its ingest function fails).
    """
    terms = [term.strip() for term in metrics["total"]["Expression"].split("+")]
    filled = [re.fullmatch(r"FILL\((\w+), 0\)", term) for term in terms]
    assert all(filled), f"a series summed without FILL(…, 0): {metrics['total']['Expression']}"
    return {match[1] for match in filled if match}


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_each_vendor_alarms_when_its_functions_fail_or_are_throttled(vendor_key: str) -> None:
    # Given the vendor's functions alarm, made with its row
    stem = STEMS[vendor_key]
    metrics = {m["Id"]: m for m in resource(f"{stem}FunctionsAlarm")["Properties"]["Metrics"]}
    # Then it sums errors and throttles of exactly that vendor's two functions, each read as 0 when
    # it has no data point (an idle consumer must not hide a failing ingest function)
    assert summed_with_gaps_as_zero(metrics) == set(metrics) - {"total"}
    watched = {
        (m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"])
        for key, m in metrics.items()
        if key != "total"
    }
    assert watched == {
        (metric, f"{stem}{role}Function") for metric in ("Errors", "Throttles") for role in ("Ingest", "Consumer")
    }


def test_the_token_function_alarm_reads_a_missing_series_as_zero() -> None:
    metrics = {m["Id"]: m for m in resource("TokenFunctionAlarm")["Properties"]["Metrics"]}
    assert summed_with_gaps_as_zero(metrics) == {"errors", "throttles"}


def test_every_function_is_watched_by_an_alarm() -> None:
    watched = {
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
        for alarm in resources_of_type("AWS::CloudWatch::Alarm").values()
        for m in alarm["Properties"].get("Metrics", [])
        if "MetricStat" in m and m["MetricStat"]["Metric"]["Namespace"] == "AWS/Lambda"
    }
    assert watched == set(resources_of_type("AWS::Lambda::Function"))


@pytest.mark.parametrize(
    ("alarm_id", "metric", "period"),
    [
        ("AuthFailureBurstAlarm", Metric.AUTH_FAILURES, 300),
        ("QuarantineAlarm", Metric.QUARANTINED, 300),
        ("SecretProblemsAlarm", Metric.SECRET_PROBLEMS, 300),
    ],
)
def test_alarms_over_every_vendor_are_queries_that_name_no_vendor(alarm_id: str, metric: Metric, period: int) -> None:
    # The functions' EMF metrics: the namespace and service dimension come from the Globals.
    variables = translated_function_environment()
    namespace, service = variables["POWERTOOLS_METRICS_NAMESPACE"], variables["POWERTOOLS_SERVICE_NAME"]
    assert service == {"Ref": "AWS::StackName"}
    # No vendor in the WHERE clause: every vendor's metric counts, a new one's too; the stack's own only.
    assert alarm_query(alarm_id) == (
        f"SELECT SUM({metric}) FROM SCHEMA({namespace}, service, vendor) WHERE service = '${{AWS::StackName}}'"
    )
    assert resource(alarm_id)["Properties"]["Metrics"][0]["Period"] == period


def test_the_auth_failure_alarm_takes_its_threshold_from_a_parameter() -> None:
    props = resource("AuthFailureBurstAlarm")["Properties"]
    assert props["Threshold"] == {"Ref": "AuthFailureAlarmThreshold"}
    # "more credentials than this": the threshold itself does not alarm
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert "more credentials than this" in translated()["Parameters"]["AuthFailureAlarmThreshold"]["Description"]


def translated_function_environment() -> dict[str, Any]:
    """Environment variables every function shares (from the Globals)."""
    environments = [
        function["Properties"]["Environment"]["Variables"]
        for function in resources_of_type("AWS::Lambda::Function").values()
    ]
    return {name: value for name, value in environments[0].items() if all(e.get(name) == value for e in environments)}


def test_api_5xx_alarm_watches_the_http_api() -> None:
    props = resource("ApiServerErrorAlarm")["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert props["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]


def test_deliveries_the_route_throttling_refuses_raise_an_alarm() -> None:
    # A 429 of RouteRateLimit/RouteBurstLimit never reaches a function: no function metric counts it, the
    # access log alone holds it, and Viafoura engagement never sends those events again.
    filters = [
        f["Properties"]
        for f in resources_of_type("AWS::Logs::MetricFilter").values()
        if f["Properties"]["LogGroupName"] == {"Ref": "HttpApiAccessLogGroup"}
    ]
    (throttled,) = [f for f in filters if '$.status = "429"' in f["FilterPattern"]]
    # The token route's own throttle is OpenWeb's to retry (it asks again), not a lost delivery.
    assert '$.routeKey != "POST /oauth/openweb/token"' in throttled["FilterPattern"]
    (transformation,) = throttled["MetricTransformations"]
    assert transformation["MetricValue"] == "1"
    watching = [
        alarm["Properties"]
        for alarm in resources_of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == transformation["MetricName"]
        and alarm["Properties"].get("Namespace") == transformation["MetricNamespace"]
    ]
    (alarm,) = watching
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 60, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "Viafoura engagement" in alarm["AlarmDescription"]


def test_every_alarm_notifies_the_topic_and_the_email_subscription_is_optional() -> None:
    for logical_id, alarm in resources_of_type("AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert alarm["Properties"]["AlarmDescription"], logical_id
    subscription = resource("AlarmEmailSubscription")
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def dashboard_body() -> dict[str, Any]:
    text, variables = resource("Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    assert set(variables) == {"Overview", "WriteUnitPrice", "OnDemandWriteUnitPrice", "PriceBasis"}
    # ${Resource.Attr} and ${Resource} become placeholders; the rest must be valid dashboard JSON.
    return dict(json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: f"<{m.group(1)}>", text)))


def test_the_dashboards_write_cost_is_priced_as_the_table_is_billed() -> None:
    # Given the price the cost widget multiplies each event's write units by, in either billing mode
    text, variables = resource("Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    condition, provisioned, on_demand = variables["WriteUnitPrice"]["Fn::If"]
    assert condition == "Provisioned"
    assert "(${PriceBasis})" in text
    # Then on demand it is US East's price of a million write request units
    assert float(on_demand) == 0.625
    assert variables["OnDemandWriteUnitPrice"] == on_demand
    # And provisioned, a write capacity unit's hour ($0.00065) over the 3,600 writes it makes, at the target use
    constant, rest = provisioned["Fn::Sub"].split(" ", 1)
    assert rest == "* 100 / ${TableTargetUtilization}"
    assert float(constant) * 100 / 70 == pytest.approx(0.00065 / 3600 / 0.70 * 1e6, rel=1e-5)


def dashboard_series() -> list[Any]:
    return [m for w in dashboard_body()["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]


def test_the_dashboards_write_cost_counts_the_replay_tables_writes() -> None:
    # Given the write-cost widget, and ingest's conditional put of each used credential (not a consumer's write)
    widgets = dashboard_body()["widgets"]
    (widget,) = [w for w in widgets if "USD per million events" in w["properties"].get("title", "")]
    series = {(m[-1] if isinstance(m[-1], dict) else {}).get("id", ""): m for m in widget["properties"]["metrics"]}
    # Then the replay table's consumed write units, summed, are one of its series
    assert series["used"][:4] == ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", "<ReplayTable>"]
    assert series["used"][4]["stat"] == "Sum"
    # And they are priced per event stored by every vendor, over the same hour, at the on-demand price
    stored = series["stored"][0]["expression"]
    assert f'MetricName="{Metric.STORED}"' in stored and stored.endswith("'Sum', 3600)")
    assert series["used"][4]["period"] == 3600
    assert series["credentials"][0]["expression"] == "used / SUM(stored) * <OnDemandWriteUnitPrice>"


def test_the_dashboard_shows_every_vendor_by_search_not_by_name() -> None:
    # Given every per-vendor series of the dashboard
    searches = [m[0]["expression"] for m in dashboard_series() if isinstance(m[0], dict)]
    app = "{WebhookIntake,service,vendor}"
    # Then the app's metrics come from a SEARCH over the vendor dimension
    for metric in (
        Metric.STORED,
        Metric.DUPLICATES,
        Metric.AUTH_FAILURES,
        Metric.ENQUEUE_FAILURES,
        Metric.WRITE_UNITS_PER_EVENT,
        Metric.RECORDS_RETRIED,
        Metric.INGEST_TO_STORE_LAG,
        Metric.END_TO_END_LAG,
        Metric.COLD_STARTS,
    ):
        assert any(f'{app} MetricName="{metric}"' in search for search in searches), metric
    assert any(f'MetricName="{Metric.REJECTED}"' in search for search in searches)
    # Deliveries received: the ingest functions' invocations, each vendor's function its own line
    assert any('{AWS/Lambda,FunctionName} MetricName="Invocations"' in s and " Ingest'" in s for s in searches)
    assert any(f'MetricName="{Metric.QUARANTINED_BY_REASON}"' in search for search in searches)
    assert any(f'MetricName="{Metric.NEW_SHAPES}"' in search for search in searches)
    assert all('service="<AWS::StackName>"' in search for search in searches if "{WebhookIntake," in search)
    # And queues and functions from a SEARCH scoped to the stack's name
    for schema, metrics in (
        ("{AWS/SQS,QueueName}", ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"]),
        ("{AWS/Lambda,FunctionName}", ['"Duration"', '"Errors"', '"Throttles"']),
    ):
        scoped = [search for search in searches if search.startswith(f"SEARCH('{schema}")]
        assert all("Name=<AWS::StackName>" in search for search in scoped), scoped
        assert all(any(metric in search for search in scoped) for metric in metrics)
    # And no vendor is named anywhere: a new vendor shows up without an edit
    body = json.dumps(dashboard_body())
    assert not [name for spec in VENDORS.values() for name in (spec.key, spec.stem) if name in body]


def test_the_dashboard_shows_the_api() -> None:
    api = [m for m in dashboard_series() if isinstance(m[0], str) and m[0] != "AWS/DynamoDB"]
    assert {(m[0], m[1], m[3]) for m in api} == {
        ("AWS/ApiGateway", name, "<HttpApi>") for name in ("Count", "4xx", "5xx", "Latency")
    }


def test_every_log_group_has_retention_and_every_function_has_one() -> None:
    groups = resources_of_type("AWS::Logs::LogGroup")
    assert all(group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in groups.values())
    named = {json.dumps(group["Properties"].get("LogGroupName")) for group in groups.values()}
    for function_id in resources_of_type("AWS::Lambda::Function"):
        assert json.dumps({"Fn::Sub": f"/aws/lambda/${{{function_id}}}"}) in named


def test_lambda_lets_through_the_lines_loglevel_asks_for() -> None:
    # With JSON logs Lambda filters the code's lines (INFO when not told) and Powertools takes
    # Lambda's level over POWERTOOLS_LOG_LEVEL: both must follow LogLevel, in Lambda's spelling.
    lambda_levels = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    allowed = translated()["Parameters"]["LogLevel"]["AllowedValues"]
    mapping = translated()["Mappings"]["LogLevels"]
    # Never above INFO: the EMF metric lines carry no level, and Lambda counts them as INFO
    assert {level: mapping[level]["Lambda"] for level in allowed} == {
        "DEBUG": "DEBUG",
        "INFO": "INFO",
        "WARNING": "INFO",
        "ERROR": "INFO",
    }
    assert {entry["Lambda"] for entry in mapping.values()} <= lambda_levels
    for logical_id, function in resources_of_type("AWS::Lambda::Function").items():
        logging_config = function["Properties"]["LoggingConfig"]
        assert logging_config["LogFormat"] == "JSON", logical_id
        assert logging_config["ApplicationLogLevel"] == {"Fn::FindInMap": ["LogLevels", {"Ref": "LogLevel"}, "Lambda"]}


def test_the_api_has_throttling_and_access_logs() -> None:
    stage = resource("HttpApiApiGatewayDefaultStage")["Properties"]
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "RouteRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "RouteBurstLimit"},
    }
    limit = {"Ref": "TokenRouteRateLimit"}
    assert stage["RouteSettings"] == {
        "POST /oauth/openweb/token": {"ThrottlingRateLimit": limit, "ThrottlingBurstLimit": limit}
    }
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]}


def inline_statements(role_id: str) -> list[dict[str, Any]]:
    policies = resource(role_id)["Properties"].get("Policies", [])
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_ingest_may_only_send_to_its_queue_read_its_secret_and_record_its_own_credentials(vendor_key: str) -> None:
    stem = STEMS[vendor_key]
    statements = inline_statements(f"{stem}IngestFunctionRole")
    actions = {
        action for s in statements for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    # The replay table only for a vendor whose credentials are single-use (FastComments' signatures): any
    # other ingest never writes it, and the table keeps the token route's assertion ids too
    single_use = type(VENDORS[vendor_key].contract()).single_use is not Contract.single_use
    environment = resource(f"{stem}IngestFunction")["Properties"]["Environment"]["Variables"]
    assert ("REPLAY_TABLE_NAME" in environment) is single_use
    assert actions == {
        "sqs:SendMessage*",
        "secretsmanager:GetSecretValue",
        "s3:PutObject",
        "s3:PutObjectTagging",
    } | ({"dynamodb:PutItem"} if single_use else set())
    if single_use:
        (replays,) = [s for s in statements if s["Action"] == "dynamodb:PutItem"]
        assert replays["Resource"] == {"Fn::GetAtt": ["ReplayTable", "Arn"]}
        # Its own signatures only: never another vendor's, nor the token route's assertion ids (openweb:jti:…)
        assert replays["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{vendor_key}:signature:*"]}
        }
    resources = json.dumps([s["Resource"] for s in statements])
    assert f'"{stem}Queue"' in resources
    assert f'"{stem}Secret"' in resources
    # Claim checks, tagged with their retention: a PutObject with tags needs s3:PutObjectTagging too
    (claim_checks,) = [s for s in statements if s["Action"] == ["s3:PutObject", "s3:PutObjectTagging"]]
    assert claim_checks["Resource"] == own("${PayloadBucket.Arn}/" + DELIVERIES_PREFIX + "${Key}/*", vendor_key)
    others = [other for other in STEMS.values() if other != stem]
    assert not any(f'"{other}Queue"' in resources or f'"{other}Secret"' in resources for other in others)


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_consumer_may_only_write_the_events_table_and_its_payloads_and_use_its_queue(vendor_key: str) -> None:
    stem = STEMS[vendor_key]
    role = resource(f"{stem}ConsumerFunctionRole")["Properties"]
    # No AWS-managed SQS policy: AWSLambdaSQSQueueExecutionRole may receive and delete on any queue
    assert [arn.rsplit("/", 1)[-1] for arn in role["ManagedPolicyArns"]] == [
        "AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess",
    ]
    statements = inline_statements(f"{stem}ConsumerFunctionRole")
    # Its own queue: polled, and sent the rest of a delivery it ran out of time for; no other queue
    poller, sender = [statement for statement in statements if str(statement["Action"]).count("sqs:")]
    own_queue = {"queueName": {"Fn::GetAtt": [f"{stem}Queue", "QueueName"]}}
    assert poller["Resource"]["Fn::Sub"][1] == sender["Resource"]["Fn::Sub"][1] == own_queue
    assert "sqs:SendMessage" not in poller["Action"]
    assert sender["Action"] == ["sqs:SendMessage*"]
    statements.remove(poller)
    statements.remove(sender)
    # Writes to its own vendor's items only (and the feed's pages, which every vendor's share); no deletes nor
    # reads but of its own quarantine; payloads under its own vendor's prefixes
    table = {"Fn::GetAtt": ["EventsTable", "Arn"]}
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": table,
            "Condition": {
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [f"{vendor_key}#*", f"{FEED_PREFIX}*", f"{SHAPE_PREFIX}{vendor_key}"]
                }
            },
        },
        {
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
            "Resource": table,
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [f"{QUARANTINE_PREFIX}{vendor_key}"]}},
        },
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                own(f"${{PayloadBucket.Arn}}/{prefix}/${{Key}}/*", vendor_key)
                for prefix in ("deliveries", "bodies", "quarantine")
            ],
        },
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": [
                own(f"${{PayloadBucket.Arn}}/{prefix}/${{Key}}/*", vendor_key)
                for prefix in ("bodies", "recipients", "quarantine")
            ],
        },
        {
            "Effect": "Allow",
            "Action": "s3:PutObjectTagging",
            "Resource": [
                own(f"${{PayloadBucket.Arn}}/{prefix}/${{Key}}/*", vendor_key) for prefix in ("bodies", "recipients")
            ],
        },
    ]


def own(pattern: str, vendor_key: str) -> dict[str, Any]:
    """A resource of the translated template under one vendor's own prefix."""
    return {"Fn::Sub": [pattern, {"Key": vendor_key}]}


def test_the_payload_bucket_is_private_encrypted_tls_only_and_expires_deliveries() -> None:
    bucket = resource("PayloadBucket")["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    rules = bucket["LifecycleConfiguration"]["Rules"]
    (expiry,) = [rule for rule in rules if rule.get("Prefix") == "deliveries/"]
    assert expiry["ExpirationInDays"] > 14  # outlives the dead-letter queues' retention
    # An event's parts in S3, and the delivery body it came in, go with the event: after RetentionDays
    # when there is a retention (S3 honours the shorter of two expirations), and only the objects
    # tagged with it (a later value never reaches objects written under another)
    conditional = {rule["Fn::If"][1]["Prefix"]: rule["Fn::If"] for rule in rules if "Fn::If" in rule}
    assert set(conditional) == {"bodies/", "recipients/", "deliveries/"}
    for condition, kept, dropped in conditional.values():
        assert (condition, kept["ExpirationInDays"], kept["TagFilters"], dropped) == (
            "HasRetention",
            {"Ref": "RetentionDays"},
            [{"Key": RETENTION_TAG, "Value": {"Ref": "RetentionDays"}}],
            {"Ref": "AWS::NoValue"},
        )
    (statement,) = resource("PayloadBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


KEPT_ONCE_CREATED = ("RetainExceptOnCreate", "Retain")
"""Kept when the stack is deleted or the resource replaced; gone with the rollback of the deploy that made it
(a first deploy that fails holds no event, and each retry would leave another empty table, bucket and queues)."""


@pytest.mark.parametrize("logical_id", ["EventsTable", "PayloadBucket", "PayloadBucketPolicy"])
def test_the_event_log_outlives_the_stack(logical_id: str) -> None:
    # The events table keeps the items; the payload bucket their large bodies and recipient lists
    # (bodies/, recipients/): deleting the stack keeps both (the bucket with its TLS-only policy), and
    # a bucket CloudFormation tried to delete would fail the deletion anyway once it holds an object.
    kept = resource(logical_id)
    assert (kept.get("DeletionPolicy"), kept.get("UpdateReplacePolicy")) == KEPT_ONCE_CREATED


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_deliveries_a_vendor_queue_holds_outlive_the_stack(vendor_key: str) -> None:
    # Every message in a vendor's queue or dead-letter queue is a delivery the vendor was answered 2xx for
    # and sends no more: deleting the stack (or a replacement) leaves both queues, messages and redrive
    # link included, for the operator to drain, instead of deleting the events with them
    for logical_id in (f"{STEMS[vendor_key]}Queue", f"{STEMS[vendor_key]}DeadLetterQueue"):
        kept = resource(logical_id)
        assert (kept.get("DeletionPolicy"), kept.get("UpdateReplacePolicy")) == KEPT_ONCE_CREATED, logical_id


NAMES = ("Name", "LayerName", "FunctionName", "TableName", "QueueName", "BucketName", "TopicName", "AlarmName",
         "LogGroupName", "DashboardName", "PolicyName", "RuleName")  # fmt: skip
"""Properties that give a resource its name in the account (and region): one taken, no other stack can take it."""


def test_two_stacks_in_one_account_take_no_name_of_each_others() -> None:
    # dev and prod side by side (samconfig.toml), or this project beside another made with SAM: each name the
    # template sets is made from the stack's name or id, or from a resource of its own (whose name is)
    resources = translated()["Resources"]
    shared = []
    for logical_id, found in resources.items():
        props = found.get("Properties", {})
        for name, value in [*props.items(), *props.get("SamplingRule", {}).items()]:
            if name not in NAMES:
                continue
            text = json.dumps(value)
            own = "AWS::Stack" in text or any(
                f'"{other}"' in text or f"${{{other}" in text for other in resources if other != logical_id
            )
            if not own:
                shared.append(f"{logical_id}.{name} = {text}")
    assert shared == []


def test_queues_tables_and_topic_are_encrypted_or_justified() -> None:
    for queue in resources_of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    for table in resources_of_type("AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}


def test_the_events_table_can_be_provisioned_with_auto_scaling_on_it_and_each_index() -> None:
    table = resource("EventsTable")["Properties"]
    assert table["BillingMode"] == {"Ref": "TableBillingMode"}
    throughput = [
        table["ProvisionedThroughput"],
        *(gsi["ProvisionedThroughput"] for gsi in table["GlobalSecondaryIndexes"]),
    ]
    assert all(value["Fn::If"][0] == "Provisioned" for value in throughput)
    targets = resources_of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    scaled = set()
    for target in targets.values():
        resource_id = json.dumps(target["Properties"]["ResourceId"])
        dimension = target["Properties"]["ScalableDimension"]
        scaled.add((resource_id, dimension["Fn::Sub"] if isinstance(dimension, dict) else dimension))
    scopes = [(json.dumps({"Fn::Sub": "table/${EventsTable}"}), "table")] + [
        (json.dumps({"Fn::Sub": ["table/${EventsTable}/index/${Name}", {"Name": name}]}), "index")
        for name in ("by-content",)
    ]
    assert scaled == {
        (resource_id, f"dynamodb:{scope}:{kind}CapacityUnits")
        for resource_id, scope in scopes
        for kind in ("Read", "Write")
    }
    assert all(target["Condition"] == "Provisioned" for target in targets.values())
    policies = resources_of_type("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == 4
    assert all(
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == {"Ref": "TableTargetUtilization"}
        for p in policies.values()
    )


def test_traces_are_sampled_at_the_templates_rate() -> None:
    rule = resource("TraceSamplingRule")["Properties"]["SamplingRule"]
    assert (rule["FixedRate"], rule["ReservoirSize"]) == ({"Ref": "TraceSampleRate"}, 0)
    assert rule["ServiceType"] == "AWS::Lambda::Function"
    assert translated()["Parameters"]["TraceSampleRate"]["Default"] <= 0.05
    skips = resource("AlarmTopic")["Metadata"]["checkov"]["skip"]
    assert [skip["id"] for skip in skips] == ["CKV_AWS_26"]
    assert all(skip["comment"] for skip in skips)


def test_the_secret_problems_alarm_says_what_the_vendors_heard() -> None:
    # The alarm's description is what the on-call reads in its e-mail: a secret that is no JSON object is
    # answered 500 by a function with no good copy read before (vendors that retry deliver again once it is
    # mended), one that holds such a copy keeps using it, and a bad entry in a rotation's list refuses only
    # the deliveries that present it (tests/unit/test_ingest_service.py)
    description = resource("SecretProblemsAlarm")["Properties"]["AlarmDescription"]
    assert "500" in description
    assert "copy" in description
    assert "rotation" in description
    assert "every delivery of that vendor is refused" not in description


def test_the_quarantine_runbook_says_what_becomes_of_each_reason() -> None:
    # A quarantined event waits in `intake dlq list` until it is sent back or let go; sent back, a conflict
    # and an event the vendor sent without its id come back quarantined again, one more try
    # (tests/e2e/test_local_stack.py, tests/cli/test_dlq.py): the on-call must read which to let go
    row = runbook_row("QuarantineAlarm")
    reasons = ("conflict", "invalid_event", "missing_id", "missing_field", "invalid_id", "invalid_field")
    # and a record whose body could not be read at all, or whose claim check cannot be followed
    for reason in (*reasons, "too_large", "store_refused", "invalid_claim_check", "invalid_json", "invalid_envelope"):
        assert f"`{reason}`" in row, reason
    assert "intake dlq delete" in row
    assert "intake dlq redrive" in row
    description = resource("QuarantineAlarm")["Properties"]["AlarmDescription"]
    assert "conflict" in description
    assert "intake dlq delete" in description


def test_the_readme_names_every_test_suite_make_test_runs() -> None:
    # make test runs every folder of tests/: the README's layout and its make test row name each, so a
    # reader looking for the generated-delivery properties (docs/reliability.md) finds their folder
    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    suites = sorted(p.name for p in (root / "tests").iterdir() if (p / "__init__.py").is_file())
    (layout,) = [line for line in readme.splitlines() if line.startswith("tests/ ")]
    (make_test,) = [line for line in readme.splitlines() if line.startswith("| `make test` |")]
    for suite in suites:
        assert f"{suite}/" in layout, suite
    assert "property" in make_test


def test_no_test_module_imports_another() -> None:
    # What several test modules use lives in tests/helpers.py: importing one test module from another runs
    # its module-level setup too, and ties a suite to the file another suite keeps its cases in
    root = Path(__file__).parents[2]
    imports = []
    for path in sorted((root / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            imports += [
                f"{path.relative_to(root)}: {name}"
                for name in names
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
            ]
    assert imports == []


def test_no_line_silences_a_linter_make_lint_does_not_run() -> None:
    # ruff's S rules are the security checks (bandit's, which make lint does not run): bandit's marker beside
    # ruff's says the same thing twice, and one on its own silences nothing any check reads
    root = Path(__file__).parents[2]
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    assert "bandit" not in makefile
    folders = ("layers", "functions", "src", "tests", "benchmarks")
    marker = "# " + "nosec"  # written apart, so that this line is not one
    silenced = [
        f"{path.relative_to(root)}:{number}"
        for folder in folders
        for path in sorted((root / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if marker in line
    ]
    assert silenced == []


def test_the_readme_runbook_has_every_alarm_and_the_docs_name_every_metric() -> None:
    # An alarm's e-mail names the alarm: the on-call looks it up in the README runbook (a vendor's as
    # <Vendor>…Alarm). One building an alarm or a query of their own looks up each metric by its name:
    # every one the functions emit, and the one the access log's filter counts, is named in the docs
    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    docs = readme + "".join(page.read_text(encoding="utf-8") for page in sorted((root / "docs").glob("*.md")))
    stems = "|".join(STEMS.values())
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for alarm in resources_of_type("AWS::CloudWatch::Alarm"):
        named = re.sub(rf"^({stems})", "<Vendor>", alarm)
        assert any(row.startswith(f"| `{named}`") for row in rows), alarm
    filtered = [
        transformation["MetricName"]
        for resource in resources_of_type("AWS::Logs::MetricFilter").values()
        for transformation in resource["Properties"]["MetricTransformations"]
    ]
    unnamed = [name for name in [*(metric.value for metric in Metric), *filtered] if f"`{name}`" not in docs]
    assert unnamed == []


def test_the_throttling_runbook_deploys_the_raised_limits_with_a_fresh_build() -> None:
    # A bare `sam deploy` uploads whatever .aws-sam/build holds: an older checkout's code and template, or,
    # with no build there, the layer's source tree, whose functions then cannot import their code. The
    # on-call raising the route limits must be sent through `make deploy`, which builds first.
    row = runbook_row("ThrottledDeliveriesAlarm")
    assert "make deploy" in row
    assert "`sam deploy" not in row
    assert "`RouteRateLimit`" in row
    assert "parameter_overrides" in row
