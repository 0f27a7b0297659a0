"""``hduce seed-demo``: a small clinic so a new user has something to look at.

Specialties, doctors with office hours, patients, and appointments in several
statuses — all made through the same use cases as real traffic, so the demo
data obeys every rule (no overlaps, working hours, history, events).
Idempotent: a database that already has the demo admin is left alone.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand, TransitionCommand
from hduce.application.appointments.transitions import (
    ApproveAppointment,
    CancelAppointment,
    RejectAppointment,
)
from hduce.application.availability.hours import SetWorkingHours
from hduce.application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.errors import DomainError
from hduce.domain.identity import PatientProfile, Role, Sex, User
from hduce.domain.scheduling import LocalInterval, SchedulingPolicy, WeeklyHours

DEMO_ADMIN_EMAIL = "admin@demo.hduce.local"

_SPECIALTIES = (
    ("Family medicine", "General practice for all ages."),
    ("Cardiology", "Heart and blood vessels."),
    ("Dermatology", "Skin, hair and nails."),
)
# name, licence, specialty index, timezone
_DOCTORS = (
    ("Dr. Lucía Romero", "MAD-28-1001", 0, "Europe/Madrid"),
    ("Dr. Hugo Martín", "MAD-28-1002", 1, "Europe/Madrid"),
    ("Dr. Grace Hopper", "NYC-36-2001", 2, "America/New_York"),
)
# name, sex, birth date, phone
_PATIENTS = (
    ("Ana García", Sex.FEMALE, date(1985, 4, 12), "+34600111001"),
    ("Jorge López", Sex.MALE, date(1972, 9, 30), "+34600111002"),
    ("Maya Chen", Sex.FEMALE, date(1999, 1, 5), None),
    ("Sam Taylor", Sex.OTHER, date(2004, 6, 21), None),
)
_OFFICE = WeeklyHours(
    {day: (LocalInterval(time(9), time(13)), LocalInterval(time(15), time(18))) for day in range(5)}
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    created: bool
    accounts: tuple[User, ...] = ()
    appointments: int = 0


class SeedDemo:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        hasher: PasswordHasher,
        policy: SchedulingPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._ids = ids
        self._hasher = hasher
        self._policy = policy

    async def __call__(self, password: str) -> DemoSummary:
        """Seed the demo clinic; every demo account signs in with ``password``."""
        async with self._uow_factory() as uow:
            if await uow.users.get_by_email(DEMO_ADMIN_EMAIL) is not None:
                return DemoSummary(created=False)
        password_hash = await self._hasher.hash(password)
        now = self._clock.now()
        admin = self._user("Demo Admin", DEMO_ADMIN_EMAIL, Role.ADMIN, password_hash, now)
        doctors: list[User] = []
        patients: list[User] = []
        async with self._uow_factory() as uow:
            await uow.users.add(admin)
            specialties = [
                Specialty(self._ids.new_id(), name, description)
                for name, description in _SPECIALTIES
            ]
            for specialty in specialties:
                await uow.specialties.add(specialty)
            for name, licence, specialty_index, zone in _DOCTORS:
                user = self._user(name, _email(name), Role.DOCTOR, password_hash, now, zone)
                await uow.users.add(user)
                await uow.doctors.add(
                    Doctor(
                        user_id=user.id,
                        licence_number=licence,
                        specialty_id=specialties[specialty_index].id,
                        timezone=zone,
                        visit_minutes=30,
                        bio=f"{name} has practised for many years.",
                    )
                )
                doctors.append(user)
            for name, sex, born, phone in _PATIENTS:
                user = self._user(name, _email(name), Role.PATIENT, password_hash, now, phone=phone)
                await uow.users.add(user)
                await uow.patients.save(
                    PatientProfile(user_id=user.id, date_of_birth=born, sex=sex)
                )
                patients.append(user)
            await uow.commit()
        set_hours = SetWorkingHours(self._uow_factory, self._clock)
        for doctor in doctors:
            await set_hours(admin.actor, doctor.id, _OFFICE)
        booked = await self._appointments(doctors, patients)
        return DemoSummary(created=True, accounts=(admin, *doctors, *patients), appointments=booked)

    async def _appointments(self, doctors: list[User], patients: list[User]) -> int:
        book = BookAppointment(self._uow_factory, self._clock, self._policy)
        approve = ApproveAppointment(self._uow_factory, self._clock, self._policy)
        reject = RejectAppointment(self._uow_factory, self._clock, self._policy)
        cancel = CancelAppointment(self._uow_factory, self._clock, self._policy)
        booked = 0
        # (patient, doctor, working days ahead, local hour, what happens next)
        plan = (
            (0, 0, 2, 9, "approve"),
            (1, 0, 2, 10, None),
            (2, 1, 3, 11, "approve"),
            (3, 1, 3, 15, "reject"),
            (0, 2, 4, 9, "cancel"),
            (1, 2, 5, 16, "approve"),
        )
        for patient_index, doctor_index, days_ahead, hour, then in plan:
            patient, doctor = patients[patient_index], doctors[doctor_index]
            starts_at = _working_day_at(self._clock.now(), days_ahead, hour, doctor.timezone)
            try:
                appointment = await book(
                    BookAppointmentCommand(
                        actor=patient.actor,
                        doctor_id=doctor.id,
                        starts_at=starts_at,
                        reason="Demo visit",
                    )
                )
            except DomainError:
                continue  # e.g. a time that fell inside the minimum notice
            booked += 1
            command = TransitionCommand(actor=doctor.actor, appointment_id=appointment.id)
            if then == "approve":
                await approve(command)
            elif then == "reject":
                await reject(_with_reason(command, "Please see a specialist first."))
            elif then == "cancel":
                await cancel(
                    TransitionCommand(
                        actor=patient.actor, appointment_id=appointment.id, reason="Feeling better"
                    )
                )
        return booked

    def _user(
        self,
        name: str,
        email: str,
        role: Role,
        password_hash: str,
        now: datetime,
        timezone: str = "Europe/Madrid",
        phone: str | None = None,
    ) -> User:
        return User(
            id=self._ids.new_id(),
            email=email,
            full_name=name,
            role=role,
            created_at=now,
            phone=phone,
            password_hash=password_hash,
            timezone=timezone,
            # Made by whoever runs the demo, like an admin's accounts: vouched for.
            email_verified_at=now,
        )


def _with_reason(command: TransitionCommand, reason: str) -> TransitionCommand:
    return TransitionCommand(
        actor=command.actor, appointment_id=command.appointment_id, reason=reason
    )


def _email(name: str) -> str:
    local = name.lower().replace("dr. ", "").replace(" ", ".")
    # Transliterate rather than drop accented letters: NFKD splits "í" into "i"
    # and a combining accent, and only the accent goes (García -> garcia).
    unaccented = "".join(
        char for char in unicodedata.normalize("NFKD", local) if not unicodedata.combining(char)
    )
    ascii_local = unaccented.encode("ascii", "ignore").decode() or "user"
    return f"{ascii_local}@demo.hduce.local"


def _working_day_at(now: datetime, days_ahead: int, hour: int, timezone: str) -> datetime:
    """``days_ahead`` working days from now, at ``hour`` o'clock in ``timezone``."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    remaining = days_ahead
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return datetime.combine(day, time(hour), tzinfo=zone)
