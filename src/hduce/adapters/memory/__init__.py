"""In-process implementations of the ports.

They are the embedded defaults of the cache, rate limiter, token store, account-access cache, realtime
fan-out and stream cap, event bus and message sinks when no Redis, broker, SMTP server or SMS
provider is configured, and the persistence (store, units of work, repositories)
of ``InMemoryPersistenceProvider``. Stand-ins that only tests use (fixed clock,
fake password hasher, access tokens and OIDC provider) live in ``tests/fakes``.
"""

from hduce.adapters.memory.access_cache import InMemoryUserAccessCache
from hduce.adapters.memory.bus import DeadLetter, HandlerFailed, InProcessEventBus
from hduce.adapters.memory.cache import InMemoryCache, InMemoryRateLimiter
from hduce.adapters.memory.identity import InMemoryRefreshTokenStore, InMemoryTokenDenylist
from hduce.adapters.memory.messages import (
    DEFAULT_MAIL_DIR,
    DeliveryFailed,
    LogEmailSender,
    LogSmsSender,
    RecordingEmailSender,
    RecordingSmsSender,
    SentEmail,
    SentSms,
)
from hduce.adapters.memory.outbox import InMemoryOutbox
from hduce.adapters.memory.realtime import (
    InMemoryRealtimeFanout,
    InMemoryStreamSlots,
    RealtimeSubscription,
)
from hduce.adapters.memory.sessions import InMemorySessionStore
from hduce.adapters.memory.store import InMemoryStore, OutboxRow
from hduce.adapters.memory.uow import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

__all__ = [
    "DEFAULT_MAIL_DIR",
    "DeadLetter",
    "DeliveryFailed",
    "HandlerFailed",
    "InMemoryCache",
    "InMemoryOutbox",
    "InMemoryRateLimiter",
    "InMemoryRealtimeFanout",
    "InMemoryRefreshTokenStore",
    "InMemorySessionStore",
    "InMemoryStore",
    "InMemoryStreamSlots",
    "InMemoryTokenDenylist",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
    "InMemoryUserAccessCache",
    "InProcessEventBus",
    "LogEmailSender",
    "LogSmsSender",
    "OutboxRow",
    "RealtimeSubscription",
    "RecordingEmailSender",
    "RecordingSmsSender",
    "SentEmail",
    "SentSms",
]
