"""The end-to-end tests' shared plumbing: the real app, over a real backend, driven by
an in-process HTTP client.

* ``build_test_app``: what ``hduce.entrypoints.asgi.build_app`` builds (the composition
  root's container, every controller of ``api_route_handlers``, the root routes such as
  the JWKS, in ``all`` mode the background services), plus the tests' overrides: cheap
  Argon2, rate limits out of the way (``test_policy``) and, optionally, a ``FixedClock``.
* ``start_app``: that app started (``running``: its lifespan on the test's event loop)
  with a ``Client`` bound to it; ``served``: the app behind a real uvicorn server.
* ``Backend``: the deployment shape, embedded (SQLite) or production (PostgreSQL +
  Redis); the fixtures that make them are in ``tests/e2e/conftest.py``.
* HTTP helpers (``register``, ``login``, ``bearer``, ``assert_problem``), login helpers
  (``access_token``/``sign_in``: a fresh session's bearer token, cookies dropped), and
  seeding through the app's own use cases and stores (``create_account``,
  ``store_user``, ``store_specialty``, ``store_doctor``).
* ``ClinicWorld``: a started app with a small clinic seeded through the stores (two
  patients, two doctors with working hours, an admin) and request helpers for the
  appointment and notification API.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx
import msgspec
import uvicorn
from dishka import AsyncContainer, Provider, Scope, provide
from litestar import Controller, Litestar

from hduce.adapters.memory.bus import InProcessEventBus
from hduce.adapters.security.passwords import Argon2Parameters
from hduce.application.identity.accounts import CreateAccount, NewAccount
from hduce.application.identity.policy import IdentityPolicy, RateRule
from hduce.application.messaging.handlers import Route, event_routes
from hduce.application.messaging.outbox_relay import OutboxRelay
from hduce.application.ports import AccessTokenIssuer, Clock, PasswordHasher, UnitOfWorkFactory
from hduce.bootstrap.background import ProcessMode, background_services
from hduce.bootstrap.container import build_container
from hduce.bootstrap.providers.identity import identity_policy
from hduce.bootstrap.settings import Settings
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Actor, Role, User
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import LocalInterval, WeeklyHours
from hduce.entrypoints.asgi import api_route_handlers, root_route_handlers
from hduce.entrypoints.http.app import create_app
from hduce.entrypoints.http.auth.schemas import UserView
from tests.e2e.oidc_provider import LocalOpenIdProvider
from tests.fakes import FixedClock
from tests.services import free_port

BASE_URL = "https://testserver.local"
API = "/api/v1"
APPOINTMENTS = f"{API}/appointments"
NOTIFICATIONS = f"{API}/notifications"
SECRET = "e2e-secret-e2e-secret-e2e-secret-0123456789"
PASSWORD = "correct horse battery staple"
GENEROUS = RateRule(100_000, 60)
PROBLEM_JSON = "application/problem+json"

#: Monday 2030-01-07 08:00 UTC (09:00 in Madrid): where a fixed clock starts.
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
#: Wednesday 10:00 UTC: inside office hours and more than 24 h ahead (patients may
#: still cancel an approved visit).
WEDNESDAY_10 = datetime(2030, 1, 9, 10, 0, tzinfo=UTC)
VISIT = timedelta(minutes=30)
OFFICE_HOURS = WeeklyHours(
    {weekday: (LocalInterval(time(8), time(18)),) for weekday in range(5)}  # Mon-Fri
)


def iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ the app


def test_policy(settings: Settings, **overrides: Any) -> IdentityPolicy:
    """Rate limits out of the way unless a test asks for them."""
    limits: dict[str, Any] = {
        "login_per_ip": GENEROUS,
        "login_per_account": GENEROUS,
        "login_per_account_client": GENEROUS,
        "register_per_ip": GENEROUS,
        "register_per_account": GENEROUS,
        "refresh_per_family": GENEROUS,
        "google_per_ip": GENEROUS,
        "password_reset_per_account": GENEROUS,
        "password_reset_per_ip": GENEROUS,
        "verification_resend_per_user": GENEROUS,
    }
    limits.update(overrides)
    return identity_policy(settings, **limits)


test_policy.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


class FixedClockProvider(Provider):
    """Overrides the composition root's ``SystemClock`` with a clock the test moves."""

    scope = Scope.APP

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self._clock = clock

    @provide(override=True)
    def clock(self) -> Clock:
        return self._clock


