"""Settings shared by ``env.py`` and the programmatic API (no alembic context here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from hduce.adapters.sql.types import GUID

#: This folder: ``env.py``, ``script.py.mako`` and ``versions/``.
MIGRATIONS_DIR: Final = Path(__file__).resolve().parent
VERSION_TABLE: Final = "alembic_version"


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Autogenerate's type comparison, minus one false alarm.

    On SQLite, ``GUID`` is created as ``BINARY(16)``, a type name SQLite does not know;
    SQLAlchemy reflects it by affinity as ``NUMERIC(16)``. Same column, no change.
    None = let alembic decide.
    """
    if (
        context.dialect.name == "sqlite"
        and isinstance(metadata_type, GUID)
        and type(inspected_type).__name__ in {"NUMERIC", "BINARY", "BLOB"}
    ):
        return False
    return None
