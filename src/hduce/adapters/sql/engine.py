"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite).

SQLite needs three things to behave like a serious store here:

* WAL journal, so readers never block the writer and the writer never blocks readers;
* ``busy_timeout``, so a second writer *waits* for the lock instead of failing with
  "database is locked";
* SQLAlchemy, not the ``sqlite3`` driver, emitting ``BEGIN`` (the documented
  "Serializable isolation / Savepoints / Transactional DDL" recipe): the driver's legacy
  mode does not begin a transaction before a SELECT, which would let two bookings read
  the same free slot. Taking over BEGIN also lets a unit of work ask for
  ``BEGIN IMMEDIATE`` (the write lock up front) through an execution option.

Plain (not serialized) transactions start ``DEFERRED``, so readers never wait for a
writer. In WAL mode such a transaction cannot later become a writer once someone else
has committed since its first read: SQLite refuses with SQLITE_BUSY_SNAPSHOT ("database
is locked") at once, busy_timeout or not. So right before the first write of a DEFERRED
transaction (INSERT/UPDATE/DELETE/DDL/SAVEPOINT; nothing has been written yet), the
read-only transaction is committed and ``BEGIN IMMEDIATE`` takes its place, waiting for
the lock like any writer. Reads before that point behave like PostgreSQL's READ
COMMITTED; what the writes must not get wrong is guarded under the lock (optimistic
version checks, the appointment repository's overlap check).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: Execution option read by the SQLite ``begin`` hook: how to open the transaction.
SQLITE_BEGIN_MODE: Final = "hduce_sqlite_begin_mode"
SqliteBeginMode = Literal["DEFERRED", "IMMEDIATE"]
_BEGIN_MODES: Final = frozenset({"DEFERRED", "IMMEDIATE"})
#: ``Connection.info`` key: how the current SQLite transaction holds the database.
_TRANSACTION_MODE: Final = "hduce_sqlite_transaction_mode"
_WRITING_STATEMENTS: Final = (
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "CREATE",
    "DROP",
    "ALTER",
    # A savepoint is where a repository starts a guarded write (and checks overlaps
    # under the lock); it must not straddle the upgrade, which ends the transaction.
    "SAVEPOINT",
)

_DRIVERS: Final = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def database_url(url: str | URL) -> URL:
    """``url`` with its async driver (``postgresql://`` -> ``postgresql+asyncpg://``)."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use postgresql+asyncpg:// or sqlite+aiosqlite://"
        )
    return parsed.set(drivername=driver)


def is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or (url.query.get("mode") == "memory")


def create_engine(
    url: str | URL,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    sqlite_busy_timeout: float = 30.0,
    application_name: str = "hduce",
) -> AsyncEngine:
    """An ``AsyncEngine`` for a ``postgresql+asyncpg://`` or ``sqlite+aiosqlite://`` URL.

    PostgreSQL: a pool of ``pool_size`` (+ ``max_overflow`` in bursts) connections,
    recycled every 30 minutes (load balancers and server-side idle timeouts drop old
    connections silently). They are not pinged before use: a ping is a round trip per
    checkout, i.e. per request. A connection found dropped instead fails its statement,
    and SQLAlchemy then invalidates it and every older one in the pool; a unit of work
    retries its first statement once on a fresh connection (``unit_of_work``), so a
    restarted database or a killed backend costs no request.

    SQLite: the parent folder of the database file is created; every connection runs
    in WAL mode with foreign keys on and waits up to ``sqlite_busy_timeout`` seconds
    for the write lock.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            busy_timeout=sqlite_busy_timeout,
        )
    return create_async_engine(
        parsed,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": application_name}},
    )


def _create_sqlite_engine(
    url: URL,
    *,
    echo: bool,
    pool_size: int,
    max_overflow: int,
    pool_timeout: float,
    busy_timeout: float,
) -> AsyncEngine:
    options: dict[str, Any] = {"echo": echo}
    # A memory database lives in one connection, which SQLAlchemy then shares (so pool
    # sizes do not apply); a file database gets a real pool and its folder created.
    if not is_sqlite_memory(url):
        Path(url.database or "").expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        options.update(pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
    engine = create_async_engine(url, **options)
    busy_timeout_ms = max(0, int(busy_timeout * 1000))

    @event.listens_for(engine.sync_engine, "connect")
    def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            if not is_sqlite_memory(url):
                cursor.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL is durable across application crashes; only an OS crash
                # or power loss can drop the last transactions. The usual WAL setting.
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_sqlite_transaction(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_MODE, "DEFERRED")
        if mode not in _BEGIN_MODES:
            raise ValueError(f"{SQLITE_BEGIN_MODE} must be one of {sorted(_BEGIN_MODES)}")
        connection.exec_driver_sql(f"BEGIN {mode}")
        connection.info[_TRANSACTION_MODE] = mode

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _take_write_lock_before_first_write(
        connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if connection.info.get(_TRANSACTION_MODE) != "DEFERRED" or not _writes(statement):
            return
        if not connection.in_transaction():
            return
        connection.info[_TRANSACTION_MODE] = "IMMEDIATE"
        raw = connection.connection.dbapi_connection
        if raw is None:  # pragma: no cover - a checked-out connection always has one
            return
        cursor = raw.cursor()
        try:
            cursor.execute("COMMIT")  # only reads so far: nothing is lost
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except Exception:
                # Keep SQLite inside a transaction, as SQLAlchemy believes it is.
                cursor.execute("BEGIN")
                connection.info[_TRANSACTION_MODE] = "DEFERRED"
                raise
        finally:
            cursor.close()

    return engine


def _writes(statement: str) -> bool:
    return statement.lstrip().upper().startswith(_WRITING_STATEMENTS)


def serialized_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, but SQLite transactions start with ``BEGIN IMMEDIATE``.

    On PostgreSQL this is the engine itself: its constraints, not a global lock, keep
    concurrent writers correct.
    """
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{SQLITE_BEGIN_MODE: "IMMEDIATE"})
