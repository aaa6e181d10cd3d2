"""Deliveries generated from each vendor's documented schema, for the property tests beside this module.

Every documented event type, optional fields present or absent, ids as strings or numbers where the
vendor allows, text with any Unicode (a lone surrogate included, as JSON escapes it), every time form
the vendor documents, and Viafoura batches of 1-50 events mixing good and bad ones. A generated event
carries what a reader of the vendor's docs expects of it: its identity, its normalized type, its time.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from tests.helpers import documented_types

if TYPE_CHECKING:
    import random

# A time inside the trusted range (2000 to now), in milliseconds since the epoch.
EARLIEST_MS = 946_684_800_000
LATEST_MS = 1_790_000_000_000  # 2026-09: before any run of these tests

# Each vendor's types as docs/event-types.md documents them (the code's maps are held to the same tables).
DOCUMENTED = documented_types()


def _by_message_type(types: dict[str, str]) -> dict[str, dict[str, str]]:
    """``message_type.action`` -> event type, as message type -> action -> event type."""
    nested: dict[str, dict[str, str]] = {}
    for spelled, event_type in types.items():
        message_type, action = spelled.split(".", 1)
        nested.setdefault(message_type, {})[action] = event_type
    return nested


ENGAGEMENT_TYPES = _by_message_type(DOCUMENTED["viafoura-engagement"])
"""Viafoura's "Event triggers" table, message type -> action -> the type docs/event-types.md names."""
NOTIFICATION_TYPES = DOCUMENTED["viafoura-notifications"]
OPENWEB_TYPES = DOCUMENTED["openweb"]
"""OpenWeb's types, the other spellings on its own page too (its table of types, its configuration example)."""
OPENWEB_USUAL = {"liked-messages": "liked-message", "replied-your-message": "replied-message"}
FIRSTUP_TYPES = DOCUMENTED["firstup"]
FASTCOMMENTS_EVENTS = tuple(DOCUMENTED["fastcomments"])

lone_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
any_text = st.text(max_size=40) | st.builds(lambda a, b: a + b, st.text(max_size=8), lone_surrogate)
"""Any Unicode a JSON string can carry (a lone surrogate only as the escape JSON writes for it)."""
some_text = st.builds(lambda first, rest: first + rest, st.characters(exclude_categories=["Zs", "Cc", "Cs"]), any_text)
"""Text with something in it besides white space (what an id needs)."""
uuids = st.uuids().map(str)
id_like = uuids | st.integers(min_value=0, max_value=2**53) | some_text


def iso(moment: datetime) -> str:
    """``2026-07-02T10:03:51.742Z``: the event log's own form."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@st.composite
def epoch_ms(draw: st.DrawFn) -> int | float:
    """A trusted time in milliseconds, whole or with a fraction."""
    value = draw(st.integers(min_value=EARLIEST_MS, max_value=LATEST_MS))
    return value + 0.5 if draw(st.booleans()) else value


@st.composite
def iso_times(draw: st.DrawFn) -> tuple[str, datetime]:
    """A trusted time written the ways an ISO-8601 date is: Z or an offset, with or without a fraction."""
    moment = datetime.fromtimestamp(draw(st.integers(EARLIEST_MS, LATEST_MS)) / 1000, UTC)
    offset = draw(st.sampled_from([None, 0, 60, -300, 330, 765]))
    fraction = draw(st.sampled_from(["", ".%f", "ms"]))
    if offset is None:
        shown = moment
        suffix = "Z"
    else:
        shown = moment.astimezone(timezone(timedelta(minutes=offset)))
        suffix = ""
    text = shown.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction == ".%f":
        text += shown.strftime(".%f")
    elif fraction == "ms":
        text += f".{shown.microsecond // 1000:03d}"
    else:
        moment = moment.replace(microsecond=0)
    text += suffix if offset is None else shown.strftime("%z")[:3] + ":" + shown.strftime("%z")[3:]
    return text, moment


@dataclass
class Expected:
    """What an accepted event must become."""

    vendor: str
    event_id: str
    event_type: str
    document: Any
    occurred: datetime | None = None
    """The vendor's (trusted) time of the event; None: the receive time."""
    content_id: str | None = None
    sent_id: str = ""
    """The id as the vendor sent it (a Viafoura engagement answer names each event by it)."""


