"""Persistence: the units of work, the outbox and the signal its commits ring (the
relay listens to it), and the stores that live beside them (refresh tokens, the
statistics queries, the second factor), all in SQL or all in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, alias, provide
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.memory.account_tokens import InMemoryAccountTokenStore
from hduce.adapters.memory.identity import InMemoryRefreshTokenStore
from hduce.adapters.memory.outbox import InMemoryOutbox, InProcessOutboxSignal
from hduce.adapters.memory.second_factor import InMemorySecondFactorStore
from hduce.adapters.memory.sessions import InMemorySessionStore
from hduce.adapters.memory.statistics import InMemoryClinicStatistics
from hduce.adapters.memory.store import InMemoryStore
from hduce.adapters.memory.uow import InMemoryUnitOfWorkFactory
from hduce.adapters.sql.account_tokens import SqlAccountTokenStore
from hduce.adapters.sql.engine import create_engine
from hduce.adapters.sql.outbox import SqlOutbox
from hduce.adapters.sql.outbox_listener import PostgresOutboxListener
from hduce.adapters.sql.outbox_notifier import PostgresOutboxNotifier
from hduce.adapters.sql.readiness import DatabaseProbe, MigrationsProbe
from hduce.adapters.sql.refresh_tokens import SqlRefreshTokenStore
from hduce.adapters.sql.second_factor import SqlSecondFactorStore
from hduce.adapters.sql.sessions import SqlSessionStore
from hduce.adapters.sql.statistics import SqlClinicStatistics
from hduce.adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from hduce.application.ports import (
    AccountTokenStore,
    ClinicStatistics,
    Clock,
    IdGenerator,
    Outbox,
    OutboxSignal,
    RefreshTokenStore,
    SessionStore,
    UnitOfWorkFactory,
)
from hduce.application.ports.second_factor import SecondFactorStore
from hduce.bootstrap.settings import Settings


class SqlPersistenceProvider(Provider):
    """PostgreSQL or SQLite, by ``HDUCE_DATABASE_URL`` (every deployment)."""

    scope = Scope.APP

    @provide
    async def engine(self, settings: Settings) -> AsyncIterator[AsyncEngine]:
        database = settings.database
        engine = create_engine(
            database.url,
            pool_size=database.pool_size,
            max_overflow=database.max_overflow,
            pool_timeout=database.pool_timeout,
        )
        yield engine
        await engine.dispose()

    @provide
    async def in_process_signal(self, engine: AsyncEngine) -> AsyncIterator[InProcessOutboxSignal]:
        # On PostgreSQL, a process without a relay of its own tells the others, after
        # its commits (``outbox_notifier``); one with a relay wakes it in process.
        if engine.dialect.name != "postgresql":
            yield InProcessOutboxSignal()
            return
        notifier = PostgresOutboxNotifier(engine)
        yield InProcessOutboxSignal(otherwise=notifier.notify)
        await notifier.aclose()

    outbox_signal = alias(source=InProcessOutboxSignal, provides=OutboxSignal)

    @provide
    def unit_of_work_factory(self, engine: AsyncEngine, signal: OutboxSignal) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(engine, outbox_signal=signal)

    @provide
    def outbox_listener(self, engine: AsyncEngine, signal: OutboxSignal) -> PostgresOutboxListener:
        # Other processes' commits, through LISTEN/NOTIFY (does nothing on SQLite).
        return PostgresOutboxListener(engine, signal)

    @provide
    def outbox(self, engine: AsyncEngine, settings: Settings) -> Outbox:
        # Concurrently only to a broker: the in-process bus runs handlers inside publish.
        return SqlOutbox(engine, publish_concurrently=settings.broker is not None)

    @provide
    def refresh_tokens(self, engine: AsyncEngine) -> RefreshTokenStore:
        return SqlRefreshTokenStore(engine)

    @provide
    def account_tokens(self, engine: AsyncEngine) -> AccountTokenStore:
        return SqlAccountTokenStore(engine)

    @provide
    def sessions(self, engine: AsyncEngine) -> SessionStore:
        return SqlSessionStore(engine)

    @provide
    def second_factor(self, engine: AsyncEngine) -> SecondFactorStore:
        return SqlSecondFactorStore(engine)

    @provide
    def statistics(self, engine: AsyncEngine) -> ClinicStatistics:
        return SqlClinicStatistics(engine)

    @provide
    def database_probe(self, engine: AsyncEngine) -> DatabaseProbe:
        return DatabaseProbe(engine)

    @provide
    def migrations_probe(self, engine: AsyncEngine, database: DatabaseProbe) -> MigrationsProbe:
        return MigrationsProbe(engine, database)


class InMemoryPersistenceProvider(Provider):
    """Everything in process memory: unit tests and throwaway demos (no readiness probe:
    pair it with a ``ReadinessProvider`` only if something asks ``/health/ready``)."""

    scope = Scope.APP

    @provide
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    @provide
    def in_process_signal(self) -> InProcessOutboxSignal:
        return InProcessOutboxSignal()  # one process: its relay is the only one

    outbox_signal = alias(source=InProcessOutboxSignal, provides=OutboxSignal)

    @provide
    def unit_of_work_factory(
        self, store: InMemoryStore, clock: Clock, ids: IdGenerator, signal: OutboxSignal
    ) -> UnitOfWorkFactory:
        return InMemoryUnitOfWorkFactory(store, clock, ids, outbox_signal=signal)

    @provide
    def outbox(self, store: InMemoryStore, clock: Clock) -> Outbox:
        return InMemoryOutbox(store, clock)

    @provide
    def refresh_tokens(self) -> RefreshTokenStore:
        return InMemoryRefreshTokenStore()

    @provide
    def account_tokens(self) -> AccountTokenStore:
        return InMemoryAccountTokenStore()

    @provide
    def sessions(self, refresh_tokens: RefreshTokenStore) -> SessionStore:
        if not isinstance(refresh_tokens, InMemoryRefreshTokenStore):
            raise TypeError("in-memory sessions need the in-memory refresh-token store")
        return InMemorySessionStore(refresh_tokens)

    @provide
    def second_factor(self) -> SecondFactorStore:
        return InMemorySecondFactorStore()

    @provide
    def statistics(self, store: InMemoryStore) -> ClinicStatistics:
        return InMemoryClinicStatistics(store)
