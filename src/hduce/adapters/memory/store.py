"""The in-memory "database": plain dicts, one per table, plus the outbox list.

One ``InMemoryStore`` is shared by every unit of work made from one
``InMemoryUnitOfWorkFactory``. A unit of work never writes to these dicts
directly: it reads through a ``TableView`` (committed rows + its own pending
writes) and applies its journal in one step on commit, under ``write_lock``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from hduce.application.ports import IdempotencyRecord
from hduce.domain.appointments import Appointment
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.devices import Device
from hduce.domain.events import DomainEvent
from hduce.domain.identity import PatientProfile, User
from hduce.domain.institutions import Institution
from hduce.domain.notifications import Notification
from hduce.domain.scheduling import ExtraHours, TimeOff, WeeklyHours
from hduce.domain.series import RecurringSeries, SeriesMember
from hduce.domain.visit_types import VisitType
from hduce.domain.waitlist import WaitlistEntry, WaitlistOffer

K = TypeVar("K")
V = TypeVar("V")
O = TypeVar("O")  # noqa: E741


@dataclass(frozen=True, slots=True)
class Owned(Generic[O]):
    """A row that belongs to a doctor (time off, extra hours)."""

    doctor_id: UUID
    value: O


@dataclass(slots=True)
class OutboxRow:
    seq: int
    event: DomainEvent
    created_at: datetime
    published_at: datetime | None = None


class InMemoryStore:
    """All tables of the in-memory backend. Create one per application (or per test)."""

    def __init__(self, *, outbox_retention: int = 10_000) -> None:
        self.users: dict[UUID, User] = {}
        self.patients: dict[UUID, PatientProfile] = {}
        self.specialties: dict[UUID, Specialty] = {}
        self.doctors: dict[UUID, Doctor] = {}
        self.weekly_hours: dict[UUID, WeeklyHours] = {}
        self.time_off: dict[UUID, Owned[TimeOff]] = {}
        self.extra_hours: dict[UUID, Owned[ExtraHours]] = {}
        self.institutions: dict[UUID, Institution] = {}
        #: (institution id, doctor id) of each doctor working at an institution.
        self.memberships: dict[tuple[UUID, UUID], bool] = {}
        self.appointments: dict[UUID, Appointment] = {}
        self.visit_types: dict[UUID, VisitType] = {}
        self.notifications: dict[UUID, Notification] = {}
        self.audit: dict[UUID, AuditEntry] = {}
        self.idempotency: dict[tuple[UUID, str], IdempotencyRecord] = {}
        self.processed_events: dict[tuple[str, UUID], datetime] = {}
        self.devices: dict[UUID, Device] = {}
        self.series: dict[UUID, RecurringSeries] = {}
        #: By appointment id.
        self.series_members: dict[UUID, SeriesMember] = {}
        self.waitlist_entries: dict[UUID, WaitlistEntry] = {}
        self.waitlist_offers: dict[UUID, WaitlistOffer] = {}
        #: Outbox rows in commit order; published ones form a prefix.
        self.outbox: list[OutboxRow] = []
        #: How many published outbox rows to keep (for inspection) before dropping the oldest.
        self.outbox_retention = outbox_retention
        self.outbox_lock = asyncio.Lock()
        self.commits = 0
        self._outbox_seq = itertools.count(1)
        self._write_lock = asyncio.Lock()
        self._write_lock_owner: asyncio.Task[object] | None = None

    # ------------------------------------------------------------------ the writer lock

    async def acquire_write_lock(self) -> None:
        """Take the store's single writer lock (``BEGIN IMMEDIATE``)."""
        task = asyncio.current_task()
        if task is not None and self._write_lock_owner is task:
            raise RuntimeError(
                "this task already holds the store's write lock (a serialized unit of work "
                "is open): a nested commit would deadlock"
            )
        await self._write_lock.acquire()
        self._write_lock_owner = task

    def release_write_lock(self) -> None:
        self._write_lock_owner = None
        self._write_lock.release()

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        await self.acquire_write_lock()
        try:
            yield
        finally:
            self.release_write_lock()

    # ------------------------------------------------------------------ outbox

    def append_outbox(self, events: Iterable[DomainEvent], now: datetime) -> None:
        self.outbox.extend(OutboxRow(next(self._outbox_seq), event, now) for event in events)

    def prune_outbox(self) -> None:
        """Forget the oldest published rows beyond ``outbox_retention``."""
        published = 0
        for row in self.outbox:
            if row.published_at is None:
                break
            published += 1
        excess = published - self.outbox_retention
        if excess > 0:
            del self.outbox[:excess]

    def outbox_events(self, *, unpublished_only: bool = False) -> list[DomainEvent]:
        """The events in the outbox, in order (for tests and diagnostics)."""
        return [
            row.event for row in self.outbox if not unpublished_only or row.published_at is None
        ]


