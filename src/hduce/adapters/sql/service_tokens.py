"""Signing keys and service clients in SQL (PostgreSQL and SQLite): the
``SigningKeyStore`` and ``ServiceClientStore`` ports (ADR 0016).

Like the refresh tokens, these stores use short transactions of their own, outside
any unit of work. ``signing_keys.generation`` is unique: two processes adding the same
generation at once (the first key at start-up, or two rotations) cannot both succeed;
the loser's ``add`` answers False.

The tables are declared on the shared ``Base`` of ``models.py``; importing this module
(``hduce.adapters.sql`` does) registers them with the migrations' metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Integer,
    Row,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from hduce.adapters.sql.engine import serialized_engine
from hduce.adapters.sql.models import Base
from hduce.application.ports import ServiceClient, SigningKeyRecord


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"

    #: RFC 7638 thumbprint of the key (the ``kid`` of the tokens it signs).
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    #: PKCS#8 PEM, encrypted with HDUCE_JWT_KEY_PASSPHRASE when ``encrypted``.
    private_key: Mapped[str] = mapped_column(Text)
    encrypted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    activates_at: Mapped[datetime]


class ServiceClientRow(Base):
    __tablename__ = "service_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 hex of the client secret (the secret itself is never stored).
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
    revoked_at: Mapped[datetime | None]


_keys = cast(Table, SigningKeyRow.__table__)
_clients = cast(Table, ServiceClientRow.__table__)


def _key(row: Row[Any]) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=row.kid,
        generation=row.generation,
        algorithm=row.algorithm,
        private_key=row.private_key,
        encrypted=row.encrypted,
        created_at=row.created_at,
        activates_at=row.activates_at,
    )


def _client(row: Row[Any]) -> ServiceClient:
    return ServiceClient(
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


class SqlSigningKeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = serialized_engine(engine)

    async def list_all(self) -> list[SigningKeyRecord]:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(_keys).order_by(_keys.c.generation))).all()
        return [_key(row) for row in rows]

    async def add(self, record: SigningKeyRecord) -> bool:
        try:
            async with self._writer.begin() as connection:
                await connection.execute(
                    insert(_keys).values(
                        kid=record.kid,
                        generation=record.generation,
                        algorithm=record.algorithm,
                        private_key=record.private_key,
                        encrypted=record.encrypted,
                        created_at=record.created_at,
                        activates_at=record.activates_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def delete(self, kids: list[str]) -> int:
        if not kids:
            return 0
        async with self._writer.begin() as connection:
            result = await connection.execute(delete(_keys).where(_keys.c.kid.in_(kids)))
        return int(result.rowcount or 0)


class SqlServiceClientStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = serialized_engine(engine)

    async def add(self, client: ServiceClient) -> None:
        async with self._writer.begin() as connection:
            await connection.execute(
                insert(_clients).values(
                    client_id=client.client_id,
                    name=client.name,
                    secret_hash=client.secret_hash,
                    created_at=client.created_at,
                    created_by=client.created_by,
                    revoked_at=client.revoked_at,
                )
            )

    async def get(self, client_id: str) -> ServiceClient | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(_clients).where(_clients.c.client_id == client_id))
            ).first()
        return _client(row) if row is not None else None

    async def list_all(self) -> list[ServiceClient]:
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(_clients).order_by(_clients.c.created_at, _clients.c.client_id)
                )
            ).all()
        return [_client(row) for row in rows]

    async def revoke(self, client_id: str, *, now: datetime) -> ServiceClient | None:
        async with self._writer.begin() as connection:
            await connection.execute(
                update(_clients)
                .where(_clients.c.client_id == client_id, _clients.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = (
                await connection.execute(select(_clients).where(_clients.c.client_id == client_id))
            ).first()
        return _client(row) if row is not None else None
