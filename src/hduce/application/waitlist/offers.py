"""Offers of freed slots: made by the freed-slot handler, accepted, declined, expired.

The one-live-offer-per-slot rule is the storage's (``WaitlistRepository.add_offer``):
whatever number of workers handle events freeing the same slot at once, one offer is
stored and the others store nothing. Accepting books through ``BookAppointment``, so
every booking rule and the no-double-booking guarantee apply; a conflict that appeared
since the offer answers 409 and passes the slot on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from hduce.application.use_case import Audit, UseCase
from hduce.application.waitlist.entries import ensure_patient
from hduce.domain.appointments import Appointment
from hduce.domain.errors import DomainError, NotFound, StaleVersion
from hduce.domain.events import (
    AppointmentCancelled,
    AppointmentNoShow,
    AppointmentRejected,
    AppointmentTransition,
    DomainEvent,
    WaitlistOfferMade,
)
from hduce.domain.identity import Actor
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot
from hduce.domain.visit_types import MIN_DURATION, VisitType
from hduce.domain.waitlist import (
    EntryStatus,
    FreedTime,
    WaitlistOffer,
    next_in_line,
    offered_visit,
)

CONSUMER_NAME = "waitlist"


@dataclass(frozen=True, slots=True)
class WaitlistPolicy:
    """How long an offer is held for its patient (``HDUCE_WAITLIST_OFFER_TTL``), and how
    long an accepted one may stay ``accepting`` before the sweep settles it (the
    booking takes milliseconds; past this, the accepting process is taken for dead)."""

    offer_ttl: timedelta = timedelta(minutes=15)
    accept_deadline: timedelta = timedelta(minutes=2)


#: The events whose appointment's slot is free afterwards (a reschedule frees the old
#: slot through its cancellation half, an ``AppointmentCancelled`` with ``rescheduled_to``).
FREEING_EVENTS: tuple[type[AppointmentTransition], ...] = (
    AppointmentCancelled,
    AppointmentRejected,
    AppointmentNoShow,
)


async def freed_time(uow: UnitOfWork, offer: WaitlistOffer) -> FreedTime:
    """The time the appointment that freed ``offer``'s slot gave back (visit and
    buffers): what an offer passed on is measured against."""
    if offer.freed_appointment_id is not None:
        freed = await uow.appointments.get(offer.freed_appointment_id)
        if freed is not None:
            return FreedTime.of(freed.slot, freed.blocked)
    return FreedTime.of(offer.slot)


async def offer_next(
    uow: UnitOfWork,
    *,
    doctor_id: UUID,
    slot: TimeSlot | FreedTime,
    now: datetime,
    hold: timedelta,
    passed_over: frozenset[UUID] = frozenset(),
    freed_appointment_id: UUID | None = None,
) -> WaitlistOffer | None:
    """Offer the freed time to the next one in line, in ``uow`` (not committed): nobody
    when the slot is taken again or has a live offer, or nobody waits for it. Someone
    waiting for a visit type is offered a visit of that type at the freed start, if it
    fits in the freed time (``hduce.domain.waitlist.offered_visit``)."""
    freed = slot if isinstance(slot, FreedTime) else FreedTime.of(slot)
    start = freed.visit.start
    if await uow.waitlist.live_offer(doctor_id, start) is not None:
        return None
    # Taken again meanwhile (a direct booking, a rescheduled visit): nothing to offer.
    if await uow.appointments.busy_slots(doctor_id, freed.visit):
        return None
    offered = await uow.waitlist.offered_patients(doctor_id, start)
    # Entries whose window holds the shortest visit that could start there; the domain
    # then checks each one's own visit.
    shortest = min(MIN_DURATION, freed.visit.end - start)
    candidates = await uow.waitlist.waiting_for(doctor_id, TimeSlot(start, start + shortest))
    kinds: dict[UUID, VisitType] = {}
    if any(entry.visit_type_id is not None for entry in candidates):
        kinds = {kind.id: kind for kind in await uow.visit_types.list_for(doctor_id)}
    entry = next_in_line(
        candidates,
        doctor_id=doctor_id,
        slot=freed,
        now=now,
        passed_over=offered | passed_over,
        kinds=kinds,
    )
    visit = offered_visit(entry, freed, kinds) if entry is not None else None
    if entry is None or visit is None:
        return None
    offer = WaitlistOffer.make(
        offer_id=uuid7(),
        entry=entry,
        slot=visit,
        now=now,
        hold=hold,
        freed_appointment_id=freed_appointment_id,
    )
    if not await uow.waitlist.add_offer(offer):
        return None  # another worker offered this slot first
    uow.emit(
        DomainEvent(
            occurred_at=now,
            aggregate_id=offer.id,
            aggregate_version=offer.version,
            payload=WaitlistOfferMade(
                offer_id=offer.id,
                entry_id=offer.entry_id,
                patient_id=offer.patient_id,
                doctor_id=offer.doctor_id,
                starts_at=visit.start,
                ends_at=visit.end,
                expires_at=offer.expires_at,
            ),
        )
    )
    return offer


async def pass_on(
    uow: UnitOfWork, offer: WaitlistOffer, *, now: datetime, hold: timedelta
) -> WaitlistOffer | None:
    """Offer the time ``offer`` held to the next one in line (it was declined, expired or
    lapsed), measured against the same freed time."""
    return await offer_next(
        uow,
        doctor_id=offer.doctor_id,
        slot=await freed_time(uow, offer),
        now=now,
        hold=hold,
        freed_appointment_id=offer.freed_appointment_id,
    )


class OfferFreedSlot:
    """The event handler: an appointment's slot was freed, offer it to the waitlist.
    Once per event id (the consumer's inbox), in one transaction with the offer."""

    consumer: ClassVar[str] = CONSUMER_NAME

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: WaitlistPolicy):
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

    async def __call__(self, event: DomainEvent) -> WaitlistOffer | None:
        payload = event.payload
        if not isinstance(payload, FREEING_EVENTS):
            return None
        async with self._uow_factory() as uow:
            if not await uow.processed_events.first_time(CONSUMER_NAME, event.id):
                return None
            visit = TimeSlot(payload.starts_at, payload.ends_at)
            freed = await uow.appointments.get(payload.appointment_id)
            offer = await offer_next(
                uow,
                doctor_id=payload.doctor_id,
                # The visit with its buffers: the doctor's time given back.
                slot=FreedTime.of(visit, freed.blocked if freed is not None else None),
                now=self._clock.now(),
                hold=self._policy.offer_ttl,
                # Whoever gave the slot up is not offered it back.
                passed_over=frozenset({payload.patient_id}),
                freed_appointment_id=freed.id if freed is not None else None,
            )
            await uow.commit()
        return offer


