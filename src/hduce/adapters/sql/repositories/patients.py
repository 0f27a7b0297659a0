"""Patient profiles (one per patient user)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import PatientProfileRow
from hduce.adapters.sql.repositories._support import upsert_insert
from hduce.domain.identity import PatientProfile, Sex


def _profile_values(profile: PatientProfile) -> dict[str, Any]:
    return {
        "user_id": profile.user_id,
        "date_of_birth": profile.date_of_birth,
        "sex": profile.sex.value,
        "emergency_contact_name": profile.emergency_contact_name,
        "emergency_contact_phone": profile.emergency_contact_phone,
        "extra": dict(profile.extra),
    }


class SqlPatientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: UUID) -> PatientProfile | None:
        row = await self._session.scalar(
            select(PatientProfileRow)
            .where(PatientProfileRow.user_id == user_id)
            .execution_options(populate_existing=True)
        )
        if row is None:
            return None
        return PatientProfile(
            user_id=row.user_id,
            date_of_birth=row.date_of_birth,
            sex=Sex(row.sex),
            emergency_contact_name=row.emergency_contact_name,
            emergency_contact_phone=row.emergency_contact_phone,
            extra=dict(row.extra or {}),
        )

    async def save(self, profile: PatientProfile) -> None:
        values = _profile_values(profile)
        statement = upsert_insert(self._session, PatientProfileRow).values(values)
        changes = {key: value for key, value in values.items() if key != "user_id"}
        await self._session.execute(
            statement.on_conflict_do_update(index_elements=["user_id"], set_=changes)
        )
