"""The event log's one time format, and which vendor times it trusts. Standard library only.

Every time in the log is ISO-8601 UTC with milliseconds and a ``Z``, zero-padded
(``2026-07-02T10:03:51.742Z``), so that times sort as text. A vendor's time is trusted for
ordering only when it is readable, not before 2000 and not further in the future than
:data:`FUTURE_TOLERANCE_SECONDS` beyond our own receive time (docs/data-model.md, "Time").
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from enum import StrEnum

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Times before this are a vendor's placeholder or a unit mistake, not an event time."""
FUTURE_TOLERANCE_SECONDS = 300
"""How far a vendor's clock may run ahead of ours before its time is not trusted."""
_EPOCH_LIMIT = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second ISO-8601 can write
# A calendar date written out (2026-11-29), then the end, a T or a space. Python also reads ISO's compact
# forms, whose digits an epoch number has too: 1796082430000 (milliseconds) would read as 1796-08-24.
_EXTENDED_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ]|$)")


class Untrusted(StrEnum):
    """Why a vendor's time was not used as the event time (``time_rejected``)."""

    UNREADABLE = "unreadable"
    BEFORE_2000 = "before_2000"
    FUTURE = "future"


def iso_millis(moment: datetime) -> str:
    """``2026-07-02T10:03:51.742Z``: UTC, milliseconds, the year always four digits."""
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}."
        f"{utc.microsecond // 1000:03d}Z"
    )


def from_epoch(value: object, per_second: int) -> datetime | None:
    """Seconds (``per_second=1``) or milliseconds (1000) since the epoch; None unless a finite, writable time."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value) / per_second  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or not -_EPOCH_LIMIT <= seconds <= _EPOCH_LIMIT:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_iso(value: object) -> datetime | None:
    """An ISO-8601 time with its date written out (``Z`` or an offset; without one, UTC); None when it is not one."""
    if not isinstance(value, str) or len(value) > 64 or not _EXTENDED_DATE.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)  # year 1 or 9999 with an offset: not a time in UTC
    except OverflowError:
        return None
    return moment


def judge(candidate: datetime | None, received: datetime, *, present: bool) -> Untrusted | None:
    """Why ``candidate`` (a vendor time, ``present`` in the payload) cannot order events; None if it can."""
    if candidate is None:
        return Untrusted.UNREADABLE if present else None
    if candidate < EARLIEST:
        return Untrusted.BEFORE_2000
    if (candidate - received).total_seconds() > FUTURE_TOLERANCE_SECONDS:
        return Untrusted.FUTURE
    return None
