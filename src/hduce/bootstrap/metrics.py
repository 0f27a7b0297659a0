"""Prometheus metrics.

HTTP metrics come from Litestar's Prometheus middleware; the objects below are
the application's own, created once at import (prometheus_client refuses a
second registration of the same name) and updated by whichever module does
the work.

With several worker processes each one has its own registry, so a scrape of
/metrics sees one worker. Set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory,
before the processes start) to aggregate; the ``multiprocess_mode`` of each
gauge says how.

``HDUCE_METRICS_PORT`` moves /metrics off the HTTP port to a listener of its own
(prometheus_client's, in a thread), so the public port does not expose it:

* one HTTP worker (the default): that process serves its metrics, started and
  stopped with the app (``app_metrics_listener``);
* ``--workers N`` > 1: one port cannot be shared by N processes, so the server's
  parent process serves the metrics of all of them (``workers_metrics_listener``),
  aggregated from ``PROMETHEUS_MULTIPROC_DIR``, which is then required; the parent
  empties it of the files of earlier runs before the workers start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import structlog
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from hduce.application.ports import (
    CheckInRequest,
    DeviceInbox,
    DeviceReply,
    EmailSender,
    EventPublisher,
    HeartbeatRequest,
    OutboxStats,
    SmsSender,
)
from hduce.bootstrap.settings import Settings, SettingsError
from hduce.domain.events import DomainEvent

METRICS_PATH = "/metrics"
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

_log = structlog.get_logger(__name__)

OUTBOX_BACKLOG = Gauge(
    "hduce_outbox_backlog",
    "Outbox events written but not yet relayed to the broker.",
    multiprocess_mode="max",
)
OUTBOX_OLDEST_AGE_SECONDS = Gauge(
    "hduce_outbox_oldest_age_seconds",
    "Age of the oldest unrelayed outbox event (0 when the outbox is empty).",
    multiprocess_mode="max",
)
EVENTS_PUBLISHED = Counter(
    "hduce_events_published",
    "Domain events relayed from the outbox to the event bus.",
    ["type"],
)
EVENTS_CONSUMED = Counter(
    "hduce_events_consumed",
    "Events handled by a consumer; outcome is processed, duplicate or failed.",
    ["consumer", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "hduce_events_dead_lettered",
    "Broker messages moved to a consumer's dead letters; reason is malformed (the "
    "message did not decode) or failed (the handler failed every attempt).",
    ["consumer", "reason"],
)
NOTIFICATIONS_SENT = Counter(
    "hduce_notifications_sent",
    "Notification delivery attempts; status is sent or failed.",
    ["channel", "status"],
)
DEVICE_MESSAGES = Counter(
    "hduce_device_messages",
    "Messages of check-in devices; kind is checkin or heartbeat, outcome is checked_in, "
    "already_checked_in, seen, refused (the rules said no), unauthorized (unknown or "
    "revoked device, wrong secret) or malformed.",
    ["kind", "outcome"],
)


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="hduce",
        prefix="hduce",
        # Label by route template (/appointments/{id}), not by raw path, and
        # ignore paths no route matches: both would grow label sets unboundedly.
        group_path=True,
        exclude_unhandled_paths=True,
        exclude=[f"^{METRICS_PATH}$"],
    )


class MetricsController(PrometheusController):
    """GET /metrics in the Prometheus text format; kept out of the OpenAPI schema."""

    path = METRICS_PATH
    include_in_schema = False


# ---------------------------------------------------------------- a port of its own


def collecting_registry() -> CollectorRegistry:
    """What a scrape reports: this process, or every process of the multiprocess directory."""
    directory = os.environ.get(MULTIPROCESS_DIR_ENV)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


@contextmanager
def metrics_listener(host: str, port: int) -> Iterator[None]:
    """Serve the metrics on ``host:port`` (any path) until the block ends."""
    try:
        server, thread = start_http_server(port, addr=host, registry=collecting_registry())
    except OSError as exc:
        raise SettingsError(
            f"HDUCE_METRICS_PORT={port}: cannot listen on {host}:{port} ({exc.strerror})"
        ) from exc
    _log.info("metrics listening", url=f"http://{host}:{port}{METRICS_PATH}")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def app_metrics_listener(settings: Settings) -> AbstractContextManager[None]:
    """The listener a single-worker app runs beside HTTP (nothing when unconfigured, or
    when several workers run: their parent serves them)."""
    port = settings.http.metrics_port
    if port is None or settings.http.workers > 1:
        return nullcontext()
    return metrics_listener(settings.http.host, port)


def workers_metrics_listener(
    settings: Settings, host: str, workers: int
) -> AbstractContextManager[None]:
    """For the parent of ``workers`` > 1 HTTP processes: every worker's metrics, one port."""
    port = settings.http.metrics_port
    if port is None or workers == 1:
        return nullcontext()
    directory = os.environ.get(MULTIPROCESS_DIR_ENV, "")
    if not directory or not Path(directory).is_dir():
        raise SettingsError(
            f"HDUCE_METRICS_PORT with {workers} workers needs {MULTIPROCESS_DIR_ENV}: a "
            "directory for this server's metrics files, so one port reports every worker"
        )
    # Files of processes of an earlier run would be added to this run's counters.
    for stale in Path(directory).glob("*.db"):
        stale.unlink()
    return metrics_listener(host, port)


