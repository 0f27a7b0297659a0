"""Using a single-use row exactly once (refresh tokens, emailed account tokens).

One conditional ``UPDATE ... RETURNING`` in the caller's write transaction:

    UPDATE <table> SET <mark> WHERE <key> AND <still usable> RETURNING ...

On PostgreSQL a concurrent use of the same row blocks on the row lock, then re-checks
the WHERE against the committed row and updates nothing; on SQLite the transaction of
a ``serialized_engine`` starts with ``BEGIN IMMEDIATE`` (the single write lock), which
serialises the two the same way. Either way exactly one use wins; the loser reads the
row by its key to tell why it lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class SingleUse:
    """The outcome: ``won`` is the used row (its ``returning`` columns); else
    ``current`` is the row as it is (its ``explain`` columns), or ``None`` if no row
    has the key."""

    won: Row[Any] | None
    current: Row[Any] | None = None


async def use_once(
    connection: AsyncConnection,
    table: Table,
    *,
    key: ColumnElement[bool],
    still_usable: Sequence[ColumnElement[bool]],
    mark: Mapping[str, Any],
    returning: Sequence[ColumnElement[Any]],
    explain: Sequence[ColumnElement[Any]],
) -> SingleUse:
    """Mark the row of ``key`` used (``mark``) if it is ``still_usable``; run it in a
    transaction of the store's ``serialized_engine``, which may go on writing after a
    win (the replacement of a rotated token) before it commits."""
    won = (
        await connection.execute(
            update(table).where(key, *still_usable).values(**mark).returning(*returning)
        )
    ).first()
    if won is not None:
        return SingleUse(won)
    current = (await connection.execute(select(*explain).where(key))).first()
    return SingleUse(None, current)
