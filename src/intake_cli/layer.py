"""What the Lambda layer ships: its pinned requirements, and the distributions a requirement pulls in
on Lambda's python3.13 runtime (arm64), which has boto3 and its dependencies of its own.

Read by the dependency tests (the pins are the versions the tests run with, and every
distribution the layer needs) and by the benchmarks (which build the layer as ``make build`` does).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).resolve().parents[2] / "layers" / "shared" / "requirements.txt"
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
"""What the python3.13 Lambda runtime ships besides the standard library (layers/shared/Makefile leaves these out)."""
LAMBDA_MARKERS: dict[str, str] = {
    **{name: str(value) for name, value in default_environment().items()},
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "platform_machine": "aarch64",
}
"""Marker environment of the Lambda runtime (template.yaml: python3.13 on arm64)."""


def layer_requirements() -> list[Requirement]:
    """The requirements in ``layers/shared/requirements.txt``."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def closure(requirements: list[Requirement]) -> set[str]:
    """The installed distributions ``requirements`` pull in (canonical names), extras and Lambda's markers applied."""
    wanted: set[str] = set()
    pending = list(requirements)
    while pending:
        requirement = pending.pop()
        extras = requirement.extras or {""}
        name = canonicalize_name(requirement.name)
        if name in wanted:
            continue
        wanted.add(name)
        for text in metadata.requires(requirement.name) or []:
            needed = Requirement(text)
            if needed.marker is None or any(
                needed.marker.evaluate({**LAMBDA_MARKERS, "extra": extra}) for extra in extras
            ):
                pending.append(needed)
    return wanted


def runtime_closure() -> set[str]:
    """Every distribution the Lambda runtime provides (the layer leaves them out)."""
    return closure([Requirement(name) for name in RUNTIME_DISTRIBUTIONS])
