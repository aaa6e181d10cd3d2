"""The consumer function's environment, validated once at start-up."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collections.abc import Mapping


class ConsumerSettings(BaseModel):
    """What a consumer function is configured with (see template.yaml)."""

    model_config = ConfigDict(frozen=True)

    vendor: Annotated[str, Field(min_length=1, alias="VENDOR")]
    table_name: Annotated[str, Field(min_length=1, alias="TABLE_NAME")]
    retention_days: Annotated[int, Field(ge=0, alias="RETENTION_DAYS")] = 0
    payload_bucket: Annotated[str | None, Field(alias="PAYLOAD_BUCKET")] = None
    max_receive_count: Annotated[int | None, Field(ge=1, alias="MAX_RECEIVE_COUNT")] = None
    """The queue's redrive setting: a record failing on this receive is about to be dead-lettered."""
    queue_url: Annotated[str | None, Field(alias="QUEUE_URL")] = None
    """The vendor's own queue: the rest of a delivery the consumer ran out of time for goes back on it."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ConsumerSettings:
        """Read ``VENDOR``, ``TABLE_NAME`` and the optional ``RETENTION_DAYS``, ``PAYLOAD_BUCKET``,
        ``MAX_RECEIVE_COUNT`` and ``QUEUE_URL``; a clear error if one is wrong."""
        env = os.environ if env is None else env
        names = ("VENDOR", "TABLE_NAME", "RETENTION_DAYS", "PAYLOAD_BUCKET", "MAX_RECEIVE_COUNT", "QUEUE_URL")
        return cls.model_validate({name: env[name] for name in names if env.get(name)})
