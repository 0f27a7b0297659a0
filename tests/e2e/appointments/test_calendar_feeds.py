"""Calendar feeds (ADR 0023): a secret subscription URL of one's appointments, read by
calendar apps without signing in, parsed back with ``icalendar``; it follows the
appointments through their changes (SEQUENCE grows, STATUS:CANCELLED), revalidates
with ETag (304), is rate-limited per feed (429) and dies when revoked (404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from icalendar import Calendar, Event

from tests.e2e.harness import (
    API,
    NOW,
    VISIT,
    WEDNESDAY_10,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
    iso,
)
from tests.fakes import FixedClock

FEEDS = f"{API}/calendar-feeds"


async def create_feed(world: ClinicWorld, who: str, label: str | None = None) -> dict[str, Any]:
    body = {} if label is None else {"label": label}
    response = await world.client.post(FEEDS, json=body, headers=await world.auth(who))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def read(world: ClinicWorld, feed: dict[str, Any], **headers: str) -> httpx.Response:
    """What a calendar app does: a plain GET of the URL, no credentials."""
    url = httpx.URL(feed["url"])
    assert url.host == "testserver.local"
    return await world.client.get(url.raw_path.decode(), headers=headers)


def events(response: httpx.Response) -> dict[str, Event]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def uid(appointment: dict[str, Any]) -> str:
    return f"{appointment['id']}@hduce"


async def test_a_feed_follows_an_appointment_through_its_changes(world: ClinicWorld) -> None:
    feed = await create_feed(world, "patient", "Phone")
    assert feed["label"] == "Phone" and feed["is_active"] is True
    assert feed["url"].startswith("https://testserver.local/calendar/")
    assert feed["url"].endswith(".ics")
    assert feed["webcal_url"] == feed["url"].replace("https://", "webcal://")

    booked = await world.booked(reason="Private reason")
    [event] = events(await read(world, feed)).values()
    assert str(event["UID"]) == uid(booked)
    assert int(event["SEQUENCE"]) == 1
    assert str(event["STATUS"]) == "TENTATIVE"
    assert event.decoded("DTSTART") == WEDNESDAY_10
    assert event.decoded("DTEND") == WEDNESDAY_10 + VISIT
    assert "Doctor" in str(event["SUMMARY"])
    assert "DTSTAMP" in event and "LAST-MODIFIED" in event
    # Feeds end up in third-party calendars: no reason, no email addresses.
    text = (await read(world, feed)).text
    assert "Private reason" not in text and "@example.org" not in text

    assert (await world.act("doctor", booked["id"], "approve")).status_code == 200
    approved = events(await read(world, feed))[uid(booked)]
    assert int(approved["SEQUENCE"]) == 2
    assert str(approved["STATUS"]) == "CONFIRMED"

    new_start = WEDNESDAY_10 + timedelta(hours=2)
    moved = await world.act("patient", booked["id"], "reschedule", {"starts_at": iso(new_start)})
    assert moved.status_code in (200, 201), moved.text
    replacement = moved.json()
    after = events(await read(world, feed))
    assert int(after[uid(booked)]["SEQUENCE"]) == 3
    assert str(after[uid(booked)]["STATUS"]) == "CANCELLED"
    assert after[uid(replacement)].decoded("DTSTART") == new_start
    assert str(after[uid(replacement)]["STATUS"]) == "TENTATIVE"

    cancel = await world.act("patient", replacement["id"], "cancel", {"reason": "Travelling"})
    assert cancel.status_code == 200, cancel.text
    cancelled = events(await read(world, feed))[uid(replacement)]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(after[uid(replacement)]["SEQUENCE"])


async def test_cancelled_visits_leave_the_feed_after_a_while(world: ClinicWorld) -> None:
    feed = await create_feed(world, "patient")
    kept = await world.booked()
    dropped = await world.booked(starts_at=WEDNESDAY_10 + VISIT)
    await world.act("doctor", kept["id"], "approve")
    await world.act("patient", dropped["id"], "cancel", {"reason": "No longer needed"})
    assert set(events(await read(world, feed))) == {uid(kept), uid(dropped)}

    world.clock.set(NOW + timedelta(days=31))  # the visits are 29 days past: in the window
    assert set(events(await read(world, feed))) == {uid(kept)}


async def test_doctors_get_their_agenda_and_nobody_else_sees_it(world: ClinicWorld) -> None:
    booked = await world.booked()
    mine = await create_feed(world, "patient")
    agenda = await create_feed(world, "doctor")
    others = [await create_feed(world, who) for who in ("other_patient", "other_doctor")]

    [event] = events(await read(world, agenda)).values()
    assert str(event["UID"]) == uid(booked)
    assert world.people["patient"].full_name in str(event["SUMMARY"])
    assert uid(booked) in events(await read(world, mine))
    for feed in others:
        assert events(await read(world, feed)) == {}


async def test_etag_revalidation(world: ClinicWorld) -> None:
    feed = await create_feed(world, "patient")
    booked = await world.booked()
    first = await read(world, feed)
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"

    unchanged = await read(world, feed, **{"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == tag
    assert (await read(world, feed, **{"If-None-Match": f"W/{tag}"})).status_code == 304

    await world.act("doctor", booked["id"], "approve")
    changed = await read(world, feed, **{"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag


async def test_list_and_revoke(world: ClinicWorld) -> None:
    feed = await create_feed(world, "patient")
    other = await create_feed(world, "other_patient")
    assert (await read(world, feed)).status_code == 200

    listed = (await world.get("patient", FEEDS)).json()["items"]
    assert [item["id"] for item in listed] == [feed["id"]]
    assert "url" not in listed[0]  # the URL is shown once, at creation

    # Someone else's feed is missing, like an unknown one.
    theirs = await world.client.post(
        f"{FEEDS}/{other['id']}/revoke", headers=await world.auth("patient")
    )
    assert_problem(theirs, 404, "not-found")
    assert (await read(world, other)).status_code == 200

    revoked = await world.client.post(
        f"{FEEDS}/{feed['id']}/revoke", headers=await world.auth("patient")
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["is_active"] is False
    assert_problem(await read(world, feed), 404, "not-found")
    [item] = (await world.get("patient", FEEDS)).json()["items"]
    assert item["revoked_at"] is not None


async def test_unknown_tokens_are_not_found(world: ClinicWorld) -> None:
    feed = await create_feed(world, "patient")
    token = feed["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert_problem(await world.client.get(f"/calendar/{token[:-1]}x.ics"), 404, "not-found")
    assert_problem(await world.client.get(f"/calendar/{token}"), 404, "not-found")
    assert_problem(await world.client.get(f"/calendar/{'a' * 500}.ics"), 404, "not-found")


async def test_reads_are_rate_limited_per_feed(backend: Backend, make_client: AppFactory) -> None:
    client = await make_client(
        env={"HDUCE_CALENDAR_FEED_RATE_LIMIT": "3"}, backend=backend, clock=FixedClock(NOW)
    )
    world = await ClinicWorld.open(client)
    feed = await create_feed(world, "patient")
    other = await create_feed(world, "patient")
    for _ in range(3):
        assert (await read(world, feed)).status_code == 200
    limited = assert_problem(await read(world, feed), 429, "rate-limited")
    assert limited["retry_after_seconds"] >= 1
    assert int((await read(world, feed)).headers["retry-after"]) >= 1
    assert (await read(world, other)).status_code == 200  # each feed its own budget


async def test_admins_have_no_feed(world: ClinicWorld) -> None:
    response = await world.client.post(FEEDS, json={}, headers=await world.auth("admin"))
    assert_problem(response, 403, "forbidden")
    assert_problem(await world.client.post(FEEDS, json={}), 401, "unauthenticated")


async def test_at_most_ten_active_feeds(world: ClinicWorld) -> None:
    feeds = [await create_feed(world, "doctor", f"Feed {index}") for index in range(10)]
    headers = await world.auth("doctor")
    refused = await world.client.post(FEEDS, json={}, headers=headers)
    assert "revoke one first" in assert_problem(refused, 422, "too-many-feeds")["detail"]
    await world.client.post(f"{FEEDS}/{feeds[0]['id']}/revoke", headers=headers)
    assert (await world.client.post(FEEDS, json={}, headers=headers)).status_code == 201


async def test_a_deactivated_account_s_feeds_stop(world: ClinicWorld) -> None:
    feed = await create_feed(world, "patient")
    await world.booked()
    assert (await read(world, feed)).status_code == 200
    deactivated = await world.client.patch(
        f"{API}/admin/users/{world.id('patient')}",
        json={"is_active": False},
        headers=await world.auth("admin"),
    )
    assert deactivated.status_code == 200, deactivated.text
    assert_problem(await read(world, feed), 404, "not-found")
