"""Session records in SQL: the ``SessionStore`` port on PostgreSQL and SQLite.

One row per session (its id is the refresh-token family's). Whether a session is
active is read from ``refresh_tokens`` in the same statement:

    SELECT ... FROM user_sessions s
     WHERE s.user_id = :u
       AND EXISTS (SELECT 1 FROM refresh_tokens t
                    WHERE t.family_id = s.id AND t.rotated_at IS NULL
                      AND t.revoked_at IS NULL AND t.expires_at > :now)
     ORDER BY s.last_used_at DESC

so a session ended anywhere (logout, reuse, deactivation, revocation) leaves the list
at once, with no second copy of its state to keep in step. Like the refresh-token
store, each method is one short transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    ForeignKey,
    Index,
    Row,
    String,
    Table,
    delete,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.models import Base
from hduce.adapters.sql.refresh_tokens import RefreshTokenRow
from hduce.domain.errors import AlreadyExists
from hduce.domain.sessions import UserSession


class UserSessionRow(Base):
    __tablename__ = "user_sessions"
    __table_args__ = (
        # An account's sessions; forgetting ended ones by age.
        Index("ix_user_sessions_user_id", "user_id"),
        Index("ix_user_sessions_last_used_at", "last_used_at"),
    )

    #: The refresh-token family of the session.
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client: Mapped[str] = mapped_column(String(120))
    #: ``coarse_network`` of the last address used: never a full address.
    network: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime]


_table = cast(Table, UserSessionRow.__table__)
_c = _table.c
_tokens = cast(Table, RefreshTokenRow.__table__).c


def _session(row: Row[Any]) -> UserSession:
    return UserSession(
        id=row.id,
        user_id=row.user_id,
        client=row.client,
        network=row.network,
        user_agent=row.user_agent,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _values(session: UserSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "client": session.client[:120],
        "network": session.network,
        "user_agent": session.user_agent,
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
    }


class SqlSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = serialized_engine(engine)

    async def add(self, session: UserSession) -> None:
        async with self._writer.begin() as connection:
            inserted = await connection.execute(
                _insert_new(connection).values(**_values(session)).returning(_c.id)
            )
            if inserted.first() is None:
                raise AlreadyExists(f"session {session.id} already recorded")

    async def touch(
        self, session: UserSession, *, now: datetime, network: str | None
    ) -> UserSession:
        async with self._writer.begin() as connection:
            row = (
                await connection.execute(
                    update(_table)
                    .where(_c.id == session.id)
                    .values(last_used_at=now, network=network)
                    .returning(*_c)
                )
            ).first()
            if row is None:
                # Begun before sessions were recorded (or raced with its own sign-in).
                values = _values(session) | {"last_used_at": now, "network": network}
                await connection.execute(_insert_new(connection).values(**values))
                row = (await connection.execute(select(_table).where(_c.id == session.id))).one()
        return _session(row)

    async def get(self, session_id: UUID) -> UserSession | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(_table).where(_c.id == session_id))).first()
        return _session(row) if row is not None else None

    async def active(self, user_id: UUID, *, now: datetime) -> Sequence[UserSession]:
        live = exists().where(
            _tokens.family_id == _c.id,
            _tokens.user_id == user_id,
            _tokens.rotated_at.is_(None),
            _tokens.revoked_at.is_(None),
            _tokens.expires_at > now,
        )
        statement = (
            select(_table)
            .where(_c.user_id == user_id, live)
            .order_by(_c.last_used_at.desc(), _c.id.desc())
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [_session(row) for row in rows]

    async def live_sessions(self, user_id: UUID, *, now: datetime) -> set[UUID]:
        statement = (
            select(_tokens.family_id)
            .where(
                _tokens.user_id == user_id,
                _tokens.rotated_at.is_(None),
                _tokens.revoked_at.is_(None),
                _tokens.expires_at > now,
            )
            .distinct()
        )
        async with self._engine.connect() as connection:
            return set((await connection.execute(statement)).scalars())

    async def devices_seen(self, user_id: UUID, *, excluding: UUID) -> set[tuple[str, str | None]]:
        statement = (
            select(_c.client, _c.network)
            .where(_c.user_id == user_id, _c.id != excluding)
            .distinct()
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return {(row.client, row.network) for row in rows}

    async def forget_ended(self, *, before: datetime) -> int:
        any_token = exists().where(_tokens.family_id == _c.id)
        async with self._writer.begin() as connection:
            result = await connection.execute(
                delete(_table).where(_c.last_used_at < before, ~any_token)
            )
        return int(result.rowcount or 0)


def _insert_new(connection: AsyncConnection) -> Any:
    """``INSERT ... ON CONFLICT (id) DO NOTHING`` in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(_table).on_conflict_do_nothing(index_elements=["id"])
    if connection.dialect.name == "sqlite":
        return sqlite.insert(_table).on_conflict_do_nothing(index_elements=["id"])
    return insert(_table)  # pragma: no cover - only PostgreSQL and SQLite are supported
