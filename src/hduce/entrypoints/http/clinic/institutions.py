"""``/api/v1/institutions``: the hospitals, clinics and sites, and who works where.

Public to read (patients search doctors and slots by institution); an admin adds,
changes, deactivates them and adds or removes doctors (ADR 0025). A doctor's hours at
an institution are set with ``PUT /doctors/{id}/working-hours`` and its
``institution_id``.
"""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UnsetType

from hduce.application.changes import UNCHANGED
from hduce.application.clinic.institutions import (
    AddDoctorToInstitution,
    CreateInstitution,
    GetInstitution,
    InstitutionChanges,
    ListInstitutions,
    NewInstitution,
    RemoveDoctorFromInstitution,
    SetInstitutionActive,
    UpdateInstitution,
)
from hduce.application.ports import InstitutionQuery, PageRequest
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.clinic.responses import INVALID, SIGNED_IN, problem
from hduce.entrypoints.http.clinic.schemas import sent
from hduce.entrypoints.http.clinic.schemas.institutions import (
    InstitutionCreate,
    InstitutionPage,
    InstitutionPatch,
    InstitutionView,
    kind_of,
)
from hduce.entrypoints.http.inputs import NO_NUL
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    not_found_example,
    problem_example,
)

_ADMIN: Final = requires_role(Role.ADMIN)
_NOT_FOUND: Final = {
    404: problem(404, "No such institution", not_found_example("institution", demo.INSTITUTION_ID))
}
_NO_SUCH_PLACE_OR_DOCTOR: Final = {
    404: problem(
        404,
        "No such institution or doctor",
        not_found_example("institution", demo.INSTITUTION_ID),
        not_found_example("doctor", demo.DOCTOR_ID),
    )
}
_INACTIVE: Final = {
    422: problem(
        422,
        "institution-inactive: a deactivated institution takes no new doctors",
        problem_example(
            422,
            "institution-inactive",
            f"institution {demo.INSTITUTION_NAME!r} is inactive",
        ),
    )
}
_NO_CONTENT: Final = {
    204: ResponseSpec(data_container=None, description="Done", generate_examples=False)
}


