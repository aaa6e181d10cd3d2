"""What the template asks CloudWatch for is what the functions publish.

An alarm or a widget naming a metric, a dimension set or a namespace no function writes stays empty
for ever, and nobody notices: here every function is driven through each outcome an alarm or a widget
is for, its EMF records are read as CloudWatch reads them, and every series the alarms and the dashboard
ask for (resolved as deployed, at the defaults and with the table provisioned) must be among them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from intake_cli.openweb_client import client_assertion, token_request_body
from intake_cli.samples import sample_files
from intake_cli.template import SamTemplate
from tests.helpers import (
    consumer_dynamodb_hook,
    emf_records,
    fail_writes_of,
    notifications_body,
    put_secret,
    queue_url,
    send,
    send_body,
)
from webhook_intake.clients import client
from webhook_intake.ingest.queue import INGEST_CONFIG
from webhook_intake.observability import Metric
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime

ROOT = Path(__file__).parents[2]
PINGS = ROOT / "events" / "pings"
APP_NAMESPACE = "WebhookIntake"

# What AWS publishes for the resources the template watches, by namespace: each metric's dimension set.
AWS_SERIES = {
    "AWS/Lambda": ({"Invocations", "Duration", "Errors", "Throttles"}, frozenset({"FunctionName"})),
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}, frozenset({"QueueName"})),
    "AWS/ApiGateway": ({"Count", "4xx", "5xx", "Latency"}, frozenset({"ApiId"})),
    "AWS/DynamoDB": ({"ConsumedWriteCapacityUnits"}, frozenset({"TableName"})),
}
STATISTICS = re.compile(r"(Sum|Average|Maximum|Minimum|SampleCount|p\d{1,2}(\.\d+)?)")

Series = tuple[str, str, frozenset[str]]
"""(namespace, metric name, dimension names): what CloudWatch keeps a metric's points under."""


@dataclass(frozen=True)
class Asked:
    """One series an alarm or a widget asks for, and how."""

    where: str
    namespace: str
    metric: str
    dimensions: frozenset[str]
    stat: str
    period: int

    def __repr__(self) -> str:
        return f"{self.where}: {self.namespace} {self.metric} {sorted(self.dimensions)} {self.stat}/{self.period}"


