"""``intake``: run the local stack; find, follow, fix and replay events; send deliveries like a vendor.

Every command but ``serve`` and ``demo`` works against the local stack (found through
``<state dir>/stack.json``) or, with ``--stack NAME``, against a deployed stack (found
through its CloudFormation outputs).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import Annotated

import typer

from intake_cli.cli import app, dlq_app, project_version
from intake_cli.local import DEFAULT_STATE_DIR, STATE_DIR_VARIABLE
from intake_cli.terminal import legible

__all__ = ["app"]

# Each module registers its commands; help lists the panels in the order they first appear.
for _module in ("stack", "send", "reads", "fixes"):
    importlib.import_module(f"intake_cli.commands.{_module}")
app.add_typer(dlq_app, name="dlq", rich_help_panel="Fix and replay")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"intake (webhook-intake) {project_version()}")
        raise typer.Exit


@app.callback()
def main(
    ctx: typer.Context,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state-dir",
            metavar="DIR",
            envvar=STATE_DIR_VARIABLE,
            help="Where the local stack writes stack.json and its log.",
            file_okay=False,
        ),
    ] = DEFAULT_STATE_DIR,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """webhook-intake's command line: the local stack, and the operator's console for local and deployed stacks."""
    ctx.obj = state_dir
    legible(sys.stdout)


if __name__ == "__main__":
    app()
