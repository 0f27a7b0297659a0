"""The real app with the clinic routes, over a migrated SQLite file (embedded) or
PostgreSQL + Redis (production), with a fixed clock the tests can move.

Reuses the identity e2e harness (backends, the ASGI client, the app's lifespan); the
clock is fixed because slots depend on "now" (minimum notice, booking horizon) and the
DST cases live in 2030.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from dishka import Provider, Scope, provide
from litestar import Litestar

from hduce.adapters.clock import FixedClock
from hduce.adapters.security import Argon2Parameters
from hduce.application.appointments import (
    BookAppointment,
    BookAppointmentCommand,
    EnterInError,
    TransitionCommand,
)
from hduce.application.ports import Clock, UnitOfWorkFactory
from hduce.bootstrap.clinic_provider import ClinicProvider
from hduce.bootstrap.container import build_container
from hduce.bootstrap.identity_provider import identity_providers
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.app import create_app
from hduce.entrypoints.http.auth import identity_route_handlers
from hduce.entrypoints.http.clinic import clinic_route_handlers
from tests.e2e.identity.conftest import (
    API,
    PASSWORD,
    SECRET,
    Backend,
    Client,
    backend,
    bearer,
    create_account,
    embedded,
    login,
    migrated_sqlite_template,
    production,
    register,
    running,
    test_policy,
)

__all__ = ["backend", "embedded", "migrated_sqlite_template", "production"]  # fixtures

ADMIN_EMAIL = "admin@clinic.example.org"
#: Monday 2030-01-07 08:00 UTC (09:00 in Madrid), unless a test moves the clock.
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


class FixedClockProvider(Provider):
    """Replaces the system clock with one the test controls."""

    scope = Scope.APP

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self._clock = clock

    @provide(override=True)
    def clock(self) -> Clock:
        return self._clock


def build_clinic_app(settings: Settings, clock: FixedClock) -> Litestar:
    """What the composition root will build: identity + clinic, cheap hashing."""
    container = build_container(
        settings,
        mode="api",
        extra=[
            *identity_providers(
                settings,
                policy=test_policy(settings),
                hasher_parameters=Argon2Parameters.for_tests(),
            ),
            ClinicProvider(),
            FixedClockProvider(clock),
        ],
    )
    return create_app(
        container,
        settings,
        route_handlers=[*identity_route_handlers(settings), *clinic_route_handlers()],
    )


@dataclass
class Clinic:
    """A started app, its clock, and signed-in staff; helpers speak HTTP."""

    client: Client
    clock: FixedClock
    admin_token: str = ""
    admin_id: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    counter: int = 0

    @property
    def admin(self) -> dict[str, str]:
        return bearer(self.admin_token)

    def unique(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}-{self.counter}"

    async def travel(self, to: datetime) -> None:
        """Move the clock; sessions issued before are then expired, so sign in again."""
        self.clock.set(to)
        self.admin_token = await self.access_token(ADMIN_EMAIL)

    async def access_token(self, email: str) -> str:
        token: str = (await login(self.client, email))["access_token"]
        # Bearer tokens only: the session cookies login sets would make every later
        # request, "anonymous" ones included, a cookie-authenticated one.
        self.client.cookies.clear()
        return token

    async def storage(self) -> UnitOfWorkFactory:
        """The app's own unit-of-work factory: to look at what was (not) stored."""
        factory: UnitOfWorkFactory = await self.client.app.state.dishka_container.get(
            UnitOfWorkFactory
        )
        return factory

    async def book(self, patient: dict[str, Any], doctor: dict[str, Any], at: datetime) -> UUID:
        """An appointment made by the booking use case (the appointments API is not
        part of these routes)."""
        book = await self.client.app.state.dishka_container.get(BookAppointment)
        appointment = await book(
            BookAppointmentCommand(
                actor=Actor(Role.PATIENT, UUID(patient["id"])),
                doctor_id=UUID(doctor["id"]),
                starts_at=at,
            )
        )
        return appointment.id

    async def enter_in_error(self, appointment_id: UUID) -> None:
        """An admin marks the appointment as made by mistake."""
        enter_in_error = await self.client.app.state.dishka_container.get(EnterInError)
        admin = Actor(Role.ADMIN, UUID(self.admin_id))
        await enter_in_error(TransitionCommand(admin, appointment_id, reason="wrong patient"))

    async def sign_in(self, email: str) -> dict[str, str]:
        """Bearer headers of a fresh session (after moving the clock, sign in again)."""
        return bearer(await self.access_token(email))

    async def specialty(self, name: str | None = None) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/specialties",
            json={"name": name or self.unique("Specialty")},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def doctor(
        self,
        *,
        timezone: str = "Europe/Madrid",
        specialty_id: str | None = None,
        full_name: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A doctor made through the API (with a password), plus ``headers`` to act as them."""
        name = full_name or self.unique("Doctor")
        email = f"{name.lower().replace(' ', '.')}@clinic.example.org"
        body = {
            "email": email,
            "full_name": name,
            "licence_number": self.unique("LIC"),
            "specialty_id": specialty_id or (await self.specialty())["id"],
            "timezone": timezone,
            "password": PASSWORD,
            **fields,
        }
        response = await self.client.post(f"{API}/doctors", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        doctor: dict[str, Any] = response.json()
        doctor["headers"] = await self.sign_in(email)
        return doctor

    async def patient(self, name: str | None = None) -> dict[str, Any]:
        """A self-registered patient, plus ``headers`` to act as them."""
        email = f"{self.unique(name or 'patient')}@example.org"
        patient = await register(self.client, email, full_name=name or "Pat Patient")
        patient["headers"] = await self.sign_in(email)
        return patient

    async def set_hours(
        self, doctor: dict[str, Any], days: dict[str, list[dict[str, str]]]
    ) -> dict[str, Any]:
        response = await self.client.put(
            f"{API}/doctors/{doctor['id']}/working-hours",
            json={"days": days},
            headers=doctor["headers"],
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def slots(self, doctor_id: str, start: str, end: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"{API}/doctors/{doctor_id}/slots", params={"from": start, "to": end}
        )
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body


async def start_clinic(stack: AsyncExitStack, backend: Backend) -> Clinic:
    clock = FixedClock(NOW)
    settings = Settings.from_env({"HDUCE_JWT_SECRET": SECRET, **backend.env})
    app = build_clinic_app(settings, clock)
    await stack.enter_async_context(running(app))
    client = await stack.enter_async_context(Client(app))
    clinic = Clinic(client, clock)
    clinic.admin_id = (await create_account(client, Role.ADMIN, ADMIN_EMAIL))["id"]
    clinic.admin_token = await clinic.access_token(ADMIN_EMAIL)
    return clinic


@pytest.fixture
async def clinic(backend: Backend) -> AsyncIterator[Clinic]:
    """The clinic app on each backend (``backend``: embedded, then production)."""
    async with AsyncExitStack() as stack:
        yield await start_clinic(stack, backend)


@pytest.fixture
async def embedded_clinic(embedded: Backend) -> AsyncIterator[Clinic]:
    """The clinic app on SQLite only: for checks whose backend does not matter."""
    async with AsyncExitStack() as stack:
        yield await start_clinic(stack, embedded)