class Placeholders(dict[str, str]):
    """Every resource's attribute as a placeholder (``Fn::GetAtt``): what it resolves to is AWS's."""

    def __bool__(self) -> bool:
        return True

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def deployed(stack: str, parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The alarms, the dashboard and the metric filters as CloudFormation would create them in ``stack``."""
    template = SamTemplate(parameters=parameters)
    refs = {logical_id: f"<{logical_id}>" for logical_id in template.resources}
    refs |= {"AWS::StackName": stack, "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
    kinds = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::Logs::MetricFilter")
    return {
        logical_id: template.value(props, refs, Placeholders())
        for kind in kinds
        for logical_id, props in template.of_type(kind).items()
    }


def math_ids(expression: str) -> set[str]:
    """The ids a metric-math expression reads (an id begins with a lower-case letter, a function's name does not)."""
    return set(re.findall(r"\b([a-z]\w*)\b", expression))


def insights_query(where: str, expression: str, period: int, stack: str) -> Asked:
    """A Metrics Insights ``SELECT FN(metric) FROM SCHEMA(namespace, dimensions…) WHERE service = '…'``."""
    match = re.fullmatch(
        r"SELECT (\w+)\((\w+)\) FROM SCHEMA\(([^)]*)\)\s+WHERE service = '([^']*)'", " ".join(expression.split())
    )
    assert match, f"{where}: a query this check cannot read: {expression}"
    function, metric, schema, service = match.groups()
    namespace, *dimensions = (name.strip() for name in schema.split(","))
    assert service == stack, where
    stat = {"SUM": "Sum", "AVG": "Average", "MAX": "Maximum", "MIN": "Minimum", "COUNT": "SampleCount"}[function]
    return Asked(where, namespace, metric, frozenset(dimensions), stat, period)


def searches(where: str, expression: str, stack: str) -> list[Asked]:
    """Every ``SEARCH('{namespace,dimensions…} MetricName="…" …', 'stat', period)`` of an expression."""
    found = re.findall(r"SEARCH\('\{([^}]*)\}(.*?)',\s*'([^']+)',\s*(\d+)\)", expression)
    assert found or "SEARCH" not in expression, f"{where}: a SEARCH this check cannot read: {expression}"
    asked = []
    for schema, terms, stat, period in found:
        namespace, *dimensions = (name.strip() for name in schema.split(","))
        metrics = re.findall(r'MetricName="?(\w+)"?', terms)
        assert metrics, f"{where}: a SEARCH naming no metric: {expression}"
        if namespace == APP_NAMESPACE:
            assert f'service="{stack}"' in terms, f"{where}: not scoped to the stack: {expression}"
        asked += [Asked(where, namespace, metric, frozenset(dimensions), stat, int(period)) for metric in metrics]
    return asked


def alarm_asks(logical_id: str, props: dict[str, Any], stack: str) -> list[Asked]:
    """The series an alarm evaluates (a single metric, metric stats, math over them, a query)."""
    if "MetricName" in props:
        dimensions = frozenset(d["Name"] for d in props.get("Dimensions", []))
        stat = props.get("Statistic") or props["ExtendedStatistic"]
        return [Asked(logical_id, props["Namespace"], props["MetricName"], dimensions, stat, props["Period"])]
    asked = []
    ids = {query["Id"] for query in props["Metrics"]}
    for query in props["Metrics"]:
        if "MetricStat" in query:
            stat, metric = query["MetricStat"], query["MetricStat"]["Metric"]
            dimensions = frozenset(d["Name"] for d in metric.get("Dimensions", []))
            asked.append(
                Asked(logical_id, metric["Namespace"], metric["MetricName"], dimensions, stat["Stat"], stat["Period"])
            )
        elif query["Expression"].lstrip().upper().startswith("SELECT"):
            asked.append(insights_query(logical_id, query["Expression"], query["Period"], stack))
        else:
            assert math_ids(query["Expression"]) <= ids, f"{logical_id}: {query['Expression']}"
    return asked


def widget_asks(title: str, properties: dict[str, Any], stack: str) -> list[Asked]:
    """The series a metric widget draws or computes with."""
    asked = []
    entries = properties["metrics"]
    ids = {entry[-1]["id"] for entry in entries if isinstance(entry[-1], dict) and "id" in entry[-1]}
    for entry in entries:
        options = entry[-1] if isinstance(entry[-1], dict) else {}
        if "expression" in options:
            expression = options["expression"]
            asked += searches(title, expression, stack)
            if "SEARCH" not in expression:
                assert math_ids(expression) <= ids, f"{title}: {expression}"
            continue
        names = [part for part in entry if isinstance(part, str)]
        namespace, metric, *pairs = names
        # A widget's own stat and period stand for a series that names none (CloudWatch's defaults: Average, 300)
        stat = str(options.get("stat", properties.get("stat", "Average")))
        period = int(options.get("period", properties.get("period", 300)))
        asked.append(Asked(title, namespace, metric, frozenset(pairs[0::2]), stat, period))
    return asked


def asked_of(resolved: dict[str, dict[str, Any]], stack: str) -> list[Asked]:
    """Every series the stack's alarms and dashboard ask CloudWatch for."""
    asked = []
    for logical_id, props in resolved.items():
        if "DashboardBody" in props:
            body = json.loads(props["DashboardBody"])
            for widget in body["widgets"]:
                assert widget["type"] in {"text", "metric"}, f"a {widget['type']} widget this check cannot read"
                if widget["type"] == "metric":
                    asked += widget_asks(widget["properties"]["title"], widget["properties"], stack)
        elif "AlarmDescription" in props:
            asked += alarm_asks(logical_id, props, stack)
    return asked


def filtered(resolved: dict[str, dict[str, Any]]) -> set[Series]:
    """The series the template's metric filters make of log lines."""
    series = set()
    for props in resolved.values():
        for made in props.get("MetricTransformations", []):
            dimensions = frozenset(d["Key"] for d in made.get("Dimensions", []))
            series.add((made["MetricNamespace"], made["MetricName"], dimensions))
    return series


def published(text: str, stack: str) -> set[Series]:
    """Every series the EMF records in ``text`` put points in, each dimension set of a record its own."""
    series = set()
    for record in emf_records(text):
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert record.get("service") == stack
        for dimensions in directive["Dimensions"]:
            for metric in directive["Metrics"]:
                series.add((directive["Namespace"], metric["Name"], frozenset(dimensions)))
    return series


def every_outcome(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    """Each outcome an alarm or a widget is for, through every function of the stack."""
    # A secret entry that cannot work beside one that does: reported when the function reads it
    firstup = secrets["firstup"]["tokens"][0]
    put_secret(runtime, "FirstupSecret", {"tokens": [firstup, f" {firstup} "]})
    # Cold starts, accepted deliveries, stored events with their lags and write units, new shapes
    for vendor_key in VENDORS:
        for path in sample_files(vendor_key):
            send(runtime, vendor_key, path, secrets)
        send(runtime, vendor_key, sample_files(vendor_key)[0], secrets, bad_auth=True)
        send_body(runtime, vendor_key, b"not json", secrets[vendor_key])
    send_body(runtime, "openweb", {"event_id": "watch-shape", "type": "made-up"}, secrets["openweb"])
    send(runtime, "firstup", PINGS / "firstup" / "subscription-ping.json", secrets)
    # A record put on the queue by hand, without the attributes ingest gives every delivery
    body = json.dumps({"event_id": "watch-bare", "type": "user-followed"})
    runtime.sqs.send_message(QueueUrl=queue_url(runtime, "openweb"), MessageBody=body)
    runtime.drain()
    # Duplicates, a conflict, an event quarantined for its missing id
    send(runtime, "firstup", sample_files("firstup")[0], secrets)
    send_body(runtime, "openweb", {"event_id": "watch-shape", "type": "made-up", "other": 1}, secrets["openweb"])
    notifications = secrets["viafoura-notifications"]
    send_body(runtime, "viafoura-notifications", notifications_body("watch-ok", None), notifications)
    runtime.drain()
    # A record handed back to the queue while DynamoDB fails its writes
    send_body(runtime, "viafoura-notifications", notifications_body("watch-retried"), notifications)
    with consumer_dynamodb_hook(fail_writes_of("watch-retried")):
        runtime.drain(max_polls=1)
    runtime.drain()
    # A delivery the queue refuses (answered 500)
    sqs = client("sqs", INGEST_CONFIG)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "refused"}}, "SendMessage")

    sqs.meta.events.register_first("before-send.sqs", refuse)
    try:
        assert send(runtime, "firstup", sample_files("firstup")[0], secrets).status == 500
    finally:
        sqs.meta.events.unregister("before-send.sqs", refuse)
    # The token route: a token issued, a wrong client, a malformed request
    openweb = secrets["openweb"]
    form = {"content-type": "application/x-www-form-urlencoded"}
    assertion = client_assertion(openweb["client_id"], openweb["client_secret"], openweb["audience"], time.time())
    assert runtime.request("POST", "/oauth/openweb/token", form, token_request_body(assertion)).status == 200
    wrong = client_assertion(openweb["client_id"], "not-the-secret", openweb["audience"], time.time())
    assert runtime.request("POST", "/oauth/openweb/token", form, token_request_body(wrong)).status == 401
    assert runtime.request("POST", "/oauth/openweb/token", form, b"grant_type=password").status == 400


