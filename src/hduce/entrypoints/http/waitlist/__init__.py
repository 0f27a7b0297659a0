"""The waitlist over HTTP: ``/api/v1/waitlist``, a patient's entries and offers.

Wiring (composition root)::

    create_app(container, settings, route_handlers=[..., *waitlist.route_handlers()])

with ``WaitlistProvider`` in the container.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.entrypoints.http.waitlist.waitlist import WaitlistController

__all__ = ["route_handlers"]


def route_handlers() -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1``."""
    return [WaitlistController]
