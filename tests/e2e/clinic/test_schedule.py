"""Working hours, time off, extra hours and free slots over HTTP: success and every
refusal, on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.e2e.clinic.conftest import API, Clinic
from tests.e2e.harness import assert_problem

OFFICE = {
    day: [{"start": "09:00", "end": "13:00"}, {"start": "16:00", "end": "18:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
NO_DAYS: dict[str, list[Any]] = {
    day: [] for day in ("tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}


def local_starts(slots: list[dict[str, Any]]) -> list[str]:
    return [s["local_starts_at"] for s in slots]


def error_field(response: Any) -> str:
    field: str = assert_problem(response, 400, "invalid-input")["errors"][0]["field"]
    return field


async def test_working_hours_are_replaced_as_a_whole_week(clinic: Clinic) -> None:
    doctor = await clinic.doctor()
    url = f"{API}/doctors/{doctor['id']}/working-hours"

    empty = await clinic.client.get(url)  # public
    assert empty.status_code == 200
    assert empty.json() == {
        "doctor_id": doctor["id"],
        "timezone": "Europe/Madrid",
        "days": {"monday": [], **NO_DAYS},
    }

    week = await clinic.set_hours(doctor, OFFICE)
    assert week["days"]["friday"] == OFFICE["friday"]
    assert week["days"]["saturday"] == []

    # Given in any order, with an interval to midnight; the other days are dropped.
    late = await clinic.client.put(
        url,
        json={
            "timezone": "Europe/Madrid",
            "days": {
                "monday": [{"start": "20:00", "end": "24:00"}, {"start": "08:00", "end": "09:00"}]
            },
        },
        headers=clinic.admin,
    )
    assert late.status_code == 200, late.text
    stored = (await clinic.client.get(url)).json()
    assert stored["days"] == {
        "monday": [{"start": "08:00", "end": "09:00"}, {"start": "20:00", "end": "24:00"}],
        **NO_DAYS,
    }


async def test_working_hours_refusals_name_the_field_and_change_nothing(clinic: Clinic) -> None:
    doctor = await clinic.doctor()
    other = await clinic.doctor()
    patient = await clinic.patient()
    await clinic.set_hours(doctor, OFFICE)
    url = f"{API}/doctors/{doctor['id']}/working-hours"

    async def put(body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return await clinic.client.put(url, json=body, headers=headers or doctor["headers"])

    overlap = await put(
        {
            "days": {
                "monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}]
            }
        }
    )
    assert error_field(overlap) == "days.monday"
    backwards = await put({"days": {"tuesday": [{"start": "12:00", "end": "09:00"}]}})
    assert error_field(backwards) == "days.tuesday[0]"
    midnight_start = await put({"days": {"friday": [{"start": "24:00", "end": "24:00"}]}})
    assert error_field(midnight_start) == "days.friday[0].start"
    for body in (
        {"days": {"funday": []}},
        {"days": {"monday": [{"start": "9:00", "end": "10:00"}]}},
        {"days": {"monday": [{"start": "09:00", "end": "10:00", "room": 3}]}},
        {"monday": []},
    ):
        assert_problem(await put(body), 400, "invalid-request")
    mismatch = await put({"timezone": "America/New_York", "days": OFFICE})
    assert_problem(mismatch, 422, "timezone-mismatch")
    assert_problem(await put({"days": {}}, other["headers"]), 403, "forbidden")
    assert_problem(await put({"days": {}}, patient["headers"]), 403, "forbidden")
    anonymous = await clinic.client.put(url, json={"days": {}})
    assert_problem(anonymous, 401, "unauthenticated")
    unknown = await clinic.client.put(
        f"{API}/doctors/{patient['id']}/working-hours", json={"days": {}}, headers=clinic.admin
    )
    assert_problem(unknown, 404, "not-found")
    assert_problem(
        await clinic.client.get(f"{API}/doctors/{patient['id']}/working-hours"), 404, "not-found"
    )

    unchanged = (await clinic.client.get(url)).json()["days"]
    assert {day: unchanged[day] for day in OFFICE} == OFFICE


async def test_time_off_and_extra_hours_shape_the_free_slots(clinic: Clinic) -> None:
    doctor = await clinic.doctor(visit_minutes=60)
    await clinic.set_hours(doctor, {"tuesday": [{"start": "09:00", "end": "12:00"}]})
    base = f"{API}/doctors/{doctor['id']}"

    before = await clinic.slots(doctor["id"], "2030-01-08", "2030-01-12")
    assert local_starts(before) == [
        "2030-01-08T09:00:00+01:00",
        "2030-01-08T10:00:00+01:00",
        "2030-01-08T11:00:00+01:00",
    ]

    by_instants = await clinic.client.post(
        f"{base}/time-off",
        json={
            "starts_at": "2030-01-08T10:00:00+01:00",
            "ends_at": "2030-01-08T10:00:00Z",
            "reason": "Dentist",
        },
        headers=doctor["headers"],
    )
    assert by_instants.status_code == 201, by_instants.text
    assert by_instants.json() | {"id": None} == {
        "id": None,
        "doctor_id": doctor["id"],
        "starts_at": "2030-01-08T09:00:00Z",
        "ends_at": "2030-01-08T10:00:00Z",
        "local_starts_at": "2030-01-08T10:00:00+01:00",
        "local_ends_at": "2030-01-08T11:00:00+01:00",
        "timezone": "Europe/Madrid",
        "reason": "Dentist",
    }
    extra = await clinic.client.post(
        f"{base}/extra-hours",
        json={"date": "2030-01-12", "start": "10:00", "end": "12:00"},
        headers=clinic.admin,
    )
    assert extra.status_code == 201, extra.text
    assert extra.json() | {"id": None} == {
        "id": None,
        "doctor_id": doctor["id"],
        "date": "2030-01-12",
        "start": "10:00",
        "end": "12:00",
        "timezone": "Europe/Madrid",
    }

    after = await clinic.slots(doctor["id"], "2030-01-08", "2030-01-12")
    assert local_starts(after) == [
        "2030-01-08T09:00:00+01:00",
        "2030-01-08T11:00:00+01:00",
        "2030-01-12T10:00:00+01:00",
        "2030-01-12T11:00:00+01:00",
    ]

    by_dates = await clinic.client.post(
        f"{base}/time-off",
        json={"starts_at": "2030-01-12", "ends_at": "2030-01-12"},
        headers=doctor["headers"],
    )
    assert by_dates.status_code == 201, by_dates.text
    assert (by_dates.json()["local_starts_at"], by_dates.json()["local_ends_at"]) == (
        "2030-01-12T00:00:00+01:00",
        "2030-01-13T00:00:00+01:00",
    )
    final = await clinic.slots(doctor["id"], "2030-01-08", "2030-01-12")
    assert local_starts(final) == local_starts(after)[:2]


async def test_time_off_and_extra_hours_refusals(clinic: Clinic) -> None:
    doctor = await clinic.doctor()
    other = await clinic.doctor()
    patient = await clinic.patient()
    base = f"{API}/doctors/{doctor['id']}"
    good_off = {"starts_at": "2030-02-01", "ends_at": "2030-02-02"}
    good_extra = {"date": "2030-02-02", "start": "09:00", "end": "10:00"}

    async def post(
        what: str, body: dict[str, Any], headers: dict[str, str] | None = None, url: str = base
    ) -> Any:
        return await clinic.client.post(
            f"{url}/{what}",
            json=body,
            headers=headers if headers is not None else doctor["headers"],
        )

    naive = await post("time-off", {"starts_at": "2030-02-01T09:00:00", "ends_at": "2030-02-02"})
    assert "offset" in assert_problem(naive, 400, "invalid-input")["detail"]
    assert error_field(naive) == "starts_at"
    backwards = await post("time-off", {"starts_at": "2030-02-02", "ends_at": "2030-02-01"})
    assert error_field(backwards) == "ends_at"
    garbage = await post("time-off", {"starts_at": "next tuesday", "ends_at": "2030-02-01"})
    assert error_field(garbage) == "starts_at"
    assert_problem(await post("time-off", good_off | {"all_day": True}), 400, "invalid-request")
    extra_backwards = await post("extra-hours", good_extra | {"start": "11:00"})
    assert error_field(extra_backwards) == "end"
    assert_problem(await post("extra-hours", good_extra | {"date": "soon"}), 400, "invalid-request")

    for what, body in (("time-off", good_off), ("extra-hours", good_extra)):
        assert_problem(await post(what, body, other["headers"]), 403, "forbidden")
        assert_problem(await post(what, body, patient["headers"]), 403, "forbidden")
        assert_problem(await post(what, body, {}), 401, "unauthenticated")
        missing = await post(what, body, clinic.admin, url=f"{API}/doctors/{patient['id']}")
        assert_problem(missing, 404, "not-found")

    await clinic.set_hours(doctor, {"saturday": [{"start": "09:00", "end": "10:00"}]})
    # 2030-02-02 is a Saturday: none of the refused requests blocked or added anything.
    assert len(await clinic.slots(doctor["id"], "2030-02-01", "2030-02-02")) == 2


async def test_slot_window_refusals(clinic: Clinic) -> None:
    doctor = await clinic.doctor()
    url = f"{API}/doctors/{doctor['id']}/slots"

    async def get(params: dict[str, str]) -> Any:
        return await clinic.client.get(url, params=params)

    too_long = await get({"from": "2030-01-07", "to": "2030-02-07"})  # 32 local days
    assert "31 days" in assert_problem(too_long, 400, "invalid-input")["detail"]
    assert (await get({"from": "2030-01-07", "to": "2030-02-06"})).status_code == 200  # 31
    naive = await get({"from": "2030-01-07T09:00:00", "to": "2030-01-08"})
    assert error_field(naive) == "from"
    backwards = await get({"from": "2030-01-08", "to": "2030-01-07T00:00:00Z"})
    assert error_field(backwards) == "to"
    assert error_field(await get({"from": "soon", "to": "2030-01-08"})) == "from"
    assert_problem(await get({"from": "2030-01-07"}), 400, "invalid-request")
    missing = await clinic.client.get(
        f"{API}/doctors/{doctor['specialty']['id']}/slots",
        params={"from": "2030-01-07", "to": "2030-01-08"},
    )
    assert_problem(missing, 404, "not-found")


async def test_an_unencoded_plus_in_the_query_still_means_an_offset(clinic: Clinic) -> None:
    doctor = await clinic.doctor()
    await clinic.set_hours(doctor, {"tuesday": [{"start": "09:00", "end": "10:00"}]})
    # A raw "+" in a query string decodes to a space; "+01:00" is what the client meant.
    raw = await clinic.client.get(
        f"{API}/doctors/{doctor['id']}/slots"
        "?from=2030-01-08T09:30:00+01:00&to=2030-01-08T12:00:00+01:00"
    )
    assert raw.status_code == 200, raw.text
    assert local_starts(raw.json()) == ["2030-01-08T09:30:00+01:00"]


async def test_booked_time_is_not_offered(clinic: Clinic) -> None:
    doctor = await clinic.doctor()
    patient = await clinic.patient()
    await clinic.set_hours(doctor, {"tuesday": [{"start": "09:00", "end": "10:00"}]})
    before = await clinic.slots(doctor["id"], "2030-01-08", "2030-01-08")

    await clinic.book(patient, doctor, datetime.fromisoformat(before[0]["starts_at"]))

    after = await clinic.slots(doctor["id"], "2030-01-08", "2030-01-08")
    assert after == before[1:]
