"""The frame every state-changing use case shares, so its body is only its rule.

    class AddExtraHours(UseCase):
        async def __call__(self, actor: Actor, doctor_id: UUID, extra: ExtraHours) -> UUID:
            ensure_self_or_admin(actor, doctor_id, "add extra hours")  # before any lookup
            async with self.change(actor) as (uow, audit):
                await load(uow.doctors.get, doctor_id, "doctor")
                extra_id = await uow.availability.add_extra_hours(doctor_id, extra)
                await audit("doctor.extra_hours_added", "doctor", doctor_id, on=...)
            return extra_id

``change`` opens one unit of work; ``load`` answers ``NotFound`` for a missing
record; ``audit`` writes the entry saying who did what; leaving the block commits.
Access checks stay in the use case, before the block or inside it, wherever they
must run (e.g. before a lookup, so that strangers cannot probe which ids exist).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from hduce.application.ports import AuditLog, Clock, UnitOfWork, UnitOfWorkFactory
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import NotFound
from hduce.domain.identity import Actor

K = TypeVar("K")
T = TypeVar("T")


async def load(get: Callable[[K], Awaitable[T | None]], key: K, entity: str) -> T:
    """``await get(key)``, or ``NotFound(entity, key)`` when there is no such record."""
    found = await get(key)
    if found is None:
        raise NotFound(entity, key)
    return found


class Audit:
    """Writes the audit entries of one change by ``actor`` into its unit of work."""

    __slots__ = ("_actor", "_clock", "_log", "entries", "recorded")

    def __init__(self, log: AuditLog, actor: Actor, clock: Clock) -> None:
        self._log = log
        self._actor = actor
        self._clock = clock
        #: True once an entry is written: the change then commits (see ``UseCase.change``).
        self.recorded = False
        #: The entries written, in order (what a use case reports once committed).
        self.entries: list[AuditEntry] = []

    async def __call__(
        self,
        action: str,
        target_type: str,
        target_id: object,
        *,
        at: datetime | None = None,
        **details: Any,
    ) -> None:
        """``at``: the instant of the change when the use case took one; else now."""
        entry = AuditEntry.of(
            self._actor,
            self._clock.now() if at is None else at,
            action,
            target_type,
            target_id,
            **details,
        )
        await self._log.add(entry)
        self.entries.append(entry)
        self.recorded = True


class UseCase:
    """Base of the use cases that change state: a unit-of-work factory and a clock."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    @asynccontextmanager
    async def change(
        self, actor: Actor, *, serialized: bool = False
    ) -> AsyncIterator[tuple[UnitOfWork, Audit]]:
        """One unit of work for a change by ``actor``, and its ``Audit``.

        Leaving the block normally commits, once, if an audit entry was written: every
        change is audited, so a block that wrote none changed nothing (an early return
        such as "no field to change") and is rolled back like one left by an exception.
        ``serialized`` is the unit-of-work factory's (check-then-write with no writer in
        between). Do not call ``uow.commit()`` inside the block.
        """
        async with self._uow_factory(serialized=serialized) as uow:
            audit = Audit(uow.audit, actor, self._clock)
            yield uow, audit
            if audit.recorded:
                await uow.commit()
