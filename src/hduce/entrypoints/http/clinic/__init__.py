"""The clinic over HTTP: specialties, doctors and their calendars, patients.

Wiring (composition root)::

    container: add ``hduce.bootstrap.providers.clinic.ClinicProvider()`` and
        ``hduce.bootstrap.providers.availability.AvailabilityProvider()``
    create_app(container, settings, route_handlers=[..., *clinic.route_handlers()])
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.entrypoints.http.clinic.doctors import DoctorsController
from hduce.entrypoints.http.clinic.institutions import InstitutionsController
from hduce.entrypoints.http.clinic.patients import PatientsController
from hduce.entrypoints.http.clinic.schedule import DoctorScheduleController
from hduce.entrypoints.http.clinic.slot_search import SlotSearchController
from hduce.entrypoints.http.clinic.specialties import SpecialtiesController
from hduce.entrypoints.http.clinic.visit_types import VisitTypesController
from hduce.entrypoints.http.clinic.walk_ins import WalkInPatientsController

__all__ = ["route_handlers"]


def route_handlers() -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1``."""
    return [
        SpecialtiesController,
        DoctorsController,
        DoctorScheduleController,
        SlotSearchController,
        InstitutionsController,
        VisitTypesController,
        PatientsController,
        WalkInPatientsController,
    ]
