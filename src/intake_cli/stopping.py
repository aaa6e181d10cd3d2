"""The signals the ``intake`` command takes as Ctrl-C, and how what stopped a command is named.

Standard library only: the entry point (``__main__``) installs the handler before the CLI loads.
"""

from __future__ import annotations

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
