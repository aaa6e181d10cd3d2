"""``intake``: run the local stack, send vendor deliveries, read stored events, watch queues and DLQs.

Every command but ``serve`` and ``demo`` works against the local stack (found through
``<state dir>/stack.json``) or, with ``--stack NAME``, against a deployed stack (found
through its CloudFormation outputs).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from intake_cli.local import DEFAULT_STATE_DIR, LOG_FILE_NAME, STATE_DIR_VARIABLE, STATE_FILE_NAME
from intake_cli.target import IntakeError, read_local_state, resolve_target

if TYPE_CHECKING:
    from collections.abc import Callable

    from intake_cli.runtime import HttpResponse
    from intake_cli.stack import StackOptions

app = typer.Typer(
    name="intake",
    help="webhook-intake: the local stack, and a CLI for local and deployed stacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dlq_app = typer.Typer(help="Inspect dead-letter queues and move their messages back.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_PIPED_WIDTH = 160

StackOption = Annotated[
    str | None,
    typer.Option("--stack", help="A deployed stack's name (CloudFormation); without it, the local stack."),
]
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region of the deployed stack.")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object a line, for scripts.")]
VendorOption = Annotated[str | None, typer.Option("--vendor", help="Only this vendor key.")]
SecretsOption = Annotated[
    Path | None,
    typer.Option(
        "--secrets",
        help="Secrets file (DESIGN.md layout); default config/secrets.local.json.",
        exists=True,
        dir_okay=False,
    ),
]


def _reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures end the command with one red line on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except IntakeError as exc:
            Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def _console(file: Any = None) -> Console:
    """Rich output; piped or redirected output gets a wide page instead of rich's 80 columns."""
    stream = file or sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(file=stream, width=_PIPED_WIDTH if wide else None, highlight=False)


def _state_dir(ctx: typer.Context) -> Path:
    return Path(ctx.obj or DEFAULT_STATE_DIR)


def _print_json_lines(documents: list[dict[str, Any]]) -> None:
    for document in documents:
        typer.echo(json.dumps(document, ensure_ascii=False))


def _check_vendor(key: str | None) -> None:
    from webhook_intake.registry import UnknownVendorError, vendor

    if key is None:
        return
    try:
        vendor(key)
    except UnknownVendorError as exc:
        raise IntakeError(str(exc.args[0])) from None


@app.callback()
def main(
    ctx: typer.Context,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state-dir",
            envvar=STATE_DIR_VARIABLE,
            help="Where the local stack writes stack.json and its log.",
            file_okay=False,
        ),
    ] = DEFAULT_STATE_DIR,
) -> None:
    """webhook-intake's command line."""
    ctx.obj = state_dir


# ---------------------------------------------------------------- the local stack


def _stack_options(
    state_dir: Path,
    *,
    port: int,
    aws_port: int,
    secrets: Path | None,
    retry_visibility: int,
    log_level: str | None,
    parameter: list[str],
    demo: bool = False,
) -> StackOptions:
    from intake_cli.samples import DEV_SECRETS
    from intake_cli.stack import StackOptions

    parameters: dict[str, str] = {}
    for item in parameter:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise IntakeError(f"--parameter takes Name=Value, got {item!r}")
        parameters[name] = value
    if log_level is not None:
        if log_level.upper() not in _LOG_LEVELS:
            raise IntakeError(f"--log-level must be one of {', '.join(_LOG_LEVELS)}")
        parameters["LogLevel"] = log_level.upper()
    return StackOptions(
        port=port,
        aws_port=aws_port,
        secrets_file=secrets or DEV_SECRETS,
        retry_visibility=retry_visibility,
        parameters=parameters,
        log_file=state_dir / ("demo.log" if demo else LOG_FILE_NAME),
        state_file=None if demo else state_dir / STATE_FILE_NAME,
    )


RetryVisibilityOption = Annotated[
    int,
    typer.Option(
        "--retry-visibility",
        min=0,
        help="Seconds before a failed record is retried. The one deliberate difference from AWS, "
        "where it waits the queue's visibility timeout (180 s): a poison message reaches its DLQ in seconds.",
    ),
]
LogLevelOption = Annotated[
    str | None,
    typer.Option("--log-level", help="The template's LogLevel parameter (handler logs go to the state dir's log)."),
]
ParameterOption = Annotated[
    list[str],
    typer.Option("--parameter", help="Template parameter override Name=Value (repeatable), e.g. MaxReceiveCount=2."),
]


