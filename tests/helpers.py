"""What several test modules do: send like a vendor, look at queues, read what was stored or quarantined."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
import signal
import sys
import time
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto.core.models import botocore_stubber

from intake_cli import queues
from intake_cli.functions import swap_stream
from intake_cli.local import ROOT
from intake_cli.provision import provision
from intake_cli.quarantine import QuarantineRedrive, sender
from intake_cli.runtime import LocalRuntime
from intake_cli.samples import SAMPLES_DIR, build_request, sample_files, sample_request
from intake_cli.template import TEMPLATE_PATH, SamTemplate
from webhook_intake.clients import client
from webhook_intake.payloads import PayloadStore
from webhook_intake.registry import VENDORS, vendor, vendors
from webhook_intake.store.quarantine import QuarantineKey, QuarantineStore
from webhook_intake.store.reads import EventReader, FeedFilter
from webhook_intake.store.table import CONSUMER_CONFIG

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from intake_cli.runtime import HttpResponse

SUCCESS = {key: spec.contract().success_status for key, spec in VENDORS.items()}
"""Each vendor's success status (its contract's)."""
AUTH_FAILURE = {key: spec.contract().auth_failure_status for key, spec in VENDORS.items()}
"""Each vendor's answer to a wrong credential."""


def mapping_fails_on(
    monkeypatch: pytest.MonkeyPatch, vendor_key: str, failing: Callable[[Any], bool], error: Exception
) -> Callable[[], None]:
    """The vendor's mapping raises ``error`` on the events ``failing`` picks (an input it did not foresee).

    Returns the fix: calling it puts the mapping back as it was.
    """
    normalizer_class = type(vendor(vendor_key).normalizer())
    to_event = normalizer_class.to_event

    def fails(self: Any, element: Any, document: Any, delivery: Any) -> Any:
        if failing(element.value):
            raise error
        return to_event(self, element, document, delivery)

    monkeypatch.setattr(normalizer_class, "to_event", fails)
    return lambda: monkeypatch.setattr(normalizer_class, "to_event", to_event)


def sample_document(vendor_key: str, name: str) -> dict[str, Any]:
    """The vendor's sample ``events/<vendor>/<name>.json``, parsed (to change before sending it)."""
    document: dict[str, Any] = json.loads((SAMPLES_DIR / vendor_key / f"{name}.json").read_text())
    return document


def notifications_body(*uuids: str | None, request_uuid: str = "r-1") -> bytes:
    """A notifications delivery of ``uuids`` (a None makes an event without its id)."""
    notes = [
        {"notification_type": "follow", "time": 1790000000000, **({"notification_uuid": u} if u else {"poison": True})}
        for u in uuids
    ]
    return json.dumps(
        {"request_uuid": request_uuid, "time": 1790000000000, "version": 1, "notifications": notes}
    ).encode()


@contextmanager
def handler_logs() -> Iterator[io.StringIO]:
    """What the functions' Powertools loggers write while the block runs (their handlers keep their stream)."""
    buffer = io.StringIO()
    saved = []
    for logger in list(logging.root.manager.loggerDict.values()):
        handler = getattr(logger, "powertools_handler", None)
        if isinstance(handler, logging.StreamHandler):
            saved.append((handler, swap_stream(handler, buffer)))
    try:
        yield buffer
    finally:
        for handler, stream in saved:
            swap_stream(handler, stream)


