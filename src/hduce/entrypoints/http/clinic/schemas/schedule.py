"""Bodies of the working-hours, time-off, extra-hours and slot endpoints.

Wall-clock times are ``"HH:MM"`` in the doctor's timezone; an interval may end at
``"24:00"`` (midnight at the end of the day; ``"00:00"`` as an end means the same).
Instants carry a UTC offset; where a date is accepted instead, it is that day on the
doctor's calendar (see ``hduce.application.clinic.schedule``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta

from hduce.application.availability.free_slots import FreeSlot
from hduce.application.availability.local_calendar import DayOrInstant, ScheduledTimeOff
from hduce.domain.errors import InvalidInput
from hduce.domain.scheduling import WEEKDAYS, ExtraHours, LocalInterval, WeeklyHours
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import Timezone
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import (
    DAY_OR_INSTANT_PATTERN,
    DAY_RANGE,
    INSTANT_RANGE,
    CalendarDate,
    PlainText,
    refusal,
)

WallTime = Annotated[
    str,
    Meta(
        pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$",
        description='Wall-clock time "HH:MM" in the doctor\'s timezone ("24:00": end of day).',
        examples=["09:00"],
    ),
]
#: Read by ``parse_day_or_instant``, which holds it to the pattern (documented here).
DayOrInstantText = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=40,
        description="An instant with a UTC offset (RFC 3339), or a date (YYYY-MM-DD) "
        "meaning that whole day in the doctor's timezone; an end date is inclusive. "
        f"Instants {INSTANT_RANGE} (UTC), dates {DAY_RANGE}.",
        examples=["2030-08-01T14:00:00+02:00", "2030-08-15"],
        extra_json_schema={"extra": {"pattern": DAY_OR_INSTANT_PATTERN}},
    ),
]
Reason = Annotated[PlainText, Meta(max_length=500, examples=["Conference"])]
#: More intervals than this in one day is a client bug, not a schedule.
MAX_INTERVALS_PER_DAY: Final = 24
DayIntervals = Annotated[list["IntervalIn"], Meta(max_length=MAX_INTERVALS_PER_DAY)]
#: Dr. Romero's week, for the examples.
_OFFICE_HOURS: Final = [{"start": "09:00", "end": "13:00"}, {"start": "15:00", "end": "18:00"}]
_MORNING: Final = [{"start": "09:00", "end": "14:00"}]

_END_OF_DAY: Final = "24:00"
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: RFC 3339 with a UTC offset, any year (the range is checked apart, to say so).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
#: "…T09:00:00 01:00": a "+" sent unencoded in a query string arrives as a space.
_SPACE_FOR_PLUS = re.compile(r"(T[\d:.]+) (\d{2}:\d{2})$")


def parse_day_or_instant(raw: str, field: str) -> DayOrInstant:
    """A date or an instant with a UTC offset, as ``DAY_OR_INSTANT_PATTERN`` says, in range."""
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", raw.strip())
    value: DayOrInstant | None = None
    try:
        if _DATE_ONLY.fullmatch(text):
            value = dt.date.fromisoformat(text)
        elif _INSTANT.fullmatch(text):
            value = msgspec.convert(text, dt.datetime)
    except (ValueError, msgspec.ValidationError):
        pass
    if value is None:
        raise InvalidInput(
            f"{field} must be a date (2030-01-31) or an instant with a UTC offset "
            f"(2030-01-31T09:00:00+01:00), not {raw!r}",
            field=field,
        )
    if (reason := refusal(value, text)) is not None:
        raise InvalidInput(f"{field} {reason}", field=field)
    return value


def _wall_time(text: str, field: str, *, may_be_end_of_day: bool) -> dt.time:
    if text == _END_OF_DAY:
        if not may_be_end_of_day:
            raise InvalidInput("24:00 can only end an interval", field=field)
        return dt.time(0)
    return dt.time.fromisoformat(text)


def _format_end(end: dt.time) -> str:
    return _END_OF_DAY if end == dt.time(0) else f"{end:%H:%M}"


def local_interval(start: str, end: str, *, prefix: str, field: str) -> LocalInterval:
    """``start``-``end`` as a domain interval; errors name ``prefix + "start"`` (or
    ``"end"``), or ``field`` when the interval as a whole is wrong."""
    first = _wall_time(start, f"{prefix}start", may_be_end_of_day=False)
    last = _wall_time(end, f"{prefix}end", may_be_end_of_day=True)
    try:
        return LocalInterval(first, last)
    except InvalidInput as error:
        raise InvalidInput(error.message, field=field) from None


class IntervalIn(msgspec.Struct, forbid_unknown_fields=True):
    start: WallTime
    end: Annotated[WallTime, ex("13:00")]


#: Where hours are worked; null: unassigned (ADR 0025).
InstitutionRef = Annotated[
    UUID | None,
    Meta(
        description="The institution these hours are worked at; left out: unassigned.",
        examples=[demo.INSTITUTION_ID],
    ),
]


class IntervalView(msgspec.Struct, omit_defaults=True):
    start: Annotated[str, ex("09:00")]
    end: Annotated[str, ex("13:00")]
    institution_id: InstitutionRef = None

    @classmethod
    def of(cls, interval: LocalInterval) -> IntervalView:
        return cls(
            start=f"{interval.start:%H:%M}",
            end=_format_end(interval.end),
            institution_id=interval.institution_id,
        )


# ------------------------------------------------------------------ working hours


class WeekIn(msgspec.Struct, forbid_unknown_fields=True):
    """Intervals per weekday; a day left out (or empty) is not worked."""

    monday: Annotated[DayIntervals, ex(_OFFICE_HOURS)] = []
    tuesday: Annotated[DayIntervals, ex(_OFFICE_HOURS)] = []
    wednesday: Annotated[DayIntervals, ex(_OFFICE_HOURS)] = []
    thursday: Annotated[DayIntervals, ex(_OFFICE_HOURS)] = []
    friday: Annotated[DayIntervals, ex(_MORNING)] = []
    saturday: Annotated[DayIntervals, ex([])] = []
    sunday: Annotated[DayIntervals, ex([])] = []

    def to_domain(self) -> WeeklyHours:
        days: dict[int, tuple[LocalInterval, ...]] = {}
        for weekday, name in enumerate(WEEKDAYS):
            intervals = tuple(
                local_interval(
                    interval.start,
                    interval.end,
                    prefix=f"days.{name}[{index}].",
                    field=f"days.{name}[{index}]",
                )
                for index, interval in enumerate(getattr(self, name))
            )
            try:
                WeeklyHours({weekday: intervals})  # overlaps, reported for this day
            except InvalidInput as error:
                raise InvalidInput(error.message, field=f"days.{name}") from None
            days[weekday] = intervals
        return WeeklyHours(days)


class WorkingHoursPut(msgspec.Struct, forbid_unknown_fields=True):
    """The whole week, replacing the previous one.

    ``timezone``, when given, states which zone the client meant the hours in; it must
    be the doctor's (change that with ``PATCH /doctors/{id}``), so hours prepared for
    one zone are never stored for another.
    """

    days: WeekIn
    timezone: Timezone | None = None
    #: The place these hours are for; the doctor's hours elsewhere are kept.
    institution_id: Annotated[
        UUID | None,
        Meta(
            description="The institution these hours are worked at (the doctor must work "
            "there): only the hours there are replaced, and they may not overlap the "
            "doctor's hours elsewhere. Left out or null: the unassigned hours.",
            examples=[demo.INSTITUTION_ID],
        ),
    ] = None


class WeekView(msgspec.Struct):
    monday: Annotated[list[IntervalView], ex(_OFFICE_HOURS)]
    tuesday: Annotated[list[IntervalView], ex(_OFFICE_HOURS)]
    wednesday: Annotated[list[IntervalView], ex(_OFFICE_HOURS)]
    thursday: Annotated[list[IntervalView], ex(_OFFICE_HOURS)]
    friday: Annotated[list[IntervalView], ex(_MORNING)]
    saturday: Annotated[list[IntervalView], ex([])]
    sunday: Annotated[list[IntervalView], ex([])]

    @classmethod
    def of(cls, weekly: WeeklyHours) -> WeekView:
        return cls(
            **{
                name: [IntervalView.of(i) for i in weekly.for_weekday(weekday)]
                for weekday, name in enumerate(WEEKDAYS)
            }
        )


class WorkingHoursView(msgspec.Struct):
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    days: WeekView


# ------------------------------------------------------------------ exceptions


class TimeOffCreate(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Annotated[DayOrInstantText, ex("2030-08-01", "2030-08-01T14:00:00+02:00")]
    ends_at: Annotated[DayOrInstantText, ex("2030-08-15", "2030-08-15T18:00:00+02:00")]
    reason: Reason = ""


class TimeOffView(msgspec.Struct):
    id: Annotated[UUID, ex(demo.TIME_OFF_ID)]
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    starts_at: Annotated[dt.datetime, ex("2030-07-31T22:00:00Z")]
    ends_at: Annotated[dt.datetime, ex("2030-08-15T22:00:00Z")]
    local_starts_at: Annotated[dt.datetime, ex("2030-08-01T00:00:00+02:00")]
    local_ends_at: Annotated[dt.datetime, ex("2030-08-16T00:00:00+02:00")]
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    reason: Annotated[str, ex("Conference")]

    @classmethod
    def of(cls, scheduled: ScheduledTimeOff) -> TimeOffView:
        slot, zone = scheduled.time_off.slot, ZoneInfo(scheduled.timezone)
        return cls(
            id=scheduled.id,
            doctor_id=scheduled.doctor_id,
            starts_at=slot.start,
            ends_at=slot.end,
            local_starts_at=slot.start.astimezone(zone),
            local_ends_at=slot.end.astimezone(zone),
            timezone=scheduled.timezone,
            reason=scheduled.time_off.reason,
        )


class ExtraHoursCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Working time added on one date of the doctor's calendar."""

    date: Annotated[CalendarDate, ex("2030-01-12")]
    start: Annotated[WallTime, ex("10:00")]
    end: Annotated[WallTime, ex("12:00")]
    institution_id: InstitutionRef = None

    def to_domain(self) -> ExtraHours:
        interval = local_interval(self.start, self.end, prefix="", field="end")
        return ExtraHours(
            on=self.date,
            interval=LocalInterval(
                interval.start, interval.end, institution_id=self.institution_id
            ),
        )


