"""FastComments: a ``WebhookComment`` per delivery; the event is the route's last path segment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party, Site
from webhook_intake.consumer.normalizing import (
    PoisonRecordError,
    VendorModel,
    VendorNormalizer,
    canonical_hash,
    delivery_fields,
    from_iso,
    from_seconds,
)
from webhook_intake.taxonomy import event_type
from webhook_intake.vendors.fastcomments.contract import EVENTS, TIMESTAMP_HEADER, timestamp_seconds

if TYPE_CHECKING:
    from webhook_intake.delivery import Delivery

TYPE_MAP = {
    "comment-created": "comment.created",
    "comment-updated": "comment.updated",
    "comment-deleted": "comment.deleted",
}
# FastComments has no reply events: a reply is a comment with a parentId.
_REPLY_TYPE_MAP = {source: mapped.replace("comment.", "reply.") for source, mapped in TYPE_MAP.items()}


class Mention(VendorModel):
    id: str | None = None
    tag: str | None = None


class WebhookComment(VendorModel):
    """FastComments' ``WebhookComment`` (a delete from the admin test page carries only ``id``)."""

    id: Annotated[str, Field(min_length=1)]
    url_id: str | None = Field(default=None, alias="urlId")
    url: str | None = None
    user_id: str | None = Field(default=None, alias="userId")
    commenter_name: str | None = Field(default=None, alias="commenterName")
    comment: str | None = None
    parent_id: str | None = Field(default=None, alias="parentId")
    date: str | None = None
    domain: str | None = None
    tenant_id: str | None = Field(default=None, alias="tenantId")
    mentions: list[Mention] | None = None


class FastCommentsNormalizer(VendorNormalizer):
    """No event id: ``<comment id>:<event>:<body hash>`` identifies one event (a retry has the same body)."""

    vendor = "fastcomments"
    type_map = TYPE_MAP

    def to_event(self, item: dict[str, Any], document: Any, delivery: Delivery) -> NormalizedEvent:
        source_type = delivery.path_parameters.get("event") or delivery.path.rsplit("/", 1)[-1]
        if source_type not in EVENTS:
            raise PoisonRecordError(f"unknown FastComments event {source_type!r}")
        comment = WebhookComment.model_validate(item)
        mapping = _REPLY_TYPE_MAP if comment.parent_id else TYPE_MAP
        signed_at = timestamp_seconds(delivery.headers.get(TIMESTAMP_HEADER, ""))
        # A create happens when the comment is dated; later events when FastComments signs them.
        occurred_at = (from_iso(comment.date) if source_type == "comment-created" else None) or (
            from_seconds(signed_at) if signed_at is not None else None
        )
        has_author = comment.user_id or comment.commenter_name
        has_site = comment.tenant_id or comment.domain
        return NormalizedEvent(
            vendor=self.vendor,
            event_id=f"{comment.id}:{source_type}:{canonical_hash(item)}",
            event_type=event_type(mapping, source_type),
            source_type=source_type,
            occurred_at=occurred_at or from_iso(comment.date) or delivery.received_at,
            actor=Party(id=comment.user_id, name=comment.commenter_name, role="author") if has_author else None,
            recipients=[Party(id=m.id, name=m.tag, role="mentioned") for m in comment.mentions or []],
            content=Content(
                id=comment.id,
                type="comment",
                text=comment.comment,
                url=comment.url,
                parent_id=comment.parent_id,
            ),
            container=Container(id=comment.url_id, url=comment.url) if comment.url_id else None,
            site=Site(id=comment.tenant_id or comment.domain, name=comment.domain) if has_site else None,
            raw=item,
            **delivery_fields(delivery),
        )


NORMALIZER = FastCommentsNormalizer()
