"""The ``intake`` command's entry point (``python -m intake_cli`` too).

Standard library only until the command line is read: Ctrl-C while the CLI loads (its imports, then typer
reading every command's options: a second or two on a busy machine) ends as Ctrl-C during a command does,
with exit status 130 and no traceback.

SIGTERM (a cancelled CI job, ``timeout``, ``kill``) and SIGHUP (the terminal closed) are taken as Ctrl-C is, with
its clean-up (dead letters read to be listed are made visible again, a redrive says what went back), and end with
exit status 128 + the signal (143, 129), as a shell expects of a command the signal stopped. One the parent ignored
(``nohup`` ignores SIGHUP) stays ignored. What a command still says after its terminal is gone (the newline, the
``stopped by SIGHUP after: …`` line) goes nowhere, and changes neither its clean-up nor its exit status.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
from typing import Any

from intake_cli.stopping import (
    TAKEN_AS_CTRL_C,
    leave_gone_terminals,
    note_terminals,
    point_at_null,
    stop_as_ctrl_c,
)

# botocore signs with awscrt when it is installed (SAM CLI brings it into .venv/), and awscrt hands the
# signature back through a callback that swallows an exception raised in it: Ctrl-C landing there leaves
# the request waiting for ever on a signature that never comes. botocore's own signer is plain Python,
# where Ctrl-C ends the command; it is also the one Lambda's runtime, which has no awscrt, signs with.
# Read when botocore is first imported, so it is set before anything loads it.
os.environ["BOTO_DISABLE_CRT"] = "true"

CTRL_C_STATUS = 130

_terminated: list[int] = []


def _stop_as_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM or SIGHUP raises what Ctrl-C raises, so that every command's Ctrl-C clean-up runs for it too."""
    _terminated.append(signum)
    leave_gone_terminals()
    stop_as_ctrl_c(signum, frame)


class ClosedOutput(io.TextIOBase):
    """Standard output for a command started with none (``intake status >&-``), where Python gives ``None``.

    A write fails as one to a closed file does, so that the command ends with one error line and status 1,
    as ``ls`` does there, rather than with a traceback, or with nothing said and status 0 (``print`` and
    ``typer.echo`` skip a missing standard output: a script would take that for an empty result).
    """

    encoding = "utf-8"

    def writable(self) -> bool:
        """Written to, as standard output is; each write fails."""
        return True

    def write(self, text: str) -> int:
        """No file takes the text: the error a write to a closed file descriptor gets."""
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def isatty(self) -> bool:
        """Not a terminal: no colours, no progress bars."""
        return False


def _closed_output() -> None:
    """A closed standard output becomes :class:`ClosedOutput`, its descriptor the null device's: a file the
    command opens later (the local stack's log, a socket) must never get descriptor 1 and take stray output."""
    if sys.stdout is not None:
        return
    point_at_null(1)
    sys.stdout = ClosedOutput()


def run() -> None:
    """Load the CLI and run the command line."""
    _closed_output()
    note_terminals()
    for signum in TAKEN_AS_CTRL_C:
        if signal.getsignal(signum) == signal.SIG_DFL:  # one ignored by the parent stays ignored
            signal.signal(signum, _stop_as_ctrl_c)
    try:
        from intake_cli.main import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        raise SystemExit(_stopped_status()) from None
    except SystemExit as ended:
        # A command that ends Ctrl-C with 130 ends a signal taken as it with 128 + the signal (SIGTERM: 143); one
        # that ends Ctrl-C otherwise (`tail`: 0) alike.
        if _terminated and ended.code == CTRL_C_STATUS:
            raise SystemExit(_stopped_status()) from None
        raise


def _stopped_status() -> int:
    """The exit status of a command stopped by Ctrl-C, or by the first signal taken as it (128 + the signal)."""
    return 128 + _terminated[0] if _terminated else CTRL_C_STATUS


if __name__ == "__main__":
    run()
