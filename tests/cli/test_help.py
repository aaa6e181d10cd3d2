"""Help that reads right: flags as flags, the values an option takes, -h, --version, completion."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from intake_cli.commands.send import FASTCOMMENTS_EVENTS
from intake_cli.parameters import LOG_LEVELS
from intake_cli.template import read
from tests.helpers import cli
from webhook_intake.registry import VENDORS
from webhook_intake.vendors.fastcomments.client import EVENT_CHOICES

pytestmark = pytest.mark.usefixtures("no_network")

COMMANDS = [
    ["serve"],
    ["demo"],
    ["send"],
    ["events"],
    ["state"],
    ["status"],
    ["tail"],
    ["replay"],
    ["dlq", "list"],
    ["dlq", "redrive"],
    ["dlq", "delete"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_h_and_shows_no_python_type_names(command: list[str]) -> None:
    # When a command's help is asked for with -h
    code, text = cli(*command, "-h")

    # Then it is the help, and no option or argument reads like a Python signature (--json <bool>,
    # <list[str]>, CONTENT_ID <str>), nor an optional argument in brackets twice
    assert code == 0, text
    assert "Usage: intake" in text
    assert not re.search(r"<(bool|list\[str\]|str|int)>", text), text
    assert "[[" not in text, text


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_commands_help_shows_an_example_of_it(command: list[str]) -> None:
    # When a command's help is asked for
    code, text = cli(*command, "-h")

    # Then it ends with examples: whole command lines an operator can copy, each on a line of its own
    assert code == 0, text
    said = text.partition("Examples")[2]
    lines = [line.strip(" │") for line in said.splitlines()]
    assert any(line.startswith(f"intake {' '.join(command)}") for line in lines), text


def test_the_top_level_help_lists_the_commands_and_offers_completion() -> None:
    code, text = cli("--help")
    assert code == 0
    for name in ("serve", "demo", "send", "events", "state", "status", "tail", "replay", "dlq"):
        assert re.search(rf"│ {name}\s", text), name
    assert "--install-completion" in text
    assert "--version" in text


def test_version_prints_the_installed_version() -> None:
    code, text = cli("--version")
    assert code == 0
    assert re.fullmatch(r"intake \(webhook-intake\) \d+\.\d+\.\d+\S*\n", text)


def test_options_list_the_values_they_take() -> None:
    # Given the help of the commands whose options take a fixed set of values
    _, send_help = cli("send", "-h")
    _, serve_help = cli("serve", "-h")
    _, events_help = cli("events", "-h")

    # Then each names them: vendors, --auth, --event, --log-level
    flat = " ".join(send_help.split()) + " ".join(events_help.split())
    for key in VENDORS:
        assert key in flat.replace("│", "").replace(" ", ""), key
    assert "token|oauth" in send_help
    assert "comment-created|comment-up" in send_help
    assert "DEBUG|INFO|WARNING|ER" in serve_help


def test_send_help_names_the_credentials_it_uses_without_secrets() -> None:
    # Given the help of send, which without --secrets signs with the local stack's own secrets file
    # (the one `intake serve --secrets` was given) or, with --stack, the vendor's secret in Secrets Manager
    _, send_help = cli("send", "-h")
    said = " ".join(send_help.replace("│", " ").split())

    # Then it says so, rather than the file serve starts with by default
    assert "default config/secrets.local.json" not in said
    assert "default: the file the local stack was started with" in said
    assert "with --stack, the vendor's secret in Secrets Manager" in said


def test_the_values_help_lists_are_the_ones_the_code_and_the_template_take() -> None:
    declared = read()["Parameters"]["LogLevel"]["AllowedValues"]
    assert list(LOG_LEVELS) == declared
    assert tuple(EVENT_CHOICES) == FASTCOMMENTS_EVENTS


def test_an_unknown_vendor_is_refused_with_the_vendors() -> None:
    code, text = cli("tail", "--vendor", "disqus")
    assert code == 2
    assert "'disqus' is not a vendor; vendors: " in text


@pytest.mark.parametrize(
    ("args", "option", "typed", "meant"),
    [
        (("events", "--vendor", "openwbe"), "'--vendor'", "openwbe", "openweb"),
        (("dlq", "list", "--vendor", "fristup"), "'--vendor'", "fristup", "firstup"),
        (("state", "viafoura-engagment", "c1"), "'VENDOR'", "viafoura-engagment", "viafoura-engagement"),
    ],
)
def test_a_misspelt_vendor_is_a_usage_error_naming_the_close_one(
    args: tuple[str, ...], option: str, typed: str, meant: str
) -> None:
    # A typo in a vendor key is told which key was meant, as a typo in --type or a region is
    code, text = cli(*args, "--stack", "webhook-intake-nowhere")
    assert code == 2, text
    said = " ".join(text.replace("│", " ").split())
    vendors = ", ".join(VENDORS)
    assert f"Invalid value for {option}: '{typed}' is not a vendor (did you mean {meant}?); vendors: {vendors}" in said
    assert "Value error" not in said


@pytest.mark.parametrize(
    ("args", "argument", "said"),
    [
        (("openwbe",), "VENDOR|TYPE", "'openwbe' is not a vendor (did you mean openweb?); vendors: "),
        (("openwbe", "liked-message"), "VENDOR|TYPE", "'openwbe' is not a vendor (did you mean openweb?); vendors: "),
        (("comment.likd",), "VENDOR|TYPE", "unknown event type 'comment.likd' (did you mean comment.liked?)"),
        (("openweb", "liked-mesage"), "SAMPLE|TYPE|FILE|-", "(did you mean liked-message?)"),
        (("openweb", "comment.created"), "SAMPLE|TYPE|FILE|-", "no openweb sample holds a comment.created event"),
    ],
)
def test_what_send_cannot_send_is_a_usage_error_naming_the_close_one(
    args: tuple[str, ...], argument: str, said: str
) -> None:
    # A misspelt vendor, type or sample is a mistake in the command line, as an unknown --vendor is (exit status
    # 2): a script tells it from a delivery refused or a stack not found (1), and nothing is looked for or sent
    code, text = cli("send", *args, "--stack", "webhook-intake-nowhere")
    assert code == 2, text
    flat = " ".join(text.replace("│", " ").split())
    assert f"Invalid value for '{argument}':" in flat
    assert said in flat


@pytest.mark.parametrize(
    "args", [("serve", "--port", "65536"), ("serve", "--aws-port", "99999"), ("demo", "--port", "70000")]
)
def test_a_port_out_of_range_is_a_usage_error_not_a_traceback(args: tuple[str, ...]) -> None:
    code, text = cli(*args)
    assert code == 2
    assert "less than or equal to 65535" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("send", "openweb", "--auth", "bogus"), "'bogus' is not one of token, oauth"),
        (("send", "fastcomments", "--event", "bogus"), "'bogus' is not one of comment-created"),
    ],
)
def test_a_value_not_among_an_options_choices_is_a_usage_error(args: tuple[str, ...], message: str) -> None:
    code, text = cli(*args)
    assert code == 2
    assert message in " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("send", "openweb", "--auth", "oath"), "'oath' is not one of token, oauth (did you mean oauth?)"),
        (
            ("send", "fastcomments", "--event", "comment-creatd"),
            "'comment-creatd' is not one of comment-created, comment-updated, comment-deleted"
            " (did you mean comment-created?)",
        ),
    ],
)
def test_a_misspelt_choice_is_told_the_one_meant_as_a_misspelt_vendor_is(args: tuple[str, ...], message: str) -> None:
    code, text = cli(*args)
    assert code == 2, text
    assert message in " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("status", "--stack", ""), "'--stack'"),
        (("dlq", "list", "--stack", " "), "'--stack'"),
        (("events", "--stack", ""), "'--stack'"),
        (("send", ""), "'VENDOR|TYPE'"),
    ],
)
def test_an_empty_stack_or_vendor_is_a_usage_error_not_the_local_stack(args: tuple[str, ...], option: str) -> None:
    # An unset shell variable ("--stack $STACK") must not read, send to or change the local stack
    code, text = cli(*args)
    assert code == 2, text
    assert f"Invalid value for {option}: is empty" in " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("replay", "--since", "", "--yes"), "'--since'"),
        (("replay", "--since", "7d", "--until", " ", "--yes"), "'--until'"),
        (("events", "--since", ""), "'--since'"),
        (("events", "--until", ""), "'--until'"),
        (("tail", "--since", "", "--no-follow"), "'--since'"),
    ],
)
def test_an_empty_time_is_a_usage_error_not_the_default_window(args: tuple[str, ...], option: str) -> None:
    # An unset shell variable ("replay --since $FROM --yes") must not replay, list or follow the default window
    code, text = cli(*args, "--stack", "webhook-intake-nowhere")
    assert code == 2, text
    assert f"Invalid value for {option}: is empty" in " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (("events", "--since", "yesterday"), "'--since'", "'yesterday'"),
        (("events", "--since", "1d", "--until", "1.5h"), "'--until'", "'1.5h'"),
        (("replay", "--since", "1d2h", "--dry-run"), "'--since'", "'1d2h'"),
        (("tail", "--since", "-15m", "--no-follow"), "'--since'", "'-15m'"),
    ],
)
def test_a_time_neither_a_time_nor_a_duration_is_a_usage_error(args: tuple[str, ...], option: str, value: str) -> None:
    # A typo in a time is a mistake in the command line (status 2, as --limit abc is), not a problem found (1)
    code, text = cli(*args, "--stack", "webhook-intake-nowhere")
    assert code == 2, text
    said = " ".join(text.replace("│", " ").split())
    assert f"Invalid value for {option}: {value} is neither a time (2026-11-29, 2026-11-29T08:00" in said
    assert "nor a duration (90s, 15m, 36h, 7d, 2w)" in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("send", "firstup", "--event", "comment-updated"), "Invalid value for '--event': is FastComments'"),
        (("send", "firstup", "--auth", "oauth"), "Invalid value for '--auth': oauth is OpenWeb's"),
        (("send", "openweb", "liked-message", "--data", "{}"), "Invalid value for '--data': give the body once"),
    ],
)
def test_an_option_the_chosen_vendor_does_not_take_is_a_usage_error(args: tuple[str, ...], message: str) -> None:
    # A mistake in the command line (status 2), not a delivery the stack refused (1): nothing is sent
    code, text = cli(*args, "--stack", "webhook-intake-nowhere")
    assert code == 2, text
    assert message in " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize("args", [("--version",), ("-h",), ("events", "-h")])
def test_output_to_a_pipe_already_closed_ends_quietly_with_status_141(args: tuple[str, ...]) -> None:
    # Given a reader that stopped reading before anything was printed (intake -h | true)
    process = subprocess.Popen(
        [sys.executable, "-m", "intake_cli.main", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()

    # Then it ends as a shell tool killed by SIGPIPE does (128 + 13), saying nothing: not status 1, an error's
    assert process.wait(timeout=60) == 141
    with process.stderr:
        assert process.stderr.read() == b""


@pytest.mark.parametrize("args", [("--version",), ("-h",), ("events", "-h")])
def test_output_with_standard_output_closed_is_one_error_line_and_status_1(args: tuple[str, ...]) -> None:
    # When the command is started with its standard output closed (`intake --version >&-`)
    ended = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "intake_cli", *args],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )

    # Then it says it cannot write, in one line, and ends with 1, as `ls >&-` does: not 0, as if printed
    assert ended.returncode == 1, ended.stderr
    assert ended.stderr.strip().splitlines() == ["error: cannot write the output: Bad file descriptor"]


@pytest.mark.parametrize(
    "args",
    [
        ("events", "--region", "eu-west-1"),
        ("status", "--region", "eu-west-1"),
        ("dlq", "redrive", "--region", "eu-west-1"),
        ("send", "firstup", "--region", "eu-west-1"),
    ],
)
def test_region_without_stack_is_a_usage_error_not_the_local_stack(args: tuple[str, ...]) -> None:
    # --region alone reached the local stack, the region unused: a forgotten --stack, said nothing of
    code, text = cli(*args)
    assert code == 2, text
    flat = " ".join(text.replace("│", " ").split())
    assert "Invalid value for '--region': goes with --stack NAME" in flat
    assert "no local stack running" not in flat


def completions(line: str) -> list[str]:
    """What bash completion offers for ``line`` (the word being typed is its last, empty after a space)."""
    from typer.testing import CliRunner

    from intake_cli.main import app

    words = line.split(" ")
    env = {"_INTAKE_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    result = CliRunner().invoke(app, [], prog_name="intake", env=env)
    assert result.exit_code == 0, result.output
    return result.output.split()


def test_send_completes_vendors_types_and_sample_names() -> None:
    # `intake send <TAB>`: the vendors, and the normalized types a sample can be picked by
    offered = completions("intake send ")
    assert set(VENDORS) <= set(offered)
    assert "comment.liked" in offered
    assert completions("intake send comment.li") == ["comment.liked"]

    # `intake send openweb <TAB>`: that vendor's samples by name
    assert "liked-message" in completions("intake send openweb ")
    assert completions("intake send fastcomments comment-deleted.r") == ["comment-deleted.reply"]


def test_type_options_complete_the_types_and_their_subjects() -> None:
    for command in ("events", "replay"):
        assert "comment.flagged" in completions(f"intake {command} --type comment.f")
        assert "comment" in completions(f"intake {command} --type comm")


def test_ctrl_c_before_the_command_has_begun_ends_with_status_130_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Ctrl-C while typer still reads the commands' options, the second or two before any command runs
    import typer.main

    from intake_cli.__main__ import run

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(typer.main, "get_command", interrupted)
    monkeypatch.setattr(sys, "argv", ["intake", "dlq", "redrive"])

    # When the intake command runs
    with pytest.raises(SystemExit) as ended:
        run()

    # Then it ends as Ctrl-C during a command does: status 130, nothing but a line break said
    assert ended.value.code == 130
    assert "Traceback" not in capsys.readouterr().err


# Ctrl-C arrives as botocore finishes signing the command's first request: in the signature's own code, or
# in awscrt's completion callback where botocore signs with awscrt (SAM CLI installs it beside the CLI).
CTRL_C_AS_A_REQUEST_IS_SIGNED = """
import hmac, os, signal, sys
import awscrt.auth

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)

