"""The ingest function's environment, read and checked once at start-up.

A plain dataclass, not pydantic: the ingest path keeps to what boto3 already loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

# SQS takes 1 MiB per message, attributes included; a few KiB stay free for ours. A larger
# body goes through S3 (claim check), up to what a Lambda invocation takes (6 MB of event):
# API Gateway refuses a larger one before the function runs, so DEFAULT_MAX_BODY_BYTES (API
# Gateway's own 10 MB) guards only an invocation that does not come through it.
SQS_MAX_MESSAGE_BYTES = 1_048_576
ATTRIBUTE_ALLOWANCE_BYTES = 4_096
DEFAULT_INLINE_MAX_BYTES = SQS_MAX_MESSAGE_BYTES - ATTRIBUTE_ALLOWANCE_BYTES
DEFAULT_MAX_BODY_BYTES = 10 * 1_048_576
DEFAULT_SECRET_MAX_AGE = 300


class SettingsError(RuntimeError):
    """The function's environment is incomplete or wrong: fail at start-up, loudly."""


def required(env: Mapping[str, str], name: str) -> str:
    """A variable that must be set and not blank."""
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is required")
    return value


def integer(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """An optional integer variable with a lower bound."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be an integer, got {text!r}") from None
    if value < minimum:
        raise SettingsError(f"environment variable {name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """What an ingest function is configured with (see template.yaml)."""

    vendor: str
    queue_url: str
    secret_id: str
    payload_bucket: str | None = None
    replay_table_name: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES
    secret_max_age: int = DEFAULT_SECRET_MAX_AGE
    retention_days: int = 0
    """The stack's ``RetentionDays``: a body sent through S3 is tagged to expire with its events (0: never)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IngestSettings:
        """Read ``VENDOR``, ``QUEUE_URL``, ``SECRET_ID``; optional ``PAYLOAD_BUCKET``, ``REPLAY_TABLE_NAME``,
        ``RETENTION_DAYS``, limits."""
        env = os.environ if env is None else env
        return cls(
            vendor=required(env, "VENDOR"),
            queue_url=required(env, "QUEUE_URL"),
            secret_id=required(env, "SECRET_ID"),
            payload_bucket=env.get("PAYLOAD_BUCKET", "").strip() or None,
            replay_table_name=env.get("REPLAY_TABLE_NAME", "").strip() or None,
            max_body_bytes=integer(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1),
            inline_max_bytes=integer(env, "INLINE_MAX_BYTES", DEFAULT_INLINE_MAX_BYTES, 1),
            secret_max_age=integer(env, "SECRET_MAX_AGE_SECONDS", DEFAULT_SECRET_MAX_AGE, 0),
            retention_days=integer(env, "RETENTION_DAYS", 0, 0),
        )
