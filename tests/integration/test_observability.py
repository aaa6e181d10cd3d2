"""What an on-call engineer sees: EMF metrics with the right dimensions, and logs free of personal data."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from intake_cli.events import http_api_event
from intake_cli.samples import build_request, sample_files
from tests.helpers import (
    consumer_dynamodb,
    fail_writes_of,
    metric_points,
    notifications_body,
    queue_url,
    send,
    send_body,
    stored_ids,
    table,
    total,
)
from webhook_intake.clients import client
from webhook_intake.consumer.service import ConsumerService
from webhook_intake.delivery import Delivery
from webhook_intake.ingest.queue import INGEST_CONFIG
from webhook_intake.registry import VENDORS
from webhook_intake.store.wire import decode_item, item_size, write_units

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from intake_cli.runtime import LocalRuntime


def test_an_accepted_delivery_prints_nothing_at_ingest_and_counts_stored_and_lag(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an accepted delivery to an ingest function that has answered one before
    send(runtime, "openweb", sample_files("openweb")[1], secrets)
    runtime.drain()
    capsys.readouterr()
    send(runtime, "openweb", sample_files("openweb")[0], secrets)
    # Then the ingest function printed nothing (Lambda counts its invocations)
    assert capsys.readouterr().out == ""
    runtime.drain()
    points = metric_points(capsys.readouterr().out)
    # The consumer's counts are added up and written once per invocation.
    per_vendor = [v for name, dims, v in points if name == "EventsStored"]
    assert per_vendor == [[1.0]]
    assert total(points, "WriteUnits", vendor="openweb") >= 1
    lags = [(name, dims) for name, dims, _ in points if name in {"EndToEndLag", "IngestToStoreLag"}]
    assert sorted(name for name, _ in lags) == ["EndToEndLag", "IngestToStoreLag"]
    assert all(dims == {"vendor": "openweb", "service": runtime.stack.name} for _, dims in lags)


def test_each_function_counts_its_cold_start_once_with_its_first_invocation(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given functions just started (PlatformLogLevel=WARN drops Lambda's REPORT lines, which say so)
    sample = sample_files("firstup")[0]
    stack = runtime.stack.name

    # When a delivery goes through the ingest function and the consumer
    send(runtime, "firstup", sample, secrets)
    first_ingest = metric_points(capsys.readouterr().out)
    runtime.drain()
    first_consumer = metric_points(capsys.readouterr().out)

    # Then each wrote one ColdStart, the ingest function nothing else for an accepted delivery
    assert first_ingest == [("ColdStart", {"vendor": "firstup", "service": stack}, [1.0])]
    assert total(first_consumer, "ColdStart", vendor="firstup", service=stack) == 1

    # And warm, they count none (an accepted delivery at ingest prints nothing at all)
    send(runtime, "firstup", sample, secrets)
    assert capsys.readouterr().out == ""
    runtime.drain()
    assert total(metric_points(capsys.readouterr().out), "ColdStart") == 0


def test_a_duplicate_counts_as_duplicate_not_stored(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sample = sample_files("firstup")[0]
    send(runtime, "firstup", sample, secrets)
    runtime.drain()
    capsys.readouterr()
    send(runtime, "firstup", sample, secrets)
    runtime.drain()
    points = metric_points(capsys.readouterr().out)
    assert total(points, "DuplicateEvents", vendor="firstup") == 1
    assert total(points, "EventsStored", vendor="firstup") == 0


def test_an_auth_failure_and_a_rejection_count_with_their_reason(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    send(runtime, "viafoura-engagement", sample_files("viafoura-engagement")[0], secrets, bad_auth=True)
    send_body(runtime, "fastcomments", b"not json", secrets["fastcomments"])
    points = metric_points(capsys.readouterr().out)
    # Under the function's service (the stack's name), as every other metric of the function and the dashboard
    stack = runtime.stack.name
    assert total(points, "AuthFailures", vendor="viafoura-engagement", service=stack) == 1
    assert {name for name, _, _ in points} == {"AuthFailures", "DeliveriesRejected", "ColdStart"}
    assert total(points, "DeliveriesRejected", vendor="fastcomments", reason="invalid_json", service=stack) == 1


def test_a_request_that_cannot_be_read_counts_a_rejection_with_its_reason(
    runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an invocation whose body says it is base64 and is not (no gateway sends one; a direct invoke may)
    route = runtime.route_for("POST", "/webhooks/firstup")
    assert route is not None
    event = http_api_event("POST", "/webhooks/firstup", route.path, {}, b"{}", region=runtime.stack.region)
    event.update(isBase64Encoded=True, body="%% not base64 %%")
    capsys.readouterr()
    # When the ingest function gets it, then it is refused 400 and counted with its reason, as any refusal
    assert runtime.functions[route.function_id].invoke(event)["statusCode"] == 400
    points = metric_points(capsys.readouterr().out)
    stack = runtime.stack.name
    assert total(points, "DeliveriesRejected", vendor="firstup", reason="malformed_request", service=stack) == 1


def test_a_quarantined_event_counts_with_its_reason(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    body = notifications_body("ok-1", None)
    send_body(runtime, "viafoura-notifications", body, secrets["viafoura-notifications"])
    runtime.drain()
    points = metric_points(capsys.readouterr().out)
    where = {"vendor": "viafoura-notifications", "service": runtime.stack.name}
    assert total(points, "EventsQuarantined", **where) == 1
    assert total(points, "EventsQuarantinedByReason", reason="missing_id", **where) == 1
    assert total(points, "EventsStored", **where) == 1


@contextlib.contextmanager
def hooked(aws_client: Any, event: str, hook: Callable[..., Any]) -> Iterator[None]:
    """``hook`` on ``aws_client``'s ``event`` (a fault where botocore sends) for the block's length."""
    aws_client.meta.events.register_first(event, hook)
    try:
        yield
    finally:
        aws_client.meta.events.unregister(event, hook)


class LogCapture(logging.Handler):
    """Every line the functions log, formatted exactly as CloudWatch would receive it."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        if formatter:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def function_logs(runtime: LocalRuntime) -> Iterator[LogCapture]:
    for function in runtime.functions.values():
        assert function.handler  # load every handler, so their loggers exist
    # Powertools names the functions' logger after their service: the stack's name.
    service_logger = logging.getLogger(runtime.stack.name)
    formatter = service_logger.handlers[0].formatter if service_logger.handlers else None
    capture = LogCapture(formatter)
    loggers = [service_logger, logging.getLogger("aws_lambda_powertools"), logging.getLogger()]
    for logger in loggers:
        logger.addHandler(capture)
    previous = service_logger.level
    service_logger.setLevel(logging.DEBUG)
    yield capture
    service_logger.setLevel(previous)
    for logger in loggers:
        logger.removeHandler(capture)


