"""Template parameter overrides checked as CloudFormation checks them, before the local stack starts.

CloudFormation refuses a stack whose parameter is unknown, not of its ``Type``, outside
``MinValue``/``MaxValue`` or ``MinLength``/``MaxLength``, not in ``AllowedValues``, or not matching
``AllowedPattern``. The local stack refuses the same, one line per mistake, so that what starts
here would deploy.
"""

from __future__ import annotations

import difflib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from intake_cli.target import IntakeError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""``--log-level``'s values for the help; a test holds them to the template's ``LogLevel`` AllowedValues."""
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse_overrides(items: list[str]) -> tuple[dict[str, str], list[str]]:
    """``Name=Value`` pairs, and a line for each item that is not one."""
    values: dict[str, str] = {}
    mistakes = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            mistakes.append(f"--parameter takes Name=Value, got {item!r}")
        else:
            values[name] = value
    return values, mistakes


def check(declared: dict[str, dict[str, Any]], values: dict[str, str], source: dict[str, str]) -> list[str]:
    """One line per value CloudFormation would refuse; ``source`` says where each came from (``--parameter X=1``)."""
    mistakes = []
    for name, value in values.items():
        where = source.get(name, f"--parameter {name}={value}")
        spec = declared.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f"did you mean {close[0]}?" if close else f"the template's parameters: {', '.join(declared)}"
            mistakes.append(f"{where}: template.yaml has no parameter {name} ({hint})")
            continue
        problem = _problem(name, spec, value)
        if problem:
            mistakes.append(f"{where}: {problem}")
    return mistakes


def checked(declared: dict[str, dict[str, Any]], items: list[str], log_level: str | None) -> dict[str, str]:
    """The overrides (``--parameter`` and ``--log-level``) when CloudFormation would take them all; else IntakeError."""
    values, mistakes = parse_overrides(items)
    source: dict[str, str] = {}
    if log_level is not None:
        values["LogLevel"] = log_level.upper()
        source["LogLevel"] = f"--log-level {log_level}"
    mistakes += check(declared, values, source)
    if mistakes:
        raise IntakeError("\n".join(mistakes))
    return values


def _problem(name: str, spec: dict[str, Any], value: str) -> str | None:  # noqa: PLR0911 - one return per rule
    kind = str(spec.get("Type", "String"))
    allowed = [str(option) for option in spec.get("AllowedValues") or []]
    if kind == "Number":
        number = _number(value)
        if number is None:
            return f"{name} is a Number; {value!r} is not a number"
        if allowed and all(_number(option) != number for option in allowed):
            return f"{name} must be one of {', '.join(allowed)}"
        if "MinValue" in spec and number < Decimal(str(spec["MinValue"])):
            return f"{name} must be at least {spec['MinValue']}"
        if "MaxValue" in spec and number > Decimal(str(spec["MaxValue"])):
            return f"{name} must be at most {spec['MaxValue']}"
        return None
    if allowed and value not in allowed:
        return f"{name} must be one of {', '.join(allowed)}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"{name} must be at least {spec['MinLength']} characters long"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"{name} must be at most {spec['MaxLength']} characters long"
    pattern = spec.get("AllowedPattern")
    if pattern and re.fullmatch(str(pattern), value) is None:
        return f"{name} must match {pattern}"
    return None


def _number(text: str) -> Decimal | None:
    if _NUMBER.fullmatch(text.strip()) is None:
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None
