"""Authentication and authorization for every HTTP handler.

The mechanism, for this issue's controllers and every later one:

* ``authenticate(connection)`` resolves the caller once per request (cached in the
  ASGI scope): ``Authorization: Bearer <jwt>`` first; else the access cookie, in
  which case an unsafe method (POST, PUT, PATCH, DELETE) must also carry the CSRF
  double-submit header. The token is checked by the ``Authenticate`` use case from
  the request's dishka container (signature and claims, denylist, account active and
  role from the ``UserAccessCache``: no database read while it is warm).
  No credentials -> None (anonymous); bad credentials -> ``AuthenticationFailed``.
  Resolution is lazy, so public endpoints never fail on a stale cookie.
* Guards: ``requires_auth`` (anyone signed in) and ``requires_role(Role.ADMIN, ...)``.
  Anonymous -> 401, wrong role -> 403. Put them on controllers or handlers. With
  ``HDUCE_REQUIRE_ADMIN_2FA`` they also refuse an admin session that did not pass a
  second factor (403, ``AdminSecondFactorRule``), but on handlers whose ``opt`` has
  ``BEFORE_SECOND_FACTOR`` (the ``/auth/2fa`` routes, where that admin gets one).
* Dependencies ``principal`` (``Principal``: the account's access state + token claims) and
  ``actor`` (``hduce.domain.identity.Actor``), in ``AUTH_DEPENDENCIES``; register them
  on a controller, router or the app, then declare ``actor: Actor`` in a handler.

Ownership ("only that doctor", "the patient themself") is the use cases' job
(``hduce.application.access``); guards only check that the role may try.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from typing import Any, Final

from dishka import AsyncContainer
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler

from hduce.application.identity.sessions import Authenticate, Principal
from hduce.application.identity.two_factor.challenge import AdminSecondFactorRule
from hduce.domain.errors import AuthenticationFailed, DomainError, PermissionDenied
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.auth.cookies import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_STATE_KEY: Final = "hduce_principal"
_ANONYMOUS: Final = object()

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Coroutine[Any, Any, None]]


class CsrfFailed(PermissionDenied):
    """A cookie-authenticated unsafe request without the matching CSRF header (403)."""

    code = "csrf-failed"


def request_container(connection: ASGIConnection[Any, Any, Any, Any]) -> AsyncContainer:
    container = connection.scope.get("state", {}).get("dishka_container")
    if container is None:  # setup_dishka wraps every app; this is a wiring bug
        raise RuntimeError("no dishka request container on this connection")
    return container


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without the header.

    Raises ``AuthenticationFailed`` for another scheme or an empty token.
    """
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("use 'Authorization: Bearer <access token>'")
    return token.strip()


def presented_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The access token the request authenticated with (bearer first, else cookie)."""
    return bearer_token(connection) or connection.cookies.get(ACCESS_COOKIE) or None


def check_csrf(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """The double-submit check: header ``X-CSRF-Token`` equals the CSRF cookie."""
    cookie = connection.cookies.get(CSRF_COOKIE) or ""
    header = connection.headers.get(CSRF_HEADER) or ""
    if not cookie or not header or not secrets.compare_digest(cookie, header):
        raise CsrfFailed(
            f"cookie-authenticated {connection.scope.get('method', 'unsafe')} requests need "
            f"the {CSRF_HEADER} header (the value of the {CSRF_COOKIE} cookie)"
        )


def needs_csrf(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return str(connection.scope.get("method", "GET")).upper() not in SAFE_METHODS


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller of this request, None when anonymous (resolved once, then cached)."""
    state = connection.scope.setdefault("state", {})
    cached = state.get(_STATE_KEY)
    if isinstance(cached, DomainError):
        raise cached
    if cached is _ANONYMOUS:
        return None
    if isinstance(cached, Principal):
        return cached
    try:
        principal = await _resolve(connection)
    except DomainError as exc:
        state[_STATE_KEY] = exc
        raise
    state[_STATE_KEY] = principal if principal is not None else _ANONYMOUS
    if principal is not None:
        connection.scope["user"] = principal.user
        connection.scope["auth"] = principal.claims
    return principal


