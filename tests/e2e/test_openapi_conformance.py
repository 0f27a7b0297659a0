"""What Schemathesis (``make fuzz``) found the server accepting although the document
forbids it, or answering with a status the document did not list; each now agrees.

* ``?specialty_id=null``: Litestar's lenient conversion read the text ``null`` as None
  for any optional parameter that is not text, so a filter was silently dropped.
* ``?specialty_id=A&specialty_id=B``: a parameter taking one value kept the last one.
* ``Last-Event-ID: null`` / not a UUID: read as "none" too.
* ``If-None-Match`` on an appointment read answers 304, which was not documented.
"""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.harness import API, NOW, AppFactory, ClinicWorld, assert_problem
from tests.fakes import FixedClock


@pytest.fixture
async def world(make_client: AppFactory) -> ClinicWorld:
    return await ClinicWorld.open(await make_client(clock=FixedClock(NOW)))


async def test_null_is_not_a_value_of_a_uuid_or_enum_parameter(world: ClinicWorld) -> None:
    for path, name in [
        ("/doctors", "specialty_id"),
        ("/admin/audit", "actor_id"),
        ("/appointments", "patient_id"),
        ("/admin/users", "role"),
    ]:
        response = await world.client.get(
            f"{API}{path}", params={name: "null"}, headers=await world.auth("admin")
        )
        problem = assert_problem(response, 400, "invalid-request")
        assert [error.get("field") for error in problem["errors"]] == [name], problem


async def test_text_parameters_still_take_the_word_null(world: ClinicWorld) -> None:
    response = await world.client.get(
        f"{API}/admin/users", params={"search": "null"}, headers=await world.auth("admin")
    )
    assert response.status_code == 200, response.text


async def test_a_single_valued_query_parameter_given_twice_is_refused(world: ClinicWorld) -> None:
    specialty = str(world.specialty_id)
    response = await world.client.get(
        f"{API}/doctors", params=[("specialty_id", specialty), ("specialty_id", specialty)]
    )
    problem = assert_problem(response, 400, "invalid-request")
    assert problem["errors"] == [
        {"field": "specialty_id", "message": "must be given once", "source": "query"}
    ]
    once = await world.client.get(f"{API}/doctors", params={"specialty_id": specialty})
    assert once.status_code == 200, once.text
    assert once.json()["total"] == 2


async def test_a_uuid_parameter_must_be_a_uuid(world: ClinicWorld) -> None:
    headers = await world.auth("patient")
    for value in ("null", "yesterday"):
        response = await world.client.get(
            f"{API}/notifications/stream", headers={**headers, "Last-Event-ID": value}
        )
        assert_problem(response, 400, "invalid-request")
    filtered = await world.client.get(
        f"{API}/appointments", params={"doctor_id": str(uuid.uuid4())}, headers=headers
    )
    assert filtered.status_code == 200, filtered.text


async def test_not_modified_is_documented_where_it_is_answered(world: ClinicWorld) -> None:
    booked = await world.booked("patient")
    response = await world.client.get(
        f"{API}/appointments/{booked['id']}",
        headers={**await world.auth("patient"), "If-None-Match": "*"},
    )
    assert response.status_code == 304
    document = (await world.client.get("/schema/openapi.json")).json()
    read = document["paths"]["/api/v1/appointments/{appointment_ref}"]["get"]
    assert "304" in read["responses"]
