"""Identity and access over HTTP: the ``/auth`` and ``/admin/users`` routes, the JWKS,
and the authentication mechanism every controller uses (``security``).

Wiring (composition root)::

    create_app(container, settings, route_handlers=[*identity_route_handlers(settings), ...])
    app.register(...) for each of identity_root_route_handlers(settings)   # the JWKS
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.bootstrap.settings import ASYMMETRIC_JWT_ALGORITHMS, Settings
from hduce.entrypoints.http.auth.controller import AuthController
from hduce.entrypoints.http.auth.google import GoogleAuthController
from hduce.entrypoints.http.auth.jwks import JWKS_PATH, jwks
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    CsrfFailed,
    authenticate,
    json_bodies_only,
    require_principal,
    requires_auth,
    requires_role,
)

__all__ = [
    "AUTH_DEPENDENCIES",
    "JWKS_PATH",
    "AuthController",
    "CsrfFailed",
    "GoogleAuthController",
    "authenticate",
    "identity_root_route_handlers",
    "identity_route_handlers",
    "json_bodies_only",
    "require_principal",
    "requires_auth",
    "requires_role",
]


def identity_route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1`` (Google's only when configured)."""
    # Imported here: admin_users imports this package's modules.
    from hduce.entrypoints.http.admin_users import AdminUsersController

    handlers: list[ControllerRouterHandler] = [AuthController, AdminUsersController]
    if settings.google is not None:
        handlers.append(GoogleAuthController)
    return handlers


def identity_root_route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """Handlers outside ``/api/v1``: the JWKS, with an asymmetric signing algorithm."""
    return [jwks] if settings.auth.jwt_algorithm in ASYMMETRIC_JWT_ALGORITHMS else []
