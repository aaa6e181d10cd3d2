"""template.yaml as CloudFormation sees it after `sam package` and the transforms (language extensions, then SAM)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from samtranslator.translator.transform import transform

from intake_cli.template import expand, read


class _NoManagedPolicies:
    """The transform looks managed policies up in IAM; the template names none by ARN lookup."""

    def load(self) -> dict[str, str]:
        return {}


@cache
def translated() -> dict[str, Any]:
    """The transformed template (local code paths replaced by S3 URIs, as `sam package` does)."""
    document = expand(read())
    for resource in document["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://package-bucket/{props[key].strip('/')}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result: dict[str, Any] = transform(document, {}, _NoManagedPolicies())
    return result


def resources_of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    """Translated resources of one type, by logical id."""
    return {k: v for k, v in translated()["Resources"].items() if v["Type"] == resource_type}


if __name__ == "__main__":
    # `make validate` lints what CloudFormation will deploy: SAM's output, where a dependency
    # loop or a bad property can appear that the source template does not show.
    import json
    import sys

    json.dump(translated(), sys.stdout, indent=1, default=str)
