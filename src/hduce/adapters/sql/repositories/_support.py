"""Small helpers shared by the SQL repositories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar, cast

from sqlalchemy import ColumnExpressionArgument, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.util.typing import TupleAny

from hduce.application.ports import Page, PageRequest

T = TypeVar("T")

EXCLUSION_VIOLATION: Final = "23P01"
UNIQUE_VIOLATION: Final = "23505"
MAX_PAGE_SIZE: Final = 500
#: ``Session.info`` key: a statement of the current transaction has been sent (the
#: unit of work's session clears it when the transaction ends).
STATEMENT_SENT: Final = "hduce_statement_sent"


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


def _execute_on_connection(
    session: Session, statement: Any, parameters: Mapping[str, Any] | None
) -> Result[*TupleAny]:
    """``statement`` on the session's connection, in its transaction; a first statement
    of the transaction that meets a dropped connection runs again on a fresh one (as
    the unit of work's ``do_orm_execute`` hook does for statements run through the
    session: see ``hduce.adapters.sql.unit_of_work``)."""
    first = not session.info.get(STATEMENT_SENT)
    session.info[STATEMENT_SENT] = True
    try:
        return session.connection().execute(statement, parameters)
    except DBAPIError as error:
        if not first or not error.connection_invalidated:
            raise
        session.rollback()
        session.info[STATEMENT_SENT] = True
        return session.connection().execute(statement, parameters)


async def execute_core(
    session: AsyncSession, statement: Any, parameters: Mapping[str, Any] | None = None
) -> Result[*TupleAny]:
    """Run a Core ``statement`` (built once, with bind parameters) on the session's
    connection instead of through ``Session.execute``: the same transaction and the
    same SQL, without the ORM's per-statement work (``orm_pre_session_exec``, the ORM
    result set-up), which cost the booking's hot path more CPU than its Core execution.
    One greenlet switch, as ``AsyncSession.execute``. Rows come back as Core rows, as
    they did for these column selects through the session."""
    return await session.run_sync(_execute_on_connection, statement, parameters)


def upsert_insert(session: AsyncSession, model: type[DeclarativeBase]) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's dialect.

    Both PostgreSQL and SQLite (3.24+) speak ``ON CONFLICT ... DO NOTHING/UPDATE``;
    SQLAlchemy exposes it through each dialect's own ``insert``.
    """
    if session.get_bind().dialect.name == "postgresql":
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
