"""``GET /api/v1/admin/stats`` over HTTP on both backends: who may ask, the JSON shape,
and the numbers of the known dataset with days in the clinic's timezone (Madrid)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.admin.conftest import ADMIN_API, CLINIC_TIMEZONE, AdminApp
from tests.e2e.harness import assert_problem

ROUTES = [f"{ADMIN_API}/stats", f"{ADMIN_API}/audit"]


@pytest.mark.parametrize("route", ROUTES)
async def test_anonymous_callers_are_refused_with_401(admin_app: AdminApp, route: str) -> None:
    assert_problem(await admin_app.client.get(route), 401, "unauthenticated")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["patient", "doctor"])
async def test_patients_and_doctors_are_refused_with_403(
    admin_app: AdminApp, route: str, role: str
) -> None:
    response = await admin_app.client.get(route, headers=admin_app.headers[role])
    assert_problem(response, 403, "forbidden")


def non_zero_days(body: dict[str, Any]) -> dict[str, int]:
    return {d["date"]: d["count"] for d in body["appointments"]["by_day"] if d["count"]}


async def test_admin_gets_the_dashboard_of_the_default_window(admin_app: AdminApp) -> None:
    body = await admin_app.stats()
    world = admin_app.world

    assert body["from"] == "2029-12-08T08:00:00Z" and body["to"] == "2030-02-06T08:00:00Z"
    assert body["timezone"] == CLINIC_TIMEZONE and body["today"] == "2030-01-07"
    appointments = body["appointments"]
    assert appointments["total"] == 13
    assert appointments["by_status"] == {
        "pending": 2,
        "proposed": 0,
        "approved": 2,
        "checked_in": 1,
        "rejected": 1,
        "cancelled": 1,
        "completed": 4,
        "no_show": 1,
        "entered_in_error": 1,
    }
    assert appointments["no_show_rate"] == pytest.approx(0.2)
    assert len(appointments["by_day"]) == 61
    assert non_zero_days(body) == {
        "2029-12-08": 1,
        "2029-12-20": 1,
        "2030-01-02": 1,
        "2030-01-03": 2,
        "2030-01-04": 1,
        "2030-01-05": 1,
        "2030-01-08": 2,  # 23:30 UTC on the 7th is the 8th in Madrid
        "2030-01-10": 2,
        "2030-01-15": 1,
        "2030-02-06": 1,
    }
    assert appointments["by_doctor"] == [
        {
            "doctor_id": str(world.doctor_id(key)),
            "full_name": name,
            "specialty_id": str(world.specialty_id(specialty)),
            "count": count,
        }
        for key, name, specialty, count in [
            ("alice", "Alice Heart", "cardiology", 6),
            ("bob", "Bob Beat", "cardiology", 4),
            ("carla", "Carla Skin", "dermatology", 3),
        ]
    ]
    assert appointments["by_specialty"] == [
        {"specialty_id": str(world.specialty_id("cardiology")), "name": "Cardiology", "count": 10},
        {"specialty_id": str(world.specialty_id("dermatology")), "name": "Dermatology", "count": 3},
    ]
    assert body["doctors"] == {
        "total": 3,
        "by_specialty": [
            {"specialty_id": str(world.specialty_id(key)), "name": name, "count": count}
            for key, name, count in [
                ("cardiology", "Cardiology", 2),
                ("dermatology", "Dermatology", 1),
                ("paediatrics", "Paediatrics", 0),
            ]
        ],
    }
    assert body["patients"] == {
        "total": 8,
        "by_sex": {"female": 3, "male": 2, "other": 1, "unknown": 2},
        "by_age_band": {"0-17": 2, "18-39": 2, "40-64": 1, "65+": 1, "unknown": 2},
    }


async def test_an_explicit_window_given_with_offsets(admin_app: AdminApp) -> None:
    # Summer time starts in Madrid on 31 March 2030: 00:00 CET is 23:00 UTC the day before.
    body = await admin_app.stats(
        **{"from": "2030-03-31T00:00:00+01:00", "to": "2030-04-01T00:00:00+02:00"}
    )

    assert body["from"] == "2030-03-30T23:00:00Z" and body["to"] == "2030-03-31T22:00:00Z"
    assert body["appointments"]["by_day"] == [{"date": "2030-03-31", "count": 3}]
    assert body["appointments"]["by_status"]["completed"] == 2
    assert body["appointments"]["no_show_rate"] == pytest.approx(1 / 3)


async def test_a_window_without_visits_has_a_null_no_show_rate(
    embedded_admin_app: AdminApp,
) -> None:
    body = await embedded_admin_app.stats(
        **{"from": "2031-01-01T00:00:00Z", "to": "2031-01-03T00:00:00Z"}
    )

    assert body["appointments"]["total"] == 0
    assert body["appointments"]["no_show_rate"] is None
    assert body["appointments"]["by_doctor"] == []
    assert [d["date"] for d in body["appointments"]["by_day"]] == [
        "2031-01-01",  # 01:00 in Madrid
        "2031-01-02",
        "2031-01-03",  # until 01:00
    ]
    assert body["patients"]["total"] == 8  # people are counted whatever the window


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2030-01-01T00:00:00"},  # no offset
        {"to": "2030-01-01T00:00:00"},
        {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        {"from": "2030-01-01T00:00:00Z", "to": "2031-06-01T00:00:00Z"},  # over 366 days
        {"from": "yesterday"},
        {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:00Z"},  # no local days
    ],
)
async def test_bad_windows_are_400_problems(
    embedded_admin_app: AdminApp, params: dict[str, str]
) -> None:
    response = await embedded_admin_app.client.get(
        f"{ADMIN_API}/stats", params=params, headers=embedded_admin_app.headers["admin"]
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_both_routes_are_documented_in_openapi(embedded_admin_app: AdminApp) -> None:
    schema = (await embedded_admin_app.client.get("/schema/openapi.json")).json()

    for path in ("/api/v1/admin/stats", "/api/v1/admin/audit"):
        operation = schema["paths"][path]["get"]
        assert operation["tags"] == ["admin"]
        assert operation["summary"] and "Admin only" in operation["description"]
        assert {"200", "400", "401", "403"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to"}
    stats_schema = schema["components"]["schemas"]["AgeBandCounts"]
    assert set(stats_schema["properties"]) == {"0-17", "18-39", "40-64", "65+", "unknown"}
