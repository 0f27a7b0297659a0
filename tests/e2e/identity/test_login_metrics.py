"""Sign-ins as ``/metrics`` counts them: ``hduce_logins_total`` by method (password,
refresh) and outcome (success, failure)."""

from __future__ import annotations

from tests.e2e.harness import API, Client, login, register
from tests.metrics import scraped_sum


async def _logins(client: Client) -> dict[tuple[str, str], float]:
    scraped = (await client.get("/metrics")).text
    return {
        (method, outcome): scraped_sum(
            scraped, "hduce_logins_total", method=method, outcome=outcome
        )
        for method in ("password", "refresh")
        for outcome in ("success", "failure")
    }


async def test_sign_ins_and_refreshes_are_counted_by_outcome(client: Client) -> None:
    await register(client, "metered@example.org")
    before = await _logins(client)

    tokens = await login(client, "metered@example.org")
    wrong = await client.post(
        f"{API}/auth/login", json={"email": "metered@example.org", "password": "not the one!"}
    )
    rotated = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    replayed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    after = await _logins(client)

    assert (wrong.status_code, rotated.status_code, replayed.status_code) == (401, 200, 401)
    assert {key: after[key] - before[key] for key in after} == {
        ("password", "success"): 1,
        ("password", "failure"): 1,
        ("refresh", "success"): 1,
        ("refresh", "failure"): 1,
    }
