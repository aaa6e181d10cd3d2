"""The ingest flow shared by every vendor: authenticate, check, enqueue, answer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from webhook_intake.delivery import Delivery, correlation_id_of, kept_headers
from webhook_intake.http import Response, error
from webhook_intake.ingest.contract import BYTE_ORDER_MARK, RejectedError, set_apart_out_of_range
from webhook_intake.ingest.queue import ATTEMPT_BUDGET, EnqueueError, backoff, retry_within, retryable
from webhook_intake.observability import (
    Metric,
    SecretCheck,
    count,
    count_by,
    refreshed,
    secret_misconfigured,
    secret_or_kept,
)
from webhook_intake.replay import ReplayedError, ReplayStoreError
from webhook_intake.secrets import READ_BUDGET, SecretUnavailableError, SecretValueError
from webhook_intake.text import TOO_DEEP, nests_deeper_than, read_json
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Logger, Metrics

    from webhook_intake.http import Request
    from webhook_intake.ingest.contract import Contract, Verdict
    from webhook_intake.ingest.queue import QueueSender
    from webhook_intake.replay import UsedCredentials
    from webhook_intake.secrets import SecretStore


MAX_ANSWER_BYTES = 5 * 1024 * 1024
"""A function's answer must stay under Lambda's 6 MB (over it, the invocation fails and the gateway
answers 500 for a delivery already queued): an answer that would be larger refuses the delivery."""
ANSWER_CHECKED_ABOVE = 100
"""An answer is measured for a batch of more events than this, or for a body over an eighth of the
limit: it echoes ids and the request's id, whole even when refused, and one byte of them escaped
twice (in the answer, then in the function's return) takes at most 7 (a control character)."""
AFTER_CREDENTIAL = 2 * ATTEMPT_BUDGET
"""What an authenticated delivery still needs before its deadline: an attempt at S3 (a body the queue
cannot carry) and one at the queue. The replay table is retried only while they fit after it."""


@dataclass
class IngestService:
    """One vendor's ingest path, with its collaborators injected."""

    contract: Contract
    secrets: SecretStore
    queue: QueueSender
    logger: Logger
    metrics: Metrics
    max_body_bytes: int
    used_credentials: UsedCredentials | None = None
    """Where single-use credentials are recorded; without it, none is checked for replays."""
    clock: Callable[[], float] = field(default=time.time)
    monotonic: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)
    _check_secret: SecretCheck = field(init=False, repr=False)
    """Reports each copy of the secret that cannot work, once."""

    def __post_init__(self) -> None:
        self._check_secret = SecretCheck(self.contract, self.metrics, self.logger)

    def handle(self, request: Request) -> Response:
        """Answer one delivery. A 2xx only once the raw body is on the queue (or it is a ping)."""
        deadline = self.monotonic() + self.contract.deadline_seconds
        correlation_id = correlation_id_of(self.contract.correlation_id(request))
        self.logger.set_correlation_id(correlation_id)
        try:
            self.contract.check_route(request)
            refused = self._credential_problem(request, deadline)
            if refused is not None:
                count(self.metrics, Metric.AUTH_FAILURES)
                self.logger.warning("delivery refused", extra={"reason": refused, "vendor": self.contract.vendor})
                return self.contract.refusal(request)
            ping = self.contract.is_bodiless_ping(request)
            if not ping:
                document, text = self._read_body(request)
                ping = self.contract.is_ping(document)
            if ping:
                count(self.metrics, Metric.PINGS)
                self.logger.info("ping answered", extra={"vendor": self.contract.vendor})
                return Response(self.contract.success_status, {"accepted": True, "ping": True})
            verdicts = self.contract.examine(request, document)
            answer = self.contract.accepted(request, document, verdicts)
            large = len(verdicts) > ANSWER_CHECKED_ABOVE or len(request.body) > MAX_ANSWER_BYTES // 8
            if large and len(json.dumps(answer.to_http_api())) > MAX_ANSWER_BYTES:
                raise RejectedError(
                    413,
                    "too_many_events",
                    f"the answer to {len(verdicts)} events would be over the 6 MB a function may return;"
                    " send fewer events in a delivery",
                )
        except RejectedError as rejected:
            return self.refused(rejected)
        except SecretUnavailableError as exc:
            if isinstance(exc, SecretValueError):
                # Secrets Manager is up; the value is wrong: the operator's to mend, as SecretProblems says.
                if not exc.reported:
                    secret_misconfigured(self.metrics, self.logger, self.contract.vendor, [str(exc)])
            else:
                self.logger.exception("secret unavailable", extra={"vendor": self.contract.vendor})
            return error(500, "unavailable", "temporarily unable to authenticate; retry later")
        except ReplayStoreError:
            self.logger.exception("replay table unavailable", extra={"vendor": self.contract.vendor})
            return error(500, "unavailable", "temporarily unable to check the signature; retry later")
        return self._enqueue(request, text, answer, verdicts=verdicts, correlation_id=correlation_id, deadline=deadline)

    def refused(self, rejected: RejectedError) -> Response:
        """The answer to a delivery refused before it is queued: counted by its reason and logged."""
        count_by(self.metrics, Metric.REJECTED, "reason", rejected.code)
        self.logger.warning(
            "delivery refused",
            extra={"reason": rejected.code, "vendor": self.contract.vendor, "status": rejected.status},
        )
        return error(rejected.status, rejected.code, rejected.message)

    def _credential_problem(self, request: Request, deadline: float) -> str | None:
        """Why the request's credential is refused (``auth``, ``replayed``), else None."""
        if not self._authenticated(request, deadline):
            return "auth"
        claim = self.contract.single_use(request)
        if claim is None or self.used_credentials is None:
            return None
        try:
            within = partial(retry_within, deadline - AFTER_CREDENTIAL, clock=self.monotonic, sleep=self.sleep)
            self.used_credentials.record(claim, self.clock(), within=within)
        except ReplayedError:
            return "replayed"
        return None

    def _authenticated(self, request: Request, deadline: float) -> bool:
        secret, value_reported = self._secret(deadline)
        read_now = self._check_secret(secret)
        now = self.clock()
        if self.contract.authenticate(request, secret, now):
            return True
        # The credential may be one added to the secret after our cached copy was read.
        fresh = refreshed(self.secrets, value_reported)
        if fresh is None:
            return False
        if read_now and fresh == secret:
            # The value this delivery has just read and checked: nothing new to authenticate with or report.
            self._check_secret.adopt(fresh)
            return False
        self._check_secret(fresh)
        return self.contract.authenticate(request, fresh, now)

    def _secret(self, deadline: float) -> tuple[dict[str, Any], bool]:
        """The secret, and whether its value was reported now (no JSON object: the copy read before stands in)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return secret_or_kept(self.secrets, self.metrics, self.logger, self.contract.vendor)
            except SecretValueError:
                raise  # no copy read before, and a value only the operator can mend: read again, it is the same
            except SecretUnavailableError as exc:
                # No copy read yet (a cold start) while Secrets Manager fails: read again while another read
                # fits before the deadline with room left for what follows: an attempt at the replay table
                # where signatures are recorded, then one at S3 and one at the queue (Viafoura engagement's
                # deadline leaves room for several reads).
                cause = exc.__cause__
                pause = backoff(attempt)
                after = AFTER_CREDENTIAL + (ATTEMPT_BUDGET if self.used_credentials is not None else 0)
                fits = self.monotonic() + pause + READ_BUDGET + after <= deadline
                if not (isinstance(cause, Exception) and retryable(cause) and fits):
                    raise
                self.logger.warning(
                    "secret unavailable, read again", extra={"vendor": self.contract.vendor, "attempt": attempt}
                )
                self.sleep(pause)

    def _read_body(self, request: Request) -> tuple[Any, str]:
        if len(request.body) > self.max_body_bytes or not self.queue.accepts(len(request.body)):
            raise RejectedError(
                413,
                "payload_too_large",
                f"body is {len(request.body)} bytes; the limit is {self.limit} bytes",
            )
        try:
            # A leading byte order mark is no part of the JSON text (RFC 8259 §8.1 lets a reader ignore
            # it): dropped, so the queue and the store hold the JSON the vendor meant.
            text = request.body.removeprefix(BYTE_ORDER_MARK).decode("utf-8")
        except UnicodeDecodeError:
            raise _unreadable(request, "body is not UTF-8") from None
        try:
            document, out_of_range = read_json(text)
        except json.JSONDecodeError:
            raise _unreadable(request, "body is not valid JSON") from None
        except RecursionError:
            raise RejectedError(400, "invalid_json", TOO_DEEP) from None
        if nests_deeper_than(text):
            raise RejectedError(400, "invalid_json", TOO_DEEP)
        if out_of_range:
            document = set_apart_out_of_range(self.contract.spec, document, text)
        return document, text

    @property
    def limit(self) -> int:
        """The largest body this route takes."""
        return self.max_body_bytes if self.queue.accepts(self.max_body_bytes) else self.queue.inline_max_bytes

    def _enqueue(
        self,
        request: Request,
        text: str,
        answer: Response,
        *,
        verdicts: list[Verdict],
        correlation_id: str,
        deadline: float,
    ) -> Response:
        delivery = Delivery(
            vendor=self.contract.vendor,
            received_at=iso_millis(datetime.fromtimestamp(self.clock(), UTC)),
            correlation_id=correlation_id,
            method=request.method,
            path=request.path,
            path_parameters=request.path_parameters,
            headers=kept_headers(self.contract.spec, request.headers),
        )
        try:
            message_id = self.queue.send(text, delivery, deadline)
        except EnqueueError:
            count(self.metrics, Metric.ENQUEUE_FAILURES)
            self.logger.exception("enqueue failed", extra={"vendor": self.contract.vendor})
            return error(500, "enqueue_failed", "the delivery was not accepted; retry later")
        refused = sum(1 for verdict in verdicts if not verdict.usable)
        if refused:
            # Kept on the queue with the delivery: the consumer quarantines them with their reason.
            count(self.metrics, Metric.EVENTS_REFUSED, refused)
        # Nothing printed for a plain accepted delivery: Lambda counts the function's invocations
        # (the dashboard's deliveries, the silence alarm), the consumer counts its events, and a
        # line or a metric each would cost log volume on every delivery. DEBUG shows them.
        self.logger.debug(
            "delivery accepted",
            extra={"vendor": self.contract.vendor, "message_id": message_id, "bytes": len(request.body)},
        )
        return answer


def _unreadable(request: Request, why: str) -> RejectedError:
    """A body that is no JSON text: said to be compressed when the request says so (nothing here
    decompresses), with the 400 the vendors document for a body sent wrong (HTTP's 415 is in no
    vendor's contract). A label alone refuses nothing: a JSON body is read whatever it claims."""
    if (request.header("content-encoding") or "identity").strip().lower() != "identity":
        return RejectedError(400, "unsupported_encoding", "body is compressed (content-encoding); send it uncompressed")
    return RejectedError(400, "invalid_json", why)
