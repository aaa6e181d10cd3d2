"""The ingest function's environment, read and checked once at start-up.

A plain dataclass, not pydantic: the ingest path keeps to what boto3 already loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

# SQS takes 1 MiB per message, attributes included; a few KiB stay free for ours.
SQS_MAX_MESSAGE_BYTES = 1_048_576
ATTRIBUTE_ALLOWANCE_BYTES = 4_096
DEFAULT_MAX_BODY_BYTES = SQS_MAX_MESSAGE_BYTES - ATTRIBUTE_ALLOWANCE_BYTES
DEFAULT_SECRET_MAX_AGE = 300


class SettingsError(RuntimeError):
    """The function's environment is incomplete or wrong: fail at start-up, loudly."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is required")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    secret_max_age: int = DEFAULT_SECRET_MAX_AGE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IngestSettings:
        """Read ``VENDOR``, ``QUEUE_URL``, ``SECRET_ID`` and the optional limits."""
        env = os.environ if env is None else env
        return cls(
            vendor=_required(env, "VENDOR"),
            queue_url=_required(env, "QUEUE_URL"),
            secret_id=_required(env, "SECRET_ID"),
            max_body_bytes=_integer(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1),
            secret_max_age=_integer(env, "SECRET_MAX_AGE_SECONDS", DEFAULT_SECRET_MAX_AGE, 0),
        )