@dataclass
class Delivery:
    """A generated delivery: its document, the events it must store, how many it refuses."""

    vendor: str
    document: Any
    expected: list[Expected] = field(default_factory=list)
    refused: list[Any] = field(default_factory=list)
    event: str | None = None
    """FastComments' route event."""


class Ids:
    """Ids unique to one test run in the form the draw picks (a vendor may send a number)."""

    def __init__(self, marker: str, base: int) -> None:
        self.marker, self.base, self.count = marker, base, 0

    def next(self, form: Any) -> str | int:
        self.count += 1
        if isinstance(form, int):
            return self.base + self.count
        if isinstance(form, str) and len(form) == 36 and form.count("-") == 4:
            return f"{self.marker[:4]}{self.count:04x}" + form[8:]
        return f"{self.marker}-{self.count}-{form}"


def clean(value: Any) -> Any:
    """What the event log holds of a value: each lone surrogate read as U+FFFD (docs/data-model.md)."""
    if isinstance(value, str):
        return re.sub("[\ud800-\udfff]", "\ufffd", value)
    if isinstance(value, dict):
        return {clean(key): clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean(item) for item in value]
    return value


def text_id(value: str | int) -> str:
    """An id as the log keys it: a number's digits, text as stored."""
    return clean(str(value))


