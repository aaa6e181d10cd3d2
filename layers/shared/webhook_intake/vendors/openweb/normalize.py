"""OpenWeb: one notification event per delivery, keyed by ``event_id``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party
from webhook_intake.consumer.normalizing import VendorModel, VendorNormalizer, delivery_fields, from_seconds

if TYPE_CHECKING:
    from webhook_intake.delivery import Delivery

TYPE_MAP = {
    "followee-commented": "followed_user.posted",
    "liked-message": "comment.liked",
    "message-approved": "comment.approved",
    "message-auto-approved": "comment.approved",
    "message-rejected": "comment.rejected",
    "replied-message": "reply.created",
    "topic-by-author": "followed_author.published",
    "topic-by-keyword": "followed_keyword.published",
    "user-followed": "user.followed",
    "user-mentioned": "user.mentioned",
}

# Which object names the one who acted, per event type (the recipient is always ``user``).
_ACTOR_FIELD = {
    "followee-commented": "followee",
    "liked-message": "liker",
    "replied-message": "replier",
    "user-followed": "follower",
    "user-mentioned": "mentioner",
}


class OpenWebUser(VendorModel):
    user_id: str | None = None
    sso_user_id: str | None = None
    user_name: str | None = None
    display_name: str | None = None
    registered: bool | None = None

    def party(self, role: str) -> Party:
        return Party(id=self.user_id, name=self.display_name or self.user_name, external_id=self.sso_user_id, role=role)


class ContentPart(VendorModel):
    type: str | None = None
    text: str | None = None
    url: str | None = None


class OpenWebComment(VendorModel):
    comment_id: str | None = None
    type: str | None = None
    state: str | None = None
    timestamp: float | None = None
    content: list[ContentPart] = Field(default_factory=list)

    def text(self) -> str | None:
        texts = [part.text for part in self.content if part.text]
        return "\n".join(texts) if texts else None


class OpenWebEvent(VendorModel):
    """The fields OpenWeb documents across its event types."""

    event_id: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1)]
    channels: list[str] = Field(default_factory=list)
    action_link: str | None = None
    conversation_id: str | None = None
    conversation_title: str | None = None
    description: str | None = None
    timestamp: float | None = None
    user: OpenWebUser | None = None
    comment: OpenWebComment | None = None
    reply: OpenWebComment | None = None
    followee: OpenWebUser | None = None
    follower: OpenWebUser | None = None
    liker: OpenWebUser | None = None
    mentioner: OpenWebUser | None = None
    replier: OpenWebUser | None = None


class OpenWebNormalizer(VendorNormalizer):
    vendor = "openweb"
    type_map = TYPE_MAP

    def to_event(self, item: dict[str, Any], document: Any, delivery: Delivery) -> NormalizedEvent:
        event = OpenWebEvent.model_validate(item)
        actor_field = _ACTOR_FIELD.get(event.type)
        actor: OpenWebUser | None = getattr(event, actor_field) if actor_field else None
        # A reply event is about the reply; the comment it answers is its parent.
        acted_on = event.reply or event.comment
        content = None
        if acted_on is not None:
            content = Content(
                id=acted_on.comment_id,
                type=acted_on.type,
                text=acted_on.text(),
                url=event.action_link,
                parent_id=event.comment.comment_id if event.reply and event.comment else None,
            )
        elif event.description or event.action_link:
            content = Content(type="article", text=event.description, url=event.action_link)
        container = None
        if event.conversation_id:
            container = Container(id=event.conversation_id, title=event.conversation_title, url=event.action_link)
        timestamp = acted_on.timestamp if acted_on and acted_on.timestamp else event.timestamp
        return NormalizedEvent(
            vendor=self.vendor,
            event_id=event.event_id,
            event_type=self.event_type(event.type),
            source_type=event.type,
            occurred_at=from_seconds(timestamp) or delivery.received_at,
            actor=actor.party("actor") if actor else None,
            recipients=[event.user.party("recipient")] if event.user else [],
            content=content,
            container=container,
            raw=item,
            **delivery_fields(delivery),
        )


NORMALIZER = OpenWebNormalizer()
