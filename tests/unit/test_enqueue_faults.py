"""SQS throttled, failing or timing out at ingest: bounded retries inside the vendor's timeout, then 5xx."""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import botocore.endpoint
import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, EndpointConnectionError, HTTPClientError, ReadTimeoutError, SSLError
from moto import mock_aws

from intake_cli.queues import depth
from webhook_intake import clients
from webhook_intake.http import Request
from webhook_intake.ingest.lambda_handler import build_service
from webhook_intake.ingest.queue import INGEST_CONFIG, READ_TIMEOUT, QueueSender
from webhook_intake.ingest.service import IngestService
from webhook_intake.ingest.settings import IngestSettings
from webhook_intake.observability import vendor_metrics
from webhook_intake.registry import vendor
from webhook_intake.secrets import SECRETS_CONFIG, SecretStore
from webhook_intake.vendors.fastcomments.contract import signature

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BODY = json.dumps(
    {"request_uuid": "r", "notifications": [{"notification_uuid": "n-1", "notification_type": "like"}]}
).encode()
VENDOR_TIMEOUT = {"viafoura-notifications": 5.0, "openweb": 10.0}


@dataclass
class FakeClock:
    """Monotonic time that only moves when the code under test waits or a fault takes time."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Secrets:
    api_secret: bool = False

    def get(self, force: bool = False) -> dict[str, Any]:
        return {"api_secret": ["tok"]} if self.api_secret else {"tokens": ["tok"]}

    def refresh(self) -> None:
        return None


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendMessage"
    )


def throttled(request: Any) -> Any:
    raise _client_error("ThrottlingException", 400)


def unavailable(request: Any) -> Any:
    raise _client_error("ServiceUnavailable", 503)


@pytest.fixture
def queue() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1", config=INGEST_CONFIG)
        yield sqs, sqs.create_queue(QueueName="faults")["QueueUrl"]


def ingest(vendor_key: str, sqs: Any, url: str, clock: FakeClock) -> IngestService:
    return IngestService(
        contract=vendor(vendor_key).contract(),
        secrets=Secrets(),  # type: ignore[arg-type]
        queue=QueueSender(url, 1_000_000, sqs_client=sqs, clock=clock, sleep=clock.sleep),
        logger=Logger(service="test"),
        metrics=vendor_metrics(vendor_key),
        max_body_bytes=1_000_000,
        monotonic=clock,
    )


def inject(sqs: Any, faults: list[Callable[[Any], Any]], clock: FakeClock) -> list[int]:
    """Fail the next SendMessage attempts with ``faults`` (then let moto answer); count attempts.

    The faults are raised where botocore sends the request, so they reach the code under test
    exactly as a throttled, failing or unreachable SQS would.
    """
    attempts: list[int] = []

    def hook(request: Any, **_: Any) -> Any:
        attempts.append(1)
        if not faults:
            return None
        return faults.pop(0)(request)

    sqs.meta.events.register_first("before-send.sqs.SendMessage", hook)
    return attempts


def timeout(clock: FakeClock) -> Callable[[Any], Any]:
    def fault(request: Any) -> Any:
        clock.now += READ_TIMEOUT  # the attempt waited for its whole read timeout
        raise ReadTimeoutError(endpoint_url=request.url)

    return fault


def connection_refused(request: Any) -> Any:
    raise EndpointConnectionError(endpoint_url=request.url)


def tls_dropped(request: Any) -> Any:
    # The connection torn down during the TLS handshake: urllib3 reports an SSL error, botocore its SSLError.
    raise SSLError(endpoint_url=request.url, error=ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))


def reset_mid_request(request: Any) -> Any:
    # What botocore raises for a failure of the HTTP exchange it has no narrower name for.
    raise HTTPClientError(error=ConnectionResetError(104, "Connection reset by peer"))


def notifications() -> Request:
    return Request("POST", "/webhooks/viafoura/notifications", "", {"authorization": "tok"}, BODY, {}, "r", 0)


@pytest.mark.parametrize("fault", [throttled, unavailable, connection_refused, tls_dropped, reset_mid_request])
def test_transient_faults_are_retried_and_the_delivery_is_accepted(queue: tuple[Any, str], fault: Any) -> None:
    sqs, url = queue
    clock = FakeClock()
    attempts = inject(sqs, [fault, fault], clock)
    response = ingest("viafoura-notifications", sqs, url, clock).handle(notifications())
    assert response.status == 204
    assert len(attempts) == 3
    assert depth(sqs, url)[0] == 1


@pytest.mark.parametrize("vendor_key", ["viafoura-notifications", "openweb"])
def test_sqs_that_keeps_timing_out_is_a_5xx_before_the_vendor_gives_up(queue: tuple[Any, str], vendor_key: str) -> None:
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    attempts = inject(sqs, [timeout(clock)] * 50, clock)
    body = BODY if vendor_key != "openweb" else json.dumps({"event_id": "e", "type": "user-followed"}).encode()
    request = Request(
        "POST", "/", "", {"authorization": "tok", "x-openweb-notification-event-webhook-token": "tok"}, body, {}, "r", 0
    )
    response = ingest(vendor_key, sqs, url, clock).handle(request)
    assert response.status == 500
    assert response.body == {"error": "enqueue_failed", "message": "the delivery was not accepted; retry later"}
    assert len(attempts) >= 2  # it did retry
    assert clock.now - start < VENDOR_TIMEOUT[vendor_key]
    assert depth(sqs, url)[0] == 0


def test_constant_throttling_gives_up_inside_the_deadline(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    attempts = inject(sqs, [throttled] * 1000, clock)
    response = ingest("viafoura-notifications", sqs, url, clock).handle(notifications())
    assert response.status == 500
    assert 3 <= len(attempts) < 1000
    assert clock.now - start <= vendor("viafoura-notifications").contract().deadline_seconds


def test_a_fault_that_retrying_cannot_fix_fails_at_once(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    clock = FakeClock()
    sqs.delete_queue(QueueUrl=url)
    response = ingest("viafoura-notifications", sqs, url, clock).handle(notifications())
    assert response.status == 500
    assert clock.sleeps == []


def test_a_slow_claim_check_leaves_the_queue_its_attempt_inside_the_vendors_timeout(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    s3 = boto3.client("s3", region_name="us-east-1", config=INGEST_CONFIG)
    s3.create_bucket(Bucket="payloads")
    puts: list[int] = []

    def slow_s3(request: Any, **_: Any) -> Any:
        # Each put to S3 takes 1.8 s; the first is throttled, the next one succeeds.
        puts.append(1)
        clock.now += 1.8
        if len(puts) == 1:
            raise _client_error("SlowDown", 503)
        return None

    s3.meta.events.register_first("before-send.s3.PutObject", slow_s3)
    inject(sqs, [timeout(clock)] * 50, clock)
    service = ingest("viafoura-notifications", sqs, url, clock)
    service.queue = QueueSender(
        url, 10, payload_bucket="payloads", sqs_client=sqs, s3_client=s3, clock=clock, sleep=clock.sleep
    )

    response = service.handle(notifications())

    # The S3 retries stop while one attempt to the queue still fits: the 5xx comes before Viafoura gives up
    assert response.status == 500
    assert clock.now - start < VENDOR_TIMEOUT["viafoura-notifications"]
    assert depth(sqs, url)[0] == 0


def test_kms_throttling_of_the_queue_is_retried(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    clock = FakeClock()

    def kms_throttled(request: Any) -> Any:
        # What botocore reports for SQS's awsQueryError of an encrypted queue whose key is throttled.
        raise _client_error("KMS.ThrottlingException", 400)

    attempts = inject(sqs, [kms_throttled], clock)
    response = ingest("viafoura-notifications", sqs, url, clock).handle(notifications())
    assert response.status == 204
    assert len(attempts) == 2
    assert depth(sqs, url)[0] == 1


def engagement() -> Request:
    event = {"event_uuid": "e-1", "time": 1593205166938, "message_type": "livecomment_post", "action": "liked"}
    event |= {"content_uuid": "c-1", "actor_uuid": "a-1", "content_container_uuid": "cc-1"}
    body = json.dumps({"request_uuid": "r", "time": 1593205167183, "version": 1, "events": [event]}).encode()
    return Request("POST", "/webhooks/viafoura/engagement", "", {"authorization": "tok"}, body, {}, "r", 0)


def test_viafoura_engagement_outlasts_an_sqs_outage_of_fifteen_seconds(queue: tuple[Any, str]) -> None:
    # Viafoura engagement never sends an event again: a 5xx loses it as surely as no answer, and a
    # message sent after Viafoura stopped waiting is still stored. So its ingest keeps trying for as long as
    # API Gateway waits for the function (30 s), not for a retrying vendor's few seconds.
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    inject(sqs, [timeout(clock)] * 10, clock)  # 15 s of read time-outs, then SQS answers
    response = ingest("viafoura-engagement", sqs, url, clock).handle(engagement())
    assert response.status == 200
    assert response.body["results"] == [{"event_uuid": "e-1", "type": "success"}]
    assert depth(sqs, url)[0] == 1
    assert clock.now - start < 30


def test_viafoura_engagement_answers_before_api_gateway_stops_waiting(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    inject(sqs, [timeout(clock)] * 1000, clock)
    response = ingest("viafoura-engagement", sqs, url, clock).handle(engagement())
    assert response.status == 500
    assert clock.now - start < 29  # the function's own answer, not the gateway's time-out
    assert depth(sqs, url)[0] == 0


def cold(service: IngestService, clock: FakeClock, failed_reads: int) -> list[int]:
    """``service`` with no copy of its secret yet, whose first ``failed_reads`` attempts to read it time out."""
    secrets_client = boto3.client("secretsmanager", region_name="us-east-1", config=SECRETS_CONFIG)
    secrets_client.create_secret(Name="cold", SecretString=json.dumps({"tokens": ["tok"], "api_secret": ["tok"]}))
    reads: list[int] = []

    def failing_for_a_while(request: Any, **_: Any) -> Any:
        reads.append(1)
        clock.now += 1.25  # each attempt waits out its connect and read timeouts
        if len(reads) <= failed_reads:
            raise ReadTimeoutError(endpoint_url=request.url)
        return None

    secrets_client.meta.events.register_first("before-send.secrets-manager.GetSecretValue", failing_for_a_while)
    service.secrets = SecretStore("cold", boto3_client=secrets_client)
    service.sleep = clock.sleep
    return reads


def test_a_cold_viafoura_engagement_function_outlasts_a_secrets_manager_blip(queue: tuple[Any, str]) -> None:
    # Given a function that has not read its secret yet, while Secrets Manager fails for a few seconds
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    service = ingest("viafoura-engagement", sqs, url, clock)
    cold(service, clock, failed_reads=5)

    # When a delivery comes
    response = service.handle(engagement())

    # Then Viafoura engagement, which never sends it again, is answered with success once a read succeeds
    assert response.status == 200
    assert depth(sqs, url)[0] == 1
    assert clock.now - start < 29


def test_a_cold_viafoura_notifications_function_answers_500_before_the_vendor_gives_up(
    queue: tuple[Any, str],
) -> None:
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    service = ingest("viafoura-notifications", sqs, url, clock)
    reads = cold(service, clock, failed_reads=1000)
    response = service.handle(notifications())
    assert response.status == 500
    assert len(reads) == 2  # botocore's two attempts, no read again: the vendor retries
    assert clock.now - start < VENDOR_TIMEOUT["viafoura-notifications"]


def fastcomments(event: str = "comment-created") -> Request:
    body = json.dumps({"id": "c-1", "urlId": "p", "comment": "hi", "date": "2026-11-29T12:00:00.000Z"}).encode()
    timestamp = str(int(time.time()))
    headers = {"x-fastcomments-signature": signature("tok", timestamp, body), "x-fastcomments-timestamp": timestamp}
    return Request("PUT", f"/webhooks/fastcomments/{event}", "", headers, body, {"event": event}, "r", 0)


@pytest.fixture
def botocore_waits_on(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeClock], None]:
    """botocore's own back-off between the attempts it makes, taken on the test's clock."""

    def use(clock: FakeClock) -> None:
        monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=clock.sleep))

    return use


def replay_table(service: IngestService, faults: list[Callable[[Any], Any]]) -> list[int]:
    """``service`` recording FastComments signatures in a table whose next PutItem attempts fail with ``faults``."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="replays",
        KeySchema=[{"AttributeName": "credential", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "credential", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # The table as the function's own wiring reaches it (its client made as in AWS, then forgotten).
    clients.reset()
    settings = IngestSettings(vendor="fastcomments", queue_url="q", secret_id="s", replay_table_name="replays")
    used = build_service(settings, Logger(service="test"), vendor_metrics("fastcomments")).used_credentials
    assert used is not None
    attempts: list[int] = []

    def hook(request: Any, **_: Any) -> Any:
        attempts.append(1)
        return faults.pop(0)(request) if faults else None

    used.dynamodb.meta.events.register_first("before-send.dynamodb.PutItem", hook)
    clients.reset()
    service.used_credentials = used
    return attempts


def replay_timeout(clock: FakeClock) -> Callable[[Any], Any]:
    def fault(request: Any) -> Any:
        clock.now += 0.5 + READ_TIMEOUT  # a connection that takes its whole connect time, then no answer
        raise ReadTimeoutError(endpoint_url=request.url)

    return fault


def test_a_cold_fastcomments_function_with_a_slow_replay_table_answers_500_inside_its_deadline(
    queue: tuple[Any, str], botocore_waits_on: Callable[[FakeClock], None]
) -> None:
    # Given a FastComments function that has not read its secret yet, Secrets Manager answering on its second
    # attempt, and a replay table that never answers
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    botocore_waits_on(clock)
    service = ingest("fastcomments", sqs, url, clock)
    cold(service, clock, failed_reads=1)
    replay_table(service, [replay_timeout(clock)] * 50)

    # When a signed delivery comes
    response = service.handle(fastcomments())

    # Then FastComments hears the 500 it retries before the function's deadline, not a Lambda time-out
    assert (response.status, response.body["error"]) == (500, "unavailable")
    assert clock.now - start <= vendor("fastcomments").contract().deadline_seconds
    assert depth(sqs, url)[0] == 0


def warm_fastcomments(
    sqs: Any, url: str, clock: FakeClock, botocore_waits_on: Callable[[FakeClock], None]
) -> IngestService:
    """A warm FastComments ingest service (its secret read) on ``clock``, botocore waiting on it too."""
    botocore_waits_on(clock)
    service = ingest("fastcomments", sqs, url, clock)
    service.secrets = Secrets(api_secret=True)  # type: ignore[assignment]
    service.sleep = clock.sleep
    return service


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        # DynamoDB's throttle at the account's throughput (an on-demand table's too), which botocore's standard
        # retry mode takes for throttling
        "RequestLimitExceeded",
    ],
)
def test_a_throttled_replay_table_is_tried_again_and_the_delivery_taken_inside_the_deadline(
    queue: tuple[Any, str], botocore_waits_on: Callable[[FakeClock], None], code: str
) -> None:
    # Given a FastComments delivery whose replay-table write is throttled twice
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    service = warm_fastcomments(sqs, url, clock, botocore_waits_on)

    def throttled_write(request: Any) -> Any:
        raise _client_error(code, 400)

    attempts = replay_table(service, [throttled_write, throttled_write])

    # When it is delivered, then the write is tried again and the delivery taken, inside the deadline
    response = service.handle(fastcomments())
    assert response.status == 200
    assert len(attempts) == 3
    assert depth(sqs, url)[0] == 1
    assert clock.now - start <= vendor("fastcomments").contract().deadline_seconds


def test_a_replay_table_that_keeps_timing_out_leaves_the_queue_its_attempt(
    queue: tuple[Any, str], botocore_waits_on: Callable[[FakeClock], None]
) -> None:
    # Given a warm FastComments function whose replay table never answers
    sqs, url = queue
    clock = FakeClock()
    start = clock.now
    service = warm_fastcomments(sqs, url, clock, botocore_waits_on)
    attempts = replay_table(service, [replay_timeout(clock)] * 50)

    response = service.handle(fastcomments())

    # Then the replay table is tried while a write to S3 and one to the queue would still fit after it, then 500
    assert response.status == 500
    assert attempts
    assert clock.now - start <= vendor("fastcomments").contract().deadline_seconds - 2 * (0.5 + READ_TIMEOUT)
