"""What request values may be, wherever they are read (body, query, path).

* Text never holds NUL: PostgreSQL refuses it in any string (the driver fails the
  whole statement), so it is refused here, before any use case sees it. Every request
  text type derives from ``Text``, whose pattern says so in the OpenAPI document too.
* Instants and dates lie between 1900 and 2200. Python's calendar ends at the years 1
  and 9999, so a visit, a local day or an offset added near them overflows; nothing the
  clinic records lies anywhere near. ``Instant`` and ``CalendarDate`` document the
  range (a pattern on the years, the exact bounds in words); ``decoding`` enforces it
  for every date-time and date a request carries, whatever its type was called.
* Values are written as the schema says: a boolean is ``true``/``false``, a date-time
  an RFC 3339 string. ``decoding`` decodes bodies strictly and checks query values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any, Final

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

#: Matches text without NUL; ``Text`` and every text query parameter carry it.
NO_NUL: Final = r"^[^\x00]*$"
#: Stricter, for filters the use cases refuse any control character in.
NO_CONTROL: Final = r"^[^\x00-\x1f]*$"
Text = Annotated[str, Meta(pattern=NO_NUL)]

EARLIEST: Final = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
#: Exclusive.
LATEST: Final = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
FIRST_DAY: Final = EARLIEST.date()
LAST_DAY: Final = (LATEST - dt.timedelta(days=1)).date()

_YEAR = r"(?:19|20|21)\d\d"
# Days each month can have (29 February always: leap years are the parser's to tell).
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2\d))"
)
_DATE = rf"{_YEAR}-{_MONTH_DAY}"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
_OFFSET = r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
#: What the OpenAPI document says a date, an instant, or either may look like: RFC 3339
#: with a UTC offset, in the years 1900-2199 (the exact bounds are in the descriptions).
DATE_PATTERN: Final = rf"^{_DATE}$"
INSTANT_PATTERN: Final = rf"^{_DATE}[Tt ]{_TIME}{_OFFSET}$"
DAY_OR_INSTANT_PATTERN: Final = rf"^{_DATE}(?:[Tt ]{_TIME}{_OFFSET})?$"

INSTANT_RANGE: Final = f"from {EARLIEST:%Y-%m-%dT%H:%M:%SZ} up to {LATEST:%Y-%m-%dT%H:%M:%SZ}"
DAY_RANGE: Final = f"from {FIRST_DAY} to {LAST_DAY}"


def _documented(pattern: str, description: str) -> Meta:
    # Litestar turns ``extra_json_schema["extra"]`` into schema keywords: msgspec itself
    # checks patterns on strings only, so on a date-time the pattern is documentation
    # and ``decoding`` does the checking.
    return Meta(description=description, extra_json_schema={"extra": {"pattern": pattern}})


Instant = Annotated[
    dt.datetime,
    _documented(INSTANT_PATTERN, f"An instant with a UTC offset, {INSTANT_RANGE} (UTC)."),
]
CalendarDate = Annotated[dt.date, _documented(DATE_PATTERN, f"A date {DAY_RANGE}.")]


def instant_query(name: str, description: str) -> QueryParameter:
    """An optional date-time query parameter ``name``, documented like ``Instant``."""
    return QueryParameter(
        name=name,
        required=False,
        description=f"{description}. An instant with a UTC offset, {INSTANT_RANGE} (UTC).",
        schema_extra={"pattern": INSTANT_PATTERN},
    )


def out_of_range(value: dt.date) -> str | None:
    """Why the date or instant ``value`` is refused (``None``: it is not).

    A naive instant is compared as if it were UTC: whether it needs an offset is the
    use case's to say, but it must not overflow before it gets there.
    """
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        # Comparing aware datetimes never converts them, so 0001-01-01T00:00+01:00 is fine.
        return None if EARLIEST <= aware < LATEST else f"must lie {INSTANT_RANGE} (UTC)"
    return None if FIRST_DAY <= value <= LAST_DAY else f"must be a date {DAY_RANGE}"


def dates_out_of_range(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(path, reason)`` for every date or instant in ``value`` (a decoded body: structs,
    lists, dicts) that is out of range; paths read like msgspec's (``days.monday[0]``)."""
    if isinstance(value, dt.date):
        if (reason := out_of_range(value)) is not None:
            yield path, reason
    elif isinstance(value, msgspec.Struct):
        for name, key in zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True):
            yield from dates_out_of_range(getattr(value, name), f"{path}.{key}" if path else key)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from dates_out_of_range(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from dates_out_of_range(item, f"{path}.{key}" if path else str(key))