def build_test_app(
    settings: Settings,
    *,
    mode: ProcessMode = "api",
    policy: IdentityPolicy | None = None,
    clock: FixedClock | None = None,
    extra: Sequence[Provider] = (),
) -> Litestar:
    """``build_app(settings, mode=mode)`` with cheap Argon2 and ``policy`` (default:
    ``test_policy``), and test providers on top of the composition root's (later
    providers override earlier ones): the fixed ``clock`` if any, then ``extra``.

    ``mode="api"`` runs no background service at all (tests drain the outbox themselves
    when they need to); ``"all"`` runs what ``hduce serve`` runs beside HTTP.
    """
    container = build_container(
        settings,
        identity_policy=policy or test_policy(settings),
        hasher_parameters=Argon2Parameters.for_tests(),
        extra=[*([FixedClockProvider(clock)] if clock is not None else []), *extra],
    )
    # ``build_app``'s own lines (it cannot take extra providers), but for one thing: in
    # ``api`` mode its only background service is the outbox-metrics ticker, left out
    # here. Stopped while its first query is in flight (most tests are that short), it
    # leaves aiosqlite worker threads that later report to a closed event loop.
    background = background_services(container, settings, mode=mode) if mode != "api" else ()
    route_handlers = api_route_handlers(settings)
    with _controllers_left_unwrapped(route_handlers):
        return create_app(
            container,
            settings,
            background=background,
            route_handlers=route_handlers,
            root_route_handlers=root_route_handlers(settings),
        )


@contextlib.contextmanager
def _controllers_left_unwrapped(route_handlers: Sequence[object]) -> Iterator[None]:
    """Undo what dishka's ``DishkaRouter`` does to the controller classes it mounts.

    It replaces each class's ``get_route_handlers`` with a wrapper around the current
    one (dishka 1.10), so every app built in the process adds a layer: building the
    next app, and each of its requests, goes through one more wrapper per app built
    before. One app per process never notices; a test session builds hundreds, and
    without this the suite slows down as it runs. The app built keeps its wrapped
    handlers: only the classes are restored.
    """
    controllers = [
        handler
        for handler in route_handlers
        if isinstance(handler, type) and issubclass(handler, Controller)
    ]
    own = {
        controller: controller.__dict__.get("get_route_handlers", _INHERITED)
        for controller in controllers
    }
    try:
        yield
    finally:
        for controller, original in own.items():
            if original is _INHERITED:
                if "get_route_handlers" in controller.__dict__:
                    delattr(controller, "get_route_handlers")
            else:
                controller.get_route_handlers = original


_INHERITED = object()


@dataclass
class Backend:
    """Environment of one deployment shape: embedded (SQLite, in-memory) or production."""

    name: str
    env: dict[str, str] = field(default_factory=dict)


