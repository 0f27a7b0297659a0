"""ASGI application factories: what granian (or any ASGI server) loads.

They live in the entrypoints layer, not in bootstrap, because they import the
HTTP app; bootstrap sits below entrypoints (see the import-linter contracts).
Each server worker process calls a factory once, so configuration is read and
logging configured inside every worker, not only in the parent.
"""

from __future__ import annotations

# First: Litestar without advanced-alchemy (the module says why).
from hduce.entrypoints import _litestar  # noqa: F401

# isort: split
from typing import Literal

import structlog
from litestar import Litestar
from litestar.types import ControllerRouterHandler

from hduce.bootstrap.background import background_services
from hduce.bootstrap.container import build_container
from hduce.bootstrap.logging import configure_logging
from hduce.bootstrap.settings import Settings
from hduce.bootstrap.tracing import configure_tracing
from hduce.entrypoints import web
from hduce.entrypoints.heap import trimmed_heap
from hduce.entrypoints.http import (
    admin,
    appointments,
    auth,
    clinic,
    notifications,
    service_tokens,
    waitlist,
)
from hduce.entrypoints.http.app import create_app

AppMode = Literal["all", "api"]
"""all = HTTP + outbox relay + consumers + scheduler; api = HTTP only."""

_log = structlog.get_logger(__name__)


def build_app(settings: Settings | None = None, *, mode: AppMode = "all") -> Litestar:
    """The HTTP application for ``mode``, reading ``HDUCE_*`` when ``settings`` is None."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    configure_tracing(settings)
    if settings.auth.jwt_secret_is_ephemeral:
        _log.warning(
            "HDUCE_JWT_SECRET is unset: using a random secret for this process; "
            "sessions end when it stops. Set it outside development."
        )
    container = build_container(settings, http=True)
    app = create_app(
        container,
        settings,
        # Last: the heap is trimmed once the other services have started.
        background=[*background_services(container, settings, mode=mode), trimmed_heap],
        route_handlers=api_route_handlers(settings),
        root_route_handlers=root_route_handlers(settings),
        template_config=web.template_config(),
    )
    _log.info("application built", mode=mode, **settings.summary())
    return app


def build_api_app() -> Litestar:
    """Zero-argument factory for ``hduce api`` (servers call factories without arguments)."""
    return build_app(mode="api")


def api_route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """Every controller mounted under ``/api/v1``, feature by feature."""
    # In the order of the OpenAPI document, whose tags the rendered docs list in order
    # of first appearance.
    return [
        *auth.route_handlers(settings),
        *admin.route_handlers(),
        *clinic.route_handlers(),
        *appointments.route_handlers(),
        *waitlist.route_handlers(),
        *notifications.route_handlers(),
        *service_tokens.route_handlers(),
    ]


def root_route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """Handlers mounted outside ``/api/v1`` (beside ``/health``, ``/metrics``, ``/schema``):
    the JWKS when configured, the calendar feeds (``/calendar/{token}.ics``), and the web
    console (``/`` and its pages)."""
    return [
        *auth.root_route_handlers(settings),
        *appointments.root_route_handlers(),
        *web.route_handlers(),
    ]
