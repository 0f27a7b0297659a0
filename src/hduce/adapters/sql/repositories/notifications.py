"""Notifications: one row per event, recipient and channel (dedupe key).

The delivery sweep claims rows before sending them (``claim_pending``): one UPDATE
marks the oldest claimable rows with the worker's id and a lease. On PostgreSQL the
rows come from a ``FOR UPDATE SKIP LOCKED`` subquery, so concurrent claims take
disjoint rows without waiting for each other; SQLite runs the statement under its
single write lock. The claimed rows are then read back by owner.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

import msgspec
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import NotificationRow
from hduce.adapters.sql.repositories._support import (
    DriverStatement,
    affected_rows,
    dialect_insert,
    dialect_name,
    execute_core,
    page_of,
    paged,
    table,
    upsert_insert,
)
from hduce.application.ports import Page, PageRequest
from hduce.domain.errors import NotFound
from hduce.domain.notifications import Channel, DeliveryStatus, Notification

_IN_APP: Final = Channel.IN_APP.value
_IN_APP_SQL: Final = f"'{Channel.IN_APP.value}'"
_PENDING_SQL: Final = f"'{DeliveryStatus.PENDING.value}'"


def _pending_delivery() -> list[ColumnElement[bool]]:
    # Spelled exactly like the partial index's WHERE, so that index is used.
    return [
        NotificationRow.status == literal_column(_PENDING_SQL),
        NotificationRow.channel != literal_column(_IN_APP_SQL),
    ]


def claimable_statement(now: Any, limit: Any) -> Select[UUID]:
    """The ids of the ``limit`` oldest rows a claim may take at ``now`` (values, or the
    bind parameters of ``claim_statement``)."""
    return (
        select(NotificationRow.id)
        .where(
            *_pending_delivery(),
            or_(NotificationRow.claimed_until.is_(None), NotificationRow.claimed_until <= now),
        )
        .order_by(NotificationRow.created_at, NotificationRow.id)
        .limit(limit if isinstance(limit, BindParameter) else max(0, limit))
        # PostgreSQL: rows another claim holds are skipped, not waited for; SQLite
        # compiles no locking clause (its write lock covers the statement).
        .with_for_update(skip_locked=True)
    )


def claim_statement() -> DriverStatement:
    """Mark the ``limit`` oldest claimable rows as ``owner``'s until ``until``, counting
    an attempt on each (``Notification.claim``, in one statement). Bind parameters
    ``owner``, ``now``, ``until``, ``limit``: built and compiled once, as a sweep claims
    on every tick."""
    columns = table(NotificationRow).c
    claimable = claimable_statement(
        bindparam("now", type_=columns.claimed_until.type),
        bindparam("limit", type_=Integer()),
    )
    return DriverStatement(
        table(NotificationRow)
        .update()
        .where(columns.id.in_(claimable.scalar_subquery()))
        .values(
            claimed_by=bindparam("owner", type_=columns.claimed_by.type),
            claimed_until=bindparam("until", type_=columns.claimed_until.type),
            attempts=columns.attempts + 1,
        )
    )


_CLAIM: Final = claim_statement()


def _columns_as_read() -> list[Any]:
    """Every column, the two JSON documents as their JSON text (decoded by
    ``_from_read``): a JSON column's result processing would keep a statement off
    driver SQL (``DriverStatement.typed_rows``)."""
    columns = table(NotificationRow).c
    return [
        cast(column, Text).label(column.key)
        if column.key in ("metadata", "trace_context")
        else column
        for column in columns
    ]


def _claimed_bound() -> DriverStatement:
    """The rows one claim took (by its ``owner``), oldest first; compiled once."""
    columns = table(NotificationRow).c
    return DriverStatement(
        select(*_columns_as_read())
        .where(
            *_pending_delivery(),
            columns.claimed_by == bindparam("owner", type_=columns.claimed_by.type),
        )
        .order_by(columns.created_at, columns.id),
        typed_rows=True,
    )


_CLAIMED: Final = _claimed_bound()

#: The columns a saved notification may change: all but its id, recipient, dedupe key
#: and creation (``_changeable_values``, ``record_delivery``).
_CHANGEABLE: Final = (
    "type",
    "title",
    "message",
    "channel",
    "status",
    "attempts",
    "last_error",
    "read_at",
    "sent_at",
    "metadata",
    "claimed_by",
    "claimed_until",
)


def _record_bound() -> DriverStatement:
    """``record_delivery``'s UPDATE, built and compiled once (one per e-mail or SMS
    sent). Its values are ``set_<column>`` (a bind parameter may not take the name of
    a column the statement sets)."""
    columns = table(NotificationRow).c
    return DriverStatement(
        table(NotificationRow)
        .update()
        .where(
            columns.id == bindparam("notification_id", type_=columns.id.type),
            columns.claimed_by == bindparam("owner", type_=columns.claimed_by.type),
        )
        .values({name: bindparam(f"set_{name}", type_=columns[name].type) for name in _CHANGEABLE})
    )


_RECORD: Final = _record_bound()

#: Up to this many notifications are stored by one precompiled statement (a handler
#: stores an event's few); more go through SQLAlchemy's executemany.
_PRECOMPILED_ROWS: Final = 16


@functools.lru_cache(maxsize=64)
def _insert_statement(dialect: str, rows: int, columns: tuple[str, ...]) -> DriverStatement:
    """``INSERT ... VALUES (...), ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id``
    for ``rows`` rows of ``columns``, parameters ``n<row>_<column>``: built and compiled
    once per shape (SQLAlchemy does not cache a multi-row VALUES). Its rows come back
    untyped (``DriverStatement``): the ids are read through ``_as_uuid``."""
    target = table(NotificationRow)
    values = [
        {name: bindparam(f"n{row}_{name}", type_=target.c[name].type) for name in columns}
        for row in range(rows)
    ]
    return DriverStatement(
        dialect_insert(dialect, NotificationRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(target.c.id)
    )


def _as_uuid(value: Any) -> UUID:
    """An id of an untyped row: asyncpg's UUID on PostgreSQL, ``GUID``'s bytes elsewhere."""
    return value if isinstance(value, UUID) else UUID(bytes=value)


_DOCUMENT: Final = msgspec.json.Decoder(dict[str, Any] | None)


def _from_read(row: Any) -> Notification:
    """A row of ``_columns_as_read`` (its two JSON documents as text)."""
    details, trace = row.metadata, row.trace_context
    return _notification(
        row,
        (_DOCUMENT.decode(details) if details else None) or {},
        _DOCUMENT.decode(trace) if trace else None,
    )


def _notification_values(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "recipient_id": notification.recipient_id,
        "type": notification.type,
        "title": notification.title,
        "message": notification.message,
        "channel": notification.channel.value,
        "created_at": notification.created_at,
        "dedupe_key": notification.dedupe_key,
        "status": notification.status.value,
        "attempts": notification.attempts,
        "last_error": notification.last_error,
        "read_at": notification.read_at,
        "sent_at": notification.sent_at,
        "metadata": dict(notification.metadata),
        "claimed_by": notification.claimed_by,
        "claimed_until": notification.claimed_until,
    }


def _insert_values(notifications: Sequence[Notification]) -> list[dict[str, Any]]:
    """The rows to insert; ``trace_context`` only when tracing gave some row one (as the
    outbox does: ``_with_trace_contexts``)."""
    rows = [_notification_values(n) for n in notifications]
    if any(n.trace_context for n in notifications):
        for row, notification in zip(rows, notifications, strict=True):
            context = notification.trace_context
            row["trace_context"] = dict(context) if context else None
    return rows


def _changeable_values(notification: Notification) -> dict[str, Any]:
    values = _notification_values(notification)
    return {name: values[name] for name in _CHANGEABLE}


def _to_notification(row: NotificationRow) -> Notification:
    return _notification(row, row.details or {}, row.trace_context)


def _notification(
    row: Any, metadata: dict[str, Any], trace_context: dict[str, str] | None
) -> Notification:
    """A notification of an ORM row or a Core row, its documents already decoded."""
    return Notification(
        id=row.id,
        recipient_id=row.recipient_id,
        type=row.type,
        title=row.title,
        message=row.message,
        channel=Channel(row.channel),
        created_at=row.created_at,
        dedupe_key=row.dedupe_key,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        read_at=row.read_at,
        sent_at=row.sent_at,
        metadata=dict(metadata),
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
        trace_context=trace_context,
    )


class SqlNotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, notification: Notification) -> bool:
        # ON CONFLICT DO NOTHING: a replayed event must neither fail nor abort the
        # surrounding transaction, and must not notify twice.
        result = await self._session.execute(
            upsert_insert(self._session, NotificationRow)
            .values(_insert_values([notification])[0])
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        return affected_rows(result) == 1

    async def add_all(self, notifications: Sequence[Notification]) -> list[Notification]:
        if not notifications:
            return []
        rows = _insert_values(notifications)
        if len(rows) <= _PRECOMPILED_ROWS:
            statement = _insert_statement(dialect_name(self._session), len(rows), tuple(rows[0]))
            parameters = {
                f"n{index}_{name}": value
                for index, row in enumerate(rows)
                for name, value in row.items()
            }
            result = await execute_core(self._session, statement, parameters)
            stored = {_as_uuid(value) for (value,) in result}
            return [n for n in notifications if n.id in stored]
        # One INSERT for all (SQLAlchemy's "insertmanyvalues" sends the executemany as
        # one multi-row statement, compiled once and cached, unlike ``.values([...])``),
        # same conflict rule as ``add``; RETURNING names the rows that went in (a dedupe
        # key taken, even within the batch, skips the row).
        result = await self._session.execute(
            upsert_insert(self._session, NotificationRow)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(NotificationRow.id),
            rows,
        )
        stored = set(result.scalars().all())
        return [n for n in notifications if n.id in stored]

    async def get(self, notification_id: UUID) -> Notification | None:
        row = await self._session.scalar(
            select(NotificationRow)
            .where(NotificationRow.id == notification_id)
            .execution_options(populate_existing=True)
        )
        return _to_notification(row) if row is not None else None

    async def save(self, notification: Notification) -> None:
        values = _changeable_values(notification)
        result = await self._session.execute(
            table(NotificationRow)
            .update()
            .where(NotificationRow.id == notification.id)
            .values(values)
        )
        if affected_rows(result) == 0:
            raise NotFound("notification", notification.id)

    async def list_for(
        self, recipient_id: UUID, *, unread_only: bool = False, page: PageRequest = PageRequest()
    ) -> Page[Notification]:
        statement: Select[Any] = select(NotificationRow).where(
            NotificationRow.recipient_id == recipient_id, NotificationRow.channel == _IN_APP
        )
        if unread_only:
            statement = statement.where(NotificationRow.read_at.is_(None))
        rows, total, limit, offset = await paged(
            self._session,
            statement,
            page,
            (NotificationRow.created_at.desc(), NotificationRow.id.desc()),
        )
        return page_of([_to_notification(row) for row in rows], total, limit, offset)

    async def unread_count(self, recipient_id: UUID) -> int:
        total = await self._session.scalar(
            select(func.count())
            .select_from(NotificationRow)
            .where(
                NotificationRow.recipient_id == recipient_id,
                NotificationRow.read_at.is_(None),
                NotificationRow.channel == _IN_APP,
            )
        )
        return int(total or 0)

    async def pending_delivery(self, *, limit: int) -> Sequence[Notification]:
        rows = await self._session.scalars(
            select(NotificationRow)
            .where(*_pending_delivery())
            .order_by(NotificationRow.created_at, NotificationRow.id)
            .limit(max(0, limit))
            .execution_options(populate_existing=True)
        )
        return [_to_notification(row) for row in rows]

    async def claim_pending(
        self, *, owner: UUID, now: datetime, lease: timedelta, limit: int
    ) -> Sequence[Notification]:
        if limit <= 0:
            return []
        result = await execute_core(
            self._session,
            _CLAIM,
            {"owner": owner, "now": now, "until": now + lease, "limit": limit},
        )
        if affected_rows(result) == 0:
            return []
        # An owner id is new for every claim, so these are exactly the rows just claimed
        # (read back rather than RETURNING, which SQLite only has since 3.35).
        rows = await execute_core(self._session, _CLAIMED, {"owner": owner})
        return [_from_read(row) for row in rows]

    async def record_delivery(self, notification: Notification, *, owner: UUID) -> bool:
        parameters = {
            f"set_{name}": value for name, value in _changeable_values(notification).items()
        }
        parameters["notification_id"] = notification.id
        parameters["owner"] = owner
        result = await execute_core(self._session, _RECORD, parameters)
        return affected_rows(result) == 1

    async def mark_all_read(self, recipient_id: UUID, now: datetime) -> int:
        result = await self._session.execute(
            table(NotificationRow)
            .update()
            .where(
                NotificationRow.recipient_id == recipient_id,
                NotificationRow.read_at.is_(None),
                NotificationRow.channel == _IN_APP,
            )
            .values(read_at=now)
        )
        return affected_rows(result)

    async def delete(self, notification_id: UUID) -> None:
        result = await self._session.execute(
            delete(NotificationRow).where(NotificationRow.id == notification_id)
        )
        if affected_rows(result) == 0:
            raise NotFound("notification", notification_id)

    async def list_after(
        self, recipient_id: UUID, after_id: UUID, *, limit: int
    ) -> Sequence[Notification]:
        # UUIDv7 ids sort in creation order as PostgreSQL's uuid and as SQLite's hex text.
        rows = await self._session.scalars(
            select(NotificationRow)
            .where(
                NotificationRow.recipient_id == recipient_id,
                NotificationRow.channel == _IN_APP,
                NotificationRow.id > after_id,
            )
            .order_by(NotificationRow.id)
            .limit(max(0, limit))
            .execution_options(populate_existing=True)
        )
        return [_to_notification(row) for row in rows]
