"""Recurring series: preview, book (all-or-nothing or what fits), cancel occurrences.

Every occurrence goes through ``Appointment.book``, exactly as a single booking
(working hours, time off, notice, horizon, overlaps with the doctor's and the
patient's appointments and with the series' own earlier occurrences), so a series
obeys every rule a single booking does. Booking runs in one serialized unit of work:

* ``all_or_nothing``: one occurrence that does not fit, or one that the storage
  refuses (a concurrent booking took the slot: PostgreSQL's exclusion constraint),
  rolls the whole transaction back: nothing of the series is written.
* ``book_what_fits``: the occurrences that fit are written, the others reported.
  A storage refusal of one occurrence does not abort the transaction (the
  appointment repository's insert reports an overlap without failing it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.application.access import ensure_can_book
from hduce.application.appointments._shared import AppointmentUseCase, audit_status, visit_slot
from hduce.application.ports import UnitOfWork
from hduce.application.use_case import load
from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.appointments import Appointment
from hduce.domain.errors import (
    BusinessRuleViolation,
    InvalidInput,
    NotFound,
    SlotConflict,
)
from hduce.domain.events import DomainEvent, SeriesBooked
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.privacy import is_party
from hduce.domain.scheduling import DoctorAvailability, TimeSlot, ensure_utc
from hduce.domain.series import (
    Occurrence,
    RecurrenceRule,
    RecurringSeries,
    SeriesMember,
    expand,
    to_utc,
)


class SeriesMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    BOOK_WHAT_FITS = "book_what_fits"


class CancelScope(StrEnum):
    THIS = "this"
    THIS_AND_FOLLOWING = "this_and_following"


@dataclass(frozen=True, slots=True)
class SeriesCommand:
    actor: Actor
    doctor_id: UUID
    starts_at: datetime  # the first occurrence; its wall time in the doctor's zone repeats
    rrule: str
    patient_id: UUID | None = None  # defaults to the acting patient
    ends_at: datetime | None = None  # defaults to the doctor's visit length
    reason: str = ""
    mode: SeriesMode = SeriesMode.ALL_OR_NOTHING


@dataclass(frozen=True, slots=True)
class OccurrenceOutcome:
    index: int
    slot: TimeSlot
    local_start: datetime
    fits: bool
    #: Why it does not fit: the refused rule's code (``outside-working-hours``,
    #: ``slot-conflict``, ``minimum-notice``...) and its message.
    problem: str | None = None
    detail: str | None = None
    appointment: Appointment | None = None


@dataclass(frozen=True, slots=True)
class SeriesOutcome:
    rule: str
    timezone: str
    occurrences: list[OccurrenceOutcome]
    series: RecurringSeries | None = None  # None for a preview or when nothing was booked

    @property
    def fitting(self) -> int:
        return sum(o.fits for o in self.occurrences)


class SeriesDoesNotFit(BusinessRuleViolation):
    """The series (all-or-nothing) or every occurrence (what fits) cannot be booked:
    nothing was written. Carries the per-occurrence answer (HTTP 409)."""

    code = "series-does-not-fit"

    def __init__(self, outcome: SeriesOutcome, message: str) -> None:
        super().__init__(message)
        self.code = "series-does-not-fit"
        self.outcome = outcome


def _patient_of(command: SeriesCommand) -> UUID:
    if command.patient_id is not None:
        return command.patient_id
    actor = command.actor
    if actor.role is not Role.PATIENT or actor.user_id is None:
        raise InvalidInput("patient_id is required", field="patient_id")
    return actor.user_id


class _SeriesUseCase(AppointmentUseCase):
    async def _plan(
        self, uow: UnitOfWork, command: SeriesCommand, patient_id: UUID
    ) -> tuple[RecurrenceRule, str, list[OccurrenceOutcome]]:
        """Each occurrence judged as a single booking would be (nothing written)."""
        rule = RecurrenceRule.parse(command.rrule)
        patient = await uow.users.get(patient_id)
        if patient is None or patient.role is not Role.PATIENT or not patient.is_active:
            raise NotFound("patient", patient_id)
        first = await visit_slot(uow, command.doctor_id, command.starts_at, command.ends_at)
        doctor = await load(uow.doctors.get, command.doctor_id, "doctor")
        zone = ZoneInfo(doctor.timezone)
        wall = first.start.astimezone(zone).replace(tzinfo=None)
        occurrences = expand(rule, wall, doctor.timezone, first.duration)
        window = TimeSlot(occurrences[0].slot.start, occurrences[-1].slot.end)
        availability = await uow.availability.get(command.doctor_id, window)
        existing: list[Appointment] = list(
            await uow.appointments.occupying_overlapping(
                window, doctor_id=command.doctor_id, patient_id=patient_id
            )
        )
        now = self._clock.now()
        outcomes = []
        for occurrence in occurrences:
            outcome = self._judge(command, patient_id, occurrence, now, availability, existing)
            if outcome.appointment is not None:
                existing.append(outcome.appointment)
            outcomes.append(outcome)
        return rule, doctor.timezone, outcomes

    def _judge(
        self,
        command: SeriesCommand,
        patient_id: UUID,
        occurrence: Occurrence,
        now: datetime,
        availability: DoctorAvailability,
        existing: Sequence[Appointment],
    ) -> OccurrenceOutcome:
        base = OccurrenceOutcome(occurrence.index, occurrence.slot, occurrence.local_start, False)
        try:
            appointment = Appointment.book(
                actor=command.actor,
                patient_id=patient_id,
                doctor_id=command.doctor_id,
                slot=occurrence.slot,
                reason=command.reason,
                now=now,
                policy=self._policy,
                availability=availability,
                existing=existing,
            )
        except SlotConflict:
            # Who holds the slot is not told here (it may be another patient's visit).
            return replace(base, problem="slot-conflict", detail="the slot is taken")
        except BusinessRuleViolation as refused:
            return replace(base, problem=refused.code, detail=str(refused))
        return replace(base, fits=True, appointment=appointment)


class PreviewSeries(_SeriesUseCase):
    """What of the series would be booked now, occurrence by occurrence (writes nothing)."""

    async def __call__(self, command: SeriesCommand) -> SeriesOutcome:
        patient_id = _patient_of(command)
        ensure_can_book(command.actor, patient_id, command.doctor_id)
        async with self._uow_factory() as uow:
            rule, timezone, outcomes = await self._plan(uow, command, patient_id)
        # A preview names no appointment: none exists.
        return SeriesOutcome(str(rule), timezone, [replace(o, appointment=None) for o in outcomes])


#: Called inside the series' transaction, with what it booked, just before it commits
#: (``BookSeriesOnce`` stores the response there).
SeriesBeforeCommit = Callable[[UnitOfWork, SeriesOutcome], Awaitable[None]]


class BookSeries(_SeriesUseCase):
    async def __call__(
        self, command: SeriesCommand, *, before_commit: SeriesBeforeCommit | None = None
    ) -> SeriesOutcome:
        patient_id = _patient_of(command)
        ensure_can_book(command.actor, patient_id, command.doctor_id)
        async with self.change(command.actor, serialized=True) as (uow, audit):
            rule, timezone, outcomes = await self._plan(uow, command, patient_id)
            planned = SeriesOutcome(str(rule), timezone, outcomes)
            all_or_nothing = command.mode is SeriesMode.ALL_OR_NOTHING
            if all_or_nothing and planned.fitting < len(outcomes):
                raise SeriesDoesNotFit(
                    _without_appointments(planned),
                    f"{len(outcomes) - planned.fitting} of {len(outcomes)} occurrences cannot "
                    "be booked; nothing was booked (book_what_fits books the others)",
                )
            stored: list[OccurrenceOutcome] = []
            series_id = uuid7()
            for outcome in outcomes:
                if outcome.appointment is None:
                    stored.append(outcome)
                    continue
                outcome.appointment.mark_occurrence_of(series_id)
                try:
                    await uow.appointments.add(outcome.appointment)
                except SlotConflict:
                    if all_or_nothing:
                        raise  # rolls back every occurrence written so far
                    self._metrics.booking("conflict")
                    stored.append(
                        replace(
                            outcome,
                            fits=False,
                            appointment=None,
                            problem="slot-conflict",
                            detail="the slot was taken meanwhile",
                        )
                    )
                    continue
                stored.append(outcome)
            result = SeriesOutcome(str(rule), timezone, stored)
            if result.fitting == 0:
                raise SeriesDoesNotFit(result, "no occurrence of the series can be booked")
            now = self._clock.now()
            series = RecurringSeries(
                id=series_id,
                patient_id=patient_id,
                doctor_id=command.doctor_id,
                rule=str(rule),
                first_local_start=stored[0].local_start,
                timezone=timezone,
                length=stored[0].slot.duration,
                created_by=command.actor.user_id,
                created_at=now,
            )
            members = [
                SeriesMember(series.id, o.index, o.appointment.id)
                for o in stored
                if o.appointment is not None
            ]
            await uow.series.add(series, members)
            booked = [o.appointment for o in stored if o.appointment is not None]
            for appointment in booked:
                await audit_status(audit, appointment, "appointment.booked", now)
            # One summary for the patient, instead of a message per occurrence.
            uow.emit(
                DomainEvent(
                    occurred_at=now,
                    aggregate_id=series.id,
                    aggregate_version=1,
                    payload=SeriesBooked(
                        series_id=series.id,
                        patient_id=patient_id,
                        doctor_id=command.doctor_id,
                        booked=len(booked),
                        total=len(stored),
                        status=booked[0].status,
                        first_starts_at=booked[0].starts_at,
                        last_starts_at=booked[-1].starts_at,
                        actor_role=command.actor.role,
                        actor_id=command.actor.user_id,
                    ),
                )
            )
            await audit(
                "appointment.series_booked",
                "appointment_series",
                series.id,
                at=now,
                rule=series.rule,
                mode=command.mode.value,
                booked=len(members),
                refused=len(stored) - len(members),
            )
            if before_commit is not None:
                await before_commit(uow, replace(result, series=series))
        for _ in members:
            self._metrics.booking("created")
        return replace(result, series=series)


def _without_appointments(outcome: SeriesOutcome) -> SeriesOutcome:
    return replace(outcome, occurrences=[replace(o, appointment=None) for o in outcome.occurrences])


# ------------------------------------------------------------------ reading and cancelling


@dataclass(frozen=True, slots=True)
class SeriesView:
    series: RecurringSeries
    members: list[tuple[SeriesMember, Appointment]] = field(default_factory=list)


async def _load_series(uow: UnitOfWork, actor: Actor, series_id: UUID) -> RecurringSeries:
    series = await uow.series.get(series_id)
    # A stranger's series is missing to them, as an unknown id (no probing).
    if series is None or not is_party(
        actor, patient_id=series.patient_id, doctor_id=series.doctor_id
    ):
        raise NotFound("series", series_id)
    return series


async def _members(
    uow: UnitOfWork, series: RecurringSeries, *, for_update: bool = False
) -> list[tuple[SeriesMember, Appointment]]:
    found = []
    for member in await uow.series.members(series.id):
        appointment = await uow.appointments.get(member.appointment_id, for_update=for_update)
        if appointment is not None:
            found.append((member, appointment))
    return found


class GetSeries(_SeriesUseCase):
    async def __call__(self, actor: Actor, series_id: UUID) -> SeriesView:
        async with self._uow_factory() as uow:
            series = await _load_series(uow, actor, series_id)
            return SeriesView(series, await _members(uow, series))


class SeriesOfAppointments(_SeriesUseCase):
    """Which of these appointments belong to a series the actor may see (the console
    links each occurrence to its series): appointment id -> series id."""

    async def __call__(self, actor: Actor, appointment_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        found: dict[UUID, UUID] = {}
        async with self._uow_factory() as uow:
            for appointment_id in appointment_ids:
                member = await uow.series.member_of(appointment_id)
                if member is None:
                    continue
                series = await uow.series.get(member.series_id)
                if series is not None and is_party(
                    actor, patient_id=series.patient_id, doctor_id=series.doctor_id
                ):
                    found[appointment_id] = series.id
        return found


_OPEN = {AppointmentStatus.PENDING, AppointmentStatus.PROPOSED, AppointmentStatus.APPROVED}


class CancelSeriesOccurrences(_SeriesUseCase):
    """Cancel one occurrence, or it and every later one (those still open: pending,
    proposed or approved; a patient declines a proposal rather than cancelling it).
    One transaction: if the rules refuse one of them (e.g. a patient inside the
    cancellation cut-off), none is cancelled."""

    async def __call__(
        self,
        actor: Actor,
        series_id: UUID,
        appointment_id: UUID,
        scope: CancelScope,
        reason: str | None,
    ) -> SeriesView:
        async with self.change(actor) as (uow, audit):
            series = await _load_series(uow, actor, series_id)
            members = await _members(uow, series, for_update=True)
            chosen = next((m for m, _ in members if m.appointment_id == appointment_id), None)
            if chosen is None:
                raise NotFound("occurrence", appointment_id)
            now = self._clock.now()
            cancelled = 0
            for member, appointment in members:
                if member.index < chosen.index or (
                    scope is CancelScope.THIS and member.index != chosen.index
                ):
                    continue
                if appointment.status not in _OPEN:
                    if member.index == chosen.index and scope is CancelScope.THIS:
                        appointment.cancel(  # raises the state machine's own refusal
                            actor=actor, now=now, reason=reason, policy=self._policy
                        )
                    continue
                version = appointment.version
                if actor.role is Role.PATIENT and appointment.status is AppointmentStatus.PROPOSED:
                    appointment.decline(actor=actor, now=now, reason=reason)
                    action = "appointment.declined"
                else:
                    appointment.cancel(actor=actor, now=now, reason=reason, policy=self._policy)
                    action = "appointment.cancelled"
                await uow.appointments.save(appointment, expected_version=version)
                await audit_status(audit, appointment, action, now)
                cancelled += 1
            await audit(
                "appointment.series_cancelled",
                "appointment_series",
                series.id,
                at=now,
                scope=scope.value,
                from_occurrence=chosen.index,
                cancelled=cancelled,
            )
            view = SeriesView(series, members)
        return view


__all__ = [
    "BookSeries",
    "CancelScope",
    "CancelSeriesOccurrences",
    "GetSeries",
    "OccurrenceOutcome",
    "PreviewSeries",
    "RescheduleSeriesOccurrences",
    "SeriesCommand",
    "SeriesDoesNotFit",
    "SeriesMode",
    "SeriesOutcome",
    "SeriesView",
]


class RescheduleSeriesOccurrences(_SeriesUseCase):
    """Move one occurrence, or it and every later open one, by the same wall-clock
    shift (the chosen one to ``starts_at``; the others keep their distance to it on the
    doctor's clock, across DST). Each move is an ordinary reschedule (the old visit
    cancelled "rescheduled", a replacement booked); the series then links the
    replacements. One transaction: if one move is refused, nothing moves."""

    async def __call__(
        self,
        actor: Actor,
        series_id: UUID,
        appointment_id: UUID,
        starts_at: datetime,
        scope: CancelScope,
        reason: str | None = None,
    ) -> SeriesView:
        target = ensure_utc(starts_at, "starts_at")
        async with self.change(actor, serialized=True) as (uow, audit):
            series = await _load_series(uow, actor, series_id)
            members = await _members(uow, series, for_update=True)
            chosen = next((m for m, _ in members if m.appointment_id == appointment_id), None)
            if chosen is None:
                raise NotFound("occurrence", appointment_id)
            moving = [
                (member, appointment)
                for member, appointment in members
                if member.index == chosen.index
                or (
                    scope is CancelScope.THIS_AND_FOLLOWING
                    and member.index > chosen.index
                    and appointment.status in _OPEN
                )
            ]
            zone = ZoneInfo(series.timezone)
            chosen_old = next(a for m, a in moving if m.index == chosen.index)
            shift = _wall(target, zone) - _wall(chosen_old.slot.start, zone)
            new_slots = [
                TimeSlot.of(to_utc(_wall(a.slot.start, zone) + shift, zone), a.slot.duration)
                for _, a in moving
            ]
            window = TimeSlot(min(s.start for s in new_slots), max(s.end for s in new_slots))
            availability = await uow.availability.get(series.doctor_id, window)
            moving_ids = {a.id for _, a in moving}
            # The visits being moved do not count: they all leave their slots.
            existing: list[Appointment] = [
                a
                for a in await uow.appointments.occupying_overlapping(
                    window, doctor_id=series.doctor_id, patient_id=series.patient_id
                )
                if a.id not in moving_ids
            ]
            now = self._clock.now()
            versions = {a.id: a.version for _, a in moving}
            replacements: list[tuple[SeriesMember, Appointment, Appointment]] = []
            for (member, old), slot in zip(moving, new_slots, strict=True):
                replacement = old.reschedule(
                    actor=actor,
                    new_slot=slot,
                    now=now,
                    policy=self._policy,
                    availability=availability,
                    existing=existing,
                    reason=reason,
                )
                existing.append(replacement)
                replacements.append((member, old, replacement))
            # Free every old slot first, so the storage's overlap check never sees an
            # old occurrence and a replacement at once.
            for _, old, _ in replacements:
                await uow.appointments.save(old, expected_version=versions[old.id])
                await audit_status(audit, old, "appointment.rescheduled_from", now)
            for member, _, replacement in replacements:
                await uow.appointments.add(replacement)
                await uow.series.relink(SeriesMember(series.id, member.index, replacement.id))
                await audit_status(audit, replacement, "appointment.rescheduled_to", now)
            await audit(
                "appointment.series_rescheduled",
                "appointment_series",
                series.id,
                at=now,
                scope=scope.value,
                from_occurrence=chosen.index,
                moved=len(replacements),
            )
            view = SeriesView(series, await _members(uow, series))
        return view


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)
