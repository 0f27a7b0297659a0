"""A small clinic with known statistics, stored through any ``UnitOfWorkFactory``.

Used by the use-case tests (in memory), the SQL adapter tests (PostgreSQL and SQLite
against the in-memory reference) and the HTTP tests. "Now" is Monday 2030-01-07
08:00 UTC (09:00 in Madrid), so the default window is [2029-12-08 08:00, 2030-02-06
08:00) UTC. The appointments sit on the edges that matter: exactly at the window's
start (in) and end (out), near midnight in Madrid and in Kathmandu (+05:45), and
around Madrid's change to summer time; the patients sit one day either side of
their 18th and 65th birthdays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.appointments import Appointment, AppointmentStatus, StatusChange
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.identity import PatientProfile, Role, Sex, User
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot

S = AppointmentStatus

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
WINDOW_START = NOW - timedelta(days=30)
WINDOW_END = NOW + timedelta(days=30)
VISIT = timedelta(minutes=30)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


#: (patient key, sex or None for "no profile at all", date of birth)
PATIENTS: dict[str, tuple[Sex | None, date | None]] = {
    "p1": (Sex.FEMALE, date(2015, 6, 1)),  # 14
    "p2": (Sex.MALE, date(2012, 1, 7)),  # 18 today
    "p3": (Sex.FEMALE, date(2012, 1, 8)),  # 18 tomorrow: still 17
    "p4": (Sex.OTHER, date(1990, 3, 3)),  # 39
    "p5": (Sex.MALE, date(1965, 1, 7)),  # 65 today
    "p6": (Sex.FEMALE, date(1965, 1, 8)),  # 65 tomorrow: still 64
    "p7": (Sex.UNKNOWN, None),  # a profile without a date of birth
    "p8": (None, None),  # a patient account without a profile (and deactivated)
}

#: (doctor key, full name, specialty key)
DOCTORS = {
    "alice": ("Alice Heart", "cardiology"),
    "bob": ("Bob Beat", "cardiology"),
    "carla": ("Carla Skin", "dermatology"),
}
SPECIALTIES = {
    "cardiology": "Cardiology",
    "dermatology": "Dermatology",
    "paediatrics": "Paediatrics",  # no doctors
}

#: (doctor, patient, start in UTC, status); every visit lasts 30 minutes.
APPOINTMENTS: list[tuple[str, str, datetime, AppointmentStatus]] = [
    ("bob", "p3", utc("2029-12-08T07:30"), S.COMPLETED),  # before the window: out
    ("bob", "p3", utc("2029-12-08T08:00"), S.COMPLETED),  # at its start: in
    ("carla", "p8", utc("2029-12-20T09:00"), S.ENTERED_IN_ERROR),
    ("alice", "p1", utc("2030-01-02T09:00"), S.COMPLETED),
    ("alice", "p2", utc("2030-01-03T09:00"), S.COMPLETED),
    ("bob", "p3", utc("2030-01-03T10:00"), S.COMPLETED),
    ("bob", "p4", utc("2030-01-04T11:00"), S.NO_SHOW),
    ("alice", "p4", utc("2030-01-05T12:00"), S.CHECKED_IN),
    ("carla", "p6", utc("2030-01-07T23:30"), S.APPROVED),  # 8 January in Madrid
    ("alice", "p5", utc("2030-01-08T09:00"), S.PENDING),
    ("carla", "p1", utc("2030-01-10T10:00"), S.CANCELLED),
    ("bob", "p2", utc("2030-01-10T10:00"), S.REJECTED),
    ("alice", "p7", utc("2030-01-15T18:15"), S.PENDING),  # 16 January 00:00 in Kathmandu
    ("alice", "p1", utc("2030-02-06T07:30"), S.APPROVED),  # ends at the window's end: in
    ("alice", "p2", utc("2030-02-06T08:00"), S.PENDING),  # at the window's end: out
    ("carla", "p5", utc("2030-03-30T23:15"), S.COMPLETED),  # 31 March 00:15 in Madrid (CET)
    ("carla", "p6", utc("2030-03-31T00:45"), S.COMPLETED),  # 01:45 CET, just before CEST
    ("carla", "p7", utc("2030-03-31T01:00"), S.NO_SHOW),  # 03:00 CEST
]


@dataclass
class StatsWorld:
    """The dataset's records, built once and storable in any number of stores."""

    admin: User
    specialties: dict[str, Specialty] = field(default_factory=dict)
    doctors: dict[str, User] = field(default_factory=dict)
    doctor_profiles: list[Doctor] = field(default_factory=list)
    patients: dict[str, User] = field(default_factory=dict)
    patient_profiles: list[PatientProfile] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)

    def doctor_id(self, key: str) -> UUID:
        return self.doctors[key].id

    def specialty_id(self, key: str) -> UUID:
        return self.specialties[key].id

    @property
    def users(self) -> list[User]:
        return [self.admin, *self.doctors.values(), *self.patients.values()]


