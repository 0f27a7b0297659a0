"""Column types that keep the same meaning on PostgreSQL and SQLite.

``GUID`` and ``DateTimeUTC`` store exactly what advanced-alchemy's types of the same
names store (the migrations still create the columns with those), for PostgreSQL and
SQLite, the two databases HDUCE runs on. They are here because importing
``advanced_alchemy.types`` runs the whole package (its services, configs and the MySQL,
MSSQL and Oracle dialects): about 13 MB of every process's memory beyond SQLAlchemy,
for two small types.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BINARY, JSON, DateTime, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class GUID(TypeDecorator[uuid.UUID]):
    """A UUID: PostgreSQL's ``uuid``, 16 bytes (``BINARY(16)``) elsewhere."""

    impl = BINARY(16)
    cache_ok = True

    @property
    def python_type(self) -> type[uuid.UUID]:
        return uuid.UUID

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(PG_UUID())
        return dialect.type_descriptor(BINARY(16))

    def process_bind_param(self, value: uuid.UUID | str | bytes | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return str(value)
        return _to_uuid(value).bytes

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None:
            return None
        if value.__class__.__name__ == "UUID":  # also asyncpg's own UUID class
            return value
        return uuid.UUID(bytes=value)

    def compare_values(self, x: Any, y: Any) -> bool:
        if x.__class__.__name__ == "UUID" and y.__class__.__name__ == "UUID":
            return bool(x.bytes == y.bytes)
        return bool(x == y)


def _to_uuid(value: uuid.UUID | str | bytes) -> uuid.UUID:
    if value.__class__.__name__ == "UUID":
        return value  # type: ignore[return-value]
    try:
        return uuid.UUID(hex=value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return uuid.UUID(bytes=value)  # type: ignore[arg-type]


class DateTimeUTC(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC; naive values are refused, and what SQLite gives
    back naive is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not value.tzinfo:
            raise TypeError("tzinfo is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC on PostgreSQL, text on SQLite.

    SQLite's NUMERIC affinity stores ``12.10`` as a binary float, so money would come
    back rounded; a decimal string round-trips exactly (the column is never sorted or
    summed in SQL).
    """

    impl = Numeric(asdecimal=True)
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


#: JSONB on PostgreSQL, JSON text on SQLite. advanced-alchemy 1.12's ``JsonB`` cannot be
#: used with SQLAlchemy 2.1: its Oracle variant attaches a CHECK constraint through
#: ``sqlalchemy.util.portable_instancemethod``, which 2.1 removed (AttributeError at import).
JsonDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
