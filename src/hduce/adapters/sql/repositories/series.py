"""Recurring series (migration 0016): the series row and the link of each occurrence.

``appointment_series`` holds the rule as booked; ``appointment_series_members`` says
which appointment is which occurrence (one series per appointment). The occurrences
themselves are ordinary ``appointments`` rows, under the usual overlap constraints.
The wall-clock first start is stored as ISO text: it is a local time with no offset,
which ``DateTimeUTC`` (always aware) cannot hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hduce.adapters.sql.models import Base
from hduce.domain.series import RecurringSeries, SeriesMember


class SeriesRow(Base):
    __tablename__ = "appointment_series"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    patient_id: Mapped[UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    doctor_id: Mapped[UUID] = mapped_column(
        ForeignKey("doctors.user_id", ondelete="RESTRICT"), index=True
    )
    rule: Mapped[str] = mapped_column(Text)
    first_local_start: Mapped[str] = mapped_column(String(19))
    timezone: Mapped[str] = mapped_column(String(64))
    length_seconds: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[UUID | None]
    created_at: Mapped[datetime]


class SeriesMemberRow(Base):
    __tablename__ = "appointment_series_members"
    __table_args__ = (UniqueConstraint("appointment_id"),)

    series_id: Mapped[UUID] = mapped_column(
        ForeignKey("appointment_series.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[UUID] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))


def _series(row: SeriesRow) -> RecurringSeries:
    return RecurringSeries(
        id=row.id,
        patient_id=row.patient_id,
        doctor_id=row.doctor_id,
        rule=row.rule,
        first_local_start=datetime.fromisoformat(row.first_local_start),
        timezone=row.timezone,
        length=timedelta(seconds=row.length_seconds),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _member(row: SeriesMemberRow) -> SeriesMember:
    return SeriesMember(row.series_id, row.position, row.appointment_id)


class SqlSeriesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, series: RecurringSeries, members: Sequence[SeriesMember]) -> None:
        self._session.add(
            SeriesRow(
                id=series.id,
                patient_id=series.patient_id,
                doctor_id=series.doctor_id,
                rule=series.rule,
                first_local_start=series.first_local_start.isoformat(timespec="seconds"),
                timezone=series.timezone,
                length_seconds=int(series.length.total_seconds()),
                created_by=series.created_by,
                created_at=series.created_at,
            )
        )
        await self._session.flush()
        self._session.add_all(
            SeriesMemberRow(
                series_id=member.series_id,
                position=member.index,
                appointment_id=member.appointment_id,
            )
            for member in members
        )
        await self._session.flush()

    async def get(self, series_id: UUID) -> RecurringSeries | None:
        row = await self._session.get(SeriesRow, series_id)
        return None if row is None else _series(row)

    async def members(self, series_id: UUID) -> list[SeriesMember]:
        rows = await self._session.scalars(
            select(SeriesMemberRow)
            .where(SeriesMemberRow.series_id == series_id)
            .order_by(SeriesMemberRow.position)
        )
        return [_member(row) for row in rows]

    async def member_of(self, appointment_id: UUID) -> SeriesMember | None:
        row = await self._session.scalar(
            select(SeriesMemberRow).where(SeriesMemberRow.appointment_id == appointment_id)
        )
        return None if row is None else _member(row)

    async def relink(self, member: SeriesMember) -> None:
        await self._session.execute(
            update(SeriesMemberRow)
            .where(
                SeriesMemberRow.series_id == member.series_id,
                SeriesMemberRow.position == member.index,
            )
            .values(appointment_id=member.appointment_id)
        )