# ---------------------------------------------------------------- port decorators
# Counting happens here, around the ports, so the application layer stays free of
# Prometheus and every adapter is counted the same way.


class MeteredPublisher:
    """An ``EventPublisher`` that counts what the bus accepted, by event type."""

    def __init__(self, inner: EventPublisher) -> None:
        self._inner = inner

    async def publish(self, event: DomainEvent) -> None:
        await self._inner.publish(event)
        EVENTS_PUBLISHED.labels(type=event.type).inc()


class PrometheusConsumerMetrics:
    """What broker consumers report (``hduce.adapters.messaging.consumers``)."""

    def processed(self, consumer: str) -> None:
        EVENTS_CONSUMED.labels(consumer=consumer, outcome="processed").inc()

    def failed(self, consumer: str) -> None:
        EVENTS_CONSUMED.labels(consumer=consumer, outcome="failed").inc()

    def dead_lettered(self, consumer: str, reason: str) -> None:
        EVENTS_DEAD_LETTERED.labels(consumer=consumer, reason=reason).inc()


class MeteredEmailSender:
    def __init__(self, inner: EmailSender) -> None:
        self._inner = inner

    async def send(self, *, to: str, subject: str, body: str) -> None:
        try:
            await self._inner.send(to=to, subject=subject, body=body)
        except Exception:
            NOTIFICATIONS_SENT.labels(channel="email", status="failed").inc()
            raise
        NOTIFICATIONS_SENT.labels(channel="email", status="sent").inc()


class MeteredSmsSender:
    def __init__(self, inner: SmsSender) -> None:
        self._inner = inner

    async def send(self, *, to: str, body: str) -> None:
        try:
            await self._inner.send(to=to, body=body)
        except Exception:
            NOTIFICATIONS_SENT.labels(channel="sms", status="failed").inc()
            raise
        NOTIFICATIONS_SENT.labels(channel="sms", status="sent").inc()


class MeteredDeviceInbox:
    """A ``DeviceInbox`` that counts each message by kind and outcome."""

    def __init__(self, inner: DeviceInbox) -> None:
        self._inner = inner

    async def check_in(self, request: CheckInRequest) -> DeviceReply:
        return _counted(await self._inner.check_in(request))

    async def heartbeat(self, request: HeartbeatRequest) -> DeviceReply:
        return _counted(await self._inner.heartbeat(request))

    async def malformed(self, kind: str, device_id: str, error: str) -> DeviceReply:
        return _counted(await self._inner.malformed(kind, device_id, error))


def _counted(reply: DeviceReply) -> DeviceReply:
    DEVICE_MESSAGES.labels(kind=reply.kind, outcome=reply.outcome.value).inc()
    return reply


def record_outbox_stats(stats: OutboxStats) -> None:
    OUTBOX_BACKLOG.set(stats.backlog)
    OUTBOX_OLDEST_AGE_SECONDS.set(stats.oldest_age_seconds)
