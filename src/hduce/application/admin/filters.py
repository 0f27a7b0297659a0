"""Checks shared by the admin read side's filters (time windows, free text)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from hduce.domain.errors import InvalidInput
from hduce.domain.scheduling import ensure_utc

#: Instants a filter may name. Nothing the clinic records lies outside, and beyond them
#: calendar arithmetic (local days, seconds since the epoch) has no answer.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(9000, 1, 1, tzinfo=UTC)


def instant(value: datetime | None, field: str) -> datetime | None:
    """``value`` in UTC; refused when naive or outside [EARLIEST, LATEST)."""
    if value is None:
        return None
    try:
        utc = ensure_utc(value, field)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise InvalidInput(f"{field} must lie between the years 1970 and 9000", field=field)
    return utc


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise InvalidInput("'to' must be after 'from'", field="to")


def text_filter(value: str | None, field: str) -> str | None:
    """A free-text filter; control characters are refused (PostgreSQL cannot even
    compare a string holding NUL)."""
    if value is None:
        return None
    if any(ord(character) < 32 for character in value):
        raise InvalidInput(f"{field} may not contain control characters", field=field)
    return value
