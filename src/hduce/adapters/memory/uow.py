"""The in-memory unit of work: a change journal over ``InMemoryStore``.

* Reads see what is committed plus this unit's own pending writes.
* Nothing reaches the store before ``commit``; leaving the ``async with`` block
  without it discards every change, outbox event and history line.
* ``commit`` re-checks uniqueness, overlaps and versions against what other units
  committed meanwhile, then applies the whole journal at once under the store's
  write lock. A ``serialized=True`` unit holds that lock from ``__aenter__`` to
  ``__aexit__``, so check-then-insert runs alone (SQLite's ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from hduce.adapters.clock import UuidV7Generator
from hduce.adapters.memory.repositories import (
    InMemoryAppointmentRepository,
    InMemoryAuditLog,
    InMemoryAvailabilityRepository,
    InMemoryDeviceRepository,
    InMemoryDoctorRepository,
    InMemoryIdempotencyStore,
    InMemoryInstitutionRepository,
    InMemoryNotificationRepository,
    InMemoryPatientRepository,
    InMemoryProcessedEvents,
    InMemorySeriesRepository,
    InMemorySpecialtyRepository,
    InMemoryUserRepository,
    InMemoryVisitTypeRepository,
    InMemoryWaitlistRepository,
)
from hduce.adapters.memory.store import InMemoryStore, StoreTables
from hduce.application import context
from hduce.application.ports import (
    REPOSITORY_NAMES,
    Clock,
    IdGenerator,
    OutboxSignal,
    UnitOfWork,
)
from hduce.application.tracing import tracing
from hduce.domain.appointments import Appointment
from hduce.domain.events import DomainEvent


class _Journal(Protocol):
    """What every in-memory repository adds to its port: its part of the commit."""

    def validate_commit(self) -> None: ...
    def reset(self) -> None: ...


class InMemoryUnitOfWork(UnitOfWork):
    """One transaction over an ``InMemoryStore``. Use it as ``async with uow: ...``."""

    def __init__(
        self,
        store: InMemoryStore,
        clock: Clock,
        ids: IdGenerator,
        *,
        serialized: bool = False,
        outbox_signal: OutboxSignal | None = None,
        read_only: bool = False,
    ) -> None:
        self._read_only = read_only
        self._store = store
        self._clock = clock
        self.serialized = serialized
        self._outbox_signal = outbox_signal
        self._tables = StoreTables(store)
        # Aggregates loaded or added (their events are collected on commit) and events
        # passed to ``emit``, in the order they came, so the outbox keeps that order.
        self._sequence: list[Appointment | DomainEvent] = []
        self._tracked: set[int] = set()
        self._active = False
        self._holds_lock = False

        # The port declares and types the repositories (``Repositories``); built here.
        tables = self._tables
        self.users = InMemoryUserRepository(tables)
        self.patients = InMemoryPatientRepository(tables)
        self.specialties = InMemorySpecialtyRepository(tables)
        self.doctors = InMemoryDoctorRepository(tables)
        self.availability = InMemoryAvailabilityRepository(tables, ids)
        self.institutions = InMemoryInstitutionRepository(tables)
        self.appointments = InMemoryAppointmentRepository(tables, self._track)
        self.visit_types = InMemoryVisitTypeRepository(tables)
        self.series = InMemorySeriesRepository(tables)
        self.notifications = InMemoryNotificationRepository(tables)
        self.audit = InMemoryAuditLog(tables)
        self.idempotency = InMemoryIdempotencyStore(tables)
        self.processed_events = InMemoryProcessedEvents(tables, clock.now)
        self.devices = InMemoryDeviceRepository(tables)
        self.waitlist = InMemoryWaitlistRepository(tables)
        # Every one of them re-checks its writes on commit and forgets them on reset.
        self._repositories: tuple[_Journal, ...] = tuple(
            getattr(self, name) for name in REPOSITORY_NAMES
        )

    # ------------------------------------------------------------------ context manager

    async def __aenter__(self) -> Self:
        if self._active:
            raise RuntimeError("this unit of work is open already; make a new one")
        if self.serialized:
            await self._store.acquire_write_lock()
            self._holds_lock = True
        self._active = True
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
            self._active = False
            if self._holds_lock:
                self._holds_lock = False
                self._store.release_write_lock()

    # ------------------------------------------------------------------ events

    def _track(self, appointment: Appointment) -> None:
        if id(appointment) not in self._tracked:
            self._tracked.add(id(appointment))
            self._sequence.append(appointment)

    def emit(self, event: DomainEvent) -> None:
        self._sequence.append(event.correlated(context.correlation_id.get()))

    # ------------------------------------------------------------------ transaction

    async def commit(self) -> None:
        if not self._active:
            raise RuntimeError("commit() outside 'async with unit_of_work:'")
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._holds_lock:
            wrote_events = self._apply()
        else:
            async with self._store.write_lock():
                wrote_events = self._apply()
        if wrote_events and self._outbox_signal is not None:
            self._outbox_signal.notify()

    def _apply(self) -> bool:
        """Apply the journal; True when it wrote events to the outbox."""
        # No await in here: validation, event collection and the writes are one step.
        for repository in self._repositories:
            repository.validate_commit()
        correlation_id = context.correlation_id.get()
        trace = tracing().current_context()
        events: list[DomainEvent] = []
        for item in self._sequence:
            if isinstance(item, DomainEvent):
                events.append(item.correlated(correlation_id).traced(trace))
            else:
                events.extend(
                    e.correlated(correlation_id).traced(trace) for e in item.collect_events()
                )
        self._tables.apply()
        if events:
            self._store.append_outbox(events, self._clock.now())
        self._store.commits += 1
        for repository in self._repositories:
            repository.reset()
        # Loaded aggregates stay tracked (later changes still emit); emitted events are gone.
        self._sequence = [item for item in self._sequence if not isinstance(item, DomainEvent)]
        return bool(events)

    async def rollback(self) -> None:
        self._tables.reset()
        for repository in self._repositories:
            repository.reset()
        self._sequence.clear()
        self._tracked.clear()


class InMemoryUnitOfWorkFactory:
    """Makes units of work that share one store (the ``UnitOfWorkFactory`` port)."""

    def __init__(
        self,
        store: InMemoryStore,
        clock: Clock,
        ids: IdGenerator | None = None,
        *,
        outbox_signal: OutboxSignal | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids: IdGenerator = ids or UuidV7Generator()
        self.outbox_signal = outbox_signal

    def __call__(self, *, serialized: bool = False, read_only: bool = False) -> InMemoryUnitOfWork:
        # The store has no round trips to save: a read-only unit is an ordinary one that
        # refuses to commit (as the SQL one does).
        return InMemoryUnitOfWork(
            self.store,
            self.clock,
            self.ids,
            serialized=serialized,
            read_only=read_only,
            outbox_signal=self.outbox_signal,
        )
