"""Recurring series: a small subset of RFC 5545 RRULE, expanded on the doctor's wall clock.

Supported: ``FREQ=DAILY|WEEKLY``, ``INTERVAL``, ``COUNT`` or ``UNTIL`` (one of them is
required: a series without an end cannot be booked), ``BYDAY`` (plain weekdays) and
``WKST=MO``. Anything else (BYMONTH, BYSETPOS, ``1MO``...) is refused by name rather
than ignored, so a client never books something other than what it asked for.

Written by hand, standard library only, because the domain imports nothing else and the
subset is small (``dateutil.rrule`` serves as the oracle of the property tests instead).

Occurrences repeat the first one's *wall-clock* time in the doctor's timezone, so a
weekly 09:00 visit stays at 09:00 across a DST change (its UTC instant moves). A wall
time that a spring-forward gap skips is read with the offset before the gap (RFC 5545
section 3.3.5, which is also ``zoneinfo``'s ``fold=0``), and an ambiguous one at the
fall-back is its first occurrence; working hours then judge the resulting instant.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.domain.errors import BusinessRuleViolation, InvalidInput
from hduce.domain.scheduling import TimeSlot

#: The most occurrences one series may have (a year of weekly visits).
MAX_OCCURRENCES: Final = 52
#: The longest INTERVAL accepted (a larger one is almost surely a typo).
MAX_INTERVAL: Final = 52
#: How far past the first occurrence the expansion looks for occurrences. A rule whose
#: BYDAY never meets its period (DAILY;INTERVAL=7;BYDAY=TU from a Monday) would
#: otherwise be searched forever.
MAX_SPAN: Final = timedelta(days=3 * 366)

_DAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FIELD: Final = "rrule"


class Frequency(StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"


class SeriesTooLong(BusinessRuleViolation):
    """The rule gives more than ``MAX_OCCURRENCES`` occurrences (HTTP 422)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"a series has at most {limit} occurrences: lower COUNT or bring UNTIL closer",
            "series-too-long",
        )
        self.limit = limit


Until = date | datetime  # a local date (inclusive), a UTC instant, or a local wall time


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    freq: Frequency
    interval: int = 1
    count: int | None = None
    until: Until | None = None
    byday: tuple[int, ...] = ()  # ISO weekday indexes, 0 = Monday, sorted, no repeats

    def __post_init__(self) -> None:
        if not 1 <= self.interval <= MAX_INTERVAL:
            raise InvalidInput(f"INTERVAL must be 1..{MAX_INTERVAL}", _FIELD)
        if self.count is not None and self.until is not None:
            raise InvalidInput("give COUNT or UNTIL, not both (RFC 5545)", _FIELD)
        if self.count is None and self.until is None:
            raise InvalidInput("a series needs an end: give COUNT or UNTIL", _FIELD)
        if self.count is not None and self.count < 1:
            raise InvalidInput("COUNT must be at least 1", _FIELD)
        if any(day not in range(7) for day in self.byday):
            raise InvalidInput("BYDAY holds weekdays MO..SU", _FIELD)
        object.__setattr__(self, "byday", tuple(sorted(set(self.byday))))

    # ------------------------------------------------------------------ text form

    @classmethod
    def parse(cls, text: str) -> RecurrenceRule:
        """``FREQ=WEEKLY;INTERVAL=2;COUNT=10;BYDAY=MO,TH`` (an ``RRULE:`` prefix is allowed)."""
        body = text.strip()
        if body.upper().startswith("RRULE:"):
            body = body[len("RRULE:") :]
        if not body:
            raise InvalidInput("the rule is empty", _FIELD)
        parts: dict[str, str] = {}
        for part in body.split(";"):
            name, sep, value = part.partition("=")
            name = name.strip().upper()
            if not sep or not value.strip():
                raise InvalidInput(f"{part!r} is not NAME=VALUE", _FIELD)
            if name in parts:
                raise InvalidInput(f"{name} is given twice", _FIELD)
            parts[name] = value.strip().upper()
        unknown = set(parts) - {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "WKST"}
        if unknown:
            raise InvalidInput(
                f"unsupported rule part(s) {', '.join(sorted(unknown))}: only FREQ, "
                "INTERVAL, COUNT, UNTIL, BYDAY and WKST=MO are supported",
                _FIELD,
            )
        if parts.get("WKST", "MO") != "MO":
            raise InvalidInput("only WKST=MO is supported", _FIELD)
        if "FREQ" not in parts:
            raise InvalidInput("FREQ is required", _FIELD)
        try:
            freq = Frequency(parts["FREQ"])
        except ValueError:
            raise InvalidInput("FREQ must be DAILY or WEEKLY", _FIELD) from None
        byday: tuple[int, ...] = ()
        if "BYDAY" in parts:
            names = [d.strip() for d in parts["BYDAY"].split(",")]
            if any(d not in _DAYS for d in names):
                raise InvalidInput("BYDAY lists plain weekdays, e.g. BYDAY=MO,WE,FR", _FIELD)
            byday = tuple(_DAYS.index(d) for d in names)
        return cls(
            freq=freq,
            interval=_integer(parts.get("INTERVAL", "1"), "INTERVAL"),
            count=_integer(parts["COUNT"], "COUNT") if "COUNT" in parts else None,
            until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
            byday=byday,
        )

    def __str__(self) -> str:
        text = [f"FREQ={self.freq.value}"]
        if self.interval != 1:
            text.append(f"INTERVAL={self.interval}")
        if self.count is not None:
            text.append(f"COUNT={self.count}")
        if isinstance(self.until, datetime):
            suffix = "Z" if self.until.tzinfo is not None else ""
            text.append(f"UNTIL={self.until:%Y%m%dT%H%M%S}{suffix}")
        elif self.until is not None:
            text.append(f"UNTIL={self.until:%Y%m%d}")
        if self.byday:
            text.append("BYDAY=" + ",".join(_DAYS[d] for d in self.byday))
        return ";".join(text)

    # ------------------------------------------------------------------ expansion

    def local_dates(self, first: date) -> Iterator[date]:
        """The candidate dates on or after ``first`` (no end applied), in order, bounded
        by ``MAX_SPAN``. Weeks start on Monday."""
        last = first + MAX_SPAN
        if self.freq is Frequency.DAILY:
            day = first
            step = timedelta(days=self.interval)
            while day <= last:
                if not self.byday or day.weekday() in self.byday:
                    yield day
                day += step
            return
        weekdays = self.byday or (first.weekday(),)
        week = first - timedelta(days=first.weekday())
        step = timedelta(weeks=self.interval)
        while week <= last:
            for weekday in weekdays:
                day = week + timedelta(days=weekday)
                if first <= day <= last:
                    yield day
            week += step

    def _ended(self, wall: datetime, start: datetime) -> bool:
        until = self.until
        if until is None:
            return False
        if isinstance(until, datetime):
            return (start if until.tzinfo is not None else wall) > until
        return wall.date() > until


