"""The import environment of a deployed function: the layer as ``make build`` ships it, and the runtime.

On Lambda a function sees its task root (``app.py``), the layer (``/opt/python``) and the
runtime's own boto3 and botocore, compiled. The layer here is built by the very recipe
``sam build`` runs (``layers/shared/Makefile``, target ``build-SharedLayer``): the same
requirements, versions and files, boto3 and botocore left to the runtime, bytecode compiled
by a python3.13 when one is found. The one difference: its binary wheels (pydantic-core,
wrapt) are for the machine the benchmark runs on, not arm64, so that it can be imported here.

Three layers are measured: the one built (with bytecode when a python3.13 was found: as
shipped), the same without bytecode (what a build without python3.13 ships: ``/opt`` is
read-only, so every cold start compiles every module it imports), and the same with bytecode
(compiled by the interpreter the cold starts run under, when the build had none to use).
The runtime directory holds boto3, botocore and their dependencies from this virtual
environment, compiled by that interpreter, as the python3.13 runtime ships them; no awscrt.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from benchmarks.harness import LAYER_DIR, ROOT
from intake_cli.layer import layer_requirements, runtime_closure


@dataclass(frozen=True)
class Interpreter:
    """The Python the cold starts run under, and what the report says about it."""

    path: str
    version: str
    is_313: bool
    note: str


def _version(path: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603  (an interpreter found on this machine, a fixed script)
            [path, "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _pyenv_root() -> Path:
    """Where pyenv installs its versions: ``$PYENV_ROOT``, by default ``~/.pyenv``."""
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def python313() -> Interpreter:
    """A python3.13 to run cold starts under: ``$PYTHON313``, ``make python3.13``'s, PATH's, pyenv's, /opt/py313's.

    The same places ``make build`` looks (layers/shared/Makefile), so "as shipped" is what a
    build on this machine ships.

    Lambda runs python3.13, whose start-up (and bytecode) differs from other versions. Without
    one, the local interpreter is used, and the report says so.
    """
    candidates = [
        os.environ.get("PYTHON313", ""),
        str(ROOT / ".venv" / "tools" / "python3.13" / "bin" / "python3.13"),
        *[str(Path(entry) / "python3.13") for entry in os.environ.get("PATH", "").split(os.pathsep) if entry],
        *[str(path) for path in sorted(_pyenv_root().glob("versions/3.13*/bin/python3.13"))],
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            version = _version(candidate)
            if version and version.startswith("3.13."):
                return Interpreter(candidate, version, True, f"cold starts under Python {version} ({candidate})")
    local = platform.python_version()
    return Interpreter(
        sys.executable,
        local,
        False,
        f"no python3.13 found: cold starts under the local Python {local}, and the layer as built has no bytecode",
    )


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


def _compile(interpreter: str, directory: Path) -> None:
    subprocess.run(  # noqa: S603  (an interpreter found on this machine, compileall)
        [interpreter, "-m", "compileall", "-q", "-j", "0", str(directory)], check=True, capture_output=True
    )


def _strip_bytecode(directory: Path) -> None:
    for cache in directory.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


@dataclass(frozen=True)
class LambdaLayout:
    """Directories that stand in for ``/opt/python`` and the runtime, and how they were made."""

    interpreter: Interpreter
    layer_as_shipped: Path
    layer_without_bytecode: Path
    layer_with_bytecode: Path
    runtime: Path
    shipped_has_bytecode: bool
    build_log: str


def _build_layer(interpreter: Interpreter, target: Path) -> str:
    """``make build-SharedLayer`` into ``target`` (the recipe ``sam build`` runs); its output."""
    machine = platform.machine().lower()
    make = shutil.which("make") or "make"
    done = subprocess.run(  # noqa: S603  (make, with fixed arguments)
        [
            make,
            "-C",
            str(LAYER_DIR),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={target}",
            f"PYTHON={sys.executable}",
            f"PYTHON313={interpreter.path if interpreter.is_313 else ''}",
            f"LAYER_PLATFORM=manylinux2014_{'aarch64' if machine in {'arm64', 'aarch64'} else machine}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = "\n".join(line for line in (done.stdout + done.stderr).splitlines() if "Location" not in line)
    if done.returncode != 0:
        raise RuntimeError(f"building the layer failed:\n{output[-3000:]}")
    return output


def _copy_layer(target: Path) -> str:
    """Without a python3.13 the built layer's binary wheels (cp313) cannot load here: the same layer
    from this virtual environment's own distributions instead (the same versions: the layer's pins
    are what this environment installs)."""
    for requirement in layer_requirements():
        _copy_distribution(requirement.name, target / "python")
    shutil.copytree(
        LAYER_DIR / "webhook_intake",
        target / "python" / "webhook_intake",
        ignore=shutil.ignore_patterns("__pycache__", "client.py"),
    )
    return "layer copied from the local virtual environment (no python3.13 to import a python3.13 build)"


def build(root: Path) -> LambdaLayout:
    """Build the layer variants and the runtime's boto3 under ``root``."""
    interpreter = python313()
    shipped = root / "layer-as-shipped"
    log = _build_layer(interpreter, shipped) if interpreter.is_313 else _copy_layer(shipped)
    layout = LambdaLayout(
        interpreter=interpreter,
        layer_as_shipped=shipped / "python",
        layer_without_bytecode=root / "layer-without-bytecode" / "python",
        layer_with_bytecode=(shipped if interpreter.is_313 else root / "layer-with-bytecode") / "python",
        runtime=root / "runtime",
        shipped_has_bytecode=interpreter.is_313,
        build_log=log,
    )
    shutil.copytree(layout.layer_as_shipped, layout.layer_without_bytecode)
    _strip_bytecode(layout.layer_without_bytecode)
    if not interpreter.is_313:
        shutil.copytree(layout.layer_without_bytecode, layout.layer_with_bytecode)
        _compile(interpreter.path, layout.layer_with_bytecode)
    for name in sorted(runtime_closure()):
        _copy_distribution(name, layout.runtime)
    _compile(interpreter.path, layout.runtime)
    return layout
