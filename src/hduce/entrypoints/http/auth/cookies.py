"""Session cookies for browser clients.

* ``__Host-hduce_access``: the access token; HttpOnly, Secure, SameSite=Lax, path /.
* ``__Secure-hduce_refresh``: the refresh token; HttpOnly, Secure, SameSite=Strict, and
  only sent to ``/api/v1/auth`` (refresh, logout).
* ``__Host-hduce_csrf``: the CSRF token; Secure, SameSite=Strict, readable by the page's
  JavaScript, which echoes it in ``X-CSRF-Token`` on unsafe requests authenticated by
  cookie (double-submit). The ``__Host-`` prefix stops a sibling subdomain from planting
  its own value.
* ``__Secure-hduce_oauth``: binds a Google sign-in to the browser that started it.

Requests with ``Authorization: Bearer`` never look at these cookies.
"""

from __future__ import annotations

import secrets
from typing import Final

from litestar.datastructures import Cookie

from hduce.application.identity.sessions import TokenPair

ACCESS_COOKIE: Final = "__Host-hduce_access"
REFRESH_COOKIE: Final = "__Secure-hduce_refresh"
CSRF_COOKIE: Final = "__Host-hduce_csrf"
OAUTH_COOKIE: Final = "__Secure-hduce_oauth"
CSRF_HEADER: Final = "X-CSRF-Token"

AUTH_PATH: Final = "/api/v1/auth"
GOOGLE_PATH: Final = AUTH_PATH + "/google"


def session_cookies(pair: TokenPair, *, csrf_token: str | None = None) -> list[Cookie]:
    """Set-Cookie for a new or refreshed session; keeps ``csrf_token`` when given."""
    refresh_seconds = max(0, int((pair.refresh_expires_at - pair.access.issued_at).total_seconds()))
    return [
        Cookie(
            key=ACCESS_COOKIE,
            value=pair.access.token,
            path="/",
            max_age=pair.access.expires_in,
            secure=True,
            httponly=True,
            samesite="lax",
        ),
        Cookie(
            key=REFRESH_COOKIE,
            value=pair.refresh_token,
            path=AUTH_PATH,
            max_age=refresh_seconds,
            secure=True,
            httponly=True,
            samesite="strict",
        ),
        Cookie(
            key=CSRF_COOKIE,
            value=csrf_token or secrets.token_urlsafe(32),
            path="/",
            max_age=refresh_seconds,
            secure=True,
            httponly=False,
            samesite="strict",
        ),
    ]


def cleared_session_cookies() -> list[Cookie]:
    return [
        Cookie(key=ACCESS_COOKIE, value="", path="/", max_age=0, secure=True, httponly=True),
        Cookie(key=REFRESH_COOKIE, value="", path=AUTH_PATH, max_age=0, secure=True, httponly=True),
        Cookie(key=CSRF_COOKIE, value="", path="/", max_age=0, secure=True),
    ]


def oauth_binding_cookie(binding: str, max_age: int) -> Cookie:
    # Lax: the provider's redirect back is a cross-site top-level GET navigation.
    return Cookie(
        key=OAUTH_COOKIE,
        value=binding,
        path=GOOGLE_PATH,
        max_age=max_age,
        secure=True,
        httponly=True,
        samesite="lax",
    )


def cleared_oauth_cookie() -> Cookie:
    return Cookie(
        key=OAUTH_COOKIE, value="", path=GOOGLE_PATH, max_age=0, secure=True, httponly=True
    )
