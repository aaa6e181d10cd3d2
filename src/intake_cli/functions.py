"""The template's functions running in this process, as Lambda runs them.

Their environment, their init phase, one thread per SQS event source mapping, and where
what they log and print goes: a log file, as CloudWatch Logs would hold it, not the terminal.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.target import IntakeError

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from intake_cli.poller import QueuePoller
    from intake_cli.runtime import LocalRuntime

LOG = logging.getLogger("intake.stack")


class ProcessEnvironment:
    """os.environ changes that restore() undoes (the stack may run inside a longer process)."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, values: dict[str, str], remove: tuple[str, ...] = ()) -> None:
        """Set ``values`` and unset ``remove``, remembering what was there first."""
        for name in [*values, *remove]:
            self._saved.setdefault(name, os.environ.get(name))
        os.environ.update(values)
        for name in remove:
            os.environ.pop(name, None)

    def restore(self) -> None:
        """os.environ as it was before the first set()."""
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


def shared_environment(runtime: LocalRuntime) -> dict[str, str]:
    """Variables every function has with the same value (the template's Globals).

    They are set for the whole process, because handlers also read them while running
    (Powertools reads its metrics namespace when a single metric is written), as they
    would in Lambda. Per-function ones (VENDOR, QUEUE_URL...) are set while each
    function's module loads.
    """
    environments = [function.environment for function in runtime.functions.values()]
    if not environments:
        return {}
    shared = dict(environments[0])
    for environment in environments[1:]:
        shared = {name: value for name, value in shared.items() if environment.get(name) == value}
    return shared


class InitError(IntakeError):
    """A handler failed its init phase (its module raised while loading): the stack does not start."""


def load_handlers(runtime: LocalRuntime, logs: LogRouting) -> None:
    """Import every handler now (Lambda's init phase), each with its own environment; their loggers write to the log.

    A handler that fails to load raises :class:`InitError`, its traceback written to the log (as Lambda
    writes an init error to the function's log group).
    """
    for logical_id, function in runtime.functions.items():
        try:
            _ = function.handler
        except Exception as exc:
            LOG.exception("%s failed its init phase", logical_id)
            # A KeyError's text is its argument quoted: the argument itself reads better.
            reason = (
                exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc) or type(exc).__name__
            )
            raise InitError(f"{logical_id} failed its init phase: {reason} (the traceback is in {logs.path})") from None
    logs.capture_powertools_loggers()


def reset_client_cache() -> None:
    """Handlers' cached boto3 clients read AWS_ENDPOINT_URL when made: make them again."""
    from webhook_intake.clients import reset

    reset()


def poll_until(stopping: threading.Event, poller: QueuePoller) -> None:
    """One event source mapping, until ``stopping``: long-poll, gather a batch for the window, invoke, repeat."""
    while not stopping.is_set():
        try:
            poller.poll_once(wait_seconds=1, batching_window=poller.source.batching_window)
        except (BotoCoreError, ClientError):
            if stopping.is_set():
                return
            LOG.exception("polling %s failed; retrying in 1 s", poller.source.queue_id)
            stopping.wait(1)


class LogRouting:
    """Handler logs, EMF metric lines, moto's request log and warnings go to the log file, not the terminal."""

    # moto's server logs every request (pollers long-poll all the time) at INFO: keep its warnings only.
    _ROUTED: ClassVar[dict[str, int]] = {
        "intake": logging.INFO,
        "werkzeug": logging.WARNING,
        "py.warnings": logging.INFO,
    }

    def __init__(self, path: Path, capture_stdout: bool) -> None:
        self.path = path
        self.capture_stdout = capture_stdout
        self._file: TextIO | None = None
        self._handler: logging.Handler | None = None
        self._saved_levels: dict[str, tuple[int, bool]] = {}
        self._saved_streams: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._saved_stdout: TextIO | None = None

    def start(self) -> None:
        """Open the log file and point the routed loggers (and stdout, if captured) at it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._handler = logging.StreamHandler(self._file)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        for name, level in self._ROUTED.items():
            logger = logging.getLogger(name)
            self._saved_levels[name] = (logger.level, logger.propagate)
            logger.addHandler(self._handler)
            logger.setLevel(level)
            logger.propagate = False
        logging.captureWarnings(True)
        if self.capture_stdout:
            self._saved_stdout = sys.stdout
            sys.stdout = self._file

    def capture_powertools_loggers(self) -> None:
        """Point every Powertools logger's handler at the log file (they are made writing to stdout)."""
        for logger in list(logging.root.manager.loggerDict.values()):
            handler = getattr(logger, "powertools_handler", None)
            if isinstance(handler, logging.StreamHandler) and self._file is not None:
                self._saved_streams.append((handler, swap_stream(handler, self._file)))

    def stop(self) -> None:
        """Loggers, Powertools handlers and stdout as they were; the file closed."""
        if self._saved_stdout is not None:
            sys.stdout = self._saved_stdout
            self._saved_stdout = None
        for handler, stream in self._saved_streams:
            swap_stream(handler, stream)
        self._saved_streams.clear()
        logging.captureWarnings(False)
        for name, (level, propagate) in self._saved_levels.items():
            logger = logging.getLogger(name)
            if self._handler is not None:
                logger.removeHandler(self._handler)
            logger.setLevel(level)
            logger.propagate = propagate
        self._saved_levels.clear()
        if self._file is not None:
            self._file.close()
            self._file = None


def swap_stream(handler: logging.StreamHandler[Any], stream: Any) -> Any:
    """Point ``handler`` at ``stream``; the stream it had.

    Unlike ``setStream`` the old stream is not flushed: a handler made while something else held
    stdout (a test runner's capture, an earlier stack) may still hold that stream, closed since.
    """
    handler.acquire()
    try:
        previous = handler.stream
        handler.stream = stream
    finally:
        handler.release()
    return previous
