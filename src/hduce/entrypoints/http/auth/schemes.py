"""How a client authenticates, as the OpenAPI document declares it.

The schemes (``components.securitySchemes``) name what ``security.py`` reads: the bearer
token, the session cookies and the CSRF header. Operations behind ``requires_auth`` or
``requires_role`` get ``GUARDED_*`` (the app derives it from the guards); the few that
authenticate by themselves (refresh, logout) declare theirs on the handler.
"""

from __future__ import annotations

from typing import Final

from litestar.openapi.spec import SecurityRequirement, SecurityScheme

from hduce.entrypoints.http.auth.cookies import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
)

BEARER: Final = "bearerAuth"
ACCESS_COOKIE_SCHEME: Final = "accessCookie"
REFRESH_COOKIE_SCHEME: Final = "refreshCookie"
CSRF: Final = "csrfHeader"
CLIENT_BASIC: Final = "clientBasic"

SECURITY_SCHEMES: Final[dict[str, SecurityScheme]] = {
    BEARER: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="The `access_token` of `POST /api/v1/auth/login` (or `/auth/refresh`) "
        "in `Authorization: Bearer <token>`. Cookies are ignored when it is present.",
    ),
    ACCESS_COOKIE_SCHEME: SecurityScheme(
        type="apiKey",
        name=ACCESS_COOKIE,
        security_scheme_in="cookie",
        description="Browsers: the access-token cookie set at sign-in (HttpOnly, Secure). "
        f"Unsafe methods also need the `{CSRF_HEADER}` header.",
    ),
    REFRESH_COOKIE_SCHEME: SecurityScheme(
        type="apiKey",
        name=REFRESH_COOKIE,
        security_scheme_in="cookie",
        description="Browsers: the refresh-token cookie, sent to `/api/v1/auth` only.",
    ),
    CSRF: SecurityScheme(
        type="apiKey",
        name=CSRF_HEADER,
        security_scheme_in="header",
        description=f"Double-submit CSRF token: the value of the `{CSRF_COOKIE}` cookie, "
        "required with cookie authentication on POST, PUT, PATCH and DELETE.",
    ),
    CLIENT_BASIC: SecurityScheme(
        type="http",
        scheme="basic",
        description="A registered service client (`POST /api/v1/admin/service-clients`): "
        "`client_id:client_secret` (each form-urlencoded first, RFC 6749 §2.3.1). Only "
        "`/api/v1/oauth/*` read it.",
    ),
}

#: A guarded GET: bearer token, or the access cookie.
GUARDED_SAFE: Final[list[SecurityRequirement]] = [{BEARER: []}, {ACCESS_COOKIE_SCHEME: []}]
#: A guarded POST, PUT, PATCH or DELETE: bearer token, or the access cookie + CSRF header.
GUARDED_UNSAFE: Final[list[SecurityRequirement]] = [
    {BEARER: []},
    {ACCESS_COOKIE_SCHEME: [], CSRF: []},
]
#: ``/auth/refresh``: the token in the body (no scheme), or the refresh cookie + CSRF.
REFRESH: Final[list[SecurityRequirement]] = [{}, {REFRESH_COOKIE_SCHEME: [], CSRF: []}]
#: ``/auth/logout``: any credential of the session, or a refresh token in the body.
LOGOUT: Final[list[SecurityRequirement]] = [*GUARDED_UNSAFE, *REFRESH]
#: ``/oauth/introspect`` and ``/oauth/revoke``: a service client, by HTTP Basic or with
#: ``client_id`` and ``client_secret`` in the form (no scheme).
SERVICE_CLIENT: Final[list[SecurityRequirement]] = [{CLIENT_BASIC: []}, {}]
