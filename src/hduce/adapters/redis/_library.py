"""redis-py, imported without the OpenTelemetry SDK (about 2.5 MB of resident memory).

Whenever ``opentelemetry-sdk`` is installed (the ``tracing`` extra), redis-py imports its
metrics SDK at import time, for redis-py's own connection metrics, which stay off until
an application turns them on (``redis.observability``); HDUCE never does. Imported
without it (``hduce.optional_imports``), redis-py takes it as not installed. HDUCE's
tracing (``HDUCE_OTLP_ENDPOINT``) instruments redis-py from outside
(opentelemetry-instrumentation-redis) and loads the SDK itself. Imported first by
``hduce.adapters.redis``.
"""

from __future__ import annotations

from hduce.optional_imports import import_without

import_without("redis.asyncio", missing="opentelemetry.sdk")
