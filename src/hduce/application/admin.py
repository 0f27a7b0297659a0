"""The admin's read side: the audit trail and the clinic's statistics.

Both are admin-only and read-only. The audit trail is written by the use cases
themselves (every appointment transition, every admin action) in the transaction of
the change; here it is only filtered and paged. Statistics come from the
``ClinicStatistics`` port, which aggregates where the data lives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.application.access import ensure_admin
from hduce.application.ports import (
    AgeBand,
    ClinicStatistics,
    Clock,
    DoctorCount,
    Page,
    PageRequest,
    SpecialtyCount,
    UnitOfWorkFactory,
)
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import InvalidInput
from hduce.domain.identity import Actor, Sex, validate_timezone
from hduce.domain.scheduling import ensure_utc

_ONE_MICROSECOND: Final = timedelta(microseconds=1)
#: Instants a filter may name. Nothing the clinic records lies outside, and beyond them
#: calendar arithmetic (local days, seconds since the epoch) has no answer.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(9000, 1, 1, tzinfo=UTC)


def _instant(value: datetime | None, field: str) -> datetime | None:
    """``value`` in UTC; refused when naive or outside [EARLIEST, LATEST)."""
    if value is None:
        return None
    try:
        instant = ensure_utc(value, field)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent
        instant = None
    if instant is None or not EARLIEST <= instant < LATEST:
        raise InvalidInput(f"{field} must lie between the years 1970 and 9000", field=field)
    return instant


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise InvalidInput("'to' must be after 'from'", field="to")


def _text(value: str | None, field: str) -> str | None:
    """A free-text filter; control characters are refused (PostgreSQL cannot even
    compare a string holding NUL)."""
    if value is None:
        return None
    if any(ord(character) < 32 for character in value):
        raise InvalidInput(f"{field} may not contain control characters", field=field)
    return value


# ------------------------------------------------------------------ audit trail


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit trail; ``None`` means "any". ``at_from <= at < at_before``."""

    target_id: str | None = None
    actor_id: UUID | None = None
    action: str | None = None
    at_from: datetime | None = None
    at_before: datetime | None = None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """One page of audit entries, newest first, with the names of who acted."""

    entries: Page[AuditEntry]
    #: Full names of the accounts that acted on this page (the system has none).
    actor_names: Mapping[UUID, str]


class ListAuditEntries:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, query: AuditQuery) -> AuditTrail:
        ensure_admin(actor, "read the audit trail")
        at_from, at_before = _instant(query.at_from, "from"), _instant(query.at_before, "to")
        _check_window(at_from, at_before)
        target_id, action = _text(query.target_id, "target_id"), _text(query.action, "action")
        async with self._uow_factory() as uow:
            page = await uow.audit.list(
                target_id=target_id,
                actor_id=query.actor_id,
                action=action,
                at_from=at_from,
                at_before=at_before,
                page=query.page,
            )
            # One lookup per distinct actor of the page (a page holds a few at most).
            names: dict[UUID, str] = {}
            for actor_id in {e.actor_id for e in page.items if e.actor_id is not None}:
                user = await uow.users.get(actor_id)
                if user is not None:
                    names[actor_id] = user.full_name
        return AuditTrail(page, names)


# ------------------------------------------------------------------ statistics


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
        start = _instant(start, "from") or now - self._policy.lookback
        end = _instant(end, "to") or now + self._policy.lookahead
        _check_window(start, end)
        if end - start > self._policy.max_window:
            raise InvalidInput(
                f"the window may span at most {self._policy.max_window.days} days", field="to"
            )
        return start, end

    async def __call__(
        self, actor: Actor, start: datetime | None = None, end: datetime | None = None
    ) -> ClinicStats:
        ensure_admin(actor, "see the clinic's statistics")
        start, end = self.window(start, end)
        zone = ZoneInfo(self._policy.timezone)
        today = self._clock.now().astimezone(zone).date()
        appointments = await self._statistics.appointments(
            start, end, timezone=self._policy.timezone
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
            no_show_rate=no_show_rate(by_status),
            doctors_total=sum(c.count for c in people.doctors_by_specialty),
            doctors_by_specialty=_busiest_first(people.doctors_by_specialty),
            patients_total=sum(by_sex.values()),
            patients_by_sex=by_sex,
            patients_by_age_band={
                band: people.patients_by_age_band.get(band, 0) for band in AgeBand
            },
        )