@contextmanager
def answer_lost(aws_client: Any, operation: str, marker: bytes) -> Iterator[list[str]]:
    """The first ``operation`` request of ``aws_client`` whose body holds ``marker`` is applied, and its answer lost.

    As a timeout after the service acted: botocore's retry then sends the same request again.
    Yields the operations whose answers were lost (empty when nothing matched).
    """
    lost: list[str] = []

    def hook(request: Any, event_name: str, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        if not lost and target.endswith(f".{operation}") and marker in (request.body or b""):
            lost.append(operation)
            botocore_stubber(event_name, request)  # moto acts on the request
            raise ReadTimeoutError(endpoint_url=request.url)
        return None

    aws_client.meta.events.register_first("before-send", hook)
    try:
        yield lost
    finally:
        aws_client.meta.events.unregister("before-send", hook)


def hook_cli_clients(
    monkeypatch: pytest.MonkeyPatch, service: str, hooks: dict[str, Callable[..., Any]], *, first: bool = False
) -> None:
    """Every ``service`` client the CLI makes from now on calls ``hooks`` (botocore event name -> handler; run
    before botocore's own handlers when ``first``): a denial, a fault or a record of what is asked."""
    from intake_cli.target import Target

    client_of = Target.client

    def hooked(self: Target, name: str) -> Any:
        aws_client = client_of(self, name)
        if name == service:
            register = aws_client.meta.events.register_first if first else aws_client.meta.events.register
            for event_name, handler in hooks.items():
                register(event_name, handler, unique_id=f"hook_cli_clients:{event_name}")
        return aws_client

    monkeypatch.setattr(Target, "client", hooked)


def requests_of(monkeypatch: pytest.MonkeyPatch, service: str) -> list[tuple[str, dict[str, Any]]]:
    """Every request the CLI's ``service`` clients make from now on: (operation, its parameters), in order."""
    made: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        made.append((model.name, params))

    hook_cli_clients(monkeypatch, service, {f"provide-client-params.{service}": record})
    return made


def keys_read(requests: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The ``pk`` of every item the BatchGetItem requests among ``requests`` asked for, as often as asked."""
    return [
        str(key["pk"]["S"])
        for operation, params in requests
        if operation == "BatchGetItem"
        for wanted in params["RequestItems"].values()
        for key in wanted["Keys"]
    ]


def consumer_dynamodb() -> Any:
    """The consumers' DynamoDB client (one per process, as on Lambda)."""
    return client("dynamodb", CONSUMER_CONFIG)


def fail_writes_of(event_id: str, error: type[BaseException] | None = None) -> Any:
    """A before-send hook that fails every DynamoDB write carrying ``event_id``."""

    def hook(request: Any, **_: Any) -> None:
        if event_id.encode() in (request.body or b""):
            if error is not None:
                raise error()
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}}, "PutItem"
            )

    return hook


@contextmanager
def consumer_dynamodb_hook(hook: Callable[..., None]) -> Iterator[None]:
    """``hook`` runs before each request of the consumers' shared DynamoDB client (it may raise a fault)."""
    dynamodb = client("dynamodb", CONSUMER_CONFIG)
    dynamodb.meta.events.register_first("before-send.dynamodb", hook)
    try:
        yield
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb", hook)


def consumer_puts_refused(marker: bytes) -> AbstractContextManager[None]:
    """DynamoDB refuses (ValidationException) every consumer ``PutItem`` whose body holds ``marker``: the
    event's own fault, so it is quarantined ``store_refused`` at once."""

    def refuse(request: Any, **_: Any) -> None:
        if marker in (request.body or b"") and b"PutItem" in request.headers.get("X-Amz-Target", b""):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "refused"}}, "PutItem")

    return consumer_dynamodb_hook(refuse)


def credential_headers(vendor_key: str, secrets: dict[str, Any]) -> set[str]:
    """The headers that carry a vendor's credential, whatever it names them: those a wrong credential
    changes (and not one a new delivery changes anyway, such as a delivery id)."""
    sample, now = sample_files(vendor_key)[0], time.time()
    request, again = (sample_request(vendor_key, sample, secrets, now=now).headers for _ in range(2))
    wrong = sample_request(vendor_key, sample, secrets, bad_auth=True, now=now).headers
    return {name for name, value in request.items() if again.get(name) == value != wrong.get(name)}


def send(runtime: LocalRuntime, vendor_key: str, path: Path, secrets: dict[str, Any], **kwargs: Any) -> HttpResponse:
    """A sample file, sent the way its vendor sends it."""
    request = sample_request(vendor_key, path, secrets, **kwargs)
    return runtime.request(request.method, request.path, request.headers, request.body)


