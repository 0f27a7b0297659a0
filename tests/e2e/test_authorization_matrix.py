"""Who may call what: every route of the full API x {anonymous, patient, other patient,
doctor, other doctor, admin}, with the status each must get.

The world (``matrix_world``): the full app (every controller of ``api_route_handlers``,
Google sign-in and the JWKS turned on) with its clock fixed at ``NOW`` (Monday
2030-01-07 08:00 UTC), and the seeded clinic of ``harness.ClinicWorld``: ``patient`` and
``other_patient``, ``doctor`` and ``other_doctor`` (doctor profiles, one specialty,
Monday-Friday 08:00-18:00 UTC) and ``admin``, who all sign in with a password; a pending
appointment between ``patient`` and ``doctor`` and an in-app notification for ``patient``.
Every call signs in afresh (a case may end its own session) and authenticates with the
bearer token only.

The rules the expected statuses follow: the catalogue (specialties, doctors, working
hours, free slots) is public; a patient sees only their own appointments, notifications
and record; a doctor only their own calendar, and the records of their patients (who
booked with them, or accepted their proposal: a doctor's own booking is a proposal,
which opens nothing by itself); an admin everything but other people's inboxes. Someone else's appointment
(like someone else's notification) is missing to those who may not see it: 404, as
for an id that does not exist, never a 403 that would confirm it. Booking follows the same
lines: a patient books for themself, a doctor on their own calendar, an admin for
anyone. Where, for a caller who is a party to it, a business rule rather than
authorization decides (422), that status is pinned too, so that any change in who may
do what breaks a cell.

To extend: add ``Case`` rows to ``CASES``. Path and query placeholders are the keys of
``World.ids`` ({patient_id}, {other_patient_id}, {doctor_id}, {other_doctor_id},
{admin_id}, {specialty_id}, {appointment_id}, {notification_id},
{service_client_id}, {calendar_feed_id}, {institution_id}); add world-wide ids
with a ``WORLD_SETUP`` hook, and per-call ones with the case's ``setup`` (run before
each principal's call, on a clock reset to ``NOW``: for a fresh appointment when the
call changes its state). ``test_every_route_is_in_the_matrix`` fails until each route
of the app has a row, so no endpoint ships without its authorization pinned down.

Runs on the embedded backend (SQLite) only, to keep it cheap: authorization is decided
above storage, and the few rules answered by storage queries (whether a doctor has an
appointment with a patient; whose appointments and notifications a page lists) are
also checked on PostgreSQL + Redis by the area tests. ``matrix_client`` takes
``backend`` instead of ``embedded`` to run it on both (it passes there too, at about
twice the time).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hduce.application.appointments.feeds import CreateCalendarFeed
from hduce.application.availability.visit_types import CreateVisitType, VisitTypeFields
from hduce.application.clinic.institutions import CreateInstitution, NewInstitution
from hduce.application.identity.service_clients import RegisterServiceClient
from hduce.application.ports import (
    AccountTokenRecord,
    AccountTokenStore,
    LinkPurpose,
    UnitOfWorkFactory,
)
from hduce.domain.credentials import hash_opaque_token, new_opaque_token
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.institutions import Address, InstitutionKind
from hduce.domain.notifications import Channel, Notification
from hduce.domain.scheduling import TimeSlot
from hduce.domain.waitlist import WaitlistEntry, WaitlistOffer
from tests.e2e.harness import (
    API,
    NOW,
    PASSWORD,
    AppFactory,
    Backend,
    Client,
    ClinicWorld,
    bearer,
    build_test_app,
    google_env,
    iso,
    response_status,
    settings_for,
)
from tests.e2e.oidc_provider import LocalOpenIdProvider
from tests.fakes import FixedClock

ANONYMOUS, PATIENT, OTHER_PATIENT = "anonymous", "patient", "other_patient"
DOCTOR, OTHER_DOCTOR, ADMIN = "doctor", "other_doctor", "admin"
PRINCIPALS = (ANONYMOUS, PATIENT, OTHER_PATIENT, DOCTOR, OTHER_DOCTOR, ADMIN)
SIGNED_IN = PRINCIPALS[1:]


def everyone(status: int, *, anonymous: int = 401) -> dict[str, int]:
    """Any signed-in user gets ``status``; anonymous gets ``anonymous``."""
    return {ANONYMOUS: anonymous, **dict.fromkeys(SIGNED_IN, status)}


def public(status: int) -> dict[str, int]:
    return dict.fromkeys(PRINCIPALS, status)


def only(*allowed: str, status: int = 200, denied: int = 403) -> dict[str, int]:
    return {
        ANONYMOUS: 401,
        **{who: status if who in allowed else denied for who in SIGNED_IN},
    }


def cells(
    *,
    anonymous: int = 401,
    patient: int,
    other_patient: int,
    doctor: int,
    other_doctor: int,
    admin: int,
) -> dict[str, int]:
    """Every principal's status spelt out (for rows no shorthand fits)."""
    return {
        ANONYMOUS: anonymous,
        PATIENT: patient,
        OTHER_PATIENT: other_patient,
        DOCTOR: doctor,
        OTHER_DOCTOR: other_doctor,
        ADMIN: admin,
    }


def parties(status: int = 200, *, outsiders: int = 403) -> dict[str, int]:
    """The record's patient and doctor, and an admin, get ``status``; the other patient
    and the other doctor are no party to it: ``outsiders``."""
    return cells(
        patient=status,
        other_patient=outsiders,
        doctor=status,
        other_doctor=outsiders,
        admin=status,
    )


def appointment_parties(status: int = 200) -> dict[str, int]:
    """``parties`` of an appointment: to the outsiders it does not exist (404, as an
    unknown id), so its id cannot be probed."""
    return parties(status, outsiders=404)


def doctor_or_admin(status: int = 200) -> dict[str, int]:
    """``doctor`` themself and an admin (the row acts on ``{doctor_id}``)."""
    return only(DOCTOR, ADMIN, status=status)


# ------------------------------------------------------------------ the world


