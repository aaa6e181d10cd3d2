"""The vendors' own documented examples, sent as the vendor sends them, read back as stored."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.samples import SAMPLES_DIR
from tests.helpers import send_body, stored

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def _stored_one(runtime: LocalRuntime, vendor_key: str, event_id: str) -> dict[str, Any]:
    runtime.drain()
    (event,) = [event for event in stored(runtime, vendor_key) if event["event_id"] == event_id]
    return event


def _notification(name: str, notification_uuid: str) -> dict[str, Any]:
    """A sample delivery of the notifications webhook, under an id of the test's own."""
    body = json.loads((SAMPLES_DIR / "viafoura-notifications" / f"{name}.json").read_text(encoding="utf-8"))
    body["notifications"][0]["notification_uuid"] = notification_uuid
    return body


@pytest.mark.parametrize(
    ("name", "author"),
    [
        # "When a user likes another user's content": the liked post is the recipient's.
        ("like", "recipient"),
        # "When a user replies to a user's content": the reply is the user's.
        ("reply", "user"),
        # "Notifies followers of a user that the user posted new content".
        ("subscribed_user_content", "user"),
        # "Notifies followers of a container of new posts or replies": posted by the user.
        ("subscribed_page_content", "user"),
    ],
)
def test_a_viafoura_notification_names_who_wrote_its_content_as_the_page_describes_it(
    shared_runtime: LocalRuntime, secrets: dict[str, Any], name: str, author: str
) -> None:
    # Given Viafoura's notification (the like is the page's own example), sent as Viafoura sends it
    body = _notification(name, f"author-{name}")
    note = body["notifications"][0]
    response = send_body(shared_runtime, "viafoura-notifications", body, secrets["viafoura-notifications"])
    assert response.status == 204

    # Then the stored content names its author: the recipient whose post was liked, else the user who posted
    event = _stored_one(shared_runtime, "viafoura-notifications", f"author-{name}")
    writer = note["recipients"][0] if author == "recipient" else note["user"]
    assert event["content"]["id"] == note["payload"]["content"]["uuid"]
    assert event["content"].get("author_id") == writer["viafoura_id"]["uuid"]
