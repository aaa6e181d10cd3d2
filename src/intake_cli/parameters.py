"""Template parameter overrides checked as CloudFormation checks them, before the local stack starts.

CloudFormation refuses a stack whose parameter is unknown, not of its ``Type``, outside
``MinValue``/``MaxValue`` or ``MinLength``/``MaxLength``, not in ``AllowedValues``, or not matching
``AllowedPattern``. The local stack refuses the same, one line per mistake, so that what starts
here would deploy. Some values pass CloudFormation's own checks and fail later, when a resource
is created, because of another parameter (no template rule can compare numbers): those are
checked by :func:`together`, here and by ``make deploy`` before anything is deployed. On a deployed
stack, ``sam deploy`` keeps the stack's value of every parameter its overrides leave out (not the
template's default): ``make deploy`` checks with those, and names each that is not the default.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake_cli.suggest import did_you_mean
from intake_cli.target import IntakeError, aws_problem, require_known_region
from intake_cli.template import TEMPLATE_PATH, TemplateError, read

if TYPE_CHECKING:
    import boto3

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""``--log-level``'s values for the help; a test holds them to the template's ``LogLevel`` AllowedValues."""
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_LEADING_ZERO = re.compile(r"-?0[0-9]")
FRACTIONS_TAKEN = frozenset(
    {"RouteRateLimit", "TableTargetUtilization", "QueueAgeAlarmSeconds", "AuthFailureAlarmThreshold"}
)
"""Numbers with a whole default whose properties take a fraction (a rate limit, a scaling target,
alarm thresholds: Doubles); every other whole default sets a count, a size or a time."""
SQS_BATCH_WITHOUT_WINDOW = 10
"""The largest SQS batch Lambda takes without a batching window."""


# SAM's other spelling of an override (``sam deploy --parameter-overrides`` takes both).
_KEY_VALUE = re.compile(r"ParameterKey=([^,]*),ParameterValue=(.*)", re.DOTALL)


def parse_overrides(items: list[str], flag: str = "--parameter") -> tuple[dict[str, str], list[str]]:
    """``Name=Value`` pairs (or SAM's ``ParameterKey=Name,ParameterValue=Value``), and a line for each
    item that is neither; ``flag`` names where they were given."""
    values: dict[str, str] = {}
    mistakes = []
    for item in items:
        spelled = _KEY_VALUE.fullmatch(item)
        name, sep, value = (spelled.group(1), "=", spelled.group(2)) if spelled else item.partition("=")
        if not sep or not name:
            mistakes.append(f"{flag} takes Name=Value, got {item!r}")
        else:
            values[name] = value
    return values, mistakes


def check(
    declared: dict[str, dict[str, Any]], values: dict[str, str], source: dict[str, str], flag: str = "--parameter"
) -> list[str]:
    """One line per value CloudFormation would refuse; ``source`` says where each came from (``--parameter X=1``)."""
    mistakes = []
    for name, value in values.items():
        where = source.get(name, f"{flag} {name}={value}")
        spec = declared.get(name)
        if spec is None:
            hint = did_you_mean(name, declared) or f" (the template's parameters: {', '.join(declared)})"
            mistakes.append(f"{where}: template.yaml has no parameter {name}{hint}")
            continue
        problem = _problem(name, spec, value)
        if problem:
            mistakes.append(f"{where}: {problem}")
    return mistakes


def checked(
    declared: dict[str, dict[str, Any]], items: list[str], log_level: str | None, flag: str = "--parameter"
) -> dict[str, str]:
    """The overrides (``--parameter`` and ``--log-level``) when CloudFormation would take them all; else IntakeError."""
    values, mistakes = parse_overrides(items, flag)
    source: dict[str, str] = {}
    if log_level is not None:
        values["LogLevel"] = log_level.upper()
        source["LogLevel"] = f"--log-level {log_level}"
    mistakes += check(declared, values, source, flag)
    if not mistakes:
        mistakes = together(resolved(declared, values))
    if mistakes:
        raise IntakeError("\n".join(mistakes))
    return values


