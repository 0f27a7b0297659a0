"""Specialties (names unique case-insensitively)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, copied
from hduce.adapters.memory.store import StoreTables
from hduce.domain.clinic import Specialty
from hduce.domain.errors import AlreadyExists, NotFound


class InMemorySpecialtyRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._specialties = tables.specialties

    def _check_unique(self, specialty: Specialty) -> None:
        name = specialty.name.casefold()
        for other in self._specialties.values():
            if other.id != specialty.id and other.name.casefold() == name:
                raise AlreadyExists(f"a specialty named {specialty.name!r} exists already")

    async def add(self, specialty: Specialty) -> None:
        if specialty.id in self._specialties:
            raise AlreadyExists(f"specialty {specialty.id} already exists")
        self._check_unique(specialty)
        self._specialties.put(specialty.id, copied(specialty), insert=True)

    async def get(self, specialty_id: UUID) -> Specialty | None:
        return copied(self._specialties.get(specialty_id))

    async def save(self, specialty: Specialty) -> None:
        if specialty.id not in self._specialties:
            raise NotFound("specialty", specialty.id)
        self._check_unique(specialty)
        self._specialties.put(specialty.id, copied(specialty))

    async def list(self) -> Sequence[Specialty]:
        found = sorted(self._specialties.values(), key=lambda s: (s.name.casefold(), s.id))
        return [copied(s) for s in found]

    def validate_commit(self) -> None:
        for specialty_id in self._specialties.inserts_taken():
            raise AlreadyExists(f"specialty {specialty_id} already exists")
        for _, specialty in self._specialties.written():
            self._check_unique(specialty)
