"""Transactional outbox: events are rows written with the change, relayed afterwards.

The unit of work calls ``write_events`` in the transaction of the change, so an event
exists exactly when its change was committed. ``SqlOutbox.relay_batch`` hands the
unpublished rows, in ``sequence`` order, to the bus:

* PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` inside one transaction that lasts
  for the batch. Rows another relay is working on are skipped, never published twice
  at once. With ``publish_concurrently`` (a broker) the batch is published concurrently
  across aggregates, one aggregate's events in order (``publish_in_aggregate_order``),
  else one after another; the accepted rows are marked in one
  ``UPDATE`` that commits with the failure note at the end, and a crash rolls them back
  (the events go out again: delivery is at least once, consumers dedupe).
* SQLite: no row locks, and holding the database's single write lock while publishing
  would stall every writer, including an in-process consumer that stores the
  notifications the event causes (a deadlock until ``busy_timeout``). So the relay
  *leases* its batch in a short ``BEGIN IMMEDIATE`` transaction (``locked_by`` /
  ``locked_until``), publishes without holding any lock, and marks each row in
  another short transaction. A lease that outlives a crashed relay simply expires.

Ordering: one aggregate's events reach the bus in commit order, and a relay marks
published only the rows before the first failure in ``sequence`` order. A row that
does not decode (``MalformedEvent``) is such a failure too: noted on the row, never
skipped, and nothing after it is published. Publishing concurrently, events of
*other* aggregates after a failed one may already have been sent; they stay unmarked
and go again (at least once). Otherwise (and always on SQLite) a relay publishes
strictly one after another and stops at the first failure. Consumers rely on
``aggregate_version`` (and dedupe on the event id), not on a global order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import msgspec
from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from hduce.adapters.events_codec import event_from_dict, event_to_dict
from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.models import AuditRow, OutboxRow
from hduce.adapters.sql.repositories._support import (
    DriverStatement,
    affected_rows,
    execute_in_transaction,
    execute_on,
    table,
)
from hduce.application.messaging.outbox_relay import accepted_prefix, publish_in_aggregate_order
from hduce.application.ports import Clock, EventHandler, OutboxStats, RelayResult
from hduce.domain.events import DomainEvent
from hduce.domain.ids import uuid7

_ERROR_TEXT_LIMIT: Final = 2000
#: The PostgreSQL notification channel of "events were committed to the outbox".
OUTBOX_CHANNEL: Final = "hduce_outbox"
_OUTBOX: Final[Table] = table(OutboxRow)


def _outbox_values(event: DomainEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "aggregate_id": event.aggregate_id,
        "payload": event_to_dict(event),
        # The domain clock's "when", so ``stats(now)`` (fed by the same clock) measures
        # the backlog's age consistently, fixed clocks in tests included.
        "created_at": event.occurred_at,
        "published_at": None,
        "attempts": 0,
        "last_error": None,
        "locked_by": None,
        "locked_until": None,
    }


def _with_trace_contexts(
    rows: list[dict[str, Any]], contexts: Sequence[Mapping[str, str] | None]
) -> list[dict[str, Any]]:
    """``rows`` with their ``trace_context`` column, only when some row has one: with
    tracing off the INSERT leaves the column out (SQL NULL, and the statement of the
    schema before it existed). A row without one beside others that have one stores
    JSON null, which reads back as None too."""
    if any(contexts):
        for row, context in zip(rows, contexts, strict=True):
            row["trace_context"] = dict(context) if context else None
    return rows


async def write_events(
    session: AsyncSession,
    events: Iterable[DomainEvent],
    *,
    audit: Sequence[dict[str, Any]] = (),
) -> bool:
    """Append ``events`` to the outbox in the session's transaction, in the given order,
    with the ``audit`` rows of the same change; True when there were any events
    (``write_events_in``, in one greenlet switch)."""
    return await session.run_sync(write_events_in, list(events), audit)


def write_events_in(
    session: Session,
    events: Iterable[DomainEvent],
    audit: Sequence[dict[str, Any]] = (),
) -> bool:
    """``write_events`` in the synchronous session under an ``AsyncSession`` (run by
    ``AsyncSession.run_sync``; the unit of work's commit also commits in that call).

    On PostgreSQL the audit rows and the events are one statement
    (``WITH audit AS (INSERT ...), new_events AS (INSERT ...) SELECT 1``): a change's
    commit costs one round trip besides the COMMIT. The relays learn of the commit
    from the unit of work's ``OutboxSignal`` after it
    (``hduce.adapters.sql.outbox_notifier``), not from a ``NOTIFY`` in the
    transaction, which would serialise every commit on the server's notification
    lock.
    """
    listed = list(events)
    # Beside the event, not in its JSON: the writer's trace context is not a fact.
    rows = _with_trace_contexts(
        [_outbox_values(event) for event in listed], [event.trace_context for event in listed]
    )
    audit_table = table(AuditRow)
    if session.get_bind().dialect.name == "postgresql" and rows:
        event_columns, audit_columns = tuple(rows[0]), tuple(audit[0]) if audit else ()
        if all(tuple(row) == event_columns for row in rows) and all(
            tuple(row) == audit_columns for row in audit
        ):
            execute_in_transaction(
                session,
                _events_insert_statement(len(rows), event_columns, len(audit), audit_columns),
                _events_insert_parameters(rows, audit),
            )
            return True
        # Rows of different shapes (not written today): the same statement, literal.
        statement = select(literal(1)).add_cte(
            _OUTBOX.insert().values(rows).returning(_OUTBOX.c.id).cte("new_events")
        )
        if audit:
            statement = statement.add_cte(
                audit_table.insert().values(list(audit)).returning(audit_table.c.id).cte("audit")
            )
        session.execute(statement)
        return True
    if audit:
        session.execute(audit_table.insert(), list(audit))
    if not rows:
        return False
    session.execute(_OUTBOX.insert(), rows)
    return True


def _rows_of_parameters(target: Table, prefix: str, rows: int, columns: tuple[str, ...]) -> Any:
    """``INSERT INTO target (columns) SELECT :<prefix>0_<column>, ... UNION ALL ...``:
    ``rows`` rows of named parameters. Not ``.values([...])``: SQLAlchemy does not
    cache the compiled form of a multi-row VALUES, so every commit compiled it again."""
    selects = [
        select(
            *(
                bindparam(f"{prefix}{row}_{name}", type_=target.c[name].type).label(name)
                for name in columns
            )
        )
        for row in range(rows)
    ]
    source = selects[0] if rows == 1 else union_all(*selects)
    return target.insert().from_select(list(columns), source)


@functools.lru_cache(maxsize=64)
def _events_insert_statement(
    events: int, event_columns: tuple[str, ...], audits: int, audit_columns: tuple[str, ...]
) -> DriverStatement:
    """PostgreSQL: ``WITH new_events AS (INSERT INTO outbox ... RETURNING id)[, audit AS
    (INSERT INTO audit_log ... RETURNING id)] SELECT 1`` for that many rows of those
    columns, with named parameters (``_events_insert_parameters``); PostgreSQL runs
    every data-modifying ``WITH`` once, whether the query reads it or not.

    Built once per shape and compiled once: a ``.values([...])`` of literal rows was a
    new statement for every commit, compiled again, which cost a booking more CPU than
    sending it. Sent as the driver's SQL with positional parameters (``DriverStatement``:
    its one row is not read)."""
    audit_table = table(AuditRow)
    outbox = (
        _rows_of_parameters(_OUTBOX, "e", events, event_columns)
        .returning(_OUTBOX.c.id)
        .cte("new_events")
    )
    statement = select(literal(1)).add_cte(outbox)
    if audits:
        statement = statement.add_cte(
            _rows_of_parameters(audit_table, "a", audits, audit_columns)
            .returning(audit_table.c.id)
            .cte("audit")
        )
    return DriverStatement(statement)


def _events_insert_parameters(
    rows: Sequence[Mapping[str, Any]], audit: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for prefix, listed in (("e", rows), ("a", audit)):
        for index, row in enumerate(listed):
            for name, value in row.items():
                parameters[f"{prefix}{index}_{name}"] = value
    return parameters


def next_batch_statement(limit: Any, *columns: Any) -> Select[Any]:
    """PostgreSQL relay: the oldest unpublished rows nobody else is relaying, locked
    (``limit``: a number, or the bind parameter of ``_NEXT_BATCH``; ``columns``: what
    to read of them, by default sequence, payload and trace context)."""
    return (
        select(*(columns or (OutboxRow.sequence, OutboxRow.payload, OutboxRow.trace_context)))
        .where(OutboxRow.published_at.is_(None))
        .order_by(OutboxRow.sequence)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


#: ``next_batch_statement`` built and compiled once (the relay reads a batch after
#: every commit it is woken by), the two JSON documents read as their JSON text
#: (``_decoded``): a JSON column's result processing would keep it off driver SQL.
_NEXT_BATCH: Final = DriverStatement(
    next_batch_statement(
        bindparam("limit", type_=Integer()),
        _OUTBOX.c.sequence,
        cast(_OUTBOX.c.payload, Text).label("payload"),
        cast(_OUTBOX.c.trace_context, Text).label("trace_context"),
    ),
    typed_rows=True,
)
#: The relay's accepted prefix marked published, one statement for any number of rows.
_MARK_PUBLISHED: Final = DriverStatement(
    update(_OUTBOX)
    .where(_OUTBOX.c.sequence == any_(bindparam("sequences", type_=ARRAY(BigInteger()))))
    .values(published_at=bindparam("now", type_=_OUTBOX.c.published_at.type))
)


def _decoded(document: str | None) -> Any:
    """A JSON document read as text (``_NEXT_BATCH``); SQL NULL is None, as JSON null."""
    return msgspec.json.decode(document) if document is not None else None


def _event_of(payload: Any, trace_context: dict[str, str] | None) -> DomainEvent:
    """The row's event (``MalformedEvent`` if it does not decode), with its trace context."""
    return event_from_dict(payload).traced(trace_context)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_ERROR_TEXT_LIMIT]


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SqlOutbox:
    """The ``Outbox`` port over the ``outbox`` table.

    ``clock`` stamps ``published_at`` and times the SQLite leases (default: the system
    clock); ``lease`` is how long a SQLite relay may hold a batch before another relay
    may take it over (it must exceed the time a batch takes to publish).
    ``publish_concurrently`` (PostgreSQL): hand a batch to ``publish`` concurrently across
    aggregates, for a broker, whose confirms are round trips. Off, events go one after
    another: the in-process bus runs the handlers inside ``publish``, and a batch of them
    at once would queue for the connection pool the process's requests use too.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        lease: timedelta = timedelta(minutes=2),
        publish_concurrently: bool = False,
    ) -> None:
        self._engine = engine
        self._clock = clock or _SystemClock()
        self._lease = lease
        self._concurrently = publish_concurrently

    async def relay_batch(self, limit: int, publish: EventHandler) -> RelayResult:
        if limit <= 0:
            return RelayResult(published=0, failed=False)
        if self._engine.dialect.name == "postgresql":
            return await self._relay_with_row_locks(limit, publish)
        return await self._relay_with_lease(limit, publish)

    async def stats(self, now: datetime) -> OutboxStats:
        async with self._engine.connect() as connection:
            backlog, oldest = (
                await connection.execute(
                    select(func.count(), func.min(OutboxRow.created_at)).where(
                        OutboxRow.published_at.is_(None)
                    )
                )
            ).one()
        # MIN() keeps the column's type, so ``oldest`` is an aware UTC datetime here too.
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return OutboxStats(backlog=int(backlog), oldest_age_seconds=age)

    async def purge_published(self, before: datetime) -> int:
        """Delete rows published before ``before`` (retention; the relay never needs them)."""
        async with serialized_engine(self._engine).begin() as connection:
            result = await connection.execute(
                _OUTBOX.delete().where(
                    OutboxRow.published_at.is_not(None), OutboxRow.published_at < before
                )
            )
        return affected_rows(result)

    # ------------------------------------------------------------------ PostgreSQL

    async def _relay_with_row_locks(self, limit: int, publish: EventHandler) -> RelayResult:
        async with self._engine.begin() as connection:
            rows = (await execute_on(connection, _NEXT_BATCH, {"limit": limit})).all()
            sequences: list[int] = []
            events: list[DomainEvent] = []
            failure: tuple[int, Exception] | None = None
            for sequence, payload, trace_context in rows:
                try:
                    events.append(_event_of(_decoded(payload), _decoded(trace_context)))
                except Exception as error:  # MalformedEvent: nothing after it goes out
                    failure = (sequence, error)
                    break
                sequences.append(sequence)
            outcomes = await publish_in_aggregate_order(
                events, publish, concurrently=self._concurrently
            )
            published = accepted_prefix(outcomes)
            refused = outcomes[published] if published < len(events) else None
            if refused is not None:
                failure = (sequences[published], refused)
            if published:
                # The whole accepted prefix in one statement, committed with the failure note.
                await execute_on(
                    connection,
                    _MARK_PUBLISHED,
                    {"sequences": sequences[:published], "now": self._clock.now()},
                )
            if failure is not None:
                await self._note_failure(connection, *failure)
        return RelayResult(published=published, failed=failure is not None)

    # ------------------------------------------------------------------ SQLite

    async def _relay_with_lease(self, limit: int, publish: EventHandler) -> RelayResult:
        relay_id = uuid7()
        batch = await self._lease_batch(relay_id, limit)
        published = 0
        writer = serialized_engine(self._engine)
        for sequence, payload, trace_context in batch:
            try:
                await publish(_event_of(payload, trace_context))
            except Exception as error:
                async with writer.begin() as connection:
                    await self._note_failure(connection, sequence, error)
                    await self._release(connection, relay_id)
                return RelayResult(published=published, failed=True)
            async with writer.begin() as connection:
                await connection.execute(
                    update(_OUTBOX)
                    .where(OutboxRow.sequence == sequence)
                    .values(published_at=self._clock.now(), locked_by=None, locked_until=None)
                )
            published += 1
        return RelayResult(published=published, failed=False)

    async def _lease_batch(self, relay_id: UUID, limit: int) -> Sequence[Any]:
        now = self._clock.now()
        async with serialized_engine(self._engine).begin() as connection:
            rows = (
                await connection.execute(
                    select(OutboxRow.sequence, OutboxRow.payload, OutboxRow.trace_context)
                    .where(
                        OutboxRow.published_at.is_(None),
                        or_(OutboxRow.locked_until.is_(None), OutboxRow.locked_until < now),
                    )
                    .order_by(OutboxRow.sequence)
                    .limit(limit)
                )
            ).all()
            if rows:
                await connection.execute(
                    update(_OUTBOX)
                    .where(OutboxRow.sequence.in_([sequence for sequence, *_ in rows]))
                    .values(locked_by=relay_id, locked_until=now + self._lease)
                )
        return rows

    @staticmethod
    async def _release(connection: AsyncConnection, relay_id: UUID) -> None:
        await connection.execute(
            update(_OUTBOX)
            .where(and_(OutboxRow.locked_by == relay_id, OutboxRow.published_at.is_(None)))
            .values(locked_by=None, locked_until=None)
        )

    @staticmethod
    async def _note_failure(connection: AsyncConnection, sequence: int, error: Exception) -> None:
        await connection.execute(
            update(_OUTBOX)
            .where(OutboxRow.sequence == sequence)
            .values(
                attempts=OutboxRow.attempts + 1,
                last_error=_describe(error),
                locked_by=None,
                locked_until=None,
            )
        )
