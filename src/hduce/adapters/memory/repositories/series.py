"""Recurring series and their members, in memory (as ``appointment_series*`` in SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, copied
from hduce.adapters.memory.store import StoreTables
from hduce.domain.errors import AlreadyExists
from hduce.domain.series import RecurringSeries, SeriesMember


class InMemorySeriesRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._series = tables.series
        self._members = tables.series_members

    async def add(self, series: RecurringSeries, members: Sequence[SeriesMember]) -> None:
        if series.id in self._series:
            raise AlreadyExists(f"series {series.id} already exists")
        self._series.put(series.id, copied(series), insert=True)
        for member in members:
            if member.appointment_id in self._members:
                raise AlreadyExists(f"appointment {member.appointment_id} is in a series")
            self._members.put(member.appointment_id, member, insert=True)

    async def get(self, series_id: UUID) -> RecurringSeries | None:
        return copied(self._series.get(series_id))

    async def members(self, series_id: UUID) -> list[SeriesMember]:
        found = [m for m in self._members.values() if m.series_id == series_id]
        return sorted(found, key=lambda m: m.index)

    async def member_of(self, appointment_id: UUID) -> SeriesMember | None:
        return self._members.get(appointment_id)

    async def relink(self, member: SeriesMember) -> None:
        for appointment_id, old in list(self._members.items()):
            if old.series_id == member.series_id and old.index == member.index:
                self._members.delete(appointment_id)
        self._members.put(member.appointment_id, member, insert=True)

    def validate_commit(self) -> None:
        for key in [*self._series.inserts_taken(), *self._members.inserts_taken()]:
            raise AlreadyExists(f"{key} was stored meanwhile")
