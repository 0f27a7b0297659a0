"""The real HTTP app (``create_app`` + the composition root's providers + the identity
providers) over a migrated SQLite file, or PostgreSQL + Redis, for the identity flows."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from hduce.adapters.security import Argon2Parameters
from hduce.adapters.sql import upgrade_database
from hduce.application.identity import CreateAccount, IdentityPolicy, NewAccount, RateRule
from hduce.bootstrap.container import build_container
from hduce.bootstrap.identity_provider import identity_policy, identity_providers
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.app import create_app
from hduce.entrypoints.http.auth import identity_root_route_handlers, identity_route_handlers
from tests import services
from tests.e2e.identity.oidc_provider import LocalOpenIdProvider, serve

BASE_URL = "https://testserver.local"
API = "/api/v1"
SECRET = "e2e-secret-e2e-secret-e2e-secret-0123456789"
PASSWORD = "correct horse battery staple"
GENEROUS = RateRule(100_000, 60)


class Client(httpx.AsyncClient):
    """An HTTP client bound to one app, which runs on the test's own event loop (so tests
    can fire concurrent requests and reach the app's container directly).

    Each client comes from its own random address: rate limits kept in a shared Redis
    (by address) never carry over from one test, or one run, to the next.
    """

    def __init__(self, app: Litestar) -> None:
        self.address = (
            f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        )
        super().__init__(
            transport=httpx.ASGITransport(app=app, client=(self.address, 50000)),  # type: ignore[arg-type]
            base_url=BASE_URL,
        )
        self.app = app


def test_policy(settings: Settings, **overrides: Any) -> IdentityPolicy:
    """Rate limits out of the way unless a test asks for them."""
    limits: dict[str, Any] = {
        "login_per_ip": GENEROUS,
        "login_per_account": GENEROUS,
        "register_per_ip": GENEROUS,
        "register_per_account": GENEROUS,
        "refresh_per_family": GENEROUS,
        "google_per_ip": GENEROUS,
    }
    limits.update(overrides)
    return identity_policy(settings, **limits)


test_policy.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


def build_identity_app(settings: Settings, policy: IdentityPolicy | None = None) -> Litestar:
    """What ``hduce serve`` builds, with cheap Argon2 and the given policy."""
    container = build_container(
        settings,
        mode="api",
        extra=identity_providers(
            settings,
            policy=policy or test_policy(settings),
            hasher_parameters=Argon2Parameters.for_tests(),
        ),
    )
    app = create_app(container, settings, route_handlers=identity_route_handlers(settings))
    for handler in identity_root_route_handlers(settings):
        app.register(handler)
    return app


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("identity-template") / "hduce.sqlite3"
    asyncio.run(upgrade_database(f"sqlite+aiosqlite:///{path}"))
    return path


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


def google_env(provider: LocalOpenIdProvider) -> dict[str, str]:
    return {
        "HDUCE_GOOGLE_CLIENT_ID": provider.client_id,
        "HDUCE_GOOGLE_CLIENT_SECRET": provider.client_secret,
        "HDUCE_GOOGLE_REDIRECT_URI": f"{BASE_URL}{API}/auth/google/callback",
        "HDUCE_GOOGLE_DISCOVERY_URL": provider.discovery_url,
    }


@dataclass
class Backend:
    """Environment of one deployment shape: embedded (SQLite, in-memory) or production."""

    name: str
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def embedded(migrated_sqlite_template: Path, tmp_path: Path) -> Backend:
    database = tmp_path / "hduce.sqlite3"
    shutil.copy(migrated_sqlite_template, database)
    return Backend("embedded", {"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"})


@pytest.fixture
async def production(postgres_url: str, redis_url: str) -> AsyncIterator[Backend]:
    async with services.temporary_database(postgres_url, prefix="hduce_e2e_identity") as url:
        await upgrade_database(url)
        yield Backend("production", {"HDUCE_DATABASE_URL": url, "HDUCE_REDIS_URL": redis_url})


@pytest.fixture(params=["embedded", "production"])
def backend(request: pytest.FixtureRequest) -> Backend:
    backend: Backend = request.getfixturevalue(request.param)
    return backend


AppFactory = Callable[..., Awaitable[Client]]


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app's lifespan (startup ... shutdown) in a task of its own: anyio requires it
    to end in the task that began it, and fixtures set up and tear down in different ones."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # startup failed: raise its error
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.fixture
async def make_client(embedded: Backend) -> AsyncIterator[AppFactory]:
    """``await make_client(env=..., backend=..., **policy_overrides)``: a started app's client."""
    async with AsyncExitStack() as stack:

        async def make(
            env: Mapping[str, str] | None = None, backend: Backend | None = None, **overrides: Any
        ) -> Client:
            settings = Settings.from_env(
                {"HDUCE_JWT_SECRET": SECRET, **(backend or embedded).env, **(env or {})}
            )
            app = build_identity_app(settings, test_policy(settings, **overrides))
            await stack.enter_async_context(running(app))
            return await stack.enter_async_context(Client(app))

        yield make


@pytest.fixture
async def client(make_client: AppFactory) -> Client:
    return await make_client()


# ------------------------------------------------------------------ helpers


async def register(
    client: Client, email: str, password: str = PASSWORD, full_name: str = "Test User"
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": password, "full_name": full_name},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_account(
    client: Client, role: Role, email: str, password: str | None = PASSWORD, name: str = "Staff"
) -> dict[str, Any]:
    """An account made the way ``hduce create-admin`` (or an admin) makes it."""
    container = client.app.state.dishka_container
    create = await container.get(CreateAccount)
    user = await create(
        Actor.system(), NewAccount(email=email, full_name=name, role=role, password=password)
    )
    return {"id": str(user.id), "email": user.email, "role": user.role.value}


PROBLEM_JSON = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body
