"""`make setup` with a Python the project does not support says so, and how to name another.

A stand-in interpreter (a shell script) plays the unsupported Python: nothing is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fake_python(path: Path, version: str, *, stream: int = 1) -> Path:
    """An executable that answers ``--version`` as that Python (on ``stream``: Python 2 wrote it on 2) and fails
    every other call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    answer = f'echo "Python {version}" >&{stream}'
    path.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then {answer}; exit 0; fi\nexit 1\n')
    path.chmod(0o755)
    return path


def setup(venv: Path, python: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "setup", f"VENV={venv}", f"PYTHON={python}"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_unsupported_python_is_named_before_any_environment_is_made(tmp_path: Path) -> None:
    # Given python3 is a Python outside the project's range
    python = fake_python(tmp_path / "bin" / "python3", "3.10.13")

    # When make setup runs with it
    done = setup(tmp_path / "venv", python)

    # Then it stops in one line naming the version and the variable to choose another, and makes nothing
    assert done.returncode != 0
    assert "Python 3.10.13" in done.stderr
    assert "needs Python 3.11-3.13" in done.stderr
    assert "PYTHON=" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_a_python_2_is_named_by_its_version(tmp_path: Path) -> None:
    # Given python is a Python 2 (still the `python` of older systems), which prints its version on stderr
    python = fake_python(tmp_path / "bin" / "python", "2.7.18", stream=2)

    # When make setup runs with it
    done = setup(tmp_path / "venv", python)

    # Then the line that stops it names that version, as for any other unsupported Python
    assert done.returncode != 0
    assert f"{python} is Python 2.7.18, and webhook-intake needs Python 3.11-3.13" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_a_python_that_does_not_run_is_answered_with_one_that_does(tmp_path: Path) -> None:
    # Given python3.12 on PATH is a pyenv shim of a version not selected (it fails when run), and pyenv
    # has that version installed
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python3.12").write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    (shims / "python3.12").chmod(0o755)
    installed = tmp_path / "home" / ".pyenv" / "versions" / "3.12.1" / "bin" / "python3.12"
    installed.parent.mkdir(parents=True)
    installed.symlink_to(sys.executable)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "PATH": f"{shims}:{os.environ['PATH']}"}
    env.pop("PYENV_ROOT", None)

    # When make setup runs naming it, as its README and its own error line say to
    done = subprocess.run(
        ["make", "--no-print-directory", "setup", f"VENV={tmp_path / 'venv'}", "PYTHON=python3.12"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip

    # Then it stops, and the command it offers names a Python that runs, not the one that just failed
    assert done.returncode != 0
    assert "python3.12 is no Python that runs here" in done.stderr
    offered = re.search(r"make setup PYTHON=(\S+)", done.stderr)
    assert offered, done.stderr
    assert offered.group(1) != "python3.12"
    check = subprocess.run(
        [offered.group(1), "-c", "import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))"],
        check=False, env=env, capture_output=True,
    )  # fmt: skip
    assert check.returncode == 0
    assert not (tmp_path / "venv").exists()


def test_an_environment_made_by_an_unsupported_python_is_named_not_reused(tmp_path: Path) -> None:
    # Given .venv/ was made by a Python outside the range (a first make setup with the wrong python3)
    venv = tmp_path / "venv"
    fake_python(venv / "bin" / "python", "3.10.13")

    # When make setup runs again, naming a supported Python
    done = setup(venv, sys.executable)

    # Then it says the environment is the problem and how to make it again, rather than fail in pip
    assert done.returncode != 0
    assert "Python 3.10.13" in done.stderr
    assert f"rm -rf {venv}" in done.stderr
    assert "requires a different Python" not in done.stderr + done.stdout


def test_the_range_make_setup_checks_is_pyprojects() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", requires).groups()  # type: ignore[union-attr]
    makefile = (ROOT / "Makefile").read_text()
    assert f"(3, {low}) <= sys.version_info[:2] <= (3, {int(high) - 1})" in makefile
    assert f"PY_RANGE := 3.{low}-3.{int(high) - 1}" in makefile


def test_an_environment_whose_python_is_gone_is_named_not_made_again_over_it(tmp_path: Path) -> None:
    # Given .venv/ was made by a Python since removed (a pyenv version uninstalled, a system upgrade):
    # its interpreter is a link to nothing
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "gone" / "python3.12")

    # When make setup runs again, naming a supported Python
    done = setup(venv, sys.executable)

    # Then it says the environment is the problem and how to make it again, rather than fail running it
    assert done.returncode != 0
    assert "a Python that no longer runs" in done.stderr
    assert f"rm -rf {venv}" in done.stderr
    assert "No such file or directory" not in done.stderr + done.stdout
    assert not (venv / "pyvenv.cfg").exists()


def supported_python(path: Path, calls: Path) -> Path:
    """A stand-in for the Python make setup was given: notes each call; ``-m venv DIR`` makes DIR with one like it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f'echo "$0 $*" >> "{calls}"\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi\n'
        "exit 0\n"
    )
    path.chmod(0o755)
    return path


def test_the_template_checks_tools_are_made_with_the_environments_python(tmp_path: Path) -> None:
    # Given .venv/ was made naming a supported Python (make setup PYTHON=python3.12), because the
    # python3 on PATH is outside the range (Amazon Linux 2's is 3.7: no checkov 3 installs on it)
    calls = tmp_path / "calls"
    venv = tmp_path / "venv"
    supported_python(venv / "bin" / "python", calls)
    (venv / ".installed").touch()
    fake_python(tmp_path / "bin" / "python3", "3.7.16")
    path = f"{tmp_path / 'bin'}:{os.environ['PATH']}"

    # When make makes the environment checkov runs in (make validate's first step), naming no Python
    done = subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", f"{venv}/tools/checkov/bin/checkov"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": path},
    )  # fmt: skip

    # Then the Python make setup checked makes it, not whatever python3 is
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{venv}/bin/python -m venv {venv}/tools/checkov" in calls.read_text()


def test_checkov_runs_in_a_clone_whose_path_holds_a_space(tmp_path: Path) -> None:
    # Given the environment checkov runs in, made in a clone under "my projects/": pip writes the path of its
    # Python on the first line of checkov's script, and the kernel reads that line only up to the space
    calls = tmp_path / "calls"
    venv = tmp_path / "venv"
    for tool in ("sam", "cfn-lint", "python"):  # make validate's other steps: done, here
        stand_in = venv / "bin" / tool
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\nexit 0\n")
        stand_in.chmod(0o755)
    (venv / ".installed").touch()
    supported_python(venv / "tools" / "checkov" / "bin" / "python", calls)
    checkov = venv / "tools" / "checkov" / "bin" / "checkov"
    checkov.write_text(f"#!{tmp_path}/my projects/venv/tools/checkov/bin/python\nimport sys\n")
    checkov.chmod(0o755)

    # When make validate runs
    done = subprocess.run(
        ["make", "--no-print-directory", "validate", f"VENV={venv}", f"EXPANDED={tmp_path}/expanded.json",
         f"TRANSLATED={tmp_path}/translated.json"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    # Then checkov ran, by its environment's Python
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{checkov} --config-file .checkov.yaml --file {tmp_path}/expanded.json" in calls.read_text()


def python_without_pip(path: Path, calls: Path) -> Path:
    """A supported Python in an environment whose creation was stopped before venv put pip in: ``-m pip`` fails
    as Python does without it until ``-m ensurepip`` runs; every call is noted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pip = path.parent / "pip-installed"
    path.write_text(
        "#!/bin/sh\n"
        f'echo "$0 $*" >> "{calls}"\n'
        f'if [ "$1" = "-m" ] && [ "$2" = "ensurepip" ]; then touch "{pip}"; exit 0; fi\n'
        f'if [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ ! -e "{pip}" ]; then\n'
        '  echo "$0: No module named pip" >&2; exit 1\n'
        "fi\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ "$3" = "install" ]; then echo "Successfully installed it"; fi\n'
        "exit 0\n"
    )
    path.chmod(0o755)
    return path


def test_an_environment_left_without_pip_by_a_stopped_first_run_is_completed(tmp_path: Path) -> None:
    # Given the first make demo was stopped (Ctrl-C) while venv was making .venv/: its Python is there, pip is not
    calls = tmp_path / "calls"
    venv = tmp_path / "venv"
    python_without_pip(venv / "bin" / "python", calls)

    # When make setup runs again
    done = setup(venv, sys.executable)

    # Then it puts pip in and installs, rather than fail on every run until .venv/ is removed by hand
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No module named pip" not in done.stderr
    assert "has no pip" in done.stdout
    assert "-e .[dev]" in calls.read_text()
    assert (venv / ".installed").exists()


def test_an_environment_carried_along_with_a_moved_clone_is_named_not_run(tmp_path: Path) -> None:
    # Given make setup ran in the clone, which was then moved or copied (mv webhook-intake "Jane's projects/"):
    # .venv/'s scripts and its install of the project still name the directory it was made in
    calls = tmp_path / "calls"
    venv = tmp_path / "venv"
    python_without_pip(venv / "bin" / "python", calls)
    assert setup(venv, sys.executable).returncode == 0
    moved = tmp_path / "Jane's projects" / "webhook-intake"
    for name in ("pyproject.toml", "layers/shared/requirements.txt"):
        (moved / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, moved / name)

    # When make demo runs in the clone's new place
    done = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "demo", f"VENV={venv}"],
        check=False, cwd=moved, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    # Then it says where .venv/ was made and how to make it again, rather than fail to run its scripts
    assert done.returncode != 0
    assert f"error: {venv}/ was made in {ROOT}" in done.stderr, done.stderr
    assert f"rm -rf {venv}" in done.stderr
    assert "required file not found" not in done.stderr


