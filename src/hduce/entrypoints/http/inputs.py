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
import re
from collections.abc import Iterator
from typing import Annotated, Any, Final

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.errors import InvalidInput

#: Matches text without NUL; ``Text`` and every text query parameter carry it.
NO_NUL: Final = r"^[^\x00]*$"
#: Stricter, for filters the use cases refuse any control character in.
NO_CONTROL: Final = r"^[^\x00-\x1f]*$"
Text = Annotated[str, Meta(pattern=NO_NUL)]
#: What ``domain.text.plain_text`` lets through, for text people read: no C0 or C1
#: control, DEL or bidirectional control; multi-line text may hold tabs and line feeds
#: (CR only before LF).
_FORBIDDEN = r"\x7f-\x9f\u202a-\u202e\u2066-\u2069"
PLAIN_TEXT: Final = rf"^[^\x00-\x1f{_FORBIDDEN}]*$"
MULTILINE_TEXT: Final = rf"^(?:[^\x00-\x08\x0b-\x1f{_FORBIDDEN}]|\r\n)*$"
# The document states the whole rule; msgspec enforces NUL only, so the rest is refused
# by ``plain_text`` itself (400 ``invalid-input`` naming the field, as before).
PlainText = Annotated[
    str, Meta(pattern=NO_NUL, extra_json_schema={"extra": {"pattern": PLAIN_TEXT}})
]
MultilineText = Annotated[
    str, Meta(pattern=NO_NUL, extra_json_schema={"extra": {"pattern": MULTILINE_TEXT}})
]

EARLIEST: Final = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
#: Exclusive.
LATEST: Final = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
FIRST_DAY: Final = EARLIEST.date()
LAST_DAY: Final = (LATEST - dt.timedelta(days=1)).date()

_YEAR = r"(?:19|20|21)\d\d"
_YEAR_SINCE_1970 = r"(?:19[7-9]|20\d|21\d)\d"
# Days each month can have (29 February always: leap years are the parser's to tell).
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2\d))"
)
_DATE = rf"{_YEAR}-{_MONTH_DAY}"
_DATE_SINCE_1970 = rf"{_YEAR_SINCE_1970}-{_MONTH_DAY}"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
_OFFSET = r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
#: What the OpenAPI document says a date, an instant, or either may look like: RFC 3339
#: with a UTC offset, in the years 1900-2199 (the exact bounds are in the descriptions).
DATE_PATTERN: Final = rf"^{_DATE}$"
INSTANT_PATTERN: Final = rf"^{_DATE}[Tt]{_TIME}{_OFFSET}$"
#: The admin filters' instants (``application.admin.filters``): from 1970 on.
INSTANT_SINCE_1970_PATTERN: Final = rf"^{_DATE_SINCE_1970}[Tt]{_TIME}{_OFFSET}$"
DAY_OR_INSTANT_PATTERN: Final = rf"^{_DATE}(?:[Tt]{_TIME}{_OFFSET})?$"
#: msgspec also reads "2030-01-08 09:00:00Z"; JSON Schema's date-time does not.
_T_SEPARATED = re.compile(r"\d{4}-\d\d-\d\d[Tt]")

INSTANT_RANGE: Final = f"from {EARLIEST:%Y-%m-%dT%H:%M:%SZ} up to {LATEST:%Y-%m-%dT%H:%M:%SZ}"
DAY_RANGE: Final = f"from {FIRST_DAY} to {LAST_DAY}"
SINCE_1970_RANGE: Final = f"from 1970-01-01T00:00:00Z up to {LATEST:%Y-%m-%dT%H:%M:%SZ}"


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


def instant_query(
    name: str,
    description: str,
    *,
    pattern: str = INSTANT_PATTERN,
    instant_range: str = INSTANT_RANGE,
) -> QueryParameter:
    """An optional date-time query parameter ``name``, documented like ``Instant`` (or
    with the narrower ``pattern`` and ``instant_range`` of a use case's own rule)."""
    return QueryParameter(
        name=name,
        required=False,
        description=f"{description}. An instant with a UTC offset, {instant_range} (UTC).",
        schema_extra={"pattern": pattern},
    )


def since_1970_query(name: str, description: str) -> QueryParameter:
    """``instant_query`` for the admin filters, which refuse instants before 1970."""
    return instant_query(
        name, description, pattern=INSTANT_SINCE_1970_PATTERN, instant_range=SINCE_1970_RANGE
    )


def refusal(value: dt.date, written: Any = None) -> str | None:
    """Why the date or instant ``value``, read from ``written`` (the text sent, when
    known), is refused (``None``: it is not).

    A naive instant is compared as if it were UTC: whether it needs an offset is the
    use case's to say, but it must not overflow before it gets there.
    """
    if isinstance(value, dt.datetime):
        if isinstance(written, str) and not _T_SEPARATED.match(written):
            return "must be an RFC 3339 date-time (a T between the date and the time)"
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        # Comparing aware datetimes never converts them, so 0001-01-01T00:00+01:00 is fine.
        return None if EARLIEST <= aware < LATEST else f"must lie {INSTANT_RANGE} (UTC)"
    return None if FIRST_DAY <= value <= LAST_DAY else f"must be a date {DAY_RANGE}"


def refused_moments(value: Any, written: Any = None, path: str = "") -> Iterator[tuple[str, str]]:
    """``(path, reason)`` for every date or instant in ``value`` (a decoded body: structs,
    lists, dicts) that ``refusal`` refuses; ``written`` is the same body as sent (decoded
    JSON). Paths read like msgspec's (``days.monday[0].start``)."""
    if isinstance(value, dt.date):
        if (reason := refusal(value, written)) is not None:
            yield path, reason
    elif isinstance(value, msgspec.Struct):
        sent = written if isinstance(written, dict) else {}
        for name, key in zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True):
            child = f"{path}.{key}" if path else key
            yield from refused_moments(getattr(value, name), sent.get(key), child)
    elif isinstance(value, list | tuple):
        sent_items = written if isinstance(written, list) else []
        for index, item in enumerate(value):
            sent_item = sent_items[index] if index < len(sent_items) else None
            yield from refused_moments(item, sent_item, f"{path}[{index}]")
    elif isinstance(value, dict):
        sent = written if isinstance(written, dict) else {}
        for key, item in value.items():
            yield from refused_moments(item, sent.get(key), f"{path}.{key}" if path else str(key))


# ------------------------------------------------------------------ appointment statuses

_STATUS = "|".join(status.value for status in AppointmentStatus)
#: A ``status`` filter value: statuses separated by commas (``GET /appointments`` and
#: the admin's appointments report read it alike).
STATUSES_PATTERN: Final = rf"^(?:{_STATUS})(?:,(?:{_STATUS}))*$"


def parse_statuses(raw: list[str] | None) -> frozenset[AppointmentStatus] | None:
    if not raw:
        return None
    names = [name.strip() for item in raw for name in item.split(",") if name.strip()]
    try:
        return frozenset(AppointmentStatus(name) for name in names) or None
    except ValueError:
        allowed = ", ".join(status.value for status in AppointmentStatus)
        raise InvalidInput(f"status must be among: {allowed}", field="status") from None
