"""Unit of work over one ``AsyncSession``, writing domain events to the outbox on commit."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.outbox import write_events
from hduce.adapters.sql.repositories import (
    SqlAppointmentRepository,
    SqlAuditLog,
    SqlAvailabilityRepository,
    SqlDoctorRepository,
    SqlIdempotencyStore,
    SqlNotificationRepository,
    SqlPatientRepository,
    SqlProcessedEvents,
    SqlSpecialtyRepository,
    SqlUserRepository,
)
from hduce.application import context
from hduce.application.ports import OutboxSignal, UnitOfWork, UnitOfWorkFactory
from hduce.domain.events import DomainEvent


class SqlUnitOfWork(UnitOfWork):
    """One transaction. Use as ``async with factory() as uow: ...; await uow.commit()``.

    ``commit`` gathers the events recorded by every appointment the repositories
    handed out or stored, plus those passed to ``emit``, stamps them with the current
    correlation id, writes them to the outbox and commits, all in one transaction.
    Leaving the block without ``commit`` (or with an exception) rolls back.
    """

    def __init__(
        self,
        session: AsyncSession,
        *,
        serialized: bool,
        writer_gate: asyncio.Lock | None = None,
        gate_timeout: float = 30.0,
        outbox_signal: OutboxSignal | None = None,
    ) -> None:
        self._session = session
        self._outbox_signal = outbox_signal
        self._serialized = serialized
        self._writer_gate = writer_gate if serialized else None
        self._gate_timeout = gate_timeout
        self._holds_gate = False
        self._emitted: list[DomainEvent] = []
        # The port declares and types the repositories (``Repositories``); built here.
        self._appointments = SqlAppointmentRepository(session)
        self.users = SqlUserRepository(session)
        self.patients = SqlPatientRepository(session)
        self.specialties = SqlSpecialtyRepository(session)
        self.doctors = SqlDoctorRepository(session)
        self.availability = SqlAvailabilityRepository(session)
        self.appointments = self._appointments
        self.notifications = SqlNotificationRepository(session)
        self.audit = SqlAuditLog(session)
        self.idempotency = SqlIdempotencyStore(session)
        self.processed_events = SqlProcessedEvents(session)

    async def __aenter__(self) -> Self:
        if self._serialized:
            if self._writer_gate is not None:
                try:
                    # Bounded like SQLite's busy timeout: a task that opens a second
                    # serialized unit of work inside its first would otherwise wait
                    # for itself forever.
                    await asyncio.wait_for(self._writer_gate.acquire(), self._gate_timeout)
                except TimeoutError:
                    raise TimeoutError(
                        "waited too long for the SQLite write lock: another serialized "
                        "unit of work held it (or this task holds one already)"
                    ) from None
                self._holds_gate = True
            try:
                # Start the transaction now: on SQLite this is BEGIN IMMEDIATE, so the
                # write lock is held before the use case reads anything it decides on.
                await self._session.connection()
            except BaseException:
                await self._release()
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            await self._release()

    async def _release(self) -> None:
        try:
            await self._session.close()
        finally:
            if self._holds_gate and self._writer_gate is not None:
                self._holds_gate = False
                self._writer_gate.release()

    def emit(self, event: DomainEvent) -> None:
        self._emitted.append(event)

    async def commit(self) -> None:
        # The aggregates' events first (in the order the aggregates were handed out or
        # stored), then the emitted ones, each group in the order it was recorded.
        events: list[DomainEvent] = []
        for appointment in self._appointments.tracked():
            events.extend(appointment.collect_events())
        events.extend(self._emitted)
        correlation = context.correlation_id.get()
        wrote = await write_events(
            self._session, (event.correlated(correlation) for event in events)
        )
        await self._session.commit()
        self._emitted.clear()
        if wrote and self._outbox_signal is not None:
            self._outbox_signal.notify()

    async def rollback(self) -> None:
        """Undo everything since the last commit (a no-op when nothing is pending)."""
        self._emitted.clear()
        for appointment in self._appointments.tracked():
            # Events of changes that are being undone must not reach a later commit.
            appointment.collect_events()
        self._appointments.forget()
        if self._session.in_transaction():
            await self._session.rollback()


class SqlUnitOfWorkFactory:
    """Makes units of work over one engine (the ``UnitOfWorkFactory`` port).

    ``sqlite_lock_timeout``: how long a serialized unit of work waits for the SQLite
    write lock held by another one of this process (match ``create_engine``'s
    ``sqlite_busy_timeout``). Unused on PostgreSQL. ``outbox_signal`` is notified
    after every commit that wrote events.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        sqlite_lock_timeout: float = 30.0,
        outbox_signal: OutboxSignal | None = None,
    ) -> None:
        self._engine = engine
        self._lock_timeout = sqlite_lock_timeout
        self._outbox_signal = outbox_signal
        # SQLite: serialized units of work of this process queue here before BEGIN
        # IMMEDIATE. SQLite's own busy handler would also make them wait, but by polling
        # with sleeps of up to 100 ms; 50 waiting bookings took seconds instead of
        # milliseconds. The file lock still guards against other processes.
        self._writer_gate = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # Repositories write with Core statements and read with populate_existing, so
        # neither autoflush nor expiring loaded rows on commit would buy anything.
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._serialized_sessions = async_sessionmaker(
            serialized_engine(engine), expire_on_commit=False, autoflush=False
        )

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def __call__(self, *, serialized: bool = False) -> SqlUnitOfWork:
        sessions = self._serialized_sessions if serialized else self._sessions
        return SqlUnitOfWork(
            sessions(),
            serialized=serialized,
            writer_gate=self._writer_gate,
            gate_timeout=self._lock_timeout,
            outbox_signal=self._outbox_signal,
        )

    async def dispose(self) -> None:
        """Close the pool (on shutdown)."""
        await self._engine.dispose()


if TYPE_CHECKING:
    # mypy proves the adapters satisfy the ports structurally (nothing runs here).
    from hduce.adapters.sql.outbox import SqlOutbox
    from hduce.application.ports import Outbox

    def _implements_the_ports(engine: AsyncEngine) -> tuple[UnitOfWorkFactory, Outbox]:
        return SqlUnitOfWorkFactory(engine), SqlOutbox(engine)
