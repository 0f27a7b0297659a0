"""The waitlist's use cases over the in-memory adapters: a cancelled visit's slot is
offered to the first in line, once per event; declining passes it on; the offer's
notification reaches the patient; accepting books; the accept of a taken slot lapses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.application.appointments.commands import TransitionCommand
from hduce.application.waitlist.entries import JoinWaitlist, JoinWaitlistCommand, ListMyWaitlist
from hduce.application.waitlist.offers import (
    AcceptOffer,
    DeclineOffer,
    OfferFreedSlot,
    WaitlistPolicy,
)
from hduce.domain import events
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.errors import PermissionDenied, SlotConflict
from hduce.domain.identity import Actor, Role
from hduce.domain.waitlist import OfferStatus
from tests.unit.application.support import MONDAY, Clinic, local

POLICY = WaitlistPolicy(offer_ttl=timedelta(minutes=20))
TUESDAY_10 = local(MONDAY + timedelta(days=1), "10:00")


async def _join(clinic: Clinic, who: str) -> None:
    await JoinWaitlist(clinic.uow_factory, clinic.clock)(
        JoinWaitlistCommand(
            actor=clinic.actor(who),
            doctor_id=clinic.people.doctor.id,
            earliest=TUESDAY_10 - timedelta(hours=1),
            latest=TUESDAY_10 + timedelta(hours=2),
        )
    )
    clinic.clock.advance(timedelta(seconds=1))


async def test_a_freed_slot_is_offered_once_passed_on_and_accepted(clinic: Clinic) -> None:
    f, c = clinic.uow_factory, clinic.clock
    third = await clinic.add_patient("Third Patient")
    taken = await clinic.book("admin", starts_at=TUESDAY_10, patient="other_patient", approve=True)
    await _join(clinic, "patient")
    await JoinWaitlist(f, c)(
        JoinWaitlistCommand(
            actor=Actor(Role.PATIENT, third.id),
            doctor_id=clinic.people.doctor.id,
            earliest=TUESDAY_10,
            latest=TUESDAY_10 + timedelta(hours=1),
        )
    )
    await clinic.cancel(TransitionCommand(clinic.actor("other_patient"), taken.id, reason="away"))
    [cancelled] = clinic.events(events.APPOINTMENT_CANCELLED)

    handler = OfferFreedSlot(f, c, POLICY)
    offer = await handler(cancelled)
    assert offer is not None and offer.patient_id == clinic.people.patient.id
    assert await handler(cancelled) is None  # the same event again: nothing more
    [made] = clinic.events(events.WAITLIST_OFFER_MADE)
    await clinic.handle_notifications(made)
    told = clinic.notifications(recipient_id=clinic.people.patient.id)
    assert {n.title for n in told} == {"A slot from your waitlist is free"}
    assert all(n.metadata["offer_id"] == str(offer.id) for n in told)

    with pytest.raises(PermissionDenied):
        await DeclineOffer(f, c, POLICY)(clinic.actor("doctor"), offer.id)
    declined = await DeclineOffer(f, c, POLICY)(clinic.actor("patient"), offer.id)
    assert declined.status is OfferStatus.DECLINED
    [passed] = await ListMyWaitlist(f, c).offers(Actor(Role.PATIENT, third.id))
    assert passed.status is OfferStatus.OFFERED

    accept = AcceptOffer(f, c, POLICY, clinic.book_appointment)
    booked_offer, appointment = await accept(Actor(Role.PATIENT, third.id), passed.id)
    assert booked_offer.status is OfferStatus.BOOKED
    assert appointment.patient_id == third.id and appointment.slot.start == TUESDAY_10
    assert clinic.stored(appointment.id).status is AppointmentStatus.PENDING
    assert await ListMyWaitlist(f, c).entries(Actor(Role.PATIENT, third.id)) == []


async def test_accepting_a_slot_taken_meanwhile_lapses_the_offer(clinic: Clinic) -> None:
    f, c = clinic.uow_factory, clinic.clock
    taken = await clinic.book("admin", starts_at=TUESDAY_10, patient="other_patient", approve=True)
    await _join(clinic, "patient")
    await clinic.cancel(TransitionCommand(clinic.actor("admin"), taken.id, reason="ill"))
    [cancelled] = clinic.events(events.APPOINTMENT_CANCELLED)
    offer = await OfferFreedSlot(f, c, POLICY)(cancelled)
    assert offer is not None
    await clinic.book("admin", starts_at=TUESDAY_10, patient="other_patient", approve=True)

    with pytest.raises(SlotConflict):
        await AcceptOffer(f, c, POLICY, clinic.book_appointment)(clinic.actor("patient"), offer.id)
    [lapsed] = await ListMyWaitlist(f, c).offers(clinic.actor("patient"))
    assert lapsed.status is OfferStatus.LAPSED
