"""docs/parameters.md: every template parameter, its default, the values it takes and what it does.

Written from template.yaml (``.venv/bin/python -m intake_cli.parameter_docs``); a test keeps the file equal
to what this writes, so the reference never drifts from the template.
"""

from __future__ import annotations

import sys
from typing import Any

from intake_cli.template import TEMPLATE_PATH, read

REFERENCE_PATH = TEMPLATE_PATH.parent / "docs" / "parameters.md"
_HEAD = """# Template parameters

Every parameter of `template.yaml`, as `sam deploy` takes them (`parameter_overrides` in
`samconfig.toml`, or `--parameter-overrides`) and as the local stack does (`intake serve
--parameter NAME=VALUE`, checked as CloudFormation checks them). Written from the template by
`.venv/bin/python -m intake_cli.parameter_docs`: change the template's `Description`, then run it.

| parameter | default | takes | what it does |
|---|---|---|---|
"""


def _takes(declared: dict[str, Any]) -> str:
    if "AllowedValues" in declared:
        return ", ".join(f"`{value}`" for value in declared["AllowedValues"])
    low, high = declared.get("MinValue"), declared.get("MaxValue")
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None or high is not None:
        return f"≥ {low}" if high is None else f"≤ {high}"
    constraint = str(declared.get("ConstraintDescription", ""))
    if "AllowedPattern" in declared and constraint.startswith("must be "):
        # What CloudFormation (and the local stack) say when refusing a value: "must be <what it takes>".
        return constraint.removeprefix("must be ")
    return "text" if declared.get("Type") == "String" else str(declared.get("Type", ""))


def reference() -> str:
    """The page, from the template's parameters in their order."""
    rows = []
    for name, declared in (read().get("Parameters") or {}).items():
        default = declared.get("Default", "")
        shown = f"`{default}`" if str(default) != "" else "(empty)"
        meaning = " ".join(str(declared.get("Description", "")).split()).replace("|", "\\|")
        rows.append(f"| `{name}` | {shown} | {_takes(declared)} | {meaning} |")
    return _HEAD + "\n".join(rows) + "\n"


if __name__ == "__main__":
    REFERENCE_PATH.write_text(reference(), encoding="utf-8")
    sys.stdout.write(f"wrote {REFERENCE_PATH.relative_to(TEMPLATE_PATH.parent)}\n")
