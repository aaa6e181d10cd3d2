"""The vendor registry: every vendor package under ``webhook_intake.vendors`` and the facts it declares.

A vendor is a package ``webhook_intake.vendors.<name>`` whose ``__init__`` defines ``SPEC``
(a :class:`VendorSpec`); nothing else lists vendors. The package name is the vendor key
with ``-`` written ``_``. Standard library only: the ingest path imports it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

VENDORS_PACKAGE = "webhook_intake.vendors"
REQUEST_ID_HEADER = "x-request-id"
"""The request id header a vendor may send; a delivery keeps it whatever the vendor."""


@dataclass(frozen=True, slots=True)
class VendorSpec:
    """What the rest of the project needs to know about one vendor, said once."""

    key: str
    """The vendor key: the ``VENDOR`` environment variable of its functions, its secret's name."""
    stem: str
    """PascalCase stem of the vendor's logical ids in template.yaml (``FirstupQueue``...)."""
    path: str
    """The webhook route's path (``/webhooks/fastcomments/{event}``)."""
    methods: tuple[str, ...]
    """The HTTP methods the route takes."""
    id_field: str
    """The field holding the vendor's id of an event."""
    required: tuple[str, ...] = ()
    """Other fields an event must carry (non-empty) to be stored; the ingest path checks them too."""
    batch_field: str | None = None
    """When a delivery holds many events: the field of the body holding their array."""
    delivery_header: str = REQUEST_ID_HEADER
    """The request header holding the vendor's own id of a delivery: its correlation id and ``delivery_id``."""
    kept_headers: tuple[str, ...] = ()
    """Other request headers a delivery keeps for the consumer (a signing time it dates events by).
    Never a credential, token or signature."""
    store_dictionaries: tuple[bytes, ...] = (b"",)
    """Preset compression dictionaries of stored bodies, oldest first; each is frozen once released
    (store/body.py): a stored body names the one it was written with."""

    @property
    def package(self) -> str:
        """The sub-package of ``webhook_intake.vendors``."""
        return package_name(self.key)

    @property
    def routes(self) -> tuple[str, ...]:
        """HTTP API route keys (``METHOD /path``) served by the vendor's ingest function."""
        return tuple(f"{method} {self.path}" for method in self.methods)

    def delivery_id(self, headers: Mapping[str, str]) -> str | None:
        """The vendor's own id of the delivery whose kept headers are ``headers``, where it sends one."""
        return headers.get(self.delivery_header) or headers.get(REQUEST_ID_HEADER)

    def contract(self) -> Any:
        """The vendor's ingest contract (imports only its ``contract`` module)."""
        return importlib.import_module(f"{VENDORS_PACKAGE}.{self.package}.contract").CONTRACT

    def normalizer(self) -> Any:
        """The vendor's normalizer (imports pydantic and the models)."""
        return importlib.import_module(f"{VENDORS_PACKAGE}.{self.package}.normalize").NORMALIZER


class UnknownVendorError(KeyError):
    """A vendor key that is not in the registry."""


class VendorPackageError(RuntimeError):
    """A vendor package the registry cannot take (its name does not spell its key): fix the package."""


def package_name(key: str) -> str:
    """``viafoura-engagement`` → ``viafoura_engagement``."""
    return key.replace("-", "_")


@cache
def vendors() -> Mapping[str, VendorSpec]:
    """Every vendor package found under ``webhook_intake.vendors``, by key, in key order."""
    package = importlib.import_module(VENDORS_PACKAGE)
    specs = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg:
            spec = getattr(importlib.import_module(f"{VENDORS_PACKAGE}.{module.name}"), "SPEC", None)
            if not isinstance(spec, VendorSpec):
                continue
            if spec.package != module.name:
                raise VendorPackageError(
                    f"vendor package {module.name} declares the key {spec.key!r}:"
                    f" name the package {spec.package} (the key with '-' written '_')"
                )
            specs.append(spec)
    return {spec.key: spec for spec in sorted(specs, key=lambda spec: spec.key)}


def vendor(key: str) -> VendorSpec:
    """The registry entry for ``key`` (imports that vendor's package only); a clear error for a typo."""
    try:
        module = importlib.import_module(f"{VENDORS_PACKAGE}.{package_name(key)}")
    except (ImportError, ValueError):
        module = None
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, VendorSpec) or spec.key != key:
        known = ", ".join(vendors())
        raise UnknownVendorError(f"unknown vendor key {key!r}; known: {known}") from None
    return spec


def __getattr__(name: str) -> Any:
    # ``VENDORS`` is found on first use, so the ingest path (which needs one vendor) never walks the package.
    if name == "VENDORS":
        return vendors()
    raise AttributeError(name)
