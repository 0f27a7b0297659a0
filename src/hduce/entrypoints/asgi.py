"""ASGI application factories: what granian (or any ASGI server) loads.

They live in the entrypoints layer, not in bootstrap, because they import the
HTTP app; bootstrap sits below entrypoints (see the import-linter contracts).
Each server worker process calls a factory once, so configuration is read and
logging configured inside every worker, not only in the parent.
"""

from __future__ import annotations

from typing import Literal

import structlog
from litestar import Litestar
from litestar.types import ControllerRouterHandler

from hduce.bootstrap.container import background_services, build_container
from hduce.bootstrap.logging import configure_logging
from hduce.bootstrap.settings import Settings
from hduce.entrypoints.http.admin import admin_route_handlers
from hduce.entrypoints.http.app import create_app
from hduce.entrypoints.http.appointments import appointment_route_handlers
from hduce.entrypoints.http.auth import identity_root_route_handlers, identity_route_handlers
from hduce.entrypoints.http.clinic import clinic_route_handlers
from hduce.entrypoints.http.notifications import notification_route_handlers

AppMode = Literal["all", "api"]
"""all = HTTP + outbox relay + consumers + scheduler; api = HTTP only."""

_log = structlog.get_logger(__name__)


def build_app(settings: Settings | None = None, *, mode: AppMode = "all") -> Litestar:
    """The HTTP application for ``mode``, reading ``HDUCE_*`` when ``settings`` is None."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    if settings.auth.jwt_secret_is_ephemeral:
        _log.warning(
            "HDUCE_JWT_SECRET is unset: using a random secret for this process; "
            "sessions end when it stops. Set it outside development."
        )
    if settings.broker is not None:
        _log.warning(
            "HDUCE_BROKER_URL is set but not used yet: events are relayed from the "
            "outbox to in-process consumers (hduce serve / hduce worker)"
        )
    container = build_container(settings, mode=mode)
    app = create_app(
        container,
        settings,
        background=background_services(container, settings, mode=mode),
        route_handlers=api_route_handlers(settings),
        root_route_handlers=identity_root_route_handlers(settings),
    )
    _log.info("application built", mode=mode, **settings.summary())
    return app


def build_api_app() -> Litestar:
    """Zero-argument factory for ``hduce api`` (servers call factories without arguments)."""
    return build_app(mode="api")


def api_route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """Every controller mounted under ``/api/v1``."""
    return [
        *identity_route_handlers(settings),
        *clinic_route_handlers(),
        *appointment_route_handlers(),
        *notification_route_handlers(),
        *admin_route_handlers(),
    ]
