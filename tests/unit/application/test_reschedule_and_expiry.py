"""RescheduleAppointment (old cancelled + new booking, atomically) and the system's
ExpireOverdueAppointments sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hduce.application.appointments.commands import RescheduleCommand, TransitionCommand
from hduce.application.appointments.expiry import ExpireOverdueAppointments
from hduce.domain import events
from hduce.domain.appointments import RESCHEDULED_REASON, AppointmentStatus
from hduce.domain.errors import (
    BusinessRuleViolation,
    IllegalTransition,
    NotFound,
    PreconditionFailed,
    SlotConflict,
)
from hduce.domain.identity import Role
from tests.unit.application.support import (
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    Clinic,
    InterleavingUnitOfWorkFactory,
    local,
)

S = AppointmentStatus


# ------------------------------------------------------------------ reschedule


async def test_a_patient_moves_their_request_to_another_time(clinic: Clinic) -> None:
    old = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"), reason="rash")

    new = await clinic.reschedule(
        RescheduleCommand(
            clinic.actor("patient"), old.id, starts_at=local(THURSDAY, "11:00"), expected_version=1
        )
    )

    cancelled = clinic.stored(old.id)
    assert cancelled.status is S.CANCELLED
    assert cancelled.cancellation_reason == RESCHEDULED_REASON
    assert cancelled.cancelled_by is Role.PATIENT
    assert cancelled.version == 2

    replacement = clinic.stored(new.id)
    assert replacement.status is S.PENDING
    assert replacement.replaces == old.id
    assert replacement.starts_at == local(THURSDAY, "11:00")
    assert replacement.ends_at - replacement.starts_at == timedelta(minutes=30)
    assert replacement.reason == "rash"  # carried over when no new reason is given

    old_event = clinic.events_of(old.id)[-1]
    new_event = clinic.events_of(new.id)[-1]
    assert old_event.type == events.APPOINTMENT_CANCELLED
    assert isinstance(old_event.payload, events.AppointmentCancelled)
    assert old_event.payload.rescheduled_to == new.id
    assert new_event.type == events.APPOINTMENT_RESCHEDULED
    assert isinstance(new_event.payload, events.AppointmentRescheduled)
    assert new_event.payload.replaces == old.id
    # Both in the outbox, from one commit, the cancellation first.
    assert clinic.events()[-2:] == [old_event, new_event]

    assert clinic.audit_of(old.id)[-1].action == "appointment.rescheduled_from"
    assert clinic.audit_of(new.id)[-1].action == "appointment.rescheduled_to"


async def test_a_doctors_reschedule_stays_approved(clinic: Clinic) -> None:
    old = await clinic.book(
        "admin", patient="patient", starts_at=local(WEDNESDAY, "10:00"), approve=True
    )

    new = await clinic.reschedule(
        RescheduleCommand(clinic.actor("doctor"), old.id, starts_at=local(THURSDAY, "09:00"))
    )

    assert clinic.stored(new.id).status is S.APPROVED
    assert clinic.stored(old.id).cancelled_by is Role.DOCTOR


async def test_a_patients_reschedule_of_an_approved_visit_goes_back_to_pending(
    clinic: Clinic,
) -> None:
    old = await clinic.book(
        "admin", patient="patient", starts_at=local(WEDNESDAY, "10:00"), approve=True
    )

    new = await clinic.reschedule(
        RescheduleCommand(clinic.actor("patient"), old.id, starts_at=local(THURSDAY, "09:00"))
    )

    assert clinic.stored(new.id).status is S.PENDING


async def test_a_doctor_moves_their_proposal_and_it_stays_a_proposal(clinic: Clinic) -> None:
    old = await clinic.book("doctor", patient="patient", starts_at=local(WEDNESDAY, "10:00"))

    new = await clinic.reschedule(
        RescheduleCommand(clinic.actor("doctor"), old.id, starts_at=local(THURSDAY, "09:00"))
    )

    assert clinic.stored(new.id).status is S.PROPOSED  # still the patient's to accept
    assert clinic.stored(old.id).status is S.CANCELLED


async def test_a_patient_declines_a_proposal_rather_than_moving_it(clinic: Clinic) -> None:
    old = await clinic.book("doctor", patient="patient", starts_at=local(WEDNESDAY, "10:00"))
    before = clinic.snapshot()

    with pytest.raises(IllegalTransition, match="a patient declines a proposal"):
        await clinic.reschedule(
            RescheduleCommand(clinic.actor("patient"), old.id, starts_at=local(THURSDAY, "09:00"))
        )

    assert clinic.snapshot() == before


async def test_moving_by_a_quarter_of_an_hour_may_overlap_the_old_slot(clinic: Clinic) -> None:
    old = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))

    new = await clinic.reschedule(
        RescheduleCommand(clinic.actor("patient"), old.id, starts_at=local(WEDNESDAY, "10:15"))
    )

    assert clinic.stored(new.id).starts_at == local(WEDNESDAY, "10:15")
    assert clinic.stored(old.id).status is S.CANCELLED


async def test_a_refused_new_slot_leaves_the_old_appointment_untouched(clinic: Clinic) -> None:
    old = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    taken = await clinic.book("other_patient", starts_at=local(THURSDAY, "10:00"))
    before = clinic.snapshot()

    with pytest.raises(SlotConflict) as conflict:
        await clinic.reschedule(
            RescheduleCommand(clinic.actor("patient"), old.id, starts_at=local(THURSDAY, "10:00"))
        )
    with pytest.raises(BusinessRuleViolation) as closed:
        await clinic.reschedule(
            RescheduleCommand(clinic.actor("patient"), old.id, starts_at=local(THURSDAY, "14:00"))
        )

    # The visit in the way is another patient's: the patient is not told its id.
    assert conflict.value.conflicting_ids == ()
    assert str(taken.id) not in conflict.value.message
    assert closed.value.code == "outside-working-hours"
    assert clinic.snapshot() == before
    assert clinic.stored(old.id).status is S.PENDING


async def test_reschedule_refuses_a_stale_version(clinic: Clinic) -> None:
    old = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    before = clinic.snapshot()

    with pytest.raises(PreconditionFailed):  # the If-Match of the appointment moved
        await clinic.reschedule(
            RescheduleCommand(
                clinic.actor("patient"),
                old.id,
                starts_at=local(THURSDAY, "10:00"),
                expected_version=7,
            )
        )

    assert clinic.snapshot() == before


@pytest.mark.parametrize("outsider", ["other_patient", "other_doctor"])
async def test_reschedule_refuses_someone_who_cannot_see_the_appointment(
    clinic: Clinic, outsider: str
) -> None:
    old = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    before = clinic.snapshot()

    with pytest.raises(NotFound):  # as an unknown id: nothing tells the id exists
        await clinic.reschedule(
            RescheduleCommand(clinic.actor(outsider), old.id, starts_at=local(THURSDAY, "10:00"))
        )

    assert clinic.snapshot() == before


async def test_a_cancelled_appointment_cannot_be_rescheduled(clinic: Clinic) -> None:
    old = await clinic.book("patient", starts_at=local(WEDNESDAY, "10:00"))
    await clinic.cancel(TransitionCommand(clinic.actor("patient"), old.id, reason="no"))
    before = clinic.snapshot()

    with pytest.raises(IllegalTransition):
        await clinic.reschedule(
            RescheduleCommand(clinic.actor("patient"), old.id, starts_at=local(THURSDAY, "10:00"))
        )

    assert clinic.snapshot() == before


# ------------------------------------------------------------------ expiry sweep


async def test_the_sweep_expires_unanswered_requests_and_marks_no_shows(clinic: Clinic) -> None:
    unanswered = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    missed = await clinic.book(
        "admin", patient="other_patient", starts_at=local(TUESDAY, "11:00"), approve=True
    )
    in_grace = await clinic.book(
        "admin", patient="patient", starts_at=local(TUESDAY, "11:30"), approve=True
    )
    later_request = await clinic.book("other_patient", starts_at=local(TUESDAY, "12:00"))
    # Past 11:00 + 15 min grace, but 11:30 has only just started.
    clinic.clock.set(local(TUESDAY, "11:35"))

    changed = await clinic.expire_overdue()

    assert changed == 2
    expired = clinic.stored(unanswered.id)
    assert expired.status is S.CANCELLED
    assert expired.cancelled_by is Role.SYSTEM
    assert expired.cancelled_by_id is None
    assert expired.cancellation_reason == "not answered before the visit started"
    assert clinic.stored(missed.id).status is S.NO_SHOW
    assert clinic.stored(in_grace.id).status is S.APPROVED
    assert clinic.stored(later_request.id).status is S.PENDING

    assert clinic.events_of(unanswered.id)[-1].type == events.APPOINTMENT_CANCELLED
    expiry = clinic.events_of(unanswered.id)[-1].payload
    assert isinstance(expiry, events.AppointmentCancelled)
    assert expiry.actor_role is Role.SYSTEM
    assert clinic.events_of(missed.id)[-1].type == events.APPOINTMENT_NO_SHOW
    for appointment_id in (unanswered.id, missed.id):
        entry = clinic.audit_of(appointment_id)[-1]
        assert (entry.action, entry.actor_role) == ("appointment.expired", Role.SYSTEM)


async def test_the_sweep_expires_unanswered_proposals_at_their_start(clinic: Clinic) -> None:
    unanswered = await clinic.book("doctor", patient="patient", starts_at=local(TUESDAY, "10:00"))
    later = await clinic.book("doctor", patient="patient", starts_at=local(TUESDAY, "12:00"))
    clinic.clock.set(local(TUESDAY, "10:01"))

    assert await clinic.expire_overdue() == 1

    expired = clinic.stored(unanswered.id)
    assert (expired.status, expired.cancelled_by) == (S.CANCELLED, Role.SYSTEM)
    assert clinic.stored(later.id).status is S.PROPOSED
    entry = clinic.audit_of(unanswered.id)[-1]
    assert (entry.action, entry.actor_role) == ("appointment.expired", Role.SYSTEM)


async def test_running_the_sweep_again_changes_nothing(clinic: Clinic) -> None:
    await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    clinic.clock.set(local(TUESDAY, "12:00"))
    assert await clinic.expire_overdue() == 1
    before = clinic.snapshot()

    assert await clinic.expire_overdue() == 0

    assert clinic.snapshot() == before


async def test_two_concurrent_sweeps_expire_each_appointment_once(clinic: Clinic) -> None:
    unanswered = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    missed = await clinic.book(
        "admin", patient="other_patient", starts_at=local(TUESDAY, "11:00"), approve=True
    )
    clinic.clock.set(local(TUESDAY, "12:00"))
    # Both sweeps read the overdue list, and then each appointment, before either
    # writes: each must still change every appointment once, and neither may fail.
    factory = InterleavingUnitOfWorkFactory(
        clinic.uow_factory, "appointments.overdue", "appointments.get"
    )
    sweeps = [ExpireOverdueAppointments(factory, clinic.clock, clinic.policy) for _ in range(2)]

    counts = await asyncio.gather(*(sweep() for sweep in sweeps))

    assert sum(counts) == 2, counts
    assert clinic.stored(unanswered.id).status is S.CANCELLED
    assert clinic.stored(missed.id).status is S.NO_SHOW
    for appointment_id, expected in (
        (unanswered.id, events.APPOINTMENT_CANCELLED),
        (missed.id, events.APPOINTMENT_NO_SHOW),
    ):
        assert [e.type for e in clinic.events_of(appointment_id)][1:] == [expected]
        expired = [e for e in clinic.audit_of(appointment_id) if e.action == "appointment.expired"]
        assert len(expired) == 1
    assert await clinic.expire_overdue() == 0
