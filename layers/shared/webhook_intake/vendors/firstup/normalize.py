"""Firstup: one event per delivery, flat (``{id, timestamp, name, …}``) or in the older envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party
from webhook_intake.consumer.normalizing import (
    VendorModel,
    VendorNormalizer,
    canonical_hash,
    delivery_fields,
    from_iso,
)

if TYPE_CHECKING:
    from webhook_intake.delivery import Delivery

PING = "ping"

TYPE_MAP = {
    "campaign_push_message_sent": "campaign.push_sent",
    "channel_archived": "channel.archived",
    "channel_unarchived": "channel.unarchived",
    "channel_created": "channel.created",
    "channel_published": "channel.published",
    "channel_updated": "channel.updated",
    "content_archived": "content.archived",
    "content_deleted": "content.deleted",
    "content_drafted": "content.drafted",
    "content_published": "content.published",
    "content_review_approved": "content.review_approved",
    "content_review_pending": "content.review_pending",
    "content_review_rejected": "content.review_rejected",
    "content_unpublished": "content.unpublished",
    "content_updated": "content.updated",
    "user_notification_created": "notification.created",
    "user_notification_updated": "notification.updated",
    "user_notification_deleted": "notification.deleted",
    PING: "webhook.ping",
}


class FirstupUserRef(VendorModel):
    user_id: str | None = None


class FirstupEvent(VendorModel):
    """The flat form; the older ``{event, timestamp, data}`` form is flattened into it first."""

    id: str | None = None
    name: str | None = None
    version: str | None = None
    timestamp: str | None = None
    content_id: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    channel_ids: list[str] = Field(default_factory=list)
    campaign_id: str | None = None
    campaign_name: str | None = None
    notification_id: str | None = None
    user_id: str | None = None
    category: str | None = None
    submitter: FirstupUserRef | None = None
    reviewer: FirstupUserRef | None = None


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    """The older envelope (dotted ``event`` name, fields under ``data``) in the current flat form."""
    if "name" in item or "event" not in item:
        return item
    data = item.get("data")
    if not isinstance(data, dict):
        data = {}
    return {
        **data,
        **{k: v for k, v in item.items() if k != "data"},
        "name": str(item["event"]).replace(".", "_"),
    }


def _content(event: FirstupEvent) -> Content | None:
    """The content post, notification or campaign an event is about."""
    for content_type, content_id in (
        ("content", event.content_id),
        ("notification", event.notification_id),
        ("campaign", event.campaign_id),
    ):
        if content_id:
            return Content(id=content_id, type=content_type)
    return None


class FirstupNormalizer(VendorNormalizer):
    """Keyed by the event ``id``; the delivery id (``x-socialchorus-delivery``) is kept too."""

    vendor = "firstup"
    type_map = TYPE_MAP

    def to_event(self, item: dict[str, Any], document: Any, delivery: Delivery) -> NormalizedEvent:
        event = FirstupEvent.model_validate(_flatten(item))
        # An object without an event name is a subscription ping (its shape is not documented).
        source_type = event.name or PING
        event_id = event.id or delivery.delivery_id or canonical_hash(item)
        content = _content(event)
        channel_id = event.channel_id or (event.channel_ids[0] if event.channel_ids else None)
        actor_ref = event.reviewer or event.submitter
        actor = None
        if actor_ref and actor_ref.user_id:
            actor = Party(id=actor_ref.user_id, role="reviewer" if event.reviewer else "submitter")
        return NormalizedEvent(
            vendor=self.vendor,
            event_id=event_id,
            event_type=self.event_type(source_type),
            source_type=source_type,
            occurred_at=from_iso(event.timestamp) or delivery.received_at,
            actor=actor,
            recipients=[Party(id=event.user_id, role="recipient")] if event.user_id else [],
            content=content,
            container=Container(id=channel_id, title=event.channel_name) if channel_id else None,
            raw=item,
            **delivery_fields(delivery),
        )


NORMALIZER = FirstupNormalizer()