async def _own_offer(uow: UnitOfWork, actor: Actor, offer_id: UUID) -> WaitlistOffer:
    patient_id = ensure_patient(actor)
    offer = await uow.waitlist.get_offer(offer_id, for_update=True)
    if offer is None or offer.patient_id != patient_id:
        raise NotFound("waitlist offer", offer_id)  # someone else's: as unknown
    return offer


class AcceptOffer(UseCase):
    """Accept an offer: it stops being open (no expiry, no second accept), then the slot
    is booked through ``BookAppointment``. If that fails (a conflict appeared, a rule
    refuses, the account was deactivated) the offer lapses, the next in line is offered, and the error is raised."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: WaitlistPolicy,
        book: BookAppointment,
    ) -> None:
        super().__init__(uow_factory, clock)
        self._policy = policy
        self._book = book

    async def __call__(self, actor: Actor, offer_id: UUID) -> tuple[WaitlistOffer, Appointment]:
        async with self.change(actor, serialized=True) as (uow, audit):
            offer = await _own_offer(uow, actor, offer_id)
            version = offer.version
            offer.begin_accept(self._clock.now(), self._policy.accept_deadline)
            await uow.waitlist.save_offer(offer, expected_version=version)
            await audit("waitlist.offer_accepted", "waitlist_offer", offer.id)
            entry = await uow.waitlist.get_entry(offer.entry_id)
        visit_type_id = entry.visit_type_id if entry is not None else None
        try:
            appointment = await self._book(
                BookAppointmentCommand(
                    actor=actor,
                    doctor_id=offer.doctor_id,
                    starts_at=offer.slot.start,
                    # A visit type sets the length (and buffers, horizon, notice) itself.
                    ends_at=offer.slot.end if visit_type_id is None else None,
                    reason="offered from the waitlist",
                    visit_type_id=visit_type_id,
                )
            )
        except DomainError:
            # Taken meanwhile (409), or a rule refuses it now: the slot goes on.
            await self._lapse(actor, offer)
            raise
        async with self.change(actor, serialized=True) as (uow, audit):
            version = offer.version
            offer.booked(appointment.id)
            await uow.waitlist.save_offer(offer, expected_version=version)
            entry = await uow.waitlist.get_entry(offer.entry_id)
            if entry is not None and entry.status is EntryStatus.WAITING:
                entry.status = EntryStatus.BOOKED
                await uow.waitlist.save_entry(entry)
            await audit(
                "waitlist.offer_booked",
                "waitlist_offer",
                offer.id,
                appointment_id=str(appointment.id),
            )
        return offer, appointment

    async def _lapse(self, actor: Actor, offer: WaitlistOffer) -> None:
        async with self.change(actor, serialized=True) as (uow, audit):
            version = offer.version
            offer.lapse()
            await uow.waitlist.save_offer(offer, expected_version=version)
            await audit("waitlist.offer_lapsed", "waitlist_offer", offer.id)
            await pass_on(uow, offer, now=self._clock.now(), hold=self._policy.offer_ttl)


class DeclineOffer(UseCase):
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: WaitlistPolicy):
        super().__init__(uow_factory, clock)
        self._policy = policy

    async def __call__(self, actor: Actor, offer_id: UUID) -> WaitlistOffer:
        async with self.change(actor, serialized=True) as (uow, audit):
            offer = await _own_offer(uow, actor, offer_id)
            version = offer.version
            now = self._clock.now()
            offer.decline(now)
            await uow.waitlist.save_offer(offer, expected_version=version)
            await audit("waitlist.offer_declined", "waitlist_offer", offer.id)
            await pass_on(uow, offer, now=now, hold=self._policy.offer_ttl)
        return offer


async def _booked_by_offer(uow: UnitOfWork, offer: WaitlistOffer) -> UUID | None:
    """The appointment an acceptance booked, if it did: the patient's occupying visit
    with that doctor at the slot's start."""
    for appointment in await uow.appointments.occupying_overlapping(
        offer.slot, doctor_id=offer.doctor_id, patient_id=offer.patient_id
    ):
        if (
            appointment.patient_id == offer.patient_id
            and appointment.doctor_id == offer.doctor_id
            and appointment.starts_at == offer.slot.start
        ):
            return appointment.id
    return None