@dataclass
class World:
    """The seeded clinic, the ids of the matrix, and fresh sessions and slots on demand."""

    clinic: ClinicWorld
    client: Client
    ids: dict[str, str] = field(default_factory=dict)
    slots_taken: int = 0

    @property
    def clock(self) -> FixedClock:
        return self.clinic.clock

    def email(self, who: str) -> str:
        return self.clinic.people[who].email

    async def session(self, who: str) -> dict[str, Any]:
        """A fresh login of ``who`` at the clock's time (its tokens; cookies dropped)."""
        return await self.clinic.sign_in(who)

    def next_slot(self) -> datetime:
        """A slot nobody booked yet in this world: from Tuesday 2030-01-08 08:00 UTC on,
        half-hourly within the doctors' hours (Monday-Friday 08:00-18:00)."""
        workday, index = divmod(self.slots_taken, 20)
        self.slots_taken += 1
        day = NOW + timedelta(days=1)
        for _ in range(workday):
            day += timedelta(days=1)
            while day.weekday() >= 5:  # the weekend: the doctors do not work
                day += timedelta(days=1)
        return day + timedelta(minutes=30 * index)

    async def appointment(
        self, *, approved: bool = False, proposed: bool = False, patient: str = PATIENT
    ) -> tuple[str, datetime]:
        """A fresh appointment of ``patient`` with ``doctor`` in a slot of its own: booked
        by the patient (pending), by an admin (``approved``) or by the doctor
        (``proposed``); its id and start."""
        starts_at = self.next_slot()
        if approved:
            booked = await self.clinic.booked(
                ADMIN, patient=patient, starts_at=starts_at, approve=True
            )
        elif proposed:
            booked = await self.clinic.booked(DOCTOR, patient=patient, starts_at=starts_at)
        else:
            assert patient == PATIENT, "only the patient's own requests are made here"
            booked = await self.clinic.booked(PATIENT, starts_at=starts_at)
        return booked["id"], starts_at

    async def notification(self, who: str = PATIENT) -> str:
        """A fresh, unread in-app notification for ``who``."""
        notification = Notification(
            id=uuid7(),
            recipient_id=self.clinic.people[who].id,
            type="appointment.approved",
            title="Appointment approved",
            message="Your appointment was approved.",
            channel=Channel.IN_APP,
            created_at=self.clock.now(),
            dedupe_key=f"matrix:{uuid.uuid4()}",
        )
        uow_factory: UnitOfWorkFactory = await self.clinic.container.get(UnitOfWorkFactory)
        async with uow_factory() as uow:
            assert await uow.notifications.add(notification)
            await uow.commit()
        return str(notification.id)


Body = Callable[[World, str], Awaitable[Any]] | Mapping[str, Any] | None
#: ``async def setup(world, who) -> {placeholder: value}``, run before each call.
Setup = Callable[[World, str], Awaitable[Mapping[str, str]]]
#: ``def check(world, who, response)``: what a successful answer may show ``who``.
Check = Callable[[World, str, httpx.Response], None]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # relative to /api/v1 unless it starts with "/.well-known"
    expected: Mapping[str, int]
    body: Body = None
    query: str = ""
    setup: Setup | None = None
    check: Check | None = None
    #: Open a stream: only the status of its start is read, then the client leaves.
    stream: bool = False
    #: The route's path when it is not ``path``'s shape ({id}.ics is served by {ref}).
    route: str | None = None
    #: Extra request headers (a precondition such as If-Match).
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Send ``body`` form-encoded (the OAuth endpoints) instead of as JSON.
    form: bool = False

    @property
    def id(self) -> str:
        extra = "".join(f" [{name}: {value}]" for name, value in self.headers.items())
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''}{extra}"


# ------------------------------------------------------------------ bodies


async def _register_body(world: World, who: str) -> dict[str, str]:
    return {
        "email": f"new-{uuid.uuid4().hex[:12]}@example.org",
        "password": PASSWORD,
        "full_name": "New Patient",
    }


async def _login_body(world: World, who: str) -> dict[str, str]:
    return {"email": world.email(PATIENT), "password": PASSWORD}


async def _refresh_body(world: World, who: str) -> dict[str, str]:
    owner = PATIENT if who == ANONYMOUS else who
    return {"refresh_token": (await world.session(owner))["refresh_token"]}


async def _link_token(world: World, purpose: LinkPurpose, **fields: Any) -> str:
    """A live emailed-link token of ``purpose`` for a throwaway, unverified patient (a
    reset ends that account's sessions: the seeded people's stay untouched)."""
    user = await world.clinic.add_user(
        f"linked_{uuid.uuid4().hex[:8]}", Role.PATIENT, email_verified_at=None, **fields
    )
    token = new_opaque_token()
    store = await world.clinic.container.get(AccountTokenStore)
    now = world.clock.now()
    await store.issue(
        AccountTokenRecord(
            token_hash=hash_opaque_token(token),
            user_id=user.id,
            purpose=purpose,
            email=user.email,
            created_at=now,
            expires_at=now + timedelta(minutes=30),
        )
    )
    return token


async def _reset_confirm_body(world: World, who: str) -> dict[str, str]:
    token = await _link_token(world, LinkPurpose.PASSWORD_RESET)
    return {"token": token, "new_password": "a brand new passphrase 7"}


async def _password_setup_body(world: World, who: str) -> dict[str, str]:
    # A walk-in's account: no password yet.
    token = await _link_token(world, LinkPurpose.PASSWORD_SETUP, password_hash=None)
    return {"token": token, "new_password": "a brand new passphrase 7"}


async def _walk_in_body(world: World, who: str) -> dict[str, str]:
    return {"email": f"walk-in-{uuid.uuid4().hex[:12]}@example.org", "full_name": "Walk In"}


async def _walk_in(world: World, who: str) -> dict[str, str]:
    """A fresh walk-in account (no password) for each call."""
    user = await world.clinic.add_user(
        f"walk_in_{uuid.uuid4().hex[:8]}", Role.PATIENT, email_verified_at=None, password_hash=None
    )
    return {"walk_in_id": str(user.id)}


async def _verify_email_body(world: World, who: str) -> dict[str, str]:
    return {"token": await _link_token(world, LinkPurpose.EMAIL_VERIFICATION)}


async def _new_doctor_body(world: World, who: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "email": f"doctor-{tag}@example.org",
        "full_name": "New Doctor",
        "licence_number": f"LIC-NEW-{tag}",
        "specialty_id": world.ids["specialty_id"],
    }


