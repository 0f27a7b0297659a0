"""Free slots: working hours minus time off, occupied slots and the minimum notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.application.ports import Clock, UnitOfWorkFactory
from hduce.application.use_case import load
from hduce.application.visit_types import visit_type_of
from hduce.domain.errors import InvalidInput
from hduce.domain.institutions import Institution
from hduce.domain.scheduling import (
    SchedulingPolicy,
    TimeSlot,
)
from hduce.domain.visit_types import MAX_BUFFER, NO_BUFFERS

#: Longest window one slot query may ask for; keeps the answer small and the query cheap.
MAX_SLOT_WINDOW = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class FreeSlot:
    slot: TimeSlot
    timezone: str
    #: Where the visit would take place (ADR 0025); None for unassigned hours.
    institution: Institution | None = None

    @property
    def local_start(self) -> datetime:
        return self.slot.start.astimezone(ZoneInfo(self.timezone))

    @property
    def local_end(self) -> datetime:
        return self.slot.end.astimezone(ZoneInfo(self.timezone))


class ListFreeSlots:
    """Free slots of the doctor's visit length: working hours - time off - occupied -
    the minimum notice, inside the booking horizon."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: SchedulingPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(
        self,
        doctor_id: UUID,
        window: TimeSlot,
        visit_type_id: UUID | None = None,
        institution_id: UUID | None = None,
    ) -> list[FreeSlot]:
        """With ``visit_type_id``: slots of that type's length whose buffers fit too,
        under its horizon and notice. With ``institution_id``: only slots in the hours
        the doctor works there. Each slot names its institution."""
        if window.duration > MAX_SLOT_WINDOW:
            raise InvalidInput(
                f"ask for at most {MAX_SLOT_WINDOW.days} days of slots at once", field="to"
            )
        now = self._clock.now()
        policy, length, buffers = self._policy, timedelta(0), NO_BUFFERS
        async with self._uow_factory() as uow:
            doctor = await load(uow.doctors.get, doctor_id, "doctor")
            length = doctor.visit_length
            if visit_type_id is not None:
                kind = await visit_type_of(uow, doctor_id, visit_type_id)
                policy, length, buffers = kind.policy(policy), kind.duration, kind.buffers
            availability = await uow.availability.get(doctor_id, window)
            if institution_id is not None:
                availability = availability.at(institution_id)
            # Only a doctor with hours at institutions costs the extra query.
            places = await uow.institutions.get_many(
                [i for i in availability.institutions() if i is not None]
            )
            # Blocked ranges; widened so that a buffer reaching into the window counts.
            busy = await uow.appointments.busy_slots(
                doctor_id, TimeSlot(window.start - MAX_BUFFER, window.end + MAX_BUFFER)
            )
        horizon_end = now + policy.booking_horizon
        slots = availability.free_slots(
            window,
            length=length,
            busy=busy,
            not_before=now + policy.minimum_notice,
            buffer_before=buffers.before,
            buffer_after=buffers.after,
        )
        found = [s for s in slots if s.start <= horizon_end]
        if not places:
            return [FreeSlot(s, doctor.timezone) for s in found]
        return [
            FreeSlot(s, doctor.timezone, _place(places, availability.institution_for(s)))
            for s in found
        ]


def _place(places: dict[UUID, Institution], institution_id: UUID | None) -> Institution | None:
    return places.get(institution_id) if institution_id is not None else None
