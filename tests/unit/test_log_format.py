"""A failure's log line: every exception of its chain named, only the package's own messages quoted."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from webhook_intake.observability import function_logger
from webhook_intake.store.events import StoreError

PRIVATE = "carol@example.com wrote something private"


class Tricky(Exception):
    """An exception whose every attribute a formatter may read fails, quoting the data as it does."""

    @property
    def response(self) -> Any:
        raise RuntimeError(PRIVATE)

    def __str__(self) -> str:
        raise RuntimeError(PRIVATE)


def logged(exc: BaseException, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The one line a function's logger writes for ``logger.exception`` while ``exc`` is handled."""
    buffer = io.StringIO()
    # The functions' formatter, on a logger of its own writing to the buffer (a Powertools logger
    # keeps the stream it was first made with, and a test's stdout is closed after it).
    formatter = function_logger().registered_formatter
    logger = Logger(service=f"log-format-{uuid.uuid4().hex}", logger_formatter=formatter)
    logger.registered_handler.setStream(buffer)
    try:
        raise exc
    except BaseException:
        logger.exception("record failed")
    assert capsys.readouterr().err == ""  # the formatter itself never failed (logging prints its errors there)
    (line,) = buffer.getvalue().splitlines()
    return dict(json.loads(line))


def with_note(exc: BaseException) -> BaseException:
    exc.add_note(PRIVATE)
    return exc


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(KeyError(PRIVATE), id="builtin"),
        pytest.param(ClientError({"Error": {"Code": "ValidationException", "Message": PRIVATE}}, "PutItem"), id="aws"),
        pytest.param(with_note(ValueError("x")), id="a-note"),
        pytest.param(Tricky(), id="unreadable"),
        pytest.param(ExceptionGroup("batch", [KeyError(PRIVATE), StoreError("put_item failed: X")]), id="group"),
    ],
)
def test_a_foreign_exceptions_message_is_in_no_field_of_the_line(
    exc: BaseException, capsys: pytest.CaptureFixture[str]
) -> None:
    line = logged(exc, capsys)
    assert PRIVATE not in json.dumps(line)
    assert "Traceback (most recent call last)" in line["exception"]
    assert type(exc).__name__ in line["exception"]


def test_an_aws_error_is_named_by_its_code_and_a_groups_members_each_by_their_own_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws = ClientError({"Error": {"Code": "ValidationException", "Message": PRIVATE}}, "PutItem")
    assert "ClientError: ValidationException (PutItem)" in logged(aws, capsys)["exception"]
    group = logged(ExceptionGroup("batch", [KeyError(PRIVATE), StoreError("put_item failed: X")]), capsys)
    assert "KeyError" in group["exception"]
    assert "StoreError: put_item failed: X" in group["exception"]
