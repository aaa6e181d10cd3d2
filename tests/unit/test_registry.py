"""The vendor registry: every package under webhook_intake.vendors, or a clear error naming the one it cannot take."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from webhook_intake import registry, vendors

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture
def extra_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory searched for vendor packages besides the project's, and a registry read afresh."""
    monkeypatch.setattr(vendors, "__path__", [*vendors.__path__, str(tmp_path)])
    registry.vendors.cache_clear()
    yield tmp_path
    registry.vendors.cache_clear()


def package(root: Path, name: str, key: str) -> None:
    (root / name).mkdir()
    spec = f"VendorSpec(key={key!r}, stem='Acme', path='/webhooks/acme', methods=('POST',), id_field='id')"
    (root / name / "__init__.py").write_text(f"from webhook_intake.registry import VendorSpec\nSPEC = {spec}\n")


def test_a_package_named_for_its_key_is_registered(extra_packages: Path) -> None:
    # Given a vendor package whose folder is its key with '-' written '_'
    package(extra_packages, "acme_forum", "acme-forum")

    # Then the registry lists it beside the project's vendors
    assert registry.vendors()["acme-forum"].package == "acme_forum"
    assert "firstup" in registry.vendors()


def test_a_package_not_named_for_its_key_is_an_error_naming_both(extra_packages: Path) -> None:
    # Given a vendor package whose folder does not spell its key (acmeforum for acme-forum)
    package(extra_packages, "acmeforum", "acme-forum")

    # Then reading the registry says what to rename, instead of leaving the vendor out unnoticed
    with pytest.raises(registry.VendorPackageError, match=r"acmeforum .*'acme-forum'.* acme_forum"):
        registry.vendors()
