"""Second factor in SQL: the ``SecondFactorStore`` port on PostgreSQL and SQLite.

Three tables (migration 0010), declared on the shared ``Base``; importing this module
(``hduce.adapters.sql`` does) registers them with the migrations' metadata:

* ``totp_enrolments``: one row per account, its confirmed secret and a pending one,
  both sealed (AES-GCM, ``hduce.adapters.security.totp``), and the last time step used;
* ``recovery_codes``: SHA-256 of each code, ``used_at`` once used;
* ``second_factor_sessions``: the sessions (refresh-token families) that passed;
  ``forget_ended_sessions`` drops those whose family has no live refresh token left.

Each write that must happen once is one conditional statement: a step is spent by
``UPDATE ... SET last_used_step = :step WHERE last_used_step IS NULL OR
last_used_step < :step``, a recovery code by ``UPDATE ... SET used_at = :now WHERE
used_at IS NULL``; of two concurrent requests with the same code one updates a row, the
other none (PostgreSQL re-checks the WHERE after the row lock; SQLite's ``BEGIN
IMMEDIATE`` serialises them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.models import Base
from hduce.adapters.sql.refresh_tokens import RefreshTokenRow
from hduce.application.ports.second_factor import TotpEnrolment


class TotpEnrolmentRow(Base):
    __tablename__ = "totp_enrolments"

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: Sealed (``v1.<base64url>``); None until an authenticator is confirmed.
    secret: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    pending_secret: Mapped[str | None] = mapped_column(Text)
    pending_since: Mapped[datetime | None]
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCodeRow(Base):
    __tablename__ = "recovery_codes"

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: SHA-256 hex of the code's one spelling (``hash_recovery_code``).
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SecondFactorSessionRow(Base):
    __tablename__ = "second_factor_sessions"
    __table_args__ = (Index("ix_second_factor_sessions_user_id", "user_id"),)

    #: The refresh-token family of the session.
    session_id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    verified_at: Mapped[datetime]


_enrolments = cast(Table, TotpEnrolmentRow.__table__)
_codes = cast(Table, RecoveryCodeRow.__table__)
_sessions = cast(Table, SecondFactorSessionRow.__table__)
_e, _r, _s = _enrolments.c, _codes.c, _sessions.c
#: The refresh tokens: a session lives while its family has a live one.
_t = cast(Table, RefreshTokenRow.__table__).c


class SqlSecondFactorStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = serialized_engine(engine)

    async def get(self, user_id: UUID) -> TotpEnrolment | None:
        left = (
            select(func.count())
            .where(_r.user_id == user_id, _r.used_at.is_(None))
            .scalar_subquery()
        )
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(_enrolments, left.label("codes_left")).where(_e.user_id == user_id)
                )
            ).first()
        if row is None:
            return None
        return TotpEnrolment(
            user_id=row.user_id,
            secret=row.secret,
            confirmed_at=row.confirmed_at,
            pending_secret=row.pending_secret,
            pending_since=row.pending_since,
            last_used_step=row.last_used_step,
            recovery_codes_left=int(row.codes_left or 0),
        )

    async def set_pending(self, user_id: UUID, sealed_secret: str, now: datetime) -> None:
        # One upsert: two enrolments at once (a double click) cannot both insert.
        dialect_insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(_enrolments).values(
            user_id=user_id, pending_secret=sealed_secret, pending_since=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[_e.user_id],
            set_={"pending_secret": sealed_secret, "pending_since": now},
        )
        async with self._writer.begin() as connection:
            await connection.execute(statement)

    async def confirm(
        self,
        user_id: UUID,
        *,
        pending_secret: str,
        step: int,
        recovery_code_hashes: Sequence[str],
        now: datetime,
    ) -> bool:
        async with self._writer.begin() as connection:
            changed = await connection.execute(
                update(_enrolments)
                .where(_e.user_id == user_id, _e.pending_secret == pending_secret)
                .values(
                    secret=pending_secret,
                    confirmed_at=now,
                    pending_secret=None,
                    pending_since=None,
                    last_used_step=step,
                )
            )
            if not changed.rowcount:
                return False
            await connection.execute(delete(_codes).where(_r.user_id == user_id))
            if recovery_code_hashes:
                await connection.execute(
                    insert(_codes),
                    [
                        {"user_id": user_id, "code_hash": code_hash, "created_at": now}
                        for code_hash in recovery_code_hashes
                    ],
                )
        return True

    async def use_step(self, user_id: UUID, step: int) -> bool:
        async with self._writer.begin() as connection:
            changed = await connection.execute(
                update(_enrolments)
                .where(
                    _e.user_id == user_id,
                    _e.secret.is_not(None),
                    or_(_e.last_used_step.is_(None), _e.last_used_step < step),
                )
                .values(last_used_step=step)
            )
        return bool(changed.rowcount)

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        async with self._writer.begin() as connection:
            changed = await connection.execute(
                update(_codes)
                .where(_r.user_id == user_id, _r.code_hash == code_hash, _r.used_at.is_(None))
                .values(used_at=now)
            )
        return bool(changed.rowcount)

    async def remove(self, user_id: UUID) -> bool:
        async with self._writer.begin() as connection:
            await connection.execute(delete(_codes).where(_r.user_id == user_id))
            removed = await connection.execute(delete(_enrolments).where(_e.user_id == user_id))
        return bool(removed.rowcount)

    async def mark_session(self, session_id: UUID, user_id: UUID, now: datetime) -> None:
        async with self._writer.begin() as connection:
            known = (
                await connection.execute(select(_s.session_id).where(_s.session_id == session_id))
            ).first()
            if known is None:
                await connection.execute(
                    insert(_sessions).values(
                        session_id=session_id, user_id=user_id, verified_at=now
                    )
                )

    async def is_session_marked(self, session_id: UUID) -> bool:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(_s.session_id).where(_s.session_id == session_id))
            ).first()
        return row is not None

    async def forget_ended_sessions(self, now: datetime) -> int:
        live = (
            select(_t.family_id)
            .where(
                _t.family_id == _s.session_id,
                _t.rotated_at.is_(None),
                _t.revoked_at.is_(None),
                _t.expires_at > now,
            )
            .exists()
        )
        async with self._writer.begin() as connection:
            result = await connection.execute(delete(_sessions).where(~live))
        return int(result.rowcount or 0)
