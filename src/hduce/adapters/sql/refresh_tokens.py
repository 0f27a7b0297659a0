"""Refresh tokens in SQL: the ``RefreshTokenStore`` port on PostgreSQL and SQLite.

Only the SHA-256 of each token is stored. Rotation is one short transaction of its
own, independent of any unit of work:

    UPDATE refresh_tokens SET rotated_at = :now
     WHERE token_hash = :h AND rotated_at IS NULL AND revoked_at IS NULL
       AND expires_at > :now
    RETURNING user_id, family_id

(``single_use.use_once``, as an emailed account token's use) followed, when a row
came back, by the INSERT of the replacement in the same transaction. On PostgreSQL a
concurrent rotation of the same token blocks on the row lock, then re-checks the
WHERE against the committed row and updates nothing: exactly one wins, the other
reads the row, finds it rotated and answers ``Reused``. On SQLite the transaction
starts with ``BEGIN IMMEDIATE`` (the database's single write lock), which
serialises the two the same way.

The table is declared on the shared ``Base`` of ``models.py``; importing this
module (``hduce.adapters.sql`` does) registers it with the migrations' metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Row,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.models import Base
from hduce.adapters.sql.single_use import use_once
from hduce.application.ports import (
    RefreshRefused,
    RefreshTokenRecord,
    Reused,
    Rotated,
    RotateResult,
)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        # Revoke a session (family) or every session of a user; purge by expiry.
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_user_id", "user_id"),
        Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    #: SHA-256 hex of the token (the token itself is never stored).
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[UUID]
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


_table = cast(Table, RefreshTokenRow.__table__)
_c = _table.c


def _record(row: Row[Any]) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=row.token_hash,
        user_id=row.user_id,
        family_id=row.family_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        rotated_at=row.rotated_at,
        revoked_at=row.revoked_at,
    )


class SqlRefreshTokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Writes take SQLite's write lock up front; PostgreSQL uses the engine as is.
        self._writer = serialized_engine(engine)

    async def issue(self, record: RefreshTokenRecord) -> None:
        async with self._writer.begin() as connection:
            await connection.execute(
                insert(_table).values(
                    token_hash=record.token_hash,
                    user_id=record.user_id,
                    family_id=record.family_id,
                    issued_at=record.issued_at,
                    expires_at=record.expires_at,
                    rotated_at=record.rotated_at,
                    revoked_at=record.revoked_at,
                )
            )

    async def rotate(
        self, token_hash: str, *, new_token_hash: str, now: datetime, expires_at: datetime
    ) -> RotateResult:
        async with self._writer.begin() as connection:
            used = await use_once(
                connection,
                _table,
                key=_c.token_hash == token_hash,
                still_usable=(
                    _c.rotated_at.is_(None),
                    _c.revoked_at.is_(None),
                    _c.expires_at > now,
                ),
                mark={"rotated_at": now},
                returning=(_c.user_id, _c.family_id),
                explain=(_c.user_id, _c.family_id, _c.rotated_at, _c.revoked_at),
            )
            won = used.won
            if won is not None:
                await connection.execute(
                    insert(_table).values(
                        token_hash=new_token_hash,
                        user_id=won.user_id,
                        family_id=won.family_id,
                        issued_at=now,
                        expires_at=expires_at,
                    )
                )
                return Rotated(won.user_id, won.family_id)
        current = used.current
        if current is None:
            return RefreshRefused("unknown")
        if current.rotated_at is not None:
            return Reused(current.user_id, current.family_id)
        if current.revoked_at is not None:
            return RefreshRefused("revoked")
        return RefreshRefused("expired")

    async def find(self, token_hash: str) -> RefreshTokenRecord | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(_table).where(_c.token_hash == token_hash))
            ).first()
        return _record(row) if row is not None else None

    async def revoke_family(self, family_id: UUID, *, now: datetime) -> int:
        return await self._revoke(_c.family_id == family_id, now)

    async def revoke_all_for_user(self, user_id: UUID, *, now: datetime) -> int:
        return await self._revoke(_c.user_id == user_id, now)

    async def _revoke(self, selected: ColumnElement[bool], now: datetime) -> int:
        """Revoke every token not revoked yet; count those that were still usable."""
        async with self._writer.begin() as connection:
            revoked = (
                await connection.execute(
                    update(_table)
                    .where(selected, _c.revoked_at.is_(None))
                    .values(revoked_at=now)
                    .returning(_c.rotated_at, _c.expires_at)
                )
            ).all()
        return sum(1 for row in revoked if row.rotated_at is None and row.expires_at > now)

    async def purge_expired(self, now: datetime) -> int:
        async with self._writer.begin() as connection:
            result = await connection.execute(delete(_table).where(_c.expires_at <= now))
        return int(result.rowcount or 0)
