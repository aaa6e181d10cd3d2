"""``intake serve`` and ``intake demo``: the local stack, from template.yaml."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from intake_cli.cli import IntakeCommand, SecretsOption, app, console, examples, reports_errors, state_dir
from intake_cli.local import LOCK_FILE_NAME, LOG_FILE_NAME, STATE_FILE_NAME
from intake_cli.parameters import LOG_LEVELS, checked
from intake_cli.target import IntakeError, read_local_state

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from rich.console import Console

    from intake_cli.stack import LocalStack, StackOptions

RetryVisibilityOption = Annotated[
    int,
    typer.Option(
        "--retry-visibility",
        min=0,
        metavar="SECONDS",
        help="Seconds before a failed record is retried. The one deliberate difference from AWS, where it "
        "waits the queue's visibility timeout (QueueVisibilityTimeout, 180 s by default): a record whose "
        "dependency keeps failing reaches its DLQ in seconds.",
    ),
]
LogLevelOption = Annotated[
    str | None,
    typer.Option(
        "--log-level",
        metavar="[" + "|".join(LOG_LEVELS) + "]",
        help="The template's LogLevel parameter (handler logs go to the state dir's log); "
        "checked like --parameter LogLevel=.",
        autocompletion=lambda: list(LOG_LEVELS),
        show_default=False,
    ),
]
ParameterOption = Annotated[
    list[str],
    typer.Option(
        "--parameter",
        metavar="NAME=VALUE",
        help="Template parameter override (repeatable), e.g. MaxReceiveCount=2; checked as CloudFormation "
        "checks it (name, Type, MinValue/MaxValue, AllowedValues).",
    ),
]
MAX_PORT = 65535
PortOption = Annotated[
    int,
    typer.Option(
        "--port", min=0, max=MAX_PORT, metavar="PORT", help="HTTP API port on 127.0.0.1 (0 picks a free one)."
    ),
]


def stack_options(
    directory: Path,
    *,
    port: int,
    aws_port: int,
    secrets: Path | None,
    retry_visibility: int,
    log_level: str | None,
    parameter: list[str],
    demo: bool = False,
    keep: bool = False,
) -> StackOptions:
    """The local stack's options, its parameters checked against template.yaml first."""
    from intake_cli.samples import DEV_SECRETS
    from intake_cli.stack import StackOptions
    from intake_cli.template import TemplateError, read

    try:
        declared = dict(read().get("Parameters") or {})
    except TemplateError as exc:
        raise IntakeError(str(exc)) from None
    parameters = checked(declared, parameter, log_level)
    options = StackOptions(
        port=port,
        aws_port=aws_port,
        secrets_file=secrets or DEV_SECRETS,
        retry_visibility=retry_visibility,
        parameters=parameters,
        log_file=directory / ("demo.log" if demo else LOG_FILE_NAME),
        state_file=directory / STATE_FILE_NAME if keep or not demo else None,
    )
    _writable(directory, options.log_file)
    return options


def _writable(directory: Path, log_file: Path) -> None:
    """The state dir takes the log (and stack.json beside it), or the stack is not started."""
    # The default is in the clone, which may be another user's or on a read-only mount.
    try:
        directory.mkdir(parents=True, exist_ok=True)
        log_file.open("a", encoding="utf-8").close()
    except OSError as exc:
        raise IntakeError(
            f"cannot write the state directory {directory} ({exc.strerror or exc}): "
            "name one you can write with --state-dir DIR or INTAKE_STATE_DIR"
        ) from None


