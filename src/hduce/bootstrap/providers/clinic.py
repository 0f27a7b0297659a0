"""The clinic feature (``hduce.application.clinic``): specialties, doctors, patients.

Creating a doctor creates their account: needs ``CreateAccount`` (``IdentityProvider``).
"""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.clinic import (
    CreateDoctor,
    CreateSpecialty,
    GetDoctor,
    GetPatient,
    ListDoctors,
    ListSpecialties,
    SearchPatients,
    UpdateDoctor,
    UpdatePatient,
    UpdateSpecialty,
)
from hduce.application.clinic.institutions import (
    AddDoctorToInstitution,
    CreateInstitution,
    GetInstitution,
    ListInstitutions,
    RemoveDoctorFromInstitution,
    SetInstitutionActive,
    UpdateInstitution,
)
from hduce.application.clinic.workplaces import ListWorkplaces


class ClinicProvider(Provider):
    scope = Scope.APP

    list_specialties = provide(ListSpecialties)
    create_specialty = provide(CreateSpecialty)
    update_specialty = provide(UpdateSpecialty)
    list_doctors = provide(ListDoctors)
    get_doctor = provide(GetDoctor)
    create_doctor = provide(CreateDoctor)
    update_doctor = provide(UpdateDoctor)
    get_patient = provide(GetPatient)
    search_patients = provide(SearchPatients)
    update_patient = provide(UpdatePatient)
    list_institutions = provide(ListInstitutions)
    get_institution = provide(GetInstitution)
    create_institution = provide(CreateInstitution)
    update_institution = provide(UpdateInstitution)
    set_institution_active = provide(SetInstitutionActive)
    add_doctor_to_institution = provide(AddDoctorToInstitution)
    remove_doctor_from_institution = provide(RemoveDoctorFromInstitution)
    list_workplaces = provide(ListWorkplaces)
