"""``/api/v1/auth/google``: sign in with Google (OpenID Connect, PKCE, state, nonce).

Registered only when ``HDUCE_GOOGLE_*`` is configured: otherwise the routes do not
exist (404) and OpenAPI does not list them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Redirect

from hduce.application.identity.google import BeginGoogleSignIn, CompleteGoogleSignIn, OidcCallback
from hduce.application.identity.policy import IdentityPolicy
from hduce.application.ports import IdentityProviderUnavailable
from hduce.domain.errors import AuthenticationFailed
from hduce.entrypoints.http.auth.auth import NO_STORE
from hduce.entrypoints.http.auth.cookies import (
    OAUTH_COOKIE,
    cleared_oauth_cookie,
    oauth_binding_cookie,
    session_cookies,
)
from hduce.entrypoints.http.auth.schemas import TokenResponse
from hduce.entrypoints.http.auth.security import client_ip
from hduce.entrypoints.http.inputs import NO_NUL
from hduce.entrypoints.http.problems import (
    invalid_request_example,
    problem_example,
    problem_response,
    problem_spec,
)

_ERROR_CODE: Final = re.compile(r"[a-z_]{1,64}")
_UNAVAILABLE: Final = {
    503: problem_spec(
        503,
        "The identity provider is unreachable (Retry-After)",
        problem_example(
            503,
            "identity-provider-unavailable",
            "Google sign-in is unavailable right now; try again later.",
            title="Service Unavailable",
        ),
    )
}
_RATE_LIMITED: Final = {
    429: problem_spec(
        429,
        "Too many sign-ins from this address (Retry-After)",
        problem_example(
            429, "rate-limited", "too many requests; retry after 60 s", retry_after_seconds=60
        ),
    )
}


def _unavailable(request: Request[Any, Any, Any]) -> Response[bytes]:
    return problem_response(
        request,
        status=503,
        code="identity-provider-unavailable",
        detail="Google sign-in is unavailable right now; try again later.",
        headers={"Retry-After": "30"},
    )


class GoogleAuthController(Controller):
    path = "/auth/google"
    tags = ("auth",)

    @get(
        "/login",
        status_code=302,
        summary="Start Google sign-in",
        description="Redirects to Google with state, nonce and a PKCE S256 challenge. The "
        "browser must come back to the callback with the cookie set here.",
        responses={
            302: ResponseSpec(
                data_container=None,
                description="To Google's sign-in page (`Location`); sets the binding cookie",
                generate_examples=False,
            ),
            **_RATE_LIMITED,
            **_UNAVAILABLE,
        },
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        begin: FromDishka[BeginGoogleSignIn],
        policy: FromDishka[IdentityPolicy],
    ) -> Response[Any]:
        try:
            redirect = await begin(client_ip(request))
        except IdentityProviderUnavailable:
            return _unavailable(request)
        max_age = int(policy.oidc_state_ttl.total_seconds())
        return Redirect(
            redirect.url,
            status_code=302,
            cookies=[oauth_binding_cookie(redirect.browser_binding, max_age)],
            headers=NO_STORE,
        )

    @get(
        "/callback",
        summary="Finish Google sign-in",
        description="Exchanges the code, verifies the ID token, links the account with "
        "that verified email or creates a patient, and returns the token pair (cookies too).",
        responses={
            200: ResponseSpec(
                data_container=TokenResponse,
                description="Signed in: the token pair (the session cookies are set too)",
                generate_examples=False,
            ),
            400: problem_spec(
                400,
                "A malformed query parameter",
                invalid_request_example(
                    "code",
                    "Expected `str` of length <= 2048",
                    source="query",
                    detail="Validation failed for GET /api/v1/auth/google/callback",
                ),
            ),
            401: problem_spec(
                401,
                "Sign-in refused",
                problem_example(
                    401,
                    "unauthenticated",
                    "this sign-in expired or was used already; start again",
                ),
            ),
            **_UNAVAILABLE,
        },
    )
    async def callback(
        self,
        request: Request[Any, Any, Any],
        complete: FromDishka[CompleteGoogleSignIn],
        code: Annotated[str | None, QueryParameter(max_length=2048, pattern=NO_NUL)] = None,
        # "state" is a reserved Litestar parameter name: read the query field under another.
        oauth_state: Annotated[
            str | None, QueryParameter(name="state", max_length=512, pattern=NO_NUL)
        ] = None,
        error: Annotated[str | None, QueryParameter(max_length=256, pattern=NO_NUL)] = None,
    ) -> Response[Any]:
        if error is not None:
            shown = error if _ERROR_CODE.fullmatch(error) else "error"
            raise AuthenticationFailed(f"Google sign-in was not completed ({shown})")
        if not code or not oauth_state:
            raise AuthenticationFailed("the callback needs code and state")
        try:
            pair = await complete(
                OidcCallback(
                    code=code,
                    state=oauth_state,
                    browser_binding=request.cookies.get(OAUTH_COOKIE),
                    client_ip=client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                )
            )
        except IdentityProviderUnavailable:
            return _unavailable(request)
        return Response(
            TokenResponse.of(pair),
            cookies=[*session_cookies(pair), cleared_oauth_cookie()],
            headers=NO_STORE,
        )
