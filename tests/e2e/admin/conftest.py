"""The real app with the admin read routes (``/admin/audit``, ``/admin/stats``) over a
migrated SQLite file (embedded) or PostgreSQL + Redis (production), a fixed clock, the
clinic's timezone set to Europe/Madrid, and the statistics dataset of
``tests/unit/application/stats_dataset.py`` stored through the app's own unit of work.

Three of the dataset's people get a password, to sign in as each role without adding
accounts (which would change the counts): the admin, patient ``p1`` and doctor ``alice``.
Reuses the identity e2e harness (backends, the ASGI client, the app's lifespan).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from dishka import Provider, Scope, provide
from litestar import Litestar

from hduce.adapters.clock import FixedClock
from hduce.adapters.security import Argon2Parameters
from hduce.application.ports import Clock, PasswordHasher, UnitOfWorkFactory
from hduce.bootstrap.admin_provider import AdminProvider
from hduce.bootstrap.container import build_container
from hduce.bootstrap.identity_provider import identity_providers
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import User
from hduce.entrypoints.http.admin import admin_route_handlers
from hduce.entrypoints.http.app import create_app
from hduce.entrypoints.http.auth import identity_route_handlers
from tests.e2e.identity.conftest import (
    API,
    PASSWORD,
    SECRET,
    Backend,
    Client,
    backend,
    bearer,
    embedded,
    login,
    migrated_sqlite_template,
    production,
    running,
    test_policy,
)
from tests.unit.application.stats_dataset import (
    NOW,
    StatsWorld,
    build_stats_world,
    store_stats_world,
)

__all__ = ["backend", "embedded", "migrated_sqlite_template", "production"]  # fixtures

ADMIN_API = f"{API}/admin"
CLINIC_TIMEZONE = "Europe/Madrid"
T = TypeVar("T")


class FixedClockProvider(Provider):
    """Replaces the system clock with one the test controls."""

    scope = Scope.APP

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self._clock = clock

    @provide(override=True)
    def clock(self) -> Clock:
        return self._clock


def build_admin_app(settings: Settings, clock: FixedClock) -> Litestar:
    """What the composition root will build: identity + the admin read side."""
    container = build_container(
        settings,
        mode="api",
        extra=[
            *identity_providers(
                settings,
                policy=test_policy(settings),
                hasher_parameters=Argon2Parameters.for_tests(),
            ),
            AdminProvider(),
            FixedClockProvider(clock),
        ],
    )
    return create_app(
        container,
        settings,
        route_handlers=[*identity_route_handlers(settings), *admin_route_handlers()],
    )


@dataclass
class AdminApp:
    client: Client
    clock: FixedClock
    world: StatsWorld
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def get(self, kind: type[T]) -> T:
        """Something from the app's own container (use cases, the unit-of-work factory)."""
        found: T = await self.client.app.state.dishka_container.get(kind)
        return found

    async def sign_in(self, user: User) -> dict[str, str]:
        token: str = (await login(self.client, user.email))["access_token"]
        # Bearer only: the session cookies would make "anonymous" requests signed in.
        self.client.cookies.clear()
        return bearer(token)

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


async def start_admin_app(stack: AsyncExitStack, backend: Backend) -> AdminApp:
    clock = FixedClock(NOW)
    settings = Settings.from_env(
        {"HDUCE_JWT_SECRET": SECRET, "HDUCE_DEFAULT_TIMEZONE": CLINIC_TIMEZONE, **backend.env}
    )
    app = build_admin_app(settings, clock)
    await stack.enter_async_context(running(app))
    client = await stack.enter_async_context(Client(app))
    admin_app = AdminApp(client, clock, build_stats_world())
    world = admin_app.world
    signing_in = {
        "admin": world.admin,
        "patient": world.patients["p1"],
        "doctor": world.doctors["alice"],
    }
    hasher = await admin_app.get(PasswordHasher)
    for user in signing_in.values():
        user.password_hash = await hasher.hash(PASSWORD)
    await store_stats_world(await admin_app.get(UnitOfWorkFactory), world)
    admin_app.headers = {role: await admin_app.sign_in(user) for role, user in signing_in.items()}
    return admin_app


@pytest.fixture
async def admin_app(backend: Backend) -> AsyncIterator[AdminApp]:
    """The admin app on each backend (embedded, then production)."""
    async with AsyncExitStack() as stack:
        yield await start_admin_app(stack, backend)


@pytest.fixture
async def embedded_admin_app(embedded: Backend) -> AsyncIterator[AdminApp]:
    """On SQLite only: for checks whose backend does not matter."""
    async with AsyncExitStack() as stack:
        yield await start_admin_app(stack, embedded)
