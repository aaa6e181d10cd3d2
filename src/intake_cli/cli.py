"""What every ``intake`` command shares: the app, its common options, how a known failure ends a command.

The commands themselves live in ``intake_cli.commands``; ``intake_cli.main`` puts them together.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import sys
from datetime import UTC, datetime
from enum import Enum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup
from typer.models import Default

from intake_cli.local import DEFAULT_STATE_DIR
from intake_cli.suggest import closest, did_you_mean, suggestion
from intake_cli.target import IntakeError
from intake_cli.terminal import Terminal, json_line, printable
from webhook_intake.registry import vendors

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from intake_cli.target import Target

_PIPED_WIDTH = 160


def _no_type(ctx: Any) -> None:
    return None


def _flags_as_flags(command: Any, ctx: Any) -> None:
    """Help that shows a flag as a flag: recent typer prints every option's type, ``--json <bool>`` too.

    And an argument as its name: typer prints a text argument's Python type beside it (``CONTENT_ID <str>``)."""
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        if isinstance(param, TyperArgument) and param.display_type(ctx) == "<str>":
            param.display_type_rich = _no_type  # type: ignore[method-assign]


def _help(command: Any, ctx: Any, formatter: Any, format_help: Callable[[Any, Any], None]) -> None:
    """A command's help, flags shown as flags; printed to a closed pipe, it ends as any output does."""
    _flags_as_flags(command, ctx)
    try:
        format_help(ctx, formatter)
    except SystemExit as exc:
        # typer prints help through a console of rich's own, which ends with status 1 at a closed pipe.
        if exc.code != 1:
            raise
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)) from None


class IntakeCommand(TyperCommand):
    """Every ``intake`` command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """The command line, with ``--region`` refused without ``--stack`` (the local stack has its own)."""
        rest = super().parse_args(ctx, args)
        if ctx.params.get("region") is not None and ctx.params.get("stack") is None:
            raise typer.BadParameter(
                "goes with --stack NAME (a deployed stack's region); without --stack the command reads the "
                "local stack, whose region is its own",
                ctx=ctx,
                param_hint="'--region'",
            )
        return rest

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The command's help, flags shown as flags."""
        _help(self, ctx, formatter, super().format_help)


CLOSED_PIPE_STATUS = 141
"""The exit status when what reads the output stopped (``intake events | head -1``): 128 + SIGPIPE, as a
shell tool killed by SIGPIPE ends, and nothing said on stderr."""


_UNWRITABLE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EBADF)
"""What a write answers when the file standard output goes to can take no more (a full disk, a quota), or when
there is none (``intake status >&-``)."""


def _drop_standard_output() -> None:
    """What is still buffered for standard output goes to the null device, so Python's last flush fails no more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # no file descriptor to point elsewhere (standard output replaced, as by a test runner)


@contextlib.contextmanager
def _quiet_on_closed_pipe() -> Iterator[None]:
    """What reads standard output stopped reading: end quietly, with :data:`CLOSED_PIPE_STATUS`.

    Click's own handling ends such a command with status 1 and no word, which reads as an error. A file that
    can take no more of the output (``> export.jsonl`` on a full disk), or a standard output that was closed
    (``>&-``), ends it with one error line and status 1, as ``ls`` ends there.
    """
    try:
        yield
    except BrokenPipeError:
        _drop_standard_output()
        raise typer.Exit(CLOSED_PIPE_STATUS) from None
    except OSError as exc:
        if exc.errno not in _UNWRITABLE:
            raise
        _drop_standard_output()
        Terminal(stderr=True, highlight=False, emoji=False).print(
            f"[bold red]error:[/] cannot write the output: {escape(exc.strerror or str(exc))}"
        )
        raise typer.Exit(1) from None


class IntakeGroup(TyperGroup):
    """``intake`` and its command groups."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The group's help, flags shown as flags."""
        _help(self, ctx, formatter, super().format_help)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        """The context; ``-h`` and ``--version`` print here, to a pipe that may be closed."""
        with _quiet_on_closed_pipe():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        """The command, ended quietly when what reads its output stopped."""
        with _quiet_on_closed_pipe():
            return super().invoke(ctx)


