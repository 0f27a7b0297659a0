"""Doctors' professional profiles (id = the doctor's user id)."""

from __future__ import annotations

from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, copied, paginate
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import DoctorQuery, Page
from hduce.domain.clinic import Doctor
from hduce.domain.errors import AlreadyExists, NotFound


class InMemoryDoctorRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._doctors = tables.doctors
        self._users = tables.users
        self._specialties = tables.specialties
        self._memberships = tables.memberships

    def _check(self, doctor: Doctor) -> None:
        if doctor.user_id not in self._users:
            raise NotFound("user", doctor.user_id)
        if doctor.specialty_id not in self._specialties:
            raise NotFound("specialty", doctor.specialty_id)
        for other in self._doctors.values():
            if other.user_id != doctor.user_id and other.licence_number == doctor.licence_number:
                raise AlreadyExists(f"licence number {doctor.licence_number} is already registered")

    async def add(self, doctor: Doctor) -> None:
        if doctor.user_id in self._doctors:
            raise AlreadyExists(f"doctor {doctor.user_id} already exists")
        self._check(doctor)
        self._doctors.put(doctor.user_id, copied(doctor), insert=True)

    async def get(self, doctor_id: UUID) -> Doctor | None:
        return copied(self._doctors.get(doctor_id))

    async def save(self, doctor: Doctor) -> None:
        if doctor.user_id not in self._doctors:
            raise NotFound("doctor", doctor.user_id)
        self._check(doctor)
        self._doctors.put(doctor.user_id, copied(doctor))

    def _full_name(self, doctor: Doctor) -> str:
        user = self._users.get(doctor.user_id)
        return user.full_name if user is not None else ""

    async def list(self, query: DoctorQuery) -> Page[Doctor]:
        needle = query.name.strip().casefold() if query.name else None
        named = [(self._full_name(d), d) for d in self._doctors.values()]
        found = [
            (name, doctor)
            for name, doctor in named
            if (query.specialty_id is None or doctor.specialty_id == query.specialty_id)
            and (needle is None or needle in name.casefold())
            and (
                query.institution_id is None
                or (query.institution_id, doctor.user_id) in self._memberships
            )
        ]
        found.sort(key=lambda pair: (pair[0].casefold(), pair[1].user_id))
        return paginate([copied(d) for _, d in found], query.page)

    def validate_commit(self) -> None:
        for doctor_id in self._doctors.inserts_taken():
            raise AlreadyExists(f"doctor {doctor_id} already exists")
        for _, doctor in self._doctors.written():
            self._check(doctor)
