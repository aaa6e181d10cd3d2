"""The vendor registry: every vendor key, where its code lives and which routes it serves.

Standard library only: the ingest path imports it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType


@dataclass(frozen=True, slots=True)
class VendorSpec:
    """What the rest of the project needs to know about one vendor."""

    key: str
    """The vendor key (DESIGN.md), also the ``VENDOR`` environment variable of its functions."""
    package: str
    """Sub-package of ``webhook_intake.vendors`` holding ``contract`` and ``normalize``."""
    routes: tuple[str, ...]
    """HTTP API route keys (``METHOD /path``) served by the vendor's ingest function."""
    stem: str
    """PascalCase stem of the vendor's logical ids in template.yaml (``FirstupQueue``...)."""

    def contract(self) -> Any:
        """The vendor's ingest contract (imports only its ``contract`` module)."""
        module: ModuleType = importlib.import_module(f"webhook_intake.vendors.{self.package}.contract")
        return module.CONTRACT

    def normalizer(self) -> Any:
        """The vendor's normalizer (imports pydantic and the models)."""
        module: ModuleType = importlib.import_module(f"webhook_intake.vendors.{self.package}.normalize")
        return module.NORMALIZER


_FASTCOMMENTS_PATH = "/webhooks/fastcomments/{event}"

VENDORS: dict[str, VendorSpec] = {
    spec.key: spec
    for spec in (
        VendorSpec(
            key="viafoura-engagement",
            package="viafoura_engagement",
            routes=("POST /webhooks/viafoura/engagement",),
            stem="ViafouraEngagement",
        ),
        VendorSpec(
            key="viafoura-notifications",
            package="viafoura_notifications",
            routes=("POST /webhooks/viafoura/notifications",),
            stem="ViafouraNotifications",
        ),
        VendorSpec(
            key="firstup",
            package="firstup",
            routes=("POST /webhooks/firstup",),
            stem="Firstup",
        ),
        VendorSpec(
            key="openweb",
            package="openweb",
            routes=("POST /webhooks/openweb",),
            stem="OpenWeb",
        ),
        VendorSpec(
            key="fastcomments",
            package="fastcomments",
            routes=tuple(f"{method} {_FASTCOMMENTS_PATH}" for method in ("PUT", "POST", "DELETE")),
            stem="FastComments",
        ),
    )
}


class UnknownVendorError(KeyError):
    """A vendor key that is not in the registry."""


def vendor(key: str) -> VendorSpec:
    """The registry entry for ``key``; a clear error for a typo."""
    try:
        return VENDORS[key]
    except KeyError:
        known = ", ".join(sorted(VENDORS))
        raise UnknownVendorError(f"unknown vendor key {key!r}; known: {known}") from None
