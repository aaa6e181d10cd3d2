"""What the local stack and the CLI agree on: the state directory, its files, moto's credentials.

Standard library only, so that commands which never start a stack load quickly.
"""

from __future__ import annotations

from pathlib import Path

# The project checkout (src/intake_cli/local.py → the repository root), like template.ROOT.
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = ROOT / ".intake"
STATE_DIR_VARIABLE = "INTAKE_STATE_DIR"
STATE_FILE_NAME = "stack.json"
LOG_FILE_NAME = "stack.log"
DEFAULT_STACK_NAME = "webhook-intake-local"
DEFAULT_REGION = "us-east-1"
# moto takes any credentials; these never leave the machine.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
