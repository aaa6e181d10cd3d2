"""The consumer's calls to DynamoDB and S3, each attempt made only while it fits in the invocation's time.

botocore's retry modes count attempts, not time: its default time-outs (60 s to connect, 60 s to read) over
five attempts could outlast the function's timeout, and a Lambda timeout sends the whole batch back without
its outcomes or metrics. So the clients make one attempt a call with short time-outs (``CONSUMER_CONFIG``),
and a call is tried, its first attempt too, only while an attempt fits before the time the invocation keeps
back; what fails is retried as ingest retries before a vendor's deadline (``retry_within``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import error_code
from webhook_intake.ingest.queue import retry_within, retryable
from webhook_intake.store.table import ATTEMPT_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

MAX_ATTEMPTS = 5
"""Attempts a call gets at most, however much time is left (as many as botocore's standard mode made)."""


class OutOfTimeError(Exception):
    """The invocation is nearly out of time: the record goes back to the queue, its stored events stay."""


class InvocationAttempts:
    """Makes a call's attempts while each fits in the invocation's remaining time less what it keeps back."""

    def __init__(self) -> None:
        self._remaining_ms: Callable[[], int] | None = None
        self._kept_ms = 0

    def keep(self, remaining_ms: Callable[[], int] | None, kept_ms: int) -> None:
        """From now on an attempt must end with ``kept_ms`` of ``remaining_ms()`` left (none: no time is known)."""
        self._remaining_ms = remaining_ms
        self._kept_ms = kept_ms

    def _spent(self) -> float:
        """The invocation's clock, in seconds: what it has left, counted down."""
        return -self._remaining_ms() / 1000 if self._remaining_ms is not None else 0.0

    def __call__(self, call: Callable[[], T]) -> T:
        """``call()``, retried as botocore's standard mode would while attempts fit; :class:`OutOfTimeError` when
        not even the first does, or when another is due and does not fit (the last failure as botocore raised it
        when it is not worth another, or the attempts are spent).

        A failure that time alone leaves unretried is running out of time, not the store's: the rest of a delivery
        is sent from the event it stopped, where a store's failure hands the whole record back to be done again.
        """
        if self._remaining_ms is None:
            return retry_within(math.inf, call, budget=ATTEMPT_SECONDS, attempts=MAX_ATTEMPTS)
        deadline = -self._kept_ms / 1000
        if self._spent() + ATTEMPT_SECONDS > deadline:
            raise OutOfTimeError
        made = 0

        def attempt() -> T:
            nonlocal made
            made += 1
            return call()

        try:
            return retry_within(deadline, attempt, clock=self._spent, budget=ATTEMPT_SECONDS, attempts=MAX_ATTEMPTS)
        except (ClientError, BotoCoreError) as exc:
            if retryable(exc) and made < MAX_ATTEMPTS:
                raise OutOfTimeError(error_code(exc)) from exc
            raise

    def check(self) -> None:
        """:class:`OutOfTimeError` once only the time kept back is left: an answer still arriving then (a body S3
        sends slowly, each part within the read time-out) is given up, as an attempt that does not fit."""
        if self._remaining_ms is not None and self._remaining_ms() < self._kept_ms:
            raise OutOfTimeError
