"""``/api/v1/auth``: register, login, refresh, logout, me."""

from __future__ import annotations

from typing import Any, Final

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from hduce.application.changes import UNCHANGED
from hduce.application.identity.accounts import (
    GetMe,
    ProfileChanges,
    RegisterCommand,
    RegisterPatient,
    UpdateMyProfile,
)
from hduce.application.identity.sessions import (
    Login,
    LoginCommand,
    Logout,
    LogoutCommand,
    Principal,
    RefreshTokens,
)
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Actor
from hduce.domain.sessions import SignInClient
from hduce.entrypoints.http.auth import schemes
from hduce.entrypoints.http.auth.cookies import (
    CSRF_COOKIE,
    REFRESH_COOKIE,
    cleared_session_cookies,
    session_cookies,
)
from hduce.entrypoints.http.auth.schemas import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    RegistrationReceivedView,
    TokenResponse,
    UpdateMeRequest,
    UserView,
)
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    authenticate,
    check_csrf,
    client_ip,
    json_bodies_only,
    requires_auth,
)
from hduce.entrypoints.http.problems import (
    invalid_input_example,
    invalid_request_example,
    problem_example,
    problem_spec,
)

#: Token responses must never be cached (RFC 6749 §5.1).
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_401 = {401: problem_spec(401, "Not authenticated")}
_429 = {
    429: problem_spec(
        429,
        "Too many attempts (Retry-After)",
        problem_example(
            429,
            "rate-limited",
            "too many requests; retry after 60 s",
            retry_after_seconds=60,
        ),
    )
}
_400 = {
    400: problem_spec(
        400,
        "Malformed body; `errors` names the field",
        invalid_request_example("email", "Expected `str` of length >= 1"),
    )
}
#: A cookie-authenticated unsafe request without the CSRF header (bearer clients never).
_403_CSRF = {
    403: problem_spec(
        403,
        "`csrf-failed`: the session cookie was sent without the X-CSRF-Token header",
        problem_example(
            403,
            "csrf-failed",
            "cookie-authenticated POST requests need the X-CSRF-Token header "
            "(the value of the __Host-hduce_csrf cookie)",
        ),
    )
}


def _unset_to_unchanged(value: Any) -> Any:
    return UNCHANGED if value is msgspec.UNSET else value


