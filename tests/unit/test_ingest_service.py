"""The shared ingest flow, with its AWS collaborators replaced by fakes (no AWS, no sockets)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import subprocess
import sys
import tracemalloc
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from webhook_intake import secrets as secrets_module
from webhook_intake.http import Request
from webhook_intake.ingest.contract import MAX_BATCH_EVENTS
from webhook_intake.ingest.queue import EnqueueError
from webhook_intake.ingest.service import IngestService
from webhook_intake.observability import vendor_metrics
from webhook_intake.registry import vendor
from webhook_intake.replay import ReplayStoreError
from webhook_intake.secrets import SecretStore, SecretUnavailableError
from webhook_intake.text import OUT_OF_RANGE_MESSAGE

pytestmark = pytest.mark.usefixtures("no_network")

TOKEN = "a" * 64
NOTIFICATIONS_BODY = json.dumps(
    {"request_uuid": "r", "notifications": [{"notification_uuid": "n", "notification_type": "like"}]}
).encode()


@dataclass
class FakeSecrets:
    values: list[dict[str, Any]]
    unavailable: bool = False
    refreshes: int = 0

    def get(self, force: bool = False) -> dict[str, Any]:
        if self.unavailable:
            raise SecretUnavailableError("cannot read secret")
        return self.values[0]

    def refresh(self) -> dict[str, Any] | None:
        self.refreshes += 1
        if len(self.values) > 1:
            self.values.pop(0)
        return self.values[0]


@dataclass
class FakeQueue:
    fail: bool = False
    sent: list[tuple[str, Any]] = field(default_factory=list)
    inline_max_bytes: int = 1_000_000

    def accepts(self, size: int) -> bool:
        return True

    def send(self, body: str, delivery: Any, deadline: float) -> str:
        if self.fail:
            raise EnqueueError("send_message failed: EndpointConnectionError")
        self.sent.append((body, delivery))
        return f"m{len(self.sent)}"


def service(
    vendor_key: str, secrets: FakeSecrets, queue: FakeQueue, max_body: int = 1000, contract: Any = None
) -> IngestService:
    return IngestService(
        contract=contract or vendor(vendor_key).contract(),
        secrets=secrets,  # type: ignore[arg-type]
        queue=queue,  # type: ignore[arg-type]
        # A logger of its own per service, writing to this test's stdout (Powertools reuses loggers by name).
        logger=Logger(service=f"test-{uuid.uuid4().hex}", logger_handler=logging.StreamHandler(sys.stdout)),
        metrics=vendor_metrics(vendor_key),
        max_body_bytes=max_body,
        clock=lambda: 1_790_000_000.0,
    )


def post(path: str, body: bytes, headers: dict[str, str]) -> Request:
    return Request("POST", path, f"POST {path}", headers, body, {}, "apigw-request-id", 0)


def notifications(body: bytes, token: str | None = "tok") -> Request:
    headers = {"authorization": token} if token is not None else {}
    return post("/webhooks/viafoura/notifications", body, {**headers, "x-request-id": "req-1"})


def test_an_authenticated_delivery_is_enqueued_raw_and_answered_204() -> None:
    queue = FakeQueue()
    response = service("viafoura-notifications", FakeSecrets([{"tokens": ["tok"]}]), queue).handle(
        notifications(NOTIFICATIONS_BODY)
    )
    assert response.status == 204
    assert response.to_http_api()["body"] == ""
    body, delivery = queue.sent[0]
    assert body == NOTIFICATIONS_BODY.decode()
    assert delivery.correlation_id == "req-1"
    assert delivery.headers["x-request-id"] == "req-1"
    assert "authorization" not in delivery.headers


def test_a_delivery_keeps_the_headers_its_vendor_names_and_no_others() -> None:
    # Given a vendor whose own delivery id travels in a header of its own, with a signing time
    spec = replace(
        vendor("viafoura-notifications"), delivery_header="x-acme-delivery", kept_headers=("x-acme-signed-at",)
    )
    queue = FakeQueue()
    contract = replace(vendor("viafoura-notifications").contract(), spec=spec)
    acme = service("viafoura-notifications", FakeSecrets([{"tokens": ["tok"]}]), queue, contract=contract)
    headers = {
        "authorization": "tok",
        "x-acme-delivery": "d-1",
        "x-acme-signed-at": "1790000000",
        "x-request-id": "req-1",
        "x-socialchorus-delivery": "another-vendors-id",
        "x-fastcomments-signature": "another-vendors-signature",
    }
    # When it delivers
    assert acme.handle(post("/webhooks/viafoura/notifications", NOTIFICATIONS_BODY, headers)).status == 204
    # Then the delivery carries its id and its signing time, and no credential nor another vendor's header
    ((_, delivery),) = queue.sent
    assert delivery.correlation_id == "d-1"
    assert delivery.headers == {"x-acme-delivery": "d-1", "x-acme-signed-at": "1790000000", "x-request-id": "req-1"}
    assert spec.delivery_id(delivery.headers) == "d-1"


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_a_missing_or_wrong_token_is_401_and_nothing_is_enqueued(token: str | None) -> None:
    queue = FakeQueue()
    response = service("viafoura-notifications", FakeSecrets([{"tokens": ["tok"]}]), queue).handle(
        notifications(NOTIFICATIONS_BODY, token)
    )
    assert response.status == 401
    assert queue.sent == []


def test_viafoura_engagement_refuses_with_403() -> None:
    queue = FakeQueue()
    request = post("/webhooks/viafoura/engagement", b'{"events": []}', {"authorization": "b" * 64})
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), queue).handle(request)
    assert response.status == 403
    assert response.body == {"error": "forbidden", "message": "authentication failed"}


def engagement_event(event_uuid: Any) -> dict[str, Any]:
    return {"event_uuid": event_uuid, "message_type": "livecomment_post", "action": "liked"}


def test_a_viafoura_engagement_token_of_any_shape_works_as_viafouras_own_testing_steps_configure() -> None:
    # Given the value Viafoura's testing steps put in its admin: "Bearer <key>"
    body = json.dumps({"events": [engagement_event("e1")]}).encode()
    request = post("/webhooks/viafoura/engagement", body, {"authorization": "Bearer pd_api_key"})

    # When a delivery carries it
    response = service("viafoura-engagement", FakeSecrets([{"tokens": ["Bearer pd_api_key"]}]), FakeQueue()).handle(
        request
    )

    # Then it authenticates
    assert response.status == 200


def test_viafoura_engagement_answers_a_result_per_event() -> None:
    body = json.dumps({"request_uuid": "r-9", "events": [engagement_event("e1"), engagement_event("e2")]}).encode()
    request = post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN})
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), FakeQueue()).handle(request)
    assert response.status == 200
    assert response.body == {
        "request_uuid": "r-9",
        "results": [{"event_uuid": "e1", "type": "success"}, {"event_uuid": "e2", "type": "success"}],
    }


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [({"a": [1, "b"]}, '{"a":[1,"b"]}'), ([1, 2], "[1,2]"), (True, "true"), (1.5, "1.5"), (None, "")],
)
def test_viafoura_engagement_echoes_a_request_uuid_that_is_not_text_as_json(sent: object, echoed: str) -> None:
    # Given a request_uuid of another JSON type than Viafoura's string
    body = json.dumps({"request_uuid": sent, "events": [engagement_event("e1")]}).encode()
    request = post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN})

    # When it is delivered
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), FakeQueue()).handle(request)

    # Then the answer's request_uuid is a string holding the value as JSON wrote it, not a Python repr
    assert response.status == 200
    assert response.body["request_uuid"] == echoed


@pytest.mark.parametrize("document", [{"request_uuid": None}, {}], ids=["null", "left out"])
def test_viafoura_engagement_answers_with_the_request_id_header_when_the_body_names_none(
    document: dict[str, Any],
) -> None:
    # Given a batch whose request_uuid is null or left out, and its x-request-id header (the same id, by Viafoura)
    body = json.dumps({**document, "events": [engagement_event("e1")]}).encode()
    request = post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN, "x-request-id": "req-7"})

    # When it is delivered
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), FakeQueue()).handle(request)

    # Then the answer names the request by its header
    assert response.status == 200
    assert response.body["request_uuid"] == "req-7"


def test_viafoura_engagement_answers_failure_for_each_event_it_cannot_store_and_success_for_the_rest() -> None:
    # Given a batch mixing good events, a number, one without event_uuid and one without its action
    events = [
        engagement_event("e1"),
        7,
        {"message_type": "x", "action": "y"},
        {"event_uuid": "e4"},
        engagement_event(5),
    ]
    body = json.dumps({"request_uuid": 12345, "events": events}).encode()
    queue = FakeQueue()

    # When Viafoura delivers it
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), queue).handle(
        post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN})
    )

    # Then the body is queued as sent, and the answer follows Viafoura's result format event by event
    assert response.status == 200
    assert queue.sent[0][0] == body.decode()
    assert response.body == {
        "request_uuid": "12345",
        "results": [
            {"event_uuid": "e1", "type": "success"},
            {"type": "failure", "error_type": "invalid_event", "error_description": "event is not a JSON object"},
            {"type": "failure", "error_type": "missing_id", "error_description": "'event_uuid' is missing or empty"},
            {
                "event_uuid": "e4",
                "type": "failure",
                "error_type": "missing_field",
                "error_description": "'message_type' is missing or empty",
            },
            {"event_uuid": "5", "type": "success"},
        ],
    }


def test_an_id_of_512_characters_is_taken_and_one_of_513_is_refused_by_name() -> None:
    # Given a batch of an event whose id is as long as an id may be, and one a character longer
    taken, refused = "a" * 512, "b" * 513
    body = json.dumps({"request_uuid": "r", "events": [engagement_event(taken), engagement_event(refused)]}).encode()

    # When Viafoura delivers it
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), FakeQueue(), 10_000).handle(
        post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN})
    )

    # Then the first is a success and the second a failure that names it
    assert response.body["results"] == [
        {"event_uuid": taken, "type": "success"},
        {
            "event_uuid": refused,
            "type": "failure",
            "error_type": "invalid_id",
            "error_description": "'event_uuid' is over 512 characters",
        },
    ]


@pytest.mark.parametrize("events", [[], [1, "x"], [{"event_uuid": None}]], ids=["empty", "no-objects", "no-ids"])
def test_a_batch_with_no_usable_event_is_refused_whole(events: list[Any]) -> None:
    queue = FakeQueue()
    body = json.dumps({"events": events}).encode()
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), queue).handle(
        post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN})
    )
    assert (response.status, response.body["error"]) == (400, "invalid_envelope")
    assert queue.sent == []


def test_a_firstup_ping_is_answered_counted_and_never_queued(capsys: pytest.CaptureFixture[str]) -> None:
    queue = FakeQueue()
    svc = service("firstup", FakeSecrets([{"tokens": ["tok"]}]), queue)
    response = svc.handle(post("/webhooks/firstup", b'{"subscription_id": 7}', {"authorization": "tok"}))
    svc.metrics.flush_metrics()
    assert response.status == 200
    assert queue.sent == []
    assert '"Pings":[1.0]' in capsys.readouterr().out.replace(" ", "")


@pytest.mark.parametrize(
    ("secret", "problems"),
    [
        ({"tokens": []}, ["'tokens' holds no usable value"]),
        (
            {"tokens": ["", 3]},
            [
                "'tokens' entry 1 is not a non-empty string",
                "'tokens' entry 2 is not a non-empty string",
                "'tokens' holds no usable value",
            ],
        ),
        ({}, ["'tokens' is missing"]),
        (
            {"tokens": ["\ud800-typo"]},
            ["'tokens' entry 1 is not valid Unicode (a lone surrogate)", "'tokens' holds no usable value"],
        ),
    ],
)
def test_a_secret_that_cannot_work_is_reported_once_with_its_rule_never_its_value(
    secret: dict[str, Any], problems: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    svc = service("viafoura-notifications", FakeSecrets([secret]), FakeQueue())
    for _ in range(3):
        assert svc.handle(notifications(NOTIFICATIONS_BODY, "anything")).status == 401
    svc.metrics.flush_metrics()
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if '"secret misconfigured"' in line]
    assert len(lines) == 1
    assert (lines[0]["vendor"], lines[0]["problems"]) == ("viafoura-notifications", problems)
    assert '"SecretProblems":[' in out.replace(" ", "")


def test_an_openweb_secret_with_neither_tokens_nor_an_oauth_client_is_reported_as_a_secret_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an OpenWeb secret holding neither of its two modes (an operator emptied it, or named its fields otherwise)
    svc = service("openweb", FakeSecrets([{"token": "s3cr3t-value", "clientId": "c"}]), FakeQueue())
    headers = {"x-openweb-notification-event-webhook-token": "s3cr3t-value"}

    # When OpenWeb delivers: refused, and the SecretProblems alarm's metric and the log name what is missing
    body = b'{"event_id": "e", "type": "liked-message"}'
    assert svc.handle(post("/webhooks/openweb", body, headers)).status == 401
    svc.metrics.flush_metrics()
    out = capsys.readouterr().out
    (line,) = [json.loads(line) for line in out.splitlines() if '"secret misconfigured"' in line]
    assert line["problems"] == ["neither 'tokens' nor an OAuth client ('client_id', 'client_secret') is configured"]
    assert '"SecretProblems":[' in out.replace(" ", "")
    assert "s3cr3t-value" not in out


@pytest.mark.parametrize(
    ("vendor_key", "secret", "request_token"),
    [
        ("viafoura-notifications", {"tokens": ["s3cr3t\n"]}, "s3cr3t"),
        ("viafoura-engagement", {"tokens": [" " + "5e" * 32]}, "5e" * 32),
        ("firstup", {"tokens": ["Bearer s3cr3t\t"]}, "Bearer s3cr3t"),
        ("openweb", {"tokens": ["s3cr3t\r\n"]}, "s3cr3t"),
        ("viafoura-notifications", {"tokens": ["s3c\nr3t"]}, "s3c r3t"),
        ("fastcomments", {"api_secret": "s3cr3t "}, "s3cr3t"),
    ],
    ids=["newline-after", "space-before", "tab-after", "crlf-after", "newline-inside", "fastcomments-space-after"],
)
def test_a_token_no_header_can_carry_is_reported_as_a_secret_problem(
    vendor_key: str, secret: dict[str, Any], request_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a token pasted with white space around it (or a line break in it): HTTP trims a header
    # value and carries no line break, so no delivery can ever present it
    contract = vendor(vendor_key).contract()
    header = getattr(contract, "header", "token" if vendor_key == "fastcomments" else "authorization")
    svc = service(vendor_key, FakeSecrets([secret]), FakeQueue())

    # When the vendor delivers with the token as its header can carry it
    body = json.dumps({"events": [engagement_event("e1")]} if vendor_key == "viafoura-engagement" else {}).encode()
    path = vendor(vendor_key).path.replace("{event}", "comment-created")
    request = Request("POST", path, f"POST {path}", {header: request_token}, body, {"event": "comment-created"}, "r", 0)
    response = svc.handle(request)
    svc.metrics.flush_metrics()

    # Then the delivery is refused, and the operator hears why, rule by rule, never the value
    assert response.status == contract.auth_failure_status
    out = capsys.readouterr().out
    (line,) = [json.loads(line) for line in out.splitlines() if '"secret misconfigured"' in line]
    assert line["vendor"] == vendor_key
    field_name = next(iter(secret))
    assert line["problems"] == [
        f"'{field_name}' entry 1 begins or ends with white space or holds a line break: no header value carries it"
    ]
    assert '"SecretProblems":[1.0]' in out.replace(" ", "")
    assert "s3c" not in out
    assert "5e" * 32 not in out


def test_a_refused_delivery_that_reads_the_secret_twice_reports_its_problems_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
    # Given a rotation's new token pasted with a line break, and a function that has not read the secret yet
    client = aws.client("secretsmanager")
    client.create_secret(Name="notifications-secret", SecretString=json.dumps({"tokens": ["tok", "new-tok\n"]}))
    svc = service("viafoura-notifications", SecretStore("notifications-secret"), FakeQueue())  # type: ignore[arg-type]

    def refused_delivery() -> tuple[int, list[float], int]:
        status = svc.handle(notifications(NOTIFICATIONS_BODY, "other")).status
        svc.metrics.flush_metrics()
        out = capsys.readouterr().out
        points = [value for line in out.splitlines() for value in json.loads(line).get("SecretProblems", [])]
        return status, points, out.count('"secret misconfigured"')

    # When a delivery with an unknown token comes (the secret read, then read again for a newer token),
    # another within the 10 s between forced reads, and one after them
    first = refused_delivery()
    clock[0] += 1
    second = refused_delivery()
    clock[0] += 10
    third = refused_delivery()

    # Then each is refused, and the entry is reported once for the delivery that read it twice, as it is
    # for each later read
    assert first == (401, [1.0], 1)
    assert second == (401, [], 0)
    assert third == (401, [1.0], 1)


@pytest.mark.parametrize("tokens", [["\ud800-typo", "tok"], ["tok", "\ud800"], ["new-tok\n", "tok"]])
def test_an_entry_that_cannot_work_leaves_the_others_working(tokens: list[str]) -> None:
    # (a rotation's new entry pasted with a line break: reported, and the deliveries with the old one still taken)
    svc = service("viafoura-notifications", FakeSecrets([{"tokens": tokens}]), FakeQueue())
    assert svc.handle(notifications(NOTIFICATIONS_BODY, "tok")).status == 204
    assert svc.handle(notifications(NOTIFICATIONS_BODY, "other")).status == 401


def test_an_unusual_engagement_token_is_advice_not_a_problem(capsys: pytest.CaptureFixture[str]) -> None:
    svc = service("viafoura-engagement", FakeSecrets([{"tokens": ["Bearer k"]}]), FakeQueue())
    body = json.dumps({"events": [engagement_event("e1")]}).encode()
    svc.handle(post("/webhooks/viafoura/engagement", body, {"authorization": "Bearer k"}))
    out = capsys.readouterr().out
    assert '"secret unusual"' in out
    assert "Bearer k" not in out
    assert "SecretProblems" not in out


def test_a_token_added_after_the_cache_was_filled_is_accepted_after_one_refresh() -> None:
    secrets = FakeSecrets([{"tokens": ["old"]}, {"tokens": ["old", "new"]}])
    queue = FakeQueue()
    response = service("viafoura-notifications", secrets, queue).handle(notifications(NOTIFICATIONS_BODY, "new"))
    assert response.status == 204
    assert secrets.refreshes == 1
    assert len(queue.sent) == 1


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("dev-token", "is not valid JSON"),
        ('["dev-token"]', "is not a JSON object"),
        ('"dev-token"', "is not a JSON object"),
    ],
)
def test_a_secret_value_that_is_no_json_object_is_a_500_reported_as_a_secret_problem(
    aws: Any, capsys: pytest.CaptureFixture[str], value: str, problem: str
) -> None:
    # Given the operator put a bare token, a list or a string where the secret's JSON object belongs
    client = aws.client("secretsmanager")
    client.create_secret(Name="notifications-secret", SecretString=value)
    svc = service("viafoura-notifications", SecretStore("notifications-secret"), FakeQueue())  # type: ignore[arg-type]

    # When a delivery comes
    response = svc.handle(notifications(NOTIFICATIONS_BODY, "dev-token"))
    svc.metrics.flush_metrics()

    # Then it is a 500 (the vendor retries once the value is mended), and the log and SecretProblems
    # say the value is wrong, not that Secrets Manager is down; the value itself is never logged
    assert response.status == 500
    out = capsys.readouterr().out
    (line,) = [json.loads(line) for line in out.splitlines() if '"secret misconfigured"' in line]
    assert line["vendor"] == "viafoura-notifications"
    assert [problem in text for text in line["problems"]] == [True]
    assert '"SecretProblems":[1.0]' in out.replace(" ", "")
    assert "secret unavailable" not in out
    assert "dev-token" not in out


@pytest.mark.parametrize("value", ["dev-token", '["dev-token"]'])
def test_a_secret_value_broken_after_it_was_read_keeps_viafoura_engagement_taking_deliveries(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
    client = aws.client("secretsmanager")
    client.create_secret(Name="engagement-secret", SecretString=json.dumps({"tokens": [TOKEN]}))
    queue = FakeQueue()
    svc = service("viafoura-engagement", SecretStore("engagement-secret"), queue)  # type: ignore[arg-type]
    body = json.dumps({"request_uuid": "r", "events": [engagement_event("e1")]}).encode()
    delivery = post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN})
    assert svc.handle(delivery).status == 200
    # Given the operator wrote a value that is no JSON object (a bare token, a list) over the secret
    client.put_secret_value(SecretId="engagement-secret", SecretString=value)

    # When deliveries come once the function's copy is past its five minutes, and again 10 s later
    clock[0] += 301
    first = svc.handle(delivery)
    clock[0] += 10
    second = svc.handle(delivery)
    svc.metrics.flush_metrics()

    # Then Viafoura engagement, which never sends them again, is still answered with success from the copy
    # read before, and the value is reported as a secret problem, never logged
    assert (first.status, second.status) == (200, 200)
    assert first.body["results"] == [{"event_uuid": "e1", "type": "success"}]
    assert len(queue.sent) == 3
    out = capsys.readouterr().out
    assert '"secret misconfigured"' in out
    assert '"SecretProblems":[1.0' in out.replace(" ", "")
    assert "dev-token" not in out


def test_a_broken_value_read_twice_for_one_delivery_is_reported_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
    client = aws.client("secretsmanager")
    client.create_secret(Name="notifications-secret", SecretString=json.dumps({"tokens": ["tok"]}))
    svc = service("viafoura-notifications", SecretStore("notifications-secret"), FakeQueue())  # type: ignore[arg-type]
    assert svc.handle(notifications(NOTIFICATIONS_BODY)).status == 204
    # Given the operator wrote a bare token over the secret, and the function's copy is past its five minutes
    client.put_secret_value(SecretId="notifications-secret", SecretString="new-tok")
    clock[0] += 301
    capsys.readouterr()

    # When a delivery comes with a credential the copy read before does not hold (read, then read again)
    response = svc.handle(notifications(NOTIFICATIONS_BODY, "new-tok"))
    svc.metrics.flush_metrics()

    # Then it is a 500 (the vendor retries once the value is mended), and the value is reported once
    assert response.status == 500
    out = capsys.readouterr().out
    assert out.count('"secret misconfigured"') == 1
    assert '"SecretProblems":[1.0]' in out.replace(" ", "")
    assert "new-tok" not in out


def test_a_secret_deleted_after_it_was_read_refuses_the_credentials_it_held(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
    client = aws.client("secretsmanager")
    client.create_secret(Name="notifications-secret", SecretString=json.dumps({"tokens": ["tok"]}))
    queue = FakeQueue()
    svc = service("viafoura-notifications", SecretStore("notifications-secret"), queue)  # type: ignore[arg-type]
    assert svc.handle(notifications(NOTIFICATIONS_BODY)).status == 204
    # Given the operator deleted the secret (Secrets Manager keeps it, marked deleted, for its recovery window)
    client.delete_secret(SecretId="notifications-secret")

    # When deliveries with the token it held come once the function's copy is past its five minutes
    clock[0] += 301
    answers = [svc.handle(notifications(NOTIFICATIONS_BODY)).status for _ in range(2)]
    clock[0] += 11
    answers.append(svc.handle(notifications(NOTIFICATIONS_BODY)).status)

    # Then they are refused in the vendor's terms, as for a secret never set: nothing more is queued
    assert answers == [401, 401, 401]
    assert len(queue.sent) == 1


def test_an_unreadable_secret_is_a_500_so_the_vendor_retries() -> None:
    response = service("viafoura-notifications", FakeSecrets([{}], unavailable=True), FakeQueue()).handle(
        notifications(NOTIFICATIONS_BODY)
    )
    assert response.status == 500


def test_an_enqueue_failure_is_a_500_and_never_a_2xx() -> None:
    response = service("viafoura-notifications", FakeSecrets([{"tokens": ["tok"]}]), FakeQueue(fail=True)).handle(
        notifications(NOTIFICATIONS_BODY)
    )
    assert response.status == 500
    assert response.body == {"error": "enqueue_failed", "message": "the delivery was not accepted; retry later"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "invalid_json"),
        (b"\xff\xfe{}", 400, "invalid_json"),
        (b"[" * 400 + b"]" * 400, 400, "invalid_json"),
        (b"9" * 5000, 400, "invalid_json"),
        (b"{}", 400, "invalid_envelope"),
        (b'{"notifications": [1]}', 400, "invalid_envelope"),
        (b'{"notifications": [{"notification_uuid": "n"}]}', 400, "invalid_envelope"),
        (b"x" * 10_001, 413, "payload_too_large"),
    ],
)
def test_bad_bodies_get_a_short_error_and_are_not_enqueued(body: bytes, status: int, code: str) -> None:
    queue = FakeQueue()
    response = service("viafoura-notifications", FakeSecrets([{"tokens": ["tok"]}]), queue, max_body=10_000).handle(
        notifications(body)
    )
    assert (response.status, response.body["error"] if response.body else None) == (status, code)
    assert queue.sent == []


@pytest.mark.parametrize("bare", ["0", "1e400"])
@pytest.mark.parametrize("elements", [MAX_BATCH_EVENTS, MAX_BATCH_EVENTS + 1, 1_000_000])
def test_a_batch_of_more_events_than_a_delivery_may_hold_is_refused_before_any_is_judged(
    elements: int, bare: str
) -> None:
    # Given an authenticated Viafoura notifications body of one notification and many bare elements, numbers
    # in range or beyond it (a body of megabytes of them would otherwise cost gigabytes to judge and answer: a 5xx)
    one = {"notification_uuid": "n-1", "notification_type": "like"}
    body = ('{"notifications":[' + json.dumps(one) + f",{bare}" * (elements - 1) + "]}").encode()
    queue = FakeQueue()

    # When it is delivered
    handler = service("viafoura-notifications", FakeSecrets([{"tokens": ["tok"]}]), queue, max_body=len(body))
    tracemalloc.start()
    try:
        response = handler.handle(notifications(body))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    # Then it is read within half the ingest function's default memory (256 MB: over it, a 5xx)
    assert peak < 128 * 1024 * 1024, peak

    # Then up to the limit it is taken; over it, refused whole, 413, saying the count and the limit
    if elements <= MAX_BATCH_EVENTS:
        assert response.status == 204
        assert len(queue.sent) == 1
        return
    assert response.status == 413
    assert response.body == {
        "error": "too_many_events",
        "message": f"{elements} events in one delivery; at most {MAX_BATCH_EVENTS} are taken: send fewer",
    }
    assert queue.sent == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 50_000 + b"]" * 50_000, "body nests arrays or objects more than 100 deep"),
        # Deeper than MAX_NESTING, which every Python reads: each Python's own limit differs
        (
            b'{"id": "a", "name": "x", "n": ' + b"[" * 100 + b"]" * 100 + b"}",
            "body nests arrays or objects more than 100 deep",
        ),
        # Firstup sends one event a delivery: a number no int or double holds refuses it whole
        (b'{"id": "a", "name": "x", "n": ' + b"9" * 5000 + b"}", f"body {OUT_OF_RANGE_MESSAGE}"),
        (b'{"id": "a", "name": "x"', "body is not valid JSON"),
        # the deep value is under a key read twice: Python keeps the last, the raw event both
        (
            b'{"id": "a", "name": "x", "n": %s, "n": 1}' % (b"[" * 200 + b"]" * 200),
            "body nests arrays or objects more than 100 deep",
        ),
        (b'{"id": "a", "name": "x", "n": NaN}', "body is not valid JSON"),
        (b'{"id": "a", "name": "x", "n": -1e400}', f"body {OUT_OF_RANGE_MESSAGE}"),  # beyond a double: infinity
        (b'{"id": "a", "name": "x", "n": [Infinity, -Infinity]}', "body is not valid JSON"),
    ],
)
def test_json_python_cannot_read_is_a_400_that_says_why(body: bytes, message: str) -> None:
    response = service("firstup", FakeSecrets([{"tokens": ["tok"]}]), FakeQueue(), max_body=1_000_000).handle(
        post("/webhooks/firstup", body, {"authorization": "tok"})
    )
    assert (response.status, response.body) == (400, {"error": "invalid_json", "message": message})


@pytest.mark.parametrize("vendor_key", ["firstup", "viafoura-engagement"])
def test_a_body_nested_exactly_as_deep_as_the_limit_is_taken(vendor_key: str) -> None:
    # 100 levels in all: the body's own object, then arrays (in a batch, inside the element)
    events = {
        "firstup": {"id": "a", "name": "content_published", "n": "N"},
        "viafoura-engagement": {
            "request_uuid": "r",
            "events": [{"event_uuid": "e", "message_type": "livecomment_post", "action": "liked", "n": "N"}],
        },
    }
    arrays = {"firstup": 99, "viafoura-engagement": 97}[vendor_key]
    bodies = {vendor_key: json.dumps(events[vendor_key]).replace('"N"', "[" * arrays + "]" * arrays)}
    queue = FakeQueue()
    route = vendor(vendor_key).path
    response = service(vendor_key, FakeSecrets([{"tokens": ["tok"]}]), queue, max_body=1_000_000).handle(
        post(route, bodies[vendor_key].encode(), {"authorization": "tok"})
    )
    assert response.status == 200
    assert len(queue.sent) == 1


def test_firstup_uses_its_delivery_id_as_correlation_id() -> None:
    queue = FakeQueue()
    request = post("/webhooks/firstup", b'{"id": "e", "name": "content_published"}', {"authorization": "tok"})
    request.headers["x-socialchorus-delivery"] = "delivery-7"
    response = service("firstup", FakeSecrets([{"tokens": ["tok"]}]), queue).handle(request)
    assert response.status == 200
    assert queue.sent[0][1].correlation_id == "delivery-7"
    assert vendor("firstup").delivery_id(queue.sent[0][1].headers) == "delivery-7"


def test_openweb_needs_event_id_and_type() -> None:
    headers = {"x-openweb-notification-event-webhook-token": "tok"}
    svc = service("openweb", FakeSecrets([{"tokens": ["tok"]}]), FakeQueue())
    assert svc.handle(post("/webhooks/openweb", b'{"type": "liked-message"}', headers)).status == 400
    assert svc.handle(post("/webhooks/openweb", b'{"event_id": "e"}', headers)).status == 400
    assert svc.handle(post("/webhooks/openweb", b'{"event_id": "e", "type": "liked-message"}', headers)).status == 200


def test_an_over_long_correlation_id_travels_and_is_logged_as_a_short_hash(capsys: pytest.CaptureFixture[str]) -> None:
    queue = FakeQueue()
    long_id = "r" * 3000
    request = post(
        "/webhooks/viafoura/notifications", NOTIFICATIONS_BODY, {"authorization": "tok", "x-request-id": long_id}
    )
    service("viafoura-notifications", FakeSecrets([{"tokens": ["tok"]}]), queue).handle(request)
    delivery = queue.sent[0][1]
    assert delivery.correlation_id.startswith("sha256:")
    assert len(delivery.correlation_id) <= 128
    assert long_id not in capsys.readouterr().out


def test_fastcomments_refuses_an_event_it_does_not_send() -> None:
    request = Request(
        "PUT",
        "/webhooks/fastcomments/comment-voted",
        "",
        {"token": "k"},
        b'{"id": "1"}',
        {"event": "comment-voted"},
        "r",
        0,
    )
    response = service("fastcomments", FakeSecrets([{"api_secret": "k"}]), FakeQueue()).handle(request)
    assert response.status == 404


@dataclass
class FakeCredentials:
    unavailable: bool = False
    recorded: list[Any] = field(default_factory=list)

    def record(self, claim: Any, now: float, within: Any = None) -> None:
        if self.unavailable:
            raise ReplayStoreError("put_item failed: EndpointConnectionError")
        self.recorded.append(claim)


def signed_fastcomments(event: str) -> Request:
    body = b'{"id": "1", "urlId": "p"}'
    timestamp = "1790000000"
    digest = hmac.new(b"k", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"x-fastcomments-signature": f"sha256={digest}", "x-fastcomments-timestamp": timestamp}
    return Request("PUT", f"/webhooks/fastcomments/{event}", "", headers, body, {"event": event}, "r", 0)


def test_a_fastcomments_signature_is_recorded_with_its_route_before_the_delivery_is_queued() -> None:
    credentials, queue = FakeCredentials(), FakeQueue()
    ingest = service("fastcomments", FakeSecrets([{"api_secret": "k"}]), queue)
    ingest.used_credentials = credentials  # type: ignore[assignment]
    assert ingest.handle(signed_fastcomments("comment-updated")).status == 200
    (claim,) = credentials.recorded
    assert claim.key.startswith("fastcomments:signature:sha256=")
    assert (claim.scope, claim.expires_at) == ("comment-updated", 1_790_000_300)
    assert len(queue.sent) == 1


def test_an_unreachable_replay_table_is_a_500_and_nothing_is_queued() -> None:
    queue = FakeQueue()
    ingest = service("fastcomments", FakeSecrets([{"api_secret": "k"}]), queue)
    ingest.used_credentials = FakeCredentials(unavailable=True)  # type: ignore[assignment]
    response = ingest.handle(signed_fastcomments("comment-created"))
    assert (response.status, response.body) == (
        500,
        {"error": "unavailable", "message": "temporarily unable to check the signature; retry later"},
    )
    assert queue.sent == []


def test_the_legacy_token_has_nothing_to_record() -> None:
    credentials = FakeCredentials()
    ingest = service("fastcomments", FakeSecrets([{"api_secret": "k"}]), FakeQueue())
    ingest.used_credentials = credentials  # type: ignore[assignment]
    request = Request("PUT", "/x", "", {"token": "k"}, b'{"id": "1"}', {"event": "comment-created"}, "r", 0)
    assert ingest.handle(request).status == 200
    assert credentials.recorded == []


def test_the_ingest_path_imports_neither_pydantic_nor_the_normalizers() -> None:
    code = (
        "import sys, importlib;"
        "import webhook_intake.ingest.lambda_handler;"
        "from webhook_intake.registry import VENDORS;"
        "[v.contract() for v in VENDORS.values()];"
        "bad = [m for m in sys.modules if m.startswith('pydantic') or m.endswith('.normalize')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_runbook_row_of_the_5xx_alarm_names_the_log_line_of_every_outage_ingest_answers_500(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a signed FastComments delivery while each dependency of ingest is out in turn
    outages = [
        (FakeSecrets([{"api_secret": "k"}], unavailable=True), FakeQueue(), FakeCredentials()),
        (FakeSecrets([{"api_secret": "k"}]), FakeQueue(), FakeCredentials(unavailable=True)),
        (FakeSecrets([{"api_secret": "k"}]), FakeQueue(fail=True), FakeCredentials()),
    ]
    for secrets, queue, credentials in outages:
        ingest = service("fastcomments", secrets, queue)
        ingest.used_credentials = credentials  # type: ignore[assignment]
        assert ingest.handle(signed_fastcomments("comment-created")).status == 500
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    logged = {line["message"] for line in lines if line["level"] == "ERROR"}
    assert len(logged) == len(outages)

    # Then the row an operator reads when the API answers 5xx names the line each outage logs
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `ApiServerErrorAlarm` |")]
    assert sorted(message for message in logged if f"`{message}`" not in row) == []
