"""The layer's build recipe (what `sam build` runs) says whether the layer has Python 3.13 bytecode.

Run with pip replaced by ``true`` (no download): what is checked is the recipe's own steps.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(target: Path, python313: str) -> subprocess.CompletedProcess[str]:
    (target / "python").mkdir(parents=True)  # pip's --target would make it
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT / "layers/shared"), "build-SharedLayer",
         f"ARTIFACTS_DIR={target}", "PLATFORM_PIP=true", f"PYTHON313={python313}"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip


def bytecode(target: Path) -> list[Path]:
    return list((target / "python" / "webhook_intake").rglob("*.pyc"))


def test_without_a_python313_the_build_warns_on_stdout_and_ships_no_bytecode(tmp_path: Path) -> None:
    done = build(tmp_path, "")
    # sam build shows a make step's standard output: the warning must be there, not on stderr.
    assert "WARNING: no python3.13 found: the layer ships without bytecode" in done.stdout
    assert (tmp_path / "python" / "webhook_intake" / "__init__.py").is_file()
    assert bytecode(tmp_path) == []


def test_with_a_python313_the_build_compiles_the_layer_and_says_by_which(tmp_path: Path) -> None:
    done = build(tmp_path, sys.executable)  # any interpreter stands for one here: the recipe is what is tested
    assert f"bytecode compiled for Python 3.13 by {sys.executable}" in done.stdout
    assert "WARNING" not in done.stdout
    assert bytecode(tmp_path)
    assert not list((tmp_path / "python" / "webhook_intake").rglob("client.py"))
