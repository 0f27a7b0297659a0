"""The clinic catalogue and records: specialties, doctors, their calendars, patients.

Working hours, time off, extra hours and free slots are the use cases of
``hduce.application.availability``.
"""

from __future__ import annotations

from hduce.application.clinic.doctors import (
    CreateDoctor,
    DoctorChanges,
    DoctorProfile,
    GetDoctor,
    ListDoctors,
    NewDoctor,
    UpdateDoctor,
)
from hduce.application.clinic.patient_search import PatientSearch, SearchPatients
from hduce.application.clinic.patients import (
    GetPatient,
    PatientChanges,
    PatientRecord,
    UpdatePatient,
)
from hduce.application.clinic.specialties import (
    CreateSpecialty,
    ListSpecialties,
    SpecialtyChanges,
    UpdateSpecialty,
)

__all__ = [
    "CreateDoctor",
    "CreateSpecialty",
    "DoctorChanges",
    "DoctorProfile",
    "GetDoctor",
    "GetPatient",
    "ListDoctors",
    "ListSpecialties",
    "NewDoctor",
    "PatientChanges",
    "PatientRecord",
    "PatientSearch",
    "SearchPatients",
    "SpecialtyChanges",
    "UpdateDoctor",
    "UpdatePatient",
    "UpdateSpecialty",
]
