"""``/api/v1/admin/users``: the admin's list of accounts, (de)activation, and the
institution an admin is scoped to (ADR 0026)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, patch, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from hduce.application.identity.accounts import ListUsers, SetAdminScope, SetUserActive
from hduce.application.ports import PageRequest, UserQuery
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.admin.schemas import (
    AdminUserPatch,
    InstitutionScopeBody,
    UserPage,
)
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
    problem_example,
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

_SCOPE_RESPONSES = {
    **_ERRORS,
    403: problem_spec(
        403,
        "Not a global admin",
        problem_example(
            403,
            "forbidden",
            "only an admin of every institution may scope admins to an institution",
        ),
    ),
    404: problem_spec(
        404,
        "No such account or institution",
        not_found_example("user", demo.PATIENT_ID),
        not_found_example("institution", demo.INSTITUTION_ID),
    ),
    422: problem_spec(
        422,
        "Not an admin account, or the admin's own",
        problem_example(
            422, "not-an-admin", "only an admin account may be scoped to an institution"
        ),
        problem_example(422, "self-scope", "an admin may not change their own institution scope"),
    ),
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

    @put(
        "/{user_id:uuid}/institution-scope",
        summary="Scope an admin to an institution",
        description="Global admins only. From now on that admin manages only this "
        "institution: its statistics and CSV reports, its changes, members and hours "
        "(ADR 0026). Takes effect on their next request in this process, within "
        "`HDUCE_ACCOUNT_CACHE_TTL` in the others.",
        responses=_SCOPE_RESPONSES,
    )
    async def set_institution_scope(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[InstitutionScopeBody],
        actor: NamedDependency[Actor],
        set_scope: FromDishka[SetAdminScope],
    ) -> UserView:
        return UserView.of(await set_scope(actor, user_id, data.institution_id))

    @delete(
        "/{user_id:uuid}/institution-scope",
        status_code=200,
        summary="Make an admin global again",
        description="Global admins only. The admin manages every institution again. Idempotent.",
        responses=_SCOPE_RESPONSES,
    )
    async def clear_institution_scope(
        self,
        user_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        set_scope: FromDishka[SetAdminScope],
    ) -> UserView:
        return UserView.of(await set_scope(actor, user_id, None))
