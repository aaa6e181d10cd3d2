"""boto3 clients made once per process, from one session, unless a caller injects its own."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.context import get_context
from botocore.exceptions import ClientError
from botocore.useragent import UserAgentString

if TYPE_CHECKING:
    from botocore.config import Config


@cache
def session() -> boto3.session.Session:
    """The process's boto3 session: each new session loads botocore's data again (tens of ms)."""
    return boto3.session.Session()


@cache
def client(service: str, config: Config | None = None) -> Any:
    """A cached boto3 client for ``service``; region and endpoint come from the environment."""
    return user_agent_built_once(session().client(service, config=config))  # type: ignore[call-overload]


_USER_AGENTS_KEPT = 32
"""User-Agent texts a client keeps, one per set of features its requests name (a handful in practice)."""


def user_agent_built_once(made: Any) -> Any:
    """``made``, building its User-Agent once per set of request features rather than twice a request.

    botocore assembles the header from some twenty parts, each checked character by character,
    when it serializes a request and again once the request is created: a fifth of a warm
    ``put_item``'s CPU. Every part is fixed for the client but the features the request names
    (``m/...``), so the text for one set of them, in botocore's own order, is the same each time.
    A botocore that builds it otherwise is left as it is.
    """
    creator = getattr(made, "_user_agent_creator", None)
    if type(creator) is not UserAgentString or not hasattr(creator, "_client_features"):
        return made
    build = creator.to_string
    built: dict[tuple[str, ...], str] = {}

    def to_string() -> str:
        context = get_context()
        # botocore's own union, so the key lists the features in the order its text does.
        features = tuple((creator._client_features or set()).union(context.features if context else set()))
        text = built.get(features)
        if text is None:
            text = build()
            if len(built) < _USER_AGENTS_KEPT:
                built[features] = text
        return text

    creator.to_string = to_string  # type: ignore[method-assign]
    return made


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
