"""The Lambda layer ships what the tests ran with: every runtime dependency pinned, none with a known hole."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from intake_cli.layer import closure, layer_requirements, runtime_closure

ROOT = Path(__file__).resolve().parents[2]
# Versions with published advisories that the specifiers must exclude.
KNOWN_BAD = {"pyjwt": ["2.10.0"]}  # CVE-2024-53861: a partial "iss" match passed
# The package's dependencies the layer does not ship: the Lambda runtime has them (boto3), or
# only the local stack and the CLI use them.
NOT_IN_LAYER = {"boto3", "moto", "typer", "rich", "cfn-lint"}


def layer_pins() -> dict[str, Requirement]:
    return {canonicalize_name(requirement.name): requirement for requirement in layer_requirements()}


def package_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    return {canonicalize_name(requirement.name): requirement for requirement in found}


def pinned_version(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    assert specifier.operator == "==", f"{requirement.name} is not pinned: {requirement}"
    return specifier.version


def test_every_layer_dependency_is_one_exact_version_without_extras() -> None:
    for name, requirement in layer_pins().items():
        pinned_version(requirement)
        assert not requirement.extras, f"{name}: pin the extra's distributions instead (pip constraints take no extras)"


def test_the_layer_ships_the_versions_the_tests_run_with() -> None:
    for name, requirement in layer_pins().items():
        assert metadata.version(name) == pinned_version(requirement), name


def test_the_pins_are_every_distribution_the_layer_needs() -> None:
    package = package_requirements()
    wanted = [requirement for name, requirement in package.items() if name not in NOT_IN_LAYER]
    needed = closure(wanted) - runtime_closure()
    assert needed == set(layer_pins())


def test_each_pin_is_within_the_package_range() -> None:
    package = package_requirements()
    for name, requirement in layer_pins().items():
        if name in package:
            assert package[name].specifier.contains(pinned_version(requirement)), name


@pytest.mark.parametrize(
    ("name", "bad"), [(name, version) for name, versions in KNOWN_BAD.items() for version in versions]
)
def test_no_specifier_admits_a_version_with_a_known_advisory(name: str, bad: str) -> None:
    assert bad not in package_requirements()[name].specifier, (name, bad)
    assert bad not in layer_pins()[name].specifier, (name, bad)
