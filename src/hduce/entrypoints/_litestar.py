"""Litestar, imported without advanced-alchemy (about 7 MB of an API process's memory).

Litestar's ``litestar.pagination`` (which its OpenAPI schema generation imports) takes
advanced-alchemy's ``OffsetPagination`` whenever advanced-alchemy is installed, and that
import runs the whole package: its services, configs and the MySQL, MSSQL and Oracle
dialects. HDUCE answers no ``OffsetPagination`` and uses advanced-alchemy only for
migrations, which run in other processes (``hduce db``, ``hduce serve``'s migration
child). Imported without it (``hduce.optional_imports``), Litestar defines its own
class, as it does where advanced-alchemy is not installed. Imported first by the HTTP
entry points (``hduce.entrypoints.asgi``, ``hduce.entrypoints.http``).
"""

from __future__ import annotations

from hduce.optional_imports import import_without

import_without("litestar.pagination", missing="advanced_alchemy")
