"""Doctors' professional profiles (id = the doctor's user id)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import DoctorInstitutionRow, DoctorRow, SpecialtyRow, UserRow
from hduce.adapters.sql.repositories._support import (
    affected_rows,
    like_pattern,
    page_of,
    paged,
    table,
)
from hduce.adapters.sql.repositories.users import LoadedUsers, to_user
from hduce.application.ports import DoctorQuery, Page
from hduce.domain.clinic import Doctor
from hduce.domain.errors import AlreadyExists, NotFound


def _doctor_values(doctor: Doctor) -> dict[str, Any]:
    return {
        "user_id": doctor.user_id,
        "licence_number": doctor.licence_number,
        "specialty_id": doctor.specialty_id,
        "timezone": doctor.timezone,
        "consultation_fee": doctor.consultation_fee,
        "visit_minutes": doctor.visit_minutes,
        "bio": doctor.bio,
        "version": doctor.version,
    }


def _to_doctor(row: Any) -> Doctor:
    """``row``: a ``DoctorRow`` or an object with its columns as attributes."""
    return Doctor(
        user_id=row.user_id,
        licence_number=row.licence_number,
        specialty_id=row.specialty_id,
        timezone=row.timezone,
        consultation_fee=row.consultation_fee,
        visit_minutes=row.visit_minutes,
        bio=row.bio,
        version=row.version,
    )


class SqlDoctorRepository:
    """``loaded``: the unit of work's accounts; ``get`` reads the doctor's account in
    the same query and keeps it there (whoever asks for a doctor asks for the account
    next: is it active, what is the name)."""

    def __init__(self, session: AsyncSession, loaded: LoadedUsers | None = None) -> None:
        self._session = session
        self._loaded = loaded if loaded is not None else LoadedUsers()

    async def add(self, doctor: Doctor) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    table(DoctorRow).insert().values(_doctor_values(doctor))
                )
        except IntegrityError as error:
            raise await self._refusal(doctor) from error

    async def get(self, doctor_id: UUID) -> Doctor | None:
        doctors, users = table(DoctorRow), table(UserRow)
        # Core, not ORM objects; both tables have a ``version`` and a ``timezone``, so
        # the columns are told apart by the Column objects, not by their names.
        found = (
            await self._session.execute(
                select(doctors, users)
                .join_from(doctors, users, users.c.id == doctors.c.user_id)
                .where(doctors.c.user_id == doctor_id)
            )
        ).first()
        if found is None:
            return None
        columns = found._mapping
        self._loaded.keep(to_user(SimpleNamespace(**{c.name: columns[c] for c in users.c})))
        return _to_doctor(SimpleNamespace(**{c.name: columns[c] for c in doctors.c}))

    async def save(self, doctor: Doctor) -> None:
        values = _doctor_values(doctor)
        del values["user_id"]
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    table(DoctorRow)
                    .update()
                    .where(DoctorRow.user_id == doctor.user_id)
                    .values(values)
                )
        except IntegrityError as error:
            raise await self._refusal(doctor) from error
        if affected_rows(result) == 0:
            raise NotFound("doctor", doctor.user_id)

    async def list(self, query: DoctorQuery) -> Page[Doctor]:
        statement: Select[Any] = select(DoctorRow).join(UserRow, UserRow.id == DoctorRow.user_id)
        if query.specialty_id is not None:
            statement = statement.where(DoctorRow.specialty_id == query.specialty_id)
        if query.institution_id is not None:
            statement = statement.where(
                DoctorRow.user_id.in_(
                    select(DoctorInstitutionRow.doctor_id).where(
                        DoctorInstitutionRow.institution_id == query.institution_id
                    )
                )
            )
        if query.name and query.name.strip():
            statement = statement.where(
                UserRow.full_name.ilike(like_pattern(query.name.strip()), escape="\\")
            )
        rows, total, limit, offset = await paged(
            self._session, statement, query.page, (UserRow.full_name, DoctorRow.user_id)
        )
        return page_of([_to_doctor(row) for row in rows], total, limit, offset)

    async def _refusal(self, doctor: Doctor) -> Exception:
        """Tell a taken licence number from a missing user or specialty."""
        taken = await self._session.scalar(
            select(DoctorRow.user_id).where(
                DoctorRow.licence_number == doctor.licence_number,
                DoctorRow.user_id != doctor.user_id,
            )
        )
        if taken is not None:
            return AlreadyExists(f"licence number {doctor.licence_number} is already registered")
        if (
            await self._session.scalar(select(UserRow.id).where(UserRow.id == doctor.user_id))
            is None
        ):
            return NotFound("user", doctor.user_id)
        if (
            await self._session.scalar(
                select(SpecialtyRow.id).where(SpecialtyRow.id == doctor.specialty_id)
            )
            is None
        ):
            return NotFound("specialty", doctor.specialty_id)
        return AlreadyExists(f"doctor {doctor.user_id} already exists")
