"""The admin's console over HTTP: ``/admin/users`` (accounts and their (de)activation),
``/admin/audit``, ``/admin/stats``, ``/admin/devices`` (check-in devices) and the CSV
reports ``/admin/reports/*.csv``.

Wiring (composition root)::

    container: add ``hduce.bootstrap.providers.admin.AdminProvider()``
    create_app(container, settings, route_handlers=[..., *admin.route_handlers()])
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.entrypoints.http.admin.audit import AdminAuditController
from hduce.entrypoints.http.admin.devices import AdminDevicesController
from hduce.entrypoints.http.admin.reports import AdminReportsController
from hduce.entrypoints.http.admin.sessions import AdminSessionsController
from hduce.entrypoints.http.admin.stats import AdminStatsController
from hduce.entrypoints.http.admin.users import AdminUsersController

__all__ = ["route_handlers"]


def route_handlers() -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1``."""
    return [
        AdminUsersController,
        AdminSessionsController,
        AdminAuditController,
        AdminStatsController,
        AdminDevicesController,
        AdminReportsController,
    ]
