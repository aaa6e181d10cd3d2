"""The shared ingest flow, with its AWS collaborators replaced by fakes (no AWS, no sockets)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from webhook_intake.http import Request
from webhook_intake.ingest.queue import EnqueueError
from webhook_intake.ingest.service import IngestService
from webhook_intake.observability import vendor_metrics
from webhook_intake.registry import vendor
from webhook_intake.secrets import SecretUnavailableError

pytestmark = pytest.mark.usefixtures("no_network")

TOKEN = "a" * 64
NOTIFICATIONS_BODY = json.dumps({"request_uuid": "r", "notifications": [{"notification_uuid": "n"}]}).encode()


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


def service(vendor_key: str, secrets: FakeSecrets, queue: FakeQueue, max_body: int = 1000) -> IngestService:
    return IngestService(
        contract=vendor(vendor_key).contract(),
        secrets=secrets,  # type: ignore[arg-type]
        queue=queue,  # type: ignore[arg-type]
        logger=Logger(service="test"),
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


def test_a_viafoura_engagement_token_shorter_than_64_hex_authenticates_nothing() -> None:
    request = post("/webhooks/viafoura/engagement", b'{"events": []}', {"authorization": "short"})
    response = service("viafoura-engagement", FakeSecrets([{"tokens": ["short"]}]), FakeQueue()).handle(request)
    assert response.status == 403


def test_viafoura_engagement_answers_a_result_per_event() -> None:
    body = json.dumps({"request_uuid": "r-9", "events": [{"event_uuid": "e1"}, {"event_uuid": "e2"}]}).encode()
    request = post("/webhooks/viafoura/engagement", body, {"authorization": TOKEN})
    response = service("viafoura-engagement", FakeSecrets([{"tokens": [TOKEN]}]), FakeQueue()).handle(request)
    assert response.status == 200
    assert response.body == {
        "request_uuid": "r-9",
        "results": [{"event_uuid": "e1", "type": "success"}, {"event_uuid": "e2", "type": "success"}],
    }


def test_a_token_added_after_the_cache_was_filled_is_accepted_after_one_refresh() -> None:
    secrets = FakeSecrets([{"tokens": ["old"]}, {"tokens": ["old", "new"]}])
    queue = FakeQueue()
    response = service("viafoura-notifications", secrets, queue).handle(notifications(NOTIFICATIONS_BODY, "new"))
    assert response.status == 204
    assert secrets.refreshes == 1
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
        (b"[" * 400 + b"]" * 400, 400, "invalid_envelope"),
        (b"9" * 5000, 400, "invalid_json"),
        (b"{}", 400, "invalid_envelope"),
        (b'{"notifications": [1]}', 400, "invalid_envelope"),
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


def test_deeply_nested_json_is_a_400_not_a_crash() -> None:
    body = b"[" * 50_000 + b"]" * 50_000
    response = service("firstup", FakeSecrets([{"tokens": ["tok"]}]), FakeQueue(), max_body=1_000_000).handle(
        post("/webhooks/firstup", body, {"authorization": "tok"})
    )
    assert response.status == 400


def test_firstup_uses_its_delivery_id_as_correlation_id() -> None:
    queue = FakeQueue()
    request = post("/webhooks/firstup", b'{"id": "e", "name": "content_published"}', {"authorization": "tok"})
    request.headers["x-socialchorus-delivery"] = "delivery-7"
    response = service("firstup", FakeSecrets([{"tokens": ["tok"]}]), queue).handle(request)
    assert response.status == 200
    assert queue.sent[0][1].correlation_id == "delivery-7"
    assert queue.sent[0][1].delivery_id == "delivery-7"


def test_openweb_needs_event_id_and_type() -> None:
    headers = {"x-openweb-notification-event-webhook-token": "tok"}
    svc = service("openweb", FakeSecrets([{"tokens": ["tok"]}]), FakeQueue())
    assert svc.handle(post("/webhooks/openweb", b'{"type": "liked-message"}', headers)).status == 400
    assert svc.handle(post("/webhooks/openweb", b'{"event_id": "e", "type": "liked-message"}', headers)).status == 200


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
