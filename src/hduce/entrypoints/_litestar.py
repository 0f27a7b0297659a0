"""Litestar, imported without advanced-alchemy (about 7 MB of an API process's memory).

Litestar's ``litestar.pagination`` (which its OpenAPI schema generation imports) takes
advanced-alchemy's ``OffsetPagination`` whenever advanced-alchemy is installed, and that
import runs the whole package: its services, configs and the MySQL, MSSQL and Oracle
dialects. HDUCE answers no ``OffsetPagination`` and uses advanced-alchemy only for
migrations, which run in other processes (``hduce db``, ``hduce serve``'s migration
child). With advanced-alchemy marked missing during the import, Litestar defines its own
class, as it does where advanced-alchemy is not installed. The mark is removed at once:
advanced-alchemy still imports normally later. (The pattern of
``hduce.entrypoints.__init__`` for structlog and Rich.) Imported first by the HTTP
entry points (``hduce.entrypoints.asgi``, ``hduce.entrypoints.http``).
"""

from __future__ import annotations

import sys

_ADVANCED_ALCHEMY = "advanced_alchemy"


def _import_litestar_without_advanced_alchemy() -> None:
    if "litestar.pagination" in sys.modules or _ADVANCED_ALCHEMY in sys.modules:
        return  # already imported (a test process, a migration): nothing to save
    sys.modules[_ADVANCED_ALCHEMY] = None  # type: ignore[assignment]  # "not installed"
    try:
        import litestar.pagination  # noqa: F401
    finally:
        del sys.modules[_ADVANCED_ALCHEMY]


_import_litestar_without_advanced_alchemy()
