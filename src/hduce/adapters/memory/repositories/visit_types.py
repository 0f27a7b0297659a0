"""Visit types, optimistic locking like the SQL store."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository
from hduce.adapters.memory.store import StoreTables
from hduce.domain.errors import AlreadyExists, NotFound, StaleVersion
from hduce.domain.visit_types import VisitType


class InMemoryVisitTypeRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._types = tables.visit_types
        self._doctors = tables.doctors

    async def add(self, visit_type: VisitType) -> None:
        if visit_type.id in self._types:
            raise AlreadyExists(f"visit type {visit_type.id} already exists")
        if visit_type.doctor_id not in self._doctors:
            raise NotFound("doctor", visit_type.doctor_id)
        self._types.put(visit_type.id, visit_type, insert=True)

    async def get(self, visit_type_id: UUID) -> VisitType | None:
        return self._types.get(visit_type_id)  # frozen: no copy needed

    async def list_for(self, doctor_id: UUID) -> Sequence[VisitType]:
        return sorted(
            (t for t in self._types.values() if t.doctor_id == doctor_id),
            key=lambda t: (t.name.casefold(), t.id),
        )

    async def save(self, visit_type: VisitType, *, expected_version: int) -> None:
        current = self._types.get(visit_type.id)
        if current is None:
            raise NotFound("visit type", visit_type.id)
        if current.version != expected_version:
            raise StaleVersion("visit type", visit_type.id, expected_version, current.version)
        self._types.put(visit_type.id, visit_type)

    async def delete(self, visit_type_id: UUID) -> bool:
        if visit_type_id not in self._types:
            return False
        self._types.delete(visit_type_id)
        return True

    def validate_commit(self) -> None:
        for visit_type_id in self._types.inserts_taken():
            raise AlreadyExists(f"visit type {visit_type_id} already exists")
