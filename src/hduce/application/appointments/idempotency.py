"""Bookings honouring an ``Idempotency-Key``: a retried request books once.

A client that lost the answer to ``POST /appointments`` sends it again with the
same key. Same key + same request (method, path, canonical body) from the same
user -> the response stored the first time, unchanged; same key + another
request -> refused (``idempotency-key-reused``); two copies racing -> one
booking, and the loser replays the winner's response.

Why the response is stored in the booking's own transaction (and the key is not
"claimed" first in a transaction of its own):

* no half state: the record exists exactly when the appointment does. A claim
  made first would need a second write to store the response, and a crash (or a
  refused booking) in between would leave a claim that blocks the key until it
  expires, unless we add leases and a way to take over stale claims;
* a refused booking (409, 422) stores nothing, so the client may fix the
  conditions and retry with the same key; only the success is replayed;
* concurrent copies need no extra lock: both try to book the same slot for the
  same patient, so the loser is refused by the very mechanism that prevents double
  bookings (SQLite: the serialized write transaction; PostgreSQL: the exclusion
  constraints, which make the loser wait for the winner's commit). Its
  ``SlotConflict`` is then answered by looking the key up again and replaying. A
  copy that does not conflict (another body under the same key) loses on the
  record's primary key instead, and is rolled back -> 422.

The booking use case is reused as it is: it runs over a unit-of-work factory whose
units store the idempotency record just before they commit.

A series (``BookSeriesOnce``) works the same way: ``BookSeries`` stores the response
through its ``before_commit`` hook, in the series' one transaction; a copy racing it
meets the first copy's occurrences (its whole series is refused, or conflicts at the
insert) and replays the stored answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, cast
from uuid import UUID

from hduce.application.appointments._shared import AppointmentUseCase
from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.series import (
    BookSeries,
    SeriesCommand,
    SeriesDoesNotFit,
    SeriesOutcome,
)
from hduce.application.ports import (
    NO_METRICS,
    AppointmentMetrics,
    AppointmentRepository,
    Clock,
    IdempotencyRecord,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.domain.appointments import Appointment
from hduce.domain.errors import AlreadyExists, BusinessRuleViolation, InvalidInput, SlotConflict
from hduce.domain.scheduling import SchedulingPolicy

#: How long a stored response is replayed (the key may be reused for anything after).
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
IDEMPOTENCY_HEADER = "Idempotency-Key"


class IdempotencyKeyReused(BusinessRuleViolation):
    """The key was used before for a different request (HTTP 422)."""

    def __init__(self) -> None:
        super().__init__(
            f"this {IDEMPOTENCY_HEADER} was already used with a different request; "
            "use a new key for a new request",
            "idempotency-key-reused",
        )


def validate_key(key: str) -> str:
    """1..255 visible ASCII characters (what fits the store and survives any proxy)."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidInput(
            f"{IDEMPOTENCY_HEADER} must be 1..{MAX_KEY_LENGTH} visible ASCII characters "
            "(a UUID is a good choice)",
            field=IDEMPOTENCY_HEADER,
        )
    return key


