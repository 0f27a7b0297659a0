"""The clinic tests' ``Clinic``: the real app (``tests/e2e/harness.py``) with its clock
fixed at ``NOW``, on each backend, an admin signed in, and helpers that make specialties,
doctors and patients through the clinic's own HTTP API.

The clock is fixed because slots depend on "now" (minimum notice, booking horizon) and
the DST cases live in 2030.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand, TransitionCommand
from hduce.application.appointments.transitions import EnterInError
from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.identity import Actor, Role
from tests.e2e.harness import (
    API,
    NOW,
    PASSWORD,
    AppFactory,
    Backend,
    Client,
    access_token,
    bearer,
    create_account,
    mark_email_verified,
    register,
)
from tests.fakes import FixedClock

__all__ = ["API", "NOW", "PASSWORD", "Clinic"]

ADMIN_EMAIL = "admin@clinic.example.org"


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
        # Bearer tokens only (see ``harness.session``).
        return await access_token(self.client, email)

    async def storage(self) -> UnitOfWorkFactory:
        """The app's own unit-of-work factory: to look at what was (not) stored."""
        factory: UnitOfWorkFactory = await self.client.container.get(UnitOfWorkFactory)
        return factory

    async def book(self, patient: dict[str, Any], doctor: dict[str, Any], at: datetime) -> UUID:
        """An appointment made by the booking use case directly (these tests are about
        the clinic routes, not the appointments API)."""
        book = await self.client.container.get(BookAppointment)
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
        enter_in_error = await self.client.container.get(EnterInError)
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
        await mark_email_verified(self.client.container, email)  # it may book
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


async def open_clinic(client: Client) -> Clinic:
    """The clinic on a started app with a fixed clock: its admin created and signed in."""
    clinic = Clinic(client, client.fixed_clock)
    clinic.admin_id = (await create_account(client, Role.ADMIN, ADMIN_EMAIL))["id"]
    clinic.admin_token = await clinic.access_token(ADMIN_EMAIL)
    return clinic


@pytest.fixture
async def clinic(backend: Backend, make_client: AppFactory) -> Clinic:
    """The clinic app on each backend (``backend``: embedded, then production)."""
    return await open_clinic(await make_client(backend=backend, clock=FixedClock(NOW)))
