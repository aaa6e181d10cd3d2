"""boto3 clients made once per process, from one session, unless a caller injects its own."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from botocore.config import Config


@cache
def session() -> boto3.session.Session:
    """The process's boto3 session: each new session loads botocore's data again (tens of ms)."""
    return boto3.session.Session()


@cache
def client(service: str, config: Config | None = None) -> Any:
    """A cached boto3 client for ``service``; region and endpoint come from the environment."""
    return session().client(service, config=config)  # type: ignore[call-overload]


def error_code(exc: Exception) -> str:
    """An AWS error's code (``ConditionalCheckFailedException``...), else the exception's class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


def retried(exc: ClientError) -> bool:
    """Whether botocore sent the request more than once: an earlier try may have been applied, its answer lost."""
    return bool(exc.response.get("ResponseMetadata", {}).get("RetryAttempts"))


def reset() -> None:
    """Forget every client and the session (after the environment changes: the local stack, tests)."""
    client.cache_clear()
    session.cache_clear()
