"""The normalized event: one DynamoDB item per vendor event, whatever the vendor (docs/data-model.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_EVENT_ID_CHARS = 1024
"""An event id: a vendor's (the ingest function takes 512 characters at most), or one made of it
and more (FastComments', Firstup's). Keys hold one too long for them by its hash (store/schema.py)."""


def blank(value: Any) -> bool:
    """An empty string, or one of white space alone (as ``str.strip`` reads white space: ingest's rule for an id)."""
    return isinstance(value, str) and not value.strip()


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        """A vendor's empty string (``"parentId": ""``, ``"sso_user_id": ""``) says nothing: the field is absent.
        So does one of white space alone (``"content_uuid": "   "``): an event id so sent is no id at ingest, and
        a read by such an id takes it for an empty one, so, kept, it would name a comment no read finds.

        Not a text: a comment edited down to an image alone has the empty text, not the one before it. (One
        look at the part's values, not a validator per field: a part is made a few times an event.)
        """
        if isinstance(data, dict) and any(map(blank, data.values())):
            return {name: value for name, value in data.items() if name == "text" or not blank(value)}
        return data


class Party(_Part):
    """A person (or system actor) in an event: who acted, or who is told."""

    id: str | None = None
    name: str | None = None
    external_id: str | None = None
    role: str | None = None
    url: str | None = None
    """A profile URL, where the vendor sends one."""


class Content(_Part):
    """What was acted on: a comment, reply, post, article, broadcast or notification."""

    id: str | None = None
    type: str | None = None
    title: str | None = None
    text: str | None = None
    url: str | None = None
    image_urls: tuple[str, ...] = ()
    parent_id: str | None = None
    author_id: str | None = None
    created_at: str | None = None
    """When the content itself was made (a comment's creation), never the event's own time."""


class Container(_Part):
    """Where the content lives: an article, conversation, page or channel."""

    id: str | None = None
    title: str | None = None
    url: str | None = None


class Site(_Part):
    """The vendor-side site, section, domain or spot."""

    id: str | None = None
    name: str | None = None


TimeSource = Literal["vendor", "received"]


class NormalizedEvent(BaseModel):
    """One vendor event in the project's own terms (README, "The normalized event")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vendor: Annotated[str, Field(min_length=1)]
    event_id: Annotated[str, Field(min_length=1, max_length=MAX_EVENT_ID_CHARS)]
    """The event's identity within its vendor (docs/event-types.md, "Identity")."""
    event_type: Annotated[str, Field(min_length=1)]
    source_type: Annotated[str, Field(min_length=1)]
    occurred_at: Annotated[str, Field(description="when the event happened as best known, ISO-8601 UTC ms")]
    received_at: Annotated[str, Field(description="when the ingest function accepted the delivery")]
    index: Annotated[int, Field(ge=0)] = 0
    """Its place in its delivery's batch (0 for the first or only event): a batch lists events in order."""
    time_source: TimeSource = "vendor"
    """``vendor``: occurred_at is the vendor's event time; ``received``: it is received_at."""
    time_rejected: str | None = None
    """Why a vendor time in the payload was not trusted (``unreadable``, ``before_2000``, ``future``)."""
    actor: Party | None = None
    recipients: tuple[Party, ...] = ()
    content: Content | None = None
    container: Container | None = None
    site: Site | None = None
    details: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    """Vendor facts with no common field (a Firstup notification's category, a campaign's id...)."""
    test: bool = False
    """A vendor's test payload or a delivery marked as a test: stored, never read as a real event."""
    correlation_id: str | None = None
    delivery_id: str | None = None
    raw: bytes
    """The vendor's event object exactly as received (its bytes within the delivery body)."""
    dropped: tuple[str, ...] = ()
    """Vendor fields left out for their type (``author.id`` sent as an object): ``raw`` keeps them."""

    def raw_document(self) -> Any:
        """``raw`` parsed as JSON."""
        return json.loads(self.raw)
