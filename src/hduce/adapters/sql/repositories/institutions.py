"""Institutions and the doctors who work at them (ADR 0025)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import DoctorInstitutionRow, DoctorRow, InstitutionRow
from hduce.adapters.sql.repositories._support import (
    affected_rows,
    like_pattern,
    page_of,
    paged,
    table,
    upsert_insert,
)
from hduce.application.ports import InstitutionQuery, Page
from hduce.domain.errors import NotFound, StaleVersion
from hduce.domain.institutions import Address, Institution, InstitutionKind


def _values(institution: Institution) -> dict[str, Any]:
    address = institution.address
    return {
        "id": institution.id,
        "name": institution.name,
        "kind": institution.kind.value,
        "address_line1": address.line1,
        "address_line2": address.line2,
        "city": address.city,
        "postal_code": address.postal_code,
        "region": address.region,
        "country": address.country,
        "timezone": institution.timezone,
        "is_active": institution.is_active,
        "version": institution.version,
    }


def _to_institution(row: Any) -> Institution:
    return Institution(
        id=row.id,
        name=row.name,
        kind=InstitutionKind(row.kind),
        address=Address(
            line1=row.address_line1,
            line2=row.address_line2,
            city=row.city,
            postal_code=row.postal_code,
            region=row.region,
            country=row.country,
        ),
        timezone=row.timezone,
        is_active=row.is_active,
        version=row.version,
    )


class SqlInstitutionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, institution: Institution) -> None:
        await self._session.execute(table(InstitutionRow).insert().values(_values(institution)))

    async def get(self, institution_id: UUID) -> Institution | None:
        row = (
            await self._session.execute(
                select(table(InstitutionRow)).where(InstitutionRow.id == institution_id)
            )
        ).first()
        return _to_institution(row) if row is not None else None

    async def get_many(self, institution_ids: Sequence[UUID]) -> dict[UUID, Institution]:
        if not institution_ids:
            return {}
        rows = await self._session.execute(
            select(table(InstitutionRow)).where(InstitutionRow.id.in_(set(institution_ids)))
        )
        return {row.id: _to_institution(row) for row in rows}

    async def save(self, institution: Institution, *, expected_version: int) -> None:
        values = _values(institution)
        del values["id"]
        result = await self._session.execute(
            table(InstitutionRow)
            .update()
            .where(InstitutionRow.id == institution.id, InstitutionRow.version == expected_version)
            .values(values)
        )
        if affected_rows(result) == 0:
            actual = await self._session.scalar(
                select(InstitutionRow.version).where(InstitutionRow.id == institution.id)
            )
            if actual is None:
                raise NotFound("institution", institution.id)
            raise StaleVersion("institution", institution.id, expected_version, actual)

    async def list(self, query: InstitutionQuery) -> Page[Institution]:
        statement: Select[Any] = select(InstitutionRow)
        if query.is_active is not None:
            statement = statement.where(InstitutionRow.is_active == query.is_active)
        if query.name and query.name.strip():
            statement = statement.where(
                InstitutionRow.name.ilike(like_pattern(query.name.strip()), escape="\\")
            )
        if query.ids is not None:
            statement = statement.where(InstitutionRow.id.in_(query.ids))
        rows, total, limit, offset = await paged(
            self._session, statement, query.page, (InstitutionRow.name, InstitutionRow.id)
        )
        return page_of([_to_institution(row) for row in rows], total, limit, offset)

    async def add_member(self, institution_id: UUID, doctor_id: UUID) -> bool:
        """``ON CONFLICT DO NOTHING``: two admins adding the same doctor at once both
        succeed, and one row results."""
        for entity, key, wanted in (
            ("doctor", DoctorRow.user_id, doctor_id),
            ("institution", InstitutionRow.id, institution_id),
        ):
            if await self._session.scalar(select(key).where(key == wanted)) is None:
                raise NotFound(entity, wanted)
        result = await self._session.execute(
            upsert_insert(self._session, DoctorInstitutionRow)
            .values(doctor_id=doctor_id, institution_id=institution_id)
            .on_conflict_do_nothing()
        )
        return affected_rows(result) > 0

    async def remove_member(self, institution_id: UUID, doctor_id: UUID) -> bool:
        result = await self._session.execute(
            delete(DoctorInstitutionRow).where(
                DoctorInstitutionRow.institution_id == institution_id,
                DoctorInstitutionRow.doctor_id == doctor_id,
            )
        )
        return affected_rows(result) > 0

    async def institutions_of(self, doctor_id: UUID) -> Sequence[UUID]:
        found = await self._session.scalars(
            select(DoctorInstitutionRow.institution_id)
            .where(DoctorInstitutionRow.doctor_id == doctor_id)
            .order_by(DoctorInstitutionRow.institution_id)
        )
        return list(found)