class ExtraHoursView(msgspec.Struct, omit_defaults=True):
    id: Annotated[UUID, ex(demo.EXTRA_HOURS_ID)]
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    date: Annotated[dt.date, ex("2030-01-12")]
    start: Annotated[str, ex("10:00")]
    end: Annotated[str, ex("12:00")]
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    institution_id: InstitutionRef = None

    @classmethod
    def of(
        cls, extra_id: UUID, doctor_id: UUID, extra: ExtraHours, timezone: str
    ) -> ExtraHoursView:
        view = IntervalView.of(extra.interval)
        return cls(
            id=extra_id,
            doctor_id=doctor_id,
            date=extra.on,
            start=view.start,
            end=view.end,
            timezone=timezone,
            institution_id=extra.interval.institution_id,
        )


# ------------------------------------------------------------------ slots


class SlotInstitution(msgspec.Struct):
    """Where the visit would take place."""

    id: Annotated[UUID, ex(demo.INSTITUTION_ID)]
    name: Annotated[str, ex(demo.INSTITUTION_NAME)]
    timezone: Annotated[
        str, Meta(description="The institution's time zone.", examples=[demo.TIMEZONE])
    ]


class SlotView(msgspec.Struct, omit_defaults=True):
    starts_at: Annotated[
        dt.datetime, Meta(description="UTC instant.", examples=[demo.STARTS_AT_UTC])
    ]
    ends_at: Annotated[dt.datetime, Meta(description="UTC instant.", examples=[demo.ENDS_AT_UTC])]
    local_starts_at: Annotated[
        dt.datetime,
        Meta(
            description="The same instant on the doctor's wall clock, with offset.",
            examples=[demo.STARTS_AT_LOCAL],
        ),
    ]
    local_ends_at: Annotated[dt.datetime, ex(demo.ENDS_AT_LOCAL)]
    timezone: Annotated[str, Meta(examples=[demo.TIMEZONE])]
    institution: Annotated[
        SlotInstitution | None,
        Meta(description="Where the visit takes place; left out for unassigned hours."),
    ] = None

    @classmethod
    def of(cls, free: FreeSlot) -> SlotView:
        place = free.institution
        return cls(
            starts_at=free.slot.start,
            ends_at=free.slot.end,
            local_starts_at=free.local_start,
            local_ends_at=free.local_end,
            timezone=free.timezone,
            institution=SlotInstitution(id=place.id, name=place.name, timezone=place.timezone)
            if place is not None
            else None,
        )
