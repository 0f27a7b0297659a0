"""ListAppointments and GetAppointment: who sees what, filters, stable pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

import pytest

from hduce.application.appointments.commands import TransitionCommand
from hduce.application.ports import AppointmentQuery, PageRequest
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.ids import uuid7
from tests.unit.application.support import THURSDAY, TUESDAY, WEDNESDAY, Clinic, local

S = AppointmentStatus


@dataclass(frozen=True)
class Calendar:
    """Five appointments spread over the cast (a1 and a4 start at the same instant)."""

    a1: Appointment  # patient + doctor, Tue 10:00, pending
    a2: Appointment  # patient + other doctor, Wed 10:00, approved
    a3: Appointment  # other patient + doctor, Tue 10:30, approved
    a4: Appointment  # other patient + other doctor, Tue 10:00, pending
    a5: Appointment  # patient + doctor, Thu 09:00, cancelled


@pytest.fixture
async def calendar(clinic: Clinic) -> Calendar:
    a1 = await clinic.book("patient", starts_at=local(TUESDAY, "10:00"))
    a2 = await clinic.book(
        "admin",
        patient="patient",
        doctor="other_doctor",
        starts_at=local(WEDNESDAY, "10:00"),
        approve=True,
    )
    a3 = await clinic.book(
        "admin", patient="other_patient", starts_at=local(TUESDAY, "10:30"), approve=True
    )
    a4 = await clinic.book(
        "other_patient", doctor="other_doctor", starts_at=local(TUESDAY, "10:00")
    )
    a5 = await clinic.book("patient", starts_at=local(THURSDAY, "09:00"))
    await clinic.cancel(
        TransitionCommand(clinic.actor("patient"), a5.id, reason="no longer needed")
    )
    return Calendar(a1, a2, a3, a4, a5)


def ids(appointments: Iterable[Appointment]) -> list[UUID]:
    return [a.id for a in appointments]


def by_start(*appointments: Appointment) -> list[UUID]:
    return [a.id for a in sorted(appointments, key=lambda a: (a.starts_at, a.id))]


async def test_a_patient_sees_only_their_own(clinic: Clinic, calendar: Calendar) -> None:
    page = await clinic.list_appointments(clinic.actor("patient"), AppointmentQuery())

    assert ids(page.items) == by_start(calendar.a1, calendar.a2, calendar.a5)
    assert page.total == 3


async def test_a_doctor_sees_their_own_calendar(clinic: Clinic, calendar: Calendar) -> None:
    page = await clinic.list_appointments(clinic.actor("doctor"), AppointmentQuery())

    assert ids(page.items) == by_start(calendar.a1, calendar.a3, calendar.a5)


async def test_a_doctor_may_narrow_their_calendar_to_one_patient(
    clinic: Clinic, calendar: Calendar
) -> None:
    query = AppointmentQuery(patient_id=clinic.people.patient.id)

    page = await clinic.list_appointments(clinic.actor("doctor"), query)

    assert ids(page.items) == by_start(calendar.a1, calendar.a5)


async def test_an_admin_sees_everything(clinic: Clinic, calendar: Calendar) -> None:
    page = await clinic.list_appointments(clinic.actor("admin"), AppointmentQuery())

    everything = (calendar.a1, calendar.a2, calendar.a3, calendar.a4, calendar.a5)
    assert ids(page.items) == by_start(*everything)


async def test_a_patient_asking_for_someone_elses_list_is_denied(
    clinic: Clinic, calendar: Calendar
) -> None:
    query = AppointmentQuery(patient_id=clinic.people.other_patient.id)

    with pytest.raises(PermissionDenied):
        await clinic.list_appointments(clinic.actor("patient"), query)


async def test_a_patient_naming_themself_is_fine(clinic: Clinic, calendar: Calendar) -> None:
    query = AppointmentQuery(patient_id=clinic.people.patient.id)

    page = await clinic.list_appointments(clinic.actor("patient"), query)

    assert page.total == 3


async def test_a_doctor_asking_for_a_colleagues_calendar_is_denied(
    clinic: Clinic, calendar: Calendar
) -> None:
    query = AppointmentQuery(doctor_id=clinic.people.other_doctor.id)

    with pytest.raises(PermissionDenied):
        await clinic.list_appointments(clinic.actor("doctor"), query)


async def test_status_filter(clinic: Clinic, calendar: Calendar) -> None:
    occupying = AppointmentQuery(statuses=frozenset({S.PENDING, S.APPROVED}))

    mine = await clinic.list_appointments(clinic.actor("patient"), occupying)
    pending = await clinic.list_appointments(
        clinic.actor("admin"), AppointmentQuery(statuses=frozenset({S.PENDING}))
    )

    assert ids(mine.items) == by_start(calendar.a1, calendar.a2)
    assert ids(pending.items) == by_start(calendar.a1, calendar.a4)


async def test_date_filter_is_half_open(clinic: Clinic, calendar: Calendar) -> None:
    wednesday = AppointmentQuery(
        starts_from=local(WEDNESDAY, "00:00"), starts_before=local(THURSDAY, "09:00")
    )

    page = await clinic.list_appointments(clinic.actor("admin"), wednesday)

    # Thursday 09:00 is the excluded upper bound; Wednesday 10:00 is in.
    assert ids(page.items) == [calendar.a2.id]


async def test_pages_are_stable_and_cover_everything_once(
    clinic: Clinic, calendar: Calendar
) -> None:
    admin = clinic.actor("admin")
    everything = await clinic.list_appointments(admin, AppointmentQuery())

    pages = [
        await clinic.list_appointments(
            admin, AppointmentQuery(page=PageRequest(limit=2, offset=offset))
        )
        for offset in (0, 2, 4)
    ]

    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert all(p.total == 5 for p in pages)
    assert [i for p in pages for i in ids(p.items)] == ids(everything.items)
    # The two 10:00 Tuesday visits are ordered by id, the same way every time.
    again = await clinic.list_appointments(admin, AppointmentQuery(page=PageRequest(limit=2)))
    assert ids(again.items) == ids(pages[0].items) == sorted([calendar.a1.id, calendar.a4.id])


@pytest.mark.parametrize("viewer", ["patient", "doctor", "admin"])
async def test_get_appointment_for_those_who_may_see_it(
    clinic: Clinic, calendar: Calendar, viewer: str
) -> None:
    appointment = await clinic.get_appointment(clinic.actor(viewer), calendar.a1.id)

    assert appointment.id == calendar.a1.id
    assert appointment.status is S.PENDING
    assert len(appointment.history) == 1


@pytest.mark.parametrize("outsider", ["other_patient", "other_doctor"])
async def test_get_appointment_denies_outsiders(
    clinic: Clinic, calendar: Calendar, outsider: str
) -> None:
    # Missing to them, as an unknown id is: a refusal would confirm the id exists.
    with pytest.raises(NotFound):
        await clinic.get_appointment(clinic.actor(outsider), calendar.a1.id)


async def test_get_appointment_of_an_unknown_id(clinic: Clinic) -> None:
    with pytest.raises(NotFound):
        await clinic.get_appointment(clinic.actor("admin"), uuid7())
