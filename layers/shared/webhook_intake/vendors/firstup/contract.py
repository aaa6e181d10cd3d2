"""Firstup: ``authorization`` equals the subscription's ``authorization_header``; 401 on failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.delivery import correlation_id_of
from webhook_intake.ingest.contract import (
    BYTE_ORDER_MARK,
    HeaderTokenContract,
    Verdict,
    examine_body,
    id_text,
    require_object,
)
from webhook_intake.vendors.firstup import SPEC

if TYPE_CHECKING:
    from webhook_intake.http import Request

LEGACY_NAME = "event"
"""The older envelope names its event here (``content.published``), the current form in ``name``."""
PING_NAME = "ping"


def event_name(document: dict[str, Any]) -> str | None:
    """The event's name in either form, else None."""
    return id_text(document.get("name")) or id_text(document.get(LEGACY_NAME))


def older_envelope(document: dict[str, Any]) -> bool:
    """``{event, timestamp, data{…}}``: no ``name`` (or a null or empty one), and ``event`` or a ``data`` object.

    A name of another kind (blank, a number) keeps the body in the current form, as it always
    was: the event it was stored as keeps its id when it is delivered again.
    """
    return document.get("name") in (None, "") and (LEGACY_NAME in document or isinstance(document.get("data"), dict))


def current_form(document: dict[str, Any], delivery_id: str | None) -> dict[str, Any]:
    """An event as the current flat form has it: ``{id, timestamp, name, …}``.

    The older envelope ``{event, timestamp, data{…}}`` has its ``data`` lifted up; it documents
    no event id, so its id is the body's ``id``, else ``data``'s, else the delivery's own
    (``x-socialchorus-delivery``, as the correlation id carries it: its hash when it is not 1 to
    128 id characters). Dotted names (``content.published``) become the current ones
    (``content_published``), in either form: any name, since the event's id holds its name as
    read (an undocumented one read another way would be another event when delivered again).
    """
    flat = document
    if older_envelope(document):
        data = document.get("data")
        inner = data if isinstance(data, dict) else {}
        flat = {**inner, **{k: v for k, v in document.items() if k != "data"}}
        flat["name"] = id_text(document.get(LEGACY_NAME))
        if id_text(flat.get(SPEC.id_field)) is None:
            # A body id that is no id (null, empty) leaves data's, then the delivery's
            fallback = inner.get(SPEC.id_field) if id_text(inner.get(SPEC.id_field)) is not None else delivery_id
            if fallback is not None:
                flat[SPEC.id_field] = fallback
    name = flat.get("name")
    if isinstance(name, str) and "." in name:
        flat = {**flat, "name": name.replace(".", "_")}
    return flat


@dataclass(frozen=True)
class FirstupContract(HeaderTokenContract):
    """Events in the flat or the older ``{event, data}`` form; a body naming no event (or ``ping``) is a ping."""

    def is_ping(self, document: Any) -> bool:
        # Creating a subscription sends a ping (its shape is not documented): an object naming no
        # event and carrying no id, or one named ``ping``. One with an id but no name is taken and
        # kept in quarantine (it may be a ping of another shape, or a broken event).
        if not isinstance(document, dict):
            return False
        name = event_name(document)
        if name is not None:
            return name.lower() == PING_NAME
        # The older envelope may carry its id in data only: an event, never a ping.
        return id_text(current_form(document, None).get(SPEC.id_field)) is None

    def is_bodiless_ping(self, request: Request) -> bool:
        # Nor is it documented that the ping has a body: a check that sends none is answered 2xx too
        # (nor one that sends only a byte order mark, as an encoder that writes one always does).
        body = request.body.removeprefix(BYTE_ORDER_MARK)
        return not body or body.isspace()

    def examine(self, request: Request, document: Any) -> list[Verdict]:
        # The delivery's id as the consumer reads it back: the correlation id the message carries.
        delivery = request.header(self.spec.delivery_header)
        delivery_id = correlation_id_of(delivery) if delivery else None
        return examine_body(self.spec, current_form(require_object(document), delivery_id))


CONTRACT = FirstupContract(SPEC, auth_failure_status=401)
