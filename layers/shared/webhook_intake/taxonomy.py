"""The one event_type taxonomy every vendor maps into (documented in docs/event-types.md)."""

from __future__ import annotations

import hashlib
import re

OTHER = "other"
"""A vendor type with no mapping yet: stored all the same, with ``source_type`` as sent."""

EVENT_TYPES: dict[str, str] = {
    # Comments and replies
    "comment.created": "A comment was posted.",
    "comment.updated": "A comment was edited.",
    "comment.deleted": "A comment was deleted by its author or an admin.",
    "comment.approved": "A comment was approved or made visible by moderation.",
    "comment.rejected": "A comment was rejected, disabled or hidden by moderation.",
    "comment.flagged": "A comment was reported by a user.",
    "comment.spam": "A comment was marked as spam by moderation.",
    "comment.liked": "A comment was liked.",
    "comment.unliked": "A like on a comment was taken back.",
    "comment.disliked": "A comment was disliked.",
    "comment.undisliked": "A dislike on a comment was taken back.",
    "comment.pinned": "A comment was pinned to the top.",
    "comment.unpinned": "A comment was unpinned.",
    "comment.picked": "A comment was marked as an editor's pick.",
    "comment.unpicked": "The editor's-pick mark was removed from a comment.",
    "reply.created": "A reply to a comment was posted.",
    "reply.updated": "A reply was edited.",
    "reply.deleted": "A reply was deleted.",
    "reply.approved": "A reply was approved or made visible by moderation.",
    "reply.removed": "A reply was removed (notification feeds should drop it).",
    # Live chat
    "chat_message.created": "A chat message was posted.",
    "chat_message.approved": "A chat message was made visible by moderation.",
    "chat_message.liked": "A chat message was liked.",
    "chat_message.unliked": "A like on a chat message was taken back.",
    "chat_message.disliked": "A chat message was disliked.",
    "chat_message.undisliked": "A dislike on a chat message was taken back.",
    "chat_reply.created": "A reply to a chat message was posted.",
    "chat_reply.approved": "A chat reply was made visible by moderation.",
    # Live blogs
    "liveblog_post.created": "A live-blog post was created.",
    "liveblog_post.updated": "A live-blog post was edited.",
    "liveblog_post.rejected": "A live-blog post was disabled by an admin.",
    "liveblog_post.liked": "A live-blog post was liked.",
    "liveblog_post.unliked": "A like on a live-blog post was taken back.",
    "liveblog_post.disliked": "A live-blog post was disliked.",
    "liveblog_post.undisliked": "A dislike on a live-blog post was taken back.",
    "liveblog_post.picked": "A live-blog post was marked as an editor's pick.",
    "liveblog_post.unpicked": "The editor's-pick mark was removed from a live-blog post.",
    "liveblog_post.pinned": "A live-blog post was pinned to the top.",
    "liveblog_post.unpinned": "A live-blog post was unpinned.",
    # Users and follows
    "user.followed": "A user started following another user.",
    "user.mentioned": "A user was mentioned in a comment.",
    "followed_user.posted": "A user someone follows posted a comment or reply.",
    "followed_page.posted": "A page (container) someone follows received a new post or reply.",
    "followed_author.published": "An author someone follows published an article.",
    "followed_keyword.published": "A topic matching a followed keyword was published.",
    # Broadcasts and campaigns
    "broadcast.site": "A message broadcast to every user of a site.",
    "broadcast.topic": "A message broadcast to the subscribers of a topic.",
    "campaign.push_sent": "A push message or content-promotion campaign was sent.",
    # Publishing (Firstup content and channels)
    "content.published": "A content post was published.",
    "content.unpublished": "A content post was unpublished.",
    "content.updated": "A content post was updated.",
    "content.drafted": "A content post draft was created or saved.",
    "content.archived": "A content post was archived.",
    "content.deleted": "A content post was deleted.",
    "content.review_pending": "A content post awaits an admin's review.",
    "content.review_approved": "A content post's review was approved.",
    "content.review_rejected": "A content post's review was rejected.",
    "channel.created": "A channel (topic) was created.",
    "channel.published": "A channel was published.",
    "channel.updated": "A channel's details were updated.",
    "channel.archived": "A channel was archived.",
    "channel.unarchived": "A channel was unarchived.",
    # User notifications
    "notification.created": "A notification for a user was created.",
    "notification.updated": "A user notification was updated or acknowledged.",
    "notification.deleted": "A user notification was deleted.",
    OTHER: "A vendor type with no mapping yet; source_type says what it was.",
}


STATEFUL_SUBJECTS = frozenset({"comment", "reply", "chat_message", "chat_reply", "liveblog_post"})
"""Things with a current state (docs/data-model.md, "Current state"): comments and their kin."""
STATE_VERBS = frozenset({"created", "updated", "approved", "rejected", "spam", "deleted", "removed"})
"""What changes a comment's state. Reactions (likes, flags, pins, picks) are events on it, not changes to it."""
TOMBSTONES = frozenset({"comment.deleted", "reply.deleted", "reply.removed"})
"""Events after which the thing is gone, whatever arrives later."""
CREATIONS = frozenset(f"{subject}.created" for subject in STATEFUL_SUBJECTS)
"""Events before which the thing did not exist: never its state once anything else happened to it."""


def changes_state(event_type: str) -> bool:
    """Whether an event of this type changes the current state of what it is about."""
    subject, _, verb = event_type.partition(".")
    return subject in STATEFUL_SUBJECTS and verb in STATE_VERBS


def event_type(mapping: dict[str, str], source_type: str) -> str:
    """The normalized type of ``source_type``; ``other`` for what the mapping does not know."""
    return mapping.get(source_type, OTHER)


_TYPE_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def type_label(source_type: str) -> str:
    """A vendor type as logs, metric dimensions and keys may carry it.

    A name that looks like a type (letters, digits, ``_ . : -``, up to 64) is itself; anything
    else (a space, an ``@``: the field may hold whatever a vendor put there) becomes
    ``unreadable-<hash>``, never its text.
    """
    if _TYPE_NAME.fullmatch(source_type):
        return source_type
    digest = hashlib.sha256(source_type.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"unreadable-{digest}"
