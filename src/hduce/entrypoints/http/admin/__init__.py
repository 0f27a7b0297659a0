"""The admin's read side over HTTP: ``/admin/audit`` and ``/admin/stats``.

(``/admin/users`` lives in ``hduce.entrypoints.http.admin_users``, with identity.)

Wiring (composition root)::

    container: add ``hduce.bootstrap.admin_provider.AdminProvider()``
    create_app(container, settings, route_handlers=[..., *admin_route_handlers()])
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.entrypoints.http.admin.audit import AdminAuditController
from hduce.entrypoints.http.admin.stats import AdminStatsController

__all__ = ["AdminAuditController", "AdminStatsController", "admin_route_handlers"]


def admin_route_handlers() -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1``."""
    return [AdminAuditController, AdminStatsController]
