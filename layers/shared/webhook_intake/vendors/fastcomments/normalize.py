"""FastComments: a ``WebhookComment`` per delivery; the event is the route's last path segment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party, Site
from webhook_intake.consumer.normalizing import (
    ID_DIGITS,
    IdText,
    MappingError,
    NameText,
    VendorModel,
    VendorNormalizer,
    canonical_hash,
    validate_leniently,
)
from webhook_intake.taxonomy import event_type
from webhook_intake.times import from_epoch, from_iso, iso_millis
from webhook_intake.vendors.fastcomments import SPEC, TIMESTAMP_HEADER
from webhook_intake.vendors.fastcomments.contract import EVENTS, timestamp_seconds

if TYPE_CHECKING:
    from webhook_intake.consumer.splitting import Element
    from webhook_intake.delivery import Delivery

TYPE_MAP = {
    "comment-created": "comment.created",
    "comment-updated": "comment.updated",
    "comment-deleted": "comment.deleted",
}
# FastComments has no reply events: a reply is a comment with a parentId.
_REPLY_TYPE_MAP = {source: mapped.replace("comment.", "reply.") for source, mapped in TYPE_MAP.items()}
_REQUIRED = frozenset({SPEC.id_field})
_ONE_SECOND = timedelta(seconds=1)
_ONE_MILLISECOND = timedelta(milliseconds=1)


class Mention(VendorModel):
    id: IdText = None
    tag: str | None = None


class WebhookComment(VendorModel):
    """FastComments' ``WebhookComment`` (a delete from the admin test page carries only ``id``)."""

    id: Annotated[str, Field(min_length=1), ID_DIGITS]
    url_id: IdText = Field(default=None, alias="urlId")
    url: str | None = None
    user_id: IdText = Field(default=None, alias="userId")
    commenter_name: NameText = Field(default=None, alias="commenterName")
    comment: str | None = None
    parent_id: IdText = Field(default=None, alias="parentId")
    date: str | None = None
    domain: str | None = None
    tenant_id: IdText = Field(default=None, alias="tenantId")
    avatar_src: str | None = Field(default=None, alias="avatarSrc")
    mentions: list[Mention] | None = None


def _within_the_signing_second(created: datetime | None, signed_at: datetime | None) -> bool:
    """The comment was created in the second the signing time reads (at or after its whole second)."""
    return created is not None and signed_at is not None and signed_at <= created < signed_at + _ONE_SECOND


def _route_event(delivery: Delivery) -> str | None:
    """The delivery's event: the route's, not the body's (its last path segment), when it is one of FastComments'
    own; else None."""
    source_type = delivery.path_parameters.get("event") or delivery.path.rsplit("/", 1)[-1]
    return source_type if source_type in EVENTS else None


class FastCommentsNormalizer(VendorNormalizer):
    """No event id: ``<comment id>:<event>:<body hash>`` identifies one event (a retry has the same body).

    Event time: for a create, the comment's ``date`` (its creation is the event); for an update
    or a delete, the time FastComments signed the delivery (a millisecond after the comment's
    ``date`` when that falls in the signing second); else the time we received it.
    """

    spec = SPEC
    type_map = TYPE_MAP

    def sent_type(self, event: dict[str, Any], delivery: Delivery) -> Any:
        return _route_event(delivery)

    def to_event(self, element: Element, document: Any, delivery: Delivery) -> NormalizedEvent:
        source_type = _route_event(delivery)
        if source_type is None:
            raise MappingError("the delivery's route names no FastComments event")
        comment = validate_leniently(WebhookComment, element.value, _REQUIRED)
        created = from_iso(comment.date)
        signed = timestamp_seconds(delivery.headers.get(TIMESTAMP_HEADER))
        signed_at = from_epoch(signed, 1) if signed is not None else None
        # A create is dated by the date it carries, read or not (one of another type is no time, and
        # the model has already left it out): the signing time never stands in for it.
        dated = source_type == "comment-created" and element.value.get("date") is not None
        stated = created if dated else signed_at
        if stated is signed_at and created is not None and _within_the_signing_second(created, signed_at):
            # Signed in whole seconds (S.000) in the second the comment was created (S.700): an
            # edit or a delete came after the creation it follows, so it is dated just after it
            # (S.701), and follows it whichever of the two is received first.
            stated = created + _ONE_MILLISECOND
        present = dated or signed is not None
        has_author = comment.user_id or comment.commenter_name
        has_site = comment.tenant_id or comment.domain
        return self.event(
            element,
            delivery,
            model=comment,
            event_id=f"{comment.id}:{source_type}:{canonical_hash(element.value)}",
            source_type=source_type,
            mapped_type=event_type(_REPLY_TYPE_MAP if comment.parent_id else TYPE_MAP, source_type),
            vendor_time=stated,
            time_present=present,
            # The admin page's "Send Test Payload" for deletes sends a body with the id alone.
            test=source_type == "comment-deleted" and set(element.value) == {"id"},
            actor=Party(id=comment.user_id, name=comment.commenter_name, role="author") if has_author else None,
            recipients=tuple(Party(id=m.id, name=m.tag, role="mentioned") for m in comment.mentions or []),
            content=Content(
                id=comment.id,
                type="reply" if comment.parent_id else "comment",
                text=comment.comment,
                url=comment.url,
                parent_id=comment.parent_id,
                author_id=comment.user_id,
                created_at=iso_millis(created) if created else None,
            ),
            container=Container(id=comment.url_id, url=comment.url) if comment.url_id else None,
            site=Site(id=comment.tenant_id or comment.domain, name=comment.domain) if has_site else None,
        )


NORMALIZER = FastCommentsNormalizer()