@pytest.fixture
def outcomes(runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> str:
    """Everything the functions printed through :func:`every_outcome`."""
    capsys.readouterr()
    every_outcome(runtime, secrets)
    return capsys.readouterr().out


def test_every_series_the_alarms_and_the_dashboard_ask_for_is_one_the_functions_publish(
    runtime: LocalRuntime, outcomes: str
) -> None:
    # Given the alarms and the dashboard as deployed at the defaults, and with the table provisioned
    stack = runtime.stack.name
    empty = []
    for parameters in ({}, {"TableBillingMode": "PROVISIONED"}):
        empty += unpublished(stack, parameters, outcomes)
    # Then each series they ask for is one a function (or a metric filter) writes, or one AWS publishes
    assert empty == []


def unpublished(stack: str, parameters: dict[str, str], outcomes: str) -> list[Asked]:
    """The series the stack's alarms and dashboard ask for that nothing publishes."""
    resolved = deployed(stack, parameters)
    written = published(outcomes, stack) | filtered(resolved)
    asked = asked_of(resolved, stack)
    assert asked
    empty = []
    for series in asked:
        assert STATISTICS.fullmatch(series.stat), series
        assert series.period % 60 == 0, series
        if series.namespace.startswith("AWS/"):
            names, dimensions = AWS_SERIES[series.namespace]
            known = series.metric in names and series.dimensions == dimensions
        else:
            known = (series.namespace, series.metric, series.dimensions) in written
        if not known:
            empty.append(series)
    return empty


def test_every_metric_the_functions_publish_is_named_in_the_docs(runtime: LocalRuntime, outcomes: str) -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    docs += "".join(page.read_text(encoding="utf-8") for page in sorted((ROOT / "docs").glob("*.md")))
    names = {metric for _, metric, _ in published(outcomes, runtime.stack.name)}
    assert names == {metric.value for metric in Metric}
    assert sorted(name for name in names if f"`{name}`" not in docs) == []


def test_every_line_carries_the_fields_the_readmes_logs_insights_query_shows(outcomes: str) -> None:
    # Given the README's query: the fields it shows, and those its filter reads
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (query,) = re.findall(r"In Logs Insights: `([^`]+)`", readme)
    shown, where = query.split("|", 1)
    assert shown.startswith("fields ")
    columns = {name.strip() for name in shown.removeprefix("fields ").split(",")} - {"@timestamp"}
    filtered_on = set(re.findall(r"(?<![@\w])([a-z_]+)\s*=", where))
    assert columns and filtered_on
    # Then every line the functions wrote carries each column (an empty column hides what a line is about)
    lines = [json.loads(line) for line in outcomes.splitlines() if line.startswith("{") and '"_aws"' not in line]
    assert len({line["message"] for line in lines}) > 10
    lacking = sorted({f"{line['message']}: {column}" for line in lines for column in columns if column not in line})
    assert lacking == []
    # And the field the filter reads is one the lines carry
    assert filtered_on <= {key for line in lines for key in line}


def test_every_page_saying_which_dimensions_the_metrics_carry_names_each_one_a_query_must_give(
    runtime: LocalRuntime, outcomes: str
) -> None:
    # Given the dimensions every metric of the functions carries (CloudWatch matches a query on all of them)
    sets = [dimensions for _, _, dimensions in published(outcomes, runtime.stack.name)]
    every = frozenset.intersection(*sets)
    assert every == {"service", "vendor"}
    # Then each paragraph of the docs that says what the namespace's metrics are dimensioned by names them all
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    paragraphs = [
        (page.name, paragraph)
        for page in pages
        for paragraph in page.read_text(encoding="utf-8").split("\n\n")
        if f"`{APP_NAMESPACE}`" in paragraph and "dimension" in paragraph
    ]
    assert paragraphs
    lacking = [(name, sorted(every - set(re.findall(r"`(\w+)", text)))) for name, text in paragraphs]
    assert [(name, missing) for name, missing in lacking if missing] == []


def test_every_field_a_metric_filter_reads_is_one_the_access_log_writes() -> None:
    # Given the API's access log line (a JSON object of $context values) and the filters counting its lines
    (api,) = SamTemplate().of_type("AWS::Serverless::HttpApi").values()
    line = json.loads(api["AccessLogSettings"]["Format"])
    resolved = deployed("wi-watched", {})
    patterns = [props["FilterPattern"] for props in resolved.values() if "FilterPattern" in props]
    assert patterns
    # Then each field a filter compares is in the line, a string where the filter compares it to one
    for pattern in patterns:
        for field, value in re.findall(r"\$\.(\w+)\s*!?=\s*(\"[^\"]*\"|[^\s&|)]+)", pattern):
            assert field in line, (pattern, sorted(line))
            assert isinstance(line[field], str) == value.startswith('"'), (pattern, field)