@contextlib.contextmanager
def only_stack(directory: Path, command: str) -> Iterator[None]:
    """The state directory's lock (``stack.lock``), held while the block runs, or a second stack refused.

    stack.json is written only once the stack is up, seconds after it started: two ``serve`` started within
    those seconds would both see none and both run, on one log and one stack.json. The lock is the operating
    system's (``flock``), so it goes with the process that held it: a server killed with SIGKILL leaves the file,
    never the lock, and the next ``serve`` starts.
    """
    import fcntl

    with (directory / LOCK_FILE_NAME).open("a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise IntakeError(_already_running(directory, lock.read().strip() or "unknown", command)) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield


def _already_running(directory: Path, holder: str, command: str) -> str:
    beside = f"stop it, or start another beside it: intake --state-dir DIR {command}"
    running = read_local_state(directory)
    if running is not None:
        return f"a local stack is already running at {running.get('api_url')} (pid {running.get('pid')}): {beside}"
    return f"a local stack is starting from the state directory {directory} (pid {holder}): {beside}"


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Local stack",
    epilog=examples(
        "intake serve",
        "intake serve --port 0 --parameter MaxReceiveCount=2",
    ),
)
@reports_errors
def serve(
    ctx: typer.Context,
    port: PortOption = 3000,
    aws_port: Annotated[
        int,
        typer.Option("--aws-port", min=0, max=MAX_PORT, metavar="PORT", help="moto server port (0 picks a free one)."),
    ] = 0,
    secrets: SecretsOption = None,
    retry_visibility: RetryVisibilityOption = 1,
    log_level: LogLevelOption = None,
    parameter: ParameterOption = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Run the local stack until Ctrl-C, SIGTERM or SIGHUP; writes stack.json for the other commands.

    The terminal shows a line per HTTP request and, beside them, a line per consumer outcome
    (stored, duplicate, quarantined, dead-lettered), as `intake tail` prints them.
    """
    directory = state_dir(ctx)
    options = stack_options(
        directory,
        port=port,
        aws_port=aws_port,
        secrets=secrets,
        retry_visibility=retry_visibility,
        log_level=log_level,
        parameter=parameter,
    )
    with only_stack(directory, "serve --port 0"):
        _serve(options)


def _serve(options: StackOptions) -> None:
    """Start the stack, show it, and run it until a signal or until what reads its output stops."""
    from intake_cli.stack import BATCH_GRACE_SECONDS, LocalStack, stop_requests, wait_for_signal
    from intake_cli.stopping import heeded

    terminal = sys.stdout  # the stack sends what handlers print to its log; we keep the terminal
    out = console(terminal)
    stack = LocalStack(options)
    closed = threading.Event()
    stopping = at_once = False

    def withdrawn() -> None:
        """stack.json goes first; from then on a second Ctrl-C stops serve at once."""
        nonlocal stopping
        stopping = True
        stack.withdraw()
        if not closed.is_set():
            out.print(
                f"stopping: the consumers finish their batches ({BATCH_GRACE_SECONDS} s at most); "
                "Ctrl-C again stops at once"
            )

    try:
        try:
            with contextlib.ExitStack() as outcomes:
                # SIGTERM or SIGHUP from the start on (a supervisor may stop serve the moment stack.json is written)
                # is a stop asked, heeded once the stack is up, as in the wait; Ctrl-C during the start ends serve.
                # Once the wait is over, a second one is taken as a second Ctrl-C is, not recorded and passed over.
                with stop_requests(*heeded()) as terminated:
                    # Within the try: the status line's last write may fail (no standard output), and the stack is
                    # up then.
                    with out.status("Starting the local stack from template.yaml…"):
                        stack.start()
                    _show_stack(out, stack)
                    out.print("Ctrl-C to stop.")
                    closed = outcomes.enter_context(_alongside(out, stack))
                    wait_for_signal(closed, terminated)
                withdrawn()  # before the outcome lines end (up to 5 s), which a second Ctrl-C does not wait for
        except KeyboardInterrupt:
            # A second one while stopping ends serve where it stands (stack.json gone), as one while the consumers
            # finish their batches does.
            at_once = stopping
            if at_once:
                stack.withdraw()
                raise
            # Ctrl-C before the wait took it but once the stack was up stops it as one in the wait does; during the
            # start it ends serve.
            if not stack.started_at:
                raise
            withdrawn()
    finally:
        if not at_once:
            stack.stop()
    if closed.is_set():
        # Ended as any command whose output reader stopped (`intake serve | head`): quietly, status 141.
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
    said = stack.left.sentence() if stack.left else ""
    out.print(f"stopped; {said}" if said else "stopped")


def _show_stack(out: Console, stack: LocalStack) -> None:
    from intake_cli.render import routes_table

    state = stack.state()
    options = stack.options
    out.print(f"[bold]webhook-intake[/] local stack [cyan]{state['stack_name']}[/] is up")
    out.print(f"  API   [bold]{stack.api_url}[/]")
    out.print(f"  AWS   {stack.aws_endpoint_url} (moto, region {state['region']})")
    out.print(f"  state {options.state_file}   logs {options.log_file}")
    out.print(
        f"  failed records are retried after {options.retry_visibility} s "
        f"(AWS waits the queue's {state['parameters'].get('QueueVisibilityTimeout')} s visibility timeout)"
    )
    out.print(routes_table(list(state["routes"]), stack.api_url))


class _TerminalHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines on the terminal; a write to a pipe whose reader stopped sets ``closed`` rather than
    printing logging's traceback for each line."""

    def __init__(self, stream: Any, closed: threading.Event) -> None:
        super().__init__(stream)
        self.closed = closed

    def handleError(self, record: logging.LogRecord) -> None:
        """Logging's report of a failed write, but for a closed pipe: that one ends serve."""
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            self.closed.set()
            return
        super().handleError(record)


class _alongside:
    """The gateway's access lines and the consumers' outcome lines on the terminal while the block runs.

    The block gets an event set once what reads the terminal's lines stopped reading (a closed pipe).
    """

    def __init__(self, out: Console, stack: LocalStack) -> None:
        self.out = out
        self.stack = stack
        self.stop = threading.Event()
        self.closed = threading.Event()
        self.handler = _TerminalHandler(out.file, self.closed)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        self.thread = threading.Thread(target=self._outcomes, name="outcomes", daemon=True)

    def __enter__(self) -> threading.Event:
        logging.getLogger("intake.gateway").addHandler(self.handler)
        self.thread.start()
        return self.closed

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        logging.getLogger("intake.gateway").removeHandler(self.handler)

    def _outcomes(self) -> None:
        from intake_cli.outcomes import follow_file

        try:
            for outcome in follow_file(self.stack.options.log_file, self.stop):
                self.out.print(outcome.line(), soft_wrap=True)
        except BrokenPipeError:
            self.closed.set()


@app.command(
    cls=IntakeCommand,
    rich_help_panel="Local stack",
    epilog=examples(
        "intake demo",
        "intake demo --keep",
    ),
)
@reports_errors
def demo(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=0, max=MAX_PORT, metavar="PORT", help="HTTP API port (0 picks a free one).")
    ] = 0,
    secrets: SecretsOption = None,
    retry_visibility: RetryVisibilityOption = 1,
    log_level: LogLevelOption = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Keep the stack running afterwards (stack.json written), to explore it with the other "
            "commands; Ctrl-C stops it.",
        ),
    ] = False,
) -> None:
    """Start the stack, send every sample (and ping) in events/ over HTTP with real auth, show what was stored.

    Exit status 0 when every delivery was accepted, every event the golden files promise is
    stored, and nothing was quarantined or dead-lettered.
    """
    from intake_cli.demo import run_demo

    directory = state_dir(ctx)
    options = stack_options(
        directory,
        port=port,
        aws_port=0,
        secrets=secrets,
        retry_visibility=retry_visibility,
        log_level=log_level,
        parameter=[],
        demo=True,
        keep=keep,
    )
    # Only a kept stack writes stack.json: without --keep the demo runs beside a serve on its own free ports.
    with only_stack(directory, "demo --keep") if keep else contextlib.nullcontext():
        code = run_demo(console(), options, keep=keep)
    if code:
        raise typer.Exit(code)
