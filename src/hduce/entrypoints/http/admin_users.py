"""``/api/v1/admin/users``: the admin's list of accounts and (de)activation."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from hduce.application.identity import ListUsers, SetUserActive
from hduce.application.ports import PageRequest, UserQuery
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.auth.schemas import AdminUserPatch, UserPage, UserView
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    requires_role,
)
from hduce.entrypoints.http.problems import Problem

_ERRORS = {
    401: ResponseSpec(data_container=Problem, description="Not authenticated"),
    403: ResponseSpec(data_container=Problem, description="Not an admin"),
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
        search: Annotated[str | None, QueryParameter(max_length=200)] = None,
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
            404: ResponseSpec(data_container=Problem, description="No such account"),
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
