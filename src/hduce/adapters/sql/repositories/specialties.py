"""Specialties (names unique case-insensitively)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import SpecialtyRow
from hduce.adapters.sql.repositories._support import affected_rows, table
from hduce.domain.clinic import Specialty
from hduce.domain.errors import AlreadyExists, NotFound


def _specialty_values(specialty: Specialty) -> dict[str, Any]:
    return {
        "id": specialty.id,
        "name": specialty.name,
        "name_key": specialty.name.casefold(),
        "description": specialty.description,
    }


def _to_specialty(row: SpecialtyRow) -> Specialty:
    return Specialty(id=row.id, name=row.name, description=row.description)


class SqlSpecialtyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, specialty: Specialty) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    table(SpecialtyRow).insert().values(_specialty_values(specialty))
                )
        except IntegrityError as error:
            raise AlreadyExists(f"a specialty named {specialty.name!r} already exists") from error

    async def get(self, specialty_id: UUID) -> Specialty | None:
        row = await self._session.scalar(
            select(SpecialtyRow)
            .where(SpecialtyRow.id == specialty_id)
            .execution_options(populate_existing=True)
        )
        return _to_specialty(row) if row is not None else None

    async def save(self, specialty: Specialty) -> None:
        values = _specialty_values(specialty)
        del values["id"]
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    table(SpecialtyRow)
                    .update()
                    .where(SpecialtyRow.id == specialty.id)
                    .values(values)
                )
        except IntegrityError as error:
            raise AlreadyExists(f"a specialty named {specialty.name!r} already exists") from error
        if affected_rows(result) == 0:
            raise NotFound("specialty", specialty.id)

    async def list(self) -> Sequence[Specialty]:
        rows = await self._session.scalars(
            select(SpecialtyRow)
            .order_by(SpecialtyRow.name_key, SpecialtyRow.id)
            .execution_options(populate_existing=True)
        )
        return [_to_specialty(row) for row in rows]
