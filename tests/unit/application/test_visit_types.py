"""Visit types through the use cases over the in-memory adapters: management rights,
bookings of a type (buffers kept through approval and reschedule), refusals counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import (
    BookAppointmentCommand,
    RescheduleCommand,
    TransitionCommand,
)
from hduce.application.availability.visit_types import (
    CreateVisitType,
    DeleteVisitType,
    ListVisitTypes,
    UpdateVisitType,
    VisitTypeFields,
)
from hduce.domain.errors import BusinessRuleViolation, NotFound, PermissionDenied, SlotConflict
from hduce.domain.visit_types import Buffers, VisitType
from tests.unit.application.support import TUESDAY, WEDNESDAY, Clinic, local
from tests.unit.application.test_metrics_reported import RecordingMetrics

FIRST_VISIT = VisitTypeFields(
    name="First visit",
    duration=timedelta(minutes=40),
    buffer_before=timedelta(minutes=10),
    buffer_after=timedelta(minutes=5),
    booking_horizon=timedelta(days=30),
    minimum_notice=timedelta(hours=24),
)


async def _first_visit(clinic: Clinic) -> VisitType:
    create = CreateVisitType(clinic.uow_factory, clinic.clock)
    return await create(clinic.actor("doctor"), clinic.people.doctor.id, FIRST_VISIT)


async def test_only_the_doctor_or_an_admin_manage_types(clinic: Clinic) -> None:
    create = CreateVisitType(clinic.uow_factory, clinic.clock)
    doctor_id = clinic.people.doctor.id
    kind = await create(clinic.actor("doctor"), doctor_id, FIRST_VISIT)
    for stranger in ("other_doctor", "patient"):
        with pytest.raises(PermissionDenied):
            await create(clinic.actor(stranger), doctor_id, FIRST_VISIT)
    update = UpdateVisitType(clinic.uow_factory, clinic.clock)
    changed = await update(
        clinic.actor("admin"), doctor_id, kind.id, FIRST_VISIT, expected_version=1
    )
    assert changed.version == 2
    with pytest.raises(NotFound):  # not that doctor's type
        await update(
            clinic.actor("other_doctor"), clinic.people.other_doctor.id, kind.id, FIRST_VISIT
        )
    assert [t.id for t in await ListVisitTypes(clinic.uow_factory)(doctor_id)] == [kind.id]
    await DeleteVisitType(clinic.uow_factory, clinic.clock)(
        clinic.actor("doctor"), doctor_id, kind.id
    )
    assert await ListVisitTypes(clinic.uow_factory)(doctor_id) == []


async def test_a_typed_booking_keeps_its_buffers_through_approval_and_reschedule(
    clinic: Clinic,
) -> None:
    kind = await _first_visit(clinic)
    booked = await clinic.book_appointment(
        BookAppointmentCommand(
            actor=clinic.actor("patient"),
            doctor_id=clinic.people.doctor.id,
            starts_at=local(TUESDAY, "10:00"),
            visit_type_id=kind.id,
        )
    )
    assert booked.slot.duration == timedelta(minutes=40)
    assert booked.buffers == Buffers(timedelta(minutes=10), timedelta(minutes=5))
    # Another patient, right after the visit: inside its buffer.
    with pytest.raises(SlotConflict):
        await clinic.book("other_patient", starts_at=local(TUESDAY, "10:40"))
    await clinic.approve(TransitionCommand(clinic.actor("doctor"), booked.id))
    moved = await clinic.reschedule(
        RescheduleCommand(clinic.actor("patient"), booked.id, starts_at=local(WEDNESDAY, "11:00"))
    )
    assert (moved.slot.duration, moved.buffers, moved.visit_type_id) == (
        timedelta(minutes=40),
        booked.buffers,
        kind.id,
    )
    assert clinic.stored(moved.id).blocked == moved.blocked
    free = await clinic.free_slots(
        clinic.people.doctor.id,
        moved.blocked.__class__(local(WEDNESDAY, "09:00"), local(WEDNESDAY, "13:00")),
        kind.id,
    )
    for slot in free:
        assert (
            not Buffers(kind.buffer_before, kind.buffer_after)
            .around(slot.slot)
            .overlaps(moved.blocked)
        )


async def test_notice_and_horizon_of_a_type_are_refused_and_counted(clinic: Clinic) -> None:
    kind = await _first_visit(clinic)
    metrics = RecordingMetrics()
    book = BookAppointment(clinic.uow_factory, clinic.clock, clinic.policy, metrics)
    for when, code in (
        (local(TUESDAY, "09:00") - timedelta(days=1), "minimum-notice"),
        (local(TUESDAY, "09:00") + timedelta(days=35), "booking-horizon"),
    ):
        with pytest.raises(BusinessRuleViolation) as refused:
            await book(
                BookAppointmentCommand(
                    actor=clinic.actor("patient"),
                    doctor_id=clinic.people.doctor.id,
                    starts_at=when,
                    visit_type_id=kind.id,
                )
            )
        assert refused.value.code == code
    assert metrics.bookings["refused"] == 2
