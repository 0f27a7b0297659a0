"""Emailed single-use tokens in SQL: the ``AccountTokenStore`` port on PostgreSQL and
SQLite.

Only the SHA-256 of each token is stored. Using one is a single statement in a short
transaction of its own (``single_use.use_once``, as a refresh token's rotation):

    UPDATE account_tokens SET used_at = :now
     WHERE token_hash = :h AND purpose = :p AND used_at IS NULL AND expires_at > :now
    RETURNING ...

On PostgreSQL a concurrent use of the same token blocks on the row lock, then
re-checks the WHERE against the committed row and updates nothing; on SQLite the
transaction starts with ``BEGIN IMMEDIATE`` (the single write lock). Either way
exactly one use wins; the loser reads the row to say why it lost ("used").

The table is declared on the shared ``Base`` of ``models.py``; importing this module
(``hduce.adapters.sql`` does) registers it with the migrations' metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Row, String, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.models import Base
from hduce.adapters.sql.single_use import use_once
from hduce.application.ports import (
    AccountTokenRecord,
    ConsumeResult,
    LinkPurpose,
    TokenConsumed,
    TokenNotConsumed,
)


class AccountTokenRow(Base):
    __tablename__ = "account_tokens"
    __table_args__ = (
        # The other live links of a user die once one is used; purge by expiry.
        Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),
        Index("ix_account_tokens_expires_at", "expires_at"),
    )

    #: SHA-256 hex of the token (the token itself is never stored).
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


_table = cast(Table, AccountTokenRow.__table__)
_c = _table.c


def _record(row: Row[Any]) -> AccountTokenRecord:
    return AccountTokenRecord(
        token_hash=row.token_hash,
        user_id=row.user_id,
        purpose=LinkPurpose(row.purpose),
        email=row.email,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


class SqlAccountTokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Writes take SQLite's write lock up front; PostgreSQL uses the engine as is.
        self._writer = serialized_engine(engine)

    async def issue(self, record: AccountTokenRecord) -> None:
        async with self._writer.begin() as connection:
            await connection.execute(
                insert(_table).values(
                    token_hash=record.token_hash,
                    user_id=record.user_id,
                    purpose=record.purpose.value,
                    email=record.email,
                    created_at=record.created_at,
                    expires_at=record.expires_at,
                    used_at=record.used_at,
                )
            )

    async def consume(
        self, token_hash: str, *, purpose: LinkPurpose, now: datetime
    ) -> ConsumeResult:
        async with self._writer.begin() as connection:
            used = await use_once(
                connection,
                _table,
                key=_c.token_hash == token_hash,
                still_usable=(
                    _c.purpose == purpose.value,
                    _c.used_at.is_(None),
                    _c.expires_at > now,
                ),
                mark={"used_at": now},
                returning=tuple(_c),
                explain=(_c.purpose, _c.used_at),
            )
        if used.won is not None:
            return TokenConsumed(_record(used.won))
        current = used.current
        if current is None or current.purpose != purpose.value:
            return TokenNotConsumed("unknown")
        return TokenNotConsumed("used" if current.used_at is not None else "expired")

    async def find(self, token_hash: str) -> AccountTokenRecord | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(_table).where(_c.token_hash == token_hash))
            ).first()
        return _record(row) if row is not None else None

    async def use_all_for_user(self, user_id: UUID, purpose: LinkPurpose, *, now: datetime) -> int:
        async with self._writer.begin() as connection:
            used = (
                await connection.execute(
                    update(_table)
                    .where(
                        _c.user_id == user_id,
                        _c.purpose == purpose.value,
                        _c.used_at.is_(None),
                        _c.expires_at > now,
                    )
                    .values(used_at=now)
                    .returning(_c.token_hash)
                )
            ).all()
        return len(used)

    async def purge_expired(self, now: datetime) -> int:
        async with self._writer.begin() as connection:
            result = await connection.execute(delete(_table).where(_c.expires_at <= now))
        return int(result.rowcount or 0)
