"""Builders for the use-case tests: a small clinic over the in-memory adapters.

``Clinic`` wires the real use cases to one ``InMemoryStore`` and a ``FixedClock``
and knows the seeded cast (two patients, two doctors in Europe/Madrid with
30-minute visits, an admin). Its helpers read the store directly, which is what
the assertions want: what was *committed*, not what a use case returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.adapters.clock import UuidV7Generator
from hduce.adapters.memory import (
    InMemoryRealtimeFanout,
    InMemoryStore,
    InMemoryUnitOfWork,
    InMemoryUnitOfWorkFactory,
)
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.expiry import ExpireOverdueAppointments
from hduce.application.appointments.queries import GetAppointment, ListAppointments
from hduce.application.appointments.reschedule import RescheduleAppointment
from hduce.application.appointments.transitions import (
    AcceptAppointment,
    ApproveAppointment,
    CancelAppointment,
    CheckInAppointment,
    CompleteAppointment,
    DeclineAppointment,
    EnterInError,
    MarkNoShow,
    RejectAppointment,
)
from hduce.application.availability.free_slots import ListFreeSlots
from hduce.application.availability.hours import SetWorkingHours
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.ports import UnitOfWork, UnitOfWorkFactory
from hduce.domain.appointments import Appointment
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Notification
from hduce.domain.scheduling import LocalInterval, SchedulingPolicy, WeeklyHours
from tests.fakes import FixedClock

MADRID = ZoneInfo("Europe/Madrid")

#: "Now" unless a test moves the clock: Monday 2030-01-07 08:00 UTC (09:00 in Madrid).
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
MONDAY = date(2030, 1, 7)
TUESDAY = date(2030, 1, 8)
WEDNESDAY = date(2030, 1, 9)
THURSDAY = date(2030, 1, 10)
SATURDAY = date(2030, 1, 12)

VISIT = timedelta(minutes=30)
#: 1 h notice, 90 d horizon, 24 h cutoff, check-in -60/+30 min, 15 min no-show grace.
POLICY = SchedulingPolicy()

#: Monday to Friday, 09:00-13:00 and 16:00-18:00 on the doctor's wall clock (Madrid).
OFFICE_HOURS = WeeklyHours(
    {
        weekday: (LocalInterval(time(9), time(13)), LocalInterval(time(16), time(18)))
        for weekday in range(5)
    }
)
#: Every day, around the clock (for tests where only timing rules matter).
ALWAYS_OPEN = WeeklyHours({weekday: (LocalInterval(time(0), time(0)),) for weekday in range(7)})


def local(day: date, hhmm: str, zone: ZoneInfo = MADRID) -> datetime:
    """The UTC instant at which a wall clock in ``zone`` shows ``hhmm`` on ``day``."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Cast:
    patient: User
    other_patient: User
    doctor: User
    other_doctor: User
    admin: User

    def actor(self, name: str) -> Actor:
        user: User = getattr(self, name)
        return user.actor


@dataclass(frozen=True)
class Snapshot:
    """What a refused command must leave exactly as it was."""

    appointments: dict[UUID, tuple[str, int, int]]
    outbox: list[UUID]
    audit: list[UUID]
    notifications: list[UUID]
    commits: int


@dataclass
class Clinic:
    store: InMemoryStore
    clock: FixedClock
    uow_factory: InMemoryUnitOfWorkFactory
    people: Cast
    policy: SchedulingPolicy = POLICY
    realtime: InMemoryRealtimeFanout = field(default_factory=InMemoryRealtimeFanout)

    # ------------------------------------------------------------------ use cases

    def __post_init__(self) -> None:
        f, c, p = self.uow_factory, self.clock, self.policy
        self.book_appointment = BookAppointment(f, c, p)
        self.approve = ApproveAppointment(f, c, p)
        self.reject = RejectAppointment(f, c, p)
        self.accept = AcceptAppointment(f, c, p)
        self.decline = DeclineAppointment(f, c, p)
        self.cancel = CancelAppointment(f, c, p)
        self.check_in = CheckInAppointment(f, c, p)
        self.complete = CompleteAppointment(f, c, p)
        self.no_show = MarkNoShow(f, c, p)
        self.enter_in_error = EnterInError(f, c, p)
        self.reschedule = RescheduleAppointment(f, c, p)
        self.expire_overdue = ExpireOverdueAppointments(f, c, p)
        self.get_appointment = GetAppointment(f)
        self.list_appointments = ListAppointments(f)
        self.free_slots = ListFreeSlots(f, c, p)
        self.set_working_hours = SetWorkingHours(f, c)
        self.handle_notifications = HandleEventNotifications(f, c, UuidV7Generator(), self.realtime)

    def actor(self, name: str) -> Actor:
        return self.people.actor(name)

    # ------------------------------------------------------------------ arranging

    async def book(
        self,
        by: str = "patient",
        *,
        starts_at: datetime,
        doctor: str | None = None,
        patient: str | None = None,
        ends_at: datetime | None = None,
        reason: str = "check-up",
        approve: bool | None = None,
    ) -> Appointment:
        """Book through the real use case. ``doctor`` defaults to the acting doctor, else
        ``doctor``; ``patient`` to the acting patient (left out of the command, as the API
        does), else ``patient``."""
        acting = self.actor(by)
        if doctor is None:
            doctor = by if acting.role is Role.DOCTOR else "doctor"
        if patient is None and acting.role is not Role.PATIENT:
            patient = "patient"
        patient_id = getattr(self.people, patient).id if patient else None
        return await self.book_appointment(
            BookAppointmentCommand(
                actor=acting,
                doctor_id=getattr(self.people, doctor).id,
                patient_id=patient_id,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
                approve=approve,
            )
        )

    async def add_patient(self, name: str, **fields: Any) -> User:
        user = make_user(name, Role.PATIENT, self.clock.now(), **fields)
        async with self.uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    # ------------------------------------------------------------------ reading the store

    def stored(self, appointment_id: UUID) -> Appointment:
        return self.store.appointments[appointment_id]

    def events(self, *types: str) -> list[DomainEvent]:
        return [e for e in self.store.outbox_events() if not types or e.type in types]

    def events_of(self, appointment_id: UUID) -> list[DomainEvent]:
        return [e for e in self.store.outbox_events() if e.aggregate_id == appointment_id]

    def audit_of(self, appointment_id: UUID) -> list[AuditEntry]:
        return [e for e in self.store.audit.values() if e.target_id == str(appointment_id)]

    def notifications(self, **where: Any) -> list[Notification]:
        found = list(self.store.notifications.values())
        return [n for n in found if all(getattr(n, k) == v for k, v in where.items())]

    def snapshot(self) -> Snapshot:
        return Snapshot(
            appointments={
                a.id: (a.status.value, a.version, len(a.history))
                for a in self.store.appointments.values()
            },
            outbox=[e.id for e in self.store.outbox_events()],
            audit=list(self.store.audit),
            notifications=list(self.store.notifications),
            commits=self.store.commits,
        )


