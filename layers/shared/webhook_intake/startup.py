"""A Lambda module's start-up: the cyclic garbage collector out of the way, the libraries' dumps out of the logs."""

from __future__ import annotations

import gc
import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

QUIET_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer", "aws_lambda_powertools")
"""Libraries whose DEBUG lines dump requests and responses: a secret's value, a message's body, a signature."""


@contextmanager
def cold_start() -> Iterator[None]:
    """Import and build the handler with the collector paused, then freeze what start-up made.

    Imports allocate hundreds of thousands of long-lived objects; the collector would scan
    them again and again while they are created (a measurable part of a cold start), and on
    every later collection. Frozen, they are never scanned again.
    """
    gc.disable()
    # At LogLevel=DEBUG Lambda sets the root logger to DEBUG, and these follow it unless told
    # otherwise: their warnings stay, their dumps never reach the logs.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
