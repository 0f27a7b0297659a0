"""``GET /appointments`` answers from the read model (``ListAppointmentViews``): its JSON
must be byte for byte what the page of domain aggregates gave (``ListAppointments``,
``AppointmentPage.of``, encoded as Litestar encodes a returned ``AppointmentPage``), on
PostgreSQL (asyncpg's own UUIDs and datetimes, no type decorators) and on SQLite (through
them; in a session zone other than UTC): every field, the buffers, nulls, reasons with quotes and non-ASCII text, the
history, the total and the next link."""

from __future__ import annotations

from datetime import timedelta

from litestar.serialization import encode_json
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlUnitOfWorkFactory
from hduce.application.appointments.queries import ListAppointments, ListAppointmentViews
from hduce.application.ports import AppointmentQuery, PageRequest
from hduce.domain.identity import Actor, Role
from hduce.domain.visit_types import Buffers
from hduce.entrypoints.http.appointments.schemas import AppointmentPage, encode_listed_page
from tests.unit.adapters.contract import (
    NOW,
    POLICY,
    at,
    book,
    cancel,
    new_institution,
    seed_clinic,
    slot,
    store_appointments,
)


async def test_the_listed_page_encodes_as_the_page_of_aggregates_did(
    engine: AsyncEngine, uow_factory: SqlUnitOfWorkFactory
) -> None:
    if engine.dialect.name == "postgresql":
        # Sessions in a zone other than UTC: PostgreSQL writes instants into JSON in the
        # session's zone, asyncpg decodes timestamptz to UTC whatever it is.
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', "
                "current_database(), 'America/Santiago'); END $$"
            )
        await engine.dispose()
        async with engine.connect() as connection:
            zone = await connection.exec_driver_sql("SHOW timezone")
            assert zone.scalar() == "America/Santiago"
    clinic = await seed_clinic(uow_factory)
    north = new_institution()
    async with uow_factory() as uow:
        await uow.institutions.add(north)
        await uow.commit()
    doctor = Actor(Role.DOCTOR, clinic.doctor.user_id)
    appointments = []
    for n in range(7):
        appointment = book(clinic, slot(0, days=n), approve=n % 2 == 0)
        appointment.reason = f'Control nº{n} "anual"\nsegunda línea'
        if n == 1:
            appointment.buffers = Buffers(timedelta(minutes=10), timedelta(minutes=5))
            appointment.institution_id = north.id
        if n == 2:
            appointment.check_in(
                actor=clinic.admin_actor,
                now=appointment.slot.start - timedelta(minutes=5),
                policy=POLICY,
            )
            appointment.complete(
                actor=doctor, now=appointment.slot.end, notes="Reposo y líquidos \u2014 7 días"
            )
        if n == 3:
            appointment.reject(actor=doctor, now=NOW, reason='Please see a "specialist" first')
        if n == 4:
            cancel(appointment, clinic, now=at(1))
        appointments.append(appointment)
    await store_appointments(uow_factory, *appointments)

    by_aggregates = ListAppointments(uow_factory)
    by_read_model = ListAppointmentViews(uow_factory)
    patient = Actor(Role.PATIENT, clinic.patient.id)
    for actor, query, next_link in (
        (patient, AppointmentQuery(page=PageRequest(20, 0)), None),
        (patient, AppointmentQuery(page=PageRequest(3, 3)), "/api/v1/appointments?offset=6"),
        (clinic.admin_actor, AppointmentQuery(institution_id=north.id), None),
        (doctor, AppointmentQuery(page=PageRequest(5, 40)), None),  # past the end
    ):
        page = await by_aggregates(actor, query)
        listed = await by_read_model(actor, query)
        assert encode_listed_page(listed, next_link) == encode_json(
            AppointmentPage.of(page, next_link)
        ), query
        assert len(listed.items) == len(page.items)
    assert len((await by_read_model(patient, AppointmentQuery())).items) == 7
