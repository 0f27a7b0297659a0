"""The clinic's HTTP app for the appointment and notification end-to-end tests.

``clinic_world(backend)`` starts the real app (identity + appointments +
notifications controllers, the composition root's providers) over a migrated
SQLite file or PostgreSQL + Redis, with a ``FixedClock`` the test moves, and seeds
a small clinic directly through the stores (no dependency on the clinic HTTP API):
two patients, two doctors (UTC, Monday-Friday 08:00-18:00, 30-minute visits) and
an admin. Requests authenticate with access tokens issued at the clock's current
time (``world.auth(who)``), so moving the clock never expires them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx
import uvicorn
from dishka import AsyncContainer, Provider, Scope, provide
from litestar import Litestar

from hduce.adapters.clock import FixedClock
from hduce.adapters.memory.bus import InProcessEventBus
from hduce.adapters.security import Argon2Parameters
from hduce.application.notifications import HandleEventNotifications
from hduce.application.outbox_relay import OutboxRelay
from hduce.application.ports import AccessTokenIssuer, Clock, UnitOfWorkFactory
from hduce.bootstrap.appointments_provider import AppointmentsHttpProvider
from hduce.bootstrap.container import background_services, build_container
from hduce.bootstrap.identity_provider import identity_providers
from hduce.bootstrap.settings import Settings
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.events import DomainEvent
from hduce.domain.identity import Role, User
from hduce.domain.ids import uuid7
from hduce.domain.scheduling import LocalInterval, WeeklyHours
from hduce.entrypoints.http.app import create_app
from hduce.entrypoints.http.appointments import appointment_route_handlers
from hduce.entrypoints.http.auth import identity_route_handlers
from hduce.entrypoints.http.notifications import notification_route_handlers
from tests.e2e.identity.conftest import SECRET, Backend, Client, running, test_policy
from tests.services import free_port

API = "/api/v1"
APPOINTMENTS = f"{API}/appointments"
NOTIFICATIONS = f"{API}/notifications"

#: Monday 2030-01-07 08:00 UTC: where every test's clock starts.
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


class FixedClockProvider(Provider):
    """Overrides the composition root's ``SystemClock`` with a clock the test moves."""

    scope = Scope.APP

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self._clock = clock

    @provide(override=True)
    def clock(self) -> Clock:
        return self._clock


def build_clinic_app(
    settings: Settings, clock: FixedClock, *, background: bool = False
) -> Litestar:
    """The app as the composition root will wire it, plus the fixed clock.

    ``background``: run the ``all`` mode's services (outbox relay, in-process
    notification consumer, sweeps) inside the app, as ``hduce serve`` does.
    """
    container = build_container(
        settings,
        mode="all" if background else "api",
        extra=[
            *identity_providers(
                settings,
                policy=test_policy(settings),
                hasher_parameters=Argon2Parameters.for_tests(),
            ),
            AppointmentsHttpProvider(),
            FixedClockProvider(clock),
        ],
    )
    return create_app(
        container,
        settings,
        route_handlers=[
            *identity_route_handlers(settings),
            *appointment_route_handlers(),
            *notification_route_handlers(),
        ],
        background=background_services(container, settings, mode="all") if background else (),
    )


# ------------------------------------------------------------------ the world


@dataclass
class ClinicWorld:
    client: httpx.AsyncClient
    container: AsyncContainer
    clock: FixedClock
    people: dict[str, User] = field(default_factory=dict)
    specialty_id: UUID | None = None

    # ------------------------------------------------------------------ who is who

    def id(self, who: str) -> str:
        return str(self.people[who].id)

    async def auth(self, who: str) -> dict[str, str]:
        """``Authorization`` for ``who``: a token issued at the clock's current time."""
        issuer = await self.container.get(AccessTokenIssuer)
        user = self.people[who]
        token = issuer.issue(user_id=user.id, role=user.role, now=self.clock.now())
        return {"Authorization": f"Bearer {token.token}"}

    # ------------------------------------------------------------------ seeding

    async def add_user(self, who: str, role: Role, **fields: Any) -> User:
        user = User(
            id=uuid7(),
            email=f"{who.replace('_', '.')}.{uuid7().hex[-8:]}@example.org",
            full_name=who.replace("_", " ").title(),
            role=role,
            created_at=self.clock.now(),
            **fields,
        )
        uow_factory = await self.container.get(UnitOfWorkFactory)
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
        self.people[who] = user
        return user

    async def add_doctor(self, who: str, *, hours: WeeklyHours = OFFICE_HOURS) -> User:
        user = await self.add_user(who, Role.DOCTOR)
        uow_factory = await self.container.get(UnitOfWorkFactory)
        async with uow_factory() as uow:
            if self.specialty_id is None:
                specialty = Specialty(id=uuid7(), name=f"Family medicine {uuid7().hex[-6:]}")
                await uow.specialties.add(specialty)
                self.specialty_id = specialty.id
            await uow.doctors.add(
                Doctor(
                    user_id=user.id,
                    licence_number=f"LIC-{user.id.hex[-10:]}",
                    specialty_id=self.specialty_id,
                    timezone="UTC",
                    visit_minutes=30,
                )
            )
            await uow.availability.replace_weekly(user.id, hours)
            await uow.commit()
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
        """Relay the outbox into the bus with the notification handler subscribed: what
        the ``all`` mode's background services do, done now instead of on a timer."""
        bus = await self.container.get(InProcessEventBus)
        relay = await self.container.get(OutboxRelay)
        notify = await self.container.get(HandleEventNotifications)

        async def handle(event: DomainEvent) -> None:
            await notify(event)

        unsubscribe = bus.subscribe(handle)
        try:
            return await relay.drain()
        finally:
            unsubscribe()


@contextlib.asynccontextmanager
async def clinic_world(backend: Backend) -> AsyncIterator[ClinicWorld]:
    """A started app on the test's event loop, its ASGI client and a seeded clinic."""
    settings = Settings.from_env({"HDUCE_JWT_SECRET": SECRET, **backend.env})
    clock = FixedClock(NOW)
    app = build_clinic_app(settings, clock)
    async with running(app), Client(app) as client:
        world = ClinicWorld(client=client, container=app.state.dishka_container, clock=clock)
        await world.seed()
        yield world


# ------------------------------------------------------------------ a real server


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


@contextlib.asynccontextmanager
async def served_clinic_world(backend: Backend) -> AsyncIterator[ClinicWorld]:
    """Like ``clinic_world``, but over a real HTTP server running the ``all`` mode's
    background services (relay, notification consumer): what ``hduce serve`` runs."""
    settings = Settings.from_env(
        {"HDUCE_JWT_SECRET": SECRET, "HDUCE_OUTBOX_POLL_INTERVAL": "0.1", **backend.env}
    )
    clock = FixedClock(NOW)
    app = build_clinic_app(settings, clock, background=True)
    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        world = ClinicWorld(client=client, container=app.state.dishka_container, clock=clock)
        await world.seed()
        yield world
