"""A patient's own waitlist entries: join, leave, list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from hduce.application.use_case import UseCase
from hduce.application.visit_types import visit_type_of
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot
from hduce.domain.waitlist import WaitlistEntry, WaitlistOffer


def ensure_patient(actor: Actor) -> UUID:
    """The waitlist is the patients' own: their id, or ``PermissionDenied``."""
    if actor.role is not Role.PATIENT or actor.user_id is None:
        raise PermissionDenied("only patients keep a waitlist")
    return actor.user_id


@dataclass(frozen=True, slots=True)
class JoinWaitlistCommand:
    actor: Actor
    doctor_id: UUID
    earliest: datetime
    latest: datetime
    visit_type: str | None = None  # a free-text label, kept as given
    #: One of the doctor's visit types: offers are visits of that type that fit.
    visit_type_id: UUID | None = None


class JoinWaitlist(UseCase):
    async def __call__(self, command: JoinWaitlistCommand) -> WaitlistEntry:
        patient_id = ensure_patient(command.actor)
        window = TimeSlot(command.earliest, command.latest)
        async with self.change(command.actor) as (uow, audit):
            doctor = await uow.doctors.get(command.doctor_id)
            account = await uow.users.get(command.doctor_id) if doctor is not None else None
            if doctor is None or account is None or not account.is_active:
                raise NotFound("doctor", command.doctor_id)
            kind = None
            if command.visit_type_id is not None:
                kind = await visit_type_of(uow, command.doctor_id, command.visit_type_id)
            now = self._clock.now()
            entry = WaitlistEntry.join(
                entry_id=uuid7(),
                patient_id=patient_id,
                doctor_id=command.doctor_id,
                window=window,
                now=now,
                visit_type=command.visit_type,
                kind=kind,
            )
            await uow.waitlist.add_entry(entry)
            await audit(
                "waitlist.joined",
                "waitlist_entry",
                entry.id,
                at=now,
                doctor_id=str(entry.doctor_id),
                earliest=window.start.isoformat(),
                latest=window.end.isoformat(),
                visit_type_id=str(entry.visit_type_id) if entry.visit_type_id else None,
            )
        return entry


class LeaveWaitlist(UseCase):
    async def __call__(self, actor: Actor, entry_id: UUID) -> None:
        patient_id = ensure_patient(actor)
        async with self.change(actor) as (uow, audit):
            entry = await uow.waitlist.get_entry(entry_id)
            if entry is None or entry.patient_id != patient_id:
                raise NotFound("waitlist entry", entry_id)  # someone else's: as unknown
            entry.leave()
            await uow.waitlist.save_entry(entry)
            await audit("waitlist.left", "waitlist_entry", entry.id)


class ListMyWaitlist(UseCase):
    async def entries(self, actor: Actor) -> Sequence[WaitlistEntry]:
        patient_id = ensure_patient(actor)
        async with self._uow_factory() as uow:
            return await uow.waitlist.entries_of(patient_id)

    async def offers(self, actor: Actor) -> Sequence[WaitlistOffer]:
        patient_id = ensure_patient(actor)
        async with self._uow_factory() as uow:
            return await uow.waitlist.offers_of(patient_id)
