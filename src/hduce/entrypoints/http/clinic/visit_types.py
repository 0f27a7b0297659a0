"""``/api/v1/doctors/{id}/visit-types``: a doctor's kinds of visit and their booking
rules (duration, buffers, horizon, minimum notice; docs/decisions/0020)."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from hduce.application.availability.visit_types import (
    CreateVisitType,
    DeleteVisitType,
    ListVisitTypes,
    UpdateVisitType,
)
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.clinic.responses import INVALID, SIGNED_IN, problem
from hduce.entrypoints.http.clinic.schemas.visit_types import VisitTypeBody, VisitTypeView
from hduce.entrypoints.http.problems import MALFORMED_REQUEST, not_found_example

_NO_DOCTOR: Final = {
    404: problem(404, "No such doctor", not_found_example("doctor", demo.DOCTOR_ID))
}
_NO_TYPE: Final = {
    404: problem(
        404,
        "No such doctor, or no such visit type of that doctor",
        not_found_example("visit type", demo.VISIT_TYPE_ID),
    )
}
_DOCTOR_OR_ADMIN: Final = requires_role(Role.DOCTOR, Role.ADMIN)
_UNTOUCHED = "Existing appointments keep the length and buffers they were booked with."


class VisitTypesController(Controller):
    path = "/doctors/{doctor_id:uuid}/visit-types"
    tags = ("availability",)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="A doctor's visit types",
        description="Public. Each with its duration, buffers before and after (the "
        "doctor's time, kept free around the visit), booking horizon and minimum notice, "
        "sorted by name. Book one with `visit_type_id` on POST /appointments; ask for its "
        "free slots with `visit_type_id` on GET /doctors/{id}/slots.",
        responses={**MALFORMED_REQUEST, **_NO_DOCTOR},
    )
    async def list_visit_types(
        self, doctor_id: FromPath[UUID], list_visit_types: FromDishka[ListVisitTypes]
    ) -> list[VisitTypeView]:
        return [VisitTypeView.of(kind) for kind in await list_visit_types(doctor_id)]

    @post(
        "/",
        status_code=201,
        guards=[_DOCTOR_OR_ADMIN],
        summary="Add a visit type",
        description="The doctor themself or an admin.",
        responses={**INVALID, **SIGNED_IN, **_NO_DOCTOR},
    )
    async def create_visit_type(
        self,
        doctor_id: FromPath[UUID],
        data: JSONBody[VisitTypeBody],
        actor: NamedDependency[Actor],
        create_visit_type: FromDishka[CreateVisitType],
    ) -> VisitTypeView:
        return VisitTypeView.of(await create_visit_type(actor, doctor_id, data.to_fields()))

    @put(
        "/{visit_type_id:uuid}",
        guards=[_DOCTOR_OR_ADMIN],
        summary="Change a visit type",
        description=f"The doctor themself or an admin; the body is the whole type. {_UNTOUCHED}",
        responses={**INVALID, **SIGNED_IN, **_NO_TYPE},
    )
    async def update_visit_type(
        self,
        doctor_id: FromPath[UUID],
        visit_type_id: FromPath[UUID],
        data: JSONBody[VisitTypeBody],
        actor: NamedDependency[Actor],
        update_visit_type: FromDishka[UpdateVisitType],
    ) -> VisitTypeView:
        changed = await update_visit_type(actor, doctor_id, visit_type_id, data.to_fields())
        return VisitTypeView.of(changed)

    @delete(
        "/{visit_type_id:uuid}",
        status_code=204,
        guards=[_DOCTOR_OR_ADMIN],
        summary="Delete a visit type",
        description=f"The doctor themself or an admin. {_UNTOUCHED}",
        responses={
            204: ResponseSpec(data_container=None, description="Deleted", generate_examples=False),
            **MALFORMED_REQUEST,
            **SIGNED_IN,
            **_NO_TYPE,
        },
    )
    async def delete_visit_type(
        self,
        doctor_id: FromPath[UUID],
        visit_type_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        delete_visit_type: FromDishka[DeleteVisitType],
    ) -> None:
        await delete_visit_type(actor, doctor_id, visit_type_id)
