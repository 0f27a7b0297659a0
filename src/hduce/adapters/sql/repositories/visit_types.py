"""Visit types: a doctor's kinds of visit; versions checked on update."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import VisitTypeRow
from hduce.adapters.sql.repositories._support import affected_rows, table
from hduce.domain.errors import NotFound, StaleVersion
from hduce.domain.visit_types import VisitType


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _values(visit_type: VisitType) -> dict[str, Any]:
    return {
        "id": visit_type.id,
        "doctor_id": visit_type.doctor_id,
        "name": visit_type.name,
        "duration_minutes": _minutes(visit_type.duration),
        "buffer_before_minutes": _minutes(visit_type.buffer_before),
        "buffer_after_minutes": _minutes(visit_type.buffer_after),
        "booking_horizon_days": visit_type.booking_horizon.days,
        "minimum_notice_minutes": _minutes(visit_type.minimum_notice),
        "version": visit_type.version,
    }


def _to_visit_type(row: Any) -> VisitType:
    return VisitType(
        id=row.id,
        doctor_id=row.doctor_id,
        name=row.name,
        duration=timedelta(minutes=row.duration_minutes),
        buffer_before=timedelta(minutes=row.buffer_before_minutes),
        buffer_after=timedelta(minutes=row.buffer_after_minutes),
        booking_horizon=timedelta(days=row.booking_horizon_days),
        minimum_notice=timedelta(minutes=row.minimum_notice_minutes),
        version=row.version,
    )


_COLUMNS = tuple(table(VisitTypeRow).c)


class SqlVisitTypeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, visit_type: VisitType) -> None:
        await self._session.execute(table(VisitTypeRow).insert().values(_values(visit_type)))

    async def get(self, visit_type_id: UUID) -> VisitType | None:
        row = (
            await self._session.execute(select(*_COLUMNS).where(VisitTypeRow.id == visit_type_id))
        ).first()
        return _to_visit_type(row) if row is not None else None

    async def list_for(self, doctor_id: UUID) -> Sequence[VisitType]:
        rows = await self._session.execute(
            select(*_COLUMNS).where(VisitTypeRow.doctor_id == doctor_id)
        )
        return sorted(
            (_to_visit_type(row) for row in rows), key=lambda t: (t.name.casefold(), t.id)
        )

    async def save(self, visit_type: VisitType, *, expected_version: int) -> None:
        values = _values(visit_type)
        del values["id"], values["doctor_id"]
        result = await self._session.execute(
            table(VisitTypeRow)
            .update()
            .where(VisitTypeRow.id == visit_type.id, VisitTypeRow.version == expected_version)
            .values(values)
        )
        if affected_rows(result) == 0:
            actual = await self._session.scalar(
                select(VisitTypeRow.version).where(VisitTypeRow.id == visit_type.id)
            )
            if actual is None:
                raise NotFound("visit type", visit_type.id)
            raise StaleVersion("visit type", visit_type.id, expected_version, actual)

    async def delete(self, visit_type_id: UUID) -> bool:
        result = await self._session.execute(
            delete(VisitTypeRow).where(VisitTypeRow.id == visit_type_id)
        )
        return affected_rows(result) > 0
