"""The admin dashboard's aggregates in SQL: ``GROUP BY`` in the database, on PostgreSQL
and SQLite alike (the ``ClinicStatistics`` port).

Everything is read in one read-only transaction (REPEATABLE READ on PostgreSQL, one
WAL snapshot on SQLite), so the figures of one answer agree with each other.

Counting by *local* day is the one place where the two databases differ: SQLite has
no time zones. Both therefore count per UTC quarter-hour in SQL (at most 96 rows a
day) and fold the quarter-hours into days on the clinic's wall clock here. That is
exact for every zone whose offsets are whole quarter-hours, which is all of them
since 1979: a local midnight then always falls on a quarter-hour boundary, and every
instant of a quarter-hour lies on the same local day.

Expressions that are grouped on are computed in a subquery and grouped on by column:
PostgreSQL would not see ``CASE ... $1 ...`` in the SELECT list and ``CASE ... $5
...`` in GROUP BY as the same expression.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Executable,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hduce.adapters.sql.models import (
    AppointmentRow,
    DoctorRow,
    InstitutionRow,
    PatientProfileRow,
    SpecialtyRow,
    UserRow,
)
from hduce.application.ports import (
    AppointmentFigures,
    DoctorCount,
    InstitutionCount,
    PopulationFigures,
    SpecialtyCount,
)
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.demographics import AGE_BAND_FLOORS, AgeBand, born_on_or_before
from hduce.domain.identity import Role, Sex

#: Width of the buckets appointments are counted in before they are folded into days.
BUCKET: Final = timedelta(minutes=15)
_BUCKET_SECONDS: Final = int(BUCKET.total_seconds())
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def quarter_hour(column: Any, dialect: str) -> ColumnElement[int]:
    """The number of the UTC quarter-hour ``column`` falls in (seconds since the epoch
    divided by 900, rounded down; both databases keep instants in UTC)."""
    seconds: ColumnElement[int] = literal_column(str(_BUCKET_SECONDS), Integer)
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", column) / seconds), BigInteger)
    # SQLite keeps DateTimeUTC as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); strftime('%s')
    # gives whole seconds, and integer division floors the (positive) result.
    return cast(func.strftime("%s", column), Integer).op("/")(seconds)


def local_day(bucket: int, zone: ZoneInfo) -> date:
    return (_EPOCH + bucket * BUCKET).astimezone(zone).date()


class SqlClinicStatistics:
    def __init__(self, engine: AsyncEngine) -> None:
        self._dialect = engine.dialect.name
        self._engine = (
            engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            if self._dialect == "postgresql"
            else engine
        )

    async def _rows(self, *statements: Executable) -> list[list[Any]]:
        """Each statement's rows, all from one read-only snapshot."""
        async with self._engine.connect() as connection, connection.begin():
            return [await _all(connection, statement) for statement in statements]

    # ------------------------------------------------------------------ appointments

    async def appointments(
        self,
        start: datetime,
        end: datetime,
        *,
        timezone: str,
        institution_id: UUID | None = None,
    ) -> AppointmentFigures:
        zone = ZoneInfo(timezone)
        a = AppointmentRow
        in_window = and_(a.starts_at >= start, a.starts_at < end)
        if institution_id is not None:
            in_window = and_(in_window, a.institution_id == institution_id)
        buckets = (
            select(quarter_hour(a.starts_at, self._dialect).label("bucket"))
            .where(in_window)
            .subquery()
        )
        by_status, by_bucket, by_doctor, by_specialty, by_institution = await self._rows(
            select(a.status, func.count()).where(in_window).group_by(a.status),
            select(buckets.c.bucket, func.count()).group_by(buckets.c.bucket),
            select(a.doctor_id, UserRow.full_name, DoctorRow.specialty_id, func.count())
            .join(DoctorRow, DoctorRow.user_id == a.doctor_id)
            .join(UserRow, UserRow.id == a.doctor_id)
            .where(in_window)
            .group_by(a.doctor_id, UserRow.full_name, DoctorRow.specialty_id),
            select(SpecialtyRow.id, SpecialtyRow.name, func.count())
            .select_from(a)
            .join(DoctorRow, DoctorRow.user_id == a.doctor_id)
            .join(SpecialtyRow, SpecialtyRow.id == DoctorRow.specialty_id)
            .where(in_window)
            .group_by(SpecialtyRow.id, SpecialtyRow.name),
            select(InstitutionRow.id, InstitutionRow.name, func.count())
            .select_from(a)
            .join(InstitutionRow, InstitutionRow.id == a.institution_id)
            .where(in_window)
            .group_by(InstitutionRow.id, InstitutionRow.name),
        )
        days: Counter[date] = Counter()
        for bucket, count in by_bucket:
            days[local_day(int(bucket), zone)] += count
        return AppointmentFigures(
            by_status={AppointmentStatus(status): count for status, count in by_status},
            by_day=dict(days),
            by_doctor=[DoctorCount(*row) for row in by_doctor],
            by_specialty=[SpecialtyCount(*row) for row in by_specialty],
            by_institution=[InstitutionCount(*row) for row in by_institution],
        )

    # ------------------------------------------------------------------ people

    async def population(self, today: date) -> PopulationFigures:
        p = PatientProfileRow
        patients = (
            select(
                func.coalesce(p.sex, Sex.UNKNOWN.value).label("sex"),
                _age_band(p.date_of_birth, today).label("band"),
            )
            .select_from(UserRow)
            .outerjoin(p, p.user_id == UserRow.id)
            .where(UserRow.role == Role.PATIENT.value)
            .subquery()
        )
        doctors, by_sex, by_band = await self._rows(
            select(SpecialtyRow.id, SpecialtyRow.name, func.count(DoctorRow.user_id))
            .outerjoin(DoctorRow, DoctorRow.specialty_id == SpecialtyRow.id)
            .group_by(SpecialtyRow.id, SpecialtyRow.name),
            select(patients.c.sex, func.count()).group_by(patients.c.sex),
            select(patients.c.band, func.count()).group_by(patients.c.band),
        )
        return PopulationFigures(
            doctors_by_specialty=[SpecialtyCount(*row) for row in doctors],
            patients_by_sex={Sex(sex): count for sex, count in by_sex},
            patients_by_age_band={AgeBand(band): count for band, count in by_band},
        )


def _age_band(date_of_birth: Any, today: date) -> ColumnElement[str]:
    """``age_band`` of ``hduce.application.ports`` as a CASE over the birth-date cutoffs."""
    return case(
        (date_of_birth.is_(None), AgeBand.UNKNOWN.value),
        *(
            (date_of_birth <= born_on_or_before(today, youngest), band.value)
            for band, youngest in AGE_BAND_FLOORS
        ),
        else_=AgeBand.UNDER_18.value,
    )


async def _all(connection: AsyncConnection, statement: Executable) -> list[Any]:
    return list((await connection.execute(statement)).all())
