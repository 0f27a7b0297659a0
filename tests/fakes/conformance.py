"""Static proof (for mypy) that every in-memory adapter and test fake satisfies its port.

Never imported at runtime; ``mypy`` checks it (``tests/fakes`` is in its ``files``).
"""

from __future__ import annotations

from hduce.adapters.clock import SystemClock, UuidV7Generator
from hduce.adapters.memory.bus import InProcessEventBus
from hduce.adapters.memory.cache import InMemoryCache, InMemoryRateLimiter
from hduce.adapters.memory.identity import InMemoryRefreshTokenStore, InMemoryTokenDenylist
from hduce.adapters.memory.messages import (
    LogEmailSender,
    LogSmsSender,
    RecordingEmailSender,
    RecordingSmsSender,
)
from hduce.adapters.memory.outbox import InMemoryOutbox, InProcessOutboxSignal
from hduce.adapters.memory.realtime import InMemoryRealtimeFanout, InMemoryStreamSlots
from hduce.adapters.memory.store import InMemoryStore
from hduce.adapters.memory.uow import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory
from hduce.application import ports
from tests.fakes.clock import FixedClock, SequentialIdGenerator
from tests.fakes.identity import FakeAccessTokens, FakeOidcProvider, FakePasswordHasher


def _conformance(store: InMemoryStore, clock: FixedClock) -> None:
    system_clock: ports.Clock = SystemClock()
    fixed_clock: ports.Clock = clock
    ids: ports.IdGenerator = UuidV7Generator()
    sequential: ports.IdGenerator = SequentialIdGenerator()
    factory: ports.UnitOfWorkFactory = InMemoryUnitOfWorkFactory(store, clock)
    uow: ports.UnitOfWork = InMemoryUnitOfWork(store, clock, ids)
    outbox: ports.Outbox = InMemoryOutbox(store, clock)
    bus: ports.EventPublisher = InProcessEventBus()
    cache: ports.Cache = InMemoryCache(clock)
    limiter: ports.RateLimiter = InMemoryRateLimiter(clock)
    fanout: ports.RealtimeFanout = InMemoryRealtimeFanout()
    subscriber: ports.RealtimeSubscriber = InMemoryRealtimeFanout()
    slots: ports.StreamSlots = InMemoryStreamSlots()
    signal: ports.OutboxSignal = InProcessOutboxSignal()
    emails: tuple[ports.EmailSender, ...] = (RecordingEmailSender(), LogEmailSender())
    sms: tuple[ports.SmsSender, ...] = (RecordingSmsSender(), LogSmsSender())
    refresh: ports.RefreshTokenStore = InMemoryRefreshTokenStore()
    denylist: ports.TokenDenylist = InMemoryTokenDenylist(clock)
    hasher: ports.PasswordHasher = FakePasswordHasher()
    issuer: ports.AccessTokenIssuer = FakeAccessTokens()
    verifier: ports.AccessTokenVerifier = FakeAccessTokens()
    oidc: ports.OidcProvider = FakeOidcProvider()
    del system_clock, fixed_clock, ids, sequential, factory, uow, outbox, bus
    del (
        cache,
        limiter,
        fanout,
        subscriber,
        slots,
        signal,
        emails,
        sms,
        refresh,
        denylist,
        hasher,
        issuer,
        verifier,
        oidc,
    )