@app.command()
@_reports_errors
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, help="HTTP API port on 127.0.0.1 (0 picks a free one).")] = 3000,
    aws_port: Annotated[int, typer.Option("--aws-port", min=0, help="moto server port (0 picks a free one).")] = 0,
    secrets: SecretsOption = None,
    retry_visibility: RetryVisibilityOption = 1,
    log_level: LogLevelOption = None,
    parameter: ParameterOption = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Run the local stack until Ctrl-C or SIGTERM; writes stack.json for the other commands."""
    from intake_cli.render import routes_table
    from intake_cli.stack import LocalStack, wait_for_signal

    state_dir = _state_dir(ctx)
    running = read_local_state(state_dir)
    if running is not None:
        raise IntakeError(
            f"a local stack is already running at {running.get('api_url')} (pid {running.get('pid')}): "
            "stop it, or use another --state-dir"
        )
    options = _stack_options(
        state_dir,
        port=port,
        aws_port=aws_port,
        secrets=secrets,
        retry_visibility=retry_visibility,
        log_level=log_level,
        parameter=parameter,
    )
    terminal = sys.stdout  # the stack sends what handlers print to its log; we keep the terminal
    console = _console(terminal)
    stack = LocalStack(options)
    with console.status("Starting the local stack from template.yaml…"):
        stack.start()
    access = logging.StreamHandler(terminal)
    access.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    logging.getLogger("intake.gateway").addHandler(access)
    try:
        state = stack.state()
        console.print(f"[bold]webhook-intake[/] local stack [cyan]{state['stack_name']}[/] is up")
        console.print(f"  API   [bold]{stack.api_url}[/]")
        console.print(f"  AWS   {stack.aws_endpoint_url} (moto, region {state['region']})")
        console.print(f"  state {options.state_file}   logs {options.log_file}")
        console.print(
            f"  failed records are retried after {options.retry_visibility} s "
            f"(AWS waits the queue's {state['parameters'].get('QueueVisibilityTimeout')} s visibility timeout)"
        )
        console.print(routes_table(list(state["routes"]), stack.api_url))
        console.print("Ctrl-C to stop.")
        wait_for_signal()
    finally:
        logging.getLogger("intake.gateway").removeHandler(access)
        stack.stop()
    console.print("stopped")


@app.command()
@_reports_errors
def demo(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, help="HTTP API port (0 picks a free one).")] = 0,
    secrets: SecretsOption = None,
    retry_visibility: RetryVisibilityOption = 1,
    log_level: LogLevelOption = None,
) -> None:
    """Start the stack, send every sample in events/ over HTTP with real auth, show what was stored."""
    from intake_cli.demo import run_demo

    options = _stack_options(
        _state_dir(ctx),
        port=port,
        aws_port=0,
        secrets=secrets,
        retry_visibility=retry_visibility,
        log_level=log_level,
        parameter=[],
        demo=True,
    )
    code = run_demo(_console(), options)
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------- any stack


def _sample_path(vendor_key: str, name: Path | None) -> Path:
    from intake_cli.samples import SAMPLES_DIR, sample_files

    if name is None:
        files = sample_files(vendor_key)
        if not files:
            raise IntakeError(f"no samples under {SAMPLES_DIR / vendor_key}")
        return files[0]
    for candidate in (name, SAMPLES_DIR / vendor_key / name, SAMPLES_DIR / vendor_key / f"{name}.json"):
        if candidate.is_file():
            return candidate
    raise IntakeError(f"no such file: {name}")


@app.command()
@_reports_errors
def send(
    ctx: typer.Context,
    vendor_key: Annotated[str, typer.Argument(metavar="VENDOR", help="Vendor key, e.g. firstup.")],
    file: Annotated[
        Path | None, typer.Argument(help="Body to send: a path, or a sample name under events/VENDOR/.")
    ] = None,
    file_option: Annotated[Path | None, typer.Option("--file", help="Same as FILE.", dir_okay=False)] = None,
    bad_auth: Annotated[bool, typer.Option("--bad-auth", help="Send a wrong credential (expect a refusal).")] = False,
    auth: Annotated[
        str,
        typer.Option(
            "--auth",
            help="openweb only: 'token' (the shared header) or 'oauth' (client_secret_jwt, then Bearer).",
        ),
    ] = "token",
    secrets: SecretsOption = None,
    stack: StackOption = None,
    region: RegionOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send a correctly authenticated delivery (a sample, or FILE) and print the answer.

    Exit status 0 when the answer is the expected one: a 2xx, or with --bad-auth a 401/403.
    """
    from intake_cli.samples import WRONG_CREDENTIAL, build_request
    from intake_cli.sending import deliver, openweb_access_token, vendor_secret, with_bearer

    _check_vendor(vendor_key)
    if auth not in {"token", "oauth"} or (auth == "oauth" and vendor_key != "openweb"):
        raise IntakeError("--auth oauth is OpenWeb's; --auth takes 'token' or 'oauth'")
    if file is not None and file_option is not None:
        raise IntakeError("give the file once: FILE or --file")
    target = resolve_target(_state_dir(ctx), stack, region)
    path = _sample_path(vendor_key, file or file_option)
    secret = vendor_secret(target, vendor_key, secrets)
    request = build_request(vendor_key, path.read_bytes(), secret, path.stem, bad_auth=bad_auth)
    if auth == "oauth":
        token = WRONG_CREDENTIAL if bad_auth else openweb_access_token(target, secret)
        request = with_bearer(request, token)
    response = deliver(target, request)
    _print_response(request.method, target.api_url + request.path, path, response, json_output)
    expected = response.status in (401, 403) if bad_auth else 200 <= response.status < 300
    if not expected:
        raise typer.Exit(1)


