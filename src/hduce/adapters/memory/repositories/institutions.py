"""Institutions and the doctors who work at them (ADR 0025)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, copied, paginate
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import InstitutionQuery, Page
from hduce.domain.errors import AlreadyExists, NotFound, StaleVersion
from hduce.domain.institutions import Institution


class InMemoryInstitutionRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._institutions = tables.institutions
        self._memberships = tables.memberships
        self._doctors = tables.doctors

    async def add(self, institution: Institution) -> None:
        if institution.id in self._institutions:
            raise AlreadyExists(f"institution {institution.id} already exists")
        self._institutions.put(institution.id, copied(institution), insert=True)

    async def get(self, institution_id: UUID) -> Institution | None:
        return copied(self._institutions.get(institution_id))

    async def get_many(self, institution_ids: Sequence[UUID]) -> dict[UUID, Institution]:
        return {
            found.id: copied(found)
            for found in (self._institutions.get(i) for i in set(institution_ids))
            if found is not None
        }

    async def save(self, institution: Institution, *, expected_version: int) -> None:
        current = self._institutions.get(institution.id)
        if current is None:
            raise NotFound("institution", institution.id)
        if current.version != expected_version:
            raise StaleVersion("institution", institution.id, expected_version, current.version)
        self._institutions.put(institution.id, copied(institution))

    async def list(self, query: InstitutionQuery) -> Page[Institution]:
        needle = query.name.strip().casefold() if query.name and query.name.strip() else None
        found = sorted(
            (
                i
                for i in self._institutions.values()
                if (query.is_active is None or i.is_active == query.is_active)
                and (needle is None or needle in i.name.casefold())
                and (query.ids is None or i.id in query.ids)
            ),
            key=lambda i: (i.name, i.id),
        )
        return paginate([copied(i) for i in found], query.page)

    async def add_member(self, institution_id: UUID, doctor_id: UUID) -> bool:
        if doctor_id not in self._doctors:
            raise NotFound("doctor", doctor_id)
        if institution_id not in self._institutions:
            raise NotFound("institution", institution_id)
        key = (institution_id, doctor_id)
        if key in self._memberships:
            return False
        self._memberships.put(key, True)
        return True

    async def remove_member(self, institution_id: UUID, doctor_id: UUID) -> bool:
        key = (institution_id, doctor_id)
        if key not in self._memberships:
            return False
        self._memberships.delete(key)
        return True

    async def institutions_of(self, doctor_id: UUID) -> Sequence[UUID]:
        places = [place for (place, doctor), _ in self._memberships.items() if doctor == doctor_id]
        # Sorted as the SQL store sorts UUIDs: by their bytes.
        return sorted(places, key=lambda place: place.bytes)

    def validate_commit(self) -> None:
        for institution_id in self._institutions.inserts_taken():
            raise AlreadyExists(f"institution {institution_id} already exists")
