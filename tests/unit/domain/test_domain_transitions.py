"""Every row of the state machine table (docs/architecture.md): who may, who may not.

An allowed actor moves the appointment, appends one history line and records exactly
one event; every other actor gets IllegalTransition naming from/to/actor and the
appointment is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from hduce.domain import events
from hduce.domain.appointments import Appointment, StatusChange
from hduce.domain.errors import IllegalTransition
from hduce.domain.identity import Actor, Role
from tests.unit.domain.builders import (
    ACTOR_NAMES,
    CAST,
    NOW,
    POLICY,
    SLOT,
    START,
    S,
    appointment_in,
    book,
    snapshot,
    uid,
)

Command = Callable[[Appointment, Actor, datetime], None]


def approve(a: Appointment, actor: Actor, now: datetime) -> None:
    a.approve(actor=actor, now=now, existing=[])


def reject(a: Appointment, actor: Actor, now: datetime) -> None:
    a.reject(actor=actor, now=now, reason="  no slots left  ")


def accept(a: Appointment, actor: Actor, now: datetime) -> None:
    a.accept(actor=actor, now=now)


def decline(a: Appointment, actor: Actor, now: datetime) -> None:
    a.decline(actor=actor, now=now, reason="  not that day  ")


def cancel(a: Appointment, actor: Actor, now: datetime) -> None:
    a.cancel(actor=actor, now=now, reason="  cannot come  ", policy=POLICY)


def check_in(a: Appointment, actor: Actor, now: datetime) -> None:
    a.check_in(actor=actor, now=now, policy=POLICY)


def complete(a: Appointment, actor: Actor, now: datetime) -> None:
    a.complete(actor=actor, now=now)


def no_show(a: Appointment, actor: Actor, now: datetime) -> None:
    a.mark_no_show(actor=actor, now=now, policy=POLICY)


def enter_in_error(a: Appointment, actor: Actor, now: datetime) -> None:
    a.enter_in_error(actor=actor, now=now, reason="  wrong patient  ")


@dataclass(frozen=True)
class Row:
    from_status: S
    to_status: S
    command: Command
    now: datetime  # a moment at which the row's time guard passes
    allowed: tuple[str, ...]
    event_type: str
    reason: str | None  # the stripped reason the history line must carry

    @property
    def refused(self) -> tuple[str, ...]:
        return tuple(name for name in ACTOR_NAMES if name not in self.allowed)

    def __str__(self) -> str:
        return f"{self.from_status}->{self.to_status}"


ROWS = [
    Row(
        S.PENDING, S.APPROVED, approve, NOW, ("doctor", "admin"), events.APPOINTMENT_APPROVED, None
    ),
    Row(
        S.PENDING,
        S.REJECTED,
        reject,
        NOW,
        ("doctor", "admin"),
        events.APPOINTMENT_REJECTED,
        "no slots left",
    ),
    # At the start time, so that the system (request not answered before start) may too.
    Row(
        S.PENDING,
        S.CANCELLED,
        cancel,
        START,
        ("patient", "doctor", "admin", "system"),
        events.APPOINTMENT_CANCELLED,
        "cannot come",
    ),
    # A doctor's proposal: the patient (or an admin for them) accepts or declines it;
    # the doctor (or an admin) withdraws it; the system cancels it unanswered at start.
    Row(
        S.PROPOSED,
        S.APPROVED,
        accept,
        NOW,
        ("patient", "admin"),
        events.APPOINTMENT_APPROVED,
        None,
    ),
    Row(
        S.PROPOSED,
        S.REJECTED,
        decline,
        NOW,
        ("patient", "admin"),
        events.APPOINTMENT_REJECTED,
        "not that day",
    ),
    Row(
        S.PROPOSED,
        S.CANCELLED,
        cancel,
        START,
        ("doctor", "admin", "system"),
        events.APPOINTMENT_CANCELLED,
        "cannot come",
    ),
    Row(
        S.APPROVED,
        S.CANCELLED,
        cancel,
        NOW,  # 50 h before start: outside the patient's 24 h cutoff
        ("patient", "doctor", "admin"),
        events.APPOINTMENT_CANCELLED,
        "cannot come",
    ),
    Row(
        S.APPROVED,
        S.CHECKED_IN,
        check_in,
        START - timedelta(minutes=10),
        # The system: for a check-in device that read the appointment's code (ADR 0013).
        ("doctor", "admin", "system"),
        events.APPOINTMENT_CHECKED_IN,
        None,
    ),
    Row(
        S.APPROVED,
        S.COMPLETED,
        complete,
        START + timedelta(minutes=20),
        ("doctor",),
        events.APPOINTMENT_COMPLETED,
        None,
    ),
    Row(
        S.CHECKED_IN,
        S.COMPLETED,
        complete,
        START + timedelta(minutes=20),
        ("doctor",),
        events.APPOINTMENT_COMPLETED,
        None,
    ),
    Row(
        S.APPROVED,
        S.NO_SHOW,
        no_show,
        START + POLICY.no_show_grace + timedelta(minutes=1),
        ("doctor", "admin", "system"),
        events.APPOINTMENT_NO_SHOW,
        None,
    ),
    *(
        Row(
            status,
            S.ENTERED_IN_ERROR,
            enter_in_error,
            NOW,
            ("admin",),
            events.APPOINTMENT_ENTERED_IN_ERROR,
            "wrong patient",
        )
        for status in (S.PENDING, S.PROPOSED, S.APPROVED, S.CHECKED_IN)
    ),
]

ALLOWED = [pytest.param(row, name, id=f"{row}-{name}") for row in ROWS for name in row.allowed]
REFUSED = [pytest.param(row, name, id=f"{row}-{name}") for row in ROWS for name in row.refused]


def test_every_row_refuses_someone_and_allows_someone() -> None:
    assert all(row.allowed and row.refused for row in ROWS)
    assert {(row.from_status, row.to_status) for row in ROWS} == {
        (S.PENDING, S.APPROVED),
        (S.PENDING, S.REJECTED),
        (S.PENDING, S.CANCELLED),
        (S.PROPOSED, S.APPROVED),
        (S.PROPOSED, S.REJECTED),
        (S.PROPOSED, S.CANCELLED),
        (S.APPROVED, S.CANCELLED),
        (S.APPROVED, S.CHECKED_IN),
        (S.APPROVED, S.COMPLETED),
        (S.CHECKED_IN, S.COMPLETED),
        (S.APPROVED, S.NO_SHOW),
        (S.PENDING, S.ENTERED_IN_ERROR),
        (S.PROPOSED, S.ENTERED_IN_ERROR),
        (S.APPROVED, S.ENTERED_IN_ERROR),
        (S.CHECKED_IN, S.ENTERED_IN_ERROR),
    }


def transition(event_type: str) -> type[events.AppointmentTransition]:
    """The payload class of a state-machine event."""
    payload_class = events.CATALOGUE[event_type]
    assert issubclass(payload_class, events.AppointmentTransition)
    return payload_class


@pytest.mark.parametrize(("row", "actor_name"), ALLOWED)
def test_allowed_actor_moves_the_appointment(row: Row, actor_name: str) -> None:
    appointment = appointment_in(row.from_status)
    actor = CAST[actor_name]
    history_before = list(appointment.history)
    version_before = appointment.version

    row.command(appointment, actor, row.now)

    assert appointment.status is row.to_status
    assert appointment.version == version_before + 1 == len(appointment.history)
    assert appointment.updated_at == row.now
    assert appointment.history[:-1] == history_before
    assert appointment.history[-1] == StatusChange(
        from_status=row.from_status,
        to_status=row.to_status,
        at=row.now,
        actor_role=actor.role,
        actor_id=actor.user_id,
        reason=row.reason,
    )
    [event] = appointment.collect_events()
    assert event.type == row.event_type
    assert event.aggregate_id == appointment.id
    assert event.aggregate_version == appointment.version
    assert event.occurred_at == row.now
    assert event.id.version == 7
    assert event.correlation_id is None
    assert CAST.patient.user_id and CAST.doctor.user_id
    assert event.payload == transition(row.event_type)(
        appointment_id=appointment.id,
        patient_id=CAST.patient.user_id,
        doctor_id=CAST.doctor.user_id,
        starts_at=SLOT.start,
        ends_at=SLOT.end,
        from_status=row.from_status,
        status=row.to_status,
        actor_role=actor.role,
        actor_id=actor.user_id,
        reason=row.reason,
        replaces=None,
    )


@pytest.mark.parametrize(("row", "actor_name"), REFUSED)
def test_refused_actor_changes_nothing(row: Row, actor_name: str) -> None:
    appointment = appointment_in(row.from_status)
    actor = CAST[actor_name]
    before = snapshot(appointment)

    with pytest.raises(IllegalTransition) as refused:
        row.command(appointment, actor, row.now)

    assert refused.value.from_status == row.from_status
    assert refused.value.to_status == row.to_status
    assert refused.value.actor == str(actor)
    assert str(actor) in refused.value.message
    assert snapshot(appointment) == before
    assert appointment.collect_events() == []


def test_cancellation_records_who_cancelled_and_why() -> None:
    appointment = appointment_in(S.APPROVED)
    appointment.cancel(actor=CAST.doctor, now=NOW, reason=" sick ", policy=POLICY)
    assert appointment.cancelled_by is Role.DOCTOR
    assert appointment.cancelled_by_id == CAST.doctor.user_id
    assert appointment.cancellation_reason == "sick"


def test_rejection_keeps_the_reason() -> None:
    appointment = appointment_in(S.PENDING)
    appointment.reject(actor=CAST.admin, now=NOW, reason=" no referral ")
    assert appointment.rejection_reason == "no referral"


def test_completion_keeps_the_doctors_notes() -> None:
    appointment = appointment_in(S.CHECKED_IN)
    appointment.complete(actor=CAST.doctor, now=START + timedelta(minutes=5), notes=" all fine ")
    assert appointment.doctor_notes == "all fine"


# ------------------------------------------------------------------ creation rows


@pytest.mark.parametrize(
    ("actor_name", "approve", "status", "event_type"),
    [
        pytest.param("patient", None, S.PENDING, events.APPOINTMENT_REQUESTED, id="patient"),
        pytest.param("admin", None, S.PENDING, events.APPOINTMENT_REQUESTED, id="admin-pending"),
        # A doctor's booking is a proposal the patient answers.
        pytest.param("doctor", None, S.PROPOSED, events.APPOINTMENT_PROPOSED, id="doctor"),
        pytest.param("admin", True, S.APPROVED, events.APPOINTMENT_APPROVED, id="admin-approved"),
    ],
)
def test_booking_by_allowed_actor(
    actor_name: str, approve: bool | None, status: S, event_type: str
) -> None:
    actor = CAST[actor_name]

    appointment = book(by=actor_name, approve=approve, reason="  knee pain ")

    assert appointment.status is status
    assert appointment.version == 1
    assert appointment.created_at == appointment.updated_at == NOW
    assert appointment.reason == "knee pain"
    assert appointment.replaces is None
    assert appointment.history == [StatusChange(None, status, NOW, actor.role, actor.user_id)]
    [event] = appointment.collect_events()
    assert event.type == event_type
    assert (event.aggregate_id, event.aggregate_version, event.occurred_at) == (
        appointment.id,
        1,
        NOW,
    )
    assert CAST.patient.user_id and CAST.doctor.user_id
    assert event.payload == transition(event_type)(
        appointment_id=appointment.id,
        patient_id=CAST.patient.user_id,
        doctor_id=CAST.doctor.user_id,
        starts_at=SLOT.start,
        ends_at=SLOT.end,
        from_status=None,
        status=status,
        actor_role=actor.role,
        actor_id=actor.user_id,
        reason=None,
        replaces=None,
    )


@pytest.mark.parametrize(
    ("actor_name", "approve", "to_status"),
    [
        pytest.param("other_patient", None, S.PENDING, id="patient-for-someone-else"),
        pytest.param("patient", True, S.APPROVED, id="patient-self-approving"),
        pytest.param("other_doctor", None, S.PROPOSED, id="doctor-on-another-calendar"),
        pytest.param("doctor", False, S.PENDING, id="doctor-asking-for-pending"),
        # Approving for the patient would put them in the doctor's care unasked.
        pytest.param("doctor", True, S.APPROVED, id="doctor-asking-for-approved"),
        pytest.param("system", None, S.PENDING, id="system"),
    ],
)
def test_booking_by_refused_actor(actor_name: str, approve: bool | None, to_status: S) -> None:
    actor = CAST[actor_name]
    with pytest.raises(IllegalTransition) as refused:
        book(by=actor_name, approve=approve)
    assert refused.value.from_status == "new"
    assert refused.value.to_status == to_status
    assert refused.value.actor == str(actor)


# ------------------------------------------------------------------ wrong "from" status


COMMANDS: dict[str, tuple[Command, S, str]] = {
    # command -> (the function, its target status, an actor the table allows somewhere)
    "approve": (approve, S.APPROVED, "doctor"),
    "reject": (reject, S.REJECTED, "doctor"),
    "accept": (accept, S.APPROVED, "patient"),
    "decline": (decline, S.REJECTED, "patient"),
    "cancel": (cancel, S.CANCELLED, "admin"),
    "check_in": (check_in, S.CHECKED_IN, "doctor"),
    "complete": (complete, S.COMPLETED, "doctor"),
    "no_show": (no_show, S.NO_SHOW, "admin"),
    "enter_in_error": (enter_in_error, S.ENTERED_IN_ERROR, "admin"),
}
ALLOWED_PAIRS = {(row.from_status, row.to_status) for row in ROWS}
WRONG_FROM = [
    pytest.param(status, name, id=f"{status}-{name}")
    for status in S
    for name, (_, to_status, _) in COMMANDS.items()
    if (status, to_status) not in ALLOWED_PAIRS
]


@pytest.mark.parametrize(("status", "command_name"), WRONG_FROM)
def test_a_transition_missing_from_the_table_is_refused(status: S, command_name: str) -> None:
    command, to_status, actor_name = COMMANDS[command_name]
    appointment = appointment_in(status)
    before = snapshot(appointment)
    # A moment at which every time guard would pass (after start + grace, inside check-in).
    now = START + timedelta(minutes=20)

    with pytest.raises(IllegalTransition) as refused:
        command(appointment, CAST[actor_name], now)

    assert (refused.value.from_status, refused.value.to_status) == (status, to_status)
    assert snapshot(appointment) == before


def test_terminal_statuses_are_exactly_the_non_occupying_ones() -> None:
    assert {s for s in S if s.is_terminal} == {
        S.REJECTED,
        S.CANCELLED,
        S.COMPLETED,
        S.NO_SHOW,
        S.ENTERED_IN_ERROR,
    }
    assert {s for s in S if s.is_occupying} == {S.PENDING, S.PROPOSED, S.APPROVED, S.CHECKED_IN}


def test_refusal_from_another_doctor_uses_the_right_ids() -> None:
    # Guard against "same role" being mistaken for "same person".
    appointment = book(by="patient", doctor_id=uid(12))  # booked with other_doctor
    with pytest.raises(IllegalTransition):
        appointment.approve(actor=CAST.doctor, now=NOW, existing=[])
    appointment.approve(actor=CAST.other_doctor, now=NOW, existing=[])
    assert appointment.status is S.APPROVED


# ------------------------------------------------------------------ proposals


@pytest.mark.parametrize("command", [approve, reject, accept, decline])
def test_the_doctor_cannot_answer_their_own_proposal(command: Command) -> None:
    appointment = appointment_in(S.PROPOSED)
    before = snapshot(appointment)

    with pytest.raises(IllegalTransition):
        command(appointment, CAST.doctor, NOW)

    assert snapshot(appointment) == before


@pytest.mark.parametrize("command", [accept, decline])
def test_a_request_is_answered_by_the_doctor_not_accepted_by_the_patient(
    command: Command,
) -> None:
    appointment = appointment_in(S.PENDING)
    before = snapshot(appointment)

    with pytest.raises(IllegalTransition):
        command(appointment, CAST.patient, NOW)

    assert snapshot(appointment) == before


def test_a_proposal_is_accepted_only_before_the_visit_starts() -> None:
    appointment = appointment_in(S.PROPOSED)
    before = snapshot(appointment)
    with pytest.raises(IllegalTransition, match="the visit has started"):
        appointment.accept(actor=CAST.patient, now=START)
    assert snapshot(appointment) == before
    appointment.accept(actor=CAST.patient, now=START - timedelta(seconds=1))
    assert appointment.status is S.APPROVED


def test_a_proposal_is_declined_with_or_without_a_reason() -> None:
    silent, explained = appointment_in(S.PROPOSED), appointment_in(S.PROPOSED)
    silent.decline(actor=CAST.patient, now=NOW)
    explained.decline(actor=CAST.admin, now=NOW, reason="  the patient phoned  ")
    assert (silent.status, silent.rejection_reason) == (S.REJECTED, None)
    assert explained.rejection_reason == "the patient phoned"
    assert explained.history[-1].reason == "the patient phoned"
