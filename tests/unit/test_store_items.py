"""A normalized event made storable: cleaned, cut, offloaded, keyed, sized (no AWS)."""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

import pytest

from webhook_intake.consumer.models import Container, Content, NormalizedEvent, Party
from webhook_intake.registry import VENDORS
from webhook_intake.store.body import PARTS_DICTIONARY, decode_body, encode_body
from webhook_intake.store.items import (
    RECIPIENTS_INLINE_MAX,
    TooLargeError,
    body_of,
    index_entry_sizes,
    prepare,
    retention_of,
    state_order,
)
from webhook_intake.store.schema import STATE_INDEX
from webhook_intake.store.wire import ITEM_LIMIT_BYTES, decode_item, encode_item, item_size, write_units

pytestmark = pytest.mark.usefixtures("no_network")

RECEIVED_2026_10_01 = 1_790_812_800
BUCKET = "payloads"


def event(**fields: Any) -> NormalizedEvent:
    raw = fields.pop("raw", None)
    base: dict[str, Any] = {
        "vendor": "viafoura-engagement",
        "event_id": "e-1",
        "event_type": "comment.liked",
        "source_type": "livecomment_post.liked",
        "occurred_at": "2026-11-23T09:59:59.000Z",
        "received_at": "2026-11-23T10:00:00.000Z",
        "raw": raw or json.dumps({"event_uuid": "e-1"}).encode(),
    }
    return NormalizedEvent(**{**base, **fields})


def test_a_lone_surrogate_is_replaced_in_the_normalized_fields_and_kept_in_raw() -> None:
    # Given an event whose text came from a JSON escape of a lone UTF-16 surrogate
    raw = b'{"event_uuid": "e-1", "comment": "bad \\ud800 text"}'
    lone = event(content=Content(id="c-\ud800", text="bad \ud800 text"), raw=raw)

    # When it is made storable, then written in DynamoDB's wire format
    prepared = prepare(lone, bucket=BUCKET)
    wire = json.dumps(encode_item({k: v for k, v in prepared.item.items() if k != "body"}), default=str)

    # Then every string encodes as UTF-8, the text holds U+FFFD, and the raw bytes are untouched
    wire.encode("utf-8")
    parts, kept = body_of(prepared.item) or ({}, b"")
    assert parts["content"]["text"] == "bad \ufffd text"
    assert prepared.item["content_id"] == "c-\ufffd"
    assert kept == raw


def test_an_oversized_field_is_cut_with_a_marker() -> None:
    page_url = "https://example.com/" + "p" * 250_000
    prepared = prepare(event(container=Container(id="k", url=page_url)), bucket=BUCKET)
    parts, _ = body_of(prepared.item) or ({}, b"")
    assert len(parts["container"]["url"]) == 2048
    assert parts["container"]["url"].endswith("…")
    assert prepared.item["truncated"] == frozenset({"container.url"})
    assert prepared.size < ITEM_LIMIT_BYTES


def test_a_details_list_over_its_limit_is_cut_with_a_marker() -> None:
    # Given a vendor list kept in details longer than the 100 entries kept, and one within it
    prepared = prepare(event(details={"channel_ids": [str(n) for n in range(150)], "tags": ["a"]}), bucket=BUCKET)
    parts, _ = body_of(prepared.item) or ({}, b"")
    # Then the first 100 are kept and the item names the list it cut (the raw event holds all)
    assert parts["details"]["channel_ids"] == [str(n) for n in range(100)]
    assert prepared.item["truncated"] == frozenset({"details.channel_ids"})


def incompressible(size: int) -> str:
    """Text that does not compress (a chain of hashes)."""
    chunks, digest = [], b"seed"
    while len(chunks) * 64 < size:
        digest = hashlib.sha256(digest).digest()
        chunks.append(digest.hex())
    return "".join(chunks)[:size]


def test_a_large_raw_event_waits_in_s3_under_its_hash() -> None:
    raw = json.dumps({"event_uuid": "e-1", "page_url": "https://example.com/" + incompressible(300_000)})
    prepared = prepare(event(raw=raw.encode()), bucket=BUCKET)
    (offload,) = prepared.offloads
    assert "body" not in prepared.item
    assert prepared.item["body_ref"] == f"s3://{BUCKET}/{offload.key}"
    assert offload.key == f"bodies/viafoura-engagement/{hashlib.sha256(offload.body).hexdigest()}"
    assert decode_body("viafoura-engagement", offload.body)[1] == raw.encode()


def test_five_thousand_recipients_move_out_and_each_stays_findable() -> None:
    recipients = tuple(Party(id=f"00000000-0000-4000-8000-{n:012d}", name=f"User {n}") for n in range(5000))
    prepared = prepare(event(recipients=recipients), bucket=BUCKET)
    (offload,) = prepared.offloads
    assert prepared.item["recipient_count"] == 5000
    assert len(json.loads(offload.body)) == 5000
    assert len(prepared.item["recipient_ids"]) == 5000
    assert "recipients" not in (body_of(prepared.item) or ({}, b""))[0]
    assert prepared.size < ITEM_LIMIT_BYTES
    assert all(size < ITEM_LIMIT_BYTES for size in index_entry_sizes(prepared.item).values())


def test_an_id_too_long_to_index_is_named_in_truncated() -> None:
    long_id = "u" * 257
    recipients = (Party(id="u-1"), Party(id=long_id))
    prepared = prepare(event(actor=Party(id=long_id), content=Content(id="c-1"), recipients=recipients))
    assert prepared.item["recipient_ids"] == frozenset({"u-1"})
    assert "actor_id" not in prepared.item
    assert prepared.item["content_id"] == "c-1"
    assert prepared.item["truncated"] == frozenset({"actor_id", "recipient_ids"})
    body = (body_of(prepared.item) or ({}, b""))[0]
    assert body["actor"]["id"] == long_id
    assert [party["id"] for party in body["recipients"]] == ["u-1", long_id]


