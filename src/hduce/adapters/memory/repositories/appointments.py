"""Appointments: the overlap rules of the exclusion constraints, optimistic locking."""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, paginate
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import AppointmentQuery, ListedAppointment, Page
from hduce.domain.appointments import UNANSWERED, Appointment, AppointmentStatus
from hduce.domain.errors import AlreadyExists, NotFound, SlotConflict, StaleVersion
from hduce.domain.privacy import establishes_care
from hduce.domain.scheduling import TimeSlot, find_conflicts


def _copy_appointment(appointment: Appointment) -> Appointment:
    """A deep copy without the pending events (those belong to the caller's object)."""
    pending, appointment.pending_events = appointment.pending_events, []
    try:
        return copy.deepcopy(appointment)
    finally:
        appointment.pending_events = pending


def _by_start(appointment: Appointment) -> tuple[datetime, UUID]:
    return appointment.slot.start, appointment.id


class InMemoryAppointmentRepository(Repository):
    def __init__(self, tables: StoreTables, track: Callable[[Appointment], None]) -> None:
        self._appointments = tables.appointments
        self._users = tables.users
        self._doctors = tables.doctors
        self._track = track
        #: Version each updated row must still have in the store at commit time.
        self._expected_committed: dict[UUID, int] = {}

    def _out(self, rows: Iterable[Appointment]) -> builtins.list[Appointment]:
        """Copies for the caller, tracked so the unit of work collects their events."""
        result = []
        for row in rows:
            appointment = _copy_appointment(row)
            self._track(appointment)
            result.append(appointment)
        return result

    def _check_overlap(self, appointment: Appointment) -> None:
        """What the exclusion constraints do: no two occupying rows overlap per doctor/patient."""
        if not appointment.is_occupying:
            return
        conflicts = find_conflicts(
            appointment.slot,
            doctor_id=appointment.doctor_id,
            patient_id=appointment.patient_id,
            existing=self._appointments.values(),
            ignore=(appointment.id,),
            blocked=appointment.blocked,
        )
        if conflicts:
            raise SlotConflict.among(conflicts)

    async def add(self, appointment: Appointment) -> None:
        if appointment.id in self._appointments:
            raise AlreadyExists(f"appointment {appointment.id} already exists")
        if appointment.patient_id not in self._users:
            raise NotFound("patient", appointment.patient_id)
        if appointment.doctor_id not in self._doctors:
            raise NotFound("doctor", appointment.doctor_id)
        self._check_overlap(appointment)
        self._appointments.put(appointment.id, _copy_appointment(appointment), insert=True)
        self._track(appointment)

    async def get(self, appointment_id: UUID, *, for_update: bool = False) -> Appointment | None:
        # ``for_update`` needs no lock here: a serialized unit of work already excludes
        # every other writer, and commit re-checks versions for the others.
        row = self._appointments.get(appointment_id)
        if row is None:
            return None
        return self._out([row])[0]

    async def save(self, appointment: Appointment, *, expected_version: int) -> None:
        current = self._appointments.get(appointment.id)
        if current is None:
            raise NotFound("appointment", appointment.id)
        if current.version != expected_version:
            raise StaleVersion("appointment", appointment.id, expected_version, current.version)
        self._check_overlap(appointment)
        if (
            appointment.id not in self._appointments.inserted
            and appointment.id not in self._expected_committed
        ):
            self._expected_committed[appointment.id] = expected_version
        self._appointments.put(appointment.id, _copy_appointment(appointment))
        self._track(appointment)

    async def occupying_overlapping(
        self,
        slot: TimeSlot,
        *,
        doctor_id: UUID,
        patient_id: UUID,
        blocked: TimeSlot | None = None,
    ) -> Sequence[Appointment]:
        doctor_range = blocked if blocked is not None else slot
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if a.is_occupying
                and (
                    (a.doctor_id == doctor_id and a.blocked.overlaps(doctor_range))
                    or (a.patient_id == patient_id and a.slot.overlaps(slot))
                )
            ),
            key=_by_start,
        )
        return self._out(found)

    async def busy_slots(self, doctor_id: UUID, window: TimeSlot) -> Sequence[TimeSlot]:
        return sorted(
            a.blocked
            for a in self._appointments.values()
            if a.doctor_id == doctor_id and a.is_occupying and a.blocked.overlaps(window)
        )

    async def list(self, query: AppointmentQuery) -> Page[Appointment]:
        page = self._page(query)
        return Page(self._out(page.items), page.total, page.limit, page.offset)

    async def list_listed(self, query: AppointmentQuery) -> Page[ListedAppointment]:
        page = self._page(query)
        return Page(
            [ListedAppointment.of(a) for a in page.items], page.total, page.limit, page.offset
        )

    def _page(self, query: AppointmentQuery) -> Page[Appointment]:
        """The stored appointments of the page (not copies: read them only)."""
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if (query.patient_id is None or a.patient_id == query.patient_id)
                and (query.doctor_id is None or a.doctor_id == query.doctor_id)
                and (query.statuses is None or a.status in query.statuses)
                and (query.starts_from is None or a.slot.start >= query.starts_from)
                and (query.starts_before is None or a.slot.start < query.starts_before)
                and (query.institution_id is None or a.institution_id == query.institution_id)
            ),
            key=_by_start,
        )
        return paginate(found, query.page)

    async def approved_starting_between(
        self, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if a.status is AppointmentStatus.APPROVED and start <= a.slot.start < end
            ),
            key=_by_start,
        )
        return self._out(found)

    async def overdue(self, now: datetime, *, approved_before: datetime) -> Sequence[Appointment]:
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if (a.status in UNANSWERED and a.slot.start < now)
                or (a.status is AppointmentStatus.APPROVED and a.slot.start < approved_before)
            ),
            key=_by_start,
        )
        return self._out(found)

    async def get_by_check_in_code(self, code: str) -> Appointment | None:
        for appointment in self._appointments.values():
            if appointment.check_in_code == code:
                return self._out([appointment])[0]
        return None

    async def has_care_relationship(self, doctor_id: UUID, patient_id: UUID) -> bool:
        return any(
            a.doctor_id == doctor_id
            and a.patient_id == patient_id
            and establishes_care(a.status, a.history)
            for a in self._appointments.values()
        )

    def validate_commit(self) -> None:
        for appointment_id in self._appointments.inserts_taken():
            raise AlreadyExists(f"appointment {appointment_id} already exists")
        committed = self._appointments.base
        for appointment_id, expected in self._expected_committed.items():
            row = committed.get(appointment_id)
            actual = row.version if row is not None else None
            if actual != expected:
                raise StaleVersion("appointment", appointment_id, expected, actual)
        for _, appointment in self._appointments.written():
            self._check_overlap(appointment)

    def reset(self) -> None:
        self._expected_committed.clear()
