"""Firstup: one event per delivery, flat (``{id, timestamp, name, …}``) or in the older envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AliasChoices, Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party
from webhook_intake.consumer.normalizing import (
    ID_DIGITS,
    IdText,
    MappingError,
    VendorModel,
    VendorNormalizer,
    canonical_hash,
    validate_leniently,
)
from webhook_intake.ingest.contract import Verdict, judge_event, unusable
from webhook_intake.taxonomy import type_label
from webhook_intake.times import from_iso
from webhook_intake.vendors.firstup import SPEC
from webhook_intake.vendors.firstup.contract import LEGACY_NAME, current_form, older_envelope

if TYPE_CHECKING:
    from webhook_intake.consumer.splitting import Element
    from webhook_intake.delivery import Delivery

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
}
_REQUIRED = frozenset({SPEC.id_field, "name"})
"""``name`` is not required at the door: Firstup's ping is undocumented, and an id without a name may
be one. Taken (2xx) and quarantined here (:meth:`FirstupNormalizer.judge`), it is kept, and a
subscription's check never hears a 4xx."""

IdList = list[Annotated[str, ID_DIGITS]]


class UserRef(VendorModel):
    user_id: IdText = None


class Reference(VendorModel):
    """A ``deep_link`` or ``content_promotion``: what a campaign points at."""

    type: str | None = None
    resource_id: IdText = None


class PushMessage(VendorModel):
    name: str | None = None
    text: str | None = None
    locale: str | None = None
    deep_link: Reference | None = None


class NotificationDetails(VendorModel):
    """A user notification's category-specific ``details`` (the fields common to its categories)."""

    content_id: IdText = None
    post_id: IdText = None
    acting_user_id: IdText = None
    acting_user_ids: IdList = Field(default_factory=list)
    # The channel a push was published to, or the one a user was made to follow or contribute to.
    channel_id: IdText = None
    content_channel_id: IdText = None
    content_channel_name: str | None = None

    def channel(self) -> Container | None:
        """The channel the notification is about, as a channel event's container names it."""
        channel_id = self.content_channel_id or self.channel_id
        if not channel_id:
            return None
        return Container(id=channel_id, title=self.content_channel_name if self.content_channel_id else None)


class FirstupEvent(VendorModel):
    """The flat form; the older ``{event, timestamp, data}`` form is flattened into it first."""

    id: Annotated[str, ID_DIGITS]
    name: str
    version: str | None = None
    timestamp: str | None = None
    # The older envelope's page writes the post's id contentId, beside its title and url.
    content_id: IdText = Field(default=None, validation_alias=AliasChoices("content_id", "contentId"))
    title: str | None = None
    url: str | None = None
    channel_id: IdText = None
    channel_name: str | None = None
    channel_ids: IdList = Field(default_factory=list)
    recommended_channel_ids: IdList = Field(default_factory=list)
    campaign_id: IdText = None
    campaign_name: str | None = None
    push_message: PushMessage | None = None
    content_promotion: Reference | None = None
    notification_id: IdText = None
    user_id: IdText = None
    category: str | None = None
    label: str | None = None
    text: str | None = None
    acknowledged: bool | None = None
    details: NotificationDetails | None = None
    submitter: UserRef | None = None
    reviewer: UserRef | None = None
    auto_approved: bool | None = None


def _actor(event: FirstupEvent) -> Party | None:
    """Who acted: the reviewer of a review, else its submitter; the acting user of a notification."""
    if event.reviewer and event.reviewer.user_id:
        return Party(id=event.reviewer.user_id, role="reviewer")
    if event.submitter and event.submitter.user_id:
        return Party(id=event.submitter.user_id, role="submitter")
    details = event.details
    acting = (
        (details.acting_user_id or (details.acting_user_ids[0] if details.acting_user_ids else None))
        if details
        else None
    )
    return Party(id=acting, role="actor") if acting else None


def _content(event: FirstupEvent) -> Content | None:
    """The content post, notification or campaign an event is about (a channel event is about its channel)."""
    if event.notification_id:
        return Content(
            id=event.notification_id, type="notification", title=event.label or None, text=event.text or None
        )
    if event.campaign_id or event.push_message:
        push = event.push_message
        return Content(
            id=event.campaign_id, type="campaign", title=event.campaign_name, text=push.text if push else None
        )
    if event.content_id:
        # The submitter of a reviewed post is its author.
        author = event.submitter.user_id if event.submitter else None
        return Content(id=event.content_id, type="content", title=event.title, url=event.url, author_id=author)
    return None


