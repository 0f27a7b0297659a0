"""Property: random actors, commands and clock jumps never break the state machine.

- once terminal, always terminal (and the same terminal status);
- a refused command (a DomainError) adds no event and changes nothing at all;
- an accepted command adds exactly one event and one history line, and only moves
  along an edge of the state machine table in docs/architecture.md;
- version == len(history), and event versions count 1, 2, 3, ... with no gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hduce.domain import events
from hduce.domain.appointments import Appointment
from hduce.domain.errors import DomainError
from hduce.domain.scheduling import TimeSlot
from tests.unit.domain.builders import (
    ACTOR_NAMES,
    ALWAYS_OPEN,
    CAST,
    NOW,
    POLICY,
    SLOT,
    START,
    VISIT,
    Booked,
    S,
    appointment_in,
    book,
    snapshot,
    uid,
)

#: Every edge the table allows (reschedule cancels the old appointment).
EDGES = {
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
EVENT_FOR = {
    S.APPROVED: events.APPOINTMENT_APPROVED,
    S.REJECTED: events.APPOINTMENT_REJECTED,
    S.CANCELLED: events.APPOINTMENT_CANCELLED,
    S.CHECKED_IN: events.APPOINTMENT_CHECKED_IN,
    S.COMPLETED: events.APPOINTMENT_COMPLETED,
    S.NO_SHOW: events.APPOINTMENT_NO_SHOW,
    S.ENTERED_IN_ERROR: events.APPOINTMENT_ENTERED_IN_ERROR,
}

# A doctor-side overlap, to make approvals and reschedules meet conflicts now and then.
CLASH = Booked(uid(900), uid(11), uid(2), SLOT)


@dataclass(frozen=True)
class Step:
    command: str
    actor: str
    now: datetime
    reason: str | None
    clash: bool
    new_start: datetime

    def apply(self, appointment: Appointment) -> None:
        actor = CAST[self.actor]
        now, reason = self.now, self.reason
        existing = [CLASH] if self.clash else []
        match self.command:
            case "approve":
                appointment.approve(actor=actor, now=now, existing=existing)
            case "reject":
                appointment.reject(actor=actor, now=now, reason=reason)
            case "accept":
                appointment.accept(actor=actor, now=now)
            case "decline":
                appointment.decline(actor=actor, now=now, reason=reason)
            case "cancel":
                appointment.cancel(actor=actor, now=now, reason=reason, policy=POLICY)
            case "check_in":
                appointment.check_in(actor=actor, now=now, policy=POLICY)
            case "complete":
                appointment.complete(actor=actor, now=now, notes=reason)
            case "no_show":
                appointment.mark_no_show(actor=actor, now=now, policy=POLICY)
            case "enter_in_error":
                appointment.enter_in_error(actor=actor, now=now, reason=reason)
            case "reschedule":
                replacement = appointment.reschedule(
                    actor=actor,
                    new_slot=TimeSlot.of(self.new_start, VISIT),
                    now=now,
                    policy=POLICY,
                    availability=ALWAYS_OPEN,
                    existing=[*existing, appointment],
                )
                _check_replacement(replacement, appointment)
            case _:  # pragma: no cover - the strategy only draws the names above
                raise AssertionError(self.command)


def _check_replacement(replacement: Appointment, old: Appointment) -> None:
    assert replacement.replaces == old.id
    assert replacement.status in {S.PENDING, S.PROPOSED, S.APPROVED}
    assert replacement.version == len(replacement.history) == 1
    [event] = replacement.pending_events
    assert event.type == events.APPOINTMENT_RESCHEDULED


# Clock positions relative to the visit: the edges of every time guard, plus anything.
_EDGES_AROUND_START = [
    -POLICY.booking_horizon,
    -timedelta(hours=49),
    -POLICY.cancellation_cutoff - timedelta(minutes=1),
    -POLICY.cancellation_cutoff,
    -POLICY.cancellation_cutoff + timedelta(minutes=1),
    -POLICY.check_in_opens_before - timedelta(minutes=1),
    -POLICY.check_in_opens_before,
    -timedelta(minutes=1),
    timedelta(0),
    timedelta(minutes=1),
    POLICY.no_show_grace,
    POLICY.no_show_grace + timedelta(minutes=1),
    POLICY.check_in_closes_after,
    timedelta(hours=3),
]
clock = st.one_of(
    st.sampled_from(_EDGES_AROUND_START),
    st.integers(-3 * 24 * 60, 6 * 60).map(lambda m: timedelta(minutes=m)),
).map(lambda offset: START + offset)

steps = st.builds(
    Step,
    command=st.sampled_from(
        [
            "approve",
            "reject",
            "accept",
            "decline",
            "cancel",
            "check_in",
            "complete",
            "no_show",
            "enter_in_error",
            "reschedule",
        ]
    ),
    # Every actor, the doctor and the admin more often: they may do the most.
    actor=st.sampled_from([*ACTOR_NAMES, "doctor", "doctor", "admin", "patient"]),
    now=clock,
    # Mostly a usable reason, so that the other guards get their turn.
    reason=st.sampled_from([None, "", "  ", "a reason", "another reason", " padded "]),
    clash=st.booleans(),
    new_start=st.integers(-200, 200).map(lambda k: START + k * timedelta(minutes=30)),
)


def _fresh(by: str, approve: bool | None) -> Appointment:
    appointment = book(by=by, approve=approve, now=NOW)
    assert appointment.version == len(appointment.history) == 1
    return appointment


#: Where a sequence starts: a fresh booking (its creation event still pending) or an
#: appointment already brought to any status (its events already collected).
starts = st.one_of(
    st.sampled_from([("patient", None), ("doctor", None), ("admin", None), ("admin", True)]).map(
        lambda creator: _fresh(*creator)
    ),
    st.sampled_from(list(S)).map(appointment_in),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(appointment=starts, plan=st.lists(steps, min_size=4, max_size=25))
def test_random_command_sequences_keep_the_invariants(
    appointment: Appointment, plan: list[Step]
) -> None:
    first_pending_version = appointment.version - len(appointment.pending_events) + 1

    for step in plan:
        before = snapshot(appointment)
        old_status = appointment.status
        try:
            step.apply(appointment)
        except DomainError:
            assert snapshot(appointment) == before, f"refused {step} changed the appointment"
            continue
        finally:
            assert appointment.version == len(appointment.history)
            assert [e.aggregate_version for e in appointment.pending_events] == list(
                range(first_pending_version, appointment.version + 1)
            )

        # Accepted: one edge of the table, one history line, one event of the right type.
        assert not old_status.is_terminal, f"{step} left terminal status {old_status}"
        new_status = appointment.status
        assert (old_status, new_status) in EDGES
        event(f"accepted {old_status}->{new_status} by {CAST[step.actor].role}")
        assert len(appointment.history) == len(before["history"]) + 1
        assert len(appointment.pending_events) == len(before["pending_events"]) + 1
        line = appointment.history[-1]
        assert (line.from_status, line.to_status, line.at) == (old_status, new_status, step.now)
        assert (line.actor_role, line.actor_id) == (CAST[step.actor].role, CAST[step.actor].user_id)
        recorded = appointment.pending_events[-1]
        assert recorded.type == EVENT_FOR[new_status]
        assert recorded.aggregate_id == appointment.id
        assert isinstance(recorded.payload, events.AppointmentTransition)
        assert (recorded.payload.from_status, recorded.payload.status) == (old_status, new_status)
