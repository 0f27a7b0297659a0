"""Identity and access over HTTP: the ``/auth`` routes, the JWKS, and the
authentication mechanism every controller uses (``security``).

Wiring (composition root)::

    create_app(
        container,
        settings,
        route_handlers=[*auth.route_handlers(settings), ...],
        root_route_handlers=auth.root_route_handlers(settings),  # the JWKS
    )
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.bootstrap.settings import ASYMMETRIC_JWT_ALGORITHMS, Settings
from hduce.entrypoints.http.auth.auth import AuthController
from hduce.entrypoints.http.auth.google import GoogleAuthController
from hduce.entrypoints.http.auth.jwks import jwks
from hduce.entrypoints.http.auth.links import AccountLinksController
from hduce.entrypoints.http.auth.sessions import SessionsController
from hduce.entrypoints.http.auth.two_factor import TwoFactorController

__all__ = ["root_route_handlers", "route_handlers"]


def route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1`` (Google's only when configured)."""
    handlers: list[ControllerRouterHandler] = [
        AuthController,
        SessionsController,
        TwoFactorController,
        AccountLinksController,
    ]
    if settings.google is not None:
        handlers.append(GoogleAuthController)
    return handlers


def root_route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """Handlers outside ``/api/v1``: the JWKS, with an asymmetric signing algorithm."""
    return [jwks] if settings.auth.jwt_algorithm in ASYMMETRIC_JWT_ALGORITHMS else []
