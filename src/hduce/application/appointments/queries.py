"""Reading appointments: one by id, or a role-filtered page."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from hduce.application.access import ensure_can_view, scoped_institution
from hduce.application.ports import (
    AppointmentQuery,
    ListedAppointment,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.application.use_case import load
from hduce.domain.appointments import Appointment
from hduce.domain.errors import PermissionDenied
from hduce.domain.identity import Actor, Role


async def load_visible(uow: UnitOfWork, actor: Actor, appointment_id: UUID) -> Appointment:
    """The appointment, if ``actor`` may see it; ``NotFound`` alike when there is no
    such appointment and when it is someone else's."""
    appointment = await load(uow.appointments.get, appointment_id, "appointment")
    ensure_can_view(actor, appointment)
    return appointment


class GetAppointment:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, appointment_id: UUID) -> Appointment:
        async with self._uow_factory() as uow:
            return await load_visible(uow, actor, appointment_id)


def visible_query(actor: Actor, query: AppointmentQuery) -> AppointmentQuery:
    """``query`` narrowed to what ``actor`` may list: patients their own, doctors their
    calendar, admins all (or their institution's, when scoped to one)."""
    if actor.role is Role.PATIENT:
        if query.patient_id not in (None, actor.user_id):
            raise PermissionDenied("patients list only their own appointments")
        return replace(query, patient_id=actor.user_id)
    if actor.role is Role.DOCTOR:
        if query.doctor_id not in (None, actor.user_id):
            raise PermissionDenied("doctors list only their own calendar")
        return replace(query, doctor_id=actor.user_id)
    if actor.role is Role.ADMIN:
        # An admin scoped to an institution lists its visits only (ADR 0026).
        institution_id = scoped_institution(actor, query.institution_id, "list these visits")
        return replace(query, institution_id=institution_id)
    return query


class ListAppointments:
    """Role-filtered: patients see their own, doctors their calendar, admins all."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, query: AppointmentQuery) -> Page[Appointment]:
        query = visible_query(actor, query)
        # One statement (``AppointmentRepository.list``): no transaction needed.
        async with self._uow_factory(read_only=True) as uow:
            return await uow.appointments.list(query)


class ListAppointmentViews:
    """The same page as ``ListAppointments``, read for display (the read model of
    ``GET /appointments``: ``ListedAppointment``s, no domain aggregates to build)."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, query: AppointmentQuery) -> Page[ListedAppointment]:
        query = visible_query(actor, query)
        async with self._uow_factory(read_only=True) as uow:
            return await uow.appointments.list_listed(query)
