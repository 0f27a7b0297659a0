"""``POST /notifications/{id}/unread`` over HTTP on both backends: a notification read
by mistake goes back to the unread ones, for its owner only."""

from __future__ import annotations

from tests.e2e.harness import NOTIFICATIONS, ClinicWorld, assert_problem, iso
from tests.e2e.notifications.test_inbox import inbox, unread


async def test_a_read_notification_can_be_marked_unread_again(world: ClinicWorld) -> None:
    await world.booked()
    await world.deliver_events()
    [notification] = (await inbox(world, "patient"))["items"]
    url = f"{NOTIFICATIONS}/{notification['id']}"
    headers = await world.auth("patient")
    assert (await world.client.post(f"{url}/read", headers=headers)).status_code == 200
    assert await unread(world, "patient") == 0

    response = await world.client.post(f"{url}/unread", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["read"] is False and response.json()["read_at"] is None
    assert await unread(world, "patient") == 1
    assert [n["id"] for n in (await inbox(world, "patient", unread="true"))["items"]] == [
        notification["id"]
    ]
    # Idempotent; and read again later, it records the new time.
    assert (await world.client.post(f"{url}/unread", headers=headers)).status_code == 200
    world.clock.advance(minutes=7)
    read_again = await world.client.post(f"{url}/read", headers=headers)
    assert read_again.json()["read_at"] == iso(world.clock.now())


async def test_someone_elses_notification_is_missing(world: ClinicWorld) -> None:
    await world.booked()
    await world.deliver_events()
    [notification] = (await inbox(world, "patient"))["items"]
    url = f"{NOTIFICATIONS}/{notification['id']}/unread"

    for who in ("other_patient", "doctor", "admin"):
        response = await world.client.post(url, headers=await world.auth(who))
        assert_problem(response, 404, "not-found")
    assert_problem(await world.client.post(url), 401, "unauthenticated")
