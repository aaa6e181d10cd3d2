"""What the local stack and the CLI agree on: the state directory, its files, moto's credentials.

Standard library only, so that commands which never start a stack load quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

# The project checkout (src/intake_cli/local.py → the repository root), like template.ROOT.
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = ROOT / ".intake"
STATE_DIR_VARIABLE = "INTAKE_STATE_DIR"
STATE_FILE_NAME = "stack.json"
LOG_FILE_NAME = "stack.log"
LOCK_FILE_NAME = "stack.lock"
DEFAULT_STACK_NAME = "webhook-intake-local"
DEFAULT_REGION = "us-east-1"
# moto takes any credentials; these never leave the machine.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# The shell's AWS settings that would take the local stack's clients elsewhere: a profile (botocore reads both
# names; this machine's ~/.aws may not have it), an endpoint for one service (it outranks AWS_ENDPOINT_URL), and
# the switch that turns the configured endpoints off. The local stack unsets them in its process.
ACCOUNT_PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
ACCOUNT_ENDPOINT_VARIABLES = ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",)
SERVICE_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL_"


def account_variables(names: Iterable[str]) -> tuple[str, ...]:
    """Those of ``names`` (an environment's) that point AWS clients at an account rather than the local stack."""
    return tuple(
        name
        for name in names
        if name in ACCOUNT_PROFILE_VARIABLES + ACCOUNT_ENDPOINT_VARIABLES or name.startswith(SERVICE_ENDPOINT_PREFIX)
    )
