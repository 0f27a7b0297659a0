"""The database's readiness probes: it answers, and its schema is the code's."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql.migrations.config import MIGRATIONS_DIR, VERSION_TABLE
from hduce.adapters.sql.migrations.revisions import read_revision_graph

_log = structlog.get_logger(__name__)
_REVISIONS = text(f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608 (a constant)


class DatabaseProbe:
    """A ``ReadinessProbe`` (see ``hduce.application.ports``): the database answers a
    trivial query."""

    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        #: Taken by each SQL probe in turn: a check holds one pooled connection at a
        #: time, whatever the pool's size (a probe must not starve the requests).
        self.lock = asyncio.Lock()

    async def check(self) -> None:
        async with self.lock, self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))


class SchemaBehindCode(Exception):
    """The database lacks migrations this code needs (``hduce db upgrade``)."""


class MigrationsProbe:
    """The database's Alembic revision is the code's head.

    A revision this code does not know is a newer release's, applied before that
    release's processes start (README, Split deployment): its migrations keep the
    previous release working, so this process stays ready (and logs it once). An
    older revision, or none, means tables or columns the code uses may be missing:
    not ready until ``hduce db upgrade`` ran. Once seen at head the answer is kept
    (a schema does not go back in a running deployment), so a ready process asks
    the database nothing more.
    """

    name = "migrations"

    def __init__(self, engine: AsyncEngine, database: DatabaseProbe) -> None:
        self._engine = engine
        self._lock = database.lock
        self._heads: frozenset[str] | None = None
        self._known: frozenset[str] = frozenset()
        self._at_head = False

    def _load_scripts(self) -> frozenset[str]:
        if self._heads is None:
            # Read from the scripts' text: Alembic would import every script, and with
            # them Alembic, Mako and advanced-alchemy, into a process that never migrates.
            graph = read_revision_graph(MIGRATIONS_DIR / "versions")
            self._known = graph.known
            self._heads = graph.heads
        return self._heads

    async def check(self) -> None:
        if self._at_head:
            return
        heads = self._load_scripts()
        async with self._lock, self._engine.connect() as connection:
            exists = await connection.run_sync(lambda sync: inspect(sync).has_table(VERSION_TABLE))
            rows: list[str] = []
            if exists:
                rows = list((await connection.execute(_REVISIONS)).scalars())
        revisions = frozenset(rows)
        if revisions == heads:
            self._at_head = True
            return
        if revisions and not revisions & self._known:
            _log.warning(
                "the database is at a newer revision than this code",
                database=sorted(revisions),
                code=sorted(heads),
            )
            self._at_head = True
            return
        raise SchemaBehindCode(f"database at {sorted(revisions)}, code at {sorted(heads)}")
