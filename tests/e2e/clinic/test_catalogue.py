"""Specialties and doctors over HTTP: success and every refusal, on SQLite and on
PostgreSQL + Redis; doctor creation is all or nothing."""

from __future__ import annotations

from tests.e2e.clinic.conftest import API, PASSWORD, Clinic
from tests.e2e.harness import assert_problem, bearer, login

# ------------------------------------------------------------------ specialties


async def test_specialties_list_create_rename_and_refusals(clinic: Clinic) -> None:
    client, admin = clinic.client, clinic.admin
    patient = await clinic.patient()

    created = await client.post(
        f"{API}/specialties", json={"name": "Cardiology", "description": "Hearts"}, headers=admin
    )
    assert created.status_code == 201, created.text
    cardiology = created.json()
    await clinic.specialty("Allergology")

    listed = await client.get(f"{API}/specialties")  # public
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()] == ["Allergology", "Cardiology"]
    assert listed.json()[1] == cardiology | {"description": "Hearts"}

    renamed = await client.patch(
        f"{API}/specialties/{cardiology['id']}",
        json={"name": "Cardiology & vessels"},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == cardiology | {"name": "Cardiology & vessels"}

    taken = await client.post(f"{API}/specialties", json={"name": "ALLERGOLOGY"}, headers=admin)
    assert_problem(taken, 409, "already-exists")
    clash = await client.patch(
        f"{API}/specialties/{cardiology['id']}", json={"name": "allergology"}, headers=admin
    )
    assert_problem(clash, 409, "already-exists")
    blank = await client.post(f"{API}/specialties", json={"name": "  "}, headers=admin)
    assert assert_problem(blank, 400, "invalid-input")["errors"][0]["field"] == "name"
    unknown_field = await client.post(
        f"{API}/specialties", json={"name": "X", "colour": "red"}, headers=admin
    )
    assert_problem(unknown_field, 400, "invalid-request")
    anonymous = await client.post(f"{API}/specialties", json={"name": "Anon"})
    assert_problem(anonymous, 401, "unauthenticated")
    not_admin = await client.post(
        f"{API}/specialties", json={"name": "Mine"}, headers=patient["headers"]
    )
    assert_problem(not_admin, 403, "forbidden")
    missing = await client.patch(
        f"{API}/specialties/{patient['id']}", json={"name": "Ghost"}, headers=admin
    )
    assert_problem(missing, 404, "not-found")

    after = await client.get(f"{API}/specialties")
    assert [s["name"] for s in after.json()] == ["Allergology", "Cardiology & vessels"]


# ------------------------------------------------------------------ doctors: creation


async def test_admin_creates_a_doctor_who_can_then_sign_in(clinic: Clinic) -> None:
    specialty = await clinic.specialty("Neurology")
    response = await clinic.client.post(
        f"{API}/doctors",
        json={
            "email": "Nora.Neuro@Example.org",
            "full_name": "Nora Neuro",
            "licence_number": "NY-123",
            "specialty_id": specialty["id"],
            "consultation_fee": 60,
            "visit_minutes": 20,
            "timezone": "America/New_York",
            "bio": "Headaches",
            "password": PASSWORD,
        },
        headers=clinic.admin,
    )

    assert response.status_code == 201, response.text
    doctor = response.json()
    assert response.headers["location"] == f"{API}/doctors/{doctor['id']}"
    assert response.headers["etag"] == '"1"'
    assert doctor | {"id": None} == {
        "id": None,
        "full_name": "Nora Neuro",
        "specialty": specialty,
        "licence_number": "NY-123",
        "consultation_fee": "60.00",
        "timezone": "America/New_York",
        "visit_minutes": 20,
        "bio": "Headaches",
        "version": 1,
        "email": "nora.neuro@example.org",
        "has_password": True,
    }
    tokens = await login(clinic.client, "nora.neuro@example.org")
    me = await clinic.client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert (me.json()["role"], me.json()["id"]) == ("doctor", doctor["id"])


async def test_without_a_password_the_doctor_cannot_sign_in_with_one(clinic: Clinic) -> None:
    doctor = await clinic.client.post(
        f"{API}/doctors",
        json={
            "email": "google.only@example.org",
            "full_name": "Gia Google",
            "licence_number": "G-1",
            "specialty_id": (await clinic.specialty())["id"],
        },
        headers=clinic.admin,
    )
    assert doctor.status_code == 201, doctor.text
    assert doctor.json()["has_password"] is False
    assert doctor.json()["timezone"] == "UTC"  # the clinic's default timezone
    refused = await clinic.client.post(
        f"{API}/auth/login", json={"email": "google.only@example.org", "password": PASSWORD}
    )
    assert_problem(refused, 401, "unauthenticated")


async def test_a_taken_licence_creates_no_account_and_a_taken_email_no_profile(
    clinic: Clinic,
) -> None:
    existing = await clinic.doctor(full_name="Dora Doctor")
    patient = await clinic.patient()
    storage = await clinic.storage()

    body = {
        "email": "newcomer@example.org",
        "full_name": "New Comer",
        "licence_number": existing["licence_number"],
        "specialty_id": existing["specialty"]["id"],
        "password": PASSWORD,
    }
    taken_licence = await clinic.client.post(f"{API}/doctors", json=body, headers=clinic.admin)
    assert "licence" in assert_problem(taken_licence, 409, "already-exists")["detail"]
    async with storage() as uow:
        assert await uow.users.get_by_email("newcomer@example.org") is None

    taken_email = await clinic.client.post(
        f"{API}/doctors",
        json=body | {"licence_number": "FRESH-1", "email": patient["email"]},
        headers=clinic.admin,
    )
    assert_problem(taken_email, 409, "already-exists")
    listed = await clinic.client.get(f"{API}/doctors")
    assert [d["id"] for d in listed.json()["items"]] == [existing["id"]]

    # Both free now: the same request goes through.
    works = await clinic.client.post(
        f"{API}/doctors", json=body | {"licence_number": "FRESH-1"}, headers=clinic.admin
    )
    assert works.status_code == 201, works.text


async def test_doctor_creation_refusals(clinic: Clinic) -> None:
    specialty = await clinic.specialty()
    patient = await clinic.patient()
    body = {
        "email": "x@example.org",
        "full_name": "X",
        "licence_number": "X-1",
        "specialty_id": specialty["id"],
    }
    cases = [
        (body | {"specialty_id": patient["id"]}, "specialty_id"),
        (body | {"password": "short"}, "password"),
        (body | {"timezone": "Mars/Olympus"}, "timezone"),
        (body | {"consultation_fee": "12.345"}, "consultation_fee"),
        (body | {"consultation_fee": -5}, "consultation_fee"),
    ]
    for payload, field in cases:
        response = await clinic.client.post(f"{API}/doctors", json=payload, headers=clinic.admin)
        errors = assert_problem(response, 400, "invalid-input")["errors"]
        assert errors[0]["field"] == field, response.text
    for payload in (body | {"visit_minutes": 2}, body | {"role": "admin"}, {"email": "x"}):
        response = await clinic.client.post(f"{API}/doctors", json=payload, headers=clinic.admin)
        assert_problem(response, 400, "invalid-request")
    assert_problem(await clinic.client.post(f"{API}/doctors", json=body), 401, "unauthenticated")
    as_patient = await clinic.client.post(f"{API}/doctors", json=body, headers=patient["headers"])
    assert_problem(as_patient, 403, "forbidden")
    async with (await clinic.storage())() as uow:
        assert await uow.users.get_by_email("x@example.org") is None


# ------------------------------------------------------------------ doctors: catalogue


async def test_the_catalogue_searches_filters_and_pages(clinic: Clinic) -> None:
    cardio, neuro = await clinic.specialty("Cardiology"), await clinic.specialty("Neurology")
    ana = await clinic.doctor(full_name="Ana Heart", specialty_id=cardio["id"])
    bea = await clinic.doctor(full_name="Bea Heartwell", specialty_id=cardio["id"])
    carl = await clinic.doctor(full_name="Carl Brain", specialty_id=neuro["id"])
    get = clinic.client.get

    everyone = (await get(f"{API}/doctors")).json()
    assert [d["full_name"] for d in everyone["items"]] == [
        "Ana Heart",
        "Bea Heartwell",
        "Carl Brain",
    ]
    assert (everyone["total"], everyone["limit"], everyone["offset"]) == (3, 20, 0)
    assert "email" not in everyone["items"][0]  # the public catalogue shows no contacts

    by_specialty = (await get(f"{API}/doctors", params={"specialty_id": cardio["id"]})).json()
    assert [d["id"] for d in by_specialty["items"]] == [ana["id"], bea["id"]]
    by_name = (await get(f"{API}/doctors", params={"name": "HEARTW"})).json()
    assert [d["id"] for d in by_name["items"]] == [bea["id"]]
    both = (
        await get(f"{API}/doctors", params={"specialty_id": neuro["id"], "name": "heart"})
    ).json()
    assert (both["items"], both["total"]) == ([], 0)
    page = (await get(f"{API}/doctors", params={"limit": 1, "offset": 2})).json()
    assert ([d["id"] for d in page["items"]], page["total"]) == ([carl["id"]], 3)

    one = await get(f"{API}/doctors/{carl['id']}")
    assert one.status_code == 200 and one.headers["etag"] == '"1"'
    assert one.json()["specialty"]["name"] == "Neurology"

    assert_problem(await get(f"{API}/doctors/{cardio['id']}"), 404, "not-found")
    assert_problem(await get(f"{API}/doctors", params={"limit": 0}), 400, "invalid-request")
    bad_filter = await get(f"{API}/doctors", params={"specialty_id": "cardio"})
    assert_problem(bad_filter, 400, "invalid-request")


# ------------------------------------------------------------------ doctors: edits


async def test_doctor_edits_with_versions_and_permissions(clinic: Clinic) -> None:
    client = clinic.client
    dora = await clinic.doctor(full_name="Dora Doctor")
    other = await clinic.doctor()
    patient = await clinic.patient()
    url = f"{API}/doctors/{dora['id']}"

    own = await client.patch(
        url,
        json={"bio": "Family doctor", "visit_minutes": 45, "consultation_fee": "55.5"},
        headers={**dora["headers"], "If-Match": '"1"'},
    )
    assert own.status_code == 200, own.text
    assert own.headers["etag"] == '"2"'
    assert {k: own.json()[k] for k in ("bio", "visit_minutes", "consultation_fee", "version")} == {
        "bio": "Family doctor",
        "visit_minutes": 45,
        "consultation_fee": "55.50",
        "version": 2,
    }

    stale_header = await client.patch(
        url, json={"bio": "lost"}, headers={**dora["headers"], "If-Match": '"1"'}
    )
    # A stale If-Match is a failed precondition (412); a stale body version a conflict (409).
    body = assert_problem(stale_header, 412, "stale-version")
    assert (body["expected_version"], body["actual_version"]) == (1, 2)
    stale_body = await client.patch(url, json={"bio": "lost", "version": 1}, headers=clinic.admin)
    assert_problem(stale_body, 409, "stale-version")
    # If-Match compares strongly: a weak tag never matches, even of the current version.
    weak = await client.patch(
        url, json={"bio": "lost"}, headers={**dora["headers"], "If-Match": 'W/"2"'}
    )
    assert_problem(weak, 412, "precondition-failed")
    assert (await client.get(url)).json()["bio"] == "Family doctor"
    garbage = await client.patch(
        url, json={"bio": "x"}, headers={**dora["headers"], "If-Match": "yesterday"}
    )
    assert_problem(garbage, 400, "invalid-input")

    licence = await client.patch(url, json={"licence_number": "MINE"}, headers=dora["headers"])
    assert_problem(licence, 403, "forbidden")
    others = await client.patch(url, json={"bio": "hijack"}, headers=other["headers"])
    assert_problem(others, 403, "forbidden")
    as_patient = await client.patch(url, json={"bio": "hi"}, headers=patient["headers"])
    assert_problem(as_patient, 403, "forbidden")
    assert_problem(await client.patch(url, json={"bio": "anon"}), 401, "unauthenticated")
    bad_zone = await client.patch(url, json={"timezone": "Nowhere"}, headers=dora["headers"])
    assert assert_problem(bad_zone, 400, "invalid-input")["errors"][0]["field"] == "timezone"

    neuro = await clinic.specialty("Neurology")
    by_admin = await client.patch(
        url,
        json={"licence_number": "MAD-777", "specialty_id": neuro["id"], "version": 2},
        headers=clinic.admin,
    )
    assert by_admin.status_code == 200, by_admin.text
    assert (by_admin.json()["licence_number"], by_admin.json()["specialty"]["id"]) == (
        "MAD-777",
        neuro["id"],
    )
    taken = await client.patch(
        url, json={"licence_number": other["licence_number"]}, headers=clinic.admin
    )
    assert_problem(taken, 409, "already-exists")
    missing = await client.patch(
        f"{API}/doctors/{patient['id']}", json={"bio": "ghost"}, headers=clinic.admin
    )
    assert_problem(missing, 404, "not-found")

    final = (await client.get(url)).json()
    assert (final["bio"], final["licence_number"], final["version"]) == (
        "Family doctor",
        "MAD-777",
        3,
    )
