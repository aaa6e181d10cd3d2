"""boto3 clients made once per process, unless a caller injects its own."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Short timeouts and a few standard-mode retries keep a slow AWS call inside the
# vendors' own response timeouts (Viafoura notifications waits 5 s, OpenWeb 10 s).
INGEST_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"total_max_attempts": 3, "mode": "standard"},
)


@cache
def client(service: str, config: Config | None = None) -> Any:
    """A cached boto3 client for ``service``; region and endpoint come from the environment."""
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