def send_body(
    runtime: LocalRuntime,
    vendor_key: str,
    body: bytes | dict[str, Any],
    secret: dict[str, Any],
    name: str = "",
    *,
    event: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """A body (bytes, or a document to encode), sent with the vendor's credential and route."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = build_request(vendor_key, raw, secret, name, event=event)
    return runtime.request(request.method, request.path, {**request.headers, **(headers or {})}, request.body)


def stack_with(parameters: dict[str, str], aws: Any, name: str, secrets: dict[str, Any]) -> LocalRuntime:
    """template.yaml provisioned on moto with ``parameters``, every function wired (as the ``runtime`` fixture)."""
    return LocalRuntime(provision(SamTemplate(parameters=parameters), aws, name, secrets), aws)


def send_events_with_parts_in_s3(runtime: LocalRuntime, secrets: dict[str, Any], *, comment_copies: int = 1) -> None:
    """A FastComments comment of 1.3 MB of text DEFLATE only halves (over SQS's limit: a claim check; too large
    for an item: its body in S3), sent ``comment_copies`` times, and a Viafoura notification to 20,000 readers
    (more than an item holds: their list in S3)."""
    comment = sample_document("fastcomments", "comment-created")
    text = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(20_000))
    large = {**comment, "id": "large-1", "comment": text}
    for _ in range(comment_copies):
        send_body(runtime, "fastcomments", large, secrets["fastcomments"], "comment-created")
    many = json.loads(notifications_body("many-1"))
    many["notifications"][0]["recipients"] = [{"id": f"user-{n}"} for n in range(20_000)]
    send_body(runtime, "viafoura-notifications", many, secrets["viafoura-notifications"])


def redrive(runtime: LocalRuntime, vendor_key: str, key: QuarantineKey | None = None) -> list[Any]:
    """``intake dlq redrive`` of a vendor's quarantined events (one, by ``key``): what went back."""
    store = QuarantineStore(table(runtime), payloads=payloads(runtime))
    s3 = boto3.client("s3", region_name=runtime.stack.region)

    def for_vendor(vendor_key: str) -> Any:
        return sender(queue_url(runtime, vendor_key), runtime.stack.buckets["PayloadBucket"], runtime.sqs, s3)

    return QuarantineRedrive(store, for_vendor).run(vendor_key, key)


def queue_url(runtime: LocalRuntime, vendor_key: str) -> str:
    """The vendor's queue."""
    return runtime.stack.queues[f"{vendor(vendor_key).stem}Queue"]


def dlq_url(runtime: LocalRuntime, vendor_key: str) -> str:
    """The vendor's dead-letter queue."""
    return runtime.stack.queues[f"{vendor(vendor_key).stem}DeadLetterQueue"]


def depth(runtime: LocalRuntime, url: str) -> int:
    """Messages on a queue, visible or in flight."""
    return sum(queues.depth(runtime.sqs, url))


def put_secret(runtime: LocalRuntime, logical_id: str, value: dict[str, Any]) -> None:
    """Replace a stack secret's value, as an operator does with `aws secretsmanager put-secret-value`.

    The functions re-read it when a credential they do not know comes.
    """
    client = boto3.client("secretsmanager", region_name=runtime.stack.region)
    client.put_secret_value(SecretId=runtime.stack.secrets[logical_id], SecretString=json.dumps(value))


def load_state(runtime: LocalRuntime) -> dict[str, Any]:
    """The stack as ``make load``'s account reads it (its ``stack.json``): the table, the bucket, every DLQ."""
    stack = runtime.stack
    outputs = {
        f"{spec.stem}DeadLetterQueueUrl": stack.queues[f"{spec.stem}DeadLetterQueue"] for spec in vendors().values()
    }
    outputs |= {"EventsTableName": stack.tables["EventsTable"], "PayloadBucketName": stack.buckets["PayloadBucket"]}
    return {"aws_endpoint_url": None, "region": stack.region, "outputs": outputs}


def table(runtime: LocalRuntime) -> str:
    """The events table's name."""
    return runtime.stack.tables["EventsTable"]


def payloads(runtime: LocalRuntime) -> PayloadStore:
    """The payload bucket."""
    return PayloadStore(runtime.stack.buckets["PayloadBucket"])


def reader(runtime: LocalRuntime) -> EventReader:
    """The event log's read side, on the runtime's table."""
    return EventReader(table(runtime), payloads=payloads(runtime))


def listed(runtime: LocalRuntime, limit: int = 1000, **where: Any) -> list[dict[str, Any]]:
    """The feed over the last hour (``FeedFilter`` conditions; tests included unless ``tests=False``)."""
    now = datetime.now(UTC)
    where.setdefault("tests", True)
    return reader(runtime).feed(now - timedelta(hours=1), now + timedelta(minutes=1), FeedFilter(**where), limit=limit)


def stored(runtime: LocalRuntime, vendor_key: str | None = None) -> list[dict[str, Any]]:
    """Every stored event, decoded (a scan: tests only)."""
    return [event for event in reader(runtime).scan() if vendor_key is None or event["vendor"] == vendor_key]


def stored_ids(runtime: LocalRuntime, vendor_key: str | None = None) -> list[str]:
    """The ids of the stored events, sorted."""
    return sorted(str(event["event_id"]) for event in stored(runtime, vendor_key))


def quarantined(runtime: LocalRuntime, vendor_key: str | None = None, received_since: str = "") -> list[dict[str, Any]]:
    """Every quarantined event (with ``text``, its exact text), oldest first; only those received at
    ``received_since`` or later (an ISO time) when it is given, without reading the others."""
    store = QuarantineStore(table(runtime), payloads=payloads(runtime))
    found = []
    for key in [vendor_key] if vendor_key else list(VENDORS):
        for item in store.list(key, received_since=received_since):
            found.append({**item, "text": store.text(item)})
    return found


def emf_records(text: str) -> list[dict[str, Any]]:
    """Every CloudWatch embedded-metric-format record printed."""
    records = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


@functools.cache
def queried_dimension_sets() -> frozenset[frozenset[str]]:
    """The dimension sets the template's alarms and dashboard ask for (``SCHEMA(WebhookIntake, …)``,
    ``{WebhookIntake,…}``): CloudWatch matches a query to a metric only on exactly its dimensions."""
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    found = re.findall(r"(?:SCHEMA\(|\{)WebhookIntake,([a-z_, ]+)[)}]", text)
    return frozenset(frozenset(name.strip() for name in names.split(",")) for names in found)


def metric_points(text: str) -> list[tuple[str, dict[str, str], Any]]:
    """(metric name, dimensions, value) for every metric in every EMF record.

    Every record must carry one of the dimension sets the alarms and the dashboard query: a
    metric with one dimension more or less is one CloudWatch never shows them.
    """
    points = []
    for record in emf_records(text):
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "WebhookIntake"
        dimension_names = [name for group in directive["Dimensions"] for name in group]
        assert frozenset(dimension_names) in queried_dimension_sets(), (directive, sorted(queried_dimension_sets()))
        dimensions = {name: record[name] for name in dimension_names}
        for metric in directive["Metrics"]:
            points.append((metric["Name"], dimensions, record[metric["Name"]]))
    return points


def total(points: list[tuple[str, dict[str, str], Any]], name: str, **dimensions: str) -> float:
    found = 0.0
    for metric, dims, value in points:
        if metric == name and all(dims.get(k) == v for k, v in dimensions.items()):
            found += sum(value) if isinstance(value, list) else value
    return found


def publish_outputs(
    session: Any, runtime: LocalRuntime, drop: str | tuple[str, ...] = (), api_url: str | None = None
) -> dict[str, str]:
    """A CloudFormation stack named like the provisioned one, whose Outputs are template.yaml's, resolved.

    The CLI's ``--stack NAME`` then finds the moto-provisioned resources as it would a deployed
    stack's; ``api_url`` points ApiUrl at a gateway serving the runtime.
    """
    from intake_cli.template import TemplateError

    stack = runtime.stack
    outputs = {}
    for name, output in dict(stack.template.document.get("Outputs", {})).items():
        try:
            outputs[name] = str(stack.resolve(output["Value"]))
        except TemplateError:
            continue  # what the local stack does not make (the alarm topic, the dashboard)
    for name in (drop,) if isinstance(drop, str) else drop:
        outputs.pop(name, None)
    if api_url is not None:
        outputs["ApiUrl"] = api_url
    body = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{stack.name}-cfn"}}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    session.client("cloudformation").create_stack(StackName=stack.name, TemplateBody=json.dumps(body))
    return outputs


def cli(*args: str, input_text: str | None = None) -> tuple[int, str]:
    """One ``intake`` command in-process: its exit status and what it printed (stdout and stderr)."""
    from typer.testing import CliRunner

    from intake_cli.main import app

    result = CliRunner().invoke(app, list(args), input=input_text)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def run_as_intake(
    monkeypatch: pytest.MonkeyPatch, *args: str, signum: int = signal.SIGTERM, disposition: Any = signal.SIG_DFL
) -> Any:
    """``intake ARGS`` as the installed command runs it (``__main__.run``: SIGTERM and SIGHUP taken as Ctrl-C), with
    ``signum`` left ``disposition`` by its parent as a shell or ``nohup`` leaves it; its exit status."""
    from intake_cli import __main__ as entry

    monkeypatch.setattr(entry, "_terminated", [], raising=False)
    monkeypatch.setattr(sys, "argv", ["intake", *args])
    previous = signal.signal(signum, disposition)
    try:
        with pytest.raises(SystemExit) as ended:
            entry.run()
    finally:
        signal.signal(signum, previous)
    return ended.value.code


def cli_json(*args: str, input_text: str | None = None) -> list[dict[str, Any]]:
    """A ``--json`` command's lines, the command having exited 0."""
    code, output = cli(*args, input_text=input_text)
    assert code == 0, output
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    # Functions running in-process at the same time print their logs and metrics to the same stdout.
    return [document for document in documents if "_aws" not in document and "level" not in document]


class TypedAtATerminal(io.StringIO):
    """Standard input from an operator at a terminal, who types ``answer`` when asked."""

    def isatty(self) -> bool:
        return True


def at_a_terminal(monkeypatch: pytest.MonkeyPatch, typed: str) -> None:
    """An operator at a terminal who types ``typed`` when asked, standard error going to that terminal (captured
    by the test as it reads it)."""
    monkeypatch.setattr("sys.stdin", TypedAtATerminal(typed))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)


