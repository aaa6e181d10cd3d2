"""Viafoura notifications: a batch of ``notifications``, each for specific recipients."""

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

TYPE_MAP = {
    "broadcast_site": "broadcast.site",
    "broadcast_topic": "broadcast.topic",
    "follow": "user.followed",
    "like": "comment.liked",
    "reply": "reply.created",
    "reply_removed": "reply.removed",
    "subscribed_page_content": "followed_page.posted",
    "subscribed_user_content": "followed_user.posted",
}


class ViafouraId(VendorModel):
    uuid: str | None = None
    id: str | None = None


class ExternalId(VendorModel):
    provider: str | None = None
    id: str | None = None


class User(VendorModel):
    name: str | None = None
    viafoura_id: ViafouraId | None = None
    external_id: ExternalId | None = None

    def party(self, role: str | None = None) -> Party:
        external = self.external_id
        return Party(
            id=self.viafoura_id.uuid if self.viafoura_id else None,
            name=self.name,
            external_id=f"{external.provider}:{external.id}" if external and external.id else None,
            role=role,
        )


class PayloadContent(VendorModel):
    uuid: str | None = None
    body: str | None = None


class Payload(VendorModel):
    url: str | None = None
    image_url: str | None = None
    title: str | None = None
    description: str | None = None
    topic_id: str | None = None
    content: PayloadContent | None = None
    target_content_uuid: str | None = None


class Notification(VendorModel):
    """One element of ``notifications``."""

    notification_type: Annotated[str, Field(min_length=1)]
    notification_uuid: Annotated[str, Field(min_length=1)]
    time: float | None = None
    section_uuid: str | None = None
    content_container_uuid: str | None = None
    user: User | None = None
    recipients: list[User] = Field(default_factory=list)
    payload: Payload = Field(default_factory=Payload)


class NotificationsNormalizer(VendorNormalizer):
    """Each notification is its own normalized event, keyed by ``notification_uuid``."""

    vendor = "viafoura-notifications"
    type_map = TYPE_MAP

    def split(self, document: Any) -> list[dict[str, Any]]:
        items = document.get("notifications") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise PoisonRecordError("body has no 'notifications' array")
        return [item if isinstance(item, dict) else {"_not_an_object": item} for item in items]

    def to_event(self, item: dict[str, Any], document: Any, delivery: Delivery) -> NormalizedEvent:
        note = Notification.model_validate(item)
        payload = note.payload
        if payload.content is not None:
            content = Content(
                id=payload.content.uuid,
                type="comment",
                text=payload.content.body,
                url=payload.url,
                parent_id=payload.target_content_uuid,
            )
        else:
            content = Content(id=payload.topic_id, type="broadcast", text=payload.description, url=payload.url)
        return NormalizedEvent(
            vendor=self.vendor,
            event_id=note.notification_uuid,
            event_type=self.event_type(note.notification_type),
            source_type=note.notification_type,
            occurred_at=from_millis(note.time) or from_millis(document.get("time")) or delivery.received_at,
            actor=note.user.party() if note.user else None,
            recipients=[user.party("recipient") for user in note.recipients],
            content=content,
            container=Container(id=note.content_container_uuid, title=payload.title, url=payload.url),
            site=Site(id=note.section_uuid) if note.section_uuid else None,
            raw=item,
            **delivery_fields(delivery),
        )


NORMALIZER = NotificationsNormalizer()