async def _resolve(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    token = bearer_token(connection)
    from_cookie = False
    if token is None:
        token = connection.cookies.get(ACCESS_COOKIE) or None
        if token is None:
            return None
        from_cookie = True
    use_case = await request_container(connection).get(Authenticate)
    principal = await use_case(token)
    if from_cookie and needs_csrf(connection):
        check_csrf(connection)
    return principal


#: ``opt`` key of the route handlers an admin session without a second factor may use
#: while ``HDUCE_REQUIRE_ADMIN_2FA`` is on (the ``/auth/2fa`` routes).
BEFORE_SECOND_FACTOR: Final = "before_second_factor"


async def require_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = await authenticate(connection)
    if principal is None:
        raise AuthenticationFailed("authentication required")
    if principal.user.role is Role.ADMIN and not _before_second_factor(connection):
        rule = await request_container(connection).get(AdminSecondFactorRule)
        await rule.check(principal)
    return principal


def _before_second_factor(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    handler = connection.scope.get("route_handler")
    return bool(handler is not None and handler.opt.get(BEFORE_SECOND_FACTOR))


# ------------------------------------------------------------------ guards


_AUTHENTICATING_GUARDS: set[Guard] = set()


def authenticates(guard: object) -> bool:
    """Whether ``guard`` lets signed-in callers only (``requires_auth``, ``requires_role``).

    The OpenAPI document derives each operation's security requirement from it.
    """
    return guard in _AUTHENTICATING_GUARDS


def _describes_the_path(handler: BaseRouteHandler) -> bool:
    # Litestar answers OPTIONS with a handler of its own (204 + Allow) that inherits the
    # controller's guards. Listing a path's methods reveals nothing the 405 would not,
    # and clients ask without credentials: let it through.
    return getattr(handler, "http_methods", None) == {"OPTIONS"}


async def requires_auth(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if not _describes_the_path(handler):
        await require_principal(connection)


_AUTHENTICATING_GUARDS.add(requires_auth)


def requires_role(*roles: Role) -> Guard:
    """A guard letting through signed-in users with one of ``roles``."""
    if not roles:
        raise ValueError("requires_role needs at least one role")
    allowed = frozenset(roles)
    names = " or ".join(sorted(role.value for role in allowed))

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if _describes_the_path(handler):
            return
        principal = await require_principal(connection)
        if principal.user.role not in allowed:
            raise PermissionDenied(f"this requires the {names} role")

    guard.__name__ = f"requires_role({names})"
    _AUTHENTICATING_GUARDS.add(guard)
    return guard


async def json_bodies_only(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """415 for a request body that is not ``application/json``.

    Browsers send ``text/plain`` (and forms) cross-site without a CORS preflight, and a
    ``text/plain`` body can be made to look like JSON: without this, a hostile page could
    sign a visitor into the attacker's account (login CSRF) or register accounts.
    """
    if str(connection.scope.get("method", "GET")).upper() in SAFE_METHODS:
        return
    headers = connection.headers
    if headers.get("content-length", "0") in ("", "0") and "transfer-encoding" not in headers:
        return
    media_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=415, detail="send the body as JSON (Content-Type: application/json)"
        )


# ------------------------------------------------------------------ dependencies


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return await require_principal(request)


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    return (await require_principal(request)).actor


AUTH_DEPENDENCIES: Final[dict[str, Provide]] = {
    "principal": Provide(provide_principal),
    "actor": Provide(provide_actor),
}
"""Handler parameters ``principal: Principal`` and ``actor: Actor``."""


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    """The peer address (the ASGI server applies trusted proxy headers, if configured)."""
    return request.client.host if request.client else None
