"""Small helpers shared by the SQL repositories."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from sqlalchemy import ColumnExpressionArgument, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Dialect, Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.util.typing import TupleAny

from hduce.application.ports import Page, PageRequest

T = TypeVar("T")

EXCLUSION_VIOLATION: Final = "23P01"
UNIQUE_VIOLATION: Final = "23505"
MAX_PAGE_SIZE: Final = 500
#: ``Session.info`` key: a statement of the current transaction has been sent (the
#: unit of work's session clears it when the transaction ends).
STATEMENT_SENT: Final = "hduce_statement_sent"
#: ``Session.info`` key: (transaction, its connection), so the hot path's statements
#: skip ``Session.connection()`` after the first (``connection_of``).
_CONNECTION: Final = "hduce_connection"
#: ``Session.info`` key of a unit of work's session on PostgreSQL (``SqlUnitOfWorkFactory``):
#: present, its statements run on a connection checked out of the session's engine
#: directly (the value, None until the first statement; ``connection_of``), without
#: the ORM's ``SessionTransaction``.
DIRECT_CONNECTION: Final = "hduce_direct_connection"
#: ``Session.info`` key beside ``DIRECT_CONNECTION`` of a session that writes: its direct
#: connection runs a Core transaction (``Connection.begin()``), committed by
#: ``commit_direct_connection``. Absent, the connection is the autocommit engine's.
DIRECT_TRANSACTION: Final = "hduce_direct_transaction"


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of a PostgreSQL error (asyncpg's ``sqlstate``), None elsewhere."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is None and orig is not None:
        code = getattr(orig.__cause__, "sqlstate", None)
    return str(code) if code is not None else None


def is_exclusion_violation(error: DBAPIError) -> bool:
    return sqlstate(error) == EXCLUSION_VIOLATION


def affected_rows(result: Result[Any]) -> int:
    """Rows changed by an INSERT/UPDATE/DELETE executed through a session."""
    return int(cast(CursorResult[Any], result).rowcount)


def table(model: type[DeclarativeBase]) -> Table:
    """The Core table of a model: writes go through Core statements, not the ORM's
    unit of work, so what is sent to the database is exactly what the code says."""
    return cast(Table, model.__table__)


def connection_of(session: Session) -> Connection:
    """The connection of the session's transaction: ``Session.connection()`` the first
    time in a transaction (it begins one), then the same connection again while that
    transaction lasts. A rollback or commit ends it, and the next transaction is another
    object, so a connection is never reused across transactions (nor after a dropped
    connection's rollback).

    A session on PostgreSQL (``DIRECT_CONNECTION``) does without the ORM's
    ``SessionTransaction`` (its begin, snapshot and close were 6 % of a booking's CPU
    samples, a third of a list page's): its engine lends a connection straight away, on
    which a session that writes (``DIRECT_TRANSACTION``) begins a Core transaction; a
    read-only one's is the autocommit engine's. The session is bound to that connection,
    so a statement sent through it later runs there too, in the same transaction: the
    ``SessionTransaction`` it begins joins the connection's ("conditional_savepoint"
    joins a transaction without a savepoint as "rollback_only": its commit leaves the
    connection's transaction alone, its rollback rolls it back). One connection per
    unit of work. ``commit_direct_connection`` commits, ``release_direct_connection``
    rolls back; both give the connection back and bind the session to the engine again.
    A session whose ORM statement came first (no direct connection yet) keeps its
    ``SessionTransaction`` until that transaction ends."""
    if DIRECT_CONNECTION in session.info:
        direct: Connection | None = session.info[DIRECT_CONNECTION]
        if direct is not None:
            return direct
        if not session.in_transaction():
            # ``get_bind``: the engine of the session (autocommit for a read-only one).
            direct = cast(Any, session.get_bind()).connect()
            if DIRECT_TRANSACTION in session.info:
                # No round trip: asyncpg sends BEGIN with the first statement.
                direct.begin()
            session.info[DIRECT_CONNECTION] = direct
            session.bind = direct
            return direct
    cached: tuple[SessionTransaction, Connection] | None = session.info.get(_CONNECTION)
    transaction = session.get_transaction()
    if cached is not None and cached[0] is transaction and transaction.is_active:
        return cached[1]
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


def commit_direct_connection(session: Session) -> None:
    """Commit a session's work (``connection_of``): a ``SessionTransaction`` of the
    session first (one joined to the direct connection's transaction only ends, one of
    its own commits), then the direct connection's Core transaction, whose connection
    goes back to the pool."""
    if session.in_transaction():
        session.commit()
    direct: Connection | None = session.info.get(DIRECT_CONNECTION)
    if direct is not None:
        direct.commit()
        release_direct_connection(session)


def release_direct_connection(session: Session) -> None:
    """End what a session on PostgreSQL did (``connection_of``): roll back its
    ``SessionTransaction`` (joined to the direct connection's, it rolls that back too;
    no round trip in autocommit), give the direct connection back to the pool (closing
    it rolls back a transaction still open) and bind the session to the engine again."""
    direct: Connection | None = session.info.get(DIRECT_CONNECTION)
    try:
        if session.in_transaction():
            session.rollback()
    finally:
        if direct is not None:
            session.info[DIRECT_CONNECTION] = None
            session.info.pop(STATEMENT_SENT, None)
            session.bind = direct.engine
            direct.close()


def rollback_session(session: Session) -> None:
    """Roll back the session's transaction, whichever it is (``connection_of``)."""
    if session.info.get(DIRECT_CONNECTION) is not None:
        release_direct_connection(session)
    elif session.in_transaction():
        session.rollback()


async def rollback_transaction(session: AsyncSession) -> None:
    """``rollback_session`` from async code; no greenlet switch when nothing is open."""
    if session.info.get(DIRECT_CONNECTION) is not None or session.in_transaction():
        await session.run_sync(rollback_session)


def execute_in_transaction(
    session: Session, statement: Any, parameters: Mapping[str, Any] | None = None
) -> Result[*TupleAny]:
    """``statement`` on the session's connection, in its transaction; a first statement
    of the transaction that meets a dropped connection runs again on a fresh one (as
    the unit of work's ``do_orm_execute`` hook does for statements run through the
    session: see ``hduce.adapters.sql.unit_of_work``)."""
    first = not session.info.get(STATEMENT_SENT)
    session.info[STATEMENT_SENT] = True
    try:
        return _send(connection_of(session), statement, parameters)
    except DBAPIError as error:
        if not first or not error.connection_invalidated:
            raise
        rollback_session(session)
        session.info[STATEMENT_SENT] = True
        return _send(connection_of(session), statement, parameters)


def _send(
    connection: Connection, statement: Any, parameters: Mapping[str, Any] | None
) -> Result[*TupleAny]:
    if isinstance(statement, DriverStatement):
        if statement.typed_rows and connection.dialect.name != "postgresql":
            # Elsewhere the column types do turn the driver's values into others (a
            # GUID's 16 bytes on SQLite): the Core execution types the rows.
            return connection.execute(statement.statement, parameters)
        form = statement.compiled_for(connection.dialect)
        return connection.exec_driver_sql(form.sql, form.positional(parameters or {}))
    return connection.execute(statement, parameters)


async def execute_core(
    session: AsyncSession, statement: Any, parameters: Mapping[str, Any] | None = None
) -> Result[*TupleAny]:
    """Run a Core ``statement`` (built once, with bind parameters) on the session's
    connection instead of through ``Session.execute``: the same transaction and the
    same SQL, without the ORM's per-statement work (``orm_pre_session_exec``, the ORM
    result set-up), which cost the booking's hot path more CPU than its Core execution.
    One greenlet switch, as ``AsyncSession.execute``. Rows come back as Core rows, as
    they did for these column selects through the session.

    A ``DriverStatement`` goes further: its SQL was compiled once, and its parameters
    are sent positionally (``exec_driver_sql``), without SQLAlchemy's per-execution
    compile-cache lookup and ``construct_params``."""
    return await session.run_sync(execute_in_transaction, statement, parameters)


_BindProcessor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _DriverForm:
    """A statement as the driver receives it: SQL text with positional parameters."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[_BindProcessor | None, ...]
    #: Position -> the value of a parameter the statement carries itself (a literal
    #: SQLAlchemy bound, as the outbox statement's ``SELECT 1``), processed once.
    constants: Mapping[int, Any]
    #: Per position: (name, processor) of a parameter, or (None, the constant's value).
    _steps: tuple[tuple[str | None, Any], ...] = ()

    def __post_init__(self) -> None:
        steps = tuple(
            (None, self.constants[position]) if position in self.constants else (name, process)
            for position, (name, process) in enumerate(
                zip(self.names, self.processors, strict=True)
            )
        )
        object.__setattr__(self, "_steps", steps)

    def positional(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            [
                given if name is None else values[name] if given is None else given(values[name])
                for name, given in self._steps
            ]
        )


def _native_uuid(value: Any) -> Any:
    """asyncpg encodes a ``uuid.UUID`` for a ``$n::UUID`` itself (and a string too):
    advanced-alchemy's ``GUID`` turns every one into a string first, which the driver
    then parses back."""
    return value if value is None or isinstance(value, uuid.UUID) else str(value)


def _aware_instant(value: Any) -> Any:
    """``DateTimeUTC``'s bind processing on PostgreSQL, in one call: an aware datetime
    goes to the driver as it is (``timestamptz`` stores the instant, whatever the
    offset; asyncpg converts it), a naive one is refused as ``DateTimeUTC`` does."""
    if value is not None and not value.tzinfo:
        raise TypeError("tzinfo is required")
    return value


class DriverStatement:
    """A Core statement sent by ``execute_core`` as the driver's SQL text with
    positional parameters, compiled once per dialect. Its bind parameters get the same
    processing as through ``Connection.execute`` (each type's bind processor), except
    on PostgreSQL ``GUID``'s (a UUID goes to the driver as it is) and ``DateTimeUTC``'s
    (an aware datetime goes as it is, not converted to UTC first). No ``expanding``/``literal_execute``
    parameters, nor a schema translation: ``compiled_for`` refuses them. Result rows
    come back untyped (the driver's values, by column name and position).

    ``typed_rows``: the caller reads the rows' values (the booking's read, its conflict
    check). Sent as driver SQL only on PostgreSQL, where asyncpg's values are already
    what the column types would give: ``compiled_for`` refuses a result column whose
    type would change them, other than ``GUID`` (passes asyncpg's UUID through) and
    ``DateTimeUTC`` (passes an aware datetime through; ``timestamptz`` always is).
    Elsewhere it runs as the Core statement. Without it, the rows are only counted (an
    ``INSERT ... RETURNING``, the outbox's ``... SELECT 1``)."""

    __slots__ = ("_forms", "statement", "typed_rows")

    def __init__(self, statement: Any, *, typed_rows: bool = False) -> None:
        self.statement = statement
        self.typed_rows = typed_rows
        self._forms: dict[str, _DriverForm] = {}

    def compiled_for(self, dialect: Dialect) -> _DriverForm:
        form = self._forms.get(dialect.name)
        if form is None:
            form = self._forms[dialect.name] = _compile(self.statement, dialect)
            if self.typed_rows:
                _refuse_retyped_results(self.statement, dialect)
        return form


def _refuse_retyped_results(statement: Any, dialect: Dialect) -> None:
    """ValueError unless every result column's type leaves asyncpg's values as they are
    on ``dialect`` (see ``DriverStatement.typed_rows``): an allow-list, since a
    processor may depend on the column's type code, unknown before execution."""
    from sqlalchemy import Boolean, Date, Enum, Integer, String, Time
    from sqlalchemy.types import NullType

    from hduce.adapters.sql.types import GUID, DateTimeUTC

    if dialect.name != "postgresql":
        raise ValueError("typed rows are read from driver SQL on PostgreSQL only")
    for column in statement.selected_columns:
        kind = column.type
        if isinstance(kind, GUID | DateTimeUTC):
            continue
        if (
            not isinstance(kind, String | Integer | Boolean | Date | Time | NullType)
            or isinstance(kind, Enum)
            or kind._cached_result_processor(dialect, None) is not None
        ):
            raise ValueError(f"column {column.key!r}: its type would change the driver's values")


def _compile(statement: Any, dialect: Dialect) -> _DriverForm:
    from hduce.adapters.sql.types import GUID, DateTimeUTC

    compiled = statement.compile(dialect=dialect)
    if (
        not compiled.positional
        or compiled.positiontup is None
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.schema_translate_map
        or compiled.insert_prefetch
        or compiled.update_prefetch
    ):
        raise ValueError("this statement cannot be sent as precompiled driver SQL")
    names = tuple(compiled.positiontup)
    bind_processors = compiled._bind_processors
    processors: list[_BindProcessor | None] = []
    constants: dict[int, Any] = {}
    for position, name in enumerate(names):
        bind = compiled.binds[name]
        process = cast("_BindProcessor | None", bind_processors.get(name))
        if not bind.required:
            value = bind.effective_value
            constants[position] = value if process is None else process(value)
        if dialect.name == "postgresql" and isinstance(bind.type, GUID):
            process = _native_uuid
        elif dialect.name == "postgresql" and isinstance(bind.type, DateTimeUTC):
            process = _aware_instant
        processors.append(process)
    return _DriverForm(compiled.string, names, tuple(processors), constants)


def upsert_insert(session: AsyncSession, model: type[DeclarativeBase]) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's dialect.

    Both PostgreSQL and SQLite (3.24+) speak ``ON CONFLICT ... DO NOTHING/UPDATE``;
    SQLAlchemy exposes it through each dialect's own ``insert``.
    """
    return dialect_insert(dialect_name(session), model)


def dialect_insert(dialect: str, model: type[DeclarativeBase]) -> Any:
    """``upsert_insert`` for a dialect named ahead of any session (a statement built
    once per dialect, as a ``DriverStatement``)."""
    if dialect == "postgresql":
        return postgresql.insert(table(model))
    return sqlite.insert(table(model))


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def clamp(page: PageRequest) -> tuple[int, int]:
    """(limit, offset) within sane bounds: a huge limit must not load a whole table."""
    return max(0, min(page.limit, MAX_PAGE_SIZE)), max(0, page.offset)


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE wildcards in ``text`` taken literally (escape char ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def count(session: AsyncSession, statement: Select[Any]) -> int:
    """Rows the (unpaginated) ``statement`` would return."""
    total = await session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    return int(total or 0)


async def paged(
    session: AsyncSession,
    statement: Select[Any],
    page: PageRequest,
    order_by: Sequence[ColumnExpressionArgument[Any]],
) -> tuple[Sequence[Any], int, int, int]:
    """(ORM rows of one page, total, limit, offset) for an entity ``statement``."""
    limit, offset = clamp(page)
    total = await count(session, statement)
    rows: Sequence[Any] = []
    if limit and offset < total:
        result = await session.scalars(
            statement.order_by(*order_by)
            .limit(limit)
            .offset(offset)
            .execution_options(populate_existing=True)
        )
        rows = result.all()
    return rows, total, limit, offset


def page_of(items: Sequence[T], total: int, limit: int, offset: int) -> Page[T]:
    return Page(items=items, total=total, limit=limit, offset=offset)


async def execute_on(
    connection: AsyncConnection, statement: DriverStatement, parameters: Mapping[str, Any]
) -> Result[*TupleAny]:
    """``execute_core`` for code that holds a connection rather than a unit of work's
    session (the outbox relay's transaction): the same statement, sent the same way."""
    return await connection.run_sync(_send, statement, parameters)
