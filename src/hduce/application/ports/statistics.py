"""The admin statistics read side (GET /admin/stats)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from hduce.domain.appointments import AppointmentStatus
from hduce.domain.demographics import AgeBand
from hduce.domain.identity import Sex


@dataclass(frozen=True, slots=True)
class DoctorCount:
    doctor_id: UUID
    full_name: str
    specialty_id: UUID
    count: int


@dataclass(frozen=True, slots=True)
class SpecialtyCount:
    specialty_id: UUID
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class InstitutionCount:
    institution_id: UUID
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class AppointmentFigures:
    """Appointments that start inside a window, whatever their status, counted several
    ways. Only non-empty groups appear; the sequences are in no particular order."""

    by_status: Mapping[AppointmentStatus, int]
    #: Keyed by the calendar day on the wall clock of the timezone asked for.
    by_day: Mapping[date, int]
    by_doctor: Sequence[DoctorCount]
    #: By the doctor's current specialty (appointments do not record one).
    by_specialty: Sequence[SpecialtyCount]
    #: By the institution the visit takes place at (ADR 0025); visits at unassigned
    #: hours are in no group.
    by_institution: Sequence[InstitutionCount] = ()


@dataclass(frozen=True, slots=True)
class PopulationFigures:
    """Who the clinic has now. Patients are every account with the patient role
    (active or not); one without a profile counts as sex and age band unknown."""

    #: Every specialty, those without doctors included (count 0); in no particular order.
    doctors_by_specialty: Sequence[SpecialtyCount]
    #: Only non-empty groups appear.
    patients_by_sex: Mapping[Sex, int]
    patients_by_age_band: Mapping[AgeBand, int]


class ClinicStatistics(Protocol):
    """Read-only aggregates for the admin dashboard, computed where the data lives."""

    async def appointments(
        self,
        start: datetime,
        end: datetime,
        *,
        timezone: str,
        institution_id: UUID | None = None,
    ) -> AppointmentFigures:
        """Appointments with ``start <= starts_at < end``; days in IANA ``timezone``.
        With ``institution_id``: only the visits at that institution."""
        ...

    async def population(self, today: date) -> PopulationFigures:
        """Doctors and patients as they are now; ages as of ``today``."""
        ...