class ExpireWaitlistOffers(UseCase):
    """The sweep: open offers past their hold time expire and pass to the next in line;
    acceptances stuck past their deadline (the accepting process died between marking
    the offer and booking, or between booking and marking it booked) are settled:
    ``booked`` when the patient's appointment is there, else ``lapsed`` and the slot
    passes on. Any number of sweeps may run at once: each claims its batch with SKIP
    LOCKED (PostgreSQL) or under the write lock (SQLite), and the version check settles
    the rest."""

    #: Offers expired per run (and per transaction).
    batch: ClassVar[int] = 100

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: WaitlistPolicy):
        super().__init__(uow_factory, clock)
        self._policy = policy

    async def __call__(self) -> int:
        now = self._clock.now()
        try:
            async with self.change(Actor.system(), serialized=True) as (uow, audit):
                due = await uow.waitlist.claim_expired(now, self.batch)
                for offer in due:
                    version = offer.version
                    offer.expire(now)
                    await uow.waitlist.save_offer(offer, expected_version=version)
                    await audit("waitlist.offer_expired", "waitlist_offer", offer.id, at=now)
                    await pass_on(uow, offer, now=now, hold=self._policy.offer_ttl)
                stuck = await uow.waitlist.claim_stuck_acceptances(now, self.batch)
                for offer in stuck:
                    await self._recover(uow, audit, offer, now)
        except StaleVersion:
            return 0  # a patient answered meanwhile (no row lock on SQLite/memory): retry later
        return len(due) + len(stuck)

    async def _recover(
        self, uow: UnitOfWork, audit: Audit, offer: WaitlistOffer, now: datetime
    ) -> None:
        version = offer.version
        appointment_id = await _booked_by_offer(uow, offer)
        offer.recover(now, appointment_id)
        await uow.waitlist.save_offer(offer, expected_version=version)
        if appointment_id is not None:
            entry = await uow.waitlist.get_entry(offer.entry_id)
            if entry is not None and entry.status is EntryStatus.WAITING:
                entry.status = EntryStatus.BOOKED
                await uow.waitlist.save_entry(entry)
            await audit(
                "waitlist.offer_booked",
                "waitlist_offer",
                offer.id,
                at=now,
                appointment_id=str(appointment_id),
                recovered=True,
            )
            return
        await audit("waitlist.offer_lapsed", "waitlist_offer", offer.id, at=now, recovered=True)
        await pass_on(uow, offer, now=now, hold=self._policy.offer_ttl)
