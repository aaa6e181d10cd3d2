"""Viafoura engagement: a batch of ``events`` (message_type + action) per delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party, Site
from webhook_intake.consumer.normalizing import (
    PoisonRecordError,
    VendorModel,
    VendorNormalizer,
    delivery_fields,
    from_millis,
)

if TYPE_CHECKING:
    from webhook_intake.delivery import Delivery

_ACTIONS = {
    "livecomment_post": (
        "comment",
        {
            "created": "created", "visible": "approved", "disabled": "rejected", "updated": "updated",
            "liked": "liked", "unliked": "unliked", "disliked": "disliked", "undisliked": "undisliked",
            "flagged": "flagged", "spammed": "spam", "pinned": "pinned", "unpinned": "unpinned",
            "picked": "picked", "unpicked": "unpicked",
        },
    ),
    "reply_to_livecomment_post": ("reply", {"created": "created", "visible": "approved"}),
    "chat_message": (
        "chat_message",
        {
            "created": "created", "visible": "approved", "liked": "liked", "unliked": "unliked",
            "disliked": "disliked", "undisliked": "undisliked",
        },
    ),
    "reply_to_chat_message": ("chat_reply", {"created": "created", "visible": "approved"}),
    "liveblog_post": (
        "liveblog_post",
        {
            "created": "created", "disabled": "rejected", "updated": "updated", "liked": "liked",
            "unliked": "unliked", "disliked": "disliked", "undisliked": "undisliked", "picked": "picked",
            "unpicked": "unpicked", "pinned": "pinned", "unpinned": "unpinned",
        },
    ),
}  # fmt: skip

TYPE_MAP = {
    f"{message_type}.{action}": f"{subject}.{verb}"
    for message_type, (subject, actions) in _ACTIONS.items()
    for action, verb in actions.items()
}


class EngagementEvent(VendorModel):
    """One element of ``events`` (fields from Viafoura's "Event fields" table)."""

    event_uuid: Annotated[str, Field(min_length=1)]
    message_type: Annotated[str, Field(min_length=1)]
    action: Annotated[str, Field(min_length=1)]
    time: float | None = None
    content_uuid: str | None = None
    actor_uuid: str | None = None
    author_uuid: str | None = None
    content_container_uuid: str | None = None
    section_uuid: str | None = None
    page_url: str | None = None


class EngagementNormalizer(VendorNormalizer):
    """Each event in the batch is its own normalized event, keyed by ``event_uuid``."""

    vendor = "viafoura-engagement"
    type_map = TYPE_MAP

    def split(self, document: Any) -> list[dict[str, Any]]:
        events = document.get("events") if isinstance(document, dict) else None
        if not isinstance(events, list):
            raise PoisonRecordError("body has no 'events' array")
        return [event if isinstance(event, dict) else {"_not_an_object": event} for event in events]

    def to_event(self, item: dict[str, Any], document: Any, delivery: Delivery) -> NormalizedEvent:
        event = EngagementEvent.model_validate(item)
        source_type = f"{event.message_type}.{event.action}"
        actor = Party(id=event.actor_uuid) if event.actor_uuid else None
        author = Party(id=event.author_uuid, role="author") if event.author_uuid else None
        return NormalizedEvent(
            vendor=self.vendor,
            event_id=event.event_uuid,
            event_type=self.event_type(source_type),
            source_type=source_type,
            occurred_at=from_millis(event.time) or from_millis(document.get("time")) or delivery.received_at,
            actor=actor,
            # The author is who an interaction is about (whose comment was liked, replied to...).
            recipients=[author] if author and author.id != event.actor_uuid else [],
            content=Content(
                id=event.content_uuid,
                type=event.message_type,
                url=event.page_url or None,
                author_id=event.author_uuid,
            ),
            container=Container(id=event.content_container_uuid, url=event.page_url or None),
            site=Site(id=event.section_uuid) if event.section_uuid else None,
            raw=item,
            **delivery_fields(delivery),
        )


NORMALIZER = EngagementNormalizer()
