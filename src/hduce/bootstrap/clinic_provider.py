"""Clinic wiring: the catalogue, calendar and patient use cases (all APP scoped).

Needs from the container: ``UnitOfWorkFactory`` and ``Clock`` (composition root),
``CreateAccount`` (``IdentityProvider``), and ``AddTimeOff`` / ``ListFreeSlots``
(``UseCaseProvider``, which also provides the other availability use cases the
clinic routes call).
"""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.availability.local_calendar import AddDoctorTimeOff, ListDoctorSlots
from hduce.application.clinic import (
    CreateDoctor,
    CreateSpecialty,
    GetDoctor,
    GetPatient,
    ListDoctors,
    ListSpecialties,
    UpdateDoctor,
    UpdatePatient,
    UpdateSpecialty,
)


class ClinicProvider(Provider):
    scope = Scope.APP

    list_specialties = provide(ListSpecialties)
    create_specialty = provide(CreateSpecialty)
    update_specialty = provide(UpdateSpecialty)
    list_doctors = provide(ListDoctors)
    get_doctor = provide(GetDoctor)
    create_doctor = provide(CreateDoctor)
    update_doctor = provide(UpdateDoctor)
    list_doctor_slots = provide(ListDoctorSlots)
    add_doctor_time_off = provide(AddDoctorTimeOff)
    get_patient = provide(GetPatient)
    update_patient = provide(UpdatePatient)
