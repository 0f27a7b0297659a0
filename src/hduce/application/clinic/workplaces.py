"""Where a doctor works: the institutions (ADR 0025) the working-hours editor offers
as the place of the hours. Public, as the institutions and doctors are."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.institutions import Institution


class ListWorkplaces:
    """The institutions the doctor works at, by name (inactive ones too: their hours
    stay, and may be cleared)."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, doctor_id: UUID) -> Sequence[Institution]:
        async with self._uow_factory() as uow:
            ids = await uow.institutions.institutions_of(doctor_id)
            places = await uow.institutions.get_many(list(ids)) if ids else {}
        return sorted(places.values(), key=lambda place: (place.name.casefold(), place.id))
