"""SQL persistence: PostgreSQL (asyncpg) in production, SQLite (aiosqlite) embedded.

Wiring, from the composition root::

    db = settings.database
    engine = create_engine(db.url, pool_size=db.pool_size, max_overflow=db.max_overflow,
                           pool_timeout=db.pool_timeout)
    uow_factory = SqlUnitOfWorkFactory(engine)      # UnitOfWorkFactory port
    outbox = SqlOutbox(engine)                      # Outbox port
    probe = DatabaseProbe(engine)                   # ReadinessProbe port
    await upgrade_database(settings.database.url)   # `hduce db upgrade`
    ...
    await engine.dispose()                          # on shutdown
"""

from hduce.adapters.sql.account_tokens import SqlAccountTokenStore  # registers its table too
from hduce.adapters.sql.calendar_feeds import SqlCalendarFeedStore  # registers its table too
from hduce.adapters.sql.engine import create_engine
from hduce.adapters.sql.migrations import current_revision, downgrade_database, upgrade_database
from hduce.adapters.sql.outbox import SqlOutbox
from hduce.adapters.sql.readiness import DatabaseProbe
from hduce.adapters.sql.refresh_tokens import SqlRefreshTokenStore  # registers its table too
from hduce.adapters.sql.second_factor import SqlSecondFactorStore  # registers its tables too
from hduce.adapters.sql.service_tokens import (  # registers their tables too
    SqlServiceClientStore,
    SqlSigningKeyStore,
)
from hduce.adapters.sql.sessions import SqlSessionStore  # registers its table too
from hduce.adapters.sql.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

__all__ = [
    "DatabaseProbe",
    "SqlAccountTokenStore",
    "SqlCalendarFeedStore",
    "SqlOutbox",
    "SqlRefreshTokenStore",
    "SqlSecondFactorStore",
    "SqlServiceClientStore",
    "SqlSessionStore",
    "SqlSigningKeyStore",
    "SqlUnitOfWork",
    "SqlUnitOfWorkFactory",
    "create_engine",
    "current_revision",
    "downgrade_database",
    "upgrade_database",
]
