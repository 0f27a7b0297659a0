"""Database operations for the CLI (entrypoints may not reach into adapters)."""

from __future__ import annotations

from hduce.adapters.sql.migrations import current_revision, downgrade_database, upgrade_database
from hduce.bootstrap.settings import Settings


async def upgrade(settings: Settings, revision: str = "head") -> None:
    await upgrade_database(settings.database.url, revision)


async def downgrade(settings: Settings, revision: str) -> None:
    await downgrade_database(settings.database.url, revision)


async def current(settings: Settings) -> str | None:
    return await current_revision(settings.database.url)
