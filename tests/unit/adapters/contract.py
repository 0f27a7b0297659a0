"""Contract tests of the ports, reusable by every adapter (memory, SQL, Redis...).

Each ``*Contract`` class holds async tests that only use the port; a test module
subclasses it under a ``Test*`` name and provides the fixtures it asks for:

=========================  ==========================================================
fixture                    used by
=========================  ==========================================================
``uow_factory``            every persistence contract: a ``UnitOfWorkFactory`` over an
                           EMPTY store/database (one per test: totals are asserted)
``outbox``                 ``UnitOfWorkContract``, ``OutboxContract``: the ``Outbox``
                           over the same store as ``uow_factory``
``cache``                  ``CacheContract``
``rate_limiter``           ``RateLimiterContract``
``fanout``                 ``RealtimeFanoutContract``: ``publish`` + ``subscribe(user_id)``
                           returning an async context manager with ``get(timeout)``
``tiny_fanout``            the same with room for 2 waiting messages per subscription
``stream_slots``           ``StreamSlotsContract``: an empty ``StreamSlots``
``refresh_tokens``         ``RefreshTokenStoreContract``: an empty ``RefreshTokenStore``
``denylist``               ``TokenDenylistContract``: an empty ``TokenDenylist``
``advance_time``           cache / rate limiter / denylist: ``async (seconds) -> None``
                           that makes that much time pass for the adapter (move a
                           ``FixedClock``, or sleep for a real server)
``time_now``               refresh tokens / denylist: ``() -> datetime``, the adapter's now
=========================  ==========================================================

Example (PostgreSQL)::

    from tests.unit.adapters.contract import AppointmentRepositoryContract

    class TestPostgresAppointments(AppointmentRepositoryContract):
        @pytest.fixture
        async def uow_factory(self, postgres_database): ...

Time in these tests is far in the future (2030), so nothing here depends on today.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

import pytest

from hduce.application import context
from hduce.application.ports import (
    AccountStanding,
    AppointmentQuery,
    BookingFacts,
    Cache,
    DoctorQuery,
    IdempotencyRecord,
    InstitutionQuery,
    ListedAppointment,
    Outbox,
    OutboxStats,
    Page,
    PageRequest,
    RateLimiter,
    RealtimeFanout,
    RefreshRefused,
    RefreshTokenRecord,
    RefreshTokenStore,
    RelayResult,
    Reused,
    Rotated,
    StreamSlots,
    TokenDenylist,
    UnitOfWork,
    UnitOfWorkFactory,
    UserQuery,
)
from hduce.domain import events
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.devices import Device, DeviceStatus
from hduce.domain.errors import AlreadyExists, Conflicting, NotFound, SlotConflict, StaleVersion
from hduce.domain.events import DomainEvent, UserRegistered
from hduce.domain.identity import Actor, PatientProfile, Role, Sex, User
from hduce.domain.ids import uuid7
from hduce.domain.institutions import Address, Institution, InstitutionKind
from hduce.domain.notifications import Channel, DeliveryStatus, Notification
from hduce.domain.privacy import establishes_care
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    LocalInterval,
    SchedulingPolicy,
    TimeOff,
    TimeSlot,
    WeeklyHours,
    find_conflicts,
)
from hduce.domain.visit_types import Buffers

S = AppointmentStatus

#: "Now" when appointments are booked in these tests.
NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
#: Monday 2030-01-07 09:00 UTC: the first visit of the tests.
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
POLICY = SchedulingPolicy()
ALWAYS_OPEN = DoctorAvailability(
    "UTC", WeeklyHours({day: (LocalInterval(time(0), time(0)),) for day in range(7)})
)


def at(minutes: float = 0, *, hours: float = 0, days: float = 0) -> datetime:
    """An instant relative to ``T0``."""
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def slot(start_minutes: float = 0, length_minutes: float = 30, *, days: float = 0) -> TimeSlot:
    return TimeSlot.of(at(start_minutes, days=days), timedelta(minutes=length_minutes))


# ------------------------------------------------------------------------------ builders


def new_user(
    full_name: str = "Ada Patient",
    *,
    role: Role = Role.PATIENT,
    email: str | None = None,
    created_at: datetime = NOW,
    **fields: Any,
) -> User:
    if email is None:
        email = f"{full_name.split()[0].lower()}-{uuid7().hex[-10:]}@example.org"
    return User(
        id=uuid7(),
        email=email,
        full_name=full_name,
        role=role,
        created_at=created_at,
        **fields,
    )


def new_specialty(name: str = "Cardiology", description: str = "") -> Specialty:
    return Specialty(id=uuid7(), name=name, description=description)


def new_doctor(user: User, specialty: Specialty, **fields: Any) -> Doctor:
    fields.setdefault("licence_number", f"LIC-{uuid7().hex[-12:]}")
    fields.setdefault("timezone", "Europe/Madrid")
    return Doctor(user_id=user.id, specialty_id=specialty.id, **fields)


def book(
    clinic: Clinic,
    when: TimeSlot,
    *,
    patient: User | None = None,
    doctor: Doctor | None = None,
    approve: bool | None = None,
) -> Appointment:
    """A new appointment (PENDING, or APPROVED with ``approve=True``) booked by the admin."""
    return Appointment.book(
        actor=clinic.admin_actor,
        patient_id=(patient or clinic.patient).id,
        doctor_id=(doctor or clinic.doctor).user_id,
        slot=when,
        reason="check-up",
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=(),
        approve=approve,
    )


def propose(clinic: Clinic, when: TimeSlot, *, patient: User | None = None) -> Appointment:
    """A new appointment booked by the doctor: a PROPOSED one the patient answers."""
    return Appointment.book(
        actor=Actor(Role.DOCTOR, clinic.doctor.user_id),
        patient_id=(patient or clinic.patient).id,
        doctor_id=clinic.doctor.user_id,
        slot=when,
        reason="follow-up",
        now=NOW,
        policy=POLICY,
        availability=ALWAYS_OPEN,
        existing=(),
    )


def cancel(appointment: Appointment, clinic: Clinic, now: datetime = NOW) -> None:
    appointment.cancel(actor=clinic.admin_actor, now=now, reason="clinic closed", policy=POLICY)


def user_registered(n: int = 1, aggregate_id: UUID | None = None) -> DomainEvent:
    """Event number ``n`` (its payload's full name says which)."""
    user_id = aggregate_id or uuid7()
    return DomainEvent(
        occurred_at=NOW + timedelta(seconds=n),
        aggregate_id=user_id,
        aggregate_version=1,
        payload=UserRegistered(
            user_id=user_id,
            email=f"user{n}@example.org",
            full_name=f"User {n}",
            role=Role.PATIENT,
            via="password",
        ),
    )


def new_notification(
    recipient: User,
    *,
    channel: Channel = Channel.IN_APP,
    created_at: datetime = NOW,
    dedupe_key: str | None = None,
    title: str = "Appointment approved",
) -> Notification:
    return Notification(
        id=uuid7(),
        recipient_id=recipient.id,
        type=events.APPOINTMENT_APPROVED,
        title=title,
        message="Your appointment is confirmed.",
        channel=channel,
        created_at=created_at,
        dedupe_key=dedupe_key or f"{uuid7()}:{recipient.id}:{channel}",
        metadata={"appointment_id": str(uuid7())},
    )


@dataclass
class Clinic:
    admin: User
    specialty: Specialty
    doctor_user: User
    doctor: Doctor
    other_doctor_user: User
    other_doctor: Doctor
    patient: User
    other_patient: User

    @property
    def admin_actor(self) -> Actor:
        return Actor(Role.ADMIN, self.admin.id)

    @property
    def users(self) -> tuple[User, ...]:
        return (
            self.admin,
            self.doctor_user,
            self.other_doctor_user,
            self.patient,
            self.other_patient,
        )


async def seed_clinic(uow_factory: UnitOfWorkFactory) -> Clinic:
    """An admin, a specialty, two doctors and two patients, committed."""
    clinic = new_clinic()
    async with uow_factory() as uow:
        for user in clinic.users:
            await uow.users.add(user)
        await store_clinic_profiles(uow, clinic)
        await uow.commit()
    return clinic


async def store_clinic_profiles(uow: UnitOfWork, clinic: Clinic) -> None:
    """The clinic's specialty and doctor profiles (its accounts stored already)."""
    await uow.specialties.add(clinic.specialty)
    await uow.doctors.add(clinic.doctor)
    await uow.doctors.add(clinic.other_doctor)


def new_clinic() -> Clinic:
    """``seed_clinic``'s clinic, not stored."""
    admin = new_user("Alan Admin", role=Role.ADMIN)
    specialty = new_specialty()
    doctor_user = new_user("Grace Hopper", role=Role.DOCTOR)
    other_doctor_user = new_user("Barbara Liskov", role=Role.DOCTOR)
    clinic = Clinic(
        admin=admin,
        specialty=specialty,
        doctor_user=doctor_user,
        doctor=new_doctor(doctor_user, specialty),
        other_doctor_user=other_doctor_user,
        other_doctor=new_doctor(other_doctor_user, specialty),
        patient=new_user("Ada Patient"),
        other_patient=new_user("Alan Patient"),
    )
    return clinic


async def store_appointments(uow_factory: UnitOfWorkFactory, *appointments: Appointment) -> None:
    async with uow_factory() as uow:
        for appointment in appointments:
            await uow.appointments.add(appointment)
        await uow.commit()


class Recorder:
    """A publisher for ``relay_batch`` that records, and can fail or be slow."""

    def __init__(self, *, fail_on: int | None = None, delay: float = 0.0) -> None:
        self.events: list[DomainEvent] = []
        self.calls = 0
        self._fail_on = fail_on
        self._delay = delay

    async def __call__(self, event: DomainEvent) -> None:
        self.calls += 1
        if self._delay:
            await asyncio.sleep(self._delay)
        if self._fail_on is not None and self.calls == self._fail_on:
            raise ConnectionError("broker down")
        self.events.append(event)


async def drain(outbox: Outbox) -> list[DomainEvent]:
    recorder = Recorder()
    while (await outbox.relay_batch(100, recorder)).published:
        pass
    return recorder.events


def appointment_fields(appointment: Appointment) -> dict[str, Any]:
    fields = {f.name: getattr(appointment, f.name) for f in dataclasses.fields(appointment)}
    fields.pop("pending_events")
    return fields


# ================================================================================ users


class UserRepositoryContract:
    async def test_add_and_get_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        user = new_user(
            "Ada Lovelace",
            email="Ada@Example.org",
            phone="+34600111222",
            password_hash="argon2$hash",
            google_subject="google-123",
            timezone="Europe/Madrid",
            email_opt_out=True,
            tokens_valid_after=NOW + timedelta(seconds=1),
        )
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
        async with uow_factory() as uow:
            loaded = await uow.users.get(user.id)
            by_email = await uow.users.get_by_email("  ADA@example.ORG ")
            by_subject = await uow.users.get_by_google_subject("google-123")
            assert await uow.users.get(uuid7()) is None
            assert await uow.users.get_by_email("nobody@example.org") is None
            assert await uow.users.get_by_google_subject("nobody") is None
        assert loaded == user
        assert loaded is not None and loaded.email == "ada@example.org"
        assert by_email == user
        assert by_subject == user

    async def test_notification_opt_outs_are_kept_and_cleared(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        opt_outs = frozenset({"email:appointment.approved", "sms:reminder.due"})
        born_with = new_user("Opt Out", notification_opt_outs=opt_outs)
        later = new_user("Opt Later")
        async with uow_factory() as uow:
            await uow.users.add(born_with)
            await uow.users.add(later)
            await uow.commit()
        async with uow_factory() as uow:
            first = await uow.users.get(born_with.id)
            plain = await uow.users.get(later.id)
            assert first is not None and plain is not None
            assert first.notification_opt_outs == opt_outs
            assert plain.notification_opt_outs == frozenset()
            await uow.users.save(dataclasses.replace(first, notification_opt_outs=frozenset()))
            await uow.users.save(dataclasses.replace(plain, notification_opt_outs=opt_outs))
            await uow.commit()
        async with uow_factory() as uow:
            cleared = await uow.users.get(born_with.id)
            set_later = await uow.users.get(later.id)
        assert cleared is not None and cleared.notification_opt_outs == frozenset()
        assert set_later is not None and set_later.notification_opt_outs == opt_outs

    async def test_an_admins_institution_scope_is_kept_and_cleared(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """ADR 0026: NULL for a global admin (the default), else the institution."""
        place = uuid7()
        scoped = new_user("Scoped Admin", role=Role.ADMIN, admin_institution_id=place)
        global_admin = new_user("Global Admin", role=Role.ADMIN)
        async with uow_factory() as uow:
            await uow.users.add(scoped)
            await uow.users.add(global_admin)
            await uow.commit()
        async with uow_factory() as uow:
            first = await uow.users.get(scoped.id)
            plain = await uow.users.get(global_admin.id)
            assert first is not None and plain is not None
            assert first.admin_institution_id == place
            assert plain.admin_institution_id is None
            await uow.users.save(dataclasses.replace(first, admin_institution_id=None))
            await uow.users.save(dataclasses.replace(plain, admin_institution_id=place))
            await uow.commit()
        async with uow_factory() as uow:
            found = await uow.users.get_many([scoped.id, global_admin.id])
        assert found[scoped.id].admin_institution_id is None
        assert found[global_admin.id].admin_institution_id == place

    async def test_get_many_returns_those_that_exist(self, uow_factory: UnitOfWorkFactory) -> None:
        ada, bob = new_user("Ada Many"), new_user("Bob Many")
        async with uow_factory() as uow:
            await uow.users.add(ada)
            await uow.users.add(bob)
            await uow.commit()
        missing = uuid7()
        async with uow_factory() as uow:
            found = await uow.users.get_many([ada.id, missing, bob.id, ada.id])
            assert await uow.users.get_many([]) == {}
        assert found == {ada.id: ada, bob.id: bob}

    async def test_get_many_reads_more_than_one_statement_takes(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # The SQL repository reads at most 128 ids per statement, padding shorter lists.
        users = [new_user(f"Many{index} Reader") for index in range(131)]
        async with uow_factory() as uow:
            for user in users:
                await uow.users.add(user)
            await uow.commit()
        async with uow_factory(read_only=True) as uow:
            found = await uow.users.get_many([user.id for user in users] + [uuid7()])
            three = await uow.users.get_many([users[5].id, users[7].id, users[9].id])
        assert found == {user.id: user for user in users}
        assert three == {user.id: user for user in (users[5], users[7], users[9])}

    async def test_email_is_unique_case_insensitively(self, uow_factory: UnitOfWorkFactory) -> None:
        async with uow_factory() as uow:
            await uow.users.add(new_user(email="dup@example.org"))
            await uow.commit()
        async with uow_factory() as uow:
            with pytest.raises(AlreadyExists):
                await uow.users.add(new_user(email="DUP@Example.ORG"))
        async with uow_factory() as uow:
            await uow.users.add(new_user(email="same-tx@example.org"))
            with pytest.raises(AlreadyExists):
                await uow.users.add(new_user(email="Same-Tx@example.org"))

    async def test_save_updates_and_keeps_uniqueness(self, uow_factory: UnitOfWorkFactory) -> None:
        first, second = new_user("Ada One"), new_user("Bob Two")
        async with uow_factory() as uow:
            await uow.users.add(first)
            await uow.users.add(second)
            await uow.commit()
        async with uow_factory() as uow:
            user = await uow.users.get(first.id)
            assert user is not None
            user.full_name = "Ada Renamed"
            user.is_active = False
            await uow.users.save(user)
            await uow.commit()
        async with uow_factory() as uow:
            loaded = await uow.users.get(first.id)
            assert loaded is not None
            assert (loaded.full_name, loaded.is_active) == ("Ada Renamed", False)
            clash = await uow.users.get(second.id)
            assert clash is not None
            clash.email = first.email
            with pytest.raises(AlreadyExists):
                await uow.users.save(clash)
                await uow.commit()

    async def test_loaded_objects_are_detached_copies(self, uow_factory: UnitOfWorkFactory) -> None:
        user = new_user("Ada Original")
        async with uow_factory() as uow:
            await uow.users.add(user)
            user.full_name = "Changed after add"
            loaded = await uow.users.get(user.id)
            assert loaded is not None
            loaded.full_name = "Changed without save"
            await uow.commit()
        async with uow_factory() as uow:
            stored = await uow.users.get(user.id)
        assert stored is not None and stored.full_name == "Ada Original"

    async def test_list_filters_sorts_and_pages(self, uow_factory: UnitOfWorkFactory) -> None:
        users = [
            new_user("Zoe Patient", email="zoe@example.org", created_at=NOW),
            new_user("Yann Patient", email="yann@example.org", created_at=NOW),
            new_user("Dr Who", email="who@clinic.org", role=Role.DOCTOR, created_at=NOW),
            new_user("Old Timer", email="old@example.org", created_at=NOW - timedelta(days=1)),
            new_user("Gone Away", email="gone@example.org", created_at=NOW, is_active=False),
        ]
        async with uow_factory() as uow:
            for user in users:
                await uow.users.add(user)
            await uow.commit()
        async with uow_factory() as uow:
            everyone = await uow.users.list(UserQuery())
            patients = await uow.users.list(UserQuery(role=Role.PATIENT))
            searched = await uow.users.list(UserQuery(search="PATIENT"))
            by_email = await uow.users.list(UserQuery(search="Clinic.ORG"))
            inactive = await uow.users.list(UserQuery(is_active=False))
            page = await uow.users.list(UserQuery(page=PageRequest(limit=2, offset=1)))
        # created_at first, then email
        assert [u.email for u in everyone.items] == [
            "old@example.org",
            "gone@example.org",
            "who@clinic.org",
            "yann@example.org",
            "zoe@example.org",
        ]
        assert everyone.total == 5
        assert {u.email for u in patients.items} == {
            "old@example.org",
            "gone@example.org",
            "yann@example.org",
            "zoe@example.org",
        }
        assert [u.email for u in searched.items] == ["yann@example.org", "zoe@example.org"]
        assert [u.email for u in by_email.items] == ["who@clinic.org"]
        assert [u.email for u in inactive.items] == ["gone@example.org"]
        assert [u.email for u in page.items] == ["gone@example.org", "who@clinic.org"]
        assert (page.total, page.limit, page.offset) == (5, 2, 1)


# ============================================================================= patients


class PatientRepositoryContract:
    async def test_save_inserts_then_updates(self, uow_factory: UnitOfWorkFactory) -> None:
        user = new_user()
        async with uow_factory() as uow:
            await uow.users.add(user)
            assert await uow.patients.get(user.id) is None
            await uow.patients.save(
                PatientProfile(
                    user_id=user.id,
                    date_of_birth=date(1990, 5, 17),
                    sex=Sex.FEMALE,
                    emergency_contact_name="Bob",
                    emergency_contact_phone="+34600999888",
                )
            )
            await uow.commit()
        async with uow_factory() as uow:
            profile = await uow.patients.get(user.id)
            assert profile is not None
            assert (profile.date_of_birth, profile.sex) == (date(1990, 5, 17), Sex.FEMALE)
            assert profile.emergency_contact_phone == "+34600999888"
            profile.emergency_contact_name = "Carol"
            await uow.patients.save(profile)
            await uow.commit()
        async with uow_factory() as uow:
            updated = await uow.patients.get(user.id)
        assert updated is not None and updated.emergency_contact_name == "Carol"


# ========================================================================== specialties


def new_device(name: str = "Front door", secret: str = "s3cret") -> Device:
    return Device.register(
        device_id=uuid7(),
        name=name,
        location="Building A",
        secret=secret,
        now=NOW,
        registered_by=None,
    )


class DeviceRepositoryContract:
    async def test_round_trip_revocation_and_sorted_list(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        kiosk, reader = new_device("Kiosk", "k"), new_device("entrance reader", "r")
        async with uow_factory() as uow:
            await uow.devices.add(reader)
            await uow.devices.add(kiosk)
            await uow.commit()
        async with uow_factory() as uow:
            stored = await uow.devices.get(kiosk.id)
            assert stored is not None and stored.accepts("k") and not stored.accepts("r")
            assert await uow.devices.get(uuid7()) is None
            assert stored.revoke(NOW + timedelta(minutes=1))
            await uow.devices.save(stored)
            await uow.commit()
        async with uow_factory() as uow:
            page = await uow.devices.list(PageRequest(limit=10))
            revoked = await uow.devices.get(kiosk.id)
        assert [d.name for d in page.items] == ["entrance reader", "Kiosk"]  # case aside
        assert page.total == 2
        assert revoked is not None and revoked.revoked_at == NOW + timedelta(minutes=1)
        assert not revoked.accepts("k")
        assert revoked.status(NOW, timedelta(minutes=2)) is DeviceStatus.REVOKED

    async def test_last_seen_only_moves_forward(self, uow_factory: UnitOfWorkFactory) -> None:
        device = new_device()
        async with uow_factory() as uow:
            await uow.devices.add(device)
            await uow.commit()
        for at in (NOW + timedelta(minutes=5), NOW + timedelta(minutes=2)):
            async with uow_factory() as uow:
                await uow.devices.record_seen(device.id, at)
                await uow.commit()
        async with uow_factory() as uow:
            seen = await uow.devices.get(device.id)
            assert seen is not None and seen.last_seen_at == NOW + timedelta(minutes=5)
            # Saving the device (a revocation) leaves last-seen to record_seen.
            seen.last_seen_at = None
            seen.revoke(NOW + timedelta(minutes=6))
            await uow.devices.save(seen)
            await uow.commit()
        async with uow_factory() as uow:
            again = await uow.devices.get(device.id)
        assert again is not None and again.last_seen_at == NOW + timedelta(minutes=5)
        assert again.is_revoked
        with pytest.raises(NotFound):
            async with uow_factory() as uow:
                await uow.devices.save(new_device())

    async def test_appointments_are_found_by_check_in_code(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        first, second = book(clinic, slot(0)), book(clinic, slot(60))
        await store_appointments(uow_factory, first, second)
        assert first.check_in_code and first.check_in_code != second.check_in_code
        async with uow_factory() as uow:
            found = await uow.appointments.get_by_check_in_code(first.check_in_code)
            missing = await uow.appointments.get_by_check_in_code("ZZZZZZZZ")
        assert found is not None and found.id == first.id
        assert found.check_in_code == first.check_in_code
        assert missing is None


class SpecialtyRepositoryContract:
    async def test_round_trip_and_sorted_list(self, uow_factory: UnitOfWorkFactory) -> None:
        cardio = new_specialty("Cardiology", "Heart")
        derma = new_specialty("dermatology")
        async with uow_factory() as uow:
            await uow.specialties.add(derma)
            await uow.specialties.add(cardio)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.specialties.get(cardio.id) == cardio
            assert await uow.specialties.get(uuid7()) is None
            listed = await uow.specialties.list()
        assert [s.name for s in listed] == ["Cardiology", "dermatology"]

    async def test_name_is_unique_case_insensitively(self, uow_factory: UnitOfWorkFactory) -> None:
        first = new_specialty("Cardiology")
        other = new_specialty("Neurology")
        async with uow_factory() as uow:
            await uow.specialties.add(first)
            await uow.specialties.add(other)
            await uow.commit()
        async with uow_factory() as uow:
            with pytest.raises(AlreadyExists):
                await uow.specialties.add(new_specialty("CARDIOLOGY"))
        async with uow_factory() as uow:
            renamed = await uow.specialties.get(other.id)
            assert renamed is not None
            renamed.name = "cardiology"
            with pytest.raises(AlreadyExists):
                await uow.specialties.save(renamed)
                await uow.commit()
        async with uow_factory() as uow:
            fine = await uow.specialties.get(other.id)
            assert fine is not None
            fine.description = "Brain"
            await uow.specialties.save(fine)
            await uow.commit()
        async with uow_factory() as uow:
            loaded = await uow.specialties.get(other.id)
        assert loaded is not None and (loaded.name, loaded.description) == ("Neurology", "Brain")


# ============================================================================== doctors


class DoctorRepositoryContract:
    async def test_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        async with uow_factory() as uow:
            loaded = await uow.doctors.get(clinic.doctor.id)
            assert await uow.doctors.get(clinic.patient.id) is None
            assert loaded == clinic.doctor
            assert loaded is not None
            loaded.consultation_fee = Decimal("45.50")
            loaded.visit_minutes = 20
            loaded.bio = "Compilers"
            await uow.doctors.save(loaded)
            await uow.commit()
        async with uow_factory() as uow:
            updated = await uow.doctors.get(clinic.doctor.id)
        assert updated is not None
        assert (updated.consultation_fee, updated.visit_minutes, updated.bio) == (
            Decimal("45.50"),
            20,
            "Compilers",
        )
        assert updated.timezone == "Europe/Madrid"

    async def test_licence_number_is_unique(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        newcomer = new_user("Edsger Dijkstra", role=Role.DOCTOR)
        async with uow_factory() as uow:
            await uow.users.add(newcomer)
            with pytest.raises(AlreadyExists):
                await uow.doctors.add(
                    new_doctor(
                        newcomer, clinic.specialty, licence_number=clinic.doctor.licence_number
                    )
                )

    async def test_list_filters_by_specialty_and_name(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)  # Grace Hopper, Barbara Liskov: cardiology
        neuro = new_specialty("Neurology")
        alan = new_user("Alan Turing", role=Role.DOCTOR)
        async with uow_factory() as uow:
            await uow.specialties.add(neuro)
            await uow.users.add(alan)
            await uow.doctors.add(new_doctor(alan, neuro))
            await uow.commit()
        async with uow_factory() as uow:
            everyone = await uow.doctors.list(DoctorQuery())
            cardio = await uow.doctors.list(DoctorQuery(specialty_id=clinic.specialty.id))
            named = await uow.doctors.list(DoctorQuery(name="HOPP"))
            none = await uow.doctors.list(DoctorQuery(specialty_id=neuro.id, name="grace"))
            page = await uow.doctors.list(DoctorQuery(page=PageRequest(limit=1, offset=1)))
        # sorted by the doctor's name
        assert [d.id for d in everyone.items] == [alan.id, clinic.other_doctor.id, clinic.doctor.id]
        assert everyone.total == 3
        assert [d.id for d in cardio.items] == [clinic.other_doctor.id, clinic.doctor.id]
        assert [d.id for d in named.items] == [clinic.doctor.id]
        assert (list(none.items), none.total) == ([], 0)
        assert [d.id for d in page.items] == [clinic.other_doctor.id]
        assert page.total == 3


# ========================================================================= availability


WEEKLY = WeeklyHours(
    {
        0: (LocalInterval(time(9), time(13)), LocalInterval(time(15), time(19))),
        2: (LocalInterval(time(8), time(14)),),
    }
)


class AvailabilityRepositoryContract:
    async def test_default_is_empty_in_the_doctors_timezone(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        async with uow_factory() as uow:
            availability = await uow.availability.get(clinic.doctor.id)
        assert availability == DoctorAvailability("Europe/Madrid")

    async def test_unknown_doctor_is_not_found(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        async with uow_factory() as uow:
            with pytest.raises(NotFound):
                await uow.availability.get(clinic.patient.id)
            with pytest.raises(NotFound):
                await uow.availability.replace_weekly(uuid7(), WEEKLY)

    async def test_weekly_hours_are_replaced(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        async with uow_factory() as uow:
            await uow.availability.replace_weekly(clinic.doctor.id, WeeklyHours({}))
            await uow.availability.replace_weekly(clinic.doctor.id, WEEKLY)
            await uow.commit()
        async with uow_factory() as uow:
            loaded = await uow.availability.get(clinic.doctor.id)
            other = await uow.availability.get(clinic.other_doctor.id)
        assert loaded.weekly == WEEKLY
        assert loaded.timezone == "Europe/Madrid"
        assert other.weekly == WeeklyHours()
        replacement = WeeklyHours({4: (LocalInterval(time(10), time(12)),)})
        async with uow_factory() as uow:
            await uow.availability.replace_weekly(clinic.doctor.id, replacement)
            await uow.commit()
        async with uow_factory() as uow:
            assert (await uow.availability.get(clinic.doctor.id)).weekly == replacement

    async def test_time_off_and_extra_hours_by_window(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        holiday = TimeOff(TimeSlot(at(days=0), at(days=2)), "conference")
        later = TimeOff(TimeSlot(at(days=30), at(days=31)), "holiday")
        saturday = ExtraHours(date(2030, 1, 12), LocalInterval(time(9), time(12)))
        far_saturday = ExtraHours(date(2030, 3, 2), LocalInterval(time(9), time(12)))
        async with uow_factory() as uow:
            ids = {
                await uow.availability.add_time_off(clinic.doctor.id, holiday),
                await uow.availability.add_time_off(clinic.doctor.id, later),
                await uow.availability.add_extra_hours(clinic.doctor.id, saturday),
                await uow.availability.add_extra_hours(clinic.doctor.id, far_saturday),
                await uow.availability.add_time_off(
                    clinic.other_doctor.id, TimeOff(TimeSlot(at(), at(hours=1)))
                ),
            }
            await uow.commit()
        assert len(ids) == 5
        first_week = TimeSlot(at(days=-1), at(days=6))  # Sunday 6 Jan .. Sunday 13 Jan
        async with uow_factory() as uow:
            everything = await uow.availability.get(clinic.doctor.id)
            windowed = await uow.availability.get(clinic.doctor.id, first_week)
            nothing = await uow.availability.get(
                clinic.doctor.id, TimeSlot(at(days=10), at(days=11))
            )
        assert set(everything.time_off) == {holiday, later}
        assert set(everything.extra_hours) == {saturday, far_saturday}
        assert windowed.time_off == (holiday,)
        assert windowed.extra_hours == (saturday,)
        assert (nothing.time_off, nothing.extra_hours) == ((), ())

    async def test_for_booking_reads_the_patient_the_doctor_and_the_hours_in_the_window(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        holiday = TimeOff(TimeSlot(at(days=0), at(days=2)), "conference")
        later = TimeOff(TimeSlot(at(days=30), at(days=31)), "holiday")
        saturday = ExtraHours(date(2030, 1, 12), LocalInterval(time(9), time(12)))
        far_saturday = ExtraHours(date(2030, 3, 2), LocalInterval(time(9), time(12)))
        verified = new_user("Vera Verified", email_verified_at=NOW)
        async with uow_factory() as uow:
            await uow.users.add(verified)
            await uow.availability.replace_weekly(clinic.doctor.id, WEEKLY)
            await uow.availability.add_time_off(clinic.doctor.id, holiday)
            await uow.availability.add_time_off(clinic.doctor.id, later)
            await uow.availability.add_extra_hours(clinic.doctor.id, saturday)
            await uow.availability.add_extra_hours(clinic.doctor.id, far_saturday)
            await uow.commit()
        first_week = TimeSlot(at(days=-1), at(days=6))
        async with uow_factory() as uow:
            facts = await uow.availability.for_booking(clinic.doctor.id, verified.id, first_week)
            unverified = await uow.availability.for_booking(
                clinic.doctor.id, clinic.patient.id, first_week
            )
            doctor_as_patient = await uow.availability.for_booking(
                clinic.other_doctor.id, clinic.doctor.id, first_week
            )
            strangers = await uow.availability.for_booking(uuid7(), uuid7(), first_week)
        assert facts.patient == AccountStanding(Role.PATIENT, True, True)
        assert unverified.patient == AccountStanding(Role.PATIENT, True, False)
        assert doctor_as_patient.patient == AccountStanding(Role.DOCTOR, True, False)
        assert facts.visit_length == clinic.doctor.visit_length
        assert facts.availability == DoctorAvailability(
            "Europe/Madrid", WEEKLY, extra_hours=(saturday,), time_off=(holiday,)
        )
        assert facts.availability == await _availability(uow_factory, clinic, first_week)
        assert doctor_as_patient.availability == DoctorAvailability("Europe/Madrid")
        assert strangers == BookingFacts(patient=None, visit_length=None, availability=None)

    async def test_for_booking_without_the_visit_length_of_an_inactive_doctor(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        async with uow_factory() as uow:
            for user_id in (clinic.doctor.id, clinic.patient.id):
                account = await uow.users.get(user_id)
                assert account is not None
                account.is_active = False
                await uow.users.save(account)
            await uow.commit()
        async with uow_factory() as uow:
            facts = await uow.availability.for_booking(
                clinic.doctor.id, clinic.patient.id, TimeSlot(at(), at(hours=8))
            )
        assert facts.patient == AccountStanding(Role.PATIENT, False, False)
        assert facts.visit_length is None
        assert facts.availability == DoctorAvailability("Europe/Madrid")


async def _availability(
    uow_factory: UnitOfWorkFactory, clinic: Clinic, window: TimeSlot
) -> DoctorAvailability:
    async with uow_factory() as uow:
        return await uow.availability.get(clinic.doctor.id, window)


# ========================================================================= institutions


def new_institution(name: str = "Hospital Norte", **fields: Any) -> Institution:
    fields.setdefault("kind", InstitutionKind.HOSPITAL)
    fields.setdefault("timezone", "Europe/Madrid")
    fields.setdefault(
        "address",
        Address(line1="Calle Mayor 1", city="Madrid", country="ES", postal_code="28013"),
    )
    return Institution(id=uuid7(), name=name, **fields)


class InstitutionRepositoryContract:
    async def test_add_get_list_and_save(self, uow_factory: UnitOfWorkFactory) -> None:
        north = new_institution("Hospital Norte")
        south = new_institution(
            "Clínica Sur",
            kind=InstitutionKind.CLINIC,
            timezone="Atlantic/Canary",
            address=Address(
                line1="Av. Marítima 3", line2="2º", city="Las Palmas", country="ES", region="GC"
            ),
        )
        async with uow_factory() as uow:
            await uow.institutions.add(north)
            await uow.institutions.add(south)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.institutions.get(south.id) == south
            assert await uow.institutions.get(uuid7()) is None
            assert await uow.institutions.get_many([north.id, uuid7()]) == {north.id: north}
            listed = await uow.institutions.list(InstitutionQuery())
            assert [i.id for i in listed.items] == [south.id, north.id]  # by name
            assert listed.total == 2
            named = await uow.institutions.list(InstitutionQuery(name="norte"))
            assert [i.id for i in named.items] == [north.id]
            only = await uow.institutions.list(InstitutionQuery(ids=frozenset({south.id})))
            assert [i.id for i in only.items] == [south.id]
        closed = replace(north, is_active=False, version=2)
        async with uow_factory() as uow:
            await uow.institutions.save(closed, expected_version=1)
            await uow.commit()
        async with uow_factory() as uow:
            with pytest.raises(StaleVersion):
                await uow.institutions.save(closed, expected_version=1)
            with pytest.raises(NotFound):
                await uow.institutions.save(new_institution(), expected_version=1)
            assert await uow.institutions.get(north.id) == closed
            active = await uow.institutions.list(InstitutionQuery(is_active=True))
            assert [i.id for i in active.items] == [south.id]

    async def test_members_and_the_doctor_search(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        north, south = new_institution("North"), new_institution("South")
        async with uow_factory() as uow:
            await uow.institutions.add(north)
            await uow.institutions.add(south)
            assert await uow.institutions.add_member(north.id, clinic.doctor.id)
            assert not await uow.institutions.add_member(north.id, clinic.doctor.id)
            assert await uow.institutions.add_member(south.id, clinic.doctor.id)
            assert await uow.institutions.add_member(south.id, clinic.other_doctor.id)
            with pytest.raises(NotFound):
                await uow.institutions.add_member(uuid7(), clinic.doctor.id)
            with pytest.raises(NotFound):
                await uow.institutions.add_member(north.id, clinic.patient.id)
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.institutions.institutions_of(clinic.doctor.id)) == sorted(
                [north.id, south.id], key=lambda i: i.bytes
            )
            at_north = await uow.doctors.list(DoctorQuery(institution_id=north.id))
            at_south = await uow.doctors.list(DoctorQuery(institution_id=south.id))
            assert [d.user_id for d in at_north.items] == [clinic.doctor.id]
            assert {d.user_id for d in at_south.items} == {
                clinic.doctor.id,
                clinic.other_doctor.id,
            }
            assert await uow.institutions.remove_member(south.id, clinic.doctor.id)
            assert not await uow.institutions.remove_member(south.id, clinic.doctor.id)
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.institutions.institutions_of(clinic.doctor.id)) == [north.id]
            at_south = await uow.doctors.list(DoctorQuery(institution_id=south.id))
            assert [d.user_id for d in at_south.items] == [clinic.other_doctor.id]

    async def test_hours_and_visits_keep_their_institution(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        north = new_institution("North", timezone="UTC")
        weekly = WeeklyHours(
            {
                0: (
                    LocalInterval(time(8), time(12), institution_id=north.id),
                    LocalInterval(time(13), time(15)),
                )
            }
        )
        saturday = ExtraHours(
            date(2030, 1, 12), LocalInterval(time(9), time(12), institution_id=north.id)
        )
        async with uow_factory() as uow:
            await uow.institutions.add(north)
            await uow.availability.lock(clinic.doctor.id)
            await uow.availability.replace_weekly(clinic.doctor.id, weekly)
            await uow.availability.add_extra_hours(clinic.doctor.id, saturday)
            await uow.commit()
        async with uow_factory() as uow:
            with pytest.raises(NotFound):
                await uow.availability.lock(clinic.patient.id)
            loaded = await uow.availability.get(clinic.doctor.id)
        assert [i.institution_id for i in loaded.weekly.for_weekday(0)] == [north.id, None]
        assert [e.interval.institution_id for e in loaded.extra_hours] == [north.id]
        availability = replace(loaded, timezone="UTC")
        at_north = Appointment.book(
            actor=clinic.admin_actor,
            patient_id=clinic.patient.id,
            doctor_id=clinic.doctor.id,
            slot=TimeSlot(T0, T0 + timedelta(minutes=30)),  # Monday 09:00 UTC
            reason="",
            now=NOW,
            policy=POLICY,
            availability=availability,
            existing=(),
        )
        unassigned = book(clinic, slot(5 * 60))  # Monday 14:00 UTC
        assert at_north.institution_id == north.id
        await store_appointments(uow_factory, at_north, unassigned)
        async with uow_factory() as uow:
            stored = await uow.appointments.get(at_north.id)
            other = await uow.appointments.get(unassigned.id)
        assert stored is not None and stored.institution_id == north.id
        assert other is not None and other.institution_id is None


# ========================================================================= appointments


class AppointmentRepositoryContract:
    async def test_add_and_get_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        appointment = book(clinic, slot(0))
        await store_appointments(uow_factory, appointment)
        async with uow_factory() as uow:
            loaded = await uow.appointments.get(appointment.id)
            assert await uow.appointments.get(uuid7()) is None
        assert loaded is not None
        assert appointment_fields(loaded) == appointment_fields(appointment)
        assert loaded.status is S.PENDING and loaded.version == 1
        assert [h.to_status for h in loaded.history] == [S.PENDING]
        assert loaded.pending_events == []

    async def test_overlap_for_the_doctor_or_the_patient_conflicts(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        first = book(clinic, slot(0, 60))  # patient with doctor, 09:00-10:00
        second = book(clinic, slot(60, 60), patient=clinic.other_patient)  # 10:00-11:00
        await store_appointments(uow_factory, first, second)
        same_doctor = book(clinic, slot(30), patient=clinic.other_patient)  # 09:30 for doctor
        same_patient = book(clinic, slot(15), doctor=clinic.other_doctor)  # 09:15 for patient
        both = book(clinic, slot(45, 30), patient=clinic.other_patient)  # doctor: first and second
        for candidate, expected in (
            (same_doctor, [first]),
            (same_patient, [first]),
            (both, [first, second]),
        ):
            async with uow_factory() as uow:
                with pytest.raises(SlotConflict) as refused:
                    await uow.appointments.add(candidate)
                    await uow.commit()
            assert set(refused.value.conflicting_ids) == {a.id for a in expected}
            # Whose each one is, so that a caller is told only the ids that are theirs.
            assert set(refused.value.conflicts) == {
                Conflicting(a.id, a.patient_id, a.doctor_id) for a in expected
            }
        async with uow_factory() as uow:
            assert (await uow.appointments.list(AppointmentQuery())).total == 2

    async def test_touching_and_terminal_appointments_do_not_conflict(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        first = book(clinic, slot(0))
        cancelled = book(clinic, slot(60))
        cancel(cancelled, clinic)
        await store_appointments(uow_factory, first, cancelled)
        touching_before = book(clinic, slot(-30))
        touching_after = book(clinic, slot(30))
        over_cancelled = book(clinic, slot(60))
        await store_appointments(uow_factory, touching_before, touching_after, over_cancelled)
        async with uow_factory() as uow:
            assert (await uow.appointments.list(AppointmentQuery())).total == 5

    async def test_save_checks_the_version_and_appends_history(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        appointment = book(clinic, slot(0))
        await store_appointments(uow_factory, appointment)
        async with uow_factory() as uow:
            loaded = await uow.appointments.get(appointment.id, for_update=True)
            assert loaded is not None
            before = loaded.version
            loaded.approve(actor=clinic.admin_actor, now=NOW, existing=())
            await uow.appointments.save(loaded, expected_version=before)
            await uow.commit()
        async with uow_factory() as uow:
            approved = await uow.appointments.get(appointment.id)
            assert approved is not None
            assert (approved.status, approved.version) == (S.APPROVED, 2)
            assert [(h.from_status, h.to_status) for h in approved.history] == [
                (None, S.PENDING),
                (S.PENDING, S.APPROVED),
            ]
            assert approved.history[1].actor_id == clinic.admin.id
            cancel(approved, clinic)
            with pytest.raises(StaleVersion) as stale:
                await uow.appointments.save(approved, expected_version=1)
            assert stale.value.actual == 2
        async with uow_factory() as uow:
            unchanged = await uow.appointments.get(appointment.id)
        assert unchanged is not None and unchanged.status is S.APPROVED

    async def test_concurrent_updates_one_is_stale(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        appointment = book(clinic, slot(0))
        await store_appointments(uow_factory, appointment)
        async with uow_factory() as late:
            stale_copy = await late.appointments.get(appointment.id)
            assert stale_copy is not None
            async with uow_factory() as early:
                fresh = await early.appointments.get(appointment.id)
                assert fresh is not None
                fresh.approve(actor=clinic.admin_actor, now=NOW, existing=())
                await early.appointments.save(fresh, expected_version=1)
                await early.commit()
            stale_copy.reject(actor=clinic.admin_actor, now=NOW, reason="no")
            with pytest.raises(StaleVersion):
                await late.appointments.save(stale_copy, expected_version=1)
                await late.commit()
        async with uow_factory() as uow:
            final = await uow.appointments.get(appointment.id)
        assert final is not None and final.status is S.APPROVED

    async def test_save_of_an_occupying_status_rechecks_overlaps(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        # A cancelled appointment cannot come back, so re-occupation happens only through
        # storage; the repository still refuses to store two occupying rows that overlap.
        first = book(clinic, slot(0))
        await store_appointments(uow_factory, first)
        async with uow_factory() as uow:
            moved = book(clinic, slot(60), patient=clinic.other_patient)
            await uow.appointments.add(moved)
            await uow.commit()
        async with uow_factory() as uow:
            loaded = await uow.appointments.get(moved.id)
            assert loaded is not None
            loaded.slot = slot(15)  # now overlapping ``first`` for the doctor
            with pytest.raises(SlotConflict) as refused:
                await uow.appointments.save(loaded, expected_version=loaded.version)
                await uow.commit()
        assert refused.value.conflicting_ids == (first.id,)

    async def test_occupying_overlapping_and_busy_slots(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        doctors = book(clinic, slot(60), patient=clinic.other_patient)  # 10:00 doctor
        patients = book(clinic, slot(0), doctor=clinic.other_doctor)  # 09:00 patient
        unrelated = book(clinic, slot(30), patient=clinic.other_patient, doctor=clinic.other_doctor)
        cancelled = book(clinic, slot(120))
        cancel(cancelled, clinic)
        approved = book(clinic, slot(150), approve=True)  # 11:30 doctor+patient
        elsewhere = book(clinic, slot(0, days=1))
        await store_appointments(
            uow_factory, doctors, patients, unrelated, cancelled, approved, elsewhere
        )
        window = TimeSlot(at(0), at(180))
        async with uow_factory() as uow:
            found = await uow.appointments.occupying_overlapping(
                window, doctor_id=clinic.doctor.id, patient_id=clinic.patient.id
            )
            busy = await uow.appointments.busy_slots(clinic.doctor.id, window)
            touching = await uow.appointments.busy_slots(clinic.doctor.id, TimeSlot(at(0), at(60)))
        assert [a.id for a in found] == [patients.id, doctors.id, approved.id]
        assert list(busy) == [slot(60), slot(150)]
        assert list(touching) == []

    async def test_list_filters_sorts_and_pages(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        a = book(clinic, slot(0))
        b = book(clinic, slot(60), approve=True)
        c = book(clinic, slot(0), patient=clinic.other_patient, doctor=clinic.other_doctor)
        d = book(clinic, slot(0, days=1), patient=clinic.other_patient)
        cancel(d, clinic)
        await store_appointments(uow_factory, d, c, b, a)
        async with uow_factory() as uow:
            everything = await uow.appointments.list(AppointmentQuery())
            mine = await uow.appointments.list(AppointmentQuery(patient_id=clinic.patient.id))
            doctor = await uow.appointments.list(AppointmentQuery(doctor_id=clinic.doctor.id))
            occupying = await uow.appointments.list(
                AppointmentQuery(statuses=frozenset({S.PENDING, S.APPROVED}))
            )
            window = await uow.appointments.list(
                AppointmentQuery(starts_from=at(0), starts_before=at(60))
            )
            page = await uow.appointments.list(
                AppointmentQuery(page=PageRequest(limit=2, offset=2))
            )
        same_start = sorted([a.id, c.id])
        assert [x.id for x in everything.items] == [*same_start, b.id, d.id]
        assert everything.total == 4
        assert [x.id for x in mine.items] == [a.id, b.id]
        assert [x.id for x in doctor.items] == [a.id, b.id, d.id]
        assert [x.id for x in occupying.items] == [*same_start, b.id]
        assert [x.id for x in window.items] == same_start
        assert [x.id for x in page.items] == [b.id, d.id]
        assert (page.total, page.limit, page.offset) == (4, 2, 2)

    async def test_listed_pages_show_what_the_aggregates_show(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``list_listed`` (the read model of ``GET /appointments``) gives the page of
        ``list``, each appointment as its aggregate reads: every field, the buffers,
        the history with its reasons, the total and the bounds."""
        clinic = await seed_clinic(uow_factory)
        north = new_institution()
        async with uow_factory() as uow:
            await uow.institutions.add(north)
            await uow.commit()
        doctor = Actor(Role.DOCTOR, clinic.doctor.user_id)
        buffered = book(clinic, slot(0))
        buffered.buffers = Buffers(timedelta(minutes=10), timedelta(minutes=5))
        buffered.institution_id = north.id
        completed = book(clinic, slot(60), approve=True)
        completed.complete(actor=doctor, now=at(90), notes="Rest and fluids")
        rejected = book(clinic, slot(120))
        rejected.reject(actor=doctor, now=NOW, reason="Please see a specialist first")
        cancelled = book(clinic, slot(0), patient=clinic.other_patient, doctor=clinic.other_doctor)
        cancel(cancelled, clinic)
        bare = book(clinic, slot(0, days=1), patient=clinic.other_patient)
        await store_appointments(uow_factory, bare, cancelled, rejected, completed, buffered)

        queries = [
            AppointmentQuery(),
            AppointmentQuery(patient_id=clinic.patient.id),
            AppointmentQuery(doctor_id=clinic.doctor.id, statuses=frozenset({S.COMPLETED})),
            AppointmentQuery(institution_id=north.id),
            AppointmentQuery(starts_from=at(0), starts_before=at(61)),
            AppointmentQuery(page=PageRequest(limit=2, offset=1)),
            AppointmentQuery(page=PageRequest(limit=2, offset=10)),  # past the end
            AppointmentQuery(patient_id=uuid7()),  # nothing
            AppointmentQuery(page=PageRequest(limit=0, offset=0)),  # the total only
        ]
        async with uow_factory(read_only=True) as uow:
            for query in queries:
                page = await uow.appointments.list(query)
                listed = await uow.appointments.list_listed(query)
                assert listed == Page(
                    [ListedAppointment.of(a) for a in page.items],
                    page.total,
                    page.limit,
                    page.offset,
                ), query
        async with uow_factory(read_only=True) as uow:
            everything = await uow.appointments.list_listed(AppointmentQuery())
        assert everything.total == 5
        by_id = {item.id: item for item in everything.items}
        assert (
            by_id[buffered.id].buffer_before_minutes,
            by_id[buffered.id].buffer_after_minutes,
        ) == (
            10,
            5,
        )
        assert by_id[buffered.id].institution_id == north.id
        assert by_id[completed.id].doctor_notes == "Rest and fluids"
        assert [line.to_status for line in by_id[completed.id].history] == [
            S.APPROVED,
            S.COMPLETED,
        ]
        assert by_id[rejected.id].history[-1].reason == "Please see a specialist first"
        assert by_id[cancelled.id].cancelled_by is Role.ADMIN
        assert by_id[bare.id].history[0].from_status is None

    async def test_reminder_and_overdue_queries(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        pending_started = book(clinic, slot(0))
        approved_early = book(clinic, slot(60), approve=True)
        approved_late = book(clinic, slot(120), approve=True)
        cancelled = book(clinic, slot(180), approve=True)
        cancel(cancelled, clinic)
        pending_future = book(clinic, slot(240))
        proposal_started = propose(clinic, slot(30))  # unanswered too: the sweep's
        await store_appointments(
            uow_factory,
            pending_started,
            approved_early,
            approved_late,
            cancelled,
            pending_future,
            proposal_started,
        )
        async with uow_factory() as uow:
            due = await uow.appointments.approved_starting_between(at(60), at(120))
            due_all = await uow.appointments.approved_starting_between(at(0), at(240))
            overdue = await uow.appointments.overdue(at(200), approved_before=at(90))
        assert [x.id for x in due] == [approved_early.id]  # start <= starts_at < end
        assert [x.id for x in due_all] == [approved_early.id, approved_late.id]
        assert [x.id for x in overdue] == [
            pending_started.id,
            proposal_started.id,
            approved_early.id,
        ]

    async def test_a_care_relationship_needs_the_patients_or_staffs_consent(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Each case is one appointment of ``doctor`` (an hour apart) with a patient of its
        own; the store answers what ``hduce.domain.privacy.establishes_care`` says of it."""
        clinic = await seed_clinic(uow_factory)
        patients = [new_user(f"Patient {n}") for n in range(8)]
        async with uow_factory() as uow:
            for user in patients:
                await uow.users.add(user)
            await uow.commit()
        as_patient = [Actor(Role.PATIENT, user.id) for user in patients]

        proposed = propose(clinic, slot(0), patient=patients[0])
        accepted = propose(clinic, slot(60), patient=patients[1])
        accepted.accept(actor=as_patient[1], now=NOW)
        declined = propose(clinic, slot(120), patient=patients[2])
        declined.decline(actor=as_patient[2], now=NOW)
        requested = Appointment.book(
            actor=as_patient[3],
            patient_id=patients[3].id,
            doctor_id=clinic.doctor.user_id,
            slot=slot(180),
            reason="cough",
            now=NOW,
            policy=POLICY,
            availability=ALWAYS_OPEN,
            existing=(),
        )
        requested.reject(actor=clinic.admin_actor, now=NOW, reason="full")
        by_admin = book(clinic, slot(240), patient=patients[4])
        voided = book(clinic, slot(300), patient=patients[5])
        voided.enter_in_error(actor=clinic.admin_actor, now=NOW, reason="wrong patient")
        # Booked APPROVED by the doctor before proposals existed: no consent on record.
        legacy = book(clinic, slot(360), patient=patients[6], approve=True)
        legacy.history = [
            dataclasses.replace(line, actor_role=Role.DOCTOR, actor_id=clinic.doctor.user_id)
            for line in legacy.history
        ]
        cases = [proposed, accepted, declined, requested, by_admin, voided, legacy]
        await store_appointments(uow_factory, *cases)

        async with uow_factory() as uow:
            answers = [
                await uow.appointments.has_care_relationship(clinic.doctor.user_id, a.patient_id)
                for a in cases
            ]
            nothing_booked = await uow.appointments.has_care_relationship(
                clinic.doctor.user_id, patients[7].id
            )
            other_doctor = await uow.appointments.has_care_relationship(
                clinic.other_doctor.user_id, patients[1].id
            )
        assert answers == [establishes_care(a.status, a.history) for a in cases]
        assert answers == [False, True, False, True, True, False, False]
        assert not nothing_booked and not other_doctor

        # The same rule filters a list of accounts (staff's patient search).
        async with uow_factory() as uow:
            in_care = await uow.users.list(UserQuery(in_care_of=clinic.doctor.user_id))
            searched = await uow.users.list(
                UserQuery(in_care_of=clinic.doctor.user_id, search=patients[4].full_name)
            )
            of_other = await uow.users.list(UserQuery(in_care_of=clinic.other_doctor.user_id))
        cared_for = [a.patient_id for a, cared in zip(cases, answers, strict=True) if cared]
        assert sorted(u.id for u in in_care.items) == sorted(cared_for)
        assert in_care.total == 3
        assert [u.id for u in searched.items] == [patients[4].id]
        assert of_other.total == 0


# ======================================================================== notifications


class NotificationRepositoryContract:
    async def test_add_dedupes_by_key(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        first = new_notification(clinic.patient, dedupe_key="event-1:patient:in_app")
        again = new_notification(clinic.patient, dedupe_key="event-1:patient:in_app")
        async with uow_factory() as uow:
            assert await uow.notifications.add(first) is True
            assert await uow.notifications.add(again) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.add(again) is False
            assert await uow.notifications.get(first.id) is not None
            assert await uow.notifications.get(again.id) is None

    async def test_add_all_stores_in_one_go_and_dedupes_by_key(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        taken = new_notification(clinic.patient, dedupe_key="event-2:patient:in_app")
        async with uow_factory() as uow:
            assert await uow.notifications.add(taken) is True
            await uow.commit()
        fresh = new_notification(clinic.patient, dedupe_key="event-2:patient:email")
        again = new_notification(clinic.patient, dedupe_key="event-2:patient:in_app")
        other = new_notification(clinic.other_patient, dedupe_key="event-2:other:in_app")
        twin = new_notification(clinic.other_patient, dedupe_key="event-2:other:in_app")
        async with uow_factory() as uow:
            stored = await uow.notifications.add_all([fresh, again, other, twin])
            assert await uow.notifications.add_all([]) == []
            await uow.commit()
        assert [n.id for n in stored] == [fresh.id, other.id]
        async with uow_factory() as uow:
            loaded = await uow.notifications.get(fresh.id)
            assert loaded is not None and loaded.dedupe_key == fresh.dedupe_key
            assert await uow.notifications.get(again.id) is None
            assert await uow.notifications.get(twin.id) is None

    async def test_add_all_of_many_dedupes_by_key(self, uow_factory: UnitOfWorkFactory) -> None:
        # More than the SQL repository stores with one precompiled statement.
        clinic = await seed_clinic(uow_factory)
        taken = new_notification(clinic.patient, dedupe_key="event-3:taken")
        async with uow_factory() as uow:
            assert await uow.notifications.add(taken) is True
            await uow.commit()
        batch = [new_notification(clinic.patient, dedupe_key=f"event-3:{i}") for i in range(20)]
        again = new_notification(clinic.patient, dedupe_key="event-3:taken")
        async with uow_factory() as uow:
            stored = await uow.notifications.add_all([*batch, again])
            await uow.commit()
        assert [n.id for n in stored] == [n.id for n in batch]

    async def test_in_app_list_unread_and_read_all(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        old = new_notification(clinic.patient, created_at=NOW, title="old")
        mid = new_notification(clinic.patient, created_at=NOW + timedelta(minutes=1), title="mid")
        new = new_notification(clinic.patient, created_at=NOW + timedelta(minutes=2), title="new")
        email = new_notification(clinic.patient, channel=Channel.EMAIL)
        someone_else = new_notification(clinic.other_patient)
        async with uow_factory() as uow:
            for notification in (mid, old, new, email, someone_else):
                assert await uow.notifications.add(notification)
            await uow.commit()
        async with uow_factory() as uow:
            listed = await uow.notifications.list_for(clinic.patient.id)
            assert [n.title for n in listed.items] == ["new", "mid", "old"]
            assert listed.total == 3
            page = await uow.notifications.list_for(
                clinic.patient.id, page=PageRequest(limit=1, offset=1)
            )
            assert [n.title for n in page.items] == ["mid"] and page.total == 3
            assert await uow.notifications.unread_count(clinic.patient.id) == 3
            loaded = await uow.notifications.get(mid.id)
            assert loaded is not None
            loaded.mark_read(NOW + timedelta(hours=1))
            await uow.notifications.save(loaded)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.unread_count(clinic.patient.id) == 2
            unread = await uow.notifications.list_for(clinic.patient.id, unread_only=True)
            assert [n.title for n in unread.items] == ["new", "old"] and unread.total == 2
            marked = await uow.notifications.mark_all_read(
                clinic.patient.id, NOW + timedelta(hours=2)
            )
            assert marked == 2
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.unread_count(clinic.patient.id) == 0
            assert await uow.notifications.unread_count(clinic.other_patient.id) == 1
            reread = await uow.notifications.get(old.id)
            first_read = await uow.notifications.get(mid.id)
        assert reread is not None and reread.read_at == NOW + timedelta(hours=2)
        assert first_read is not None and first_read.read_at == NOW + timedelta(hours=1)

    async def test_delivery_state_round_trip_and_pending_delivery(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        sms = new_notification(clinic.patient, channel=Channel.SMS, created_at=NOW)
        email = new_notification(
            clinic.patient, channel=Channel.EMAIL, created_at=NOW + timedelta(seconds=1)
        )
        sent = new_notification(
            clinic.doctor_user, channel=Channel.EMAIL, created_at=NOW + timedelta(seconds=2)
        )
        in_app = new_notification(clinic.patient)
        async with uow_factory() as uow:
            for notification in (email, sent, sms, in_app):
                await uow.notifications.add(notification)
            await uow.commit()
        async with uow_factory() as uow:
            loaded = await uow.notifications.get(sent.id)
            assert loaded is not None
            loaded.mark_sent(NOW + timedelta(minutes=5))
            await uow.notifications.save(loaded)
            failing = await uow.notifications.get(sms.id)
            assert failing is not None
            failing.mark_failed("gateway timeout", give_up=False)
            await uow.notifications.save(failing)
            await uow.commit()
        async with uow_factory() as uow:
            pending = await uow.notifications.pending_delivery(limit=10)
            first = await uow.notifications.pending_delivery(limit=1)
            stored_sent = await uow.notifications.get(sent.id)
            stored_sms = await uow.notifications.get(sms.id)
        assert [n.id for n in pending] == [sms.id, email.id]
        assert [n.id for n in first] == [sms.id]
        assert stored_sent is not None
        assert (stored_sent.status, stored_sent.attempts, stored_sent.sent_at) == (
            DeliveryStatus.SENT,
            1,
            NOW + timedelta(minutes=5),
        )
        assert stored_sms is not None
        assert (stored_sms.status, stored_sms.attempts, stored_sms.last_error) == (
            DeliveryStatus.PENDING,
            1,
            "gateway timeout",
        )
        assert stored_sms.metadata == sms.metadata

    async def test_claims_take_the_oldest_free_rows_and_expire(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        sms = new_notification(clinic.patient, channel=Channel.SMS, created_at=NOW)
        email = new_notification(
            clinic.patient, channel=Channel.EMAIL, created_at=NOW + timedelta(seconds=1)
        )
        sent = new_notification(
            clinic.doctor_user, channel=Channel.EMAIL, created_at=NOW + timedelta(seconds=2)
        )
        sent.mark_sent(NOW)
        later = new_notification(
            clinic.doctor_user, channel=Channel.EMAIL, created_at=NOW + timedelta(seconds=3)
        )
        in_app = new_notification(clinic.patient)
        async with uow_factory() as uow:
            for notification in (later, in_app, sent, email, sms):
                await uow.notifications.add(notification)
            await uow.commit()
        lease = timedelta(minutes=5)
        first, second, third, late = uuid7(), uuid7(), uuid7(), uuid7()

        async def claim(owner: UUID, now: datetime, limit: int = 10) -> list[Notification]:
            async with uow_factory(serialized=True) as uow:
                claimed = await uow.notifications.claim_pending(
                    owner=owner, now=now, lease=lease, limit=limit
                )
                await uow.commit()
            return list(claimed)

        assert await claim(uuid7(), NOW, limit=0) == []
        taken = await claim(first, NOW, limit=2)
        assert [n.id for n in taken] == [sms.id, email.id]
        assert {(n.claimed_by, n.claimed_until, n.attempts) for n in taken} == {
            (first, NOW + lease, 1)
        }
        assert [n.id for n in await claim(second, NOW + timedelta(minutes=1))] == [later.id]
        assert await claim(third, NOW + timedelta(minutes=4)) == []  # all held
        async with uow_factory() as uow:
            stored = await uow.notifications.get(sms.id)
            pending = await uow.notifications.pending_delivery(limit=10)
        assert stored is not None
        assert (stored.claimed_by, stored.claimed_until, stored.attempts) == (first, NOW + lease, 1)
        assert [n.id for n in pending] == [sms.id, email.id, later.id]  # claimed or not

        # The first claim's lease runs out (its worker died): its rows are free again.
        retaken = await claim(late, NOW + lease)
        assert [n.id for n in retaken] == [sms.id, email.id]
        assert {(n.claimed_by, n.claimed_until, n.attempts) for n in retaken} == {
            (late, NOW + 2 * lease, 2)
        }

    async def test_an_outcome_is_recorded_only_while_the_claim_is_held(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        email = new_notification(clinic.patient, channel=Channel.EMAIL)
        sms = new_notification(
            clinic.patient, channel=Channel.SMS, created_at=NOW + timedelta(seconds=1)
        )
        async with uow_factory() as uow:
            await uow.notifications.add(email)
            await uow.notifications.add(sms)
            await uow.commit()
        lease = timedelta(minutes=5)
        dead, alive = uuid7(), uuid7()
        async with uow_factory(serialized=True) as uow:
            [stale_email, stale_sms] = await uow.notifications.claim_pending(
                owner=dead, now=NOW, lease=lease, limit=10
            )
            await uow.commit()
        async with uow_factory(serialized=True) as uow:
            [fresh_email, fresh_sms] = await uow.notifications.claim_pending(
                owner=alive, now=NOW + lease, lease=lease, limit=10
            )
            await uow.commit()

        stale_email.mark_sent(NOW + timedelta(minutes=6))
        fresh_email.mark_failed("gateway timeout", give_up=False)
        fresh_sms.release()
        async with uow_factory(serialized=True) as uow:
            # The dead worker came back after all: its claim was taken over.
            assert await uow.notifications.record_delivery(stale_email, owner=dead) is False
            assert await uow.notifications.record_delivery(fresh_email, owner=alive) is True
            assert await uow.notifications.record_delivery(fresh_sms, owner=alive) is True
            await uow.commit()
        async with uow_factory(serialized=True) as uow:
            # Recorded once: the claim is gone, so a second record (any owner) is refused.
            assert await uow.notifications.record_delivery(fresh_email, owner=alive) is False
            assert await uow.notifications.record_delivery(stale_sms, owner=dead) is False
            await uow.commit()
        async with uow_factory() as uow:
            stored_email = await uow.notifications.get(email.id)
            stored_sms = await uow.notifications.get(sms.id)
        assert stored_email is not None and stored_sms is not None
        assert (
            stored_email.status,
            stored_email.attempts,
            stored_email.last_error,
            stored_email.sent_at,
            stored_email.claimed_by,
            stored_email.claimed_until,
        ) == (DeliveryStatus.PENDING, 2, "gateway timeout", None, None, None)
        # Released untried: the attempt of the live claim does not count, the dead one's does.
        assert (stored_sms.status, stored_sms.attempts, stored_sms.claimed_by) == (
            DeliveryStatus.PENDING,
            1,
            None,
        )
        assert stored_sms.is_claimable(NOW + lease)

    async def test_concurrent_claims_never_take_the_same_row(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        waiting = [
            new_notification(
                clinic.patient, channel=Channel.EMAIL, created_at=NOW + timedelta(seconds=n)
            )
            for n in range(10)
        ]
        async with uow_factory() as uow:
            for notification in waiting:
                await uow.notifications.add(notification)
            await uow.commit()

        async def claim() -> list[UUID]:
            async with uow_factory(serialized=True) as uow:
                claimed = await uow.notifications.claim_pending(
                    owner=uuid7(), now=NOW, lease=timedelta(minutes=5), limit=3
                )
                await asyncio.sleep(0.02)  # every chance for the others to interleave
                await uow.commit()
            return [n.id for n in claimed]

        claims = await asyncio.gather(*(claim() for _ in range(5)))
        everything = [notification_id for ids in claims for notification_id in ids]
        assert sorted(everything) == sorted(n.id for n in waiting)  # all, and none twice
        assert sorted(len(ids) for ids in claims) == [0, 1, 3, 3, 3]

    async def test_delete(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        notification = new_notification(clinic.patient)
        async with uow_factory() as uow:
            await uow.notifications.add(notification)
            await uow.commit()
        async with uow_factory() as uow:
            await uow.notifications.delete(notification.id)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.get(notification.id) is None
            with pytest.raises(NotFound):
                await uow.notifications.delete(notification.id)

    async def test_list_after_resumes_in_id_order(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        # Ids are made in this order; created_at says otherwise, and the id wins.
        first, second, third, fourth = (
            new_notification(clinic.patient, created_at=NOW + timedelta(minutes=9 - n))
            for n in range(4)
        )
        email = new_notification(clinic.patient, channel=Channel.EMAIL)
        someone_else = new_notification(clinic.other_patient)
        async with uow_factory() as uow:
            for notification in (third, email, first, someone_else, fourth, second):
                assert await uow.notifications.add(notification)
            await uow.commit()
        async with uow_factory() as uow:
            loaded = await uow.notifications.get(third.id)
            assert loaded is not None
            loaded.mark_read(NOW)  # read ones are replayed too: the stream carries all
            await uow.notifications.save(loaded)
            await uow.commit()
        async with uow_factory() as uow:
            after_first = await uow.notifications.list_after(clinic.patient.id, first.id, limit=10)
            page = await uow.notifications.list_after(clinic.patient.id, first.id, limit=2)
            after_last = await uow.notifications.list_after(clinic.patient.id, fourth.id, limit=10)
            # Any id is a position, even one that was never stored.
            from_start = await uow.notifications.list_after(
                clinic.patient.id, UUID(int=0), limit=10
            )
            none = await uow.notifications.list_after(clinic.patient.id, first.id, limit=0)
        assert [n.id for n in after_first] == [second.id, third.id, fourth.id]
        assert [n.id for n in page] == [second.id, third.id]
        assert after_first[1].read_at == NOW
        assert after_last == [] and none == []
        assert [n.id for n in from_start] == [first.id, second.id, third.id, fourth.id]


# ================================================================================ audit


class AuditLogContract:
    async def test_newest_first_with_filters(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        admin, doctor = clinic.admin_actor, Actor(Role.DOCTOR, clinic.doctor.id)
        target = uuid7()
        entries = [
            AuditEntry.of(admin, NOW, "user.updated", "user", target, field="role"),
            AuditEntry.of(doctor, NOW + timedelta(minutes=1), "appointment.approved", "a", 1),
            AuditEntry.of(admin, NOW + timedelta(minutes=2), "user.disabled", "user", target),
            AuditEntry.of(Actor.system(), NOW + timedelta(minutes=3), "sweep", "a", 2),
        ]
        async with uow_factory() as uow:
            for entry in entries:
                await uow.audit.add(entry)
            await uow.commit()
        async with uow_factory() as uow:
            everything = await uow.audit.list()
            by_target = await uow.audit.list(target_id=str(target))
            by_actor = await uow.audit.list(actor_id=admin.user_id)
            both = await uow.audit.list(target_id="1", actor_id=doctor.user_id)
            page = await uow.audit.list(page=PageRequest(limit=2, offset=1))
        assert [e.action for e in everything.items] == [
            "sweep",
            "user.disabled",
            "appointment.approved",
            "user.updated",
        ]
        assert everything.items[-1] == entries[0]
        assert everything.items[-1].details == {"field": "role"}
        assert everything.items[0].actor_id is None
        assert [e.action for e in by_target.items] == ["user.disabled", "user.updated"]
        assert [e.action for e in by_actor.items] == ["user.disabled", "user.updated"]
        assert [e.action for e in both.items] == ["appointment.approved"]
        assert [e.action for e in page.items] == ["user.disabled", "appointment.approved"]
        assert page.total == 4


# ========================================================================== idempotency


def idempotency_record(
    user: User, key: str = "key-1", *, created_at: datetime = NOW, ttl_hours: float = 24
) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        user_id=user.id,
        fingerprint="POST /api/v1/appointments sha256:abc",
        status_code=201,
        body=b'{"id": "1"}',
        created_at=created_at,
        expires_at=created_at + timedelta(hours=ttl_hours),
    )


class IdempotencyStoreContract:
    async def test_put_get_and_expiry(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        record = idempotency_record(clinic.patient)
        async with uow_factory() as uow:
            assert await uow.idempotency.put(record) is True
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.idempotency.get("key-1", clinic.patient.id, NOW) == record
            assert await uow.idempotency.get("key-1", clinic.other_patient.id, NOW) is None
            assert await uow.idempotency.get("key-2", clinic.patient.id, NOW) is None
            expired_at = NOW + timedelta(hours=24)
            assert await uow.idempotency.get("key-1", clinic.patient.id, expired_at) is None
            again = idempotency_record(clinic.patient, created_at=NOW + timedelta(hours=1))
            assert await uow.idempotency.put(again) is False
            assert await uow.idempotency.put(idempotency_record(clinic.other_patient)) is True
            await uow.commit()
        later = NOW + timedelta(hours=25)
        async with uow_factory() as uow:
            fresh = idempotency_record(clinic.patient, created_at=later)
            assert await uow.idempotency.put(fresh) is True
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.idempotency.get("key-1", clinic.patient.id, later) == fresh

    async def test_purge_expired(self, uow_factory: UnitOfWorkFactory) -> None:
        clinic = await seed_clinic(uow_factory)
        async with uow_factory() as uow:
            await uow.idempotency.put(idempotency_record(clinic.patient, "short", ttl_hours=1))
            await uow.idempotency.put(idempotency_record(clinic.patient, "long", ttl_hours=48))
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.idempotency.purge_expired(NOW + timedelta(hours=2)) == 1
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.idempotency.purge_expired(NOW + timedelta(hours=2)) == 0
            assert await uow.idempotency.get("long", clinic.patient.id, NOW) is not None


class ProcessedEventsContract:
    async def test_first_time_only_once_per_consumer(self, uow_factory: UnitOfWorkFactory) -> None:
        event_id = uuid7()
        async with uow_factory() as uow:
            assert await uow.processed_events.first_time("notifier", event_id) is True
            assert await uow.processed_events.first_time("notifier", event_id) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.processed_events.first_time("notifier", event_id) is False
            assert await uow.processed_events.first_time("stats", event_id) is True
            # not committed: forgotten
        async with uow_factory() as uow:
            assert await uow.processed_events.first_time("stats", event_id) is True


# ======================================================================== unit of work


class UnitOfWorkContract:
    async def test_leaving_without_commit_discards_everything(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        await drain(outbox)
        appointment = book(clinic, slot(0))
        stored = book(clinic, slot(120))
        await store_appointments(uow_factory, stored)
        await drain(outbox)
        user = new_user("Nobody Saved")
        specialty = new_specialty("Oncology")
        notification = new_notification(clinic.patient)
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.specialties.add(specialty)
            await uow.appointments.add(appointment)
            loaded = await uow.appointments.get(stored.id)
            assert loaded is not None
            cancel(loaded, clinic)
            await uow.appointments.save(loaded, expected_version=1)
            await uow.notifications.add(notification)
            await uow.audit.add(AuditEntry.of(clinic.admin_actor, NOW, "x", "user", user.id))
            await uow.availability.replace_weekly(clinic.doctor.id, WEEKLY)
            await uow.processed_events.first_time("notifier", appointment.id)
            await uow.idempotency.put(idempotency_record(clinic.patient))
            uow.emit(user_registered(aggregate_id=user.id))
            # visible inside the transaction
            assert await uow.users.get(user.id) is not None
        async with uow_factory() as uow:
            assert await uow.users.get(user.id) is None
            assert await uow.users.get_by_email(user.email) is None
            assert await uow.specialties.get(specialty.id) is None
            assert await uow.appointments.get(appointment.id) is None
            unchanged = await uow.appointments.get(stored.id)
            assert unchanged is not None and unchanged.status is S.PENDING
            assert len(unchanged.history) == 1
            assert await uow.notifications.get(notification.id) is None
            assert (await uow.audit.list()).total == 0
            assert (await uow.availability.get(clinic.doctor.id)).weekly == WeeklyHours()
            assert await uow.idempotency.get("key-1", clinic.patient.id, NOW) is None
            assert await uow.processed_events.first_time("notifier", appointment.id) is True
        assert await drain(outbox) == []

    async def test_an_error_rolls_back_and_propagates(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        user = new_user()
        with pytest.raises(RuntimeError, match="boom"):
            async with uow_factory() as uow:
                await uow.users.add(user)
                uow.emit(user_registered())
                raise RuntimeError("boom")
        async with uow_factory() as uow:
            await uow.users.add(new_user())
            await uow.rollback()
            await uow.commit()  # nothing left to commit
        async with uow_factory() as uow:
            assert await uow.users.get(user.id) is None
            assert (await uow.users.list(UserQuery())).total == 0
        assert await drain(outbox) == []

    async def test_pending_writes_are_invisible_to_other_units(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        user = new_user()
        async with uow_factory() as writer:
            await writer.users.add(user)
            async with uow_factory() as reader:
                assert await reader.users.get(user.id) is None
            await writer.commit()
        async with uow_factory() as reader:
            assert await reader.users.get(user.id) is not None

    async def test_commit_writes_aggregate_and_emitted_events_with_correlation_id(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        await drain(outbox)
        appointment = book(clinic, slot(0))
        registered = user_registered()
        token = context.correlation_id.set("req-42")
        try:
            async with uow_factory(serialized=True) as uow:
                await uow.appointments.add(appointment)
                uow.emit(registered)
                await uow.commit()
            async with uow_factory() as uow:
                loaded = await uow.appointments.get(appointment.id)
                assert loaded is not None
                cancel(loaded, clinic)
                await uow.appointments.save(loaded, expected_version=1)
                await uow.commit()
        finally:
            context.correlation_id.reset(token)
        published = await drain(outbox)
        assert [(e.type, e.aggregate_id) for e in published] == [
            (events.APPOINTMENT_REQUESTED, appointment.id),
            (events.USER_REGISTERED, registered.aggregate_id),
            (events.APPOINTMENT_CANCELLED, appointment.id),
        ]
        assert {e.correlation_id for e in published} == {"req-42"}
        assert published[1].id == registered.id
        assert published[1].payload == registered.payload
        assert [e.aggregate_version for e in published] == [1, 1, 2]

    async def test_several_commits_in_one_unit(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        first, second = new_user("First One"), new_user("Second One")
        async with uow_factory() as uow:
            await uow.users.add(first)
            uow.emit(user_registered(1, first.id))
            await uow.commit()
            await uow.users.add(second)
            uow.emit(user_registered(2, second.id))
            await uow.commit()
        async with uow_factory() as uow:
            assert (await uow.users.list(UserQuery())).total == 2
        assert [e.aggregate_id for e in await drain(outbox)] == [first.id, second.id]

    @pytest.mark.parametrize("serialized", [True, False], ids=["serialized", "plain"])
    async def test_concurrent_bookings_of_one_slot_one_wins(
        self, uow_factory: UnitOfWorkFactory, serialized: bool
    ) -> None:
        clinic = await seed_clinic(uow_factory)
        # Same doctor, different patients, overlapping times.
        first = book(clinic, slot(0))
        second = book(clinic, slot(15), patient=clinic.other_patient)

        async def attempt(appointment: Appointment) -> UUID:
            async with uow_factory(serialized=serialized) as uow:
                existing = await uow.appointments.occupying_overlapping(
                    appointment.slot,
                    doctor_id=appointment.doctor_id,
                    patient_id=appointment.patient_id,
                )
                conflicts = find_conflicts(
                    appointment.slot,
                    doctor_id=appointment.doctor_id,
                    patient_id=appointment.patient_id,
                    existing=existing,
                )
                if conflicts:
                    raise SlotConflict(c.id for c in conflicts)
                await asyncio.sleep(0.02)  # every chance for the other one to interleave
                await uow.appointments.add(appointment)
                await uow.commit()
            return appointment.id

        results = await asyncio.gather(attempt(first), attempt(second), return_exceptions=True)
        winners = [r for r in results if isinstance(r, UUID)]
        losers = [r for r in results if isinstance(r, SlotConflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].conflicting_ids == (winners[0],)
        async with uow_factory() as uow:
            stored = await uow.appointments.list(AppointmentQuery())
        assert [a.id for a in stored.items] == winners


# =============================================================================== outbox


class OutboxContract:
    async def _emit_events(self, uow_factory: UnitOfWorkFactory, *ns: int) -> list[DomainEvent]:
        emitted = [user_registered(n) for n in ns]
        async with uow_factory() as uow:
            for event in emitted:
                uow.emit(event)
            await uow.commit()
        return emitted

    async def test_relays_in_commit_order_once(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        emitted = await self._emit_events(uow_factory, 1, 2) + await self._emit_events(
            uow_factory, 3
        )
        emitted += await self._emit_events(uow_factory, 4, 5)
        recorder = Recorder()
        first = await outbox.relay_batch(3, recorder)
        second = await outbox.relay_batch(3, recorder)
        third = await outbox.relay_batch(3, recorder)
        assert (first.published, first.failed) == (3, False)
        assert (second.published, second.failed) == (2, False)
        assert (third.published, third.failed) == (0, False)
        assert [e.id for e in recorder.events] == [e.id for e in emitted]
        assert recorder.events == emitted  # the whole event, typed payload included

    async def test_stops_at_the_first_failure_and_keeps_order(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        emitted = await self._emit_events(uow_factory, 1, 2, 3, 4)
        failing = Recorder(fail_on=2)
        result = await outbox.relay_batch(10, failing)
        assert (result.published, result.failed) == (1, True)
        assert failing.events[0].id == emitted[0].id
        # Events of other aggregates after the failure may have been sent already (a
        # PostgreSQL relay publishes them concurrently), but none is marked: all go again.
        retry = Recorder()
        result = await outbox.relay_batch(10, retry)
        assert (result.published, result.failed) == (3, False)
        assert [e.id for e in retry.events] == [e.id for e in emitted[1:]]

    async def test_an_aggregates_events_after_its_failure_are_not_sent(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        aggregate = uuid7()
        first, second, third = (user_registered(n, aggregate_id=aggregate) for n in (1, 2, 3))
        other = user_registered(4)
        async with uow_factory() as uow:
            for event in (first, second, third, other):
                uow.emit(event)
            await uow.commit()
        attempted: list[UUID] = []

        async def fail_on_second(event: DomainEvent) -> None:
            attempted.append(event.id)
            await asyncio.sleep(0)
            if event.id == second.id:
                raise ConnectionError("broker down")

        result = await outbox.relay_batch(10, fail_on_second)
        assert (result.published, result.failed) == (1, True)
        assert attempted.index(first.id) < attempted.index(second.id)
        assert third.id not in attempted  # its aggregate's order would break
        retry = Recorder()
        assert (await outbox.relay_batch(10, retry)) == RelayResult(published=3, failed=False)
        assert [e.id for e in retry.events] == [second.id, third.id, other.id]

    async def test_concurrent_relays_never_publish_a_row_twice(
        self, uow_factory: UnitOfWorkFactory, outbox: Outbox
    ) -> None:
        emitted = await self._emit_events(uow_factory, 1, 2, 3, 4, 5, 6)
        shared = Recorder(delay=0.01)
        results = await asyncio.gather(
            outbox.relay_batch(4, shared),
            outbox.relay_batch(4, shared),
            outbox.relay_batch(4, shared),
        )
        assert sum(r.published for r in results) == 6
        assert not any(r.failed for r in results)
        assert sorted(e.id for e in shared.events) == sorted(e.id for e in emitted)
        assert len(shared.events) == 6

    async def test_stats(self, uow_factory: UnitOfWorkFactory, outbox: Outbox) -> None:
        empty = await outbox.stats(NOW)
        assert (empty.backlog, empty.oldest_age_seconds) == (0, 0.0)
        await self._emit_events(uow_factory, 1, 2, 3)
        far_future = datetime(2100, 1, 1, tzinfo=UTC)
        stats = await outbox.stats(far_future)
        assert stats.backlog == 3
        assert stats.oldest_age_seconds > 0
        await outbox.relay_batch(2, Recorder())
        assert (await outbox.stats(far_future)).backlog == 1
        await drain(outbox)
        assert await outbox.stats(far_future) == OutboxStats(backlog=0, oldest_age_seconds=0.0)


# ======================================================================== cache, limits

AdvanceTime = Callable[[float], Awaitable[None]]


class CacheContract:
    async def test_set_get_delete(self, cache: Cache) -> None:
        key = f"contract:{uuid7()}"
        assert await cache.get(key) is None
        await cache.set(key, b"value", 60)
        assert await cache.get(key) == b"value"
        await cache.set(key, b"other", 60)
        assert await cache.get(key) == b"other"
        await cache.delete(key)
        assert await cache.get(key) is None
        await cache.delete(key)  # deleting a missing key is fine

    async def test_entries_expire(self, cache: Cache, advance_time: AdvanceTime) -> None:
        short, long = f"contract:{uuid7()}", f"contract:{uuid7()}"
        await cache.set(short, b"short", 1)
        await cache.set(long, b"long", 60)
        await advance_time(1.2)
        assert await cache.get(short) is None
        assert await cache.get(long) == b"long"


class RateLimiterContract:
    async def test_limit_per_key_and_window(
        self, rate_limiter: RateLimiter, advance_time: AdvanceTime
    ) -> None:
        key, other = f"contract:{uuid7()}", f"contract:{uuid7()}"
        decisions = [await rate_limiter.hit(key, limit=3, window_seconds=2) for _ in range(3)]
        assert [(d.allowed, d.remaining, d.retry_after_seconds) for d in decisions] == [
            (True, 2, 0),
            (True, 1, 0),
            (True, 0, 0),
        ]
        refused = await rate_limiter.hit(key, limit=3, window_seconds=2)
        assert (refused.allowed, refused.remaining) == (False, 0)
        assert 1 <= refused.retry_after_seconds <= 2
        assert (await rate_limiter.hit(other, limit=3, window_seconds=2)).allowed
        await advance_time(2.2)
        again = await rate_limiter.hit(key, limit=3, window_seconds=2)
        assert (again.allowed, again.remaining) == (True, 2)

    async def test_peek_answers_without_counting(
        self, rate_limiter: RateLimiter, advance_time: AdvanceTime
    ) -> None:
        key = f"contract:{uuid7()}"
        fresh = await rate_limiter.peek(key, limit=2, window_seconds=2)
        assert (fresh.allowed, fresh.remaining, fresh.retry_after_seconds) == (True, 2, 0)
        assert (await rate_limiter.hit(key, limit=2, window_seconds=2)).allowed
        for _ in range(3):  # peeking again and again changes nothing
            seen = await rate_limiter.peek(key, limit=2, window_seconds=2)
            assert (seen.allowed, seen.remaining) == (True, 1)
        # A smaller limit over the same hits: "has this key any hit at all?"
        some = await rate_limiter.peek(key, limit=1, window_seconds=2)
        assert (some.allowed, some.remaining) == (False, 0)
        assert 1 <= some.retry_after_seconds <= 2
        assert (await rate_limiter.hit(key, limit=2, window_seconds=2)).remaining == 0
        full = await rate_limiter.peek(key, limit=2, window_seconds=2)
        assert (full.allowed, full.remaining) == (False, 0)
        assert 1 <= full.retry_after_seconds <= 2
        # Another window is another count.
        assert (await rate_limiter.peek(key, limit=2, window_seconds=60)).remaining == 2
        await advance_time(2.2)
        assert (await rate_limiter.peek(key, limit=2, window_seconds=2)).remaining == 2

    async def test_forget_drops_the_hits_of_one_key_and_window(
        self, rate_limiter: RateLimiter
    ) -> None:
        key, other = f"contract:{uuid7()}", f"contract:{uuid7()}"
        for name, window in ((key, 60), (key, 120), (other, 60)):
            assert (await rate_limiter.hit(name, limit=1, window_seconds=window)).allowed
        await rate_limiter.forget(key, window_seconds=60)
        assert (await rate_limiter.hit(key, limit=1, window_seconds=60)).allowed
        assert not (await rate_limiter.peek(key, limit=1, window_seconds=120)).allowed
        assert not (await rate_limiter.peek(other, limit=1, window_seconds=60)).allowed
        await rate_limiter.forget(f"contract:{uuid7()}", window_seconds=60)  # unknown: fine


class SubscribingFanout(RealtimeFanout, Protocol):
    def subscribe(self, user_id: UUID) -> Any: ...


class RealtimeFanoutContract:
    async def test_delivers_to_every_subscriber_of_that_user_only(
        self, fanout: SubscribingFanout
    ) -> None:
        alice, bob = uuid7(), uuid7()
        async with (
            fanout.subscribe(alice) as first,
            fanout.subscribe(alice) as second,
            fanout.subscribe(bob) as bobs,
        ):
            await fanout.publish(alice, {"type": "notification", "n": 1})
            await fanout.publish(alice, {"type": "notification", "n": 2})
            assert await first.get(timeout=1) == {"type": "notification", "n": 1}
            assert await first.get(timeout=1) == {"type": "notification", "n": 2}
            assert await second.get(timeout=1) == {"type": "notification", "n": 1}
            assert await bobs.get(timeout=0.1) is None
        # nobody listening: publishing is still fine
        await fanout.publish(alice, {"type": "notification", "n": 3})

    async def test_live_as_soon_as_entered_and_in_order(self, fanout: SubscribingFanout) -> None:
        user = uuid7()
        await fanout.publish(user, {"n": "before"})
        message = {"id": str(uuid7()), "metadata": {"appointment_id": "a", "list": [1, 2]}}
        async with fanout.subscribe(user) as subscription:
            # No pause: entering returned, so the subscription is live (a stream reads
            # its backlog right after this, and relies on it).
            for n in range(20):
                await fanout.publish(user, {**message, "n": n})
            received = [await subscription.get(timeout=2) for _ in range(20)]
            assert await subscription.get(timeout=0.1) is None
        assert received == [{**message, "n": n} for n in range(20)]

    async def test_a_reader_that_falls_behind_is_ended_not_skipped(
        self, tiny_fanout: SubscribingFanout
    ) -> None:
        user = uuid7()
        async with tiny_fanout.subscribe(user) as slow:  # room for 2 waiting messages
            for n in range(5):
                await tiny_fanout.publish(user, {"n": n})
            await asyncio.sleep(0.2)  # let them all arrive
            # What was queued comes first, then the end: never a gap in the middle.
            assert [await slow.get(timeout=1) for _ in range(3)] == [{"n": 0}, {"n": 1}, None]
            assert slow.overflowed


class StreamSlotsContract:
    """Real time passes here (a lease of 0.3 s), for every implementation alike."""

    async def test_a_limit_per_user(self, stream_slots: StreamSlots) -> None:
        alice, bob = uuid7(), uuid7()
        streams = [uuid7() for _ in range(3)]
        for stream in streams[:2]:
            assert await stream_slots.acquire(alice, stream, limit=2, ttl_seconds=30)
        assert not await stream_slots.acquire(alice, streams[2], limit=2, ttl_seconds=30)
        # Taking a slot one holds already takes no second one.
        assert await stream_slots.acquire(alice, streams[0], limit=2, ttl_seconds=30)
        assert await stream_slots.acquire(bob, streams[2], limit=2, ttl_seconds=30)
        await stream_slots.release(alice, streams[0])
        await stream_slots.release(alice, streams[0])  # twice is fine
        assert await stream_slots.acquire(alice, streams[2], limit=2, ttl_seconds=30)
        assert not await stream_slots.acquire(alice, uuid7(), limit=2, ttl_seconds=30)

    async def test_a_lease_not_renewed_frees_its_slot(self, stream_slots: StreamSlots) -> None:
        user, kept, lapsed, newcomer = uuid7(), uuid7(), uuid7(), uuid7()
        assert await stream_slots.acquire(user, kept, limit=2, ttl_seconds=0.3)
        assert await stream_slots.acquire(user, lapsed, limit=2, ttl_seconds=0.3)
        await asyncio.sleep(0.2)
        await stream_slots.renew(user, kept, ttl_seconds=0.3)
        await asyncio.sleep(0.2)
        # ``lapsed`` (a process that died) no longer counts; ``kept`` still does.
        assert await stream_slots.acquire(user, newcomer, limit=2, ttl_seconds=30)
        assert not await stream_slots.acquire(user, uuid7(), limit=2, ttl_seconds=30)


# ======================================================================== session tokens

TimeNow = Callable[[], datetime]


def refresh_record(
    issued_at: datetime,
    *,
    user_id: UUID | None = None,
    family_id: UUID | None = None,
    ttl: timedelta = timedelta(days=30),
) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=f"hash-{uuid7().hex}",
        user_id=user_id or uuid7(),
        family_id=family_id or uuid7(),
        issued_at=issued_at,
        expires_at=issued_at + ttl,
    )


class RefreshTokenStoreContract:
    async def test_issue_find_and_rotate(
        self, refresh_tokens: RefreshTokenStore, time_now: TimeNow
    ) -> None:
        now = time_now()
        first = refresh_record(now)
        await refresh_tokens.issue(first)
        assert await refresh_tokens.find(first.token_hash) == first
        assert await refresh_tokens.find("hash-unknown") is None
        later, expires = now + timedelta(minutes=5), now + timedelta(days=31)
        result = await refresh_tokens.rotate(
            first.token_hash, new_token_hash="hash-second", now=later, expires_at=expires
        )
        assert result == Rotated(first.user_id, first.family_id)
        rotated = await refresh_tokens.find(first.token_hash)
        assert rotated is not None and rotated.rotated_at == later
        assert await refresh_tokens.find("hash-second") == RefreshTokenRecord(
            token_hash="hash-second",
            user_id=first.user_id,
            family_id=first.family_id,
            issued_at=later,
            expires_at=expires,
        )
        replay = await refresh_tokens.rotate(
            first.token_hash, new_token_hash="hash-third", now=later, expires_at=expires
        )
        assert replay == Reused(first.user_id, first.family_id)
        assert await refresh_tokens.find("hash-third") is None

    async def test_refusals(self, refresh_tokens: RefreshTokenStore, time_now: TimeNow) -> None:
        now = time_now()
        short = refresh_record(now, ttl=timedelta(minutes=1))
        await refresh_tokens.issue(short)
        expires = now + timedelta(days=30)
        assert await refresh_tokens.rotate(
            "hash-unknown", new_token_hash="hash-new-1", now=now, expires_at=expires
        ) == RefreshRefused("unknown")
        assert await refresh_tokens.rotate(
            short.token_hash,
            new_token_hash="hash-new-2",
            now=now + timedelta(minutes=2),
            expires_at=expires,
        ) == RefreshRefused("expired")
        assert await refresh_tokens.find("hash-new-2") is None

    async def test_revocation(self, refresh_tokens: RefreshTokenStore, time_now: TimeNow) -> None:
        now = time_now()
        user = uuid7()
        family = refresh_record(now, user_id=user)
        other_family = refresh_record(now, user_id=user)
        stranger = refresh_record(now)
        for record in (family, other_family, stranger):
            await refresh_tokens.issue(record)
        expires = now + timedelta(days=30)
        await refresh_tokens.rotate(
            family.token_hash, new_token_hash="hash-family-2", now=now, expires_at=expires
        )
        # live in the family: only the replacement (the first one is rotated)
        assert await refresh_tokens.revoke_family(family.family_id, now=now) == 1
        assert await refresh_tokens.revoke_family(family.family_id, now=now) == 0
        assert await refresh_tokens.rotate(
            "hash-family-2", new_token_hash="hash-family-3", now=now, expires_at=expires
        ) == RefreshRefused("revoked")
        revoked = await refresh_tokens.find("hash-family-2")
        assert revoked is not None and revoked.revoked_at == now
        assert await refresh_tokens.revoke_all_for_user(user, now=now) == 1  # other_family
        assert await refresh_tokens.rotate(
            stranger.token_hash, new_token_hash="hash-stranger-2", now=now, expires_at=expires
        ) == Rotated(stranger.user_id, stranger.family_id)

    async def test_concurrent_rotations_one_wins(
        self, refresh_tokens: RefreshTokenStore, time_now: TimeNow
    ) -> None:
        now = time_now()
        record = refresh_record(now)
        await refresh_tokens.issue(record)
        expires = now + timedelta(days=30)
        results = await asyncio.gather(
            *(
                refresh_tokens.rotate(
                    record.token_hash, new_token_hash=f"hash-race-{n}", now=now, expires_at=expires
                )
                for n in range(4)
            )
        )
        assert sorted(type(r).__name__ for r in results) == [
            "Reused",
            "Reused",
            "Reused",
            "Rotated",
        ]

    async def test_purge_expired(
        self, refresh_tokens: RefreshTokenStore, time_now: TimeNow
    ) -> None:
        now = time_now()
        short = refresh_record(now, ttl=timedelta(minutes=1))
        long = refresh_record(now, ttl=timedelta(days=1))
        await refresh_tokens.issue(short)
        await refresh_tokens.issue(long)
        assert await refresh_tokens.purge_expired(now + timedelta(minutes=2)) == 1
        assert await refresh_tokens.find(short.token_hash) is None
        assert await refresh_tokens.find(long.token_hash) == long


class TokenDenylistContract:
    async def test_denied_until_the_instant(
        self, denylist: TokenDenylist, advance_time: AdvanceTime, time_now: TimeNow
    ) -> None:
        jti, session, other = f"jti-{uuid7()}", f"session-{uuid7()}", f"jti-{uuid7()}"
        await denylist.deny(jti, time_now() + timedelta(seconds=1))
        await denylist.deny(session, time_now() + timedelta(seconds=60))
        assert await denylist.is_denied(jti)
        assert await denylist.is_denied(other, session)
        assert not await denylist.is_denied(other)
        assert not await denylist.is_denied()
        await advance_time(1.2)
        assert not await denylist.is_denied(jti)
        assert await denylist.is_denied(jti, session)