class AuthController(Controller):
    path = "/auth"
    tags = ("auth",)
    dependencies = AUTH_DEPENDENCIES
    guards = (json_bodies_only,)

    @post(
        "/register",
        status_code=202,
        summary="Create a patient account",
        response_description="Registration received: the same answer whether or not the "
        "address already had an account",
        description="Self-registration always creates a patient. Passwords need at least "
        "10 characters and may not be a common password or contain the email; emails are "
        "compared in one spelling (case and Unicode compatibility forms folded).\n\n"
        "The answer is the same `202` whether or not the address already had an account, "
        "so registering tells nobody which addresses are registered. A new account can "
        "sign in at once; the owner of a taken address is told by email that someone "
        "tried to register with it, and nothing else happens; a new account's owner gets "
        "a welcome email.",
        responses={
            400: problem_spec(
                400,
                "Malformed body, or a value refused (a password the policy refuses, control "
                "characters in the name); `errors` names the field",
                invalid_input_example(
                    "password", "this password is too common; choose a longer, less predictable one"
                ),
                invalid_request_example("full_name", "Object missing required field `full_name`"),
            ),
            **_429,
        },
    )
    async def register(
        self,
        data: JSONBody[RegisterRequest],
        request: Request[Any, Any, Any],
        register: FromDishka[RegisterPatient],
    ) -> Response[RegistrationReceivedView]:
        received = await register(
            RegisterCommand(
                email=data.email,
                password=data.password,
                full_name=data.full_name,
                phone=data.phone,
                timezone=data.timezone,
                client_ip=client_ip(request),
            )
        )
        return Response(RegistrationReceivedView.of(received), status_code=202, headers=NO_STORE)

    @post(
        "/login",
        status_code=200,
        summary="Sign in with email and password",
        description="Returns the token pair and also sets the session cookies for browsers.",
        responses={
            **_400,
            401: problem_spec(
                401,
                "Wrong email or password, or a deactivated account",
                problem_example(401, "unauthenticated", "invalid email or password"),
            ),
            **_429,
        },
    )
    async def login(
        self,
        data: JSONBody[LoginRequest],
        request: Request[Any, Any, Any],
        login: FromDishka[Login],
    ) -> Response[TokenResponse]:
        pair = await login(
            LoginCommand(
                email=data.email,
                password=data.password,
                client_ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
        )
        return Response(TokenResponse.of(pair), cookies=session_cookies(pair), headers=NO_STORE)

    @post(
        "/refresh",
        status_code=200,
        security=schemes.REFRESH,
        summary="Trade a refresh token for a new pair",
        description="The refresh token comes from the body, or from the refresh cookie "
        "(then with the X-CSRF-Token header). It is single use: presenting it again "
        "closes the whole session.",
        responses={
            **_400,
            401: problem_spec(
                401,
                "Invalid, expired or reused refresh token",
                problem_example(
                    401,
                    "unauthenticated",
                    "the refresh token is invalid or expired; sign in again",
                ),
            ),
            **_403_CSRF,
            **_429,
        },
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        refresh: FromDishka[RefreshTokens],
        data: JSONBody[RefreshRequest | None] = None,
    ) -> Response[TokenResponse]:
        token = data.refresh_token if data is not None else None
        if not token:
            token = request.cookies.get(REFRESH_COOKIE)
            if not token:
                raise AuthenticationFailed("no refresh token: send refresh_token or the cookie")
            check_csrf(request)
        pair = await refresh(
            token, SignInClient(client_ip(request), request.headers.get("user-agent"))
        )
        cookies = session_cookies(pair, csrf_token=request.cookies.get(CSRF_COOKIE))
        return Response(TokenResponse.of(pair), cookies=cookies, headers=NO_STORE)

    @post(
        "/logout",
        status_code=204,
        security=schemes.LOGOUT,
        summary="Sign out: end the session",
        description="Revokes the session's refresh tokens and the access token presented. "
        "Works with an access token, a refresh token (body or cookie), or both.",
        responses={
            204: ResponseSpec(
                data_container=None,
                description="Signed out; the session cookies are cleared",
                generate_examples=False,
            ),
            **_400,
            **_401,
            **_403_CSRF,
        },
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        logout: FromDishka[Logout],
        data: JSONBody[LogoutRequest | None] = None,
    ) -> Response[None]:
        principal: Principal | None
        try:
            principal = await authenticate(request)
        except AuthenticationFailed:
            principal = None  # e.g. an expired access token: the refresh token still counts
        refresh_token = data.refresh_token if data is not None else None
        # A bearer client is not a browser session: its cookies (if any) are not read.
        if not refresh_token and "authorization" not in request.headers:
            refresh_token = request.cookies.get(REFRESH_COOKIE) or None
            if refresh_token is not None:
                check_csrf(request)
        if principal is None and refresh_token is None:
            raise AuthenticationFailed("authentication required")
        await logout(
            LogoutCommand(
                claims=principal.claims if principal is not None else None,
                refresh_token=refresh_token,
            )
        )
        return Response(None, status_code=204, cookies=cleared_session_cookies())

    @get("/me", guards=[requires_auth], summary="My account", responses=_401)
    async def me(self, actor: NamedDependency[Actor], get_me: FromDishka[GetMe]) -> UserView:
        return UserView.of(await get_me(actor))

    @patch(
        "/me",
        guards=[requires_auth],
        summary="Update my name, phone, timezone or notification opt-outs",
        responses={
            400: problem_spec(
                400,
                "Malformed body or an invalid value; `errors` names the field",
                invalid_input_example(
                    "phone", "'600 11 10 01' is not an E.164 phone number (e.g. +34600111222)"
                ),
            ),
            **_401,
            **_403_CSRF,
        },
    )
    async def update_me(
        self,
        data: JSONBody[UpdateMeRequest],
        actor: NamedDependency[Actor],
        update: FromDishka[UpdateMyProfile],
    ) -> UserView:
        changes = ProfileChanges(
            full_name=_unset_to_unchanged(data.full_name),
            phone=_unset_to_unchanged(data.phone),
            timezone=_unset_to_unchanged(data.timezone),
            email_opt_out=_unset_to_unchanged(data.email_opt_out),
            sms_opt_out=_unset_to_unchanged(data.sms_opt_out),
        )
        return UserView.of(await update(actor, changes))