class InstitutionsController(Controller):
    path = "/institutions"
    tags = ("institutions",)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="List institutions",
        description="Public. Sorted by name; `active` (default true) filters on the "
        "active flag (`active=false`: the deactivated ones), `name` on a part of the "
        "name. Paginated with `limit`/`offset`.",
        responses=INVALID,
    )
    async def list_institutions(
        self,
        list_institutions: FromDishka[ListInstitutions],
        active: Annotated[
            bool | None,
            QueryParameter(description="true (default): active ones; false: deactivated"),
        ] = True,
        name: Annotated[
            str | None,
            QueryParameter(max_length=200, pattern=NO_NUL, description="Part of the name"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> InstitutionPage:
        page = await list_institutions(
            InstitutionQuery(
                is_active=active,
                name=(name or "").strip() or None,
                page=PageRequest(limit=limit, offset=offset),
            )
        )
        return InstitutionPage.of(page)

    @get(
        "/{institution_id:uuid}",
        summary="An institution",
        description="Public, active or not.",
        responses={**MALFORMED_REQUEST, **_NOT_FOUND},
    )
    async def get_institution(
        self, institution_id: FromPath[UUID], get_institution: FromDishka[GetInstitution]
    ) -> InstitutionView:
        return InstitutionView.of(await get_institution(institution_id))

    @post(
        "/",
        status_code=201,
        guards=[_ADMIN],
        summary="Add an institution",
        description="Global admins only (not an admin scoped to an institution, ADR 0026). "
        "A hospital, clinic or site with its postal address and "
        "IANA time zone (validated: `Europe/Madird` is refused with 400).",
        responses={**INVALID, **SIGNED_IN},
    )
    async def create_institution(
        self,
        data: JSONBody[InstitutionCreate],
        actor: NamedDependency[Actor],
        create: FromDishka[CreateInstitution],
    ) -> InstitutionView:
        made = await create(
            actor,
            NewInstitution(
                name=data.name,
                kind=kind_of(data.kind),
                address=data.address.to_domain(),
                timezone=data.timezone,
            ),
        )
        return InstitutionView.of(made)

    @patch(
        "/{institution_id:uuid}",
        guards=[_ADMIN],
        summary="Change an institution",
        description="Admin only; an admin scoped to an institution only at theirs. Only the fields sent change; `address` is replaced as a "
        "whole. A concurrent change is refused with 409 `stale-version`.",
        responses={**INVALID, **SIGNED_IN, **_NOT_FOUND},
    )
    async def update_institution(
        self,
        institution_id: FromPath[UUID],
        data: JSONBody[InstitutionPatch],
        actor: NamedDependency[Actor],
        update: FromDishka[UpdateInstitution],
    ) -> InstitutionView:
        changes = InstitutionChanges(
            name=sent(data.name),
            kind=UNCHANGED if isinstance(data.kind, UnsetType) else kind_of(data.kind),
            address=UNCHANGED if isinstance(data.address, UnsetType) else data.address.to_domain(),
            timezone=sent(data.timezone),
        )
        return InstitutionView.of(await update(actor, institution_id, changes))

    @post(
        "/{institution_id:uuid}/deactivate",
        status_code=200,
        guards=[_ADMIN],
        summary="Deactivate an institution",
        description="Admin only; an admin scoped to an institution only at theirs. It takes no new doctors or hours; its doctors, hours and "
        "appointments stay as they are (nothing is cancelled). Idempotent.",
        responses={**MALFORMED_REQUEST, **SIGNED_IN, **_NOT_FOUND},
    )
    async def deactivate_institution(
        self,
        institution_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        set_active: FromDishka[SetInstitutionActive],
    ) -> InstitutionView:
        return InstitutionView.of(await set_active(actor, institution_id, active=False))

    @post(
        "/{institution_id:uuid}/activate",
        status_code=200,
        guards=[_ADMIN],
        summary="Reactivate an institution",
        description="Admin only; an admin scoped to an institution only at theirs. Idempotent.",
        responses={**MALFORMED_REQUEST, **SIGNED_IN, **_NOT_FOUND},
    )
    async def activate_institution(
        self,
        institution_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        set_active: FromDishka[SetInstitutionActive],
    ) -> InstitutionView:
        return InstitutionView.of(await set_active(actor, institution_id, active=True))

    @put(
        "/{institution_id:uuid}/doctors/{doctor_id:uuid}",
        status_code=204,
        guards=[_ADMIN],
        summary="Say a doctor works at an institution",
        description="Admin only; an admin scoped to an institution only at theirs. Idempotent: a doctor who works there already stays so. "
        "The doctor is told (in the app, by email): `doctor.institution_joined`.",
        responses={
            **_NO_CONTENT,
            **MALFORMED_REQUEST,
            **SIGNED_IN,
            **_NO_SUCH_PLACE_OR_DOCTOR,
            **_INACTIVE,
        },
    )
    async def add_doctor(
        self,
        institution_id: FromPath[UUID],
        doctor_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        add_doctor: FromDishka[AddDoctorToInstitution],
    ) -> None:
        await add_doctor(actor, institution_id, doctor_id)

    @delete(
        "/{institution_id:uuid}/doctors/{doctor_id:uuid}",
        status_code=204,
        guards=[_ADMIN],
        summary="Say a doctor no longer works at an institution",
        description="Admin only; an admin scoped to an institution only at theirs. Refused with 422 `institution-has-hours` while the "
        "doctor has weekly hours there (clear them first); appointments booked there stay. "
        "Idempotent. The doctor is told: `doctor.institution_left`.",
        responses={
            **_NO_CONTENT,
            **MALFORMED_REQUEST,
            **SIGNED_IN,
            **_NOT_FOUND,
            422: problem(
                422,
                "institution-has-hours: the doctor still has hours there",
                problem_example(
                    422,
                    "institution-has-hours",
                    f"the doctor still has weekly hours at {demo.INSTITUTION_NAME!r}; "
                    "clear them first",
                ),
            ),
        },
    )
    async def remove_doctor(
        self,
        institution_id: FromPath[UUID],
        doctor_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        remove_doctor: FromDishka[RemoveDoctorFromInstitution],
    ) -> None:
        await remove_doctor(actor, institution_id, doctor_id)
