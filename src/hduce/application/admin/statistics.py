"""Clinic statistics, admin-only, from the ``ClinicStatistics`` port (which aggregates
where the data lives)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.application.access import scoped_institution
from hduce.application.admin.filters import check_window, instant
from hduce.application.ports import (
    ClinicStatistics,
    Clock,
    DoctorCount,
    InstitutionCount,
    SpecialtyCount,
)
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.demographics import AgeBand
from hduce.domain.errors import InvalidInput
from hduce.domain.identity import Actor, Sex, validate_timezone

_ONE_MICROSECOND: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class StatsPolicy:
    """Where "a day" is, and which window the statistics cover when none is asked for."""

    #: IANA zone whose calendar days ``appointments_by_day`` and "today" (ages) use.
    timezone: str = "UTC"
    lookback: timedelta = timedelta(days=30)
    lookahead: timedelta = timedelta(days=30)
    #: Longest window one request may ask for (bounds the size of the answer).
    max_window: timedelta = timedelta(days=366)

    def __post_init__(self) -> None:
        validate_timezone(self.timezone)


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class ClinicStats:
    """The admin dashboard. Appointment figures cover those starting in
    ``[window_start, window_end)``, whatever their status; people are counted as of now."""

    window_start: datetime
    window_end: datetime
    timezone: str
    #: The day ages are computed at: today on the wall clock of ``timezone``.
    today: date
    appointments_total: int
    #: Every status, zeros included, in the state machine's order.
    appointments_by_status: Mapping[AppointmentStatus, int]
    #: Every day of the window on the wall clock of ``timezone``, zeros included.
    appointments_by_day: Sequence[DayCount]
    #: Busiest first, then by name.
    appointments_by_doctor: Sequence[DoctorCount]
    appointments_by_specialty: Sequence[SpecialtyCount]
    #: By institution (ADR 0025), busiest first; visits at unassigned hours in none.
    appointments_by_institution: Sequence[InstitutionCount]
    #: The institution the appointment figures are limited to (None: every one).
    institution_id: UUID | None
    #: no_show / (completed + no_show); None when neither happened in the window.
    no_show_rate: float | None
    doctors_total: int
    #: Every specialty, zeros included; most doctors first, then by name.
    doctors_by_specialty: Sequence[SpecialtyCount]
    patients_total: int
    #: Every value, zeros included.
    patients_by_sex: Mapping[Sex, int]
    patients_by_age_band: Mapping[AgeBand, int]


def _busiest_first(counts: Sequence[SpecialtyCount]) -> tuple[SpecialtyCount, ...]:
    return tuple(sorted(counts, key=lambda c: (-c.count, c.name.casefold(), c.specialty_id)))


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """Every calendar day in ``zone`` that ``[start, end)`` touches."""
    first = start.astimezone(zone).date()
    last = (end - _ONE_MICROSECOND).astimezone(zone).date()
    return [date.fromordinal(day) for day in range(first.toordinal(), last.toordinal() + 1)]


def no_show_rate(by_status: Mapping[AppointmentStatus, int]) -> float | None:
    no_shows = by_status.get(AppointmentStatus.NO_SHOW, 0)
    seen = by_status.get(AppointmentStatus.COMPLETED, 0) + no_shows
    return no_shows / seen if seen else None


class GetClinicStats:
    def __init__(self, statistics: ClinicStatistics, clock: Clock, policy: StatsPolicy) -> None:
        self._statistics = statistics
        self._clock = clock
        self._policy = policy

    def window(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
        """``[start, end)`` with the policy's defaults for what is missing, checked."""
        now = self._clock.now()
        start = instant(start, "from") or now - self._policy.lookback
        end = instant(end, "to") or now + self._policy.lookahead
        check_window(start, end)
        if end - start > self._policy.max_window:
            raise InvalidInput(
                f"the window may span at most {self._policy.max_window.days} days", field="to"
            )
        return start, end

    async def __call__(
        self,
        actor: Actor,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        institution_id: UUID | None = None,
    ) -> ClinicStats:
        """With ``institution_id``, the appointment figures count only the visits at
        that institution (the people figures stay the clinic's)."""
        institution_id = scoped_institution(actor, institution_id, "see these statistics")
        start, end = self.window(start, end)
        zone = ZoneInfo(self._policy.timezone)
        today = self._clock.now().astimezone(zone).date()
        appointments = await self._statistics.appointments(
            start, end, timezone=self._policy.timezone, institution_id=institution_id
        )
        people = await self._statistics.population(today)
        by_status = {status: appointments.by_status.get(status, 0) for status in AppointmentStatus}
        by_sex = {sex: people.patients_by_sex.get(sex, 0) for sex in Sex}
        return ClinicStats(
            window_start=start,
            window_end=end,
            timezone=self._policy.timezone,
            today=today,
            appointments_total=sum(by_status.values()),
            appointments_by_status=by_status,
            appointments_by_day=tuple(
                DayCount(day, appointments.by_day.get(day, 0)) for day in _days(start, end, zone)
            ),
            appointments_by_doctor=tuple(
                sorted(
                    appointments.by_doctor,
                    key=lambda c: (-c.count, c.full_name.casefold(), c.doctor_id),
                )
            ),
            appointments_by_specialty=_busiest_first(appointments.by_specialty),
            appointments_by_institution=tuple(
                sorted(
                    appointments.by_institution,
                    key=lambda c: (-c.count, c.name.casefold(), c.institution_id),
                )
            ),
            institution_id=institution_id,
            no_show_rate=no_show_rate(by_status),
            doctors_total=sum(c.count for c in people.doctors_by_specialty),
            doctors_by_specialty=_busiest_first(people.doctors_by_specialty),
            patients_total=sum(by_sex.values()),
            patients_by_sex=by_sex,
            patients_by_age_band={
                band: people.patients_by_age_band.get(band, 0) for band in AgeBand
            },
        )
