"""The Lambda layer and the package ask for the same runtime dependencies, none with a known hole."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
# Versions with published advisories that the specifiers must exclude.
KNOWN_BAD = {"pyjwt": ["2.10.0"]}  # CVE-2024-53861: a partial "iss" match passed


def layer_requirements() -> dict[str, Requirement]:
    lines = (ROOT / "layers/shared/requirements.txt").read_text().splitlines()
    found = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {requirement.name.lower(): requirement for requirement in found}


def package_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    return {requirement.name.lower(): requirement for requirement in found}


def test_every_layer_dependency_is_pinned_alike_in_the_package() -> None:
    package = package_requirements()
    for name, requirement in layer_requirements().items():
        assert name in package, name
        assert package[name].specifier == requirement.specifier, name


@pytest.mark.parametrize(
    ("name", "bad"), [(name, version) for name, versions in KNOWN_BAD.items() for version in versions]
)
def test_no_specifier_admits_a_version_with_a_known_advisory(name: str, bad: str) -> None:
    for requirements in (layer_requirements(), package_requirements()):
        assert bad not in requirements[name].specifier, (name, bad)