def request_fingerprint(method: str, path: str, body: object) -> str:
    """SHA-256 of method, path and the body in canonical JSON (sorted keys, no spaces),
    so the same request spelled with another key order or spacing matches."""
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    digest = hashlib.sha256()
    for part in (method.upper(), path, canonical):
        digest.update(part.encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """Who sent what under which key. ``body`` is the decoded JSON body."""

    key: str
    user_id: UUID
    method: str
    path: str
    body: object

    @property
    def fingerprint(self) -> str:
        return request_fingerprint(self.method, self.path, self.body)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: bytes
    #: True when this is the answer given to an earlier copy of the request.
    replayed: bool


#: Turns the new appointment into the response body (the HTTP layer's JSON view).
ResponseRenderer = Callable[[Appointment], bytes]


class _KeyTaken(Exception):
    """A concurrent request stored a record under the key first: roll back, look again."""


class BookAppointmentOnce(AppointmentUseCase):
    """``BookAppointment`` behind an ``Idempotency-Key`` (see the module docstring)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: SchedulingPolicy,
        ttl: timedelta = IDEMPOTENCY_TTL,
        metrics: AppointmentMetrics = NO_METRICS,
    ) -> None:
        super().__init__(uow_factory, clock, policy, metrics)
        self._ttl = ttl

    async def __call__(
        self,
        command: BookAppointmentCommand,
        request: IdempotentRequest,
        render: ResponseRenderer,
        *,
        status_code: int = 201,
    ) -> StoredResponse:
        validate_key(request.key)
        fingerprint = request.fingerprint
        stored = await self._stored(request, fingerprint)
        if stored is not None:
            return stored
        body: bytes | None = None

        async def store_response(uow: UnitOfWork, appointment: Appointment) -> None:
            nonlocal body
            body = render(appointment)
            await _store(uow, request, fingerprint, status_code, body, self._clock.now(), self._ttl)

        book = BookAppointment(
            _StoringUnitOfWorkFactory(self._uow_factory, store_response),
            self._clock,
            self._policy,
            self._metrics,
        )
        try:
            await book(command)
        except (SlotConflict, _KeyTaken, AlreadyExists) as refusal:
            # Lost a race against a copy of this request (or another one under this key):
            # its committed record decides. Nothing of ours was written.
            stored = await self._stored(request, fingerprint)
            if stored is not None:
                return stored
            if isinstance(refusal, _KeyTaken):  # the winner's record vanished: cannot be
                raise RuntimeError("idempotency record lost between put and read") from None
            raise
        if body is None:  # BookAppointment always adds before committing
            raise RuntimeError("the booking committed without storing its response")
        return StoredResponse(status_code, body, replayed=False)

    async def _stored(self, request: IdempotentRequest, fingerprint: str) -> StoredResponse | None:
        return await _replay(self._uow_factory, self._clock, request, fingerprint)


async def _store(
    uow: UnitOfWork,
    request: IdempotentRequest,
    fingerprint: str,
    status_code: int,
    body: bytes,
    now: datetime,
    ttl: timedelta,
) -> None:
    """Store the answer under this key and user in ``uow``'s transaction (``_KeyTaken``:
    a copy of the request stored one first)."""
    record = IdempotencyRecord(
        key=request.key,
        user_id=request.user_id,
        fingerprint=fingerprint,
        status_code=status_code,
        body=body,
        created_at=now,
        expires_at=now + ttl,
    )
    if not await uow.idempotency.put(record):
        raise _KeyTaken


async def _replay(
    uow_factory: UnitOfWorkFactory, clock: Clock, request: IdempotentRequest, fingerprint: str
) -> StoredResponse | None:
    """The stored answer to this key and user (None: none), refused for another request."""
    async with uow_factory() as uow:
        record = await uow.idempotency.get(request.key, request.user_id, clock.now())
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused
    return StoredResponse(record.status_code, record.body, replayed=True)


#: Turns the booked series into the response body (the HTTP layer's JSON view).
SeriesRenderer = Callable[[SeriesOutcome], bytes]


class BookSeriesOnce:
    """``BookSeries`` behind an ``Idempotency-Key``, as ``BookAppointmentOnce`` is for
    single bookings: the first successful answer is stored in the series' transaction
    and replayed for the same key and body; nothing is booked twice."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        book: BookSeries,
        ttl: timedelta = IDEMPOTENCY_TTL,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._book = book
        self._ttl = ttl

    async def __call__(
        self,
        command: SeriesCommand,
        request: IdempotentRequest,
        render: SeriesRenderer,
        *,
        status_code: int = 201,
    ) -> StoredResponse:
        validate_key(request.key)
        fingerprint = request.fingerprint
        stored = await _replay(self._uow_factory, self._clock, request, fingerprint)
        if stored is not None:
            return stored
        body: bytes | None = None

        async def store_response(uow: UnitOfWork, outcome: SeriesOutcome) -> None:
            nonlocal body
            body = render(outcome)
            await _store(uow, request, fingerprint, status_code, body, self._clock.now(), self._ttl)

        try:
            await self._book(command, before_commit=store_response)
        except (SeriesDoesNotFit, SlotConflict, _KeyTaken, AlreadyExists) as refusal:
            # A copy of this request booked the occurrences first: its answer decides.
            stored = await _replay(self._uow_factory, self._clock, request, fingerprint)
            if stored is not None:
                return stored
            if isinstance(refusal, _KeyTaken):
                raise RuntimeError("idempotency record lost between put and read") from None
            raise
        if body is None:
            raise RuntimeError("the series committed without storing its response")
        return StoredResponse(status_code, body, replayed=False)


# ------------------------------------------------------------------ the storing unit of work

#: Called inside the booking's transaction, just before it commits.
BeforeCommit = Callable[[UnitOfWork, Appointment], Awaitable[None]]


class _StoringUnitOfWorkFactory:
    """Units of work of ``inner`` that run ``before_commit`` with the appointment added."""

    def __init__(self, inner: UnitOfWorkFactory, before_commit: BeforeCommit) -> None:
        self._inner = inner
        self._before_commit = before_commit

    def __call__(self, *, serialized: bool = False, read_only: bool = False) -> UnitOfWork:
        return _StoringUnitOfWork(
            self._inner(serialized=serialized, read_only=read_only), self._before_commit
        )


class _StoringUnitOfWork:
    """Delegates to a real unit of work; remembers the appointment the use case adds.

    Only ``appointments`` and ``commit`` differ: every other repository and method is
    the inner unit's own (``__getattr__``, so whatever the port gains passes through).
    """

    def __init__(self, inner: UnitOfWork, before_commit: BeforeCommit) -> None:
        self._inner = inner
        self._before_commit = before_commit
        self._added = _RecordingAppointments(inner.appointments)
        self.appointments = cast(AppointmentRepository, self._added)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    # Special methods are looked up on the type, never through ``__getattr__``.
    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        for appointment in self._added.added:
            await self._before_commit(self._inner, appointment)
        await self._inner.commit()


class _RecordingAppointments:
    """Notes the appointments added; everything else goes straight to the real
    repository (``__getattr__``, so methods added to the port later pass through)."""

    def __init__(self, inner: AppointmentRepository) -> None:
        self._inner = inner
        self.added: list[Appointment] = []

    async def add(self, appointment: Appointment) -> None:
        await self._inner.add(appointment)
        self.added.append(appointment)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
