"""Vendor secrets from AWS Secrets Manager, through Powertools parameters with caching."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.config import Config
from botocore.exceptions import ClientError

from webhook_intake.clients import client

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


# A read must end well inside the shortest vendor deadline (Viafoura notifications: 4 s):
# at worst two attempts of 0.5 s to connect and 0.75 s to read, with standard-mode backoff between.
SECRETS_CONFIG = Config(connect_timeout=0.5, read_timeout=0.75, retries={"total_max_attempts": 2, "mode": "standard"})


class SecretUnavailableError(RuntimeError):
    """The secret could not be read: the delivery must be answered 5xx so the vendor retries."""


class SecretValueError(SecretUnavailableError):
    """Secrets Manager answered, with a value that is no JSON object: a 5xx too (retried once the value is
    mended), reported as a secret problem, not an outage. The message names the secret, never the value."""


class SecretStore:
    """One vendor's secret (a JSON object), cached for ``max_age`` seconds.

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
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age
        self._refresh_interval = refresh_interval
        self._boto3_client = boto3_client
        self._provider: SecretsProvider | None = None
        self._last_forced: float | None = None
        self._unset_since: float | None = None

    @property
    def provider(self) -> SecretsProvider:
        """Made on first use, with the process's shared client: a provider of its own would
        build a boto3 session at start-up, a large part of an ingest cold start."""
        if self._provider is None:
            self._provider = SecretsProvider(
                boto3_client=self._boto3_client or client("secretsmanager", SECRETS_CONFIG)
            )
        return self._provider

    def get(self, force: bool = False) -> dict[str, Any]:
        """The secret's JSON object (empty while it has no value); raises :class:`SecretUnavailableError`."""
        now = time.monotonic()
        if not force and self._unset_since is not None and now - self._unset_since < self._max_age:
            return {}
        provider = self.provider
        # Powertools' own cache key for this secret (its store is a plain dict): see below.
        key = provider._build_cache_key(name=self._secret_id, transform="json")
        kept = provider.store.get(key)
        try:
            value = provider.get(self._secret_id, max_age=self._max_age, transform="json", force_fetch=force)
        except TransformParameterError as exc:
            raise SecretValueError(f"secret {self._secret_id} is not valid JSON") from exc
        except GetParameterError as exc:
            if _has_no_value(exc):
                # Created without a value (the template does) or not created: nothing to retry
                # for. Empty, so deliveries are refused in the vendor's terms and the secret's
                # problems (SecretProblems) say what to set; looked up again after max_age.
                self._unset_since = now
                return {}
            # The message names the secret id and the AWS error, never the value.
            raise SecretUnavailableError(f"cannot read secret {self._secret_id}: {type(exc).__name__}") from exc
        self._unset_since = None
        if not isinstance(value, dict):
            # Valid JSON but no object (a list, a string): Powertools cached it for max_age, in place of
            # the object read before. Put that back (or nothing): valid credentials keep working, and the
            # next read fetches again, so a mended value is taken at once, as a malformed one would be.
            if kept is None:
                provider.store.pop(key, None)
            else:
                provider.store[key] = kept
            raise SecretValueError(f"secret {self._secret_id} is not a JSON object")
        return value

    def refresh(self) -> dict[str, Any] | None:
        """A fresh copy when the rate limit allows one, else None."""
        now = time.monotonic()
        if self._last_forced is not None and now - self._last_forced < self._refresh_interval:
            return None
        self._last_forced = now
        return self.get(force=True)


def _has_no_value(exc: Exception) -> bool:
    """Secrets Manager has no current value under this id (ResourceNotFoundException)."""
    cause = exc.__cause__ or exc.__context__  # Powertools raises its error inside the except, unchained
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
