"""Notifications over HTTP: ``/api/v1/notifications``, the caller's in-app inbox and its
live stream (Server-Sent Events).

Wiring (composition root)::

    create_app(container, settings, route_handlers=[..., *notifications.route_handlers()])

with a realtime provider (``hduce.bootstrap.providers.realtime``: the subscriber the
stream listens on, the stream cap) and ``NotificationsProvider`` (the inbox, the
stream) in the container.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.entrypoints.http.notifications.notifications import NotificationsController

__all__ = ["route_handlers"]


def route_handlers() -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1``."""
    return [NotificationsController]
