"""The transition use cases: approve, reject, cancel, check in, complete, no-show,
entered in error. Each success writes the new status, one history line, one outbox
event and one audit entry; each refusal leaves the store as it was."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from hduce.application.appointments.commands import TransitionCommand
from hduce.application.appointments.transitions import ApproveAppointment, CancelAppointment
from hduce.domain import events
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.errors import (
    IllegalTransition,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    SlotConflict,
    StaleVersion,
)
from hduce.domain.identity import Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot
from tests.unit.application.support import (
    WEDNESDAY,
    Clinic,
    InterleavingUnitOfWorkFactory,
    local,
)

S = AppointmentStatus
START = local(WEDNESDAY, "10:00")


async def pending(clinic: Clinic) -> Appointment:
    return await clinic.book("patient", starts_at=START)


async def approved(clinic: Clinic) -> Appointment:
    return await clinic.book("admin", patient="patient", starts_at=START, approve=True)


async def proposed(clinic: Clinic) -> Appointment:
    return await clinic.book("doctor", patient="patient", starts_at=START)


def assert_transitioned(
    clinic: Clinic,
    before: Appointment,
    *,
    to: AppointmentStatus,
    by: str,
    event_type: str,
    action: str,
    reason: str | None = None,
) -> Appointment:
    """Status, version, history, outbox event and audit entry of one transition."""
    stored = clinic.stored(before.id)
    actor = clinic.actor(by)
    assert stored.status is to
    assert stored.version == before.version + 1
    assert len(stored.history) == len(before.history) + 1
    last = stored.history[-1]
    assert (last.from_status, last.to_status) == (before.status, to)
    assert (last.actor_role, last.actor_id) == (actor.role, actor.user_id)
    assert last.reason == reason
    assert stored.updated_at == clinic.clock.now()

    event = clinic.events_of(before.id)[-1]
    assert event.type == event_type
    assert event.aggregate_version == stored.version
    assert isinstance(event.payload, events.AppointmentTransition)
    assert (event.payload.from_status, event.payload.status) == (before.status, to)

    entry = clinic.audit_of(before.id)[-1]
    assert entry.action == action
    assert entry.actor_id == actor.user_id
    assert (entry.details["from_status"], entry.details["to_status"]) == (before.status, to)
    assert entry.details["version"] == stored.version
    return stored


# ------------------------------------------------------------------ success paths


async def test_the_doctor_approves_a_pending_request(clinic: Clinic) -> None:
    request = await pending(clinic)

    result = await clinic.approve(
        TransitionCommand(clinic.actor("doctor"), request.id, expected_version=1)
    )

    assert result.status is S.APPROVED
    assert_transitioned(
        clinic,
        request,
        to=S.APPROVED,
        by="doctor",
        event_type=events.APPOINTMENT_APPROVED,
        action="appointment.approved",
    )
    assert [e.type for e in clinic.events_of(request.id)] == [
        events.APPOINTMENT_REQUESTED,
        events.APPOINTMENT_APPROVED,
    ]


async def test_the_doctor_rejects_with_a_reason(clinic: Clinic) -> None:
    request = await pending(clinic)

    await clinic.reject(
        TransitionCommand(clinic.actor("doctor"), request.id, reason="not my specialty")
    )

    stored = assert_transitioned(
        clinic,
        request,
        to=S.REJECTED,
        by="doctor",
        event_type=events.APPOINTMENT_REJECTED,
        action="appointment.rejected",
        reason="not my specialty",
    )
    assert stored.rejection_reason == "not my specialty"


async def test_the_patient_accepts_the_doctors_proposal(clinic: Clinic) -> None:
    proposal = await proposed(clinic)
    assert proposal.status is S.PROPOSED

    result = await clinic.accept(
        TransitionCommand(clinic.actor("patient"), proposal.id, expected_version=1)
    )

    assert result.status is S.APPROVED
    assert_transitioned(
        clinic,
        proposal,
        to=S.APPROVED,
        by="patient",
        event_type=events.APPOINTMENT_APPROVED,
        action="appointment.accepted",
    )
    assert [e.type for e in clinic.events_of(proposal.id)] == [
        events.APPOINTMENT_PROPOSED,
        events.APPOINTMENT_APPROVED,
    ]


async def test_the_patient_declines_the_doctors_proposal(clinic: Clinic) -> None:
    proposal = await proposed(clinic)

    await clinic.decline(TransitionCommand(clinic.actor("patient"), proposal.id))

    stored = assert_transitioned(
        clinic,
        proposal,
        to=S.REJECTED,
        by="patient",
        event_type=events.APPOINTMENT_REJECTED,
        action="appointment.declined",
    )
    assert stored.rejection_reason is None


@pytest.mark.parametrize("use_case", ["accept", "decline", "approve", "reject"])
async def test_the_doctor_cannot_answer_their_own_proposal(clinic: Clinic, use_case: str) -> None:
    proposal = await proposed(clinic)
    before = clinic.snapshot()

    with pytest.raises(IllegalTransition):
        await getattr(clinic, use_case)(
            TransitionCommand(clinic.actor("doctor"), proposal.id, reason="why not")
        )

    assert clinic.snapshot() == before


async def test_the_doctor_withdraws_a_proposal_the_patient_cannot_cancel(clinic: Clinic) -> None:
    proposal = await proposed(clinic)
    before = clinic.snapshot()

    with pytest.raises(IllegalTransition, match="a patient declines a proposal"):
        await clinic.cancel(TransitionCommand(clinic.actor("patient"), proposal.id, reason="no"))
    assert clinic.snapshot() == before

    await clinic.cancel(TransitionCommand(clinic.actor("doctor"), proposal.id, reason="on leave"))
    assert clinic.stored(proposal.id).status is S.CANCELLED
    assert clinic.stored(proposal.id).cancelled_by is Role.DOCTOR


async def test_a_rejection_without_a_reason_is_invalid_and_changes_nothing(
    clinic: Clinic,
) -> None:
    request = await pending(clinic)
    before = clinic.snapshot()

    with pytest.raises(InvalidInput):
        await clinic.reject(TransitionCommand(clinic.actor("doctor"), request.id, reason="  "))

    assert clinic.snapshot() == before


async def test_the_patient_cancels_their_request(clinic: Clinic) -> None:
    request = await pending(clinic)

    await clinic.cancel(
        TransitionCommand(clinic.actor("patient"), request.id, reason="feeling better")
    )

    stored = assert_transitioned(
        clinic,
        request,
        to=S.CANCELLED,
        by="patient",
        event_type=events.APPOINTMENT_CANCELLED,
        action="appointment.cancelled",
        reason="feeling better",
    )
    assert stored.cancelled_by is Role.PATIENT
    assert stored.cancelled_by_id == clinic.people.patient.id
    assert stored.cancellation_reason == "feeling better"


async def test_the_patient_may_not_cancel_an_approved_visit_inside_the_cutoff(
    clinic: Clinic,
) -> None:
    visit = await approved(clinic)
    clinic.clock.set(START - timedelta(hours=23))
    before = clinic.snapshot()

    with pytest.raises(IllegalTransition):
        await clinic.cancel(TransitionCommand(clinic.actor("patient"), visit.id, reason="busy"))

    assert clinic.snapshot() == before


async def test_the_doctor_checks_the_patient_in_around_the_start(clinic: Clinic) -> None:
    visit = await approved(clinic)
    clinic.clock.set(START - timedelta(minutes=10))

    await clinic.check_in(TransitionCommand(clinic.actor("doctor"), visit.id))

    assert_transitioned(
        clinic,
        visit,
        to=S.CHECKED_IN,
        by="doctor",
        event_type=events.APPOINTMENT_CHECKED_IN,
        action="appointment.checked_in",
    )


async def test_check_in_is_refused_outside_its_window(clinic: Clinic) -> None:
    visit = await approved(clinic)
    clinic.clock.set(START - timedelta(hours=2))
    before = clinic.snapshot()

    with pytest.raises(IllegalTransition):
        await clinic.check_in(TransitionCommand(clinic.actor("doctor"), visit.id))

    assert clinic.snapshot() == before


async def test_the_doctor_completes_a_checked_in_visit_with_notes(clinic: Clinic) -> None:
    visit = await approved(clinic)
    clinic.clock.set(START - timedelta(minutes=5))
    checked_in = await clinic.check_in(TransitionCommand(clinic.actor("doctor"), visit.id))
    clinic.clock.set(START + timedelta(minutes=25))

    await clinic.complete(
        TransitionCommand(clinic.actor("doctor"), visit.id, notes="  rest and fluids  ")
    )

    stored = assert_transitioned(
        clinic,
        checked_in,
        to=S.COMPLETED,
        by="doctor",
        event_type=events.APPOINTMENT_COMPLETED,
        action="appointment.completed",
    )
    assert stored.doctor_notes == "rest and fluids"
    assert [h.to_status for h in stored.history] == [S.APPROVED, S.CHECKED_IN, S.COMPLETED]


async def test_the_doctor_marks_a_no_show_after_the_grace_period(clinic: Clinic) -> None:
    visit = await approved(clinic)
    clinic.clock.set(START + clinic.policy.no_show_grace + timedelta(minutes=1))

    await clinic.no_show(TransitionCommand(clinic.actor("doctor"), visit.id))

    assert_transitioned(
        clinic,
        visit,
        to=S.NO_SHOW,
        by="doctor",
        event_type=events.APPOINTMENT_NO_SHOW,
        action="appointment.no_show",
    )


async def test_an_admin_marks_a_record_entered_in_error(clinic: Clinic) -> None:
    visit = await approved(clinic)

    await clinic.enter_in_error(
        TransitionCommand(clinic.actor("admin"), visit.id, reason="duplicate record")
    )

    assert_transitioned(
        clinic,
        visit,
        to=S.ENTERED_IN_ERROR,
        by="admin",
        event_type=events.APPOINTMENT_ENTERED_IN_ERROR,
        action="appointment.entered_in_error",
        reason="duplicate record",
    )


async def test_an_illegal_transition_is_an_error_not_a_no_op(clinic: Clinic) -> None:
    visit = await approved(clinic)
    before = clinic.snapshot()

    with pytest.raises(IllegalTransition):
        await clinic.approve(TransitionCommand(clinic.actor("doctor"), visit.id))

    assert clinic.snapshot() == before


# ------------------------------------------------------------------ approve re-checks overlaps


async def test_approve_re_checks_overlaps_in_its_transaction(clinic: Clinic) -> None:
    request = await pending(clinic)
    # A row that reached the store behind the use cases' back (another process, an
    # import): an approved visit of the same doctor overlapping the request.
    intruder = Appointment(
        id=uuid7(),
        patient_id=clinic.people.other_patient.id,
        doctor_id=clinic.people.doctor.id,
        slot=TimeSlot(START + timedelta(minutes=15), START + timedelta(minutes=45)),
        status=S.APPROVED,
        created_at=clinic.clock.now(),
        updated_at=clinic.clock.now(),
    )
    clinic.store.appointments[intruder.id] = intruder
    before = clinic.snapshot()

    with pytest.raises(SlotConflict) as conflict:
        await clinic.approve(TransitionCommand(clinic.actor("doctor"), request.id))

    assert conflict.value.conflicting_ids == (intruder.id,)
    assert clinic.snapshot() == before
    assert clinic.stored(request.id).status is S.PENDING


# ------------------------------------------------------------------ refusals, table-driven


@dataclass(frozen=True)
class Transition:
    """One transition use case, the state it starts from and who legitimately does it."""

    use_case: str
    start: Callable[[Clinic], Awaitable[Appointment]]
    by: str
    reason: str | None = None
    at: datetime | None = None  # where the clock must be for the guard to pass

    def command(
        self,
        clinic: Clinic,
        appointment: Appointment,
        *,
        by: str | None = None,
        expected_version: int | None = None,
    ) -> TransitionCommand:
        return TransitionCommand(
            clinic.actor(by or self.by),
            appointment.id,
            expected_version=expected_version,
            reason=self.reason,
        )

    async def run(self, clinic: Clinic, command: TransitionCommand) -> Appointment:
        use_case = getattr(clinic, self.use_case)
        result: Appointment = await use_case(command)
        return result


TRANSITIONS = [
    Transition("approve", pending, "doctor"),
    Transition("reject", pending, "doctor", reason="fully booked"),
    Transition("accept", proposed, "patient"),
    Transition("decline", proposed, "patient", reason="away that week"),
    Transition("cancel", pending, "patient", reason="feeling better"),
    Transition("check_in", approved, "doctor", at=START - timedelta(minutes=10)),
    Transition("complete", approved, "doctor", at=START + timedelta(minutes=20)),
    Transition("no_show", approved, "doctor", at=START + timedelta(minutes=20)),
    Transition("enter_in_error", approved, "admin", reason="duplicate"),
]


@pytest.fixture(params=TRANSITIONS, ids=lambda t: t.use_case)
def transition(request: pytest.FixtureRequest) -> Transition:
    t: Transition = request.param
    return t


async def _arrange(clinic: Clinic, transition: Transition) -> Appointment:
    appointment = await transition.start(clinic)
    if transition.at is not None:
        clinic.clock.set(transition.at)
    return appointment


async def test_each_transition_succeeds_with_the_current_version(
    clinic: Clinic, transition: Transition
) -> None:
    appointment = await _arrange(clinic, transition)

    result = await transition.run(
        clinic,
        transition.command(clinic, appointment, expected_version=appointment.version),
    )

    assert result.version == appointment.version + 1
    assert clinic.stored(appointment.id).version == appointment.version + 1
    assert len(clinic.events_of(appointment.id)) == 2
    assert len(clinic.audit_of(appointment.id)) == 2


async def test_each_transition_refuses_a_stale_version_and_changes_nothing(
    clinic: Clinic, transition: Transition
) -> None:
    appointment = await _arrange(clinic, transition)
    before = clinic.snapshot()

    # The command's version is the request's If-Match: a failed precondition (412).
    with pytest.raises(PreconditionFailed) as stale:
        await transition.run(
            clinic,
            transition.command(clinic, appointment, expected_version=appointment.version + 1),
        )

    assert (stale.value.expected, stale.value.actual) == (appointment.version + 1, 1)
    assert clinic.snapshot() == before


@pytest.mark.parametrize("outsider", ["other_patient", "other_doctor"])
async def test_each_transition_refuses_someone_who_cannot_see_the_appointment(
    clinic: Clinic, transition: Transition, outsider: str
) -> None:
    appointment = await _arrange(clinic, transition)
    before = clinic.snapshot()

    with pytest.raises(NotFound):  # as an unknown id: nothing tells the id exists
        await transition.run(clinic, transition.command(clinic, appointment, by=outsider))

    assert clinic.snapshot() == before


async def test_each_transition_reports_an_unknown_appointment(
    clinic: Clinic, transition: Transition
) -> None:
    with pytest.raises(NotFound):
        await transition.run(
            clinic, TransitionCommand(clinic.actor(transition.by), uuid7(), reason="x")
        )


async def test_the_second_of_two_commands_based_on_one_version_is_stale(
    clinic: Clinic,
) -> None:
    request = await pending(clinic)

    await clinic.approve(TransitionCommand(clinic.actor("doctor"), request.id, expected_version=1))
    with pytest.raises(StaleVersion):
        await clinic.cancel(
            TransitionCommand(
                clinic.actor("patient"), request.id, expected_version=1, reason="changed my mind"
            )
        )

    assert clinic.stored(request.id).status is S.APPROVED
    assert clinic.stored(request.id).version == 2


async def test_approve_and_cancel_racing_on_one_version_have_one_winner(clinic: Clinic) -> None:
    request = await pending(clinic)
    factory = InterleavingUnitOfWorkFactory(clinic.uow_factory, "appointments.get")
    approve = ApproveAppointment(factory, clinic.clock, clinic.policy)
    cancel = CancelAppointment(factory, clinic.clock, clinic.policy)

    results = await asyncio.gather(
        approve(TransitionCommand(clinic.actor("doctor"), request.id, expected_version=1)),
        cancel(
            TransitionCommand(clinic.actor("patient"), request.id, expected_version=1, reason="x")
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, Appointment)]
    assert len(winners) == 1
    assert [type(r) for r in results if not isinstance(r, Appointment)] == [StaleVersion]
    stored = clinic.stored(request.id)
    assert stored.status is winners[0].status
    assert stored.version == 2
    assert len(clinic.events_of(request.id)) == 2
    assert len(clinic.audit_of(request.id)) == 2
