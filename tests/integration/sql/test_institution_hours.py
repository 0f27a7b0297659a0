"""A doctor's hours at two institutions never overlap, even when the two changes race
(ADR 0025), on PostgreSQL and SQLite: ``SetWorkingHours`` reads the doctor's hours at
the other places and writes its own under the doctor's lock, so of many concurrent
changes of overlapping hours at different places exactly one lands, and what is stored
has no overlap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time

from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.application.availability.hours import SetWorkingHours
from hduce.domain.errors import BusinessRuleViolation
from hduce.domain.scheduling import LocalInterval, WeeklyHours
from tests.fakes import FixedClock
from tests.unit.adapters.contract import new_institution, seed_clinic

PLACES = 6


async def test_racing_hours_at_two_institutions_never_overlap(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clinic = await seed_clinic(uow_factory)
    places = [new_institution(f"Place {n}") for n in range(PLACES)]
    async with uow_factory() as uow:
        for place in places:
            await uow.institutions.add(place)
            await uow.institutions.add_member(place.id, clinic.doctor.id)
        await uow.commit()
    set_hours = SetWorkingHours(uow_factory, FixedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    # Every place asks for Monday 09:00-13:00, shifted by a quarter hour: all overlap.
    weeks = [
        WeeklyHours({0: (LocalInterval(time(9, 15 * n % 60), time(13, 15 * n % 60)),)})
        for n in range(PLACES)
    ]
    results = await asyncio.gather(
        *(
            set_hours(clinic.admin_actor, clinic.doctor.id, week, institution_id=place.id)
            for week, place in zip(weeks, places, strict=True)
        ),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BusinessRuleViolation)]
    unexpected = [r for r in results if isinstance(r, BaseException) and r not in refused]
    assert not unexpected, unexpected
    assert len(refused) == PLACES - 1
    assert {r.code for r in refused} == {"hours-overlap-across-institutions"}
    async with uow_factory() as uow:
        stored = (await uow.availability.get(clinic.doctor.id)).weekly.for_weekday(0)
    assert len(stored) == 1 and stored[0].institution_id in {p.id for p in places}
