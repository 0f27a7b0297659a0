"""Patients' records over HTTP: the patient and admins read and write; a doctor reads
only the records of their own patients; everyone else is refused."""

from __future__ import annotations

from datetime import datetime

from tests.e2e.clinic.conftest import API, Clinic
from tests.e2e.harness import assert_problem


async def test_patient_records_by_role(clinic: Clinic) -> None:
    client = clinic.client
    patient = await clinic.patient("Paula")
    stranger = await clinic.patient("Oscar")
    doctor = await clinic.doctor()
    other_doctor = await clinic.doctor()
    url = f"{API}/patients/{patient['id']}"

    own = await client.get(url, headers=patient["headers"])
    assert own.status_code == 200, own.text
    assert own.json() == {
        "id": patient["id"],
        "full_name": "Paula",
        "email": patient["email"],
        "phone": None,
        "timezone": "UTC",
        "date_of_birth": None,
        "sex": "unknown",
        "emergency_contact_name": None,
        "emergency_contact_phone": None,
    }

    updated = await client.patch(
        url,
        json={
            "date_of_birth": "1990-05-17",
            "sex": "female",
            "emergency_contact_name": "Luis",
            "emergency_contact_phone": "+34 600 999 888",
        },
        headers=patient["headers"],
    )
    assert updated.status_code == 200, updated.text
    assert {k: updated.json()[k] for k in ("date_of_birth", "sex", "emergency_contact_phone")} == {
        "date_of_birth": "1990-05-17",
        "sex": "female",
        "emergency_contact_phone": "+34600999888",
    }
    cleared = await client.patch(url, json={"emergency_contact_name": None}, headers=clinic.admin)
    assert cleared.status_code == 200 and cleared.json()["emergency_contact_name"] is None
    assert (await client.get(url, headers=clinic.admin)).json() == cleared.json()

    # Doctors: nothing before an appointment, read-only after one.
    assert_problem(await client.get(url, headers=doctor["headers"]), 403, "forbidden")
    await clinic.set_hours(doctor, {"tuesday": [{"start": "09:00", "end": "10:00"}]})
    await clinic.book(patient, doctor, datetime.fromisoformat("2030-01-08T09:00:00+01:00"))
    as_doctor = await client.get(url, headers=doctor["headers"])
    assert as_doctor.status_code == 200 and as_doctor.json() == cleared.json()
    doctor_edit = await client.patch(url, json={"sex": "male"}, headers=doctor["headers"])
    assert_problem(doctor_edit, 403, "forbidden")
    assert_problem(await client.get(url, headers=other_doctor["headers"]), 403, "forbidden")

    # Other patients: refused, whether the id is a patient or nothing at all.
    assert_problem(await client.get(url, headers=stranger["headers"]), 403, "forbidden")
    nothing = f"{API}/patients/{doctor['specialty']['id']}"
    assert_problem(await client.get(nothing, headers=stranger["headers"]), 403, "forbidden")
    edit = await client.patch(url, json={"sex": "male"}, headers=stranger["headers"])
    assert_problem(edit, 403, "forbidden")
    assert_problem(await client.get(url), 401, "unauthenticated")
    assert_problem(await client.patch(url, json={"sex": "male"}), 401, "unauthenticated")

    # Admins: 404 for ids that are not patients.
    assert_problem(await client.get(nothing, headers=clinic.admin), 404, "not-found")
    doctor_id = f"{API}/patients/{doctor['id']}"
    assert_problem(await client.get(doctor_id, headers=clinic.admin), 404, "not-found")
    assert_problem(
        await client.patch(doctor_id, json={"sex": "male"}, headers=clinic.admin), 404, "not-found"
    )

    assert (await client.get(url, headers=patient["headers"])).json()["sex"] == "female"


async def test_an_appointment_entered_in_error_gives_the_doctor_no_access(clinic: Clinic) -> None:
    patient = await clinic.patient()
    doctor = await clinic.doctor()
    await clinic.set_hours(doctor, {"tuesday": [{"start": "09:00", "end": "10:00"}]})
    mistake = await clinic.book(
        patient, doctor, datetime.fromisoformat("2030-01-08T09:00:00+01:00")
    )
    url = f"{API}/patients/{patient['id']}"
    assert (await clinic.client.get(url, headers=doctor["headers"])).status_code == 200

    await clinic.enter_in_error(mistake)

    assert_problem(await clinic.client.get(url, headers=doctor["headers"]), 403, "forbidden")


async def test_patient_update_refusals_change_nothing(clinic: Clinic) -> None:
    patient = await clinic.patient()
    url = f"{API}/patients/{patient['id']}"
    headers = patient["headers"]

    future = await clinic.client.patch(url, json={"date_of_birth": "2031-01-01"}, headers=headers)
    errors = assert_problem(future, 400, "invalid-input")["errors"]
    assert errors[0]["field"] == "date_of_birth"
    phone = await clinic.client.patch(
        url, json={"emergency_contact_phone": "12345"}, headers=headers
    )
    assert assert_problem(phone, 400, "invalid-input")["errors"][0]["field"] == (
        "emergency_contact_phone"
    )
    for body in ({"sex": "robot"}, {"date_of_birth": "17/05/1990"}, {"blood_type": "0+"}):
        response = await clinic.client.patch(url, json=body, headers=headers)
        assert_problem(response, 400, "invalid-request")

    record = (await clinic.client.get(url, headers=headers)).json()
    assert (record["date_of_birth"], record["sex"], record["emergency_contact_phone"]) == (
        None,
        "unknown",
        None,
    )
