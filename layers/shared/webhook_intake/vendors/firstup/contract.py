"""Firstup: ``authorization`` equals the subscription's ``authorization_header``; 401 on failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.ingest.contract import HeaderTokenContract, id_text
from webhook_intake.vendors.firstup import SPEC

if TYPE_CHECKING:
    from webhook_intake.http import Request

LEGACY_NAME = "event"
"""The older envelope names its event here (``content.published``), the current form in ``name``."""


def event_name(document: dict[str, Any]) -> str | None:
    """The event's name in either form, else None."""
    return id_text(document.get("name")) or id_text(document.get(LEGACY_NAME))


@dataclass(frozen=True)
class FirstupContract(HeaderTokenContract):
    """Events in the flat or the older ``{event, data}`` form; a body without an event name is a ping."""

    def correlation_id(self, request: Request) -> str:
        return request.header("x-socialchorus-delivery") or request.request_id

    def is_ping(self, document: Any) -> bool:
        # Creating a subscription sends a ping (its shape is not documented): an object naming no event.
        return isinstance(document, dict) and event_name(document) is None


CONTRACT = FirstupContract(SPEC, auth_failure_status=401)
