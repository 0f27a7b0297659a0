"""Which database errors mean "unavailable or overloaded, try again later".

They are not bugs: the pool had no free connection in time, the server refused a
new connection (``too many clients``, starting up, shutting down), or a connection
broke. The HTTP layer answers them 503 with ``Retry-After`` instead of 500.
"""

from __future__ import annotations

from typing import Final, Literal

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

Outage = Literal["busy", "down"]
"""busy: overloaded, a retry soon may pass; down: unreachable or restarting."""

# SQLSTATE class 53 "insufficient resources": 53300 too_many_connections, out of
# memory, disk full.
_BUSY_CLASS: Final = "53"
# Class 08 "connection exception"; 57P01-03: administrator or crash shutdown, and
# "the database system is starting up" (cannot_connect_now).
_DOWN_CLASS: Final = "08"
_DOWN_CODES: Final = frozenset({"57P01", "57P02", "57P03"})
# SQLite's primary result codes SQLITE_BUSY and SQLITE_LOCKED: the busy timeout
# ran out while other connections held the write lock.
_SQLITE_BUSY_CODES: Final = frozenset({5, 6})


def database_outage(error: BaseException) -> Outage | None:
    """The outage ``error`` itself reports (its causes are the caller's to walk)."""
    if isinstance(error, PoolTimeout):  # "QueuePool limit of size N overflow M reached"
        return "busy"
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return "down"
    # asyncpg's errors, raw (on connect) or as SQLAlchemy's adaptation of them.
    code = getattr(error, "sqlstate", None)
    if isinstance(code, str):
        if code.startswith(_BUSY_CLASS):
            return "busy"
        if code.startswith(_DOWN_CLASS) or code in _DOWN_CODES:
            return "down"
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int) and sqlite_code & 0xFF in _SQLITE_BUSY_CODES:
        return "busy"
    return None
