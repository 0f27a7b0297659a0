"""BookAppointment: who books what, which guards refuse, and what gets written."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from hduce.application import context
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand, TransitionCommand
from hduce.domain import events
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.errors import (
    BusinessRuleViolation,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    SlotConflict,
)
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7
from tests.unit.application.support import (
    NOW,
    POLICY,
    SATURDAY,
    TUESDAY,
    VISIT,
    Clinic,
    CountingUnitOfWorkFactory,
    InterleavingUnitOfWorkFactory,
    local,
)

S = AppointmentStatus


async def test_a_patient_books_for_themself_and_the_request_is_pending(clinic: Clinic) -> None:
    token = context.correlation_id.set("req-7f3a")
    try:
        booked = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"), reason="cough")
    finally:
        context.correlation_id.reset(token)

    stored = clinic.stored(booked.id)
    assert stored.status is S.PENDING
    assert stored.patient_id == clinic.people.patient.id
    assert stored.doctor_id == clinic.people.doctor.id
    assert stored.reason == "cough"
    assert stored.version == 1
    assert [(h.from_status, h.to_status, h.actor_role) for h in stored.history] == [
        (None, S.PENDING, Role.PATIENT)
    ]

    [event] = clinic.events()
    assert event.type == events.APPOINTMENT_REQUESTED
    assert event.aggregate_id == booked.id
    assert event.aggregate_version == 1
    assert event.correlation_id == "req-7f3a"
    assert isinstance(event.payload, events.AppointmentRequested)
    assert event.payload.starts_at == local(TUESDAY, "10:00")

    [entry] = clinic.audit_of(booked.id)
    assert entry.action == "appointment.booked"
    assert entry.actor_id == clinic.people.patient.id
    assert entry.details["to_status"] == "pending"


async def test_without_an_end_the_doctors_visit_length_is_used(clinic: Clinic) -> None:
    booked = await clinic.book(starts_at=local(TUESDAY, "10:00"))

    assert clinic.stored(booked.id).ends_at - clinic.stored(booked.id).starts_at == VISIT


async def test_an_explicit_end_is_kept(clinic: Clinic) -> None:
    booked = await clinic.book(starts_at=local(TUESDAY, "10:00"), ends_at=local(TUESDAY, "11:00"))

    assert clinic.stored(booked.id).ends_at == local(TUESDAY, "11:00")


async def test_a_patient_may_not_book_for_another_patient(clinic: Clinic) -> None:
    before = clinic.snapshot()

    with pytest.raises(PermissionDenied, match="patients book only for themselves"):
        await clinic.book("patient", patient="other_patient", starts_at=local(TUESDAY, "10:00"))

    assert clinic.snapshot() == before


async def test_a_doctor_books_on_their_own_calendar_a_proposal_for_the_patient(
    clinic: Clinic,
) -> None:
    # No longer APPROVED at once: the patient accepts or declines (it holds the slot).
    booked = await clinic.book("doctor", patient="patient", starts_at=local(TUESDAY, "10:00"))

    assert clinic.stored(booked.id).status is S.PROPOSED
    assert [e.type for e in clinic.events()] == [events.APPOINTMENT_PROPOSED]
    assert clinic.audit_of(booked.id)[0].actor_role is Role.DOCTOR


async def test_a_doctor_may_not_book_on_a_colleagues_calendar(clinic: Clinic) -> None:
    before = clinic.snapshot()

    with pytest.raises(PermissionDenied, match="doctors book only on their own calendar"):
        await clinic.book("doctor", doctor="other_doctor", starts_at=local(TUESDAY, "10:00"))

    assert clinic.snapshot() == before


@pytest.mark.parametrize(
    ("by", "patient", "doctor"),
    [
        pytest.param("patient", "other_patient", "doctor", id="patient-for-another-patient"),
        pytest.param("patient", None, "doctor", id="patient-for-an-unknown-id"),
        pytest.param("doctor", "patient", "other_doctor", id="doctor-on-a-colleagues-calendar"),
        pytest.param("doctor", "patient", None, id="doctor-on-an-unknown-calendar"),
    ],
)
async def test_who_may_not_book_for_whom_is_refused_before_any_lookup(
    clinic: Clinic, by: str, patient: str | None, doctor: str | None
) -> None:
    # Authorization (403), not the state machine (422); and no unit of work is opened,
    # so the refusal says nothing about whether the ids exist.
    factory = CountingUnitOfWorkFactory(clinic.uow_factory)
    book = BookAppointment(factory, clinic.clock, clinic.policy)
    command = BookAppointmentCommand(
        actor=clinic.actor(by),
        patient_id=getattr(clinic.people, patient).id if patient else uuid7(),
        doctor_id=getattr(clinic.people, doctor).id if doctor else uuid7(),
        starts_at=local(TUESDAY, "10:00"),
    )

    with pytest.raises(PermissionDenied):
        await book(command)

    assert factory.opened == 0


async def test_a_patient_books_with_any_doctor_and_a_doctor_for_any_patient(
    clinic: Clinic,
) -> None:
    with_colleague = await clinic.book(
        "patient", doctor="other_doctor", starts_at=local(TUESDAY, "10:00")
    )
    for_other = await clinic.book(
        "doctor", patient="other_patient", starts_at=local(TUESDAY, "11:00")
    )

    assert clinic.stored(with_colleague.id).doctor_id == clinic.people.other_doctor.id
    assert clinic.stored(for_other.id).patient_id == clinic.people.other_patient.id


async def test_a_patient_still_may_not_book_straight_into_approved(clinic: Clinic) -> None:
    # Booking for themself is allowed; approving is the doctor's move (the state machine).
    with pytest.raises(IllegalTransition, match="only the doctor approves"):
        await clinic.book("patient", starts_at=local(TUESDAY, "10:00"), approve=True)


async def test_an_admin_books_pending_unless_asked_to_approve(clinic: Clinic) -> None:
    pending = await clinic.book("admin", starts_at=local(TUESDAY, "10:00"))
    approved = await clinic.book("admin", starts_at=local(TUESDAY, "11:00"), approve=True)

    assert clinic.stored(pending.id).status is S.PENDING
    assert clinic.stored(approved.id).status is S.APPROVED


@pytest.mark.parametrize(
    "starts_at",
    [
        pytest.param(local(TUESDAY, "14:00"), id="lunch-break"),
        pytest.param(local(TUESDAY, "12:45"), id="runs-past-closing"),
        pytest.param(local(TUESDAY, "08:00"), id="before-opening"),
        pytest.param(local(SATURDAY, "10:00"), id="weekend"),
    ],
)
async def test_outside_working_hours_is_refused_and_nothing_is_written(
    clinic: Clinic, starts_at: datetime
) -> None:
    before = clinic.snapshot()

    with pytest.raises(BusinessRuleViolation) as refused:
        await clinic.book(starts_at=starts_at)

    assert refused.value.code == "outside-working-hours"
    assert clinic.snapshot() == before
    assert clinic.store.appointments == {}
    assert clinic.events() == []


async def test_the_working_hours_are_read_on_the_doctors_wall_clock(clinic: Clinic) -> None:
    # 09:00 in Madrid is 08:00 UTC in January: the first slot of the day.
    booked = await clinic.book(starts_at=local(TUESDAY, "09:00"))

    assert clinic.stored(booked.id).starts_at.hour == 8


@pytest.mark.parametrize(
    ("now", "starts_at", "code"),
    [
        pytest.param(
            local(TUESDAY, "11:00"), local(TUESDAY, "10:00"), "illegal-transition", id="past"
        ),
        pytest.param(
            local(TUESDAY, "09:30"), local(TUESDAY, "10:00"), "minimum-notice", id="short-notice"
        ),
        pytest.param(
            NOW, NOW + POLICY.booking_horizon + timedelta(hours=2), "booking-horizon", id="horizon"
        ),
    ],
)
async def test_time_rules_refuse_and_write_nothing(
    clinic: Clinic, now: datetime, starts_at: datetime, code: str
) -> None:
    clinic.clock.set(now)
    before = clinic.snapshot()

    with pytest.raises(BusinessRuleViolation) as refused:
        await clinic.book(starts_at=starts_at)

    assert refused.value.code == code
    assert clinic.snapshot() == before


async def test_a_conflict_lists_every_overlapping_appointment_of_doctor_and_patient(
    clinic: Clinic,
) -> None:
    doctors_visit = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    patients_visit = await clinic.book(
        "other_patient", doctor="other_doctor", starts_at=local(TUESDAY, "10:30")
    )
    before = clinic.snapshot()

    # 10:15-10:45 with the doctor, for the other patient: overlaps both. An admin books
    # it, who may be told every id (what the others are told: the next test).
    with pytest.raises(SlotConflict) as conflict:
        await clinic.book(
            "admin",
            patient="other_patient",
            starts_at=local(TUESDAY, "10:15"),
            ends_at=local(TUESDAY, "10:45"),
        )

    assert set(conflict.value.conflicting_ids) == {doctors_visit.id, patients_visit.id}
    assert clinic.snapshot() == before


@pytest.mark.parametrize(
    ("who", "told"),
    [
        # Never another patient's visit: only their own one with the other doctor.
        ("other_patient", {"patients_visit"}),
        # The ids on their own calendar, not the patient's visit with a colleague.
        ("doctor", {"doctors_visit"}),
        ("admin", {"doctors_visit", "patients_visit"}),
    ],
)
async def test_a_conflict_names_only_the_appointments_the_caller_is_a_party_to(
    clinic: Clinic, who: str, told: set[str]
) -> None:
    visits = {
        "doctors_visit": await clinic.book("patient", starts_at=local(TUESDAY, "10:00")),
        "patients_visit": await clinic.book(
            "other_patient", doctor="other_doctor", starts_at=local(TUESDAY, "10:30")
        ),
    }

    with pytest.raises(SlotConflict) as conflict:
        await clinic.book(
            who,
            patient=None if who == "other_patient" else "other_patient",
            starts_at=local(TUESDAY, "10:15"),
            ends_at=local(TUESDAY, "10:45"),
        )

    assert set(conflict.value.conflicting_ids) == {visits[name].id for name in told}
    for name in visits.keys() - told:
        assert str(visits[name].id) not in conflict.value.message


async def test_touching_slots_do_not_conflict(clinic: Clinic) -> None:
    first = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    second = await clinic.book("other_patient", starts_at=local(TUESDAY, "10:30"))

    assert first.ends_at == second.starts_at
    assert len(clinic.store.appointments) == 2


async def test_a_finished_appointment_frees_its_slot(clinic: Clinic) -> None:
    first = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    await clinic.cancel(
        TransitionCommand(clinic.actor("patient"), first.id, reason="feeling better")
    )

    again = await clinic.book("other_patient", starts_at=local(TUESDAY, "10:00"))

    assert clinic.stored(again.id).status is S.PENDING


async def test_an_unknown_patient_is_not_found(clinic: Clinic) -> None:
    command = BookAppointmentCommand(
        actor=clinic.actor("admin"),
        doctor_id=clinic.people.doctor.id,
        patient_id=uuid7(),
        starts_at=local(TUESDAY, "10:00"),
    )

    with pytest.raises(NotFound):
        await clinic.book_appointment(command)

    assert clinic.store.appointments == {}


async def test_an_inactive_patient_is_not_found(clinic: Clinic) -> None:
    gone = await clinic.add_patient("Ivan Inactive", is_active=False)
    command = BookAppointmentCommand(
        actor=clinic.actor("admin"),
        doctor_id=clinic.people.doctor.id,
        patient_id=gone.id,
        starts_at=local(TUESDAY, "10:00"),
    )

    with pytest.raises(NotFound):
        await clinic.book_appointment(command)

    assert clinic.store.appointments == {}


async def test_a_user_who_is_not_a_patient_cannot_be_booked_as_one(clinic: Clinic) -> None:
    with pytest.raises(NotFound):
        await clinic.book("admin", patient="other_doctor", starts_at=local(TUESDAY, "10:00"))


async def test_an_unknown_doctor_is_not_found(clinic: Clinic) -> None:
    command = BookAppointmentCommand(
        actor=clinic.actor("patient"), doctor_id=uuid7(), starts_at=local(TUESDAY, "10:00")
    )

    with pytest.raises(NotFound) as missing:
        await clinic.book_appointment(command)

    assert missing.value.entity == "doctor"
    assert clinic.store.appointments == {}


async def test_a_naive_start_is_invalid_input(clinic: Clinic) -> None:
    naive = datetime(2030, 1, 8, 10, 0)

    with pytest.raises(InvalidInput) as invalid:
        await clinic.book(starts_at=naive)

    assert invalid.value.field == "starts_at"
    assert clinic.store.appointments == {}


async def test_staff_must_name_the_patient(clinic: Clinic) -> None:
    command = BookAppointmentCommand(
        actor=clinic.actor("admin"),
        doctor_id=clinic.people.doctor.id,
        starts_at=local(TUESDAY, "10:00"),
    )

    with pytest.raises(InvalidInput) as invalid:
        await clinic.book_appointment(command)

    assert invalid.value.field == "patient_id"


@pytest.mark.parametrize("interleaved", [False, True], ids=["plain", "interleaved"])
async def test_twenty_concurrent_bookings_of_one_slot_give_exactly_one_winner(
    clinic: Clinic, interleaved: bool
) -> None:
    patients = [await clinic.add_patient(f"Patient {n}") for n in range(20)]
    factory = (
        InterleavingUnitOfWorkFactory(clinic.uow_factory) if interleaved else clinic.uow_factory
    )
    book = BookAppointment(factory, clinic.clock, clinic.policy)
    starts_at = local(TUESDAY, "10:00")

    results = await asyncio.gather(
        *(
            book(
                BookAppointmentCommand(
                    actor=p.actor, doctor_id=clinic.people.doctor.id, starts_at=starts_at
                )
            )
            for p in patients
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 19
    assert all(isinstance(r, SlotConflict) for r in losers)
    [winner] = winners
    # Each loser is another patient: told the slot is taken, never whose visit took it.
    assert all(r.conflicting_ids == () for r in losers if isinstance(r, SlotConflict))
    assert list(clinic.store.appointments) == [winner.id]
    assert [e.aggregate_id for e in clinic.events()] == [winner.id]
    assert len(clinic.audit_of(winner.id)) == 1
