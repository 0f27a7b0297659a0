"""``/api/v1/specialties``: the public list, and the admin's additions and edits."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hduce.application.clinic import (
    CreateSpecialty,
    ListSpecialties,
    SpecialtyChanges,
    UpdateSpecialty,
)
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.clinic.responses import INVALID, SIGNED_IN, problem
from hduce.entrypoints.http.clinic.schemas import sent
from hduce.entrypoints.http.clinic.schemas.specialties import (
    SpecialtyCreate,
    SpecialtyPatch,
    SpecialtyView,
)
from hduce.entrypoints.http.problems import not_found_example, problem_example

_NAME_TAKEN = {
    409: problem(
        409,
        "Another specialty has this name (compared case-insensitively)",
        problem_example(
            409, "already-exists", f"a specialty named {demo.SPECIALTY_NAME!r} already exists"
        ),
    )
}


class SpecialtiesController(Controller):
    path = "/specialties"
    tags = ("specialties",)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="List specialties",
        description="Every specialty of the clinic, sorted by name. Public.",
    )
    async def list_specialties(
        self, list_specialties: FromDishka[ListSpecialties]
    ) -> list[SpecialtyView]:
        return [SpecialtyView.of(s) for s in await list_specialties()]

    @post(
        "/",
        status_code=201,
        guards=[requires_role(Role.ADMIN)],
        summary="Add a specialty",
        description="Admin only. Names are unique regardless of letter case.",
        responses={**INVALID, **SIGNED_IN, **_NAME_TAKEN},
    )
    async def create_specialty(
        self,
        data: JSONBody[SpecialtyCreate],
        actor: NamedDependency[Actor],
        create: FromDishka[CreateSpecialty],
    ) -> SpecialtyView:
        return SpecialtyView.of(await create(actor, data.name, data.description))

    @patch(
        "/{specialty_id:uuid}",
        guards=[requires_role(Role.ADMIN)],
        summary="Rename or describe a specialty",
        description="Admin only. Only the fields sent change.",
        responses={
            **INVALID,
            **SIGNED_IN,
            404: problem(
                404, "No such specialty", not_found_example("specialty", demo.SPECIALTY_ID)
            ),
            **_NAME_TAKEN,
        },
    )
    async def update_specialty(
        self,
        specialty_id: FromPath[UUID],
        data: JSONBody[SpecialtyPatch],
        actor: NamedDependency[Actor],
        update: FromDishka[UpdateSpecialty],
    ) -> SpecialtyView:
        changes = SpecialtyChanges(name=sent(data.name), description=sent(data.description))
        return SpecialtyView.of(await update(actor, specialty_id, changes))
