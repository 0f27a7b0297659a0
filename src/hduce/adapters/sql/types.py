"""Column types that keep the same meaning on PostgreSQL and SQLite."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


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
