"""redis-py, imported without the OpenTelemetry SDK (about 2.5 MB of resident memory).

Whenever ``opentelemetry-sdk`` is installed (the ``tracing`` extra), redis-py imports its
metrics SDK at import time, for redis-py's own connection metrics, which stay off until
an application turns them on (``redis.observability``); HDUCE never does. With the SDK
marked missing during the import, redis-py takes it as not installed. HDUCE's tracing
(``HDUCE_OTLP_ENDPOINT``) instruments redis-py from outside
(opentelemetry-instrumentation-redis) and loads the SDK itself. The mark is removed at
once: the SDK still imports normally later. (The pattern of ``hduce.entrypoints.worker``.)
Imported first by ``hduce.adapters.redis``.
"""

from __future__ import annotations

import sys

_OTEL_SDK = "opentelemetry.sdk"


def _import_redis_without_the_otel_sdk() -> None:
    if "redis" in sys.modules or _OTEL_SDK in sys.modules:
        return  # already imported (tracing on, a broker, a test process): nothing to save
    sys.modules[_OTEL_SDK] = None  # type: ignore[assignment]  # "not installed"
    try:
        import redis.asyncio  # noqa: F401
    finally:
        del sys.modules[_OTEL_SDK]


_import_redis_without_the_otel_sdk()
