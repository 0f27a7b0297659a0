"""Unit of work over one ``AsyncSession``, writing domain events to the outbox on commit."""

from __future__ import annotations

import asyncio
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from sqlalchemy import event
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.outbox import write_events_in
from hduce.adapters.sql.repositories import (
    SqlAppointmentRepository,
    SqlAuditLog,
    SqlAvailabilityRepository,
    SqlDeviceRepository,
    SqlDoctorRepository,
    SqlIdempotencyStore,
    SqlInstitutionRepository,
    SqlNotificationRepository,
    SqlPatientRepository,
    SqlProcessedEvents,
    SqlSeriesRepository,
    SqlSpecialtyRepository,
    SqlUserRepository,
    SqlVisitTypeRepository,
    SqlWaitlistRepository,
)
from hduce.adapters.sql.repositories._support import (
    DIRECT_CONNECTION,
    DIRECT_TRANSACTION,
    STATEMENT_SENT,
    commit_direct_connection,
    connection_of,
    rollback_session,
    rollback_transaction,
)
from hduce.adapters.sql.repositories.users import LoadedUsers
from hduce.application import context
from hduce.application.ports import OutboxSignal, UnitOfWork, UnitOfWorkFactory
from hduce.application.tracing import tracing
from hduce.domain.events import DomainEvent

#: ``Session.info`` key: a statement of the current transaction has been sent (shared
#: with ``execute_core``, which runs the hot path's statements on the connection).
_SENT: Final = STATEMENT_SENT


class _UnitOfWorkSession(Session):
    """The session under every unit of work: retries a first statement once (below)."""


@event.listens_for(_UnitOfWorkSession, "do_orm_execute")
def _retry_first_statement_on_a_dropped_connection(state: ORMExecuteState) -> Result[Any] | None:
    """The pool does not ping connections before use (``engine.create_engine``), so the
    first statement of a transaction may meet a connection the server or the network
    dropped since. Its transaction had done nothing yet, so nothing is lost: SQLAlchemy
    has invalidated the connection (and the older ones of the pool), and the statement
    runs again on a fresh one. Later statements are not retried: their transaction died
    with the connection, and only the use case could redo it."""
    session = state.session
    if session.info.get(_SENT):
        return None
    session.info[_SENT] = True
    try:
        return state.invoke_statement()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        rollback_session(session)
        session.info[_SENT] = True
        return state.invoke_statement()


@event.listens_for(_UnitOfWorkSession, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_SENT, None)


def _write_events_and_commit(
    session: Session, events: list[DomainEvent], audit: list[dict[str, Any]]
) -> bool:
    wrote = write_events_in(session, events, audit)
    if DIRECT_CONNECTION in session.info:
        commit_direct_connection(session)
    else:
        session.commit()
    return wrote


