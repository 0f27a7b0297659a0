"""The appointment aggregate and its state machine (the table in docs/architecture.md).

Every command checks who acts and the guard, then appends one history entry and
records exactly one event. A refused command raises and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from hduce.domain import events

# Re-exported: most code names the statuses through the aggregate's module.
from hduce.domain.appointment_status import OCCUPYING_STATUSES as OCCUPYING_STATUSES
from hduce.domain.appointment_status import TERMINAL_STATUSES as TERMINAL_STATUSES
from hduce.domain.appointment_status import AppointmentStatus as AppointmentStatus
from hduce.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidInput, SlotConflict
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

RESCHEDULED_REASON = "rescheduled"

_S = AppointmentStatus


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One line of the append-only history. ``from_status`` is None for creation."""

    from_status: AppointmentStatus | None
    to_status: AppointmentStatus
    at: datetime
    actor_role: Role
    actor_id: UUID | None
    reason: str | None = None


def _require_reason(reason: str | None, *, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"a reason is required to {what}", field="reason")
    if len(text) > 2000:
        raise InvalidInput("reason is longer than 2000 characters", field="reason")
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
    version: int = 1
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

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last collection (the outbox takes them)."""
        collected, self.pending_events = self.pending_events, []
        return collected

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
        replaces: UUID | None = None,
    ) -> Appointment:
        """Create a booking: PENDING for a patient, APPROVED for the doctor.

        An admin books PENDING unless ``approve`` is True. ``existing`` must hold
        the occupying appointments of that doctor and patient around ``slot``.
        """
        now = ensure_utc(now, "now")
        status = cls._initial_status(actor, patient_id, doctor_id, approve)
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
        )
        text = reason.strip()
        if len(text) > 2000:
            raise InvalidInput("reason is longer than 2000 characters", field="reason")
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
            version=0,
        )
        payload_class: type[events.AppointmentTransition] = (
            events.AppointmentRescheduled
            if replaces is not None
            else events.AppointmentRequested
            if status is _S.PENDING
            else events.AppointmentApproved
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
                    "new", _S.APPROVED, str(actor), "doctors book only on their own calendar"
                )
            if approve is False:
                raise IllegalTransition(
                    "new", _S.PENDING, str(actor), "a doctor's booking is approved"
                )
            return _S.APPROVED
        if actor.role is Role.ADMIN:
            return _S.APPROVED if approve else _S.PENDING
        raise IllegalTransition("new", _S.PENDING, str(actor), "the system does not book")

    # ------------------------------------------------------------------ transitions

    def approve(self, *, actor: Actor, now: datetime, existing: Iterable[Occupancy]) -> None:
        """PENDING -> APPROVED by that doctor or an admin; overlaps are checked again."""
        self._expect(_S.APPROVED, actor, {_S.PENDING})
        self._expect_doctor_or_admin(_S.APPROVED, actor)
        now = ensure_utc(now, "now")
        if now >= self.slot.start:
            raise IllegalTransition(self.status, _S.APPROVED, str(actor), "the visit has started")
        conflicts = find_conflicts(
            self.slot,
            doctor_id=self.doctor_id,
            patient_id=self.patient_id,
            existing=existing,
            ignore=(self.id,),
        )
        if conflicts:
            raise SlotConflict.among(conflicts)
        self._record(self.status, _S.APPROVED, actor, now, None, events.AppointmentApproved)

    def reject(self, *, actor: Actor, now: datetime, reason: str | None) -> None:
        self._expect(_S.REJECTED, actor, {_S.PENDING})
        self._expect_doctor_or_admin(_S.REJECTED, actor)
        now = ensure_utc(now, "now")
        text = _require_reason(reason, what="reject")
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
        self._expect(_S.CANCELLED, actor, {_S.PENDING, _S.APPROVED})
        now = ensure_utc(now, "now")
        text = _require_reason(reason, what="cancel")
        if actor.role is Role.PATIENT:
            if not actor.is_user(self.patient_id):
                raise self._refused(_S.CANCELLED, actor, "not this patient's appointment")
            if self.status is _S.APPROVED and now > self.slot.start - policy.cancellation_cutoff:
                raise self._refused(
                    _S.CANCELLED,
                    actor,
                    f"patients cancel an approved visit at least "
                    f"{_hours(policy.cancellation_cutoff)} before it starts",
                )
        elif actor.role is Role.DOCTOR:
            if not actor.is_user(self.doctor_id):
                raise self._refused(_S.CANCELLED, actor, "not this doctor's appointment")
        elif actor.role is Role.SYSTEM and (self.status is not _S.PENDING or now < self.slot.start):
            raise self._refused(
                _S.CANCELLED, actor, "the system cancels only requests unanswered at start"
            )
        self.cancelled_by = actor.role
        self.cancelled_by_id = actor.user_id
        self.cancellation_reason = text
        cancelled = partial(events.AppointmentCancelled, rescheduled_to=rescheduled_to)
        self._record(self.status, _S.CANCELLED, actor, now, text, cancelled)

    def check_in(self, *, actor: Actor, now: datetime, policy: SchedulingPolicy) -> None:
        self._expect(_S.CHECKED_IN, actor, {_S.APPROVED})
        self._expect_doctor_or_admin(_S.CHECKED_IN, actor)
        now = ensure_utc(now, "now")
        window = policy.check_in_window(self.slot)
        if not window.contains_instant(now):
            raise self._refused(
                _S.CHECKED_IN,
                actor,
                f"check-in is open from {window.start.isoformat()} to {window.end.isoformat()}",
            )
        self._record(self.status, _S.CHECKED_IN, actor, now, None, events.AppointmentCheckedIn)

    def complete(self, *, actor: Actor, now: datetime, notes: str | None = None) -> None:
        self._expect(_S.COMPLETED, actor, {_S.APPROVED, _S.CHECKED_IN})
        if actor.role is not Role.DOCTOR or not actor.is_user(self.doctor_id):
            raise self._refused(_S.COMPLETED, actor, "only the appointment's doctor completes it")
        now = ensure_utc(now, "now")
        if now < self.slot.start:
            raise self._refused(_S.COMPLETED, actor, "the visit has not started yet")
        if notes is not None and notes.strip():
            self.doctor_notes = notes.strip()
        self._record(self.status, _S.COMPLETED, actor, now, None, events.AppointmentCompleted)

    def mark_no_show(self, *, actor: Actor, now: datetime, policy: SchedulingPolicy) -> None:
        self._expect(_S.NO_SHOW, actor, {_S.APPROVED})
        if actor.role is not Role.SYSTEM:
            self._expect_doctor_or_admin(_S.NO_SHOW, actor)
        now = ensure_utc(now, "now")
        if now <= self.slot.start + policy.no_show_grace:
            raise self._refused(
                _S.NO_SHOW,
                actor,
                f"a no-show is marked only {_minutes(policy.no_show_grace)} after the start",
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

        A patient's replacement goes back to PENDING; the doctor's stays APPROVED; an
        admin's keeps the current status.
        """
        if self.status not in {_S.PENDING, _S.APPROVED}:
            raise self._refused(_S.CANCELLED, actor, "only pending or approved visits move")
        approve: bool | None
        if actor.role is Role.PATIENT:
            approve = False
            if not actor.is_user(self.patient_id):
                raise self._refused(_S.CANCELLED, actor, "not this patient's appointment")
        elif actor.role is Role.DOCTOR:
            approve = True
            if not actor.is_user(self.doctor_id):
                raise self._refused(_S.CANCELLED, actor, "not this doctor's appointment")
        elif actor.role is Role.ADMIN:
            approve = self.status is _S.APPROVED
        else:
            raise self._refused(_S.CANCELLED, actor, "the system does not reschedule")
        # Book first: if the new slot is refused, this appointment stays untouched.
        replacement = Appointment.book(
            actor=actor,
            patient_id=self.patient_id,
            doctor_id=self.doctor_id,
            slot=new_slot,
            reason=reason if reason is not None else self.reason,
            now=now,
            policy=policy,
            availability=availability,
            existing=existing,
            approve=approve,
            replaces=self.id,
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

    def _expect(
        self, to_status: AppointmentStatus, actor: Actor, allowed_from: Iterable[AppointmentStatus]
    ) -> None:
        if self.status not in set(allowed_from):
            raise self._refused(to_status, actor, f"not allowed from {self.status}")

    def _expect_doctor_or_admin(self, to_status: AppointmentStatus, actor: Actor) -> None:
        if actor.role is Role.ADMIN:
            return
        if actor.role is Role.DOCTOR and actor.is_user(self.doctor_id):
            return
        raise self._refused(to_status, actor, "only the appointment's doctor or an admin may")

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


def check_bookable(
    *,
    slot: TimeSlot,
    patient_id: UUID,
    doctor_id: UUID,
    now: datetime,
    policy: SchedulingPolicy,
    availability: DoctorAvailability,
    existing: Iterable[Occupancy],
    ignore: Iterable[UUID] = (),
    to_status: AppointmentStatus = _S.PENDING,
    actor: Actor | None = None,
) -> None:
    """The guards of "new -> PENDING/APPROVED": time rules, working hours, conflicts."""
    who = str(actor) if actor else "booking"
    if patient_id == doctor_id:
        raise BusinessRuleViolation("a doctor cannot book a visit with themselves", "self-booking")
    if slot.start < now:
        raise IllegalTransition("new", to_status, who, "the slot is in the past")
    if slot.start < now + policy.minimum_notice:
        raise BusinessRuleViolation(
            f"bookings need {_minutes(policy.minimum_notice)} notice", "minimum-notice"
        )
    if slot.start > now + policy.booking_horizon:
        raise BusinessRuleViolation(
            f"bookings open {policy.booking_horizon.days} days ahead at most", "booking-horizon"
        )
    if slot.duration > policy.max_visit_length:
        raise BusinessRuleViolation("the visit is too long", "visit-too-long")
    if not availability.covers(slot):
        raise BusinessRuleViolation(
            "the slot is outside the doctor's working hours", "outside-working-hours"
        )
    conflicts = find_conflicts(
        slot, doctor_id=doctor_id, patient_id=patient_id, existing=existing, ignore=ignore
    )
    if conflicts:
        raise SlotConflict.among(conflicts)


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} minutes"


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} hours"