def new_app(help_text: str, name: str | None = None) -> typer.Typer:
    """A command group with the project's help conventions (``-h``, flags shown as flags)."""
    return typer.Typer(
        # Unnamed stays typer's own default: an explicit None would win over the name add_typer() sets.
        name=name if name else Default(None),
        help=help_text,
        no_args_is_help=True,
        cls=IntakeGroup,
        context_settings={"help_option_names": ["-h", "--help"]},
        # Markdown joins a docstring's lines into paragraphs (rich mode keeps every line break).
        rich_markup_mode="markdown",
        pretty_exceptions_enable=False,
    )


app = new_app(
    "webhook-intake: run the local stack; find, follow, fix and replay events on a local or deployed stack.",
    name="intake",
)
dlq_app = new_app("Dead letters (SQS) and quarantined events together: list them, send them back, or let them go.")

Vendor = Enum("Vendor", {key: key for key in vendors()}, type=str)  # type: ignore[misc]
"""The vendor keys, as a choice (read by :func:`a_vendor`): help lists them and a typo is one line naming them all
and the one meant."""


def vendor_meant(value: str) -> str | None:
    """The vendor key a name that is none looks like a typo of (``openwbe``: openweb), if any; closer than difflib's
    default, so that a type's subject (``comment``) is not taken for a vendor (fastcomments)."""
    close = closest(value, vendors(), cutoff=0.8)
    return close[0] if close else None


def not_a_vendor(value: str) -> str:
    """What to say of a name that is no vendor key: the one meant when it looks like a typo, and the keys."""
    meant = vendor_meant(value)
    return f"{value!r} is not a vendor{suggestion([meant])}; vendors: {', '.join(vendors())}"


def a_vendor(value: Any) -> Any:
    """A vendor option's or argument's value as a :data:`Vendor`; a name that is none is a usage error (exit
    status 2) naming the keys and, for a typo, the one meant."""
    if isinstance(value, Vendor):
        return value
    try:
        return Vendor(value)
    except ValueError:
        raise typer.BadParameter(not_a_vendor(str(value))) from None


def complete_vendors(incomplete: str) -> list[str]:
    """Shell completion of a vendor: the keys that start with what is typed."""
    return [key for key in vendors() if key.startswith(incomplete)]


def vendor_key(value: Any) -> str | None:
    """A vendor choice as its key."""
    return None if value is None else str(value.value)


def one_of(*choices: str) -> Callable[[str | None], str | None]:
    """An option's check: a value not among ``choices`` is a usage error (exit status 2) naming them and, for a
    typo, the one meant, as a misspelt vendor is."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}")
        return value

    return check


def an_id(value: str | None) -> str | None:
    """An id option's value; an empty one (an unset shell variable) is a usage error, never no filter."""
    if value is not None and not value.strip():
        raise typer.BadParameter("is empty: give an id, or leave the option out")
    return value