plain_hmac = hmac.new
def signing_hmac(*args, **kwargs):
    if sys._getframe(1).f_globals.get("__name__") == "botocore.auth":
        hmac.new = plain_hmac
        ctrl_c()
    return plain_hmac(*args, **kwargs)
hmac.new = signing_hmac

crt_sign = awscrt.auth._awscrt.sign_request_aws
def sign_request_aws(request, config, on_complete):
    def completed(*args):
        ctrl_c()
        return on_complete(*args)
    return crt_sign(request, config, completed)
awscrt.auth._awscrt.sign_request_aws = sign_request_aws

from intake_cli.__main__ import run
sys.argv = ["intake", *sys.argv[1:]]
run()
"""


def test_ctrl_c_while_a_request_is_signed_ends_the_command_with_status_130_not_a_wait_for_ever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a command whose first AWS request is being signed when Ctrl-C comes (nothing listens at the endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")

    # When it runs
    command = ["status", "--stack", "webhook-intake-dev", "--region", "us-east-1"]
    ended = subprocess.run(
        [sys.executable, "-c", CTRL_C_AS_A_REQUEST_IS_SIGNED, *command],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    # Then it ends as Ctrl-C does anywhere else: status 130, no traceback (a signature awscrt never handed
    # back kept the command waiting until a second Ctrl-C)
    assert ended.returncode == 130, ended.stderr
    assert "Traceback" not in ended.stderr
    assert "KeyboardInterrupt" not in ended.stderr
