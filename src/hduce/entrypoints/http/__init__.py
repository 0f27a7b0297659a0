"""HTTP entry point: the Litestar application and its cross-cutting pieces."""

from hduce.application.ports import ReadinessProbe, ReadinessProbes
from hduce.entrypoints.http.app import API_PREFIX, BackgroundService, create_app

__all__ = ["API_PREFIX", "BackgroundService", "ReadinessProbe", "ReadinessProbes", "create_app"]
