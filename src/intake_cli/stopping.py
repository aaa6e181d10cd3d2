"""The signals the ``intake`` command takes as Ctrl-C, how what stopped a command is named, and the terminal that
went with a SIGHUP.

Standard library only: the entry point (``__main__``) installs the handler before the CLI loads.
"""

from __future__ import annotations

import os
import signal
from typing import Any

TAKEN_AS_CTRL_C: tuple[signal.Signals, ...] = (
    signal.SIGTERM,
    *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()),
)
"""SIGTERM (a cancelled CI job, ``timeout``, ``kill``) and, where the platform has it, SIGHUP (the terminal closed):
each ends a command with Ctrl-C's clean-up, where left to it (not ignored by the parent: ``nohup``)."""


def heeded() -> list[signal.Signals]:
    """The signals of :data:`TAKEN_AS_CTRL_C` not ignored by the parent (``nohup`` ignores SIGHUP): an ignored one
    stays ignored."""
    return [signum for signum in TAKEN_AS_CTRL_C if signal.getsignal(signum) != signal.SIG_IGN]


class Stopped(KeyboardInterrupt):
    """What Ctrl-C raises, raised for a signal taken as Ctrl-C: every command's Ctrl-C clean-up runs for it, and
    what the command says of the stop can name the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stop_as_ctrl_c(signum: int, frame: Any) -> None:
    """A signal handler: raise :class:`Stopped` for ``signum``."""
    raise Stopped(signum)


def what_stopped(interrupt: KeyboardInterrupt) -> str:
    """What stopped a command, as it says so: the signal's name (SIGTERM), or Ctrl-C."""
    if isinstance(interrupt, Stopped):
        return signal.Signals(interrupt.signum).name
    return "Ctrl-C"


_STANDARD_STREAMS = (1, 2)

_terminals: list[int] = []
"""Which of standard output and standard error were a terminal when the command started."""


def note_terminals() -> None:
    """Note which of standard output and standard error are a terminal now, as the command starts."""
    _terminals[:] = [descriptor for descriptor in _STANDARD_STREAMS if os.isatty(descriptor)]


def leave_gone_terminals() -> None:
    """A standard stream whose terminal is gone (closed: the SIGHUP that came with it) is pointed at the null device.

    Every write to a terminal that is gone fails (EIO), and the command still writes as it stops: the clean-up's
    last word, the final flush. Failing there, it would end with a traceback and status 1, its stop's status lost.
    A terminal that is still there (``kill -HUP``) is left as it is: it still shows what the command says. Called by
    every handler of a signal taken as Ctrl-C: the entry point's, and ``serve``'s while it waits."""
    for descriptor in _terminals:
        if not os.isatty(descriptor):
            point_at_null(descriptor)


def point_at_null(descriptor: int) -> None:
    """``descriptor`` made the null device's (a closed one opened afresh as it); left as it is when that fails."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    if null == descriptor:  # it was closed: the lowest free descriptor is the one opened
        return
    try:
        os.dup2(null, descriptor)
    except OSError:
        pass
    finally:
        os.close(null)