def _details(event: FirstupEvent) -> dict[str, str | tuple[str, ...]]:
    """Vendor facts without a common field, all strings (docs/event-types.md, "Firstup")."""
    details: dict[str, str | tuple[str, ...]] = {}
    if event.channel_ids:
        details["channel_ids"] = tuple(event.channel_ids)
    if event.recommended_channel_ids:
        # A review's channels are recommended for a post not published yet: not the post's channels.
        details["recommended_channel_ids"] = tuple(event.recommended_channel_ids)
    if event.category:
        details["category"] = event.category
    if event.acknowledged is not None:
        details["acknowledged"] = str(event.acknowledged).lower()
    if event.auto_approved is not None:
        details["auto_approved"] = str(event.auto_approved).lower()
    if event.details:
        if event.details.acting_user_ids:
            details["acting_user_ids"] = tuple(event.details.acting_user_ids)
        if event.details.content_id:
            details["about_content_id"] = event.details.content_id
        if event.details.post_id:
            details["about_post_id"] = event.details.post_id
    details.update(_campaign_details(event))
    return details


def _campaign_details(event: FirstupEvent) -> dict[str, str]:
    """What a campaign pushes and promotes, and who submitted a reviewed post."""
    push = event.push_message
    details: dict[str, str] = {}
    for name, value in (
        ("push_name", push.name if push else None),
        ("locale", push.locale if push else None),
        ("deep_link_type", push.deep_link.type if push and push.deep_link else None),
        ("deep_link_resource_id", push.deep_link.resource_id if push and push.deep_link else None),
        ("promotion_type", event.content_promotion.type if event.content_promotion else None),
        ("promotion_resource_id", event.content_promotion.resource_id if event.content_promotion else None),
        ("submitter_id", event.submitter.user_id if event.submitter else None),
    ):
        if value:
            details[name] = value
    return details


NOTIFICATION_FIELDS = ("category", "acknowledged", "label", "text", "details")
"""What Firstup's created and updated user notifications carry beside their ids."""


def _documented_deletion(flat: dict[str, Any]) -> str | None:
    """``notification.deleted`` for the shape Firstup documents as ``user_notification_deleted``.

    Firstup's page shows that event's example named ``user_notification_created``, with ids
    only, where a created notification always has its category and the rest: a creation
    without any of them is that deletion, as the page means it.
    """
    if flat.get("name") == "user_notification_created" and not any(k in flat for k in NOTIFICATION_FIELDS):
        return TYPE_MAP["user_notification_deleted"]
    return None


class FirstupNormalizer(VendorNormalizer):
    """Keyed by ``<id>:<name>:<body hash>``: Firstup's own examples reuse one ``id`` across events.

    Event time: the event's ``timestamp``.
    """

    spec = SPEC
    type_map = TYPE_MAP

    def sent_type(self, event: dict[str, Any], delivery: Delivery) -> Any:
        # Its name in either envelope, as a stored event's (``content.published`` read as ``content_published``).
        return current_form(event, None).get("name")

    def judge(self, element: Element, delivery: Delivery) -> Verdict:
        sent = element.value
        # The field the event's name is read from: the older envelope names it ``event``.
        name_field = LEGACY_NAME if isinstance(sent, dict) and older_envelope(sent) else "name"
        value = current_form(sent, delivery.correlation_id) if isinstance(sent, dict) else sent
        verdict = judge_event(self.spec, element.index, value)
        if verdict.usable and isinstance(sent, dict):
            # No name, or one no text can be read from: what any vendor's event without a required field gets.
            # (A blank or numeric name has always been stored, as an ``other`` event: a redelivery stays a duplicate.)
            # The name as read: the older envelope's is None for any ``event`` no text is read from (blank, 1.5).
            name = value.get("name")
            if name is None or name == "" or isinstance(name, bool | list | dict):
                return Verdict(element.index, verdict.event_id, unusable(sent, name_field, "field"))
        return verdict

    def to_event(self, element: Element, document: Any, delivery: Delivery) -> NormalizedEvent:
        if not isinstance(element.value, dict):
            raise MappingError("event is not a JSON object")
        flat = current_form(element.value, delivery.correlation_id)
        event = validate_leniently(FirstupEvent, flat, _REQUIRED)
        channel_id = event.channel_id or (event.channel_ids[0] if event.channel_ids else None)
        container = Container(id=channel_id, title=event.channel_name) if channel_id else None
        if container is None and event.details is not None:
            container = event.details.channel()
        return self.event(
            element,
            delivery,
            model=event,
            event_id=f"{event.id}:{type_label(event.name)}:{canonical_hash(element.value)[:16]}",
            source_type=event.name,
            mapped_type=_documented_deletion(flat),
            vendor_time=from_iso(event.timestamp),
            time_present=flat.get("timestamp") is not None,
            actor=_actor(event),
            recipients=(Party(id=event.user_id, role="recipient"),) if event.user_id else (),
            content=_content(event),
            container=container,
            details=_details(event),
        )


NORMALIZER = FirstupNormalizer()