def settings_for(backend: Backend, env: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env({"HDUCE_JWT_SECRET": SECRET, **backend.env, **(env or {})})


def google_env(provider: LocalOpenIdProvider) -> dict[str, str]:
    """Settings turning Google sign-in on, against the local OpenID provider."""
    return {
        "HDUCE_GOOGLE_CLIENT_ID": provider.client_id,
        "HDUCE_GOOGLE_CLIENT_SECRET": provider.client_secret,
        "HDUCE_GOOGLE_REDIRECT_URI": f"{BASE_URL}{API}/auth/google/callback",
        "HDUCE_GOOGLE_DISCOVERY_URL": provider.discovery_url,
    }


class Client(httpx.AsyncClient):
    """An HTTP client bound to one app, which runs on the test's own event loop (so tests
    can fire concurrent requests and reach the app's container directly).

    Each client comes from its own random address: rate limits kept in a shared Redis
    (by address) never carry over from one test, or one run, to the next.
    """

    def __init__(self, app: Litestar, clock: FixedClock | None = None) -> None:
        self.address = (
            f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        )
        super().__init__(
            transport=httpx.ASGITransport(app=app, client=(self.address, 50000)),  # type: ignore[arg-type]
            base_url=BASE_URL,
        )
        self.app = app
        #: The app's fixed clock, when it was started with one.
        self.clock = clock

    @property
    def container(self) -> AsyncContainer:
        """The app's dishka container: its use cases, stores and settings."""
        container: AsyncContainer = self.app.state.dishka_container
        return container

    @property
    def fixed_clock(self) -> FixedClock:
        if self.clock is None:
            raise RuntimeError("this app runs on the system clock")
        return self.clock


@contextlib.asynccontextmanager
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


@contextlib.asynccontextmanager
async def start_app(
    backend: Backend,
    *,
    env: Mapping[str, str] | None = None,
    clock: FixedClock | None = None,
    mode: ProcessMode = "api",
    **policy_overrides: Any,
) -> AsyncIterator[Client]:
    """The test app on ``backend``, started, and a client bound to it."""
    settings = settings_for(backend, env)
    app = build_test_app(
        settings, mode=mode, policy=test_policy(settings, **policy_overrides), clock=clock
    )
    async with running(app), Client(app, clock) as client:
        yield client


#: ``await make_client(env=..., backend=..., clock=..., **policy_overrides)`` (the
#: ``make_client`` fixture): a started app's client, stopped after the test.
AppFactory = Callable[..., Awaitable[Client]]


@contextlib.asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in this event loop (the test
    reaches the app's container directly); yields the base URL. Streaming responses
    need a real server: the in-process test clients do not interleave them."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free_port(),
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise its error
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


async def response_status(
    app: Litestar, method: str, path: str, headers: Mapping[str, str] | None = None
) -> int:
    """The status an endpoint answers with, without reading the body: for streams
    (Server-Sent Events), which never end by themselves and which the in-process client
    would wait for. The client disconnects as soon as the response starts."""
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    disconnect = asyncio.Event()
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start" and not started.done():
            started.set_result(int(message["status"]))
            disconnect.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver.local"),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ],
        "client": ("10.0.0.1", 50000),
        "server": ("testserver.local", 443),
    }
    task = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):
            either: set[asyncio.Future[Any]] = {task, started}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not started.done():
                task.result()  # the app ended without answering: raise its error
                raise AssertionError(f"{method} {path} ended without a response")
            status = started.result()
            await task  # the disconnect ends the stream
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return status


# ------------------------------------------------------------------ HTTP helpers


async def register(
    client: Client, email: str, password: str = PASSWORD, full_name: str = "Test User"
) -> dict[str, Any]:
    """Self-register over HTTP; the account as ``GET /auth/me`` shows it, read from the
    app's store (the answer to a registration does not say what it made)."""
    response = await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": password, "full_name": full_name},
    )
    assert response.status_code == 202, response.text
    assert set(response.json()) == {"email", "detail"}, response.text
    uow_factory = await client.container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        user = await uow.users.get_by_email(email)
    assert user is not None, f"no account for {email}"
    body: dict[str, Any] = msgspec.to_builtins(UserView.of(user))
    return body


async def mark_email_verified(container: AsyncContainer, email: str) -> None:
    """What opening the emailed verification link does, done through the store (the
    link itself is followed in ``tests/e2e/identity/test_email_verification.py``)."""
    uow_factory = await container.get(UnitOfWorkFactory)
    clock = await container.get(Clock)
    async with uow_factory() as uow:
        user = await uow.users.get_by_email(email)
        assert user is not None, f"no account for {email}"
        user.verify_email(clock.now())
        await uow.users.save(user)
        await uow.commit()


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


# ------------------------------------------------------------------ signing in


