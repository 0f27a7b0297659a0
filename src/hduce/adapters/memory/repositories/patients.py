"""Patient profiles (one per patient user)."""

from __future__ import annotations

from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, copied
from hduce.adapters.memory.store import StoreTables
from hduce.domain.errors import NotFound
from hduce.domain.identity import PatientProfile


class InMemoryPatientRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._patients = tables.patients
        self._users = tables.users

    async def get(self, user_id: UUID) -> PatientProfile | None:
        return copied(self._patients.get(user_id))

    async def save(self, profile: PatientProfile) -> None:
        if profile.user_id not in self._users:
            raise NotFound("user", profile.user_id)
        self._patients.put(profile.user_id, copied(profile))

    def validate_commit(self) -> None:
        # Users are never deleted, so the reference checked on save still holds.
        pass
