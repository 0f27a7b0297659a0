"""``GET /appointments/{id}.ics``: an RFC 5545 document calendar apps can import, parsed
back with ``icalendar``; it follows the appointment through its changes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from icalendar import Calendar, Event

from tests.e2e.harness import APPOINTMENTS, VISIT, WEDNESDAY_10, ClinicWorld, assert_problem


async def fetch(world: ClinicWorld, appointment_id: str, who: str = "patient") -> httpx.Response:
    return await world.get(who, f"{APPOINTMENTS}/{appointment_id}.ics")


def parse(response: httpx.Response) -> tuple[Calendar, Event]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def utc(event: Event, name: str) -> datetime:
    value = event.decoded(name)
    assert isinstance(value, datetime) and value.utcoffset() is not None
    return value.astimezone(UTC)


async def test_a_booking_as_an_icalendar_event(world: ClinicWorld) -> None:
    booked = await world.booked(reason="Annual check-up")
    calendar, event = parse(await fetch(world, booked["id"]))

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//HDUCE//")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{booked['id']}@hduce"
    assert utc(event, "DTSTART") == WEDNESDAY_10
    assert utc(event, "DTEND") == WEDNESDAY_10 + VISIT
    assert event.to_ical().decode().count("DTSTART:20300109T100000Z") == 1  # written in UTC
    assert int(event["SEQUENCE"]) == 1
    assert str(event["STATUS"]) == "TENTATIVE"  # pending
    assert "Annual check-up" in str(event["DESCRIPTION"])
    assert "Doctor" in str(event["SUMMARY"])
    assert str(event["ORGANIZER"]) == f"mailto:{world.people['doctor'].email}"
    assert str(event["ATTENDEE"]) == f"mailto:{world.people['patient'].email}"
    assert event["ORGANIZER"].params["CN"] == world.people["doctor"].full_name


async def test_sequence_follows_the_version_and_cancel_says_cancelled(world: ClinicWorld) -> None:
    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve")
    _, approved = parse(await fetch(world, booked["id"], who="doctor"))
    assert int(approved["SEQUENCE"]) == 2
    assert str(approved["STATUS"]) == "CONFIRMED"
    assert approved["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"

    await world.act("patient", booked["id"], "cancel", {"reason": "Travelling"})
    calendar, cancelled = parse(await fetch(world, booked["id"]))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) == 3
    assert str(cancelled["UID"]) == str(approved["UID"])  # the same event, updated
    assert "Travelling" in str(cancelled["DESCRIPTION"])


async def test_rejected_and_voided_visits_are_cancelled_events(world: ClinicWorld) -> None:
    rejected = await world.booked()
    await world.act("doctor", rejected["id"], "reject", {"reason": "Full"})
    voided = await world.booked("other_patient", starts_at=WEDNESDAY_10 + VISIT)
    await world.act("admin", voided["id"], "entered-in-error", {"reason": "Duplicate"})
    for appointment_id in (rejected["id"], voided["id"]):
        _, event = parse(await fetch(world, appointment_id, who="admin"))
        assert str(event["STATUS"]) == "CANCELLED"


async def test_the_alias_path_serves_the_same_document(world: ClinicWorld) -> None:
    booked = await world.booked()
    direct = await fetch(world, booked["id"])
    alias = await world.get("patient", f"{APPOINTMENTS}/{booked['id']}/calendar.ics")
    assert alias.status_code == 200
    assert alias.content == direct.content
    assert "attachment" in alias.headers["content-disposition"]


async def test_only_the_parties_get_the_file(world: ClinicWorld) -> None:
    booked = await world.booked()
    # Someone else's appointment is missing, exactly like an unknown id.
    assert_problem(await fetch(world, booked["id"], who="other_patient"), 404, "not-found")
    assert_problem(await fetch(world, booked["id"], who="other_doctor"), 404, "not-found")
    assert_problem(
        await world.client.get(f"{APPOINTMENTS}/{booked['id']}.ics"), 401, "unauthenticated"
    )
    assert_problem(await fetch(world, "not-an-id"), 404, "not-found")
    missing = "00000000-0000-0000-0000-000000000009"
    assert_problem(await fetch(world, missing, who="admin"), 404, "not-found")


async def test_the_check_in_code_and_its_qr_code_are_in_the_event(world: ClinicWorld) -> None:
    """What the patient shows at the kiosk (ADR 0013): the code as text in the
    description, and its QR code as an inline PNG attachment."""
    import io

    import segno

    booked = await world.booked()
    await world.act("doctor", booked["id"], "approve")
    code = (await world.appointment(booked["id"], who="patient"))["check_in_code"]
    _, event = parse(await fetch(world, booked["id"]))

    assert f"Check-in code: {code}" in str(event["DESCRIPTION"])
    attachment = event["ATTACH"]
    assert attachment.params["FMTTYPE"] == "image/png"
    assert attachment.params["ENCODING"] == "BASE64"
    png = event.decoded("ATTACH")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    expected = io.BytesIO()
    segno.make_qr(code, error="m").save(expected, kind="png", scale=4, border=2)
    assert png == expected.getvalue()  # the QR code of that very code

    await world.act("patient", booked["id"], "cancel", {"reason": "Travelling"})
    _, cancelled = parse(await fetch(world, booked["id"]))
    assert "Check-in code" not in str(cancelled["DESCRIPTION"])
    assert "ATTACH" not in cancelled