class TableView(Generic[K, V]):
    """Committed rows of one table seen through a unit of work's pending writes.

    Values held here are the unit of work's private copies; repositories copy
    them again on the way out. A pending write of ``None`` is a deletion.
    """

    def __init__(self, base: dict[K, V]) -> None:
        self.base = base
        self._writes: dict[K, V | None] = {}
        #: Keys created by this unit of work: they must still be free at commit.
        self.inserted: set[K] = set()

    def get(self, key: K) -> V | None:
        if key in self._writes:
            return self._writes[key]
        return self.base.get(key)

    def __contains__(self, key: K) -> bool:
        return self.get(key) is not None

    def items(self) -> Iterator[tuple[K, V]]:
        for key, value in self.base.items():
            if key not in self._writes:
                yield key, value
        yield from self.written()

    def values(self) -> Iterator[V]:
        for _, value in self.items():
            yield value

    def written(self) -> Iterator[tuple[K, V]]:
        """The rows this unit of work inserted or updated (not the deleted ones)."""
        for key, value in self._writes.items():
            if value is not None:
                yield key, value

    def put(self, key: K, value: V, *, insert: bool = False) -> None:
        self._writes[key] = value
        if insert:
            self.inserted.add(key)

    def delete(self, key: K) -> None:
        if key in self.inserted:
            self.inserted.discard(key)
            self._writes.pop(key, None)
        else:
            self._writes[key] = None

    def inserts_taken(self) -> list[K]:
        """Keys this unit of work inserted that someone else committed meanwhile."""
        return [key for key in self.inserted if key in self.base]

    @property
    def dirty(self) -> bool:
        return bool(self._writes)

    def apply(self) -> None:
        for key, value in self._writes.items():
            if value is None:
                self.base.pop(key, None)
            else:
                self.base[key] = value
        self.reset()

    def reset(self) -> None:
        self._writes.clear()
        self.inserted.clear()


class StoreTables:
    """One ``TableView`` per table, for one unit of work."""

    def __init__(self, store: InMemoryStore) -> None:
        self.users = TableView(store.users)
        self.patients = TableView(store.patients)
        self.specialties = TableView(store.specialties)
        self.doctors = TableView(store.doctors)
        self.weekly_hours = TableView(store.weekly_hours)
        self.time_off = TableView(store.time_off)
        self.extra_hours = TableView(store.extra_hours)
        self.institutions = TableView(store.institutions)
        self.memberships = TableView(store.memberships)
        self.appointments = TableView(store.appointments)
        self.visit_types = TableView(store.visit_types)
        self.notifications = TableView(store.notifications)
        self.audit = TableView(store.audit)
        self.idempotency = TableView(store.idempotency)
        self.processed_events = TableView(store.processed_events)
        self.devices = TableView(store.devices)
        self.series = TableView(store.series)
        self.series_members = TableView(store.series_members)
        self.waitlist_entries = TableView(store.waitlist_entries)
        self.waitlist_offers = TableView(store.waitlist_offers)

    def all(self) -> tuple[TableView[Any, Any], ...]:
        return (
            self.users,
            self.patients,
            self.specialties,
            self.doctors,
            self.weekly_hours,
            self.time_off,
            self.extra_hours,
            self.institutions,
            self.memberships,
            self.appointments,
            self.visit_types,
            self.notifications,
            self.audit,
            self.idempotency,
            self.processed_events,
            self.devices,
            self.series,
            self.series_members,
            self.waitlist_entries,
            self.waitlist_offers,
        )

    def apply(self) -> None:
        for view in self.all():
            view.apply()

    def reset(self) -> None:
        for view in self.all():
            view.reset()
