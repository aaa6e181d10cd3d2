"""Write the ``--env-vars`` file ``sam local invoke`` needs: each function's environment, resolved against a stack.

``sam local invoke`` runs a function in Docker with the environment the template declares, but
cannot resolve a ``!Ref`` to a resource (the queue URL, the table name, the secret's ARN) without
a deployed stack. This reads those from a deployed stack (its resources and parameters) and
writes them in SAM's format, one object per function's logical id::

    python -m intake_cli.env_vars --stack webhook-intake-dev > .aws-sam/env-vars.json
    sam local invoke FirstupIngestFunction -e events/apigw/firstup/content_published.json \\
        --env-vars .aws-sam/env-vars.json

(``make env-vars STACK=…`` does the first line.)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.target import IntakeError, aws_problem, read_stack
from intake_cli.template import SamTemplate, TemplateError
from webhook_intake.registry import VENDORS


def environments(template: SamTemplate, refs: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each function's environment variables, every ``Ref`` resolved from ``refs`` (logical id → physical id).

    A vendor's functions are left out when the stack has none of its resources (it was deployed
    before the vendor was added): they cannot run against it, and the other functions still can.
    """
    found: dict[str, dict[str, str]] = {}
    for function in template.functions():
        if not_deployed(template, function.environment, refs):
            continue
        resolved = {}
        for name, value in function.environment.items():
            try:
                resolved[name] = str(template.value(value, refs))
            except TemplateError as exc:
                raise SystemExit(f"{function.logical_id} {name}: {exc}") from None
        found[function.logical_id] = resolved
    return found


def not_deployed(template: SamTemplate, environment: dict[str, Any], refs: dict[str, str]) -> bool:
    """Whether the environment is that of a vendor's function whose queue the stack lacks."""
    try:
        spec = VENDORS.get(str(template.value(environment.get("VENDOR"), refs)))
    except TemplateError:
        return False
    return spec is not None and f"{spec.stem}Queue" not in refs


def stack_refs(stack_name: str, region: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """A deployed stack's resources (logical id → physical id, pseudo parameters too) and its parameter values."""
    try:
        session, stack = read_stack(stack_name, region)
        pages = session.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack_name)
        resources = {
            resource["LogicalResourceId"]: resource.get("PhysicalResourceId", "")
            for page in pages
            for resource in page["StackResourceSummaries"]
        }
    except IntakeError as exc:
        raise SystemExit(f"error: {exc}") from None
    except (ClientError, BotoCoreError) as exc:
        raise SystemExit(f"error: cannot list the resources of stack {stack_name}: {aws_problem(exc)}") from None
    arn = str(stack["StackId"]).split(":")
    pseudo = {
        "AWS::StackName": stack_name,
        "AWS::Region": arn[3],
        "AWS::AccountId": arn[4],
        "AWS::Partition": arn[1],
        "AWS::URLSuffix": "amazonaws.com.cn" if arn[1] == "aws-cn" else "amazonaws.com",
    }
    parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
    return {**resources, **pseudo}, parameters


def main(argv: list[str] | None = None) -> None:
    """Print the ``--env-vars`` document for a deployed stack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the deployed stack whose resources the functions use")
    parser.add_argument("--region", help="its region (default: your AWS configuration's)")
    args = parser.parse_args(argv)
    refs, parameters = stack_refs(args.stack, args.region)
    template = SamTemplate(parameters=parameters)
    document: dict[str, Any] = environments(template, refs)
    if not document:
        # Every function left out: not a stack deployed before a vendor was added, but another template's.
        raise SystemExit(
            f"error: stack {args.stack} has none of this template's vendor queues: is it a webhook-intake stack?"
        )
    left_out = [function.logical_id for function in template.functions() if function.logical_id not in document]
    if left_out:
        print(f"left out (not in stack {args.stack} yet: deploy it first): {', '.join(left_out)}", file=sys.stderr)
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