SCRIPTING_DOC = "docs/local-stack.md"
_SCRIPTING_ROW = re.compile(r"^\| (.+?) \| .+? \| (.+) \|$", re.MULTILINE)


@functools.cache
def documented_json_fields() -> dict[str, set[str]]:
    """docs/local-stack.md's "Scripting" table: each command, the fields its ``--json`` lines are documented with.

    What a script is told it may read: tests hold every command's output to it."""
    text = (ROOT / SCRIPTING_DOC).read_text(encoding="utf-8").split("\n### Scripting: what `--json` prints\n", 1)[1]
    text = text.split("\n#", 1)[0]
    fields: dict[str, set[str]] = {}
    for commands, named in _SCRIPTING_ROW.findall(text):
        # A command's name (`send --wait` is send's), not the fields named beside it in parentheses
        for command in re.findall(r"`([^`]+)`", re.sub(r"\(.*?\)", "", commands)):
            fields.setdefault(command.split(" --")[0], set()).update(re.findall(r"`([a-z_]+)`", named))
    return fields


def undocumented(command: str, documents: list[dict[str, Any]]) -> set[str]:
    """The fields of ``documents`` (a command's ``--json`` lines) that the scripting table does not name for it."""
    documented = documented_json_fields()[command]
    return {name for document in documents for name in document} - documented


EVENT_TYPES_DOC = "docs/event-types.md"
_VENDOR_SECTION = re.compile(r"^### (\S+)\n(.*?)(?=^##|\Z)", re.MULTILINE | re.DOTALL)
_TYPE_ROW = re.compile(r"^\| (`[^|]+`) \| `([^`]+)` \|$", re.MULTILINE)


@functools.cache
def documented_types() -> dict[str, dict[str, str]]:
    """docs/event-types.md's "By vendor": each vendor's table, source_type to event_type (a row may name several).

    The vendors' types as documented, not as the code maps them: what tests hold the code to."""
    text = (ROOT / EVENT_TYPES_DOC).read_text(encoding="utf-8").split("\n## By vendor\n", 1)[1]
    return {
        key: {
            source_type: event_type
            for source_types, event_type in _TYPE_ROW.findall(section)
            for source_type in re.findall(r"`([^`]+)`", source_types)
        }
        for key, section in _VENDOR_SECTION.findall(text)
    }


def runbook_row(alarm: str) -> str:
    """The README runbook's row for ``alarm``: what it means and what to do."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith(f"| `{alarm}` |")]
    return row
