"""The admin dashboard's aggregates over the in-memory store (the ``ClinicStatistics``
port): the reference the SQL version is tested against, and the embedded default when
the container has no database engine.

Reads only committed rows (the store's own tables, never a unit of work's pending
writes); every call finishes without yielding, so it sees one consistent state.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.adapters.memory.store import InMemoryStore
from hduce.application.ports import (
    AppointmentFigures,
    DoctorCount,
    InstitutionCount,
    PopulationFigures,
    SpecialtyCount,
)
from hduce.domain.demographics import age_band
from hduce.domain.identity import Role, Sex


class InMemoryClinicStatistics:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def appointments(
        self,
        start: datetime,
        end: datetime,
        *,
        timezone: str,
        institution_id: UUID | None = None,
    ) -> AppointmentFigures:
        zone = ZoneInfo(timezone)
        store = self._store
        chosen = [
            a
            for a in store.appointments.values()
            if start <= a.slot.start < end
            and (institution_id is None or a.institution_id == institution_id)
        ]
        per_institution = Counter(a.institution_id for a in chosen if a.institution_id)
        per_doctor = Counter(a.doctor_id for a in chosen)
        by_doctor: list[DoctorCount] = []
        per_specialty: Counter[UUID] = Counter()
        for doctor_id, count in per_doctor.items():
            doctor, user = store.doctors.get(doctor_id), store.users.get(doctor_id)
            if doctor is None or user is None:  # cannot happen: references are checked
                continue
            by_doctor.append(DoctorCount(doctor_id, user.full_name, doctor.specialty_id, count))
            per_specialty[doctor.specialty_id] += count
        return AppointmentFigures(
            by_status=dict(Counter(a.status for a in chosen)),
            by_day=dict(Counter(a.slot.start.astimezone(zone).date() for a in chosen)),
            by_doctor=by_doctor,
            by_specialty=[
                SpecialtyCount(specialty.id, specialty.name, per_specialty[specialty.id])
                for specialty in store.specialties.values()
                if per_specialty[specialty.id]
            ],
            by_institution=[
                InstitutionCount(place.id, place.name, per_institution[place.id])
                for place in store.institutions.values()
                if per_institution[place.id]
            ],
        )

    async def population(self, today: date) -> PopulationFigures:
        store = self._store
        per_specialty = Counter(doctor.specialty_id for doctor in store.doctors.values())
        profiles = [
            store.patients.get(user.id)
            for user in store.users.values()
            if user.role is Role.PATIENT
        ]
        return PopulationFigures(
            doctors_by_specialty=[
                SpecialtyCount(specialty.id, specialty.name, per_specialty[specialty.id])
                for specialty in store.specialties.values()
            ],
            patients_by_sex=dict(
                Counter(profile.sex if profile else Sex.UNKNOWN for profile in profiles)
            ),
            patients_by_age_band=dict(
                Counter(
                    age_band(profile.date_of_birth if profile else None, today)
                    for profile in profiles
                )
            ),
        )
