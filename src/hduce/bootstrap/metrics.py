"""Prometheus metrics.

HTTP metrics come from Litestar's Prometheus middleware; the objects below are
the application's own, created once at import (prometheus_client refuses a
second registration of the same name) and updated by whichever module does
the work.

With several worker processes each one has its own registry, so a scrape of
/metrics sees one worker. Set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory,
before the processes start) to aggregate; the ``multiprocess_mode`` of each
gauge says how.
"""

from __future__ import annotations

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter, Gauge

from hduce.application.ports import EmailSender, EventPublisher, OutboxStats, SmsSender
from hduce.domain.events import DomainEvent

METRICS_PATH = "/metrics"

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


def record_outbox_stats(stats: OutboxStats) -> None:
    OUTBOX_BACKLOG.set(stats.backlog)
    OUTBOX_OLDEST_AGE_SECONDS.set(stats.oldest_age_seconds)
