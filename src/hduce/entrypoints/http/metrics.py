"""Prometheus on the HTTP app: Litestar's middleware (HTTP metrics) and GET /metrics.

The application's own metrics are in ``hduce.bootstrap.metrics``; this part loads
Litestar, which only the HTTP processes need.
"""

from __future__ import annotations

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from hduce.bootstrap.metrics import METRICS_PATH


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