def optional(draw: st.DrawFn, event: dict[str, Any], name: str, values: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        event[name] = draw(values)


@st.composite
def engagement_event(draw: st.DrawFn, ids: Ids) -> tuple[dict[str, Any], Expected]:
    message_type = draw(st.sampled_from(sorted(ENGAGEMENT_TYPES)))
    action = draw(st.sampled_from(sorted(ENGAGEMENT_TYPES[message_type])))
    event_id = ids.next(draw(id_like))
    event: dict[str, Any] = {"event_uuid": event_id}
    time = draw(st.none() | epoch_ms())
    if time is not None:
        event["time"] = time
    for name in ("section_uuid", "content_container_uuid", "content_uuid", "actor_uuid", "author_uuid"):
        optional(draw, event, name, uuids | some_text)
    optional(draw, event, "page_url", st.just("") | any_text.map(lambda t: "https://news.example/" + t))
    event.update(message_type=message_type, action=action)
    occurred = datetime.fromtimestamp(time / 1000, UTC) if time is not None else None
    content = event.get("content_uuid")
    expected = Expected("viafoura-engagement", text_id(event_id), ENGAGEMENT_TYPES[message_type][action], event)
    expected.occurred, expected.content_id, expected.sent_id = occurred, content, str(event_id)
    return event, expected


@st.composite
def viafoura_user(draw: st.DrawFn) -> dict[str, Any]:
    user: dict[str, Any] = {}
    optional(draw, user, "name", any_text)
    if draw(st.booleans()):
        user["viafoura_id"] = {"uuid": draw(uuids), "id": draw(st.integers(0, 2**53) | st.from_regex(r"[0-9]{10}"))}
    if draw(st.booleans()):
        user["external_id"] = {"provider": draw(st.sampled_from(["google", "facebook"])), "id": draw(some_text)}
    return user


@st.composite
def notification(draw: st.DrawFn, ids: Ids) -> tuple[dict[str, Any], Expected]:
    kind = draw(st.sampled_from(sorted(NOTIFICATION_TYPES)))
    event_id = ids.next(draw(id_like))
    note: dict[str, Any] = {"notification_type": kind, "notification_uuid": event_id}
    time = draw(st.none() | epoch_ms())
    if time is not None:
        note["time"] = time
    optional(draw, note, "section_uuid", uuids | st.integers(0, 2**53))
    optional(draw, note, "content_container_uuid", uuids | st.integers(0, 2**53))
    optional(draw, note, "user", viafoura_user())
    note["recipients"] = draw(st.lists(viafoura_user(), max_size=4))
    payload: dict[str, Any] = {}
    optional(draw, payload, "url", any_text.map(lambda t: "https://news.example/" + t))
    optional(draw, payload, "image_url", st.just("https://cdn.example/i.jpg"))
    if kind.startswith("broadcast"):
        optional(draw, payload, "title", any_text)
        optional(draw, payload, "description", any_text)
        if kind == "broadcast_topic":
            optional(draw, payload, "topic_id", some_text)
    elif kind != "follow" and draw(st.booleans()):
        payload["content"] = {"uuid": draw(uuids)}
        if kind != "reply_removed":
            payload["content"]["body"] = draw(any_text)
        optional(draw, payload, "target_content_uuid", uuids)
    note["payload"] = payload
    expected = Expected("viafoura-notifications", text_id(event_id), NOTIFICATION_TYPES[kind], note)
    expected.occurred = datetime.fromtimestamp(time / 1000, UTC) if time is not None else None
    return note, expected


BAD_ELEMENTS = ["not-object", "no-id", "blank-id", "bool-id", "fraction-id", "no-type"]


@st.composite
def bad_element(draw: st.DrawFn, vendor_key: str, ids: Ids) -> Any:
    kind = draw(st.sampled_from(BAD_ELEMENTS))
    id_field, type_field = (
        ("event_uuid", "message_type")
        if vendor_key == "viafoura-engagement"
        else ("notification_uuid", "notification_type")
    )
    base = {id_field: text_id(ids.next("bad")), type_field: "like", "action": "liked", "time": LATEST_MS}
    if kind == "not-object":
        return draw(st.none() | st.booleans() | st.integers() | any_text | st.lists(st.integers(), max_size=3))
    if kind == "no-id":
        del base[id_field]
    elif kind == "blank-id":
        base[id_field] = draw(st.sampled_from(["", " ", "\t"]))
    elif kind == "bool-id":
        base[id_field] = draw(st.booleans())
    elif kind == "fraction-id":
        base[id_field] = 1.5
    else:
        del base[type_field]
    return base


@st.composite
def viafoura_batch(draw: st.DrawFn, vendor_key: str, ids: Ids, *, bad: bool = True) -> Delivery:
    maker = engagement_event if vendor_key == "viafoura-engagement" else notification
    field_name = "events" if vendor_key == "viafoura-engagement" else "notifications"
    delivery = Delivery(vendor_key, None)
    elements: list[Any] = []
    for _ in range(draw(st.integers(min_value=1, max_value=50))):
        if bad and draw(st.integers(0, 4)) == 0:
            element = draw(bad_element(vendor_key, ids))
            delivery.refused.append(element)
        else:
            element, expected = draw(maker(ids))
            delivery.expected.append(expected)
        elements.append(element)
    request_uuid = draw(st.sampled_from(["uuid", "number"]))
    batch_time = draw(epoch_ms())
    delivery.document = {
        "request_uuid": str(draw(uuids)) if request_uuid == "uuid" else draw(st.integers(1, 2**53)),
        "time": batch_time,
        "version": 1,
        field_name: elements,
    }
    for expected in delivery.expected:
        if expected.occurred is None:  # an event without its own time is dated by its batch's
            expected.occurred = datetime.fromtimestamp(batch_time / 1000, UTC)
    return delivery


@st.composite
def openweb_user(draw: st.DrawFn) -> dict[str, Any]:
    user = {"user_id": draw(some_text)}
    for name in ("sso_user_id", "user_name", "display_name"):
        optional(draw, user, name, any_text)
    optional(draw, user, "registered", st.booleans())
    return user


@st.composite
def openweb_comment(draw: st.DrawFn, kind: str = "comment") -> dict[str, Any]:
    part = st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "image", "animation"])},
        optional={"text": any_text, "url": st.just("https://cdn.example/a.gif")},
    )
    comment: dict[str, Any] = {"comment_id": draw(some_text), "type": kind}
    comment["content"] = draw(st.lists(part | any_text, max_size=3))
    comment["timestamp"] = draw(st.integers(EARLIEST_MS // 1000, LATEST_MS // 1000))
    return comment


@st.composite
def openweb_delivery(draw: st.DrawFn, ids: Ids) -> Delivery:
    spelled = draw(st.sampled_from(sorted(OPENWEB_TYPES)))
    kind = OPENWEB_USUAL.get(spelled, spelled)
    event_id = ids.next(draw(id_like))
    event: dict[str, Any] = {"event_id": event_id, "type": spelled}
    optional(draw, event, "channels", st.lists(st.sampled_from(["email", "in-app"]), unique=True))
    optional(draw, event, "action_link", any_text.map(lambda t: "https://news.example/a?c=" + t))
    optional(draw, event, "conversation_id", some_text)
    optional(draw, event, "conversation_title", any_text)
    event["user"] = draw(openweb_user())
    occurred = None
    if kind in ("topic-by-author", "topic-by-keyword"):
        seconds = draw(st.integers(EARLIEST_MS // 1000, LATEST_MS // 1000))
        event["timestamp"] = seconds
        occurred = datetime.fromtimestamp(seconds, UTC)
        optional(draw, event, "description", any_text)
        optional(draw, event, "keywords" if kind == "topic-by-keyword" else "authors", st.lists(some_text, max_size=3))
    else:
        if kind != "user-followed":
            event["comment"] = draw(openweb_comment())
        if kind == "followee-commented":
            occurred = datetime.fromtimestamp(event["comment"]["timestamp"], UTC)
        if kind == "replied-message":
            event["reply"] = draw(openweb_comment("reply"))
            occurred = datetime.fromtimestamp(event["reply"]["timestamp"], UTC)
        actor = {
            "followee-commented": "followee", "liked-message": "liker", "replied-message": "replier",
            "user-followed": "follower", "user-mentioned": "mentioner",
        }.get(kind)  # fmt: skip
        if actor:
            event[actor] = draw(openweb_user())
        if kind == "liked-message":
            optional(draw, event, "total_count", st.integers(0, 10_000))
    expected = Expected("openweb", text_id(event_id), OPENWEB_TYPES[spelled], event, occurred)
    return Delivery("openweb", event, [expected])


def canonical_hash(document: Any) -> str:
    """The SHA-256 of the document's canonical JSON (docs/event-types.md, "Identity"; no fractions here)."""
    text = json.dumps(clean(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@st.composite
def fastcomments_delivery(draw: st.DrawFn, ids: Ids) -> Delivery:
    event = draw(st.sampled_from(FASTCOMMENTS_EVENTS))
    comment_id = text_id(ids.next(draw(uuids | some_text)))
    comment: dict[str, Any] = {"id": comment_id}
    occurred = None
    if event == "comment-deleted" and draw(st.integers(0, 4)) == 0:
        pass  # the admin page's test payload: the id alone
    else:
        date, moment = draw(iso_times())
        comment.update(urlId=draw(some_text), url="https://news.example/" + draw(any_text))
        if draw(st.integers(0, 4)):
            comment["date"] = date
        else:  # a create without its date is dated by its signing time
            moment = None
        for name in ("userId", "commenterEmail", "commenterName", "comment", "commentHTML", "avatarSrc", "locale"):
            optional(draw, comment, name, any_text)
        optional(draw, comment, "parentId", st.none() | some_text)
        for name in ("votes", "votesUp", "votesDown", "pageNumber", "verifiedDate"):
            optional(draw, comment, name, st.integers(0, 10**6))
        for name in ("verified", "reviewed", "isSpam", "aiDeterminedSpam", "hasImages", "approved"):
            optional(draw, comment, name, st.booleans())
        optional(
            draw,
            comment,
            "mentions",
            st.lists(st.fixed_dictionaries({"id": some_text, "tag": any_text, "rawTag": any_text}), max_size=3),
        )
        optional(draw, comment, "domain", st.just("news.example"))
        if event == "comment-created":
            occurred = moment
    mapped = {"comment-created": "created", "comment-updated": "updated", "comment-deleted": "deleted"}[event]
    subject = "reply" if comment.get("parentId") else "comment"
    event_id = f"{comment_id}:{event}:{canonical_hash(comment)[:32]}"
    expected = Expected("fastcomments", event_id, f"{subject}.{mapped}", comment, occurred, comment_id)
    return Delivery("fastcomments", comment, [expected], event=event)


@st.composite
def firstup_delivery(draw: st.DrawFn, ids: Ids) -> Delivery:
    name = draw(st.sampled_from(sorted(FIRSTUP_TYPES)))
    stamp, moment = draw(iso_times())
    event: dict[str, Any] = {"id": text_id(ids.next(draw(uuids))), "timestamp": stamp}
    if name.startswith("channel"):
        event["channel_id"] = draw(st.integers(1, 10**6))
        optional(draw, event, "channel_name", any_text)
    elif name.startswith("content"):
        event["content_id"] = draw(st.integers(1, 10**8))
        optional(draw, event, "channel_ids", st.lists(st.integers(1, 10**6), max_size=3))
        if "review" in name:
            event["recommended_channel_ids"] = draw(st.lists(st.integers(1, 10**6), max_size=3))
            event["submitter"] = {"user_id": draw(st.integers(1, 10**6))}
            if not name.endswith("pending"):
                event["reviewer"] = {"user_id": draw(st.integers(1, 10**6))}
    elif name.startswith("campaign"):
        event.update(campaign_id=draw(st.integers(1, 10**6)), campaign_name=draw(any_text))
        event["push_message"] = {"name": draw(any_text), "text": draw(any_text), "locale": "en"}
    else:
        event.update(notification_id=draw(st.integers(1, 10**8)), user_id=draw(st.integers(1, 10**6)))
        if name != "user_notification_deleted":
            event.update(category="mention", acknowledged=draw(st.booleans()), label=draw(any_text))
            event.update(text=draw(any_text), details={"content_id": draw(st.integers(1, 10**6))})
    mapped = FIRSTUP_TYPES[name]
    if name == "user_notification_deleted" and draw(st.booleans()):
        # Firstup's page shows this event's example named ``user_notification_created``, ids only.
        name = "user_notification_created"
    if draw(st.integers(0, 3)) == 0:
        # The older page's envelope: ``{event, timestamp, data{…}}``, its name dotted, the id in it or in data.
        data = {key: value for key, value in event.items() if key not in ("timestamp", "id")}
        older: dict[str, Any] = {"event": name.replace("_", ".", 1), "timestamp": stamp, "data": data}
        if draw(st.booleans()):
            older["id"] = event["id"]
        else:
            data["id"] = event["id"]
        event_id = f"{event['id']}:{name}:{canonical_hash(older)[:16]}"
        return Delivery("firstup", older, [Expected("firstup", event_id, mapped, older, moment)])
    event.update(name=name, version="1")
    event_id = f"{event['id']}:{name}:{canonical_hash(event)[:16]}"
    return Delivery("firstup", event, [Expected("firstup", event_id, mapped, event, moment)])


def delivery_for(vendor_key: str, ids: Ids, *, bad: bool = True) -> st.SearchStrategy[Delivery]:
    if vendor_key.startswith("viafoura"):
        return viafoura_batch(vendor_key, ids, bad=bad)
    makers = {"openweb": openweb_delivery, "fastcomments": fastcomments_delivery, "firstup": firstup_delivery}
    return makers[vendor_key](ids)


def encode(document: Any, *, rng: random.Random | None = None) -> bytes:
    """The document as JSON; with ``rng``, written another way: keys in another order, other white space,
    non-ASCII as itself or escaped (the same document, as a vendor's retry may serialize it)."""
    if rng is None:
        return json.dumps(document).encode()
    return _write(document, rng).encode("utf-8", "surrogatepass")


def _write(value: Any, rng: random.Random) -> str:
    space = rng.choice(["", " ", "\n  ", "\t"])
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        inner = ("," + space).join(f"{_write(key, rng)}{space}:{space}{_write(item, rng)}" for key, item in items)
        return "{" + space + inner + space + "}"
    if isinstance(value, list):
        return "[" + space + ("," + space).join(_write(item, rng) for item in value) + space + "]"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
        # ensure_ascii=False writes a lone surrogate as itself: no UTF-8 carries it, so escape it.
        return text if text.encode("utf-8", "surrogatepass").decode("utf-8", "ignore") == text else json.dumps(value)
    return json.dumps(value)