def not_empty(what: str) -> Callable[[str | None], str | None]:
    """A check for a value that names one thing (an id, a file): an empty one (an unset shell variable) is a
    usage error saying to give ``what``, never an error from deeper down."""

    def check(value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise typer.BadParameter(f"is empty: give {what}")
        return value

    return check


def a_limit(value: int | None) -> int | None:
    """A ``--limit``; one past what Python counts to (``--limit 99999999999999999999``, typed to mean all of
    them) is as many as there are, as a limit larger than the table is."""
    return None if value is None else min(value, sys.maxsize)


def a_when(value: str | None) -> str | None:
    """A time option's value (``--since``, ``--until``); an empty one (an unset shell variable) is a usage error,
    never the default window (``replay --since $FROM --yes`` would rewrite the last day's events), and so is one
    that is neither a time nor a duration (exit status 2, as ``--limit abc``)."""
    if value is not None and not value.strip():
        raise typer.BadParameter("is empty: give a time (2026-11-29T08:00) or a duration back from now (7d)")
    if value is not None:
        from intake_cli.event_log import UnreadableTimeError, parse_when

        try:
            parse_when(value, datetime.now(UTC))
        except UnreadableTimeError as exc:
            raise typer.BadParameter(str(exc)) from None
        except IntakeError:
            pass  # read, but outside the years a window can hold: said with the window, as one reading it would
    return value


def known_types(values: list[str] | None) -> list[str] | None:
    """``--type``'s check: a value that is neither an event type nor a subject is a usage error (exit status 2)
    naming the close ones, as a value not among any other option's choices is."""
    from intake_cli.event_log import event_types

    try:
        event_types(values or [])
    except IntakeError as exc:
        raise typer.BadParameter(str(exc)) from None
    return values


def complete_types(incomplete: str) -> list[str]:
    """Shell completion of ``--type``: the event types and their subjects that start with what is typed."""
    from intake_cli.event_log import type_subjects
    from webhook_intake.taxonomy import EVENT_TYPES

    return [word for word in (*type_subjects(), *EVENT_TYPES) if word.startswith(incomplete)]


def chosen_vendors(target: Target, key: str | None) -> list[str]:
    """The vendor asked for, or every vendor of the stack."""
    return [key] if key else list(target.vendors)


StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack",
        metavar="NAME",
        help="A deployed stack's name (CloudFormation); without it, the local stack.",
        # An empty name (an unset shell variable) must not fall back to the local stack.
        callback=not_empty("a stack's name, or leave --stack out for the local stack"),
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", metavar="REGION", help="AWS region of the deployed stack (with --stack only)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object a line, for scripts.")]
VendorOption = Annotated[
    Vendor | None,
    typer.Option(
        "--vendor",
        metavar="VENDOR",
        help="Only this vendor: " + ", ".join(vendors()) + ".",
        show_default=False,
        parser=a_vendor,
        autocompletion=complete_vendors,
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Say what would be done; change nothing.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking.")]


def _secrets_option(help_text: str) -> Any:
    """The ``--secrets FILE`` option, said as the command reads it."""
    return typer.Option("--secrets", metavar="FILE", help=help_text, exists=True, dir_okay=False)


SecretsOption = Annotated[
    Path | None, _secrets_option("Secrets file, one object per vendor key; default config/secrets.local.json.")
]
SendSecretsOption = Annotated[
    Path | None,
    _secrets_option(
        "Secrets file to sign with, one object per vendor key; default: the file the local stack was started"
        " with (intake serve --secrets) or, with --stack, the vendor's secret in Secrets Manager."
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="WHEN",
        help="From this receive time: ISO-8601 (2026-11-29, 2026-11-29T08:00, UTC unless it says) "
        "or a duration back from now (90s, 15m, 36h, 7d, 2w).",
        callback=a_when,
    ),
]
EventTypeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--type",
        metavar="TYPE",
        help="Only this type (repeatable); a subject means all of its types (comment: every comment.*).",
        show_default=False,
        callback=known_types,
        autocompletion=complete_types,
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        metavar="WHEN",
        help="Up to this receive time (same forms as --since); default a minute past now (clocks differ).",
        callback=a_when,
    ),
]


def examples(*lines: str) -> str:
    """A command's help epilog: command lines to copy, each on a line of its own (``# what it does`` beside it)."""
    return "**Examples**\n\n```\n" + "\n".join(lines) + "\n```"


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures end the command with one red line per problem on stderr, and exit status 1 (2 for options
    that make no sense together)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except IntakeError as exc:
            console = Terminal(stderr=True, soft_wrap=True, highlight=False, emoji=False)
            # Escaped before it is split: a carriage return in a quoted id is no line of its own.
            for line in printable(str(exc)).splitlines() or [""]:
                # The message may quote what was typed or stored (an id with "[/]"): never markup.
                console.print(f"[bold red]error:[/] {escape(line)}", markup=True)
            raise typer.Exit(exc.status) from None

    return wrapper


def console(file: Any = None) -> Console:
    """Rich output; piped or redirected output gets a wide page instead of rich's 80 columns."""
    stream = file or sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Terminal(file=stream, width=_PIPED_WIDTH if wide else None, highlight=False, emoji=False)


def state_dir(ctx: typer.Context) -> Path:
    """The state directory the command was given (``--state-dir``, ``INTAKE_STATE_DIR``)."""
    root = ctx.find_root()
    return Path(root.obj or DEFAULT_STATE_DIR)


def print_json_lines(documents: list[dict[str, Any]]) -> None:
    """One JSON object a line."""
    for document in documents:
        typer.echo(json_line(document))


def project_version() -> str:
    """The installed project's version."""
    try:
        return version("webhook-intake")
    except PackageNotFoundError:
        return "unknown (not installed: run make setup)"


CONTROLLING_TERMINAL = "/dev/tty"
"""Where a question goes when standard error is not the operator's terminal (``2> errors.log``): the terminal
they type at, as ``ssh`` and ``sudo`` ask there."""

_ANSWERS = {"y": True, "yes": True, "n": False, "no": False}
"""What a confirmation takes, in any case: rich's own takes ``y`` and ``n`` alone, and asks again at ``yes``."""


def _yes_or_no(answer: str) -> bool:
    """A typed answer as rich's ``Confirm`` reads one, ``yes`` and ``no`` (any case) beside ``y`` and ``n``."""
    from rich.prompt import InvalidResponse

    try:
        return _ANSWERS[answer.strip().lower()]
    except KeyError:
        raise InvalidResponse("[prompt.invalid]Please answer y, yes, n or no") from None


def confirm(question: str, *, yes: bool, why: str) -> None:
    """Go on only with ``--yes`` or a yes typed at a terminal; ``why`` says what ``--yes`` is for."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise IntakeError(f"{why}: add --yes (no terminal to ask at)")
    with _where_to_ask() as asking:
        if asking is None:
            raise IntakeError(f"{why}: add --yes (standard error is not a terminal, and no terminal to ask at)")
        _ask(question, asking)


@contextlib.contextmanager
def _where_to_ask() -> Iterator[Console | None]:
    """Where the question goes: standard error at a terminal, else the controlling terminal; None when neither is.

    Standard output may be a pipe (``--json | jq``), which must get the results alone and would swallow the
    question, leaving the operator waiting on a prompt they cannot see; so may standard error be (a log file)."""
    if sys.stderr.isatty():
        yield Terminal(stderr=True, highlight=False, emoji=False)
        return
    try:
        descriptor = os.open(CONTROLLING_TERMINAL, os.O_WRONLY)
    except OSError:  # no controlling terminal (a job started by cron, or setsid)
        yield None
        return
    with open(descriptor, "w", encoding=sys.stdin.encoding, errors="backslashreplace") as terminal:
        yield Terminal(file=terminal, highlight=False, emoji=False)


def _ask(question: str, asking: Console) -> None:
    """The question, on ``asking``; the answer, from standard input: anything but a yes does nothing."""
    from rich.prompt import Confirm

    class YesOrNo(Confirm):
        """Rich's confirmation, taking ``yes`` and ``no`` too."""

        def process_response(self, value: str) -> bool:
            return _yes_or_no(value)

    try:
        agreed = YesOrNo.ask(escape(question), console=asking, default=False)
    except EOFError:  # Ctrl-D: no answer is no yes
        agreed = False
    if not agreed:
        raise IntakeError("nothing done")
