"""The import environment of a deployed function, rebuilt from this virtual environment.

On Lambda a function sees its task root (``app.py``), the layer (``/opt/python``: what
``layers/shared/requirements.txt`` installs, plus the ``webhook_intake`` package) and the
runtime's own boto3. Nothing else: not the test and CLI packages of this virtual environment
(awscrt, pyOpenSSL, requests...), which botocore and the X-Ray SDK would pick up if they could
and which would make both sides of a cold-start comparison slower than on Lambda.

Two layers are built: one with compiled ``.pyc`` files (the best case) and one without, as
``layers/shared/Makefile`` ships it today (``--no-compile``, ``__pycache__`` removed), where
``/opt`` is read-only and every cold start compiles every module it imports from source.
"""

from __future__ import annotations

import compileall
import re
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

from benchmarks.harness import LAYER_DIR

# What the python3.13 Lambda runtime ships besides the standard library.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# Marker environment of the Lambda runtime (template.yaml: python3.13 on arm64).
_LAMBDA_MARKERS = {
    **default_environment(),
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "platform_machine": "aarch64",
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str]) -> set[str]:
    """The installed distributions ``requirements`` pull in, extras and Lambda's markers applied."""
    wanted: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        extras = requirement.extras or {""}
        name = _canonical(requirement.name)
        if name in wanted:
            continue
        wanted.add(name)
        for text in metadata.requires(requirement.name) or []:
            needed = Requirement(text)
            if needed.marker is None or any(
                needed.marker.evaluate({**_LAMBDA_MARKERS, "extra": extra}) for extra in extras
            ):
                pending.append(needed)
    return wanted


def layer_requirements() -> list[str]:
    """The lines of ``layers/shared/requirements.txt``."""
    lines = (LAYER_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def _copy_distribution(name: str, target: Path) -> None:
    distribution = metadata.distribution(name)
    for file in distribution.files or []:
        parts = file.parts
        if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc" or parts[0].endswith(".pth"):
            continue
        source = Path(str(distribution.locate_file(file)))
        if not source.is_file():
            continue
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


@dataclass(frozen=True)
class LambdaLayout:
    """Directories that stand in for ``/opt/python`` (with and without .pyc) and the runtime."""

    layer_compiled: Path
    layer_as_shipped: Path
    layer_without_boto3: Path
    runtime: Path


def build(root: Path) -> LambdaLayout:
    """Build the layer variants and the runtime's boto3 under ``root``."""
    layout = LambdaLayout(
        layer_compiled=root / "layer-compiled",
        layer_as_shipped=root / "layer-as-shipped",
        layer_without_boto3=root / "layer-without-boto3",
        runtime=root / "runtime",
    )
    layer = closure(layer_requirements())
    runtime = closure(list(RUNTIME_DISTRIBUTIONS))
    for name in sorted(layer):
        _copy_distribution(name, layout.layer_as_shipped)
        if name not in runtime:
            _copy_distribution(name, layout.layer_without_boto3)
    for name in sorted(runtime):
        _copy_distribution(name, layout.runtime)
    for directory in (layout.layer_as_shipped, layout.layer_without_boto3):
        shutil.copytree(
            LAYER_DIR / "webhook_intake", directory / "webhook_intake", ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copytree(layout.layer_as_shipped, layout.layer_compiled)
    compileall.compile_dir(str(layout.layer_compiled), quiet=2, workers=0)
    compileall.compile_dir(str(layout.runtime), quiet=2, workers=0)
    return layout