def test_a_first_environment_venv_cannot_put_pip_in_says_why(tmp_path: Path) -> None:
    # Given a supported Python whose venv stops at putting pip in, as it does with TMPDIR on a full (or small)
    # tmpfs: it says only that ensurepip "returned non-zero exit status 1", and leaves .venv/ with its Python
    python = tmp_path / "bin" / "python3"
    python.parent.mkdir(parents=True)
    python.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "--version "*) echo "Python 3.12.1";;\n'
        '  "-c "*) exit 0;;\n'
        '  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python"\n'
        "    echo \"Error: Command '['$3/bin/python', '-m', 'ensurepip']' returned non-zero exit status 1.\" >&2\n"
        "    exit 1;;\n"
        '  "-m ensurepip") echo "OSError: [Errno 28] No space left on device" >&2; exit 1;;\n'
        "  *) exit 1;;\n"
        "esac\n"
    )
    python.chmod(0o755)
    venv = tmp_path / "venv"

    # When make setup runs with it for the first time
    done = setup(venv, python)

    # Then the reason is shown (pip is put in where it can be seen failing), and what to do after
    assert done.returncode != 0
    assert "No space left on device" in done.stderr, done.stderr
    said = done.stderr[done.stderr.index("error:") :]
    assert said.startswith(f"error: pip could not be put in {venv}/ (above: why")
    assert f"rm -rf {venv}" in said


def test_an_environment_pip_cannot_be_put_in_says_how_to_make_it_again(tmp_path: Path) -> None:
    # Given a .venv/ left without pip by a venv that could not put it in (Debian or Ubuntu without the venv
    # package: venv stops there, leaving its Python, and that Python has no ensurepip either)
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-c" ]; then exit 0; fi\n'
        'if [ "$1" = "-m" ]; then echo "$0: No module named $2" >&2; exit 1; fi\n'
        "exit 0\n"
    )
    python.chmod(0o755)

    # When make setup runs again
    done = setup(venv, sys.executable)

    # Then it stops there, saying what to do, rather than end on Python's word alone and a make error
    assert done.returncode != 0
    assert "upgrading pip" not in done.stdout
    assert "error:" in done.stderr, done.stderr
    said = done.stderr[done.stderr.index("error:") :]
    assert f"rm -rf {venv}" in said
    assert "apt install python3-venv" in said
