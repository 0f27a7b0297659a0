"""Fixtures of every end-to-end test (helpers are in ``tests/e2e/harness.py``).

Backends: ``embedded`` (a copy of a migrated SQLite template, in-memory bus and rate
limits), ``production`` (a throwaway PostgreSQL database, migrated, and Redis) and
``backend``, parametrized over both. ``make_client`` starts the real app on one of
them; ``client`` is the default one; ``world`` is the seeded clinic of the appointment
and notification tests; ``local_oidc`` is a local OpenID provider standing in for
Google. Each area's own fixtures are in its folder's ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from hduce.adapters.sql import upgrade_database
from tests import services
from tests.e2e.harness import NOW, AppFactory, Backend, Client, ClinicWorld, start_app
from tests.e2e.oidc_provider import LocalOpenIdProvider, serve
from tests.fakes import FixedClock

# ------------------------------------------------------------------ backends


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-template") / "hduce.sqlite3"
    asyncio.run(upgrade_database(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def embedded(migrated_sqlite_template: Path, tmp_path: Path) -> Backend:
    database = tmp_path / "hduce.sqlite3"
    shutil.copy(migrated_sqlite_template, database)
    return Backend("embedded", {"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"})


@pytest.fixture
async def production(postgres_url: str, redis_url: str) -> AsyncIterator[Backend]:
    async with services.temporary_database(postgres_url, prefix="hduce_e2e") as url:
        await upgrade_database(url)
        yield Backend("production", {"HDUCE_DATABASE_URL": url, "HDUCE_REDIS_URL": redis_url})


@pytest.fixture(params=["embedded", "production"])
def backend(request: pytest.FixtureRequest) -> Backend:
    backend: Backend = request.getfixturevalue(request.param)
    return backend


# ------------------------------------------------------------------ the app


@pytest.fixture
async def make_client(embedded: Backend) -> AsyncIterator[AppFactory]:
    """``await make_client(env=..., backend=..., clock=..., **policy_overrides)``: the app
    (default backend: embedded) started, and a client bound to it; stopped after the test.

    Fixtures that pass another ``backend`` request it before ``make_client``, so the app
    stops before its database is dropped.
    """
    async with AsyncExitStack() as stack:

        async def make(
            env: Mapping[str, str] | None = None,
            backend: Backend | None = None,
            *,
            clock: FixedClock | None = None,
            **policy_overrides: Any,
        ) -> Client:
            return await stack.enter_async_context(
                start_app(backend or embedded, env=env, clock=clock, **policy_overrides)
            )

        yield make


@pytest.fixture
async def client(make_client: AppFactory) -> Client:
    return await make_client()


@pytest.fixture
async def world(backend: Backend, make_client: AppFactory) -> ClinicWorld:
    """The seeded clinic (``ClinicWorld``) on each backend, its clock at ``NOW``."""
    return await ClinicWorld.open(await make_client(backend=backend, clock=FixedClock(NOW)))


# ------------------------------------------------------------------ Google


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[LocalOpenIdProvider]:
    with serve(LocalOpenIdProvider()) as provider:
        yield provider


@pytest.fixture
def local_oidc(oidc_provider: LocalOpenIdProvider) -> Iterator[LocalOpenIdProvider]:
    """The shared provider, reset to well-behaved for this test."""
    oidc_provider.claim_overrides = {}
    oidc_provider.sign_with_rogue_key = False
    oidc_provider.next_identity = {
        "sub": "google-ada",
        "email": "ada@example.org",
        "email_verified": True,
        "name": "Ada Lovelace",
    }
    yield oidc_provider
