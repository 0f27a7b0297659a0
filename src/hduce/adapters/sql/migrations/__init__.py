"""Schema migrations (Alembic, driven through advanced-alchemy's ``AlembicCommands``).

``upgrade_database``/``downgrade_database`` are coroutines that run on the caller's
event loop: they open one connection, hand it to Alembic (see ``env.py``) and let
Alembic's synchronous API run through ``AsyncConnection.run_sync`` — no nested
``asyncio.run``, no thread. Each runs in a single transaction (both PostgreSQL and
SQLite have transactional DDL), so a failed migration leaves the schema untouched.

For developers, ``alembic_commands(url)`` gives advanced-alchemy's command object
(``revision(message, autogenerate=True)``, ``history()``, ``current()`` ...) wired to
this folder.

Alembic (and Mako, which it loads) is imported by these functions, not with the
module: the API and worker processes import this package but never migrate, and would
keep several MB of modules for nothing (``tests/unit/test_process_imports.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql.engine import create_engine
from hduce.adapters.sql.migrations.config import MIGRATIONS_DIR, VERSION_TABLE
from hduce.adapters.sql.models import metadata

if TYPE_CHECKING:
    from advanced_alchemy.alembic.commands import AlembicCommands

__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "alembic_commands",
    "current_revision",
    "downgrade_database",
    "upgrade_database",
]


def alembic_commands(engine: AsyncEngine) -> AlembicCommands:
    """advanced-alchemy's Alembic command set for ``engine`` and this migrations folder."""
    from advanced_alchemy.alembic.commands import AlembicCommands
    from advanced_alchemy.config import AlembicAsyncConfig, SQLAlchemyAsyncConfig

    config = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        metadata=metadata,
        alembic_config=AlembicAsyncConfig(
            script_config="",  # no alembic.ini: everything is configured here
            script_location=str(MIGRATIONS_DIR),
            version_table_name=VERSION_TABLE,
            render_as_batch=True,
            compare_type=True,
            user_module_prefix=None,
        ),
    )
    return AlembicCommands(sqlalchemy_config=config)


async def upgrade_database(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (default: the latest)."""
    await _run(url, lambda commands: commands.upgrade(revision))


async def downgrade_database(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"`` = empty)."""
    await _run(url, lambda commands: commands.downgrade(revision))


async def current_revision(url: str) -> str | None:
    """The revision the database is at, None for an unmigrated database."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(
                    sync, opts={"version_table": VERSION_TABLE}
                ).get_current_revision()
            )
    finally:
        await engine.dispose()


async def _run(url: str, action: Callable[[AlembicCommands], None]) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        commands = alembic_commands(engine)
        async with engine.begin() as connection:

            def in_connection(sync_connection: Connection) -> None:
                commands.config.attributes["connection"] = sync_connection
                action(commands)

            await connection.run_sync(in_connection)
    finally:
        await engine.dispose()
