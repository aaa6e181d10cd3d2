"""Viafoura notifications: a batch of ``notifications``, each for specific recipients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party, Site
from webhook_intake.consumer.normalizing import ID_DIGITS, IdText, VendorModel, VendorNormalizer, validate_leniently
from webhook_intake.times import from_epoch
from webhook_intake.vendors.viafoura_notifications import SPEC

if TYPE_CHECKING:
    from webhook_intake.consumer.splitting import Element
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
_BROADCASTS = frozenset({"broadcast_site", "broadcast_topic"})
# Notification types whose content is always a reply; any other content is one when it targets another.
_REPLIES = frozenset({"reply", "reply_removed"})
# Who wrote the content, as the page describes each type: a like is of "another user's content" (its
# recipient's); a reply, and the new post a follower hears of, are the notification's user's.
_WRITTEN_BY_USER = frozenset({"reply", "subscribed_page_content", "subscribed_user_content"})
_REQUIRED = frozenset({SPEC.id_field, *SPEC.required})


class ViafouraId(VendorModel):
    uuid: IdText = None
    id: IdText = None


class ExternalId(VendorModel):
    provider: str | None = None
    id: IdText = None


def _external(external: ExternalId | None) -> str | None:
    """``<provider>:<id>`` (the id alone when the provider is not named)."""
    if external is None or not external.id:
        return None
    return f"{external.provider}:{external.id}" if external.provider else external.id


class User(VendorModel):
    name: str | None = None
    viafoura_id: ViafouraId | None = None
    external_id: ExternalId | None = None

    def party(self, role: str, url: str | None = None) -> Party:
        return Party(
            id=self.viafoura_id.uuid if self.viafoura_id else None,
            name=self.name,
            external_id=_external(self.external_id),
            role=role,
            url=url,
        )


class PayloadContent(VendorModel):
    uuid: IdText = None
    body: str | None = None


class Payload(VendorModel):
    url: str | None = None
    image_url: str | None = None
    title: str | None = None
    description: str | None = None
    topic_id: IdText = None
    content: PayloadContent | None = None
    target_content_uuid: IdText = None


class Notification(VendorModel):
    """One element of ``notifications``."""

    notification_type: Annotated[str, Field(min_length=1)]
    notification_uuid: Annotated[str, Field(min_length=1), ID_DIGITS]
    time: float | None = None
    section_uuid: IdText = None
    content_container_uuid: IdText = None
    user: User | None = None
    recipients: list[User] = Field(default_factory=list)
    payload: Payload = Field(default_factory=Payload)


def _author(note: Notification) -> str | None:
    """Who wrote the notification's content: the liked post's one recipient, else the user who posted it."""
    if note.notification_type == "like":
        writers = note.recipients
    elif note.notification_type in _WRITTEN_BY_USER:
        writers = [note.user] if note.user else []
    else:
        return None
    return writers[0].viafoura_id.uuid if len(writers) == 1 and writers[0].viafoura_id else None


def _content(note: Notification) -> Content | None:
    """What the notification is about: a comment or reply, a broadcast message, or nothing (a follow)."""
    payload = note.payload
    images = (payload.image_url,) if payload.image_url else ()
    if payload.content is not None:
        target = payload.target_content_uuid
        # A like names the liked comment as its own target; a reply names the comment it answers, and so
        # does the new post a follower hears of when that post is a reply.
        parent_id = target if target and target != payload.content.uuid else None
        return Content(
            id=payload.content.uuid,
            type="reply" if parent_id or note.notification_type in _REPLIES else "comment",
            text=payload.content.body,
            url=payload.url,
            image_urls=images,
            parent_id=parent_id,
            author_id=_author(note),
        )
    if note.notification_type in _BROADCASTS:
        return Content(
            type="broadcast", title=payload.title, text=payload.description, url=payload.url, image_urls=images
        )
    return None


class NotificationsNormalizer(VendorNormalizer):
    """Each notification is its own normalized event, keyed by ``notification_uuid``.

    Event time: the notification's ``time`` (milliseconds), else the batch's ``time``.
    """

    spec = SPEC
    type_map = TYPE_MAP

    def sent_type(self, event: dict[str, Any], delivery: Delivery) -> Any:
        return event.get("notification_type")

    def to_event(self, element: Element, document: Any, delivery: Delivery) -> NormalizedEvent:
        note = validate_leniently(Notification, element.value, _REQUIRED)
        stated = element.own_or_batch("time", document)
        follow = note.notification_type == "follow"
        container_id = note.content_container_uuid or note.payload.topic_id
        return self.event(
            element,
            delivery,
            model=note,
            event_id=note.notification_uuid,
            source_type=note.notification_type,
            vendor_time=from_epoch(stated, 1000),
            time_present=stated is not None,
            # A follow's URL is the follower's profile.
            actor=note.user.party("actor", note.payload.url if follow else None) if note.user else None,
            recipients=tuple(user.party("recipient") for user in note.recipients),
            content=_content(note),
            container=Container(id=container_id) if container_id else None,
            site=Site(id=note.section_uuid) if note.section_uuid else None,
            details={"topic_id": note.payload.topic_id} if note.payload.topic_id else {},
        )


NORMALIZER = NotificationsNormalizer()