def test_a_few_recipients_stay_in_the_item() -> None:
    recipients = tuple(Party(id=f"u{n}") for n in range(RECIPIENTS_INLINE_MAX))
    prepared = prepare(event(recipients=recipients), bucket=BUCKET)
    assert prepared.offloads == []
    assert len((body_of(prepared.item) or ({}, b""))[0]["recipients"]) == RECIPIENTS_INLINE_MAX


def test_what_cannot_fit_without_a_payload_bucket_is_refused() -> None:
    raw = json.dumps({"event_uuid": "e-1", "blob": incompressible(1_000_000)}).encode()
    with pytest.raises(TooLargeError):
        prepare(event(raw=raw), bucket=None)


def test_only_state_changes_of_comments_are_in_an_index() -> None:
    liked = prepare(event(content=Content(id="c")))
    created = prepare(event(event_type="comment.created", content=Content(id="c")))
    test = prepare(event(event_type="comment.created", content=Content(id="c"), test=True))
    published = prepare(event(event_type="content.published", content=Content(id="c")))
    assert set(index_entry_sizes(liked.item)) == set()
    assert set(index_entry_sizes(created.item)) == {STATE_INDEX}
    assert set(index_entry_sizes(test.item)) == set()
    assert set(index_entry_sizes(published.item)) == set()
    assert liked.write_units() == 1
    assert created.write_units() == 2


def test_the_state_order_reads_newest_first_with_a_tombstone_before_anything() -> None:
    def order(event_type: str, occurred: str, received: str, event_id: str) -> str:
        return state_order(event(event_type=event_type, occurred_at=occurred, received_at=received, event_id=event_id))

    rejected = order("comment.rejected", "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:05.000Z", "a")
    approved = order("comment.approved", "2026-01-01T00:00:02.000Z", "2026-01-01T00:00:03.000Z", "a")
    same_second_late = order("comment.updated", "2026-01-01T00:00:02.000Z", "2026-01-01T00:00:04.000Z", "a")
    old_delete = order("comment.deleted", "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z", "z")
    assert sorted([rejected, approved, same_second_late, old_delete], reverse=True) == [
        old_delete,
        same_second_late,
        approved,
        rejected,
    ]


def test_a_typical_event_is_one_write_unit_and_one_more_per_index() -> None:
    prepared = prepare(event(actor=Party(id="u"), content=Content(id="c"), container=Container(id="k")))
    assert prepared.size <= 1024
    assert prepared.write_units() == 1
    created = prepare(event(event_type="comment.created", content=Content(id="c")))
    assert created.write_units() == 2


def test_items_round_trip_through_the_wire_format() -> None:
    prepared = prepare(event(recipients=(Party(id="a"), Party(id="b"))), retention_days=30)
    assert decode_item(encode_item(prepared.item)) == prepared.item


def test_an_event_expires_its_retention_after_it_was_received_whenever_it_is_stored() -> None:
    # Two copies of one event, received a month apart (a vendor's retry, a redrive from a DLQ)
    first = prepare(event(received_at="2026-10-01T00:00:00.000Z"), retention_days=30)
    later = prepare(event(received_at="2026-11-01T00:00:00.000Z"), retention_days=30)
    # Each expires 30 days after its own receive time, not 30 days after it was written
    assert first.item["expires_at"] == RECEIVED_2026_10_01 + 30 * 86_400
    assert later.item["expires_at"] == RECEIVED_2026_10_01 + 31 * 86_400 + 30 * 86_400
    assert "expires_at" not in prepare(event()).item


def test_sizes_and_write_units_follow_dynamodbs_rules() -> None:
    assert item_size({"pk": "ab", "n": 12345, "b": b"xyz", "t": True}) == (2 + 2) + (1 + 4) + (1 + 3) + (1 + 1)
    assert [write_units(size) for size in (1, 1024, 1025, 4096)] == [1, 1, 2, 4]


def test_a_body_compresses_with_the_vendors_field_names() -> None:
    raw = json.dumps({"event_uuid": "e", "content_container_uuid": "k", "message_type": "livecomment_post"}).encode()
    body = encode_body("viafoura-engagement", {"content": {"type": "livecomment_post"}}, raw)
    assert body[0] == 1
    assert decode_body("viafoura-engagement", body) == ({"content": {"type": "livecomment_post"}}, raw)
    assert len(body) < len(zlib.compress(raw, 9))


# Released dictionaries never change: a stored body names the one it was written with.
RELEASED = {
    "parts": "e907a3ebc3aa598f",
    "viafoura-engagement": "4ee057a34fb5a902",
    "viafoura-notifications": "354d5fa52b81a2a2",
    "openweb": "a8f403183c069359",
    "fastcomments": "f151e559c4695eee",
    "firstup": "6103af0a5c7a7f39",
}


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_released_compression_dictionaries_are_frozen(name: str) -> None:
    dictionary = PARTS_DICTIONARY if name == "parts" else VENDORS[name].store_dictionaries[0]
    assert hashlib.sha256(dictionary).hexdigest()[:16] == RELEASED[name]


def test_a_stored_events_retention_is_read_back_from_its_expiry() -> None:
    # What intake replay tags an event's rewritten parts in S3 with: the retention the event was written under
    written = prepare(event(received_at="2026-10-01T00:00:00.000Z"), retention_days=30).item
    assert retention_of(written) == 30
    assert retention_of(prepare(event()).item) == 0
    assert retention_of({"received_at": "not a time", "expires_at": RECEIVED_2026_10_01}) == 0
