"""Calendar feed tokens in SQL (PostgreSQL and SQLite): the ``CalendarFeedStore`` port
(ADR 0023).

Like the service clients, the store uses short transactions of its own, outside any
unit of work. ``token_hash`` is unique and indexed: reading a feed is one lookup by
the SHA-256 of the token in its URL. The table is declared on the shared ``Base`` of
``models.py``; importing this module (``hduce.adapters.sql`` does) registers it with
the migrations' metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import ForeignKey, Row, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.models import Base, UserRow
from hduce.application.ports import CalendarFeed


class CalendarFeedRow(Base):
    __tablename__ = "calendar_feeds"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    #: SHA-256 hex of the token (the token itself is never stored).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


_feeds = cast(Table, CalendarFeedRow.__table__)
_users = cast(Table, UserRow.__table__)


def _feed(row: Row[Any]) -> CalendarFeed:
    return CalendarFeed(
        id=row.id,
        owner_id=row.owner_id,
        label=row.label,
        token_hash=row.token_hash,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class SqlCalendarFeedStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = serialized_engine(engine)

    async def add(self, feed: CalendarFeed, *, max_active: int) -> bool:
        """Count and insert in one transaction that holds the owner's row: on PostgreSQL
        ``SELECT ... FOR UPDATE`` of ``users`` queues the owner's concurrent creations,
        on SQLite ``BEGIN IMMEDIATE`` (the serialized writer) queues every writer, so
        the cap holds however many requests race."""
        async with self._writer.begin() as connection:
            await connection.execute(
                select(_users.c.id).where(_users.c.id == feed.owner_id).with_for_update()
            )
            active = await connection.scalar(
                select(func.count())
                .select_from(_feeds)
                .where(_feeds.c.owner_id == feed.owner_id, _feeds.c.revoked_at.is_(None))
            )
            if int(active or 0) >= max_active:
                return False
            await connection.execute(
                insert(_feeds).values(
                    id=feed.id,
                    owner_id=feed.owner_id,
                    label=feed.label,
                    token_hash=feed.token_hash,
                    created_at=feed.created_at,
                    revoked_at=feed.revoked_at,
                )
            )
        return True

    async def by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(_feeds).where(_feeds.c.token_hash == token_hash))
            ).first()
        return _feed(row) if row is not None else None

    async def list_for(self, owner_id: UUID) -> list[CalendarFeed]:
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(_feeds)
                    .where(_feeds.c.owner_id == owner_id)
                    .order_by(_feeds.c.created_at, _feeds.c.id)
                )
            ).all()
        return [_feed(row) for row in rows]

    async def count_active(self, owner_id: UUID) -> int:
        async with self._engine.connect() as connection:
            total = await connection.scalar(
                select(func.count())
                .select_from(_feeds)
                .where(_feeds.c.owner_id == owner_id, _feeds.c.revoked_at.is_(None))
            )
        return int(total or 0)

    async def revoke(self, feed_id: UUID, *, owner_id: UUID, now: datetime) -> CalendarFeed | None:
        mine = (_feeds.c.id == feed_id, _feeds.c.owner_id == owner_id)
        async with self._writer.begin() as connection:
            await connection.execute(
                update(_feeds).where(*mine, _feeds.c.revoked_at.is_(None)).values(revoked_at=now)
            )
            row = (await connection.execute(select(_feeds).where(*mine))).first()
        return _feed(row) if row is not None else None
