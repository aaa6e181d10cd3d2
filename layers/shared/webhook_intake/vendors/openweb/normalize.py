"""OpenWeb: one notification event per delivery, keyed by ``event_id``."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party, Site
from webhook_intake.consumer.normalizing import (
    ID_DIGITS,
    IdText,
    NameText,
    VendorModel,
    VendorNormalizer,
    validate_leniently,
)
from webhook_intake.times import from_epoch, iso_millis
from webhook_intake.vendors.openweb import SPEC

if TYPE_CHECKING:
    from webhook_intake.consumer.splitting import Element
    from webhook_intake.delivery import Delivery

# Other spellings of a type on OpenWeb's own page: its table of types has ``liked-messages``
# once, its client_secret_jwt configuration example registers ``replied-your-message``.
_SPELLINGS = {"liked-messages": "liked-message", "replied-your-message": "replied-message"}

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
TYPE_MAP.update({spelling: TYPE_MAP[usual] for spelling, usual in _SPELLINGS.items()})

# Which object names the one who acted, per event type (the recipient is always ``user``).
_ACTOR_FIELD = {
    "followee-commented": "followee",
    "liked-message": "liker",
    "replied-message": "replier",
    "user-followed": "follower",
    "user-mentioned": "mentioner",
}
# Who wrote the comment (or reply) an event is about, as the page describes each party: the liker
# liked "a message written by the notification recipient", an approval or a rejection is of "your
# message", the replier wrote the reply, the followee "commented or replied", the mentioner
# "mentioned the notification recipient within a comment".
_AUTHOR_FIELD = {
    "followee-commented": "followee",
    "liked-message": "user",
    "message-approved": "user",
    "message-auto-approved": "user",
    "message-rejected": "user",
    "replied-message": "replier",
    "user-mentioned": "mentioner",
}
# ``timestamp`` is "the time of the comment or reply": the event's own time only where posting
# that comment or reply is the event. A like, an approval or a mention of an older comment
# carries the comment's time, which is kept as content.created_at instead. The part posted is the first
# of these sent: a followee's reply ("commented or replied") comes beside the comment it answers, and is
# then the event's content.
_POSTED_WHEN = {"followee-commented": ("reply", "comment"), "replied-message": ("reply",)}
_ARTICLE_TIMED = frozenset({"topic-by-author", "topic-by-keyword"})
_REQUIRED = frozenset({SPEC.id_field, *SPEC.required})
# "A combination of the Spot ID and post ID": ``sp_<spot>_<post id>``, a spot id being ``sp_`` and letters and digits.
_SPOT_OF_CONVERSATION = re.compile(r"(sp_[0-9A-Za-z]+)_.")


class OpenWebUser(VendorModel):
    user_id: IdText = None
    sso_user_id: IdText = None
    user_name: NameText = None
    display_name: NameText = None
    registered: bool | None = None

    def party(self, role: str, url: str | None = None) -> Party:
        return Party(
            id=self.user_id,
            name=self.display_name or self.user_name,
            external_id=self.sso_user_id,
            role=role,
            url=url,
        )


class ContentPart(VendorModel):
    type: str | None = None
    text: str | None = None
    url: str | None = None


class OpenWebComment(VendorModel):
    comment_id: IdText = None
    type: str | None = None
    state: str | None = None
    content: list[ContentPart] = Field(default_factory=list)

    @field_validator("content", mode="before")
    @classmethod
    def _text_parts(cls, value: Any) -> Any:
        """A part sent as a plain string is a text part: OpenWeb's field table types ``content``
        as ``array[string]``, its examples as objects (``{type, text, url}``)."""
        if isinstance(value, list):
            return [{"type": "text", "text": part} if isinstance(part, str) else part for part in value]
        return value

    def text(self) -> str | None:
        """The comment's text parts, decoded: OpenWeb sends them HTML-encoded (``Tom &amp; Jerry``)."""
        texts = [html.unescape(part.text) for part in self.content if part.text]
        return "\n".join(texts) if texts else None

    def image_urls(self) -> tuple[str, ...]:
        return tuple(part.url for part in self.content if part.url)


class OpenWebEvent(VendorModel):
    """The fields OpenWeb documents across its event types."""

    event_id: Annotated[str, Field(min_length=1), ID_DIGITS]
    type: Annotated[str, Field(min_length=1)]
    channels: list[str] = Field(default_factory=list)
    action_link: str | None = None
    conversation_id: IdText = None
    conversation_title: str | None = None
    description: str | None = None
    timestamp: float | None = None
    keywords: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    user: OpenWebUser | None = None
    comment: OpenWebComment | None = None
    reply: OpenWebComment | None = None
    followee: OpenWebUser | None = None
    follower: OpenWebUser | None = None
    liker: OpenWebUser | None = None
    mentioner: OpenWebUser | None = None
    replier: OpenWebUser | None = None


