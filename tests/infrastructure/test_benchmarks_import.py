"""`make bench` and `make load` are not run by `make test`: at least every module of theirs must import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_benchmark_module_imports_with_the_code_as_it_is() -> None:
    modules = sorted(path.stem for path in (ROOT / "benchmarks").glob("*.py") if path.stem != "__main__")
    # A process of its own: the benchmarks must load before botocore (Lambda has no awscrt).
    code = "; ".join(["import importlib", *(f"importlib.import_module('benchmarks.{name}')" for name in modules)])
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
