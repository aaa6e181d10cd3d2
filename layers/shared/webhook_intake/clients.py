"""boto3 clients made once per process, unless a caller injects its own."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from botocore.config import Config


@cache
def client(service: str, config: Config | None = None) -> Any:
    """A cached boto3 client for ``service``; region and endpoint come from the environment."""
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
