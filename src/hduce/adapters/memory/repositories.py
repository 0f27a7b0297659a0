"""In-memory repositories: the ports of ``hduce.application.ports`` over ``StoreTables``.

They behave like the SQL ones: uniqueness and overlap rules are checked when a
row is written (as a constraint would) and again at commit against whatever
other units of work committed meanwhile; stored objects are deep-copied in and
out so nobody can change them behind the unit of work's back.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.adapters.memory.store import Owned, StoreTables
from hduce.application.ports import (
    AppointmentQuery,
    DoctorQuery,
    IdempotencyRecord,
    IdGenerator,
    Page,
    PageRequest,
    UserQuery,
)
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.errors import AlreadyExists, NotFound, SlotConflict, StaleVersion
from hduce.domain.identity import PatientProfile, User
from hduce.domain.notifications import Channel, DeliveryStatus, Notification
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    TimeOff,
    TimeSlot,
    WeeklyHours,
    find_conflicts,
)

T = TypeVar("T")

_DEFAULT_PAGE = PageRequest()


def _copy(value: T) -> T:
    return copy.deepcopy(value)


def _copy_appointment(appointment: Appointment) -> Appointment:
    """A deep copy without the pending events (those belong to the caller's object)."""
    pending, appointment.pending_events = appointment.pending_events, []
    try:
        return copy.deepcopy(appointment)
    finally:
        appointment.pending_events = pending


def _page(items: Sequence[T], page: PageRequest) -> Page[T]:
    offset = max(page.offset, 0)
    limit = max(page.limit, 0)
    return Page(
        items=list(items[offset : offset + limit]),
        total=len(items),
        limit=page.limit,
        offset=page.offset,
    )


class _Repository:
    """Per-transaction hooks the unit of work calls."""

    def validate_commit(self) -> None:
        """Re-check this transaction's writes against what is committed now."""

    def reset(self) -> None:
        """Forget per-transaction state (after commit or rollback)."""


# ---------------------------------------------------------------------------------- users


class InMemoryUserRepository(_Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._users = tables.users

    def _check_unique(self, user: User) -> None:
        email = user.email.casefold()
        for other in self._users.values():
            if other.id == user.id:
                continue
            if other.email.casefold() == email:
                raise AlreadyExists(f"the email {user.email} is already registered")
            if user.google_subject is not None and other.google_subject == user.google_subject:
                raise AlreadyExists("that Google account is already linked to another user")

    async def add(self, user: User) -> None:
        if user.id in self._users:
            raise AlreadyExists(f"user {user.id} already exists")
        self._check_unique(user)
        self._users.put(user.id, _copy(user), insert=True)

    async def get(self, user_id: UUID) -> User | None:
        return _copy(self._users.get(user_id))

    async def get_by_email(self, email: str) -> User | None:
        wanted = email.strip().casefold()
        for user in self._users.values():
            if user.email.casefold() == wanted:
                return _copy(user)
        return None

    async def get_by_google_subject(self, subject: str) -> User | None:
        for user in self._users.values():
            if user.google_subject == subject:
                return _copy(user)
        return None

    async def save(self, user: User) -> None:
        if user.id not in self._users:
            raise NotFound("user", user.id)
        self._check_unique(user)
        self._users.put(user.id, _copy(user))

    async def list(self, query: UserQuery) -> Page[User]:
        needle = query.search.strip().casefold() if query.search else None
        found = [
            user
            for user in self._users.values()
            if (query.role is None or user.role is query.role)
            and (query.is_active is None or user.is_active is query.is_active)
            and (
                needle is None
                or needle in user.email.casefold()
                or needle in user.full_name.casefold()
            )
        ]
        found.sort(key=lambda u: (u.created_at, u.email))
        return _page([_copy(u) for u in found], query.page)

    def validate_commit(self) -> None:
        for user_id in self._users.inserts_taken():
            raise AlreadyExists(f"user {user_id} already exists")
        for _, user in self._users.written():
            self._check_unique(user)


# ------------------------------------------------------------------------------- patients


class InMemoryPatientRepository(_Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._patients = tables.patients
        self._users = tables.users

    async def get(self, user_id: UUID) -> PatientProfile | None:
        return _copy(self._patients.get(user_id))

    async def save(self, profile: PatientProfile) -> None:
        if profile.user_id not in self._users:
            raise NotFound("user", profile.user_id)
        self._patients.put(profile.user_id, _copy(profile))

    def validate_commit(self) -> None:
        # Users are never deleted, so the reference checked on save still holds.
        pass


# ----------------------------------------------------------------------------- specialties


class InMemorySpecialtyRepository(_Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._specialties = tables.specialties

    def _check_unique(self, specialty: Specialty) -> None:
        name = specialty.name.casefold()
        for other in self._specialties.values():
            if other.id != specialty.id and other.name.casefold() == name:
                raise AlreadyExists(f"a specialty named {specialty.name!r} exists already")

    async def add(self, specialty: Specialty) -> None:
        if specialty.id in self._specialties:
            raise AlreadyExists(f"specialty {specialty.id} already exists")
        self._check_unique(specialty)
        self._specialties.put(specialty.id, _copy(specialty), insert=True)

    async def get(self, specialty_id: UUID) -> Specialty | None:
        return _copy(self._specialties.get(specialty_id))

    async def save(self, specialty: Specialty) -> None:
        if specialty.id not in self._specialties:
            raise NotFound("specialty", specialty.id)
        self._check_unique(specialty)
        self._specialties.put(specialty.id, _copy(specialty))

    async def list(self) -> Sequence[Specialty]:
        found = sorted(self._specialties.values(), key=lambda s: (s.name.casefold(), s.id))
        return [_copy(s) for s in found]

    def validate_commit(self) -> None:
        for specialty_id in self._specialties.inserts_taken():
            raise AlreadyExists(f"specialty {specialty_id} already exists")
        for _, specialty in self._specialties.written():
            self._check_unique(specialty)


# -------------------------------------------------------------------------------- doctors


class InMemoryDoctorRepository(_Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._doctors = tables.doctors
        self._users = tables.users
        self._specialties = tables.specialties

    def _check(self, doctor: Doctor) -> None:
        if doctor.user_id not in self._users:
            raise NotFound("user", doctor.user_id)
        if doctor.specialty_id not in self._specialties:
            raise NotFound("specialty", doctor.specialty_id)
        for other in self._doctors.values():
            if other.user_id != doctor.user_id and other.licence_number == doctor.licence_number:
                raise AlreadyExists(f"licence number {doctor.licence_number} is already registered")

    async def add(self, doctor: Doctor) -> None:
        if doctor.user_id in self._doctors:
            raise AlreadyExists(f"doctor {doctor.user_id} already exists")
        self._check(doctor)
        self._doctors.put(doctor.user_id, _copy(doctor), insert=True)

    async def get(self, doctor_id: UUID) -> Doctor | None:
        return _copy(self._doctors.get(doctor_id))

    async def save(self, doctor: Doctor) -> None:
        if doctor.user_id not in self._doctors:
            raise NotFound("doctor", doctor.user_id)
        self._check(doctor)
        self._doctors.put(doctor.user_id, _copy(doctor))

    def _full_name(self, doctor: Doctor) -> str:
        user = self._users.get(doctor.user_id)
        return user.full_name if user is not None else ""

    async def list(self, query: DoctorQuery) -> Page[Doctor]:
        needle = query.name.strip().casefold() if query.name else None
        named = [(self._full_name(d), d) for d in self._doctors.values()]
        found = [
            (name, doctor)
            for name, doctor in named
            if (query.specialty_id is None or doctor.specialty_id == query.specialty_id)
            and (needle is None or needle in name.casefold())
        ]
        found.sort(key=lambda pair: (pair[0].casefold(), pair[1].user_id))
        return _page([_copy(d) for _, d in found], query.page)

    def validate_commit(self) -> None:
        for doctor_id in self._doctors.inserts_taken():
            raise AlreadyExists(f"doctor {doctor_id} already exists")
        for _, doctor in self._doctors.written():
            self._check(doctor)


# --------------------------------------------------------------------------- availability


def _extra_touches(extra: ExtraHours, zone: ZoneInfo, window: TimeSlot) -> bool:
    naive_start, naive_end = extra.interval.on(extra.on)
    start = naive_start.replace(tzinfo=zone).astimezone(UTC)
    end = naive_end.replace(tzinfo=zone).astimezone(UTC)
    # A DST jump can make a wall-clock interval shrink or invert: widen by an hour
    # either side rather than risk leaving out hours that count.
    margin = timedelta(hours=1)
    return start - margin < window.end and window.start < end + margin


class InMemoryAvailabilityRepository(_Repository):
    def __init__(self, tables: StoreTables, ids: IdGenerator) -> None:
        self._doctors = tables.doctors
        self._weekly = tables.weekly_hours
        self._time_off = tables.time_off
        self._extra = tables.extra_hours
        self._ids = ids

    def _doctor(self, doctor_id: UUID) -> Doctor:
        doctor = self._doctors.get(doctor_id)
        if doctor is None:
            raise NotFound("doctor", doctor_id)
        return doctor

    async def get(self, doctor_id: UUID, window: TimeSlot | None = None) -> DoctorAvailability:
        doctor = self._doctor(doctor_id)
        zone = ZoneInfo(doctor.timezone)
        weekly = self._weekly.get(doctor_id) or WeeklyHours()
        extra = sorted(
            (
                row.value
                for row in self._extra.values()
                if row.doctor_id == doctor_id
                and (window is None or _extra_touches(row.value, zone, window))
            ),
            key=lambda e: (e.on, e.interval),
        )
        time_off = sorted(
            (
                row.value
                for row in self._time_off.values()
                if row.doctor_id == doctor_id
                and (window is None or row.value.slot.overlaps(window))
            ),
            key=lambda t: (t.slot, t.reason),
        )
        return DoctorAvailability(
            timezone=doctor.timezone,
            weekly=_copy(weekly),
            extra_hours=tuple(extra),
            time_off=tuple(time_off),
        )

    async def replace_weekly(self, doctor_id: UUID, weekly: WeeklyHours) -> None:
        self._doctor(doctor_id)
        self._weekly.put(doctor_id, _copy(weekly))

    async def add_time_off(self, doctor_id: UUID, time_off: TimeOff) -> UUID:
        self._doctor(doctor_id)
        row_id = self._ids.new_id()
        self._time_off.put(row_id, Owned(doctor_id, time_off), insert=True)
        return row_id

    async def add_extra_hours(self, doctor_id: UUID, extra: ExtraHours) -> UUID:
        self._doctor(doctor_id)
        row_id = self._ids.new_id()
        self._extra.put(row_id, Owned(doctor_id, extra), insert=True)
        return row_id


# --------------------------------------------------------------------------- appointments


def _by_start(appointment: Appointment) -> tuple[datetime, UUID]:
    return appointment.slot.start, appointment.id


class InMemoryAppointmentRepository(_Repository):
    def __init__(self, tables: StoreTables, track: Callable[[Appointment], None]) -> None:
        self._appointments = tables.appointments
        self._users = tables.users
        self._doctors = tables.doctors
        self._track = track
        #: Version each updated row must still have in the store at commit time.
        self._expected_committed: dict[UUID, int] = {}

    def _out(self, rows: Iterable[Appointment]) -> builtins.list[Appointment]:
        """Copies for the caller, tracked so the unit of work collects their events."""
        result = []
        for row in rows:
            appointment = _copy_appointment(row)
            self._track(appointment)
            result.append(appointment)
        return result

    def _check_overlap(self, appointment: Appointment) -> None:
        """What the exclusion constraints do: no two occupying rows overlap per doctor/patient."""
        if not appointment.is_occupying:
            return
        conflicts = find_conflicts(
            appointment.slot,
            doctor_id=appointment.doctor_id,
            patient_id=appointment.patient_id,
            existing=self._appointments.values(),
            ignore=(appointment.id,),
        )
        if conflicts:
            raise SlotConflict(c.id for c in conflicts)

    async def add(self, appointment: Appointment) -> None:
        if appointment.id in self._appointments:
            raise AlreadyExists(f"appointment {appointment.id} already exists")
        if appointment.patient_id not in self._users:
            raise NotFound("patient", appointment.patient_id)
        if appointment.doctor_id not in self._doctors:
            raise NotFound("doctor", appointment.doctor_id)
        self._check_overlap(appointment)
        self._appointments.put(appointment.id, _copy_appointment(appointment), insert=True)
        self._track(appointment)

    async def get(self, appointment_id: UUID, *, for_update: bool = False) -> Appointment | None:
        # ``for_update`` needs no lock here: a serialized unit of work already excludes
        # every other writer, and commit re-checks versions for the others.
        row = self._appointments.get(appointment_id)
        if row is None:
            return None
        return self._out([row])[0]

    async def save(self, appointment: Appointment, *, expected_version: int) -> None:
        current = self._appointments.get(appointment.id)
        if current is None:
            raise NotFound("appointment", appointment.id)
        if current.version != expected_version:
            raise StaleVersion("appointment", appointment.id, expected_version, current.version)
        self._check_overlap(appointment)
        if (
            appointment.id not in self._appointments.inserted
            and appointment.id not in self._expected_committed
        ):
            self._expected_committed[appointment.id] = expected_version
        self._appointments.put(appointment.id, _copy_appointment(appointment))
        self._track(appointment)

    async def occupying_overlapping(
        self, slot: TimeSlot, *, doctor_id: UUID, patient_id: UUID
    ) -> Sequence[Appointment]:
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if a.is_occupying
                and (a.doctor_id == doctor_id or a.patient_id == patient_id)
                and a.slot.overlaps(slot)
            ),
            key=_by_start,
        )
        return self._out(found)

    async def busy_slots(self, doctor_id: UUID, window: TimeSlot) -> Sequence[TimeSlot]:
        return sorted(
            a.slot
            for a in self._appointments.values()
            if a.doctor_id == doctor_id and a.is_occupying and a.slot.overlaps(window)
        )

    async def list(self, query: AppointmentQuery) -> Page[Appointment]:
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if (query.patient_id is None or a.patient_id == query.patient_id)
                and (query.doctor_id is None or a.doctor_id == query.doctor_id)
                and (query.statuses is None or a.status in query.statuses)
                and (query.starts_from is None or a.slot.start >= query.starts_from)
                and (query.starts_before is None or a.slot.start < query.starts_before)
            ),
            key=_by_start,
        )
        page = _page(found, query.page)
        return Page(self._out(page.items), page.total, page.limit, page.offset)

    async def approved_starting_between(
        self, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if a.status is AppointmentStatus.APPROVED and start <= a.slot.start < end
            ),
            key=_by_start,
        )
        return self._out(found)

    async def overdue(self, now: datetime, *, approved_before: datetime) -> Sequence[Appointment]:
        found = sorted(
            (
                a
                for a in self._appointments.values()
                if (a.status is AppointmentStatus.PENDING and a.slot.start < now)
                or (a.status is AppointmentStatus.APPROVED and a.slot.start < approved_before)
            ),
            key=_by_start,
        )
        return self._out(found)

    async def exists_between(self, doctor_id: UUID, patient_id: UUID) -> bool:
        return any(
            a.doctor_id == doctor_id
            and a.patient_id == patient_id
            and a.status is not AppointmentStatus.ENTERED_IN_ERROR
            for a in self._appointments.values()
        )

    def validate_commit(self) -> None:
        for appointment_id in self._appointments.inserts_taken():
            raise AlreadyExists(f"appointment {appointment_id} already exists")
        committed = self._appointments.base
        for appointment_id, expected in self._expected_committed.items():
            row = committed.get(appointment_id)
            actual = row.version if row is not None else None
            if actual != expected:
                raise StaleVersion("appointment", appointment_id, expected, actual)
        for _, appointment in self._appointments.written():
            self._check_overlap(appointment)

    def reset(self) -> None:
        self._expected_committed.clear()


