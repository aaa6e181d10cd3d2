"""Vendor secrets from AWS Secrets Manager: one ``GetSecretValue`` per ``max_age``, through the process's client."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import client, error_code

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from mypy_boto3_secretsmanager import SecretsManagerClient


# A read must end well inside the shortest vendor deadline (Viafoura notifications: 4 s):
# at worst two attempts of 0.5 s to connect and 0.75 s to read, with standard-mode backoff between.
SECRETS_CONFIG = Config(connect_timeout=0.5, read_timeout=0.75, retries={"total_max_attempts": 2, "mode": "standard"})
READ_BUDGET = 3.5
"""The longest one read through SECRETS_CONFIG can take: a caller reads again only if another fits its deadline."""


NO_VALUE = frozenset({"ResourceNotFoundException", "InvalidRequestException"})
"""Secrets Manager's answers for a secret that has no value to read: none set or no such secret, and one
deleted (kept, marked deleted, for its recovery window: GetSecretValue's only InvalidRequestException)."""


class SecretUnavailableError(RuntimeError):
    """The secret could not be read: the delivery must be answered 5xx so the vendor retries."""


class SecretValueError(SecretUnavailableError):
    """Secrets Manager answered, with a value that is no JSON object: reported as a secret problem, not an
    outage. The message names the secret, never the value. ``kept`` is the copy read before, which keeps
    authenticating as through an outage; without one the delivery is a 5xx (retried once the value is mended)."""

    def __init__(self, message: str, kept: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kept = kept
        self.reported = False
        """Set by a caller that has reported the value already (the copy kept in its place), so that one
        delivery that reads it twice (a forced read for a newer credential) reports it once."""


class SecretStore:
    """One vendor's secret (a JSON object), cached for ``max_age`` seconds.

    When Secrets Manager cannot be reached, the copy read before stays in use (each failed read
    logged) until a read succeeds: only a function that has read no copy yet, or a forced read, fails.

    A refused credential may be a new one the cache has not seen yet (a rotation in
    progress), so :meth:`refresh` fetches again, but at most once every
    ``refresh_interval`` seconds: probing the endpoint cannot turn into a flood of
    Secrets Manager calls.
    """

    def __init__(
        self,
        secret_id: str,
        max_age: int = 300,
        refresh_interval: float = 10.0,
        boto3_client: SecretsManagerClient | None = None,
        logger: Logger | None = None,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age
        self._refresh_interval = refresh_interval
        self._client = boto3_client
        self._logger = logger
        self._value: dict[str, Any] | None = None
        self._read_at = 0.0
        self._last_forced: float | None = None
        self._unset_since: float | None = None

    @property
    def client(self) -> SecretsManagerClient:
        """The injected client, else the process's (made on first use: a client of its own would build a
        boto3 session, a large part of an ingest cold start)."""
        if self._client is None:
            self._client = client("secretsmanager", SECRETS_CONFIG)
        return self._client

    def get(self, force: bool = False) -> dict[str, Any]:
        """The secret's JSON object (empty while it has no value); raises :class:`SecretUnavailableError`."""
        now = time.monotonic()
        if not force and self._unset_since is not None and now - self._unset_since < self._max_age:
            return {}
        if not force and self._value is not None and now - self._read_at < self._max_age:
            return self._value
        try:
            answer = self.client.get_secret_value(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in NO_VALUE:
                # Created without a value (the template does), not created, or deleted: nothing to retry
                # for, and no copy read before stands for it. Empty, so deliveries are refused in the
                # vendor's terms and the secret's problems (SecretProblems) say what to set; looked up
                # again after max_age.
                self._value, self._unset_since = None, now
                return {}
            if not force and self._value is not None:
                # The copy read before keeps authenticating while Secrets Manager cannot be reached: Viafoura
                # engagement never sends an event again, so a 5xx would lose it. Tried again after
                # refresh_interval, so that deliveries do not each wait for a read that times out.
                self._read_again_soon(now)
                if self._logger is not None:
                    self._logger.warning(
                        "secret unavailable, the copy read before is used",
                        extra={"secret_id": self._secret_id, "error": error_code(exc)},
                    )
                return self._value
            # The message names the secret id and the AWS error, never the value.
            raise SecretUnavailableError(f"cannot read secret {self._secret_id}: {error_code(exc)}") from exc
        self._unset_since = None
        try:
            value = json.loads(answer.get("SecretString", answer.get("SecretBinary")))
        except (TypeError, ValueError, RecursionError):
            raise self._unusable("is not valid JSON", force, now) from None
        if not isinstance(value, dict):
            raise self._unusable("is not a JSON object", force, now)
        if self._max_age > 0:
            self._value, self._read_at = value, now
        return value

    def _unusable(self, why: str, force: bool, now: float) -> SecretValueError:
        """A value that is no JSON object (a bare token, a list). The object read before (if any) stays and, as
        through an outage, keeps authenticating: read again after refresh_interval, so that a mended value is
        taken within seconds and the problem is reported as often, not once a delivery."""
        kept = None if force else self._value
        if kept is not None:
            self._read_again_soon(now)
        return SecretValueError(f"secret {self._secret_id} {why}", kept)

    def _read_again_soon(self, now: float) -> None:
        """The copy read before stands in for a read that failed at ``now``: it is read again after
        refresh_interval, not max_age."""
        self._read_at = now - self._max_age + self._refresh_interval

    def refresh(self) -> dict[str, Any] | None:
        """A fresh copy when the rate limit allows one, else None."""
        now = time.monotonic()
        if self._last_forced is not None and now - self._last_forced < self._refresh_interval:
            return None
        self._last_forced = now
        return self.get(force=True)