PERSONAL_KEYS = {"comment", "commentHTML", "commenterEmail", "commenterName", "body", "text", "name",
                 "display_name", "user_name", "post_text", "reply_text", "description", "title"}  # fmt: skip


def personal_strings(node: Any) -> set[str]:
    """Comment texts, names and e-mail addresses anywhere in a sample."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PERSONAL_KEYS and isinstance(value, str) and len(value) >= 5:
                found.add(value)
            found |= personal_strings(value)
    elif isinstance(node, list):
        for item in node:
            found |= personal_strings(item)
    return found


def sensitive_values(secrets: dict[str, Any]) -> set[str]:
    """Every secret, and every comment text, name and e-mail address the samples carry."""
    values: set[str] = set()
    for secret in secrets.values():
        for value in secret.values():
            values.update(value if isinstance(value, list) else [value])
    for vendor_key in VENDORS:
        for path in sample_files(vendor_key):
            values |= personal_strings(json.loads(path.read_text()))
    # Firstup names are event names, not people.
    return {v for v in values if not v.startswith(("content_", "channel_", "campaign_", "user_notification"))}


def test_logs_and_error_bodies_never_hold_secrets_comment_text_names_or_emails_and_lines_name_their_vendor(
    runtime: LocalRuntime, secrets: dict[str, Any], function_logs: LogCapture
) -> None:
    bodies: list[bytes] = []
    for vendor_key in VENDORS:
        for path in sample_files(vendor_key):
            bodies.append(send(runtime, vendor_key, path, secrets).body)
            bodies.append(send(runtime, vendor_key, path, secrets, bad_auth=True).body)
        # A body that fails validation, carrying a comment text, must not be echoed either
        request = build_request(vendor_key, b'{"comment": "private words here", "x": [}', secrets[vendor_key])
        bodies.append(runtime.request(request.method, request.path, request.headers, request.body).body)
    poison = notifications_body("log-ok", None).replace(
        b'"poison": true', b'"payload": {"content": {"body": "private reply text"}}'
    )
    send_body(runtime, "viafoura-notifications", poison, secrets["viafoura-notifications"])
    # Whatever a vendor puts in its type field (a new shape is logged and counted by its type)
    for vendor_key, document in (
        ("openweb", {"event_id": "typed-1", "type": "carol@example.com"}),
        ("firstup", {"id": "typed-2", "name": "Carol Example"}),
    ):
        send_body(runtime, vendor_key, document, secrets[vendor_key])
    runtime.drain()

    sensitive = sensitive_values(secrets) | {"private words here", "private reply text"}
    sensitive |= {"carol@example.com", "Carol Example", "Carol_Example"}
    assert {"bob@example.com", "Alice Example", secrets["fastcomments"]["api_secret"]} <= sensitive
    logged = "\n".join(function_logs.lines)
    assert len(function_logs.lines) > 100
    assert "EventsQuarantined" not in logged  # metrics are not logs
    assert "event quarantined" in logged
    assert "unreadable-" in logged  # the odd types are there, by their hash
    # Each line about an event names its vendor, as the README's Logs Insights query reads it
    about_events = [
        json.loads(line)
        for line in function_logs.lines
        if line.startswith("{") and json.loads(line).get("message") in {"event quarantined", "new event shape"}
    ]
    assert {line["message"] for line in about_events} == {"event quarantined", "new event shape"}
    assert {line.get("vendor") for line in about_events} >= {"viafoura-notifications", "openweb", "firstup"}
    assert None not in {line.get("vendor") for line in about_events}
    leaks = sorted(value for value in sensitive if value in logged)
    assert leaks == []
    echoed = sorted(value for value in sensitive for body in bodies if value.encode() in body)
    assert echoed == []


def test_at_log_level_debug_the_libraries_log_no_secret_body_or_signature(
    runtime: LocalRuntime, secrets: dict[str, Any], function_logs: LogCapture
) -> None:
    # Given Lambda's application log level DEBUG (the dev environment): Lambda's runtime then sets
    # the root logger to DEBUG, which every library logger without a level of its own follows
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        for vendor_key in VENDORS:
            send(runtime, vendor_key, sample_files(vendor_key)[0], secrets)
        runtime.drain()
    finally:
        root.setLevel(previous)

    # Then botocore's request and response dumps (a secret's value, a message's body, the
    # request's signature) are not among the lines
    logged = "\n".join(function_logs.lines)
    sensitive = sensitive_values(secrets) | {"Signature=", "SecretString", "MessageBody"}
    assert sorted(value for value in sensitive if value in logged) == []


def test_a_dependencys_error_message_is_not_logged_with_its_traceback(
    runtime: LocalRuntime, secrets: dict[str, Any], function_logs: LogCapture
) -> None:
    quoted = 'request was {"comment": "private words of carol@example.com"}'

    def failing(operation: str) -> Any:
        def hook(request: Any, **_: Any) -> None:
            # An AWS error whose message quotes the request it refused
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": quoted}}, operation)

        return hook

    # Given the queue failing every send at ingest, then DynamoDB failing every write of the consumer
    with hooked(client("sqs", INGEST_CONFIG), "before-send.sqs", failing("SendMessage")):
        refused = send_body(
            runtime, "viafoura-notifications", notifications_body("q-1"), secrets["viafoura-notifications"]
        )
    assert refused.status == 500
    assert (
        send_body(
            runtime, "viafoura-notifications", notifications_body("q-2"), secrets["viafoura-notifications"]
        ).status
        == 204
    )
    with hooked(consumer_dynamodb(), "before-send.dynamodb", failing("PutItem")):
        runtime.drain(max_polls=1)
    runtime.drain()

    # Then each failure is logged with its traceback, naming the error and its code, not its message
    logged = "\n".join(function_logs.lines)
    failures = [json.loads(line) for line in function_logs.lines if '"exception"' in line]
    assert {line["message"] for line in failures} >= {
        "enqueue failed",
        "record failed; it will be retried, then dead-lettered",
    }
    assert all("Traceback (most recent call last)" in line["exception"] for line in failures)
    assert all("InternalFailure" in line["exception"] for line in failures)
    assert "carol@example.com" not in logged
    assert "private words" not in logged


def test_ids_a_vendor_filled_with_an_address_or_a_sentence_are_logged_by_their_hash(
    runtime: LocalRuntime, secrets: dict[str, Any], function_logs: LogCapture
) -> None:
    # Given ids holding what an id should not: an e-mail address, a sentence
    address, sentence = "alice.private@example.com", "I hate my boss Bob"
    send_body(runtime, "openweb", {"event_id": address, "type": "user-followed"}, secrets["openweb"])
    send_body(runtime, "openweb", {"event_id": sentence, "type": "user-followed"}, secrets["openweb"])
    send_body(runtime, "firstup", {"id": address, "name": "content_published"}, secrets["firstup"])
    request = build_request("viafoura-notifications", notifications_body("n-corr"), secrets["viafoura-notifications"])
    headers = {**request.headers, "x-request-id": f"{address} {sentence}"}
    assert runtime.request(request.method, request.path, headers, request.body).status == 204
    runtime.drain()

    # Then they are stored as sent, and every line names them by their hash
    logged = "\n".join(function_logs.lines)
    assert "outcomes" in logged
    assert address not in logged
    assert sentence not in logged
    outcomes = {e for line in function_logs.lines if '"outcomes"' in line for e in json.loads(line)["outcomes"]}
    assert len({entry for entry in outcomes if entry.startswith("stored user.followed sha256:")}) == 2


def values(points: list[tuple[str, dict[str, str], Any]], name: str) -> list[float]:
    """Every sample of one metric, over all its EMF records."""
    found: list[float] = []
    for metric, _, value in points:
        if metric == name:
            found += value if isinstance(value, list) else [value]
    return found


def test_a_redelivered_record_counts_its_quarantined_event_once(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    vendor = "viafoura-notifications"
    # Given a delivery with an event without its id, a good one, and one whose write is throttled once
    body = notifications_body("rd-ok", None, "rd-throttled", request_uuid="rd-1")
    assert send_body(runtime, vendor, body, secrets[vendor]).status == 204
    with hooked(consumer_dynamodb(), "before-send.dynamodb", fail_writes_of("rd-throttled")):
        runtime.drain(max_polls=1)

    # When SQS brings the record back and every write succeeds
    runtime.drain()

    # Then the one bad event is quarantined once in the metrics too (its item counts two tries)
    points = metric_points(capsys.readouterr().out)
    assert total(points, "RecordsRetried", vendor=vendor) == 1
    assert total(points, "EventsQuarantined", vendor=vendor) == 1
    assert total(points, "EventsQuarantinedByReason", vendor=vendor, reason="missing_id") == 1
    assert total(points, "EventsStored", vendor=vendor) == 2


def test_a_new_shapes_write_is_counted_in_the_write_units_and_shared_by_the_events(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    vendor = "viafoura-notifications"

    def delivery(uuid: str) -> bytes:
        note = {"notification_uuid": uuid, "notification_type": "follow", "time": 1790000000000, "shape_w": 1}
        return json.dumps({"request_uuid": f"r-{uuid}", "notifications": [note]}).encode()

    # Given an event of a shape never seen, then an event of the same size and shape
    units = []
    for uuid in ("sw-1", "sw-2"):
        send_body(runtime, vendor, delivery(uuid), secrets[vendor])
        runtime.drain()
        points = metric_points(capsys.readouterr().out)
        units.append((total(points, "WriteUnits", vendor=vendor), sum(values(points, "WriteUnitsPerEvent"))))

    # Then the first invocation's units include the shape's write, and its event's sample carries them
    (first, first_per_event), (second, second_per_event) = units
    assert first >= second + 1
    assert (first_per_event, second_per_event) == (pytest.approx(first), pytest.approx(second))


def test_write_units_per_event_and_lags_are_one_sample_per_event(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    vendor = "viafoura-notifications"
    # Given a batch of three new events and, in another delivery, a duplicate of one of them
    send_body(runtime, vendor, notifications_body("pe-1", "pe-2", "pe-3"), secrets[vendor])
    runtime.drain()
    send_body(runtime, vendor, notifications_body("pe-1", request_uuid="r-2"), secrets[vendor])
    runtime.drain()
    points = metric_points(capsys.readouterr().out)

    # Then each event is one sample: the average per event is the units over the events, exactly
    per_event = values(points, "WriteUnitsPerEvent")
    assert len(per_event) == 4
    assert sum(per_event) == pytest.approx(total(points, "WriteUnits", vendor=vendor))
    # and each stored event one lag sample (the duplicate none), in whole milliseconds
    lags = values(points, "IngestToStoreLag")
    assert len(lags) == 3
    assert all(lag == int(lag) for lag in lags)


def test_new_shapes_of_types_no_mapping_names_are_one_metric_not_one_per_type(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given events of 30 types the vendor's mapping does not know (each a new shape), and one it knows
    for n in range(30):
        send_body(runtime, "openweb", {"event_id": f"kind-{n}", "type": f"made-up-{n}"}, secrets["openweb"])
    send_body(runtime, "openweb", {"event_id": "kind-known", "type": "user-followed", "odd": 1}, secrets["openweb"])
    capsys.readouterr()

    runtime.drain()

    # Then each new shape is counted, the unknown types under one dimension value: a vendor's text makes no metric
    points = [point for point in metric_points(capsys.readouterr().out) if point[0] == "NewShapes"]
    assert total(points, "NewShapes") == 31
    assert {dimensions["source_type"] for _, dimensions, _ in points} == {"unmapped", "user-followed"}


def test_a_new_shape_of_long_nested_keys_is_kept_in_a_small_item(
    runtime: LocalRuntime, secrets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a signed event of 27 KB whose 400 keys of 60 characters sit six objects deep: each of its paths
    # spells all six parents' keys, so its shape, kept whole, was a 171 KB item (168 write units), for ever
    leaves: dict[str, Any] = {f"{n:03d}".ljust(60, "k"): 1 for n in range(400)}
    for depth in range(6):
        leaves = {f"level-{depth}".ljust(60, "p"): leaves}
    event = {"event_id": "long-keys", "type": "user-followed", "nested": leaves}
    assert send_body(runtime, "openweb", event, secrets["openweb"]).status == 200
    capsys.readouterr()

    runtime.drain()

    # Then the event is stored, and its new shape is counted once and kept in an item of at most 16 write units
    assert "long-keys" in stored_ids(runtime, "openweb")
    assert total(metric_points(capsys.readouterr().out), "NewShapes") == 1
    items = boto3.client("dynamodb", region_name=runtime.stack.region).query(
        TableName=table(runtime),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "shape#openweb"}},
    )["Items"]
    (shape,) = [decode_item(item) for item in items]
    assert any(path.startswith("nested.level-5") for path in shape["paths"])
    assert write_units(item_size(shape)) <= 16


def test_a_consumer_line_names_the_deliveries_it_reports_never_another_ones_id(
    runtime: LocalRuntime, secrets: dict[str, Any], function_logs: LogCapture
) -> None:
    vendor = "viafoura-notifications"
    # Given three deliveries, each with its own id, taken by one consumer invocation
    for n in range(3):
        request = build_request(vendor, notifications_body(f"ci-{n}", request_uuid=f"r-ci-{n}"), secrets[vendor])
        headers = {**request.headers, "x-request-id": f"delivery-{n}"}
        assert runtime.request(request.method, request.path, headers, request.body).status == 204
    function_logs.lines.clear()
    runtime.drain()

    # Then a line carrying one delivery's correlation id reports that delivery's events alone
    lines = [json.loads(line) for line in dict.fromkeys(function_logs.lines)]  # (captured once per logger)
    outcomes = [line for line in lines if line["message"] == "outcomes"]
    assert sorted(entry for line in outcomes for entry in line["outcomes"]) == [
        f"stored user.followed ci-{n}" for n in range(3)
    ]
    for line in outcomes:
        if "correlation_id" in line:
            n = line["correlation_id"].removeprefix("delivery-")
            assert line["outcomes"] == [f"stored user.followed ci-{n}"]
    # and each delivery's id is on the line that reports its event
    for n in range(3):
        (line,) = [line for line in outcomes if f"stored user.followed ci-{n}" in line["outcomes"]]
        assert f"delivery-{n}" in [line.get("correlation_id"), *line.get("correlation_ids", [])]
    # and no line about the whole invocation (a new shape) claims to be one delivery's
    assert all("correlation_id" not in line for line in lines if line["message"] == "new event shape")


def test_a_consumer_line_names_its_own_vendor_while_another_vendors_function_runs_beside_it(
    runtime: LocalRuntime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an OpenWeb message without its correlation id (the consumer logs that it replaced it), and the local
    # stack's consumer held just after its invocation began, as a poller thread may be
    delivery = Delivery("openweb", "2026-11-29T12:00:00.000Z", "unused", "POST", "/webhooks/openweb")
    attributes = delivery.to_message_attributes()
    del attributes["correlation_id"]
    body = json.dumps({"event_id": "beside-1", "type": "user-followed"})
    runtime.sqs.send_message(QueueUrl=queue_url(runtime, "openweb"), MessageBody=body, MessageAttributes=attributes)
    began, resume = threading.Event(), threading.Event()
    begin = ConsumerService.begin

    def held(service: ConsumerService, *args: Any, **kwargs: Any) -> None:
        begin(service, *args, **kwargs)
        began.set()
        resume.wait(30)

    monkeypatch.setattr(ConsumerService, "begin", held)
    capsys.readouterr()
    consumer = threading.Thread(target=runtime.drain)
    consumer.start()
    try:
        assert began.wait(30)
        # When Firstup's ingest function runs to its end in the meantime, in another thread
        assert send_body(runtime, "firstup", {"id": "beside-2", "name": "content_published"}, {"tokens": ["x"]}).status
    finally:
        resume.set()
        consumer.join(30)

    # Then the consumer's line names OpenWeb, not the vendor of the function that ran last
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (replaced,) = [line for line in lines if line.get("message") == "message attributes replaced"]
    assert replaced["vendor"] == "openweb"