def resolved(declared: dict[str, dict[str, Any]], values: dict[str, str]) -> dict[str, str]:
    """Every parameter's value: the override, else the template's default."""
    defaults = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    return {**defaults, **values}


def together(values: dict[str, str]) -> list[str]:
    """One line per pair of values AWS refuses together, though each passes CloudFormation's checks.

    The stack would fail as the resource is created and roll back; no template rule can compare
    two numbers, so the pairs are checked here.
    """
    numbers = {name: _number(value) for name, value in values.items()}
    mistakes = []

    def above(low: str, high: str, why: str) -> None:
        low_value, high_value = numbers.get(low), numbers.get(high)
        if low_value is not None and high_value is not None and low_value > high_value:
            mistakes.append(f"{low}={values[low]} is above {high}={values[high]}: {why}")

    above(
        "ConsumerTimeout",
        "QueueVisibilityTimeout",
        "Lambda refuses a queue trigger whose messages come back before the function's timeout",
    )
    if values.get("TableBillingMode") == "PROVISIONED":
        for kind in ("Write", "Read"):
            above(f"TableMin{kind}Capacity", f"TableMax{kind}Capacity", "auto scaling refuses a minimum over a maximum")
    batch, window = numbers.get("ConsumerBatchSize"), numbers.get("ConsumerBatchingWindow")
    if batch is not None and window is not None and batch > SQS_BATCH_WITHOUT_WINDOW and window < 1:
        mistakes.append(
            f"ConsumerBatchSize={values['ConsumerBatchSize']} needs ConsumerBatchingWindow of 1 or more: Lambda "
            f"takes more than {SQS_BATCH_WITHOUT_WINDOW} SQS messages at once only with a batching window"
        )
    return mistakes


def _problem(name: str, spec: dict[str, Any], value: str) -> str | None:
    allowed = [str(option) for option in spec.get("AllowedValues") or []]
    if str(spec.get("Type", "String")) == "Number":
        return _number_problem(name, spec, value, allowed)
    if allowed and value not in allowed:
        return f"{name} must be one of {', '.join(allowed)}{did_you_mean(value, allowed)}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"{name} must be at least {spec['MinLength']} characters long"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"{name} must be at most {spec['MaxLength']} characters long"
    pattern = spec.get("AllowedPattern")
    if pattern and re.fullmatch(str(pattern), value) is None:
        return f"{name} {spec.get('ConstraintDescription') or f'must match {pattern}'}"
    return None


def _number_problem(name: str, spec: dict[str, Any], value: str, allowed: list[str]) -> str | None:
    number = _number(value)
    if number is None:
        return f"{name} is a Number; {value!r} is not a number"
    spelling = _spelling_problem(name, spec, value, number)
    if spelling:
        return spelling
    if allowed and all(_number(option) != number for option in allowed):
        return f"{name} must be one of {', '.join(allowed)}"
    # CloudFormation says a parameter's ConstraintDescription, where it has one, in place of its own words.
    constraint = spec.get("ConstraintDescription")
    if "MinValue" in spec and number < Decimal(str(spec["MinValue"])):
        return f"{name} {constraint or 'must be at least ' + str(spec['MinValue'])}"
    if "MaxValue" in spec and number > Decimal(str(spec["MaxValue"])):
        return f"{name} {constraint or 'must be at most ' + str(spec['MaxValue'])}"
    return None


