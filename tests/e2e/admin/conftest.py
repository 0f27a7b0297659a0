"""The admin tests' ``AdminApp``: the real app (``tests/e2e/harness.py``) with the admin
read routes (``/admin/audit``, ``/admin/stats``) on each backend, a fixed clock, the
clinic's timezone set to Europe/Madrid, and the statistics dataset of
``tests/unit/application/stats_dataset.py`` stored through the app's own unit of work.

Three of the dataset's people get a password, to sign in as each role without adding
accounts (which would change the counts): the admin, patient ``p1`` and doctor ``alice``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.identity import User
from tests.e2e.harness import (
    API,
    AppFactory,
    Backend,
    Client,
    hash_password,
    sign_in,
)
from tests.fakes import FixedClock
from tests.unit.application.stats_dataset import (
    NOW,
    StatsWorld,
    build_stats_world,
    store_stats_world,
)

ADMIN_API = f"{API}/admin"
CLINIC_TIMEZONE = "Europe/Madrid"
T = TypeVar("T")


@dataclass
class AdminApp:
    client: Client
    clock: FixedClock
    world: StatsWorld
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def get(self, kind: type[T]) -> T:
        """Something from the app's own container (use cases, the unit-of-work factory)."""
        found: T = await self.client.container.get(kind)
        return found

    async def sign_in(self, user: User) -> dict[str, str]:
        # Bearer only: the session cookies would make "anonymous" requests signed in.
        return await sign_in(self.client, user.email)

    async def stats(self, **params: str) -> dict[str, Any]:
        response = await self.client.get(
            f"{ADMIN_API}/stats", params=params, headers=self.headers["admin"]
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def audit(self, **params: str | int) -> dict[str, Any]:
        response = await self.client.get(
            f"{ADMIN_API}/audit", params=params, headers=self.headers["admin"]
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def open_admin_app(client: Client) -> AdminApp:
    """The dataset stored on a started app (fixed clock), and its three people signed in."""
    admin_app = AdminApp(client, client.fixed_clock, build_stats_world())
    world = admin_app.world
    signing_in = {
        "admin": world.admin,
        "patient": world.patients["p1"],
        "doctor": world.doctors["alice"],
    }
    for user in signing_in.values():
        user.password_hash = await hash_password(client.container)
    await store_stats_world(await admin_app.get(UnitOfWorkFactory), world)
    admin_app.headers = {role: await admin_app.sign_in(user) for role, user in signing_in.items()}
    return admin_app


async def _started(make_client: AppFactory, backend: Backend) -> Client:
    return await make_client(
        env={"HDUCE_DEFAULT_TIMEZONE": CLINIC_TIMEZONE}, backend=backend, clock=FixedClock(NOW)
    )


@pytest.fixture
async def admin_app(backend: Backend, make_client: AppFactory) -> AdminApp:
    """The admin app on each backend (embedded, then production)."""
    return await open_admin_app(await _started(make_client, backend))


@pytest.fixture
async def embedded_admin_app(embedded: Backend, make_client: AppFactory) -> AdminApp:
    """On SQLite only: for checks whose backend does not matter."""
    return await open_admin_app(await _started(make_client, embedded))
