"""``/api/v1/auth/sessions`` and ``/api/v1/auth/password``: the caller's own sessions
(list, end one, end all others) and changing their password."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from hduce.application.identity.devices import ListSessions, RevokeOtherSessions, RevokeSession
from hduce.application.identity.password_change import (
    WRONG_CURRENT_PASSWORD,
    ChangePassword,
    ChangePasswordCommand,
)
from hduce.application.identity.sessions import Principal
from hduce.domain.errors import AuthenticationFailed
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    requires_auth,
)
from hduce.entrypoints.http.auth.session_schemas import (
    PASSWORD_CHANGED,
    SESSION_ID,
    ChangePasswordRequest,
    PasswordChangedView,
    SessionListView,
    SessionsEndedView,
)
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_input_example,
    invalid_request_example,
    not_found_example,
    problem_example,
    problem_spec,
)

NO_STORE: Final = {"Cache-Control": "no-store"}
_401 = {401: problem_spec(401, "Not authenticated")}
_403_CSRF = {
    403: problem_spec(
        403,
        "`csrf-failed`: the session cookie was sent without the X-CSRF-Token header",
        problem_example(
            403,
            "csrf-failed",
            "cookie-authenticated POST, PUT, PATCH and DELETE requests need the X-CSRF-Token "
            "header "
            "(the value of the __Host-hduce_csrf cookie)",
        ),
    )
}


def _user_of(principal: Principal) -> UUID:
    user_id = principal.actor.user_id
    if user_id is None:  # pragma: no cover - tokens always name an account
        raise AuthenticationFailed("this token names no account")
    return user_id


class SessionsController(Controller):
    path = "/auth"
    tags = ("auth",)
    dependencies = AUTH_DEPENDENCIES
    guards = (json_bodies_only, requires_auth)

    @get(
        "/sessions",
        summary="My active sessions",
        description="Every session of the account that can still be refreshed, most "
        "recently used first: the kind of client, the network it was last used from "
        "(a /24 or /48 prefix, never the full address), when it was signed in and last "
        "refreshed. `current` marks the session of the token this request came with.",
        responses={**MALFORMED_REQUEST, **_401},
    )
    async def list_sessions(
        self, principal: NamedDependency[Principal], list_sessions: FromDishka[ListSessions]
    ) -> Response[SessionListView]:
        listed = await list_sessions(
            principal.actor, _user_of(principal), current=principal.claims.session_id
        )
        return Response(SessionListView.of(listed), headers=NO_STORE)

    @delete(
        "/sessions/{session_id:uuid}",
        status_code=204,
        summary="End one of my sessions",
        description="Its refresh token is refused from now on, and its access tokens too "
        "(at once in every process: the session id joins the token denylist). Ending the "
        "current session signs this client out.",
        responses={
            204: ResponseSpec(
                data_container=None, description="Session ended", generate_examples=False
            ),
            **MALFORMED_REQUEST,
            **_401,
            **_403_CSRF,
            404: problem_spec(
                404,
                "No such active session of this account (ended, unknown, or another's)",
                not_found_example("session", SESSION_ID),
            ),
        },
    )
    async def revoke_session(
        self,
        session_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        revoke: FromDishka[RevokeSession],
    ) -> None:
        await revoke(principal.actor, _user_of(principal), session_id)

    @delete(
        "/sessions",
        status_code=200,
        summary="End all my other sessions",
        description="Every session of the account but the current one is ended, as by "
        "`DELETE /auth/sessions/{id}`; the answer says how many.",
        responses={**MALFORMED_REQUEST, **_401, **_403_CSRF},
    )
    async def revoke_other_sessions(
        self, principal: NamedDependency[Principal], revoke: FromDishka[RevokeOtherSessions]
    ) -> SessionsEndedView:
        ended = await revoke(principal.actor, _user_of(principal), keep=principal.claims.session_id)
        return SessionsEndedView(revoked=ended)

    @post(
        "/password",
        status_code=200,
        summary="Change my password",
        description="Re-authenticates with the current password, checks the new one "
        "against the password policy (as registration does), then ends every other "
        "session of the account; this one stays signed in. The owner is told by email. "
        "At most 5 attempts per account in 15 minutes.",
        responses={
            400: problem_spec(
                400,
                "The current password is wrong, the new one is refused by the policy, or "
                "the body is malformed; `errors` names the field",
                invalid_input_example("current_password", WRONG_CURRENT_PASSWORD),
                invalid_input_example(
                    "new_password",
                    "this password is too common; choose a longer, less predictable one",
                ),
                invalid_request_example(
                    "new_password", "Object missing required field `new_password`"
                ),
            ),
            **_401,
            403: _403_CSRF[403],
            422: problem_spec(
                422,
                "The account has no password (it signs in with Google)",
                problem_example(
                    422,
                    "no-password",
                    "this account signs in with Google and has no password to change",
                ),
            ),
            429: problem_spec(
                429,
                "Too many attempts (Retry-After)",
                problem_example(
                    429,
                    "rate-limited",
                    "too many requests; retry after 600 s",
                    retry_after_seconds=600,
                ),
            ),
        },
    )
    async def change_password(
        self,
        data: JSONBody[ChangePasswordRequest],
        principal: NamedDependency[Principal],
        change: FromDishka[ChangePassword],
    ) -> Response[PasswordChangedView]:
        ended = await change(
            principal.actor,
            ChangePasswordCommand(
                current_password=data.current_password,
                new_password=data.new_password,
                session_id=principal.claims.session_id,
            ),
        )
        view = PasswordChangedView(detail=PASSWORD_CHANGED, sessions_ended=ended)
        return Response(view, headers=NO_STORE)
