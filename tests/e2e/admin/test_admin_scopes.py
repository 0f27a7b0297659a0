"""Admins scoped to an institution over HTTP (ADR 0026), on SQLite and on PostgreSQL +
Redis: a global admin scopes another admin to one institution; that admin's statistics
and CSV reports are forced to it (another one: 403 problem+json), they change, staff
and schedule only it, and may neither add institutions nor manage admins. The scope
reaches a token issued before the change at once (this process's access cache), and
clearing it makes the admin global again. Another process sees a scope change within
``HDUCE_ACCOUNT_CACHE_TTL``, as it sees a deactivation (ADR 0010)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hduce.domain.identity import Role
from hduce.domain.scheduling import WeeklyHours
from tests.e2e.harness import (
    API,
    NOW,
    AppFactory,
    Backend,
    ClinicWorld,
    assert_problem,
    bearer,
    create_account,
    login,
)
from tests.fakes import FixedClock

INSTITUTIONS = f"{API}/institutions"
USERS = f"{API}/admin/users"


async def _create(world: ClinicWorld, name: str) -> str:
    response = await world.client.post(
        INSTITUTIONS,
        json={
            "name": name,
            "kind": "hospital",
            "address": {"line1": "Calle Mayor 1", "city": "Madrid", "country": "ES"},
            "timezone": "Europe/Madrid",
        },
        headers=await world.auth("admin"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_scoped_admin_manages_only_their_institution(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend, clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    await world.add_doctor("roaming", hours=WeeklyHours())
    await world.add_user("north_admin", Role.ADMIN)
    north, south = await _create(world, "Hospital Norte"), await _create(world, "Clínica Sur")
    north_admin = world.id("north_admin")
    # Issued before the scope is set: the scope still reaches it (the access cache).
    headers = await world.auth("north_admin")

    async def as_north(method: str, path: str, **kwargs: Any) -> Any:
        return await client.request(method, path, headers=headers, **kwargs)

    me = await as_north("GET", f"{API}/auth/me")
    assert me.json()["institution_scope"] is None  # every existing admin is global

    scoped = await client.put(
        f"{USERS}/{north_admin}/institution-scope",
        json={"institution_id": north},
        headers=await world.auth("admin"),
    )
    assert scoped.status_code == 200, scoped.text
    assert (scoped.json()["id"], scoped.json()["institution_scope"]) == (north_admin, north)
    assert (await as_north("GET", f"{API}/auth/me")).json()["institution_scope"] == north

    # Statistics and CSV reports: forced to the north, the south refused.
    own = await as_north("GET", f"{API}/admin/stats")
    assert own.status_code == 200, own.text
    assert own.json()["appointments"]["institution_id"] == north
    asked = await as_north("GET", f"{API}/admin/stats", params={"institution_id": north})
    assert asked.json()["appointments"]["institution_id"] == north
    assert_problem(
        await as_north("GET", f"{API}/admin/stats", params={"institution_id": south}),
        403,
        "forbidden",
    )
    report = await as_north(
        "GET", f"{API}/admin/reports/doctors.csv", params={"institution_id": north}
    )
    assert report.status_code == 200, report.text
    assert report.headers["content-type"].startswith("text/csv")
    places = await as_north("GET", f"{API}/admin/reports/institutions.csv")
    assert places.status_code == 200, places.text  # only the north's visits: none yet
    assert places.text.lstrip("\ufeff").splitlines() == [
        "institution_id,institution_name,appointments"
    ]
    for name in ("doctors", "specialties", "months", "appointments"):
        assert_problem(
            await as_north(
                "GET", f"{API}/admin/reports/{name}.csv", params={"institution_id": south}
            ),
            403,
            "forbidden",
        )

    # Institutions: theirs only; no new ones.
    renamed = await as_north("PATCH", f"{INSTITUTIONS}/{north}", json={"name": "Norte"})
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Norte")
    assert_problem(
        await as_north("PATCH", f"{INSTITUTIONS}/{south}", json={"name": "Mine"}), 403, "forbidden"
    )
    assert_problem(await as_north("POST", f"{INSTITUTIONS}/{south}/deactivate"), 403, "forbidden")
    refused = await as_north(
        "POST",
        INSTITUTIONS,
        json={
            "name": "Another",
            "kind": "site",
            "address": {"line1": "Calle 2", "city": "Madrid", "country": "ES"},
            "timezone": "Europe/Madrid",
        },
    )
    assert_problem(refused, 403, "forbidden")
    roaming = world.id("roaming")
    joined = await as_north("PUT", f"{INSTITUTIONS}/{north}/doctors/{roaming}")
    assert joined.status_code == 204, joined.text
    assert_problem(
        await as_north("PUT", f"{INSTITUTIONS}/{south}/doctors/{roaming}"), 403, "forbidden"
    )
    south_name = (await client.get(f"{INSTITUTIONS}/{south}")).json()["name"]
    assert south_name == "Clínica Sur"

    # Hours: at the north only (not the unassigned ones, not the south's).
    monday = {"monday": [{"start": "08:00", "end": "12:00"}]}
    hours = await as_north(
        "PUT",
        f"{API}/doctors/{roaming}/working-hours",
        json={"days": monday, "institution_id": north},
    )
    assert hours.status_code == 200, hours.text
    assert hours.json()["days"]["monday"] == [
        {"start": "08:00", "end": "12:00", "institution_id": north}
    ]
    for body in ({"days": monday, "institution_id": south}, {"days": monday}):
        assert_problem(
            await as_north("PUT", f"{API}/doctors/{roaming}/working-hours", json=body),
            403,
            "forbidden",
        )
    extra = {"date": "2030-01-15", "start": "08:00", "end": "10:00"}
    added = await as_north(
        "POST", f"{API}/doctors/{roaming}/extra-hours", json=extra | {"institution_id": north}
    )
    assert added.status_code == 201, added.text
    assert_problem(
        await as_north(
            "POST",
            f"{API}/doctors/{roaming}/extra-hours",
            json=extra | {"date": "2030-01-16", "institution_id": south},
        ),
        403,
        "forbidden",
    )

    # Other admins: global admins only.
    root = world.id("admin")
    for method in ("PUT", "DELETE"):
        assert_problem(
            await as_north(
                method,
                f"{USERS}/{root}/institution-scope",
                json={"institution_id": north} if method == "PUT" else None,
            ),
            403,
            "forbidden",
        )
    assert_problem(
        await as_north("PATCH", f"{USERS}/{root}", json={"is_active": False}), 403, "forbidden"
    )

    # Cleared: global again, at once.
    cleared = await client.delete(
        f"{USERS}/{north_admin}/institution-scope", headers=await world.auth("admin")
    )
    assert (cleared.status_code, cleared.json()["institution_scope"]) == (200, None)
    everywhere = await as_north("GET", f"{API}/admin/stats", params={"institution_id": south})
    assert everywhere.status_code == 200, everywhere.text
    assert (await as_north("GET", f"{API}/admin/stats")).json()["appointments"][
        "institution_id"
    ] is None


async def test_what_a_global_admin_cannot_scope(make_client: AppFactory, backend: Backend) -> None:
    client = await make_client(backend=backend, clock=FixedClock(NOW))
    world = await ClinicWorld.open(client)
    north = await _create(world, "Hospital Norte")
    admin = await world.auth("admin")

    async def scope(who: str, institution_id: str = north) -> Any:
        return await client.put(
            f"{USERS}/{world.id(who)}/institution-scope",
            json={"institution_id": institution_id},
            headers=admin,
        )

    assert_problem(await scope("patient"), 422, "not-an-admin")
    assert_problem(await scope("admin"), 422, "self-scope")
    await world.add_user("other_admin", Role.ADMIN)
    missing = await scope("other_admin", "01b702b4-1810-7a55-9e3c-2d7b1f8a4c6f")
    assert_problem(missing, 404, "not-found")
    assert (await client.get(f"{API}/auth/me", headers=admin)).json()["institution_scope"] is None


async def test_a_scope_change_reaches_the_other_process_within_the_ttl(
    make_client: AppFactory, backend: Backend
) -> None:
    """Mirrors tests/e2e/identity/test_access_cache.py's deactivation: two apps on one
    database (PostgreSQL + Redis, or SQLite), a 1 s cache TTL."""
    env = {"HDUCE_ACCOUNT_CACHE_TTL": "1s"}
    first = await make_client(env, backend=backend)
    second = await make_client(env, backend=backend)
    await create_account(first, Role.ADMIN, "root@example.org")
    scoped = await create_account(first, Role.ADMIN, "north@example.org")
    root = bearer((await login(first, "root@example.org"))["access_token"])
    token = bearer((await login(first, "north@example.org"))["access_token"])
    made = [
        await first.post(
            INSTITUTIONS,
            json={
                "name": name,
                "kind": "clinic",
                "address": {"line1": "Calle Mayor 1", "city": "Madrid", "country": "ES"},
                "timezone": "Europe/Madrid",
            },
            headers=root,
        )
        for name in ("Norte", "Sur")
    ]
    north, south = (response.json()["id"] for response in made)
    stats = f"{API}/admin/stats?institution_id={south}"
    for client in (first, second, second):  # both caches warm: a global admin
        assert (await client.get(stats, headers=token)).status_code == 200

    put = await first.put(
        f"{USERS}/{scoped['id']}/institution-scope", json={"institution_id": north}, headers=root
    )
    assert put.status_code == 200, put.text
    changed = time.monotonic()

    assert_problem(await first.get(stats, headers=token), 403, "forbidden")
    while (answer := await second.get(stats, headers=token)).status_code == 200:
        assert time.monotonic() - changed < 1.5, "still global past the 1 s TTL"
        await asyncio.sleep(0.05)
    assert_problem(answer, 403, "forbidden")
