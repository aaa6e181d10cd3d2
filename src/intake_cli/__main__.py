"""The ``intake`` command's entry point (``python -m intake_cli`` too).

Standard library only until the command line is read: Ctrl-C while the CLI loads (its imports, then typer
reading every command's options: a second or two on a busy machine) ends as Ctrl-C during a command does,
with exit status 130 and no traceback.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Load the CLI and run the command line."""
    try:
        from intake_cli.main import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    run()