class SqlUnitOfWork(UnitOfWork):
    """One transaction. Use as ``async with factory() as uow: ...; await uow.commit()``.

    On PostgreSQL the transaction is a Core one on a connection checked out on the
    first statement, without the ORM's ``SessionTransaction`` around it
    (``connection_of``); the commit or the rollback gives the connection back.
    ``read_only``: no transaction on PostgreSQL (a connection of the autocommit engine:
    each statement is one round trip, without ``BEGIN``/``ROLLBACK``); ``commit`` raises.

    ``commit`` gathers the events recorded by every appointment the repositories
    handed out or stored, plus those passed to ``emit``, stamps them with the current
    correlation id and trace context, writes them to the outbox and commits, all in one
    transaction.
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
        read_only: bool = False,
    ) -> None:
        self._session = session
        self._outbox_signal = outbox_signal
        self._read_only = read_only
        self._serialized = serialized
        self._writer_gate = writer_gate if serialized else None
        self._gate_timeout = gate_timeout
        self._holds_gate = False
        self._emitted: list[DomainEvent] = []
        # The port declares and types the repositories (``Repositories``). The two the
        # commit and the rollback read are built here, the others on first use (below).
        self._appointments = SqlAppointmentRepository(session)
        self.appointments = self._appointments
        self.audit = SqlAuditLog(session)
        # Accounts read in this transaction, shared by the repositories that read them.
        self._loaded_users = LoadedUsers()

    # The other repositories, built on first use (a booking touches four of fifteen).
    # ``cached_property`` stores each in the instance, as the port's attributes would
    # be; mypy takes it for a read-only property overriding a writable attribute.

    @cached_property
    def users(self) -> SqlUserRepository:  # type: ignore[override]
        return SqlUserRepository(self._session, self._loaded_users)

    @cached_property
    def patients(self) -> SqlPatientRepository:  # type: ignore[override]
        return SqlPatientRepository(self._session)

    @cached_property
    def specialties(self) -> SqlSpecialtyRepository:  # type: ignore[override]
        return SqlSpecialtyRepository(self._session)

    @cached_property
    def doctors(self) -> SqlDoctorRepository:  # type: ignore[override]
        return SqlDoctorRepository(self._session, self._loaded_users)

    @cached_property
    def availability(self) -> SqlAvailabilityRepository:  # type: ignore[override]
        return SqlAvailabilityRepository(self._session)

    @cached_property
    def institutions(self) -> SqlInstitutionRepository:  # type: ignore[override]
        return SqlInstitutionRepository(self._session)

    @cached_property
    def visit_types(self) -> SqlVisitTypeRepository:  # type: ignore[override]
        return SqlVisitTypeRepository(self._session)

    @cached_property
    def series(self) -> SqlSeriesRepository:  # type: ignore[override]
        return SqlSeriesRepository(self._session)

    @cached_property
    def notifications(self) -> SqlNotificationRepository:  # type: ignore[override]
        return SqlNotificationRepository(self._session)

    @cached_property
    def idempotency(self) -> SqlIdempotencyStore:  # type: ignore[override]
        return SqlIdempotencyStore(self._session)

    @cached_property
    def processed_events(self) -> SqlProcessedEvents:  # type: ignore[override]
        return SqlProcessedEvents(self._session)

    @cached_property
    def devices(self) -> SqlDeviceRepository:  # type: ignore[override]
        return SqlDeviceRepository(self._session)

    @cached_property
    def waitlist(self) -> SqlWaitlistRepository:  # type: ignore[override]
        return SqlWaitlistRepository(self._session)

    async def __aenter__(self) -> Self:
        if self._serialized and self._writer_gate is not None:
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
        # PostgreSQL (a direct connection): nothing to start early, asyncpg sends BEGIN
        # with the first statement whenever the connection is checked out.
        if self._serialized and DIRECT_TRANSACTION not in self._session.info:
            try:
                # Start the transaction now: on SQLite this is BEGIN IMMEDIATE, so the
                # write lock is held before the use case reads anything it decides on.
                # Through ``connection_of``: the statements of ``execute_core`` reuse it.
                await self._session.run_sync(connection_of)
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
        session = self._session
        try:
            # A session that holds nothing (the Core hot path, committed or rolled
            # back) has nothing to close: skip the greenlet switch.
            if session.in_transaction() or session.identity_map or session.new:
                await session.close()
        finally:
            if self._holds_gate and self._writer_gate is not None:
                self._holds_gate = False
                self._writer_gate.release()

    def emit(self, event: DomainEvent) -> None:
        self._emitted.append(event)

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        # The aggregates' events first (in the order the aggregates were handed out or
        # stored), then the emitted ones, each group in the order it was recorded.
        events: list[DomainEvent] = []
        for appointment in self._appointments.tracked():
            events.extend(appointment.collect_events())
        events.extend(self._emitted)
        correlation = context.correlation_id.get()
        trace = tracing().current_context()
        # One greenlet switch for the outbox's statement and the COMMIT.
        wrote = await self._session.run_sync(
            _write_events_and_commit,
            [event.correlated(correlation).traced(trace) for event in events],
            self.audit.take_pending(),
        )
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
        self._loaded_users.clear()
        self.audit.take_pending()  # entries of the undone change
        await rollback_transaction(self._session)


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
        self._direct = engine.dialect.name == "postgresql"
        # Repositories write with Core statements and read with populate_existing, so
        # neither autoflush nor expiring loaded rows on commit would buy anything.
        self._sessions = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False, sync_session_class=_UnitOfWorkSession
        )
        self._serialized_sessions = async_sessionmaker(
            serialized_engine(engine),
            expire_on_commit=False,
            autoflush=False,
            sync_session_class=_UnitOfWorkSession,
        )
        # PostgreSQL: read-only units of work use the same pool in autocommit, so a
        # read is its statement's round trip alone (asyncpg sends no BEGIN/ROLLBACK).
        # SQLite has no round trips to save: its plain sessions do.
        self._read_only_sessions = (
            async_sessionmaker(
                engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
                autoflush=False,
                sync_session_class=_UnitOfWorkSession,
            )
            if engine.dialect.name == "postgresql"
            else self._sessions
        )

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def __call__(self, *, serialized: bool = False, read_only: bool = False) -> SqlUnitOfWork:
        if serialized:
            sessions = self._serialized_sessions
        elif read_only:
            sessions = self._read_only_sessions
        else:
            sessions = self._sessions
        session = sessions()
        if self._direct:
            # PostgreSQL: the statements run on a connection checked out directly,
            # without an ORM transaction around them (``connection_of``): in a Core
            # transaction, or, read-only, on the autocommit engine. (A serialized unit
            # of work is an ordinary one there: ``serialized_engine``.)
            session.info[DIRECT_CONNECTION] = None
            if sessions is not self._read_only_sessions:
                session.info[DIRECT_TRANSACTION] = True
        return SqlUnitOfWork(
            session,
            serialized=serialized,
            writer_gate=self._writer_gate,
            gate_timeout=self._lock_timeout,
            outbox_signal=self._outbox_signal,
            read_only=read_only and not serialized,
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