async def session(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    """A fresh login (its tokens), authenticating later requests by bearer token only:
    the session cookies login sets would make every later request, "anonymous" ones
    included, a cookie-authenticated one."""
    tokens = await login(client, email, password)
    client.cookies.clear()
    return tokens


async def access_token(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """The access token of a fresh session (cookies dropped, see ``session``)."""
    token: str = (await session(client, email, password))["access_token"]
    return token


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    """Bearer headers of a fresh session (after moving a fixed clock, sign in again)."""
    return bearer(await access_token(client, email, password))


async def issued_headers(container: AsyncContainer, user: User, now: datetime) -> dict[str, str]:
    """``Authorization`` with a token issued at ``now`` without a login (no session)."""
    issuer = await container.get(AccessTokenIssuer)
    token = issuer.issue(user_id=user.id, role=user.role, now=now)
    return bearer(token.token)


# ------------------------------------------------------------------ seeding


async def create_account(
    client: Client, role: Role, email: str, password: str | None = PASSWORD, name: str = "Staff"
) -> dict[str, Any]:
    """An account made the way ``hduce create-admin`` (or an admin) makes it."""
    create = await client.container.get(CreateAccount)
    user = await create(
        Actor.system(), NewAccount(email=email, full_name=name, role=role, password=password)
    )
    return {"id": str(user.id), "email": user.email, "role": user.role.value}


async def hash_password(container: AsyncContainer, password: str = PASSWORD) -> str:
    """A password hash as the app stores it (to seed accounts that can sign in)."""
    hasher = await container.get(PasswordHasher)
    hashed: str = await hasher.hash(password)
    return hashed


async def store_user(container: AsyncContainer, user: User) -> User:
    """``user`` stored as is, through the app's unit of work."""
    uow_factory = await container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


async def store_specialty(container: AsyncContainer, name: str) -> UUID:
    uow_factory = await container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        specialty = Specialty(id=uuid7(), name=name)
        await uow.specialties.add(specialty)
        await uow.commit()
    return specialty.id


async def store_doctor(
    container: AsyncContainer,
    user: User,
    *,
    specialty_id: UUID,
    hours: WeeklyHours = OFFICE_HOURS,
    visit_minutes: int = 30,
) -> None:
    """The doctor profile of ``user`` (a doctor's account) and its weekly hours, kept
    in the account's timezone."""
    uow_factory = await container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        await uow.doctors.add(
            Doctor(
                user_id=user.id,
                licence_number=f"LIC-{user.id.hex[-10:]}",
                specialty_id=specialty_id,
                timezone=user.timezone,
                visit_minutes=visit_minutes,
            )
        )
        await uow.availability.replace_weekly(user.id, hours)
        await uow.commit()


# ------------------------------------------------------------------ a seeded clinic


@dataclass
class ClinicWorld:
    """A started app with a small clinic: ``patient``, ``other_patient``, ``doctor``,
    ``other_doctor`` (UTC, Monday-Friday 08:00-18:00, 30-minute visits, one specialty)
    and ``admin``, seeded through the stores (no dependency on the clinic HTTP API).

    Requests authenticate with access tokens issued at the clock's current time
    (``world.auth(who)``), so moving the clock never expires them. Seeded with a
    ``password``, the accounts can also sign in (``world.sign_in(who)``).
    """

    client: httpx.AsyncClient
    container: AsyncContainer
    clock: FixedClock
    people: dict[str, User] = field(default_factory=dict)
    specialty_id: UUID | None = None
    password: str | None = None

    @classmethod
    async def open(cls, client: Client, *, password: str | None = None) -> ClinicWorld:
        """The seeded clinic on a started app (with a fixed clock)."""
        world = cls(
            client=client, container=client.container, clock=client.fixed_clock, password=password
        )
        await world.seed()
        return world

    # ------------------------------------------------------------------ who is who

    def id(self, who: str) -> str:
        return str(self.people[who].id)

    async def auth(self, who: str) -> dict[str, str]:
        """``Authorization`` for ``who``: a token issued at the clock's current time."""
        return await issued_headers(self.container, self.people[who], self.clock.now())

    async def sign_in(self, who: str) -> dict[str, Any]:
        """A fresh login of ``who`` (its tokens; needs the world's ``password``)."""
        assert self.password is not None, "seed the world with a password to sign in"
        return await session(self.client, self.people[who].email, self.password)

    # ------------------------------------------------------------------ seeding

    async def add_user(self, who: str, role: Role, **fields: Any) -> User:
        if self.password is not None and "password_hash" not in fields:
            fields["password_hash"] = await hash_password(self.container, self.password)
        # Seeded accounts have proven their address (booking may require it).
        fields.setdefault("email_verified_at", self.clock.now())
        user = User(
            id=uuid7(),
            email=f"{who.replace('_', '.')}.{uuid7().hex[-8:]}@example.org",
            full_name=who.replace("_", " ").title(),
            role=role,
            created_at=self.clock.now(),
            **fields,
        )
        self.people[who] = await store_user(self.container, user)
        return user

    async def add_doctor(self, who: str, *, hours: WeeklyHours = OFFICE_HOURS) -> User:
        user = await self.add_user(who, Role.DOCTOR)
        if self.specialty_id is None:
            self.specialty_id = await store_specialty(
                self.container, f"Family medicine {uuid7().hex[-6:]}"
            )
        await store_doctor(self.container, user, specialty_id=self.specialty_id, hours=hours)
        return user

    async def seed(self) -> None:
        await self.add_user("patient", Role.PATIENT)
        await self.add_user("other_patient", Role.PATIENT)
        await self.add_doctor("doctor")
        await self.add_doctor("other_doctor")
        await self.add_user("admin", Role.ADMIN)

    # ------------------------------------------------------------------ requests

    async def book(
        self,
        who: str = "patient",
        *,
        starts_at: datetime = WEDNESDAY_10,
        doctor: str = "doctor",
        patient: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body: dict[str, Any] = {"doctor_id": self.id(doctor), "starts_at": iso(starts_at)}
        if patient is not None:
            body["patient_id"] = self.id(patient)
        body.update(extra)
        return await self.client.post(
            APPOINTMENTS, json=body, headers={**await self.auth(who), **(headers or {})}
        )

    async def booked(self, who: str = "patient", **kwargs: Any) -> dict[str, Any]:
        response = await self.book(who, **kwargs)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def act(
        self,
        who: str,
        appointment_id: str,
        action: str,
        json: dict[str, Any] | None = None,
        *,
        if_match: str | None = None,
    ) -> httpx.Response:
        headers = await self.auth(who)
        if if_match is not None:
            headers["If-Match"] = if_match
        return await self.client.post(
            f"{APPOINTMENTS}/{appointment_id}/{action}", json=json, headers=headers
        )

    async def get(self, who: str, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params or None, headers=await self.auth(who))

    async def appointment(self, appointment_id: str, who: str = "admin") -> dict[str, Any]:
        response = await self.get(who, f"{APPOINTMENTS}/{appointment_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def all_appointments(self) -> list[dict[str, Any]]:
        response = await self.get("admin", APPOINTMENTS, limit=100)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    # ------------------------------------------------------------------ events

    async def deliver_events(self) -> int:
        """Relay the outbox into the bus with the routing table's handlers subscribed:
        what the ``all`` mode's background services do, done now instead of on a timer."""
        bus = await self.container.get(InProcessEventBus)
        relay = await self.container.get(OutboxRelay)

        async def subscribe(route: Route) -> Callable[[], None]:
            handler = await self.container.get(route.handler)

            async def handle(event: DomainEvent) -> None:
                await handler(event)

            return bus.subscribe(handle, *route.event_types)

        unsubscribes = [await subscribe(route) for route in event_routes()]
        try:
            return await relay.drain()
        finally:
            for unsubscribe in unsubscribes:
                unsubscribe()


@contextlib.asynccontextmanager
async def served_clinic_world(
    backend: Backend, env: Mapping[str, str] | None = None, *, password: str | None = None
) -> AsyncIterator[ClinicWorld]:
    """The seeded clinic over a real HTTP server running the ``all`` mode's background
    services (relay, notification consumer): what ``hduce serve`` runs. ``env`` adds
    settings; with a ``password`` the accounts can sign in."""
    settings = settings_for(backend, {"HDUCE_OUTBOX_POLL_INTERVAL": "0.1", **(env or {})})
    clock = FixedClock(NOW)
    app = build_test_app(settings, mode="all", clock=clock)
    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        world = ClinicWorld(
            client=client, container=app.state.dishka_container, clock=clock, password=password
        )
        await world.seed()
        yield world


# ------------------------------------------------------------------ Server-Sent Events


@dataclass
class SseEvent:
    event: str | None = None
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """Parse a ``text/event-stream`` body into events (comments gathered separately)."""
    current = SseEvent()
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if current.event is not None or data or current.comments:
                current.data = "\n".join(data)
                yield current
            current, data = SseEvent(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
        elif name == "data":
            data.append(value)