async def _booking_body(world: World, who: str) -> dict[str, str]:
    """Everyone asks for the same thing: ``patient`` with ``doctor``, in a free slot."""
    return {
        "doctor_id": world.ids["doctor_id"],
        "patient_id": world.ids["patient_id"],
        "starts_at": iso(world.next_slot()),
    }


async def _series_body(world: World, who: str) -> dict[str, str]:
    """A one-occurrence series of ``patient`` with ``doctor``, in a free slot."""
    return {**await _booking_body(world, who), "rrule": "FREQ=WEEKLY;COUNT=1"}


async def _series(world: World, who: str) -> dict[str, str]:
    """A fresh series booked by ``patient``; its occurrence is the cancel body's."""
    response = await world.clinic.client.post(
        "/api/v1/appointments/series",
        json={
            "doctor_id": world.ids["doctor_id"],
            "starts_at": iso(world.next_slot()),
            "rrule": "FREQ=DAILY;COUNT=1",
        },
        headers=await world.clinic.auth(PATIENT),
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    world.ids["series_occurrence_id"] = plan["occurrences"][0]["appointment_id"]
    return {"series_id": plan["series_id"]}


async def _series_cancel_body(world: World, who: str) -> dict[str, str]:
    return {
        "appointment_id": world.ids["series_occurrence_id"],
        "scope": "this_and_following",
        "reason": "Matrix",
    }


async def _series_reschedule_body(world: World, who: str) -> dict[str, str]:
    return {
        "appointment_id": world.ids["series_occurrence_id"],
        "starts_at": iso(world.next_slot()),
        "scope": "this",
    }


async def _reschedule_body(world: World, who: str) -> dict[str, str]:
    return {"starts_at": iso(world.next_slot())}


def _on_a_day(kind: str) -> Body:
    """Time off or extra hours on a date of the caller's own (never refused as taken)."""

    async def body(world: World, who: str) -> dict[str, str]:
        day = (NOW + timedelta(days=12 + 7 * PRINCIPALS.index(who))).date()  # Saturdays
        if kind == "time-off":
            return {"starts_at": day.isoformat(), "ends_at": day.isoformat()}
        return {"date": day.isoformat(), "start": "09:00", "end": "12:00"}

    return body


WEEK = {
    day: [{"start": "08:00", "end": "18:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
REASON = {"reason": "Matrix"}


async def _scope_body(world: World, who: str) -> dict[str, str]:
    return {"institution_id": world.ids["institution_id"]}


def _extra_hours_at(placeholder: str) -> Body:
    async def body(world: World, who: str) -> dict[str, Any]:
        return {
            "date": "2030-02-02",
            "start": "09:00",
            "end": "12:00",
            "institution_id": world.ids[placeholder],
        }

    return body


# ------------------------------------------------------------------ per-call setups

VISIT_TYPE = {"name": "Matrix visit", "duration_minutes": 40, "buffer_after_minutes": 5}


async def _new_visit_type(world: World) -> str:
    create = await world.client.container.get(CreateVisitType)
    admin = Actor(Role.ADMIN, UUID(world.clinic.id(ADMIN)))
    fields = VisitTypeFields(name="Matrix visit", duration=timedelta(minutes=40))
    created = await create(admin, UUID(world.ids["doctor_id"]), fields)
    return str(created.id)


INSTITUTION = {
    "name": "Matrix hospital",
    "kind": "hospital",
    "address": {"line1": "Calle Mayor 1", "city": "Madrid", "country": "ES"},
    "timezone": "Europe/Madrid",
}


async def _new_institution(world: World) -> str:
    create = await world.client.container.get(CreateInstitution)
    admin = Actor(Role.ADMIN, UUID(world.clinic.id(ADMIN)))
    made = await create(
        admin,
        NewInstitution(
            name="Matrix hospital",
            kind=InstitutionKind.HOSPITAL,
            address=Address(line1="Calle Mayor 1", city="Madrid", country="ES"),
            timezone="Europe/Madrid",
        ),
    )
    return str(made.id)


async def _fresh_institution(world: World, who: str) -> dict[str, str]:
    return {"fresh_institution_id": await _new_institution(world)}


async def _fresh_visit_type(world: World, who: str) -> dict[str, str]:
    return {"fresh_type_id": await _new_visit_type(world)}


async def _pending(world: World, who: str) -> dict[str, str]:
    appointment_id, _ = await world.appointment()
    return {"fresh_id": appointment_id}


def _approved_then(after_start: timedelta) -> Setup:
    """A fresh approved appointment, the clock then moved to its start + ``after_start``."""

    async def setup(world: World, who: str) -> dict[str, str]:
        appointment_id, starts_at = await world.appointment(approved=True)
        world.clock.set(starts_at + after_start)
        return {"fresh_id": appointment_id}

    return setup


async def _proposed(world: World, who: str) -> dict[str, str]:
    appointment_id, _ = await world.appointment(proposed=True)
    return {"proposal_id": appointment_id}


async def _fresh_notification(world: World, who: str) -> dict[str, str]:
    return {"fresh_notification_id": await world.notification(PATIENT)}


def _session_id(tokens: Mapping[str, Any]) -> str:
    """The session (``sid``) an access token names."""
    payload = str(tokens["access_token"]).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sid"])


async def _waitlist_offer(world: World, who: str) -> dict[str, str]:
    """A fresh waitlist entry of ``patient`` and an open offer to them of a free slot."""
    starts_at = world.next_slot()
    now = world.clock.now()
    entry = WaitlistEntry.join(
        entry_id=uuid7(),
        patient_id=world.clinic.people[PATIENT].id,
        doctor_id=world.clinic.people[DOCTOR].id,
        window=TimeSlot(starts_at - timedelta(hours=1), starts_at + timedelta(hours=1)),
        now=now,
    )
    offer = WaitlistOffer.make(
        offer_id=uuid7(),
        entry=entry,
        slot=TimeSlot(starts_at, starts_at + timedelta(minutes=30)),
        now=now,
        hold=timedelta(minutes=15),
    )
    uow_factory: UnitOfWorkFactory = await world.clinic.container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        await uow.waitlist.add_entry(entry)
        assert await uow.waitlist.add_offer(offer)
        await uow.commit()
    return {"entry_id": str(entry.id), "offer_id": str(offer.id)}


async def _waitlist_body(world: World, who: str) -> dict[str, str]:
    starts_at = world.next_slot()
    return {
        "doctor_id": world.ids["doctor_id"],
        "earliest": iso(starts_at),
        "latest": iso(starts_at + timedelta(hours=2)),
    }


async def _own_session(world: World, who: str) -> dict[str, str]:
    """Another session of the caller (anonymous: of ``patient``) than the one it calls with."""
    owner = PATIENT if who == ANONYMOUS else who
    return {"own_session_id": _session_id(await world.session(owner))}


async def _patient_session(world: World, who: str) -> dict[str, str]:
    return {"patient_session_id": _session_id(await world.session(PATIENT))}


async def _password_body(world: World, who: str) -> dict[str, str]:
    # Each principal changes its own password once per case (a fresh world per case).
    return {"current_password": PASSWORD, "new_password": "a matrix passphrase 2030"}


async def _enrolled(world: World, who: str) -> dict[str, str]:
    """A pending authenticator for ``who`` (staff only; its secret kept for the body)."""
    if who in (DOCTOR, OTHER_DOCTOR, ADMIN):
        headers = bearer((await world.session(who))["access_token"])
        started = await world.client.post(f"{API}/auth/2fa/enrol", headers=headers)
        assert started.status_code == 200, started.text
        world.ids[f"totp_secret_{who}"] = started.json()["secret"]
    return {}


async def _current_code(world: World, who: str) -> dict[str, str]:
    secret = world.ids.get(f"totp_secret_{who}")
    return {"code": pyotp.TOTP(secret).at(world.clock.now()) if secret else "123456"}


_code = {"code": "123456"}


# ------------------------------------------------------------------ checks


def _listed(key: str, visible_to: tuple[str, ...]) -> Check:
    """The page's ``items`` hold the world's ``key`` only for ``visible_to``."""

    def check(world: World, who: str, response: httpx.Response) -> None:
        listed = {item["id"] for item in response.json()["items"]}
        assert (world.ids[key] in listed) == (who in visible_to), (who, listed)

    return check


# ------------------------------------------------------------------ the matrix

CASES: list[Case] = [
    # ---------------------------------------------------------------- auth (public)
    Case("POST", "/auth/register", public(202), body=_register_body),
    Case("POST", "/auth/login", public(200), body=_login_body),
    Case("POST", "/auth/refresh", public(200), body=_refresh_body),
    Case("GET", "/auth/google/login", public(302)),
    Case("GET", "/auth/google/callback", public(401), query="code=forged&state=forged"),
    Case("GET", "/.well-known/jwks.json", public(200)),
    Case("POST", "/auth/password-reset", public(202), body={"email": "anyone@example.org"}),
    Case("POST", "/auth/password-reset/confirm", public(200), body=_reset_confirm_body),
    Case("POST", "/auth/verify-email", public(200), body=_verify_email_body),
    Case("POST", "/auth/password-setup", public(200), body=_password_setup_body),
    # ---------------------------------------------------------------- auth (signed in)
    Case("GET", "/auth/me", everyone(200)),
    Case("PATCH", "/auth/me", everyone(200), body={"timezone": "Europe/Madrid"}),
    Case("POST", "/auth/logout", everyone(204)),
    # Every seeded account's address is verified: asking for a link is a rule's refusal.
    Case("POST", "/auth/verify-email/resend", everyone(422)),
    # ---------------------------------------------------------------- auth: sessions, password
    # One's own sessions only: another's session id is missing (404) even to an admin on
    # this route (admins use /admin/users/{id}/sessions).
    Case("GET", "/auth/sessions", everyone(200)),
    Case("DELETE", "/auth/sessions/{own_session_id}", everyone(204), setup=_own_session),
    Case(
        "DELETE",
        "/auth/sessions/{patient_session_id}",
        only(PATIENT, status=204, denied=404),
        setup=_patient_session,
    ),
    Case("DELETE", "/auth/sessions", everyone(200)),
    Case("POST", "/auth/password", everyone(200), body=_password_body),
    # ---------------------------------------------------------------- auth: two-factor (staff)
    Case("GET", "/auth/2fa", only(DOCTOR, OTHER_DOCTOR, ADMIN)),
    Case("POST", "/auth/2fa/enrol", only(DOCTOR, OTHER_DOCTOR, ADMIN)),
    Case("GET", "/auth/2fa/enrol/qr", only(DOCTOR, OTHER_DOCTOR, ADMIN), setup=_enrolled),
    Case(
        "POST",
        "/auth/2fa/confirm",
        only(DOCTOR, OTHER_DOCTOR, ADMIN),
        setup=_enrolled,
        body=_current_code,
    ),
    # Nothing enrolled: nothing to turn off, for those who may.
    Case("DELETE", "/auth/2fa", only(DOCTOR, OTHER_DOCTOR, ADMIN, status=204), body=_code),
    Case(
        "POST",
        "/auth/2fa/verify",
        public(401),
        body={"challenge": "forged-challenge", "code": "123456"},
    ),
    # ---------------------------------------------------------------- admin: accounts
    Case("GET", "/admin/users", only(ADMIN)),
    Case("GET", "/admin/users", only(ADMIN), query="role=doctor&search=doc"),
    Case("PATCH", "/admin/users/{patient_id}", only(ADMIN), body={"is_active": True}),
    Case("PATCH", "/admin/users/{doctor_id}", only(ADMIN), body={"is_active": True}),
    Case("GET", "/admin/users/{patient_id}/sessions", only(ADMIN)),
    Case(
        "DELETE",
        "/admin/users/{patient_id}/sessions/{patient_session_id}",
        only(ADMIN, status=204),
        setup=_patient_session,
    ),
    Case("DELETE", "/admin/users/{patient_id}/sessions", only(ADMIN)),
    # An admin's institution scope (ADR 0026): ``scoped_admin`` (WORLD_SETUP) is an admin
    # of another institution; what they may do is ``SCOPED_CASES``.
    Case(
        "PUT",
        "/admin/users/{scoped_admin_id}/institution-scope",
        only(ADMIN),
        body=_scope_body,
    ),
    Case("DELETE", "/admin/users/{scoped_admin_id}/institution-scope", only(ADMIN)),
    # ---------------------------------------------------------------- specialties
    Case("GET", "/specialties", public(200)),
    Case("POST", "/specialties", only(ADMIN, status=201), body={"name": "Matrix medicine"}),
    Case("PATCH", "/specialties/{specialty_id}", only(ADMIN), body={"description": "Renamed"}),
    # ---------------------------------------------------------------- doctors
    Case("GET", "/doctors", public(200)),
    Case("POST", "/doctors", only(ADMIN, status=201), body=_new_doctor_body),
    Case("GET", "/doctors/{doctor_id}", public(200)),
    Case("PATCH", "/doctors/{doctor_id}", doctor_or_admin(), body={"bio": "Matrix"}),
    Case(
        "PATCH",
        "/doctors/{doctor_id}",
        # A stale If-Match is a failed precondition, for those who may edit at all.
        doctor_or_admin(412),
        body={"bio": "Matrix"},
        headers={"If-Match": '"999"'},
    ),
    # ---------------------------------------------------------------- working hours, slots
    Case("GET", "/doctors/{doctor_id}/working-hours", public(200)),
    Case("PUT", "/doctors/{doctor_id}/working-hours", doctor_or_admin(), body={"days": WEEK}),
    Case("POST", "/doctors/{doctor_id}/time-off", doctor_or_admin(201), body=_on_a_day("time-off")),
    Case(
        "POST",
        "/doctors/{doctor_id}/extra-hours",
        doctor_or_admin(201),
        body=_on_a_day("extra-hours"),
    ),
    Case("GET", "/doctors/{doctor_id}/slots", public(200), query="from=2030-01-08&to=2030-01-09"),
    Case(
        "GET",
        "/doctors/{doctor_id}/slots",
        public(200),
        query="from=2030-01-08&to=2030-01-09&visit_type_id={visit_type_id}",
    ),
    Case(
        "GET",
        "/doctors/{doctor_id}/slots",
        public(200),
        query="from=2030-01-08&to=2030-01-09&institution_id={institution_id}",
    ),
    Case(
        "GET",
        "/slots",
        public(200),
        query="from=2030-01-08&to=2030-01-09&specialty_id={specialty_id}"
        "&institution_id={institution_id}",
    ),
    # ---------------------------------------------------------------- institutions
    Case("GET", "/institutions", public(200)),
    Case("GET", "/institutions/{institution_id}", public(200)),
    Case("GET", "/doctors", public(200), query="institution_id={institution_id}"),
    Case("POST", "/institutions", only(ADMIN, status=201), body=INSTITUTION),
    Case("PATCH", "/institutions/{institution_id}", only(ADMIN), body={"name": "Renamed"}),
    Case(
        "POST",
        "/institutions/{fresh_institution_id}/deactivate",
        only(ADMIN),
        setup=_fresh_institution,
    ),
    Case(
        "POST",
        "/institutions/{fresh_institution_id}/activate",
        only(ADMIN),
        setup=_fresh_institution,
    ),
    Case(
        "PUT",
        "/institutions/{fresh_institution_id}/doctors/{doctor_id}",
        only(ADMIN, status=204),
        setup=_fresh_institution,
    ),
    Case(
        "DELETE",
        "/institutions/{fresh_institution_id}/doctors/{doctor_id}",
        only(ADMIN, status=204),
        setup=_fresh_institution,
    ),
    # ---------------------------------------------------------------- visit types
    Case("GET", "/doctors/{doctor_id}/visit-types", public(200)),
    Case(
        "POST",
        "/doctors/{doctor_id}/visit-types",
        doctor_or_admin(201),
        body=VISIT_TYPE,
    ),
    Case(
        "PUT",
        "/doctors/{doctor_id}/visit-types/{fresh_type_id}",
        doctor_or_admin(),
        body=VISIT_TYPE,
        setup=_fresh_visit_type,
    ),
    Case(
        "DELETE",
        "/doctors/{doctor_id}/visit-types/{fresh_type_id}",
        doctor_or_admin(204),
        setup=_fresh_visit_type,
    ),
    # ---------------------------------------------------------------- patients
    # ``patient`` booked with ``doctor``, so ``doctor`` may read the record. ``doctor``
    # only proposed an appointment to ``other_patient`` (WORLD_SETUP): a doctor's booking
    # alone opens no record, so that one stays closed to them.
    # Staff's search: a doctor finds only the patients in their care.
    Case(
        "GET",
        "/patients",
        only(DOCTOR, OTHER_DOCTOR, ADMIN),
        check=_listed("patient_id", (DOCTOR, ADMIN)),
    ),
    Case("GET", "/patients/{patient_id}", parties()),
    # Walk-ins: only an admin makes an account at the desk, and re-sends its link.
    Case("POST", "/patients", only(ADMIN, status=201), body=_walk_in_body),
    Case(
        "POST",
        "/patients/{walk_in_id}/password-link",
        only(ADMIN, status=202),
        setup=_walk_in,
    ),
    Case(
        "GET",
        "/patients/{other_patient_id}",
        cells(patient=403, other_patient=200, doctor=403, other_doctor=403, admin=200),
    ),
    Case(
        "PATCH",
        "/patients/{patient_id}",
        # Doctors may read a record, never change it.
        cells(patient=200, other_patient=403, doctor=403, other_doctor=403, admin=200),
        body={"emergency_contact_name": "Next of Kin"},
    ),
    # ---------------------------------------------------------------- appointments: reading
    Case(
        "GET",
        "/appointments",
        everyone(200),
        check=_listed("appointment_id", (PATIENT, DOCTOR, ADMIN)),
    ),
    Case(
        "GET",
        "/appointments",
        # A patient lists only their own; a doctor may filter their calendar by patient.
        cells(patient=403, other_patient=200, doctor=200, other_doctor=200, admin=200),
        query="patient_id={other_patient_id}",
    ),
    Case(
        "GET",
        "/appointments",
        # A doctor lists only their own calendar; a patient may filter by doctor.
        cells(patient=200, other_patient=200, doctor=403, other_doctor=200, admin=200),
        query="doctor_id={other_doctor_id}",
    ),
    Case("GET", "/appointments/{appointment_id}", appointment_parties()),
    Case(
        "GET",
        "/appointments/{appointment_id}.ics",
        appointment_parties(),
        route="/appointments/{appointment_ref}",
    ),
    Case("GET", "/appointments/{appointment_id}/calendar.ics", appointment_parties()),
    # ---------------------------------------------------------------- calendar feeds
    # Of one's own calendar: patients and doctors; admins have none (403). Someone
    # else's feed is missing (404). The feed itself (/calendar/{token}.ics, outside
    # /api/v1) takes no credentials: tests/e2e/appointments/test_calendar_feeds.py.
    Case(
        "POST",
        "/calendar-feeds",
        only(PATIENT, OTHER_PATIENT, DOCTOR, OTHER_DOCTOR, status=201),
        body={"label": "Matrix"},
    ),
    Case("GET", "/calendar-feeds", only(PATIENT, OTHER_PATIENT, DOCTOR, OTHER_DOCTOR)),
    Case(
        "POST",
        "/calendar-feeds/{calendar_feed_id}/revoke",
        cells(patient=200, other_patient=404, doctor=404, other_doctor=404, admin=403),
    ),
    # ---------------------------------------------------------------- appointments: changes
    Case(
        "POST",
        "/appointments",
        # Who may book for whom is authorization (403, before any lookup): a patient
        # books for themself, a doctor on their own calendar, an admin for anyone. So
        # the other patient (booking for ``patient``) and the other doctor (booking on
        # ``doctor``'s calendar) are refused with 403, no longer by the state machine.
        cells(patient=201, other_patient=403, doctor=201, other_doctor=403, admin=201),
        body=_booking_body,
    ),
    # Transitions: each call on a fresh appointment of ``patient`` with ``doctor``. The
    # other patient and doctor are no party: to them it does not exist (404, like an
    # unknown id); the appointment's own patient trying a doctor's move is refused by
    # the state machine (422 illegal-transition).
    Case(
        "POST",
        "/appointments/{fresh_id}/approve",
        appointment_parties() | {PATIENT: 422},
        setup=_pending,
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/reject",
        appointment_parties() | {PATIENT: 422},
        body=REASON,
        setup=_pending,
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/cancel",
        appointment_parties(),
        body=REASON,
        setup=_pending,
    ),
    # A proposal (booked by ``doctor`` for ``patient``): the patient, or an admin for
    # them, accepts or declines it; the doctor who made it may not answer it (422) but
    # may withdraw it (cancel), which the patient may not (they decline).
    Case(
        "POST",
        "/appointments/{proposal_id}/accept",
        appointment_parties() | {DOCTOR: 422},
        setup=_proposed,
    ),
    Case(
        "POST",
        "/appointments/{proposal_id}/decline",
        appointment_parties() | {DOCTOR: 422},
        setup=_proposed,
    ),
    Case(
        "POST",
        "/appointments/{proposal_id}/cancel",
        appointment_parties() | {PATIENT: 422},
        body=REASON,
        setup=_proposed,
    ),
    # With If-Match: who may see the appointment is decided first (an outsider gets the
    # 404 of an unknown id, whatever the version), then the precondition: a stale version
    # is 412 for the parties. A weak tag never matches (strong comparison): 412 for
    # anyone signed in, refused before any lookup, so it tells outsiders nothing either.
    Case(
        "POST",
        "/appointments/{fresh_id}/cancel",
        appointment_parties(412),
        body=REASON,
        setup=_pending,
        headers={"If-Match": '"7"'},
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/cancel",
        everyone(412),
        body=REASON,
        setup=_pending,
        headers={"If-Match": 'W/"1"'},
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/check-in",
        appointment_parties() | {PATIENT: 422},
        setup=_approved_then(-timedelta(minutes=10)),
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/complete",
        # Only the appointment's doctor completes a visit: an admin too gets 422.
        appointment_parties() | {PATIENT: 422, ADMIN: 422},
        setup=_approved_then(timedelta(minutes=5)),
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/no-show",
        appointment_parties() | {PATIENT: 422},
        setup=_approved_then(timedelta(minutes=20)),
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/entered-in-error",
        only(ADMIN),
        body=REASON,
        setup=_pending,
    ),
    Case(
        "POST",
        "/appointments/{fresh_id}/reschedule",
        appointment_parties(201),
        body=_reschedule_body,
        setup=_pending,
    ),
    # ---------------------------------------------------------------- recurring series
    # As a single booking: a patient books for themself, a doctor on their own calendar,
    # an admin for anyone; a series is missing (404) to whoever is no party to it.
    Case(
        "POST",
        "/appointments/series/preview",
        cells(patient=200, other_patient=403, doctor=200, other_doctor=403, admin=200),
        body=_series_body,
    ),
    Case(
        "POST",
        "/appointments/series",
        cells(patient=201, other_patient=403, doctor=201, other_doctor=403, admin=201),
        body=_series_body,
    ),
    Case("GET", "/appointments/series/{series_id}", appointment_parties(), setup=_series),
    Case(
        "POST",
        "/appointments/series/{series_id}/cancel",
        appointment_parties(),
        body=_series_cancel_body,
        setup=_series,
    ),
    Case(
        "POST",
        "/appointments/series/{series_id}/reschedule",
        appointment_parties(),
        body=_series_reschedule_body,
        setup=_series,
    ),
    # ---------------------------------------------------------------- notifications
    # Someone else's notification is missing (404) to everyone, an admin included:
    # inboxes are private and their ids are not to be probed.
    Case(
        "GET",
        "/notifications",
        everyone(200),
        check=_listed("notification_id", (PATIENT,)),
    ),
    Case("GET", "/notifications/unread-count", everyone(200)),
    Case("POST", "/notifications/{notification_id}/read", only(PATIENT, denied=404)),
    Case("POST", "/notifications/{notification_id}/unread", only(PATIENT, denied=404)),
    Case("POST", "/notifications/read-all", everyone(200)),
    Case("GET", "/notifications/preferences", everyone(200)),
    Case(
        "PATCH",
        "/notifications/preferences",
        everyone(200),
        body={"kinds": {"appointment.approved": {"email": False}}},
    ),
    Case(
        "DELETE",
        "/notifications/{fresh_notification_id}",
        only(PATIENT, status=204, denied=404),
        setup=_fresh_notification,
    ),
    Case("GET", "/notifications/stream", everyone(200), stream=True),
    # ---------------------------------------------------------------- waitlist
    # Patients' own: staff are refused (403); someone else's entry or offer is missing.
    Case("POST", "/waitlist", only(PATIENT, OTHER_PATIENT, status=201), body=_waitlist_body),
    Case("GET", "/waitlist", only(PATIENT, OTHER_PATIENT)),
    Case(
        "DELETE",
        "/waitlist/{entry_id}",
        cells(patient=204, other_patient=404, doctor=403, other_doctor=403, admin=403),
        setup=_waitlist_offer,
    ),
    Case("GET", "/waitlist/offers", only(PATIENT, OTHER_PATIENT)),
    Case(
        "POST",
        "/waitlist/offers/{offer_id}/accept",
        cells(patient=200, other_patient=404, doctor=403, other_doctor=403, admin=403),
        setup=_waitlist_offer,
    ),
    Case(
        "POST",
        "/waitlist/offers/{offer_id}/decline",
        cells(patient=200, other_patient=404, doctor=403, other_doctor=403, admin=403),
        setup=_waitlist_offer,
    ),
    # ---------------------------------------------------------------- admin: read side
    Case("GET", "/admin/audit", only(ADMIN)),
    Case("GET", "/admin/stats", only(ADMIN)),
    Case("GET", "/admin/reports/appointments.csv", only(ADMIN)),
    Case("GET", "/admin/reports/doctors.csv", only(ADMIN)),
    Case("GET", "/admin/reports/specialties.csv", only(ADMIN)),
    Case("GET", "/admin/reports/institutions.csv", only(ADMIN)),
    Case("GET", "/admin/reports/months.csv", only(ADMIN), query="institution_id={institution_id}"),
    Case("GET", "/admin/reports/months.csv", only(ADMIN)),
    # ---------------------------------------------------------------- service clients
    Case("POST", "/admin/service-clients", only(ADMIN, status=201), body={"name": "Matrix"}),
    Case("GET", "/admin/service-clients", only(ADMIN)),
    Case("POST", "/admin/service-clients/{service_client_id}/revoke", only(ADMIN)),
    # Service clients only: a user's token is no client credential (401 invalid_client
    # for everyone); tests/e2e/identity/test_service_tokens.py covers the clients.
    Case("POST", "/oauth/introspect", public(401), body={"token": "any"}, form=True),
    Case("POST", "/oauth/revoke", public(401), body={"token": "any"}, form=True),
    # ---------------------------------------------------------------- admin: devices
    Case(
        "POST",
        "/admin/devices",
        only(ADMIN, status=201),
        body={"name": "Front door", "location": "Building A"},
    ),
    Case("GET", "/admin/devices", only(ADMIN)),
    # Revoking a revoked device answers it as it is: 200 for every admin call.
    Case("POST", "/admin/devices/{device_id}/revoke", only(ADMIN)),
]

SCOPED_ADMIN = "scoped_admin"


def scoped(status: int) -> dict[str, int]:
    return {SCOPED_ADMIN: status}


#: What ``scoped_admin``, an admin scoped to ``{home_institution_id}``, gets (ADR 0026):
#: their institution's statistics, reports, changes and members; not the matrix's
#: ``{institution_id}``, nor new institutions, nor other admins, nor hours that are not
#: at their institution. The rows that stay global for every admin are pinned too.
SCOPED_CASES: list[Case] = [
    Case("GET", "/admin/stats", scoped(200)),
    Case("GET", "/admin/stats", scoped(200), query="institution_id={home_institution_id}"),
    Case("GET", "/admin/stats", scoped(403), query="institution_id={institution_id}"),
    Case("GET", "/admin/reports/doctors.csv", scoped(200)),
    Case("GET", "/admin/reports/institutions.csv", scoped(200)),
    Case(
        "GET",
        "/admin/reports/months.csv",
        scoped(200),
        query="institution_id={home_institution_id}",
    ),
    Case("GET", "/admin/reports/months.csv", scoped(403), query="institution_id={institution_id}"),
    Case(
        "GET",
        "/admin/reports/specialties.csv",
        scoped(403),
        query="institution_id={institution_id}",
    ),
    # Visits: their institution's, whatever is asked; another institution's refused.
    Case("GET", "/admin/reports/appointments.csv", scoped(200)),
    Case(
        "GET",
        "/admin/reports/appointments.csv",
        scoped(403),
        query="institution_id={institution_id}",
    ),
    Case("GET", "/appointments", scoped(200)),
    Case("GET", "/appointments", scoped(403), query="institution_id={institution_id}"),
    Case("POST", "/institutions", scoped(403), body=INSTITUTION),
    Case("PATCH", "/institutions/{home_institution_id}", scoped(200), body={"name": "Ours"}),
    Case("PATCH", "/institutions/{institution_id}", scoped(403), body={"name": "Theirs"}),
    Case("POST", "/institutions/{home_institution_id}/activate", scoped(200)),
    Case("POST", "/institutions/{institution_id}/deactivate", scoped(403)),
    Case("PUT", "/institutions/{home_institution_id}/doctors/{doctor_id}", scoped(204)),
    Case("PUT", "/institutions/{institution_id}/doctors/{doctor_id}", scoped(403)),
    Case("DELETE", "/institutions/{institution_id}/doctors/{doctor_id}", scoped(403)),
    Case("PUT", "/doctors/{doctor_id}/working-hours", scoped(403), body={"days": WEEK}),
    Case(
        "POST",
        "/doctors/{doctor_id}/extra-hours",
        scoped(403),
        body=_extra_hours_at("institution_id"),
    ),
    Case(
        "POST",
        "/doctors/{doctor_id}/time-off",
        scoped(403),
        body={"starts_at": "2030-02-02", "ends_at": "2030-02-02"},
    ),
    Case(
        "PUT",
        "/admin/users/{admin_id}/institution-scope",
        scoped(403),
        body=_scope_body,
    ),
    Case("DELETE", "/admin/users/{admin_id}/institution-scope", scoped(403)),
    Case("PATCH", "/admin/users/{admin_id}", scoped(403), body={"is_active": True}),
    # Global for every admin still (ADR 0026): accounts of patients and doctors, the
    # audit trail, the list of accounts.
    Case("PATCH", "/admin/users/{patient_id}", scoped(200), body={"is_active": True}),
    Case("GET", "/admin/users", scoped(200)),
    Case("GET", "/admin/audit", scoped(200)),
]

#: Hooks run once the accounts exist: ``async def hook(world) -> None`` adding ids.
WORLD_SETUP: list[Callable[[World], Awaitable[None]]] = []


async def _clinic_ids(world: World) -> None:
    assert world.clinic.specialty_id is not None
    world.ids["specialty_id"] = str(world.clinic.specialty_id)
    world.ids["appointment_id"], _ = await world.appointment()  # pending
    # Proposed by ``doctor`` to ``other_patient``: by itself no access to their record.
    await world.appointment(proposed=True, patient=OTHER_PATIENT)
    world.ids["notification_id"] = await world.notification(PATIENT)


WORLD_SETUP.append(_clinic_ids)


async def _service_client_id(world: World) -> None:
    register = await world.client.container.get(RegisterServiceClient)
    admin = Actor(Role.ADMIN, UUID(world.clinic.id(ADMIN)))
    registered = await register(admin, "Matrix service")
    world.ids["service_client_id"] = registered.client.client_id


WORLD_SETUP.append(_service_client_id)


async def _device_ids(world: World) -> None:
    from hduce.application.devices.registry import RegisterDevice
    from hduce.domain.identity import Actor, Role

    register = await world.clinic.container.get(RegisterDevice)
    admin = Actor(Role.ADMIN, world.clinic.people[ADMIN].id)
    registered = await register(admin, name="Matrix kiosk", location="Room 1")
    world.ids["device_id"] = str(registered.device.id)


WORLD_SETUP.append(_device_ids)


async def _calendar_feed_id(world: World) -> None:
    create = await world.client.container.get(CreateCalendarFeed)
    patient = Actor(Role.PATIENT, UUID(world.clinic.id(PATIENT)))
    world.ids["calendar_feed_id"] = str((await create(patient, "Matrix feed")).feed.id)


WORLD_SETUP.append(_calendar_feed_id)


async def _visit_type_id(world: World) -> None:
    world.ids["visit_type_id"] = await _new_visit_type(world)


WORLD_SETUP.append(_visit_type_id)


async def _institution_id(world: World) -> None:
    world.ids["institution_id"] = await _new_institution(world)


WORLD_SETUP.append(_institution_id)


async def _scoped_admin(world: World) -> None:
    home = await _new_institution(world)
    user = await world.clinic.add_user(SCOPED_ADMIN, Role.ADMIN, admin_institution_id=UUID(home))
    world.ids.update(home_institution_id=home, scoped_admin_id=str(user.id))


WORLD_SETUP.append(_scoped_admin)


@pytest.fixture
def signing_key(tmp_path: Path) -> Path:
    path = tmp_path / "jwt-ed25519.pem"
    path.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def matrix_env(local_oidc: LocalOpenIdProvider, signing_key: Path) -> dict[str, str]:
    """Every optional route on: Google sign-in and the JWKS (EdDSA keys)."""
    return {
        **google_env(local_oidc),
        "HDUCE_JWT_ALGORITHM": "EdDSA",
        "HDUCE_JWT_PRIVATE_KEY_FILE": str(signing_key),
    }


@pytest.fixture
async def matrix_client(
    embedded: Backend, make_client: AppFactory, matrix_env: dict[str, str]
) -> Client:
    """The full app with every optional route on, its clock fixed at ``NOW``, on the
    embedded backend (to run the matrix on both, take ``backend`` instead)."""
    return await make_client(env=matrix_env, backend=embedded, clock=FixedClock(NOW))


@pytest.fixture
async def matrix_world(matrix_client: Client) -> World:
    world = World(await ClinicWorld.open(matrix_client, password=PASSWORD), matrix_client)
    world.ids.update({f"{who}_id": world.clinic.id(who) for who in SIGNED_IN})
    for hook in WORLD_SETUP:
        await hook(world)
    matrix_client.cookies.clear()
    return world


async def _call(world: World, case: Case, who: str) -> int:
    world.clock.set(NOW)
    ids = dict(world.ids)
    if case.setup is not None:
        ids.update(await case.setup(world, who))
    path = case.path.format(**ids)
    url = path if path.startswith("/.well-known") else f"{API}{path}"
    if case.query:
        url = f"{url}?{case.query.format(**ids)}"
    headers = {} if who == ANONYMOUS else bearer((await world.session(who))["access_token"])
    headers.update(case.headers)
    body = case.body
    if callable(body):
        body = await body(world, who)
    world.client.cookies.clear()
    if case.stream:
        status = await response_status(world.client.app, case.method, url, headers)
        assert status < 500, f"{case.id} as {who}: {status}"
        return status
    if case.form:
        response = await world.client.request(case.method, url, headers=headers, data=body)
    else:
        response = await world.client.request(
            case.method, url, headers=headers, json=body if body is not None else None
        )
    assert response.status_code < 500, f"{case.id} as {who}: {response.text}"
    if case.check is not None and response.is_success:
        case.check(world, who, response)
    return response.status_code


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_authorization_matrix(matrix_world: World, case: Case) -> None:
    assert set(case.expected) == set(PRINCIPALS), f"{case.id}: a principal is missing"
    actual = {who: await _call(matrix_world, case, who) for who in PRINCIPALS}
    assert actual == dict(case.expected)


@pytest.mark.parametrize("case", SCOPED_CASES, ids=[case.id for case in SCOPED_CASES])
async def test_an_admin_scoped_to_an_institution(matrix_world: World, case: Case) -> None:
    assert await _call(matrix_world, case, SCOPED_ADMIN) == case.expected[SCOPED_ADMIN]


def test_scoped_case_ids_are_unique() -> None:
    ids = [case.id for case in SCOPED_CASES]
    assert len(ids) == len(set(ids))


_PARAMETER = re.compile(r"\{[^}]*\}")


def _shape(path: str) -> str:
    return _PARAMETER.sub("{}", path)


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def test_every_route_is_in_the_matrix(embedded: Backend, matrix_env: dict[str, str]) -> None:
    app = build_test_app(settings_for(embedded, matrix_env))  # built, never started
    covered = {
        (case.method, _shape(path if path.startswith("/.well-known") else API + path))
        for case in CASES
        for path in [case.route or case.path]
    }
    routes = {
        (method, _shape(route.path))
        for route in app.routes
        if route.path.startswith((API, "/.well-known"))
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"}
    }
    assert len(routes) >= 45  # every controller of api_route_handlers, and the JWKS
    assert routes - covered == set(), "routes without a row in CASES"
    assert covered - routes == set(), "rows in CASES for routes that do not exist"
