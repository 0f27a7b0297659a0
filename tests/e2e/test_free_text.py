"""Names and free text refuse control characters (CR/LF, ESC and the other C0/C1
controls, Unicode bidi overrides) wherever they enter, with a 400 problem naming the
field: they would end up in emails, SMS and calendar files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.harness import (
    API,
    NOW,
    PASSWORD,
    WEDNESDAY_10,
    AppFactory,
    ClinicWorld,
    assert_problem,
)
from tests.fakes import FixedClock

CRLF = "Ana\r\nBcc: everyone@example.org"
CR = "Ana\rBcc: everyone@example.org"
ESC = "Ana\x1b[2J"
C1 = "Ana\x85Torres"
RLO = "Ana \u202eevil.exe"
ISOLATE = "Ana \u2066Torres\u2069"
#: Refused in every text field.
SAMPLES = [CR, ESC, C1, RLO, ISOLATE]
IDS = ["cr", "esc", "c1", "bidi-override", "bidi-isolate"]


@pytest.fixture
async def world(make_client: AppFactory) -> ClinicWorld:
    return await ClinicWorld.open(await make_client(clock=FixedClock(NOW)))


async def _send(world: ClinicWorld, case: str, text: str) -> tuple[Any, str]:
    """One request carrying ``text`` in one field; (the response, the field)."""
    client = world.client
    doctor = world.id("doctor")
    if case == "register":
        body = {"email": "new@example.org", "password": PASSWORD, "full_name": text}
        return await client.post(f"{API}/auth/register", json=body), "full_name"
    if case == "profile":
        headers = await world.auth("patient")
        return await client.patch(
            f"{API}/auth/me", json={"full_name": text}, headers=headers
        ), "full_name"
    if case == "book":
        return await world.book(reason=text), "reason"
    if case in {"reject", "cancel"}:
        who = "doctor" if case == "reject" else "patient"
        hours = 0 if case == "reject" else 1  # two visits may not overlap
        appointment = await world.booked(starts_at=WEDNESDAY_10 + timedelta(hours=hours))
        return await world.act(who, appointment["id"], case, {"reason": text}), "reason"
    if case == "specialty":
        headers = await world.auth("admin")
        body = {"name": text, "description": "Hearts"}
        return await client.post(f"{API}/specialties", json=body, headers=headers), "name"
    if case == "specialty-description":
        headers = await world.auth("admin")
        body = {"name": "Cardiology", "description": text}
        return await client.post(f"{API}/specialties", json=body, headers=headers), "description"
    if case == "doctor":
        headers = await world.auth("admin")
        body = {
            "email": "house@example.org",
            "full_name": text,
            "licence_number": "LIC-1",
            "specialty_id": str(world.specialty_id),
        }
        return await client.post(f"{API}/doctors", json=body, headers=headers), "full_name"
    if case == "bio":
        headers = await world.auth("doctor")
        return await client.patch(
            f"{API}/doctors/{doctor}", json={"bio": text}, headers=headers
        ), "bio"
    if case == "emergency-contact":
        headers = await world.auth("patient")
        return await client.patch(
            f"{API}/patients/{world.id('patient')}",
            json={"emergency_contact_name": text},
            headers=headers,
        ), "emergency_contact_name"
    if case == "time-off":
        headers = await world.auth("doctor")
        body = {"starts_at": "2030-02-01", "ends_at": "2030-02-02", "reason": text}
        return await client.post(
            f"{API}/doctors/{doctor}/time-off", json=body, headers=headers
        ), "reason"
    raise AssertionError(case)


CASES = [
    "register",
    "profile",
    "book",
    "reject",
    "cancel",
    "specialty",
    "specialty-description",
    "doctor",
    "bio",
    "emergency-contact",
    "time-off",
]


#: Text that may span lines (never quoted in emails or SMS): line feeds and tabs pass.
MULTI_LINE = {"book", "specialty-description", "bio"}


@pytest.mark.parametrize("text", SAMPLES, ids=IDS)
@pytest.mark.parametrize("case", CASES)
async def test_control_characters_are_refused_with_a_400_naming_the_field(
    world: ClinicWorld, case: str, text: str
) -> None:
    response, field = await _send(world, case, text)
    problem = assert_problem(response, 400, "invalid-input")
    assert [error["field"] for error in problem["errors"]] == [field]


@pytest.mark.parametrize("case", sorted(set(CASES) - MULTI_LINE))
async def test_one_line_text_refuses_line_breaks(world: ClinicWorld, case: str) -> None:
    response, field = await _send(world, case, CRLF)
    problem = assert_problem(response, 400, "invalid-input")
    assert [error["field"] for error in problem["errors"]] == [field]


async def test_nothing_was_stored(world: ClinicWorld) -> None:
    for case in CASES:
        await _send(world, case, RLO)
    appointments = await world.all_appointments()
    # reject/cancel booked one plain visit each; "book" stored nothing
    assert len(appointments) == 2 and {a["status"] for a in appointments} == {"pending"}
    me = await world.get("patient", f"{API}/auth/me")
    assert me.json()["full_name"] == "Patient"
    specialties = await world.client.get(f"{API}/specialties")
    assert all("\u202e" not in s["name"] for s in specialties.json())


async def test_multi_line_text_keeps_its_line_breaks(world: ClinicWorld) -> None:
    booked = await world.booked(reason="Knee pain.\r\nSince Monday.")
    assert booked["reason"] == "Knee pain.\nSince Monday."
    bio = await world.client.patch(
        f"{API}/doctors/{world.id('doctor')}",
        json={"bio": "Family doctor.\n\tSpeaks Spanish."},
        headers=await world.auth("doctor"),
    )
    assert bio.status_code == 200, bio.text
    assert bio.json()["bio"] == "Family doctor.\n\tSpeaks Spanish."
    one_line = await world.act("doctor", booked["id"], "reject", {"reason": "Away.\nSorry."})
    assert_problem(one_line, 400, "invalid-input")
    assert (await world.appointment(booked["id"]))["status"] == "pending"