def _user(name: str, role: Role, tag: str, *, is_active: bool = True) -> User:
    email = f"{name.lower().replace(' ', '.')}.{tag}@stats.example.org"
    return User(
        id=uuid7(),
        email=email,
        full_name=name,
        role=role,
        created_at=NOW,
        is_active=is_active,
        email_verified_at=NOW,  # booking may require a proven address
    )


def _appointment(
    world: StatsWorld, row: tuple[str, str, datetime, AppointmentStatus]
) -> Appointment:
    doctor, patient, start, status = row
    return Appointment(
        id=uuid7(),
        patient_id=world.patients[patient].id,
        doctor_id=world.doctors[doctor].id,
        slot=TimeSlot(start, start + VISIT),
        status=status,
        created_at=NOW,
        updated_at=NOW,
        history=[StatusChange(None, status, NOW, Role.ADMIN, world.admin.id)],
    )


def build_stats_world(tag: str = "") -> StatsWorld:
    """The dataset's records (``tag`` keeps emails and licences unique next to other data)."""
    tag = tag or uuid7().hex[-8:]
    world = StatsWorld(admin=_user("Stats Admin", Role.ADMIN, tag))
    world.specialties = {key: Specialty(uuid7(), name) for key, name in SPECIALTIES.items()}
    world.doctors = {key: _user(name, Role.DOCTOR, tag) for key, (name, _) in DOCTORS.items()}
    world.doctor_profiles = [
        Doctor(
            user_id=world.doctors[key].id,
            licence_number=f"LIC-{key}-{tag}",
            specialty_id=world.specialties[specialty].id,
            timezone="Europe/Madrid",
        )
        for key, (_, specialty) in DOCTORS.items()
    ]
    world.patients = {
        key: _user(f"Patient {key.upper()}", Role.PATIENT, tag, is_active=sex is not None)
        for key, (sex, _) in PATIENTS.items()
    }
    world.patient_profiles = [
        PatientProfile(user_id=world.patients[key].id, sex=sex, date_of_birth=born)
        for key, (sex, born) in PATIENTS.items()
        if sex is not None
    ]
    world.appointments = [_appointment(world, row) for row in APPOINTMENTS]
    return world


async def store_stats_world(uow_factory: UnitOfWorkFactory, world: StatsWorld) -> StatsWorld:
    async with uow_factory() as uow:
        for user in world.users:
            await uow.users.add(user)
        for specialty in world.specialties.values():
            await uow.specialties.add(specialty)
        for doctor in world.doctor_profiles:
            await uow.doctors.add(doctor)
        for profile in world.patient_profiles:
            await uow.patients.save(profile)
        for appointment in world.appointments:
            await uow.appointments.add(appointment)
        await uow.commit()
    return world


async def seed_stats_dataset(uow_factory: UnitOfWorkFactory, *, tag: str = "") -> StatsWorld:
    """Build the dataset and store it."""
    return await store_stats_world(uow_factory, build_stats_world(tag))
