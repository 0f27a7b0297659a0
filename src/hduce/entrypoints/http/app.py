"""The Litestar application factory.

``create_app`` only assembles HTTP concerns around a ready dishka container:
health, metrics, OpenAPI and AsyncAPI, problem details, request ids and access logs, the
``/api/v1`` router, and a lifespan that runs background services (outbox
relay, consumers) and closes the container on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from dishka import AsyncContainer
from dishka.integrations.litestar import DishkaRouter, setup_dishka
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.types import ControllerRouterHandler

from hduce.bootstrap.metrics import MetricsController, prometheus_config
from hduce.bootstrap.settings import Settings
from hduce.entrypoints.http.asyncapi import AsyncApiController
from hduce.entrypoints.http.health import HealthController
from hduce.entrypoints.http.problems import problem_exception_handlers
from hduce.entrypoints.http.request_context import RequestContextMiddleware

API_PREFIX = "/api/v1"
SCHEMA_PATH = "/schema"

BackgroundService = Callable[[], AbstractAsyncContextManager[None]]

_DESCRIPTION = (
    "Medical appointment booking: patients book, doctors approve, reject and "
    "complete, nobody is double-booked, and everyone is notified in the app, by "
    "email and by SMS. Errors are RFC 9457 problem details "
    "(`application/problem+json`) with a stable `code`."
)


def create_app(
    container: AsyncContainer,
    settings: Settings,
    *,
    background: Sequence[BackgroundService] = (),
    route_handlers: Sequence[ControllerRouterHandler] = (),
    root_route_handlers: Sequence[ControllerRouterHandler] = (),
) -> Litestar:
    """An ASGI app serving ``route_handlers`` under ``/api/v1``.

    Handlers on that router get ``FromDishka[...]`` parameters injected without
    ``@inject``. The app owns ``container`` from here on: it is closed at shutdown.
    """
    # DishkaRouter wraps each handler so FromDishka parameters are resolved
    # from the per-request container that setup_dishka's middleware opens.
    api = DishkaRouter(API_PREFIX, route_handlers=list(route_handlers))
    app = Litestar(
        route_handlers=[
            HealthController,
            MetricsController,
            AsyncApiController,
            api,
            *root_route_handlers,
        ],
        middleware=[prometheus_config().middleware],
        exception_handlers=problem_exception_handlers(),
        lifespan=[_lifespan(container, background)],
        openapi_config=_openapi_config(),
        # Our structlog setup owns logging; Litestar's default config would add
        # its own handler and print tracebacks in a second format.
        logging_config=None,
        # Debug mode would answer 500s with tracebacks; never expose internals.
        debug=False,
    )
    app.state.settings = settings
    setup_dishka(container, app)
    # Outermost, so the request id is bound before dishka, routing and the
    # exception handlers run, and unmatched routes get one as well.
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler)
    return app


def _lifespan(
    container: AsyncContainer, background: Sequence[BackgroundService]
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # Registered first so it runs last: services stop before what they use closes.
            stack.push_async_callback(container.close)
            for service in background:
                await stack.enter_async_context(service())
            yield

    return lifespan


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="HDUCE",
        version=_package_version(),
        description=_DESCRIPTION,
        path=SCHEMA_PATH,
        render_plugins=[ScalarRenderPlugin()],
    )


def _package_version() -> str:
    try:
        return version("hduce")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"
