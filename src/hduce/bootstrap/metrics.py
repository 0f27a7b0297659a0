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
