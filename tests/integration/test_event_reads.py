"""The reads DESIGN.md promises, on the table the template defines: by id, content, container, user, type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from intake_cli.samples import sample_files
from tests.integration.test_pipeline import send
from webhook_intake.registry import VENDORS
from webhook_intake.repository import EventRepository

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def load_all(runtime: LocalRuntime, secrets: dict[str, Any]) -> EventRepository:
    for vendor_key in VENDORS:
        for path in sample_files(vendor_key):
            assert send(runtime, vendor_key, path, secrets).status < 300
    runtime.drain()
    return EventRepository(runtime.stack.tables["EventsTable"])


def test_reads_by_id_content_container_user_and_type(runtime: LocalRuntime, secrets: dict[str, Any]) -> None:
    repo = load_all(runtime, secrets)

    one = repo.get_event("openweb", "bd97dfbc1b5d7712609c17e809a9f08b61c397c2")
    assert one is not None and one["event_type"] == "reply.created"

    # A FastComments comment's life, oldest first (the update and delete were signed in the same second)
    history = repo.query("content", "fastcomments#nK3vQ8zTfR", newest_first=False)
    assert history[0]["source_type"] == "comment-created"
    assert {item["source_type"] for item in history[1:]} == {"comment-updated", "comment-deleted"}

    container = repo.query("container", "openweb#sp_Q9xT4mWz_school-budget-2026")
    assert {item["event_id"] for item in container} >= {"bd97dfbc1b5d7712609c17e809a9f08b61c397c2"}
    times = [item["occurred_at"] for item in container]
    assert times == sorted(times, reverse=True)

    as_actor = repo.query("actor", "openweb#u_fL6N8gmPanyW")
    as_recipient = repo.query("recipient", "openweb#u_D7Mheim8Zq9w")
    assert any(item["event_id"] == "bd97dfbc1b5d7712609c17e809a9f08b61c397c2" for item in as_actor)
    assert any(item["event_id"] == "bd97dfbc1b5d7712609c17e809a9f08b61c397c2" for item in as_recipient)

    liked = repo.query("type", "comment.liked")
    assert {item["vendor"] for item in liked} == {"viafoura-engagement", "viafoura-notifications", "openweb"}
