"""The ``intake`` command's entry point (``python -m intake_cli`` too).

Standard library only until the command line is read: Ctrl-C while the CLI loads (its imports, then typer
reading every command's options: a second or two on a busy machine) ends as Ctrl-C during a command does,
with exit status 130 and no traceback.
"""

from __future__ import annotations

import os
import sys

# botocore signs with awscrt when it is installed (SAM CLI brings it into .venv/), and awscrt hands the
# signature back through a callback that swallows an exception raised in it: Ctrl-C landing there leaves
# the request waiting for ever on a signature that never comes. botocore's own signer is plain Python,
# where Ctrl-C ends the command; it is also the one Lambda's runtime, which has no awscrt, signs with.
# Read when botocore is first imported, so it is set before anything loads it.
os.environ["BOTO_DISABLE_CRT"] = "true"


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
