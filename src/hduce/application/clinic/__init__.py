"""The clinic catalogue and records: specialties, doctors, their calendars, patients.

Working hours, time off, extra hours and free slots are the use cases of
``hduce.application.availability``; ``schedule`` adds the local-day input the API takes.
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
from hduce.application.clinic.patients import (
    GetPatient,
    PatientChanges,
    PatientRecord,
    UpdatePatient,
)
from hduce.application.clinic.schedule import (
    AddDoctorTimeOff,
    DayOrInstant,
    ListDoctorSlots,
    ScheduledTimeOff,
    local_range,
    start_of_local_day,
)
from hduce.application.clinic.specialties import (
    CreateSpecialty,
    ListSpecialties,
    SpecialtyChanges,
    UpdateSpecialty,
)

__all__ = [
    "AddDoctorTimeOff",
    "CreateDoctor",
    "CreateSpecialty",
    "DayOrInstant",
    "DoctorChanges",
    "DoctorProfile",
    "GetDoctor",
    "GetPatient",
    "ListDoctorSlots",
    "ListDoctors",
    "ListSpecialties",
    "NewDoctor",
    "PatientChanges",
    "PatientRecord",
    "ScheduledTimeOff",
    "SpecialtyChanges",
    "UpdateDoctor",
    "UpdatePatient",
    "UpdateSpecialty",
    "local_range",
    "start_of_local_day",
]
