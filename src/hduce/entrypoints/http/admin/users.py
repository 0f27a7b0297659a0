"""``/api/v1/admin/users``: the admin's list of accounts and (de)activation."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from hduce.application.identity.accounts import ListUsers, SetUserActive
from hduce.application.ports import PageRequest, UserQuery
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.admin.schemas import AdminUserPatch, UserPage
from hduce.entrypoints.http.auth.schemas import UserView
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    requires_role,
)
from hduce.entrypoints.http.inputs import NO_NUL
from hduce.entrypoints.http.problems import (
    invalid_request_example,
    not_found_example,
    problem_spec,
)

_ERRORS = {
    400: problem_spec(
        400,
        "Malformed parameter or body; `errors` names it",
        invalid_request_example(
            "role",
            "Invalid enum value 'nurse'",
            source="query",
            detail="Validation failed for GET /api/v1/admin/users?role=nurse",
        ),
    ),
    401: problem_spec(401, "Not authenticated"),
    403: problem_spec(403, "Not an admin"),
}


class AdminUsersController(Controller):
    path = "/admin/users"
    tags = ("admin",)
    guards = (json_bodies_only, requires_role(Role.ADMIN))
    dependencies = AUTH_DEPENDENCIES

    @get("/", summary="List accounts (filter by role, search email and name)", responses=_ERRORS)
    async def list_users(
        self,
        actor: NamedDependency[Actor],
        list_users: FromDishka[ListUsers],
        role: FromQuery[Role | None] = None,
        search: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
        is_active: FromQuery[bool | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> UserPage:
        page = await list_users(
            actor,
            UserQuery(
                role=role,
                search=search or None,
                is_active=is_active,
                page=PageRequest(limit=limit, offset=offset),
            ),
        )
        return UserPage.of(page)

    @patch(
        "/{user_id:uuid}",
        summary="Activate or deactivate an account",
        description="A deactivated account cannot sign in, and its tokens stop working at once.",
        responses={
            **_ERRORS,
            404: problem_spec(404, "No such account", not_found_example("user", demo.PATIENT_ID)),
        },
    )
    async def update_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[AdminUserPatch],
        actor: NamedDependency[Actor],
        set_active: FromDishka[SetUserActive],
    ) -> UserView:
        return UserView.of(await set_active(actor, user_id, data.is_active))