# -------------------------------------------------------------------------- notifications


class InMemoryNotificationRepository(_Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._notifications = tables.notifications
        self._users = tables.users

    def _dedupe_taken(self, notification: Notification) -> bool:
        return any(
            other.dedupe_key == notification.dedupe_key and other.id != notification.id
            for other in self._notifications.values()
        )

    async def add(self, notification: Notification) -> bool:
        if self._dedupe_taken(notification):
            return False
        if notification.id in self._notifications:
            raise AlreadyExists(f"notification {notification.id} already exists")
        if notification.recipient_id not in self._users:
            raise NotFound("user", notification.recipient_id)
        self._notifications.put(notification.id, _copy(notification), insert=True)
        return True

    async def get(self, notification_id: UUID) -> Notification | None:
        return _copy(self._notifications.get(notification_id))

    async def save(self, notification: Notification) -> None:
        if notification.id not in self._notifications:
            raise NotFound("notification", notification.id)
        self._notifications.put(notification.id, _copy(notification))

    def _in_app(self, recipient_id: UUID) -> builtins.list[Notification]:
        return [
            n
            for n in self._notifications.values()
            if n.recipient_id == recipient_id and n.channel is Channel.IN_APP
        ]

    async def list_for(
        self, recipient_id: UUID, *, unread_only: bool = False, page: PageRequest = _DEFAULT_PAGE
    ) -> Page[Notification]:
        found = [n for n in self._in_app(recipient_id) if not (unread_only and n.is_read)]
        found.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return _page([_copy(n) for n in found], page)

    async def unread_count(self, recipient_id: UUID) -> int:
        return sum(1 for n in self._in_app(recipient_id) if not n.is_read)

    async def pending_delivery(self, *, limit: int) -> Sequence[Notification]:
        found = sorted(
            (
                n
                for n in self._notifications.values()
                if n.status is DeliveryStatus.PENDING and n.channel is not Channel.IN_APP
            ),
            key=lambda n: (n.created_at, n.id),
        )
        return [_copy(n) for n in found[: max(limit, 0)]]

    async def mark_all_read(self, recipient_id: UUID, now: datetime) -> int:
        changed = 0
        for notification in self._in_app(recipient_id):
            if notification.is_read:
                continue
            updated = _copy(notification)
            updated.mark_read(now)
            self._notifications.put(updated.id, updated)
            changed += 1
        return changed

    async def delete(self, notification_id: UUID) -> None:
        if notification_id not in self._notifications:
            raise NotFound("notification", notification_id)
        self._notifications.delete(notification_id)

    def validate_commit(self) -> None:
        for notification_id in self._notifications.inserts_taken():
            raise AlreadyExists(f"notification {notification_id} already exists")
        for notification_id in self._notifications.inserted:
            row = self._notifications.get(notification_id)
            if row is not None and self._dedupe_taken(row):
                raise AlreadyExists(f"a notification with key {row.dedupe_key} exists already")


# ---------------------------------------------------------------------------------- audit


class InMemoryAuditLog(_Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._entries = tables.audit

    async def add(self, entry: AuditEntry) -> None:
        if entry.id in self._entries:
            raise AlreadyExists(f"audit entry {entry.id} already exists")
        self._entries.put(entry.id, _copy(entry), insert=True)

    async def list(
        self,
        *,
        target_id: str | None = None,
        actor_id: UUID | None = None,
        page: PageRequest = _DEFAULT_PAGE,
        action: str | None = None,
        at_from: datetime | None = None,
        at_before: datetime | None = None,
    ) -> Page[AuditEntry]:
        found = [
            e
            for e in self._entries.values()
            if (target_id is None or e.target_id == target_id)
            and (actor_id is None or e.actor_id == actor_id)
            and (action is None or e.action == action)
            and (at_from is None or e.at >= at_from)
            and (at_before is None or e.at < at_before)
        ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return _page([_copy(e) for e in found], page)

    def validate_commit(self) -> None:
        for entry_id in self._entries.inserts_taken():
            raise AlreadyExists(f"audit entry {entry_id} already exists")


# ---------------------------------------------------------------------------- idempotency


class InMemoryIdempotencyStore(_Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._records = tables.idempotency

    async def get(self, key: str, user_id: UUID, now: datetime) -> IdempotencyRecord | None:
        record = self._records.get((user_id, key))
        if record is None or record.expires_at <= now:
            return None
        return record  # frozen, bytes body: nothing to copy

    async def put(self, record: IdempotencyRecord) -> bool:
        existing = self._records.get((record.user_id, record.key))
        if existing is not None and existing.expires_at > record.created_at:
            return False
        self._records.put((record.user_id, record.key), record, insert=existing is None)
        return True

    async def purge_expired(self, now: datetime) -> int:
        expired = [key for key, record in self._records.items() if record.expires_at <= now]
        for key in expired:
            self._records.delete(key)
        return len(expired)

    def validate_commit(self) -> None:
        for user_id, key in self._records.inserts_taken():
            raise AlreadyExists(f"idempotency key {key!r} of user {user_id} is taken")


class InMemoryProcessedEvents(_Repository):
    def __init__(self, tables: StoreTables, now: Callable[[], datetime]) -> None:
        self._seen = tables.processed_events
        self._now = now

    async def first_time(self, consumer: str, event_id: UUID) -> bool:
        if (consumer, event_id) in self._seen:
            return False
        self._seen.put((consumer, event_id), self._now(), insert=True)
        return True

    def validate_commit(self) -> None:
        for consumer, event_id in self._seen.inserts_taken():
            raise AlreadyExists(f"{consumer} has processed event {event_id} already")