def _usual(source_type: str) -> str:
    """The type as OpenWeb's page usually spells it."""
    return _SPELLINGS.get(source_type, source_type)


def _event_time(event: OpenWebEvent, raw: dict[str, Any]) -> tuple[Any, bool]:
    """The payload's time of the event itself, and whether the payload states one."""
    posted = _POSTED_WHEN.get(_usual(event.type))
    if posted is not None:
        part = next((raw[name] for name in posted if isinstance(raw.get(name), dict)), None)
        stated = part.get("timestamp") if part is not None else None
        return from_epoch(stated, 1), stated is not None
    if event.type in _ARTICLE_TIMED:
        stated = raw.get("timestamp")
        return from_epoch(stated, 1), stated is not None
    return None, False


def _created_at(raw: dict[str, Any], part: str) -> str | None:
    """The comment's (or reply's) own ``timestamp``, read as event times are (a boolean is no time)."""
    stated = raw.get(part)
    moment = from_epoch(stated.get("timestamp"), 1) if isinstance(stated, dict) else None
    return iso_millis(moment) if moment else None


class OpenWebNormalizer(VendorNormalizer):
    spec = SPEC
    type_map = TYPE_MAP

    def sent_type(self, event: dict[str, Any], delivery: Delivery) -> Any:
        return event.get("type")

    def to_event(self, element: Element, document: Any, delivery: Delivery) -> NormalizedEvent:
        event = validate_leniently(OpenWebEvent, element.value, _REQUIRED)
        actor_field = _ACTOR_FIELD.get(_usual(event.type))
        actor: OpenWebUser | None = getattr(event, actor_field) if actor_field else None
        vendor_time, present = _event_time(event, element.value)
        # A reply event is about the reply; the comment it answers (the recipient's own) is its parent,
        # even when the reply object is missing: the event then names no content of its own.
        replied = _usual(event.type) == "replied-message"
        acted_on = event.reply if replied else event.reply or event.comment
        parent = event.comment if acted_on is not event.comment else None
        content = None
        if acted_on is not None or parent is not None:
            part = acted_on if acted_on is not None else OpenWebComment()
            author_field = _AUTHOR_FIELD.get(_usual(event.type))
            author: OpenWebUser | None = getattr(event, author_field) if author_field else None
            content = Content(
                id=part.comment_id,
                type=part.type,
                text=part.text(),
                url=event.action_link,
                image_urls=part.image_urls(),
                parent_id=parent.comment_id if parent is not None else None,
                author_id=author.user_id if author is not None else None,
                created_at=_created_at(element.value, "comment" if acted_on is event.comment else "reply"),
            )
        elif event.type in _ARTICLE_TIMED:
            content = Content(
                type="article", title=event.conversation_title, text=event.description, url=event.action_link
            )
        container = None
        if event.conversation_id:
            container = Container(id=event.conversation_id, title=event.conversation_title, url=_article_url(event))
        details: dict[str, str | tuple[str, ...]] = {}
        if event.keywords:
            details["keywords"] = tuple(event.keywords)
        if event.authors:
            details["authors"] = tuple(event.authors)
        if event.channels:
            details["channels"] = tuple(event.channels)
        return self.event(
            element,
            delivery,
            model=event,
            event_id=event.event_id,
            source_type=event.type,
            vendor_time=vendor_time,
            time_present=present,
            # user-followed's action_link is the follower's profile, not an article.
            actor=actor.party("actor", event.action_link if event.type == "user-followed" else None) if actor else None,
            recipients=(event.user.party("recipient"),) if event.user else (),
            content=content,
            container=container,
            site=_spot(event.conversation_id),
            details=details,
        )


def _spot(conversation_id: str | None) -> Site | None:
    """The OpenWeb site (spot) a conversation belongs to: its id begins with the spot's."""
    matched = _SPOT_OF_CONVERSATION.match(conversation_id or "")
    return Site(id=matched.group(1)) if matched else None


def _article_url(event: OpenWebEvent) -> str | None:
    """The article's URL: the action link without the comment-highlighting query."""
    if not event.action_link or event.type == "user-followed":
        return None
    return event.action_link.split("?", 1)[0]


NORMALIZER = OpenWebNormalizer()
