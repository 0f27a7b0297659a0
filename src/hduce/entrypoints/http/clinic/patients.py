"""``/api/v1/patients``: staff's patient search; ``/patients/{id}``: a patient's contact
fields and medical profile."""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody, QueryParameter

from hduce.application.clinic import (
    GetPatient,
    PatientChanges,
    PatientSearch,
    SearchPatients,
    UpdatePatient,
)
from hduce.application.ports import PageRequest
from hduce.domain.identity import Actor
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_auth
from hduce.entrypoints.http.clinic.responses import INVALID, SIGNED_IN, problem
from hduce.entrypoints.http.clinic.schemas import sent
from hduce.entrypoints.http.clinic.schemas.patients import PatientPage, PatientPatch, PatientView
from hduce.entrypoints.http.inputs import NO_CONTROL
from hduce.entrypoints.http.problems import MALFORMED_REQUEST, not_found_example

_NOT_FOUND: Final = {
    404: problem(404, "No such patient", not_found_example("patient", demo.PATIENT_ID))
}


class PatientsController(Controller):
    path = "/patients"
    tags = ("patients",)
    guards = (requires_auth,)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="Find patients (staff)",
        description="Doctors find only the patients in their care (who booked with them, "
        "accepted their proposal, or were booked with them by an admin: those whose "
        "record they may read); admins every patient account. `search` matches the "
        "email or the full name, case-insensitively. Ordered by account creation, "
        "paged. Patients get 403.",
        responses={**MALFORMED_REQUEST, **SIGNED_IN},
    )
    async def search_patients(
        self,
        actor: NamedDependency[Actor],
        search_patients: FromDishka[SearchPatients],
        search: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                pattern=NO_CONTROL,
                description="Part of the email or the full name",
                examples=[Example(value="garcia")],
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> PatientPage:
        page = await search_patients(
            actor, PatientSearch(search, PageRequest(limit=limit, offset=offset))
        )
        return PatientPage.of(page)

    @get(
        "/{patient_id:uuid}",
        summary="A patient's record",
        description="Name, email, phone and timezone of the account, and the profile "
        "(date of birth, sex, emergency contact). Readable by the patient, an admin, and "
        "a doctor the patient has or had an appointment with; anyone else gets 403 "
        "(whether or not the id exists).",
        responses={**MALFORMED_REQUEST, **SIGNED_IN, **_NOT_FOUND},
    )
    async def get_patient(
        self,
        patient_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        get_patient: FromDishka[GetPatient],
    ) -> PatientView:
        return PatientView.of(await get_patient(actor, patient_id))

    @patch(
        "/{patient_id:uuid}",
        summary="Update a patient's profile",
        description="The patient themself or an admin (doctors may only read). Only the "
        "fields sent change; `null` clears one. Name, phone and timezone belong to the "
        "account: change them with PATCH /auth/me.",
        responses={**INVALID, **SIGNED_IN, **_NOT_FOUND},
    )
    async def update_patient(
        self,
        patient_id: FromPath[UUID],
        data: JSONBody[PatientPatch],
        actor: NamedDependency[Actor],
        update: FromDishka[UpdatePatient],
    ) -> PatientView:
        changes = PatientChanges(
            date_of_birth=sent(data.date_of_birth),
            sex=sent(data.sex),
            emergency_contact_name=sent(data.emergency_contact_name),
            emergency_contact_phone=sent(data.emergency_contact_phone),
        )
        return PatientView.of(await update(actor, patient_id, changes))
