"""``/api/v1/admin/users/{user_id}/sessions``: an admin sees and ends an account's sessions."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath

from hduce.application.identity.devices import ListSessions, RevokeOtherSessions, RevokeSession
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    requires_role,
)
from hduce.entrypoints.http.auth.session_schemas import (
    SESSION_ID,
    SessionListView,
    SessionsEndedView,
)
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    not_found_example,
    problem_spec,
)

_ERRORS = {
    **MALFORMED_REQUEST,
    401: problem_spec(401, "Not authenticated"),
    403: problem_spec(403, "Not an admin"),
}
_NO_USER = problem_spec(404, "No such account", not_found_example("user", demo.PATIENT_ID))


class AdminSessionsController(Controller):
    path = "/admin/users/{user_id:uuid}/sessions"
    tags = ("admin",)
    guards = (json_bodies_only, requires_role(Role.ADMIN))
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="An account's active sessions",
        description="As the account's owner sees them at `GET /auth/sessions` (none is "
        "marked current: they are not the admin's).",
        responses={**_ERRORS, 404: _NO_USER},
    )
    async def list_sessions(
        self,
        user_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        list_sessions: FromDishka[ListSessions],
    ) -> SessionListView:
        return SessionListView.of(await list_sessions(actor, user_id))

    @delete(
        "/{session_id:uuid}",
        status_code=204,
        summary="End one session of an account",
        description="Its refresh token is refused from now on, its access tokens at once.",
        responses={
            204: ResponseSpec(
                data_container=None, description="Session ended", generate_examples=False
            ),
            **_ERRORS,
            404: problem_spec(
                404,
                "No such active session of this account",
                not_found_example("session", SESSION_ID),
            ),
        },
    )
    async def revoke_session(
        self,
        user_id: FromPath[UUID],
        session_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        revoke: FromDishka[RevokeSession],
    ) -> None:
        await revoke(actor, user_id, session_id)

    @delete(
        "/",
        status_code=200,
        summary="End every session of an account",
        description="Every session is ended (a lost phone, a shared computer); the account "
        "stays active and may sign in again. To keep it out, deactivate it.",
        responses={**_ERRORS, 404: _NO_USER},
    )
    async def revoke_all_sessions(
        self,
        user_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        revoke: FromDishka[RevokeOtherSessions],
    ) -> SessionsEndedView:
        return SessionsEndedView(revoked=await revoke(actor, user_id, keep=None))
