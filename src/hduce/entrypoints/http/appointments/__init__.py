"""Appointments over HTTP: ``/api/v1/appointments`` (booking, listing, iCalendar, and
every transition of the state machine).

Wiring (composition root)::

    create_app(container, settings, route_handlers=[..., *appointments.route_handlers()])

with ``AppointmentsProvider`` (``hduce.bootstrap.providers.appointments``: the
appointment use cases) in the container.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.entrypoints.http.appointments.appointments import AppointmentsController
from hduce.entrypoints.http.appointments.feeds import CalendarFeedsController, calendar_feed
from hduce.entrypoints.http.appointments.series import SeriesController
from hduce.entrypoints.http.appointments.transitions import AppointmentTransitionsController

__all__ = ["root_route_handlers", "route_handlers"]


def route_handlers() -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1``."""
    return [
        AppointmentsController,
        AppointmentTransitionsController,
        SeriesController,
        CalendarFeedsController,
    ]


def root_route_handlers() -> list[ControllerRouterHandler]:
    """Handlers outside ``/api/v1``: the calendar feeds themselves (``/calendar/...``)."""
    return [calendar_feed]
