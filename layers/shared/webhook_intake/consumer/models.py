"""The normalized event: one DynamoDB item per vendor event, whatever the vendor."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Part):
    """A person (or system actor) in an event: who acted, or who is told."""

    id: str | None = None
    name: str | None = None
    external_id: str | None = None
    role: str | None = None


class Content(_Part):
    """What was acted on: a comment, reply, post, article or notification."""

    id: str | None = None
    type: str | None = None
    text: str | None = None
    url: str | None = None
    parent_id: str | None = None
    author_id: str | None = None


class Container(_Part):
    """Where the content lives: an article, conversation, page or channel."""

    id: str | None = None
    title: str | None = None
    url: str | None = None


class Site(_Part):
    """The vendor-side site, section, domain or spot."""

    id: str | None = None
    name: str | None = None


class NormalizedEvent(BaseModel):
    """One vendor event in the project's own terms (DESIGN.md, "Normalized event")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vendor: Annotated[str, Field(min_length=1)]
    event_id: Annotated[str, Field(min_length=1, max_length=512)]
    event_type: Annotated[str, Field(min_length=1)]
    source_type: Annotated[str, Field(min_length=1)]
    occurred_at: Annotated[str, Field(description="vendor event time, ISO-8601 UTC with milliseconds")]
    received_at: Annotated[str, Field(description="when the ingest function accepted the delivery")]
    actor: Party | None = None
    recipients: list[Party] = Field(default_factory=list)
    content: Content | None = None
    container: Container | None = None
    site: Site | None = None
    raw: dict[str, Any]
    correlation_id: str | None = None
    delivery_id: str | None = None