def _spelling_problem(name: str, spec: dict[str, Any], value: str, number: Decimal) -> str | None:
    """A number CloudFormation takes as written, which the template then reads otherwise."""
    if value != value.strip():
        # Passed on with its spaces: the bucket's rules would look for the tag value ' 30', the conditions for ' 0'
        return f"{name} is written with spaces around it: write {value.strip()!r}"
    if value.startswith("-") and number == 0:
        # -0 is no 0 to the template's conditions: the silence alarm would be made with -0 hours
        return f"{name} is written with a minus sign: write '0'"
    if _LEADING_ZERO.match(value.strip()):
        # Passed on as written, and the template compares some as text: an S3 tag value (RetentionDays:
        # parts tagged retention-days=30 are never expired by a rule for 030), a condition's 0
        return f"{name} is written with a leading zero: write {format(number.normalize(), 'f')!r}"
    if isinstance(spec.get("Default"), int) and "." in value and name not in FRACTIONS_TAKEN:
        # CloudFormation takes 2.5 (or 3.0) for any Number; the count, size or time it sets refuses it later
        return f"{name} is a whole number; {value!r} is not written as one"
    return None


def _number(text: str) -> Decimal | None:
    if _NUMBER.fullmatch(text.strip()) is None:
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def deploy_check(argv: list[str] | None = None) -> int:
    """``make deploy``'s first step, before anything is built: one samconfig.toml environment's overrides,
    checked as the local stack's are, and where it deploys. Prints ``<region> <stack>``."""
    parser = argparse.ArgumentParser(prog="python -m intake_cli.parameters", description=deploy_check.__doc__)
    parser.add_argument("--config-env", default="dev", help="the samconfig.toml environment (default: dev)")
    parser.add_argument("--config-file", type=Path, default=TEMPLATE_PATH.parent / "samconfig.toml")
    parser.add_argument("--region", help="the region (default: your AWS profile's)")
    parser.add_argument("--stack", help="the stack the caller expects the environment to deploy")
    parser.add_argument("--profile", help="a PROFILE=… given to make (refused: the profile is AWS_PROFILE's)")
    args = parser.parse_args(argv)
    where = f"{args.config_file.name} [{args.config_env}]"
    try:
        config = tomllib.loads(args.config_file.read_text(encoding="utf-8"))
        declared = dict(read().get("Parameters") or {})
        deploy = _deploy_parameters(config, args.config_env)
        values = _checked_overrides(declared, deploy.get("parameter_overrides", ""))
        _require_deploy_settings(deploy)
        stack = str(deploy.get("stack_name", ""))
        if args.profile is not None:
            profile = args.profile
            raise IntakeError(
                f"PROFILE={profile} is not read: the profile is AWS_PROFILE's (AWS_PROFILE={profile} make deploy)"
            )
        if args.stack is not None and not args.stack.strip():
            raise IntakeError("STACK= is empty: name the environment's stack, or leave it out")
        if args.stack is not None and args.stack != stack:
            raise IntakeError(f"STACK={args.stack}, but this environment deploys {stack}: pick it with ENV=…")
        session = _profile_session(args.region)
        _require_credentials(session)
        region = session.region_name
        # sam deploy gives a deployed stack's value to each parameter parameter_overrides does not set (not
        # the template's default): pairs are checked with those values, and the ones that are no default said.
        kept = {name: value for name, value in _deployed_values(session, stack, declared).items() if name not in values}
        defaults = resolved(declared, {})
        for name, value in sorted(kept.items()):
            default = defaults.get(name, "")
            if value != default:
                # An empty value written bare (Name=) is one sam deploy drops without a word: quoted, it is read.
                written = default or '""'
                print(
                    f"note: {where}: {stack} keeps {name}={value} (the default is {default or 'empty'}): sam"
                    f" deploy keeps a value {_FLAG} does not set; set {name}={written} there to change it",
                    file=sys.stderr,
                )
        mistakes = together(resolved(declared, {**kept, **values}))
        if mistakes:
            raise IntakeError("\n".join(mistakes))
    except (OSError, tomllib.TOMLDecodeError, TemplateError, IntakeError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {where}: {line}", file=sys.stderr)
        return 1
    print(region, stack)
    return 0


_FLAG = "parameter_overrides"
_FILE = "file://"


def _override_items(overrides: Any) -> list[str]:
    """The ``Name=Value`` items of samconfig.toml's ``parameter_overrides``: one string split as a shell splits it,
    or a list's strings. A table, or a ``file://`` item (the whole string, or an item of a list: a YAML or TOML
    file) has none: sam deploy reads those name by name, and so does the check of its values."""
    if isinstance(overrides, str):
        if overrides.startswith(_FILE):
            return []
        try:
            items = shlex.split(overrides)
        except ValueError as exc:  # a quote opened and never closed
            raise IntakeError(f"{_FLAG} cannot be split into Name=Value items: {exc}") from None
    else:
        items = _strings(overrides)
    return [item for item in items if not item.startswith(_FILE)]


def _strings(overrides: Any) -> list[str]:
    """The strings ``parameter_overrides`` holds: itself when it is one, a list's strings, none of a table."""
    if isinstance(overrides, str):
        return [overrides]
    return [item for item in overrides if isinstance(item, str)] if isinstance(overrides, list) else []


def _checked_overrides(declared: dict[str, dict[str, Any]], overrides: Any) -> dict[str, str]:
    """The values ``sam deploy`` reads from ``parameter_overrides`` when CloudFormation would take them all;
    else IntakeError, one line per mistake."""
    written, mistakes = parse_overrides(_override_items(overrides), _FLAG)
    # A name the template lacks is one however sam deploy reads it (of a name not of letters and digits, nothing)
    unknown = {name: value for name, value in written.items() if name not in declared}
    mistakes += _bare_empty(overrides, written) + check(declared, unknown, {}, _FLAG)
    if mistakes:
        raise IntakeError("\n".join(mistakes))
    values = _sam_reads(overrides)
    run_on = _run_on(values)
    others = {name: value for name, value in values.items() if name not in run_on}
    passed_over = [] if run_on else _passed_over(overrides, written, values)
    mistakes = [*run_on.values(), *passed_over, *_files_passed_over(overrides), *check(declared, others, {}, _FLAG)]
    if mistakes:
        raise IntakeError("\n".join(mistakes))
    return values


def _sam_reads(overrides: Any) -> dict[str, str]:
    """The values ``sam deploy`` reads from ``parameter_overrides``, with its own parser: it splits a string at
    spaces only (a newline or a tab runs on into the value) and each item of a list the same way."""
    from click import ClickException
    from samcli.cli.types import CfnParameterOverridesType
    from samcli.lib.config.exceptions import FileParseException

    try:
        read = CfnParameterOverridesType().convert(overrides, None, None)
    except ClickException as exc:
        raise IntakeError(f"{_FLAG}: sam deploy cannot read it: {exc.message}") from None
    except (FileParseException, UnicodeDecodeError) as exc:  # a file:// file that is no YAML or TOML, or not UTF-8
        files = " or ".join(item for item in _strings(overrides) if item.startswith(_FILE)) or "a file it names"
        raise IntakeError(f"{_FLAG}: sam deploy cannot read {files}: {_parse_problem(exc)}") from None
    return {str(name): str(value) for name, value in read.items()}


def _parse_problem(exc: Exception) -> str:
    """What is wrong with a file, on one line: a YAML parser's problem and where it is, or the error's words."""
    cause = exc.__cause__ or exc
    problem, mark = getattr(cause, "problem", None), getattr(cause, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(cause).split())


_NOT_A_SPACE = re.compile(r"[^\S ]")
"""Whitespace that is not the space: sam deploy reads it as part of a value."""


def _run_on(values: dict[str, str]) -> dict[str, str]:
    """A line, by name, for each value sam deploy reads on past a line break or a tab (items one a line)."""
    return {
        name: f"{_FLAG}: sam deploy splits the items at spaces only and reads {name}={value!r} as one value:"
        " write them on one line, or as a list"
        for name, value in values.items()
        if _NOT_A_SPACE.search(value)
    }


def _passed_over(overrides: Any, written: dict[str, str], values: dict[str, str]) -> list[str]:
    """A line for each item written that sam deploy reads no value from: in one string beside a
    ``ParameterKey=…,ParameterValue=…`` item it reads only those. The stack would keep its own value (or get the
    template's default) without a word."""
    mixed = isinstance(overrides, str) and "ParameterKey=" in overrides
    why = " (written beside ParameterKey=…,ParameterValue=… items in one string): write every item one way"
    return [
        f"{_FLAG}: sam deploy reads no value from {name}={value}{why if mixed else ''}"
        for name, value in written.items()
        if name not in values
    ]


def _files_passed_over(overrides: Any) -> list[str]:
    """A line for each ``file://`` item sam deploy reads nothing from: it reads a file only from a string (or a
    list's item) that is that item alone; beside ``Name=Value`` items in one string it passes the file over, and
    the stack would never get the values it holds."""
    return [
        f"{_FLAG}: sam deploy reads no file from {item} written beside other items in one string:"
        " give it a string of its own, an item of a list"
        for text in _strings(overrides)
        if not text.startswith(_FILE)
        for item in _split(text)
        if item.startswith(_FILE)
    ]


def _split(text: str) -> list[str]:
    """The items of one string, split as a shell splits it (at white space where a quote is not open)."""
    try:
        return shlex.split(text)
    except ValueError:  # a quote opened and never closed
        return text.split()


def _bare_empty(overrides: Any, values: dict[str, str]) -> list[str]:
    """A line for each value left empty unquoted (``Name=``): sam deploy reads none from it (it drops it from a
    string, stops on it in a list), so a deployed stack would keep its own value, the template's default not."""
    items = overrides.split() if isinstance(overrides, str) else _strings(overrides)
    return [
        f'{_FLAG}: sam deploy reads no value from {name}= (an empty one only quoted): write {name}=""'
        for name, value in values.items()
        if not value and any(item in (f"{name}=", f"ParameterKey={name},ParameterValue=") for item in items)
    ]


def _deploy_parameters(config: dict[str, Any], environment: str) -> dict[str, Any]:
    """What ``sam deploy --config-env`` reads of an environment: its ``global.parameters`` with its
    ``deploy.parameters`` over them. Only an environment with a deploy section and a stack to deploy is one."""

    def parameters(table: Any, command: str) -> dict[str, Any]:
        section = table.get(command) if isinstance(table, dict) else None
        found = section.get("parameters") if isinstance(section, dict) else None
        return dict(found) if isinstance(found, dict) else {}

    merged = {name: {**parameters(table, "global"), **parameters(table, "deploy")} for name, table in config.items()}
    deployable = [
        name
        for name, table in config.items()
        if isinstance(table, dict) and isinstance(table.get("deploy"), dict) and merged[name].get("stack_name")
    ]
    if environment not in deployable:
        raise IntakeError(f"no environment to deploy by that name (those with a stack: {', '.join(deployable)})")
    return merged[environment]


def _deployed_values(session: boto3.session.Session, stack: str, declared: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The deployed stack's value of each parameter the template declares (none for a stack not deployed yet):
    what ``sam deploy`` passes on for a parameter its overrides leave out. IntakeError, one line, when the
    stack cannot be read (sam deploy, which reads it first, would stop there too) or is in a state
    CloudFormation updates no stack in."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 2, "mode": "standard"})
    try:
        found = session.client("cloudformation", config=config).describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
            return {}
        raise IntakeError(f"cannot read stack {stack} in {session.region_name}: {aws_problem(exc)}") from None
    except BotoCoreError as exc:
        raise IntakeError(f"cannot read stack {stack}: {aws_problem(exc)}") from None
    status = str(found[0].get("StackStatus", "")) if found else ""
    if not found or status == "REVIEW_IN_PROGRESS":  # a change set never run: no values yet
        return {}
    why = _not_updatable(status, f"--stack-name {stack} --region {session.region_name}")
    if why:
        raise IntakeError(f"stack {stack} is {status}: {why}")
    return {
        str(item["ParameterKey"]): str(item.get("ParameterValue", ""))
        for item in found[0].get("Parameters", [])
        if item.get("ParameterKey") in declared
    }


def _not_updatable(status: str, named: str) -> str | None:
    """What to do first with a stack in ``status``, which CloudFormation refuses to update (sam deploy would
    stop on it after the build); ``named`` is the stack's ``--stack-name … --region …``."""
    # (A CREATE_FAILED stack, deployed with rollback off, takes an update: the deploy that fixes it.)
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        # A creation rolled back keeps nothing (the template's kept resources are kept once created only)
        rolled_back = "rolled back" if status == "ROLLBACK_COMPLETE" else "so did its rollback"
        return (
            f"its first deploy failed and {rolled_back}, and CloudFormation updates no such stack: delete it"
            f" (sam delete {named}), then deploy again"
        )
    if status == "DELETE_FAILED":
        return f"its deletion failed: delete it again (sam delete {named}), then deploy"
    if status == "UPDATE_ROLLBACK_FAILED":
        return (
            "the rollback of an update failed: finish it (aws cloudformation continue-update-rollback"
            f" {named}), then deploy again"
        )
    if status.endswith("_IN_PROGRESS"):
        return "another deploy or deletion of it is still running: deploy once it is done"
    return None


def _require_deploy_settings(deploy: dict[str, Any]) -> None:
    """IntakeError, one line, for a setting ``sam deploy`` cannot do without: it would stop after the
    build (no bucket), or once CloudFormation refuses the change set (no IAM capability)."""
    capabilities = deploy.get("capabilities") or []
    if isinstance(capabilities, str):
        capabilities = capabilities.split()
    if not {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} & {str(item) for item in capabilities}:
        raise IntakeError(
            "capabilities must hold CAPABILITY_IAM (the template makes its functions' IAM roles):"
            ' capabilities = "CAPABILITY_IAM"'
        )
    if str(deploy.get("resolve_s3")).lower() != "true" and not deploy.get("s3_bucket"):
        raise IntakeError(
            'no bucket for the built code: resolve_s3 = true (SAM makes one), or s3_bucket = "<your bucket>"'
        )


def _profile_session(region: str | None = None) -> boto3.session.Session:
    """The AWS session ``sam deploy`` would use: ``region``, else the AWS profile's; IntakeError, one line,
    when there is no region, no such profile (checked with a ``region`` too: ``sam build`` would stop on
    the profile) or a region botocore does not know."""
    import boto3  # (only make deploy needs it)
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(region_name=region)
    except BotoCoreError as exc:  # ProfileNotFound, a config file it cannot read
        raise IntakeError(f"{exc}") from None
    if not session.region_name:
        raise IntakeError(
            "no AWS region: set one in your profile (aws configure), export AWS_DEFAULT_REGION=…, or pass REGION=…"
        )
    require_known_region(session, f"REGION={region}" if region else None)
    return session


def _require_credentials(session: boto3.session.Session) -> None:
    """IntakeError, one line, when botocore's chain (the one sam deploy reads) finds no credentials."""
    from botocore.exceptions import BotoCoreError

    try:
        found = session.get_credentials()
    except BotoCoreError as exc:  # a credential process or file it cannot use
        raise IntakeError(f"{exc}") from None
    except json.JSONDecodeError:  # botocore lets it through from a credential process that prints no JSON
        raise IntakeError("Error when retrieving credentials from custom-process: it printed no JSON") from None
    if found is None:
        raise IntakeError(
            "no AWS credentials: configure a profile (aws configure, then AWS_PROFILE=…)"
            " or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )


if __name__ == "__main__":
    sys.exit(deploy_check())
