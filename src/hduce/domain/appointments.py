"""The appointment aggregate and its state machine (the table in docs/architecture.md).

Every command checks who acts and the guard, then appends one history entry and
records exactly one event. A refused command raises and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from uuid import UUID

from hduce.domain import events

# Re-exported: most code names the statuses through the aggregate's module.
from hduce.domain.appointment_status import OCCUPYING_STATUSES as OCCUPYING_STATUSES
from hduce.domain.appointment_status import TERMINAL_STATUSES as TERMINAL_STATUSES
from hduce.domain.appointment_status import UNANSWERED as UNANSWERED
from hduce.domain.appointment_status import AppointmentStatus as AppointmentStatus
from hduce.domain.appointment_status import StatusChange as StatusChange
from hduce.domain.booking_guards import check_bookable as check_bookable
from hduce.domain.booking_guards import hours, minutes
from hduce.domain.check_in_codes import new_check_in_code
from hduce.domain.errors import IllegalTransition, InvalidInput, SlotConflict
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import (
    DoctorAvailability,
    Occupancy,
    SchedulingPolicy,
    TimeSlot,
    ensure_utc,
    find_conflicts,
)
from hduce.domain.text import plain_text
from hduce.domain.visit_types import NO_BUFFERS, Buffers

RESCHEDULED_REASON = "rescheduled"

_S = AppointmentStatus

#: The event of a booking, by the status it starts in (a reschedule has its own).
_BOOKED_EVENT: dict[AppointmentStatus, type[events.AppointmentTransition]] = {
    _S.PENDING: events.AppointmentRequested,
    _S.PROPOSED: events.AppointmentProposed,
    _S.APPROVED: events.AppointmentApproved,
}


def _optional_reason(reason: str | None, *, multiline: bool = False) -> str | None:
    # One line unless said otherwise: transition reasons are quoted in emails and SMS.
    text = plain_text(reason or "", "reason", multiline=multiline)
    if len(text) > 2000:
        raise InvalidInput("reason is longer than 2000 characters", field="reason")
    return text or None


def _require_reason(reason: str | None, *, what: str) -> str:
    text = _optional_reason(reason)
    if text is None:
        raise InvalidInput(f"a reason is required to {what}", field="reason")
    return text


@dataclass(slots=True, eq=False)
class Appointment:
    id: UUID
    patient_id: UUID
    doctor_id: UUID
    slot: TimeSlot
    status: AppointmentStatus
    created_at: datetime
    updated_at: datetime
    reason: str = ""
    doctor_notes: str | None = None
    cancelled_by: Role | None = None
    cancelled_by_id: UUID | None = None
    cancellation_reason: str | None = None
    rejection_reason: str | None = None
    replaces: UUID | None = None
    #: Printed on the confirmation (email, .ics): a kiosk checks the patient in with it
    #: (``hduce.domain.check_in_codes``). Every new appointment gets one; rows older than
    #: migration 0012 got one from it.
    check_in_code: str | None = None
    version: int = 1
    #: Copied from the visit type at booking time (a later change of the type does not
    #: move the booking); none and no buffers for a booking without a type.
    visit_type_id: UUID | None = None
    buffers: Buffers = NO_BUFFERS
    #: Where the visit takes place: the institution whose hours cover the slot at
    #: booking (``DoctorAvailability.institution_for``); None for unassigned hours.
    institution_id: UUID | None = None
    history: list[StatusChange] = field(default_factory=list)
    pending_events: list[DomainEvent] = field(default_factory=list, repr=False)

    # ------------------------------------------------------------------ read side

    @property
    def is_occupying(self) -> bool:
        return self.status.is_occupying

    @property
    def starts_at(self) -> datetime:
        return self.slot.start

    @property
    def ends_at(self) -> datetime:
        return self.slot.end

    @property
    def blocked(self) -> TimeSlot:
        """The doctor's time this visit takes: the visit with its buffers."""
        return self.buffers.around(self.slot)

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last collection (the outbox takes them)."""
        collected, self.pending_events = self.pending_events, []
        return collected

    def mark_occurrence_of(self, series_id: UUID) -> None:
        """Booked as an occurrence of a series: its booking event says so (the patient is
        then told by the series' summary rather than once per occurrence)."""
        self.pending_events = [
            replace(event, payload=replace(event.payload, series_id=series_id))
            if isinstance(event.payload, events.BookingPayload)
            else event
            for event in self.pending_events
        ]

    # ------------------------------------------------------------------ creation

    @classmethod
    def book(
        cls,
        *,
        actor: Actor,
        patient_id: UUID,
        doctor_id: UUID,
        slot: TimeSlot,
        reason: str,
        now: datetime,
        policy: SchedulingPolicy,
        availability: DoctorAvailability,
        existing: Iterable[Occupancy],
        approve: bool | None = None,
        appointment_id: UUID | None = None,
        visit_type_id: UUID | None = None,
        buffers: Buffers = NO_BUFFERS,
    ) -> Appointment:
        """Create a booking: PENDING for a patient; PROPOSED for the doctor (an offer
        the patient accepts or declines: a doctor's booking alone never puts the
        patient in their care, ``hduce.domain.privacy``).

        An admin books PENDING unless ``approve`` is True. ``existing`` must hold
        the occupying appointments of that doctor and patient around ``slot``.
        """
        status = cls._initial_status(actor, patient_id, doctor_id, approve)
        return cls._new(
            actor=actor,
            status=status,
            patient_id=patient_id,
            doctor_id=doctor_id,
            slot=slot,
            reason=reason,
            now=now,
            policy=policy,
            availability=availability,
            existing=existing,
            appointment_id=appointment_id,
            visit_type_id=visit_type_id,
            buffers=buffers,
        )

    @classmethod
    def _new(
        cls,
        *,
        actor: Actor,
        status: AppointmentStatus,
        patient_id: UUID,
        doctor_id: UUID,
        slot: TimeSlot,
        reason: str,
        now: datetime,
        policy: SchedulingPolicy,
        availability: DoctorAvailability,
        existing: Iterable[Occupancy],
        appointment_id: UUID | None = None,
        replaces: UUID | None = None,
        visit_type_id: UUID | None = None,
        buffers: Buffers = NO_BUFFERS,
    ) -> Appointment:
        """A new appointment in ``status``, once the booking guards let it through."""
        now = ensure_utc(now, "now")
        check_bookable(
            slot=slot,
            patient_id=patient_id,
            doctor_id=doctor_id,
            now=now,
            policy=policy,
            availability=availability,
            existing=existing,
            ignore=(replaces,) if replaces else (),
            to_status=status,
            actor=actor,
            blocked=buffers.around(slot),
        )
        text = _optional_reason(reason, multiline=True) or ""
        appointment = cls(
            id=appointment_id or uuid7(),
            patient_id=patient_id,
            doctor_id=doctor_id,
            slot=slot,
            status=status,
            created_at=now,
            updated_at=now,
            reason=text,
            replaces=replaces,
            check_in_code=new_check_in_code(),
            version=0,
            visit_type_id=visit_type_id,
            buffers=buffers,
            institution_id=availability.institution_for(slot),
        )
        payload_class: type[events.AppointmentTransition] = (
            events.AppointmentRescheduled if replaces is not None else _BOOKED_EVENT[status]
        )
        appointment._record(None, status, actor, now, None, payload_class)
        return appointment

    @staticmethod
    def _initial_status(
        actor: Actor, patient_id: UUID, doctor_id: UUID, approve: bool | None
    ) -> AppointmentStatus:
        if actor.role is Role.PATIENT:
            if not actor.is_user(patient_id):
                raise IllegalTransition(
                    "new", _S.PENDING, str(actor), "patients book for themselves"
                )
            if approve:
                raise IllegalTransition("new", _S.APPROVED, str(actor), "only the doctor approves")
            return _S.PENDING
        if actor.role is Role.DOCTOR:
            if not actor.is_user(doctor_id):
                raise IllegalTransition(
                    "new", _S.PROPOSED, str(actor), "doctors book only on their own calendar"
                )
            if approve is not None:
                raise IllegalTransition(
                    "new",
                    _S.APPROVED if approve else _S.PENDING,
                    str(actor),
                    "a doctor's booking is a proposal the patient accepts",
                )
            return _S.PROPOSED
        if actor.role is Role.ADMIN:
            return _S.APPROVED if approve else _S.PENDING
        raise IllegalTransition("new", _S.PENDING, str(actor), "the system does not book")

    # ------------------------------------------------------------------ transitions

    def approve(self, *, actor: Actor, now: datetime, existing: Iterable[Occupancy]) -> None:
        """PENDING -> APPROVED by that doctor or an admin; overlaps are checked again."""
        self._expect(_S.APPROVED, actor, {_S.PENDING})
        self._expect_own_or_admin(_S.APPROVED, actor, Role.DOCTOR)
        now = ensure_utc(now, "now")
        if now >= self.slot.start:
            raise IllegalTransition(self.status, _S.APPROVED, str(actor), "the visit has started")
        conflicts = find_conflicts(
            self.slot,
            doctor_id=self.doctor_id,
            patient_id=self.patient_id,
            existing=existing,
            ignore=(self.id,),
            blocked=self.blocked,
        )
        if conflicts:
            raise SlotConflict.among(conflicts)
        self._record(self.status, _S.APPROVED, actor, now, None, events.AppointmentApproved)

    def reject(self, *, actor: Actor, now: datetime, reason: str | None) -> None:
        self._expect(_S.REJECTED, actor, {_S.PENDING})
        self._expect_own_or_admin(_S.REJECTED, actor, Role.DOCTOR)
        now = ensure_utc(now, "now")
        text = _require_reason(reason, what="reject")
        self.rejection_reason = text
        self._record(self.status, _S.REJECTED, actor, now, text, events.AppointmentRejected)

    def accept(self, *, actor: Actor, now: datetime) -> None:
        """PROPOSED -> APPROVED by the patient (or an admin for them), before the start.
        The proposal already holds the slot: there is no overlap to check again."""
        self._expect(_S.APPROVED, actor, {_S.PROPOSED})
        self._expect_own_or_admin(_S.APPROVED, actor, Role.PATIENT)
        now = ensure_utc(now, "now")
        if now >= self.slot.start:
            raise self._refused(_S.APPROVED, actor, "the visit has started")
        self._record(self.status, _S.APPROVED, actor, now, None, events.AppointmentApproved)

    def decline(self, *, actor: Actor, now: datetime, reason: str | None = None) -> None:
        """PROPOSED -> REJECTED by the patient (or an admin for them); a reason is optional."""
        self._expect(_S.REJECTED, actor, {_S.PROPOSED})
        self._expect_own_or_admin(_S.REJECTED, actor, Role.PATIENT)
        now = ensure_utc(now, "now")
        text = _optional_reason(reason)
        self.rejection_reason = text
        self._record(self.status, _S.REJECTED, actor, now, text, events.AppointmentRejected)

    def cancel(
        self,
        *,
        actor: Actor,
        now: datetime,
        reason: str | None,
        policy: SchedulingPolicy,
        rescheduled_to: UUID | None = None,
    ) -> None:
        """A proposal is withdrawn (cancelled) by its doctor or an admin; its patient
        declines it instead."""
        self._expect(_S.CANCELLED, actor, {_S.PENDING, _S.PROPOSED, _S.APPROVED})
        now = ensure_utc(now, "now")
        text = _require_reason(reason, what="cancel")
        if actor.role is Role.PATIENT:
            if not actor.is_user(self.patient_id):
                raise self._refused(_S.CANCELLED, actor, "not this patient's appointment")
            if self.status is _S.PROPOSED:
                raise self._refused(_S.CANCELLED, actor, "a patient declines a proposal")
            if self.status is _S.APPROVED and now > self.slot.start - policy.cancellation_cutoff:
                raise self._refused(
                    _S.CANCELLED,
                    actor,
                    f"patients cancel an approved visit at least "
                    f"{hours(policy.cancellation_cutoff)} before it starts",
                )
        elif actor.role is Role.DOCTOR:
            if not actor.is_user(self.doctor_id):
                raise self._refused(_S.CANCELLED, actor, "not this doctor's appointment")
        elif actor.role is Role.SYSTEM and (self.status not in UNANSWERED or now < self.slot.start):
            raise self._refused(
                _S.CANCELLED,
                actor,
                "the system cancels only requests or proposals unanswered at start",
            )
        self.cancelled_by = actor.role
        self.cancelled_by_id = actor.user_id
        self.cancellation_reason = text
        cancelled = partial(events.AppointmentCancelled, rescheduled_to=rescheduled_to)
        self._record(self.status, _S.CANCELLED, actor, now, text, cancelled)

    def check_in(
        self, *, actor: Actor, now: datetime, policy: SchedulingPolicy, note: str | None = None
    ) -> None:
        """The doctor, an admin, or the system for a check-in device at the door (a
        kiosk that read the appointment's check-in code; ``note`` names it in the
        history)."""
        self._expect(_S.CHECKED_IN, actor, {_S.APPROVED})
        if actor.role is not Role.SYSTEM:
            self._expect_own_or_admin(_S.CHECKED_IN, actor, Role.DOCTOR)
        now = ensure_utc(now, "now")
        window = policy.check_in_window(self.slot)
        if not window.contains_instant(now):
            raise self._refused(
                _S.CHECKED_IN,
                actor,
                f"check-in is open from {window.start.isoformat()} to {window.end.isoformat()}",
            )
        self._record(
            self.status,
            _S.CHECKED_IN,
            actor,
            now,
            _optional_reason(note),
            events.AppointmentCheckedIn,
        )

    def complete(self, *, actor: Actor, now: datetime, notes: str | None = None) -> None:
        self._expect(_S.COMPLETED, actor, {_S.APPROVED, _S.CHECKED_IN})
        if actor.role is not Role.DOCTOR or not actor.is_user(self.doctor_id):
            raise self._refused(_S.COMPLETED, actor, "only the appointment's doctor completes it")
        now = ensure_utc(now, "now")
        if now < self.slot.start:
            raise self._refused(_S.COMPLETED, actor, "the visit has not started yet")
        text = plain_text(notes, "notes", multiline=True) if notes is not None else ""
        if text:
            self.doctor_notes = text
        self._record(self.status, _S.COMPLETED, actor, now, None, events.AppointmentCompleted)

    def mark_no_show(self, *, actor: Actor, now: datetime, policy: SchedulingPolicy) -> None:
        self._expect(_S.NO_SHOW, actor, {_S.APPROVED})
        if actor.role is not Role.SYSTEM:
            self._expect_own_or_admin(_S.NO_SHOW, actor, Role.DOCTOR)
        now = ensure_utc(now, "now")
        if now <= self.slot.start + policy.no_show_grace:
            raise self._refused(
                _S.NO_SHOW,
                actor,
                f"a no-show is marked only {minutes(policy.no_show_grace)} after the start",
            )
        self._record(self.status, _S.NO_SHOW, actor, now, None, events.AppointmentNoShow)

    def enter_in_error(self, *, actor: Actor, now: datetime, reason: str | None) -> None:
        self._expect(_S.ENTERED_IN_ERROR, actor, OCCUPYING_STATUSES)
        if actor.role is not Role.ADMIN:
            raise self._refused(_S.ENTERED_IN_ERROR, actor, "only an admin voids a record")
        text = _require_reason(reason, what="mark as entered in error")
        self._record(
            self.status, _S.ENTERED_IN_ERROR, actor, now, text, events.AppointmentEnteredInError
        )

    def reschedule(
        self,
        *,
        actor: Actor,
        new_slot: TimeSlot,
        now: datetime,
        policy: SchedulingPolicy,
        availability: DoctorAvailability,
        existing: Iterable[Occupancy],
        reason: str | None = None,
    ) -> Appointment:
        """Cancel this one ("rescheduled") and book its replacement; both change or neither.

        A patient's replacement goes back to PENDING (a proposal is declined, not
        moved); the doctor's is APPROVED, or PROPOSED again for a proposal; an admin's
        keeps the current status.
        """
        status = self._replacement_status(actor)
        # Book first: if the new slot is refused, this appointment stays untouched.
        replacement = Appointment._new(
            actor=actor,
            status=status,
            patient_id=self.patient_id,
            doctor_id=self.doctor_id,
            slot=new_slot,
            reason=reason if reason is not None else self.reason,
            now=now,
            policy=policy,
            availability=availability,
            existing=existing,
            replaces=self.id,
            # A moved visit keeps the buffers it was booked with.
            visit_type_id=self.visit_type_id,
            buffers=self.buffers,
        )
        self.cancel(
            actor=actor,
            now=now,
            reason=RESCHEDULED_REASON,
            policy=policy,
            rescheduled_to=replacement.id,
        )
        return replacement

    # ------------------------------------------------------------------ helpers

    def _replacement_status(self, actor: Actor) -> AppointmentStatus:
        if self.status not in {_S.PENDING, _S.PROPOSED, _S.APPROVED}:
            raise self._refused(
                _S.CANCELLED, actor, "only pending, proposed or approved visits move"
            )
        if actor.role is Role.PATIENT:
            if not actor.is_user(self.patient_id):
                raise self._refused(_S.CANCELLED, actor, "not this patient's appointment")
            if self.status is _S.PROPOSED:
                raise self._refused(_S.CANCELLED, actor, "a patient declines a proposal")
            return _S.PENDING
        if actor.role is Role.DOCTOR:
            if not actor.is_user(self.doctor_id):
                raise self._refused(_S.CANCELLED, actor, "not this doctor's appointment")
            return _S.PROPOSED if self.status is _S.PROPOSED else _S.APPROVED
        if actor.role is Role.ADMIN:
            return self.status
        raise self._refused(_S.CANCELLED, actor, "the system does not reschedule")

    def _expect(
        self, to_status: AppointmentStatus, actor: Actor, allowed_from: Iterable[AppointmentStatus]
    ) -> None:
        if self.status not in set(allowed_from):
            raise self._refused(to_status, actor, f"not allowed from {self.status}")

    def _expect_own_or_admin(self, to_status: AppointmentStatus, actor: Actor, role: Role) -> None:
        """An admin, or the appointment's own doctor (``role`` DOCTOR) or patient."""
        own = self.doctor_id if role is Role.DOCTOR else self.patient_id
        if actor.role is Role.ADMIN or (actor.role is role and actor.is_user(own)):
            return
        raise self._refused(to_status, actor, f"only the appointment's {role} or an admin may")

    def _refused(self, to_status: AppointmentStatus, actor: Actor, why: str) -> IllegalTransition:
        return IllegalTransition(self.status, to_status, str(actor), why)

    def _record(
        self,
        from_status: AppointmentStatus | None,
        to_status: AppointmentStatus,
        actor: Actor,
        now: datetime,
        reason: str | None,
        make_payload: Callable[..., events.AppointmentTransition],
    ) -> None:
        """Apply the change and record its event, whose payload ``make_payload`` builds
        (a payload class, or a partial of one carrying its extra fields)."""
        now = ensure_utc(now, "now")
        self.status = to_status
        self.updated_at = now
        self.version += 1
        self.history.append(
            StatusChange(from_status, to_status, now, actor.role, actor.user_id, reason)
        )
        payload = make_payload(
            appointment_id=self.id,
            patient_id=self.patient_id,
            doctor_id=self.doctor_id,
            starts_at=self.slot.start,
            ends_at=self.slot.end,
            from_status=from_status,
            status=to_status,
            actor_role=actor.role,
            actor_id=actor.user_id,
            reason=reason,
            replaces=self.replaces,
        )
        self.pending_events.append(
            DomainEvent(
                occurred_at=now,
                aggregate_id=self.id,
                aggregate_version=self.version,
                payload=payload,
            )
        )