def _print_response(method: str, url: str, path: Path, response: HttpResponse, json_output: bool) -> None:
    text = response.body.decode("utf-8", "replace")
    if json_output:
        document = {"method": method, "url": url, "file": str(path), "status": response.status}
        _print_json_lines([{**document, "headers": response.headers, "body": text}])
        return
    console = _console()
    colour = "green" if 200 <= response.status < 300 else "red"
    console.print(f"{method} {url}  ({path.name})")
    console.print(f"[bold {colour}]{response.status}[/]")
    if text:
        try:
            console.print_json(text)
        except ValueError:
            console.print(text, markup=False)


@app.command()
@_reports_errors
def events(
    ctx: typer.Context,
    vendor_key: VendorOption = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only this event_type, e.g. comment.created.")
    ] = None,
    json_output: JsonOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """List stored normalized events, oldest first (a full table scan)."""
    from intake_cli.event_log import event_json, stored_events
    from intake_cli.render import events_table

    _check_vendor(vendor_key)
    target = resolve_target(_state_dir(ctx), stack, region)
    items = stored_events(target, vendor_key, event_type)
    if json_output:
        for item in items:
            typer.echo(event_json(item))
        return
    console = _console()
    console.print(events_table(items, width=console.width))


@app.command()
@_reports_errors
def status(
    ctx: typer.Context,
    json_output: JsonOption = False,
    count_events: Annotated[
        bool, typer.Option("--count/--no-count", help="Count stored events per vendor (a full table scan).")
    ] = True,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Queue depth, DLQ depth, oldest message age and events stored, per vendor.

    The oldest message age is CloudWatch's ApproximateAgeOfOldestMessage (the local stack
    publishes it every few seconds; AWS every minute), shown only for a queue that is not empty.
    """
    from intake_cli.event_log import count_by_vendor, stored_events
    from intake_cli.queues import statuses
    from intake_cli.render import status_table

    target = resolve_target(_state_dir(ctx), stack, region)
    counts = count_by_vendor(stored_events(target)) if count_events else None
    rows = statuses(target, counts)
    if json_output:
        _print_json_lines([row.to_json() for row in rows])
        return
    _console().print(status_table(rows, title=f"Stack {target.name}"))


@dlq_app.command("list")
@_reports_errors
def dlq_list(
    ctx: typer.Context,
    vendor_key: VendorOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many messages per vendor.")] = 100,
    json_output: JsonOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Messages on the dead-letter queues, left in place (bodies exactly as received)."""
    from intake_cli.queues import dead_letters
    from intake_cli.render import dead_letters_table

    _check_vendor(vendor_key)
    target = resolve_target(_state_dir(ctx), stack, region)
    letters = dead_letters(target, [vendor_key] if vendor_key else list(target.vendors), limit)
    if json_output:
        _print_json_lines([letter.to_json() for letter in letters])
        return
    _console().print(dead_letters_table(letters))


@dlq_app.command("redrive")
@_reports_errors
def dlq_redrive(
    ctx: typer.Context,
    vendor_key: VendorOption = None,
    json_output: JsonOption = False,
    stack: StackOption = None,
    region: RegionOption = None,
) -> None:
    """Move dead letters back to their source queue (SQS StartMessageMoveTask; done by hand on moto)."""
    from intake_cli.queues import depth, redrive

    _check_vendor(vendor_key)
    target = resolve_target(_state_dir(ctx), stack, region)
    sqs = target.client("sqs")
    keys = [vendor_key] if vendor_key else list(target.vendors)
    results = [
        redrive(target, key) for key in keys if vendor_key or sum(depth(sqs, target.vendor(key).dead_letter_queue_url))
    ]
    if json_output:
        _print_json_lines([result.to_json() for result in results])
        return
    console = _console()
    if not results:
        console.print("no dead letters to move")
    for result in results:
        if result.task_handle:
            console.print(
                f"{result.vendor}: started message move task for ~{result.approximate_messages} message(s) "
                f"(task {result.task_handle}); follow it with `intake status --stack {target.name}`"
            )
        else:
            console.print(f"{result.vendor}: moved {result.moved} message(s) back to {result.destination_arn}")


if __name__ == "__main__":
    app()
