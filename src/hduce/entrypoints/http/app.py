"""The Litestar application factory.

``create_app`` only assembles HTTP concerns around a ready dishka container:
health, metrics, OpenAPI and AsyncAPI, problem details, security headers, request ids and
access logs, strict input decoding, the ``/api/v1`` router, and a lifespan that runs
background services (outbox relay, in-process consumers) and closes the container on
shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from dishka import AsyncContainer
from dishka.integrations.litestar import DishkaRouter, setup_dishka
from litestar import Litestar
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from hduce.bootstrap.metrics import app_metrics_listener, forget_this_process
from hduce.bootstrap.settings import Settings
from hduce.bootstrap.tracing import active_telemetry
from hduce.entrypoints.http.allow import CompleteAllowMiddleware
from hduce.entrypoints.http.asyncapi import asyncapi_handlers
from hduce.entrypoints.http.decoding import StrictRequest, enforce_strict_inputs
from hduce.entrypoints.http.health import HealthController
from hduce.entrypoints.http.metrics import MetricsController, prometheus_config
from hduce.entrypoints.http.openapi import (
    ClosedStructSchemaPlugin,
    conform_operations,
    declare_security,
    openapi_config,
)
from hduce.entrypoints.http.problems import problem_exception_handlers
from hduce.entrypoints.http.request_context import RequestContextMiddleware
from hduce.entrypoints.http.security_headers import SecurityHeadersMiddleware

API_PREFIX = "/api/v1"
SCHEMA_PATH = "/schema"

BackgroundService = Callable[[], AbstractAsyncContextManager[None]]

_DESCRIPTION = (
    "Medical appointment booking: patients book, doctors approve, reject and "
    "complete, nobody is double-booked, and everyone is notified in the app, by "
    "email and by SMS. Errors are RFC 9457 problem details "
    "(`application/problem+json`) with a stable `code`. Any operation may answer "
    "503 `service-unavailable` with `Retry-After` when the service is overloaded or "
    "its database is unreachable: retry after that many seconds."
)


def create_app(
    container: AsyncContainer,
    settings: Settings,
    *,
    background: Sequence[BackgroundService] = (),
    route_handlers: Sequence[ControllerRouterHandler] = (),
    root_route_handlers: Sequence[ControllerRouterHandler] = (),
    template_config: TemplateConfig[Any] | None = None,
) -> Litestar:
    """An ASGI app serving ``route_handlers`` under ``/api/v1``.

    Handlers on that router get ``FromDishka[...]`` parameters injected without
    ``@inject``. The app owns ``container`` from here on: it is closed at shutdown.
    """
    # DishkaRouter wraps each handler so FromDishka parameters are resolved
    # from the per-request container that setup_dishka's middleware opens.
    api = DishkaRouter(API_PREFIX, route_handlers=list(route_handlers))
    # With a metrics port, /metrics is served there only (see bootstrap.metrics).
    metrics = [MetricsController] if settings.http.metrics_port is None else []
    # A server span per request when tracing is on (first: it wraps the others).
    telemetry = active_telemetry()
    tracing = [telemetry.http_middleware()] if telemetry is not None else []
    app = Litestar(
        route_handlers=[
            HealthController,
            *metrics,
            *asyncapi_handlers(),
            api,
            *root_route_handlers,
        ],
        middleware=[*tracing, prometheus_config().middleware],
        exception_handlers=problem_exception_handlers(),
        request_class=StrictRequest,
        lifespan=[_lifespan(container, settings, background)],
        plugins=[ClosedStructSchemaPlugin()],
        template_config=template_config,
        openapi_config=openapi_config(
            path=SCHEMA_PATH, version=_package_version(), description=_DESCRIPTION
        ),
        # Our structlog setup owns logging; Litestar's default config would add
        # its own handler and print tracebacks in a second format.
        logging_config=None,
        # Debug mode would answer 500s with tracebacks; never expose internals.
        debug=False,
    )
    app.state.settings = settings
    declare_security(app)
    conform_operations(app)
    setup_dishka(container, app)
    app.asgi_handler = SecurityHeadersMiddleware(
        CompleteAllowMiddleware(app.asgi_handler, app.routes),
        private_prefix=API_PREFIX,
        viewer_prefix=SCHEMA_PATH,
        hsts_max_age=settings.http.hsts_max_age,
    )
    enforce_strict_inputs(app)
    # Outermost, so the request id is bound before dishka, routing and the
    # exception handlers run, and unmatched routes get one as well.
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler)
    return app


def _lifespan(
    container: AsyncContainer, settings: Settings, background: Sequence[BackgroundService]
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # Registered first so it runs last: services stop before what they use closes.
            stack.push_async_callback(container.close)
            # Once the services stopped: this process's live gauges (open streams) stop counting.
            stack.callback(forget_this_process)
            stack.enter_context(app_metrics_listener(settings))
            for service in background:
                await stack.enter_async_context(service())
            yield

    return lifespan


def _package_version() -> str:
    try:
        return version("hduce")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"
