"""OpenWeb, FastComments and Firstup deliveries other than the samples: optional fields empty or null."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from intake_cli.samples import sample_files
from tests.helpers import SUCCESS, quarantined, reader, send_body

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


def _sample(vendor_key: str, name: str) -> dict[str, Any]:
    (path,) = [path for path in sample_files(vendor_key) if path.name == f"{name}.json"]
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _stored(runtime: LocalRuntime, vendor_key: str, event_id: str) -> dict[str, Any]:
    event = reader(runtime).get(vendor_key, event_id)
    assert event is not None, event_id
    return event


def test_empty_strings_in_optional_openweb_fields_are_stored_as_absent(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given an OpenWeb like whose optional fields OpenWeb sent as empty strings
    event = _sample("openweb", "liked-message")
    event["event_id"] = "variant-empty-strings"
    event["action_link"] = ""
    event["conversation_title"] = ""
    event["liker"]["sso_user_id"] = ""
    event["liker"]["display_name"] = ""
    event["user"]["sso_user_id"] = ""

    # When it is delivered and consumed
    response = send_body(shared_runtime, "openweb", event, secrets["openweb"])
    assert response.status == SUCCESS["openweb"], response.body
    shared_runtime.drain()

    # Then the stored event names no empty value: each such field is absent, the others as sent
    stored = _stored(shared_runtime, "openweb", "variant-empty-strings")
    assert stored["actor"] == {"id": "u_5pE7whu23OeW", "name": "guest_7261", "role": "actor"}
    assert stored["recipients"] == [{"id": "u_D7Mheim8Zq9w", "name": "Alice Example", "role": "recipient"}]
    assert "url" not in stored["content"]
    assert stored["container"] == {"id": "sp_Q9xT4mWz_harbor-bridge-2026"}


def test_a_fastcomments_comment_whose_parent_id_is_empty_is_a_comment_with_no_parent(
    shared_runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    # Given a top-level comment whose parentId, userId and url FastComments sent as empty strings
    comment = _sample("fastcomments", "comment-created")
    comment.update(id="variant-empty-parent", parentId="", userId="", url="")

    # When it is delivered and consumed
    response = send_body(shared_runtime, "fastcomments", comment, secrets["fastcomments"], event="comment-created")
    assert response.status == SUCCESS["fastcomments"], response.body
    shared_runtime.drain()

    # Then it is a comment, with neither a parent nor an author id nor a URL
    state = reader(shared_runtime).state("fastcomments", "variant-empty-parent")
    assert state is not None
    stored = state.event
    assert stored["event_type"] == "comment.created"
    assert stored["content"]["type"] == "comment"
    assert {"parent_id", "author_id", "url"}.isdisjoint(stored["content"])
    assert stored["actor"] == {"name": "Alice Example", "role": "author"}
    assert stored["container"] == {"id": "news.example.com/2026/07/02/riverside-park-redesign"}
    assert not quarantined(shared_runtime, "fastcomments")