def _integer(value: str, name: str) -> int:
    if not re.fullmatch(r"[0-9]{1,4}", value):
        raise InvalidInput(f"{name} must be a positive whole number", _FIELD)
    return int(value)


def _until(value: str) -> Until:
    try:
        if re.fullmatch(r"[0-9]{8}", value):
            return datetime.strptime(value, "%Y%m%d").date()
        if re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if re.fullmatch(r"[0-9]{8}T[0-9]{6}", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError:
        pass
    raise InvalidInput(
        "UNTIL is a date (20300131), a UTC time (20300131T090000Z) or a local time", _FIELD
    )


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence: its 0-based position, its wall-clock start, and its UTC slot."""

    index: int
    local_start: datetime  # naive, on the doctor's wall clock
    slot: TimeSlot


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time in ``zone`` as a UTC instant (gap: offset before; overlap: first)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def expand(
    rule: RecurrenceRule,
    first: datetime,
    timezone: str,
    length: timedelta,
    *,
    limit: int = MAX_OCCURRENCES,
) -> list[Occurrence]:
    """The occurrences of ``rule`` from ``first`` (a naive wall time in ``timezone``),
    each ``length`` long. More than ``limit`` of them is ``SeriesTooLong``; none at all
    is ``InvalidInput``. As with ``dateutil``, ``first`` itself is an occurrence only
    when the rule yields it (``BYDAY`` may exclude it)."""
    if first.tzinfo is not None:
        raise InvalidInput("the first occurrence is a wall-clock time here", "starts_at")
    if rule.count is not None and rule.count > limit:
        raise SeriesTooLong(limit)
    zone = ZoneInfo(timezone)
    found: list[Occurrence] = []
    for day in rule.local_dates(first.date()):
        wall = datetime.combine(day, first.time())
        start = to_utc(wall, zone)
        if rule._ended(wall, start):
            break
        if len(found) == limit:
            raise SeriesTooLong(limit)
        found.append(Occurrence(len(found), wall, TimeSlot(start, start + length)))
        if rule.count is not None and len(found) == rule.count:
            break
    else:
        if found and rule.count is not None:
            raise InvalidInput(
                f"the series would run more than {MAX_SPAN.days} days: lower COUNT or INTERVAL",
                _FIELD,
            )
    if not found:
        raise InvalidInput("the rule gives no occurrence on or after the first date", _FIELD)
    return found


@dataclass(frozen=True, slots=True)
class RecurringSeries:
    """A booked series: who, with whom, the rule and its first wall-clock start.

    Its occurrences are ordinary appointments; the series only links them (by their
    0-based occurrence index), so every appointment rule applies to each of them."""

    id: UUID
    patient_id: UUID
    doctor_id: UUID
    rule: str  # canonical RRULE text (``str(RecurrenceRule)``)
    first_local_start: datetime  # naive, on the doctor's wall clock
    timezone: str
    length: timedelta
    created_by: UUID | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SeriesMember:
    series_id: UUID
    index: int
    appointment_id: UUID
