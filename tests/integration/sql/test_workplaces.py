"""``ListWorkplaces`` (the places the console's hours editor offers, ADR 0025) on
PostgreSQL and SQLite: the institutions the doctor works at, by name, inactive ones
too, and nothing for a doctor who works at none."""

from __future__ import annotations

from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.application.clinic.workplaces import ListWorkplaces
from tests.unit.adapters.contract import new_institution, seed_clinic


async def test_the_institutions_a_doctor_works_at_by_name(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    zeta, alpha, elsewhere = (new_institution(name) for name in ("zeta site", "Alpha", "Elsewhere"))
    closed = new_institution("Mid Closed", is_active=False)
    async with uow_factory() as uow:
        for place in (zeta, alpha, elsewhere, closed):
            await uow.institutions.add(place)
        for place in (zeta, alpha, closed):
            await uow.institutions.add_member(place.id, clinic.doctor.id)
        await uow.commit()
    workplaces = ListWorkplaces(uow_factory)
    found = await workplaces(clinic.doctor.id)
    assert [p.name for p in found] == ["Alpha", "Mid Closed", "zeta site"]
    assert [p.is_active for p in found] == [True, False, True]
    assert await workplaces(clinic.patient.id) == []