def make_user(name: str, role: Role, created_at: datetime, **fields: Any) -> User:
    defaults: dict[str, Any] = {
        "email": f"{name.replace(' ', '.').lower()}@example.org",
        "full_name": name,
        "timezone": "Europe/Madrid",
    }
    defaults.update(fields)
    return User(id=uuid7(), role=role, created_at=created_at, **defaults)


async def seed_clinic(store: InMemoryStore, clock: FixedClock) -> Clinic:
    """Users, two doctors (Europe/Madrid, 30-minute visits) and their office hours."""
    uow_factory = InMemoryUnitOfWorkFactory(store, clock)
    now = clock.now()
    people = Cast(
        patient=make_user("Paula Patient", Role.PATIENT, now, phone="+34600111222"),
        other_patient=make_user("Oscar Other", Role.PATIENT, now),
        doctor=make_user("Dora Doctor", Role.DOCTOR, now),
        other_doctor=make_user("Diego Doctor", Role.DOCTOR, now),
        admin=make_user("Ada Admin", Role.ADMIN, now),
    )
    specialty = Specialty(id=UuidV7Generator().new_id(), name="Family medicine")
    async with uow_factory() as uow:
        for user in (
            people.patient,
            people.other_patient,
            people.doctor,
            people.other_doctor,
            people.admin,
        ):
            await uow.users.add(user)
        await uow.specialties.add(specialty)
        for licence, user in (("MAD-0001", people.doctor), ("MAD-0002", people.other_doctor)):
            await uow.doctors.add(
                Doctor(
                    user_id=user.id,
                    licence_number=licence,
                    specialty_id=specialty.id,
                    timezone="Europe/Madrid",
                    visit_minutes=30,
                )
            )
        await uow.commit()
    clinic = Clinic(store=store, clock=clock, uow_factory=uow_factory, people=people)
    for doctor in (people.doctor, people.other_doctor):
        await clinic.set_working_hours(doctor.actor, doctor.id, OFFICE_HOURS)
    return clinic


class CountingUnitOfWorkFactory:
    """Counts the units of work (transactions) a use case opens."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self._inner = inner
        self.opened = 0

    def __call__(self, *, serialized: bool = False, read_only: bool = False) -> UnitOfWork:
        self.opened += 1
        return self._inner(serialized=serialized, read_only=read_only)


class InterleavingUnitOfWorkFactory:
    """Wraps a factory so each unit of work yields to the event loop right after the
    named repository calls (``"appointments.get"``, ``"processed_events.first_time"``):
    concurrent use cases then really interleave between "check" and "write" instead
    of running one after the other, as they do over the fakes otherwise."""

    def __init__(self, inner: UnitOfWorkFactory, *calls: str) -> None:
        self._inner = inner
        self._calls = [
            call.split(".", 1) for call in calls or ("appointments.occupying_overlapping",)
        ]

    def __call__(self, *, serialized: bool = False, read_only: bool = False) -> InMemoryUnitOfWork:
        uow = self._inner(serialized=serialized, read_only=read_only)
        assert isinstance(uow, InMemoryUnitOfWork)
        for repository_name, method_name in self._calls:
            repository = getattr(uow, repository_name)
            setattr(repository, method_name, _yielding(getattr(repository, method_name)))
        return uow


def _yielding(method: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = await method(*args, **kwargs)
        await asyncio.sleep(0)
        return result

    return wrapper
