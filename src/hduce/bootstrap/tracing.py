"""OpenTelemetry traces for a process: on with ``HDUCE_OTLP_ENDPOINT``, off otherwise.

``configure_tracing`` is called once per process by the entry points, next to
``configure_logging``. The OpenTelemetry packages are the ``tracing`` extra
(``hduce[tracing]``; the dev group has it). Off, it returns None and imports nothing: the application's
``tracing()`` hook stays ``NoTracing`` and no OpenTelemetry module is loaded. On, it
builds the SDK's tracer provider (batching spans to the OTLP/HTTP receiver), patches
the asyncpg and Redis clients, installs the ``Tracing`` hook the use cases and
adapters call, and remembers the ``Telemetry`` so that the HTTP app
(``http_middleware``) and the FastStream broker (``provider``) instrument themselves
with the same provider. How the trace context crosses the outbox:
docs/decisions/0012-traces-across-the-outbox.md.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from hduce.application.tracing import install_tracing
from hduce.bootstrap.settings import Settings, SettingsError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

#: Probes and scrapes every few seconds would bury the traces of real requests.
UNTRACED_PATHS = ("^/health", "^/metrics$")
DEFAULT_SERVICE_NAME = "hduce"

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Tracing of this process: the SDK's tracer provider, for the instrumentations."""

    provider: TracerProvider

    def http_middleware(self) -> Any:
        """Litestar's OpenTelemetry middleware (a server span per request, named after
        its route template), without the spans of each ASGI receive/send message."""
        from litestar.plugins.opentelemetry import OpenTelemetryConfig

        return OpenTelemetryConfig(
            tracer_provider=self.provider,
            exclude=list(UNTRACED_PATHS),
            exclude_spans=["receive", "send"],
        ).middleware


_active: Telemetry | None = None
_MISSING = (
    "HDUCE_OTLP_ENDPOINT is set but OpenTelemetry is not installed: install "
    "hduce[tracing] (uv sync --extra tracing)"
)


def check_tracing_installed(settings: Settings) -> None:
    """Refuse, before anything starts, tracing asked for without the ``tracing`` extra."""
    if settings.tracing is None:
        return
    try:
        installed = importlib.util.find_spec("opentelemetry.sdk") is not None
    except ModuleNotFoundError:  # no ``opentelemetry`` package at all
        installed = False
    if not installed:
        raise SettingsError(_MISSING)


def active_telemetry() -> Telemetry | None:
    """The process's tracing, if ``configure_tracing`` turned it on."""
    return _active


def configure_tracing(
    settings: Settings, *, exporter: SpanExporter | None = None
) -> Telemetry | None:
    """Turn tracing on when ``settings`` has an OTLP endpoint (or a test passes its own
    ``exporter``); None, and nothing loaded, otherwise. Calling it again while tracing
    is on returns the same ``Telemetry``."""
    global _active
    if _active is not None:
        return _active
    configured = settings.tracing
    if configured is None and exporter is None:
        return None
    try:
        from hduce.adapters.telemetry import (
            OtelTracing,
            build_tracer_provider,
            instrument_libraries,
        )
    except ImportError as error:
        raise SettingsError(f"{_MISSING} ({error.name} is missing)") from error

    provider = build_tracer_provider(
        service_name=configured.service_name if configured else DEFAULT_SERVICE_NAME,
        sample_ratio=configured.sample_ratio if configured else 1.0,
        otlp_endpoint=configured.otlp_endpoint if configured else None,
        exporter=exporter,
    )
    instrument_libraries(provider)
    install_tracing(OtelTracing(provider))
    _active = Telemetry(provider=provider)
    if configured is not None:
        _log.info(
            "tracing on",
            otlp_endpoint=configured.otlp_endpoint,
            service_name=configured.service_name,
            sample_ratio=configured.sample_ratio,
        )
    return _active


def shutdown_tracing() -> None:
    """Flush and stop tracing, unpatch the clients, and go back to ``NoTracing``."""
    global _active
    telemetry, _active = _active, None
    if telemetry is None:
        return
    from hduce.adapters.telemetry import uninstrument_libraries

    install_tracing(None)
    uninstrument_libraries()
    telemetry.provider.shutdown()
