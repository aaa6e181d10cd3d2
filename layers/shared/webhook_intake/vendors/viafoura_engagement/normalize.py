"""Viafoura engagement: a batch of ``events`` (message_type + action) per delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party, Site
from webhook_intake.consumer.normalizing import (
    ID_DIGITS,
    IdText,
    VendorModel,
    VendorNormalizer,
    type_text,
    validate_leniently,
)
from webhook_intake.times import from_epoch
from webhook_intake.vendors.viafoura_engagement import SPEC

if TYPE_CHECKING:
    from webhook_intake.consumer.splitting import Element
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
_REQUIRED = frozenset({SPEC.id_field, *SPEC.required})


class EngagementEvent(VendorModel):
    """One element of ``events`` (fields from Viafoura's "Event fields" table)."""

    event_uuid: Annotated[str, Field(min_length=1), ID_DIGITS]
    message_type: Annotated[str, Field(min_length=1)]
    action: Annotated[str, Field(min_length=1)]
    time: float | None = None
    content_uuid: IdText = None
    actor_uuid: IdText = None
    author_uuid: IdText = None
    content_container_uuid: IdText = None
    section_uuid: IdText = None
    page_url: str | None = None


class EngagementNormalizer(VendorNormalizer):
    """Each event in the batch is its own normalized event, keyed by ``event_uuid``.

    Event time: the event's ``time`` (milliseconds), else the batch's ``time``.
    """

    spec = SPEC
    type_map = TYPE_MAP

    def sent_type(self, event: dict[str, Any], delivery: Delivery) -> Any:
        # ``message_type.action``, as a stored event's; the message type alone when the action is no text.
        message_type, action = type_text(event.get("message_type")), type_text(event.get("action"))
        return f"{message_type}.{action}" if message_type and action else message_type

    def to_event(self, element: Element, document: Any, delivery: Delivery) -> NormalizedEvent:
        event = validate_leniently(EngagementEvent, element.value, _REQUIRED)
        source_type = f"{event.message_type}.{event.action}"
        stated = element.own_or_batch("time", document)
        actor = Party(id=event.actor_uuid) if event.actor_uuid else None
        return self.event(
            element,
            delivery,
            model=event,
            event_id=event.event_uuid,
            source_type=source_type,
            vendor_time=from_epoch(stated, 1000),
            time_present=stated is not None,
            actor=actor,
            # Engagement events are not addressed to anyone: whose content it is stays its author.
            content=Content(id=event.content_uuid, type=event.message_type, author_id=event.author_uuid),
            container=Container(id=event.content_container_uuid, url=event.page_url or None),
            site=Site(id=event.section_uuid) if event.section_uuid else None,
        )


NORMALIZER = EngagementNormalizer()
