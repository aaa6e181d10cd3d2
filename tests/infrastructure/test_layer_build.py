"""The layer's build recipe (what `sam build` runs) says whether the layer has Python 3.13 bytecode.

Run with pip replaced by ``true`` (no download): what is checked is the recipe's own steps.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(target: Path, python313: str | None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The recipe run into ``target``; ``python313=None`` leaves the recipe to find one."""
    (target / "python").mkdir(parents=True)  # pip's --target would make it
    given = [] if python313 is None else [f"PYTHON313={python313}"]
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT / "layers/shared"), "build-SharedLayer",
         f"ARTIFACTS_DIR={target}", "PLATFORM_PIP=true", *given],
        capture_output=True, text=True, check=True, timeout=120, env=env,
    )  # fmt: skip


def fake_python313(path: Path) -> Path:
    """A python3.13 at ``path``: it says it is 3.13 and compiles with the interpreter running the tests."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = -c ]; then exec "{sys.executable}" -c'
        " 'import sys; sys.version_info = (3, 13, 0); exec(sys.argv.pop(1))' \"$2\"; fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    path.chmod(0o755)
    return path


def without_python313(home: Path, *first: Path, pyenv_root: Path | None = None) -> dict[str, str]:
    """An environment whose PATH holds ``first`` and the system's tools, whose HOME is ``home``, and whose
    PYENV_ROOT is ``pyenv_root`` (pyenv's default, ``~/.pyenv``, when None)."""
    env = {**os.environ, "HOME": str(home), "PATH": os.pathsep.join([*map(str, first), "/usr/bin", "/bin"])}
    env.pop("PYENV_ROOT", None)
    return env if pyenv_root is None else {**env, "PYENV_ROOT": str(pyenv_root)}


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


def test_a_python313_in_a_directory_whose_name_holds_a_space_is_found_on_path(tmp_path: Path) -> None:
    # `make python3.13` builds one into the clone's .venv/tools/, and a clone may be in "my projects/".
    python313 = fake_python313(tmp_path / "my projects" / "wébhook intake" / "bin" / "python3.13")
    done = build(tmp_path / "out", None, without_python313(tmp_path / "home", python313.parent))
    assert f"bytecode compiled for Python 3.13 by {python313}" in done.stdout
    assert bytecode(tmp_path / "out")


def test_a_python313_pyenv_installed_under_a_home_whose_name_holds_a_space_is_found(tmp_path: Path) -> None:
    home = tmp_path / "Jane Doe"
    python313 = fake_python313(home / ".pyenv" / "versions" / "3.13.5" / "bin" / "python3.13")
    done = build(tmp_path / "out", None, without_python313(home))
    assert f"bytecode compiled for Python 3.13 by {python313}" in done.stdout
    assert bytecode(tmp_path / "out")


def test_a_python313_installed_by_a_pyenv_whose_root_is_not_in_home_is_found(tmp_path: Path) -> None:
    # pyenv installs its versions under $PYENV_ROOT (a shared /opt/pyenv, say); its shim on PATH fails
    # when 3.13 is not the version selected, so the version's own interpreter is the one that runs.
    python313 = fake_python313(tmp_path / "opt" / "py env" / "versions" / "3.13.5" / "bin" / "python3.13")
    env = without_python313(tmp_path / "home", pyenv_root=tmp_path / "opt" / "py env")
    done = build(tmp_path / "out", None, env)
    assert f"bytecode compiled for Python 3.13 by {python313}" in done.stdout
    assert "WARNING" not in done.stdout
    assert bytecode(tmp_path / "out")


def fake_cpython_source(archive: Path) -> str:
    """A source archive laid out as CPython's, whose install names its prefix unquoted as CPython's Makefile does;
    its SHA-256."""
    tree = archive.parent / "tree" / "Python-3.13.5"
    tree.mkdir(parents=True)
    (tree / "configure").write_text(
        "#!/bin/sh\n"
        'for a; do case "$a" in --prefix=*) prefix="${a#--prefix=}";; esac; done\n'
        "printf 'prefix=%s\\nall:\\n\\ttrue\\naltinstall:\\n\\tmkdir -p $(prefix)/bin\\n"
        '\\tcp python $(prefix)/bin/python3.13\\n\' "$prefix" > Makefile\n'
    )
    (tree / "configure").chmod(0o755)
    (tree / "python").write_text("#!/bin/sh\necho 'Python 3.13.5'\n")
    (tree / "python").chmod(0o755)
    subprocess.run(["tar", "-cJf", str(archive), "-C", str(tree.parent), tree.name], check=True)
    return hashlib.sha256(archive.read_bytes()).hexdigest()


def test_make_python313_installs_into_a_clone_whose_path_holds_a_space(tmp_path: Path) -> None:
    # Given a clone under "my projects/" (CPython's install cuts its prefix at a space)
    archive = tmp_path / "python3.13.tar.xz"
    digest = fake_cpython_source(archive)
    clone = tmp_path / "my projects" / "wébhook intake"
    clone.mkdir(parents=True)

    # When make python3.13 builds one there
    done = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "python3.13",
         f"PY313_SOURCE=file://{archive}", f"PY313_SHA256={digest}"],
        cwd=clone, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    # Then it is in the clone's .venv/tools/, where make build looks for it
    assert done.returncode == 0, done.stdout + done.stderr
    assert (clone / ".venv" / "tools" / "python3.13" / "bin" / "python3.13").is_file()
