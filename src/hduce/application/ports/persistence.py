"""Persistence ports: repositories, the unit of work, and the queries and pages they take.

A use case opens a unit of work, reads and writes through its repositories, emits
domain events (written to the outbox in the same transaction) and commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Generic, Protocol, Self, TypeVar
from uuid import UUID

from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.devices import Device
from hduce.domain.events import DomainEvent
from hduce.domain.identity import PatientProfile, Role, User
from hduce.domain.institutions import Institution
from hduce.domain.notifications import Notification
from hduce.domain.scheduling import DoctorAvailability, ExtraHours, TimeOff, TimeSlot, WeeklyHours
from hduce.domain.series import RecurringSeries, SeriesMember
from hduce.domain.visit_types import VisitType
from hduce.domain.waitlist import WaitlistEntry, WaitlistOffer

T = TypeVar("T")

# ------------------------------------------------------------------ queries and pages


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class AppointmentQuery:
    """Filters of "list appointments". ``None`` means "any"."""

    patient_id: UUID | None = None
    doctor_id: UUID | None = None
    statuses: frozenset[AppointmentStatus] | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    page: PageRequest = field(default_factory=PageRequest)
    #: Only visits at this institution (ADR 0025; an admin scoped to one: ADR 0026).
    institution_id: UUID | None = None


# The read model's rows are built by the hundred per page: not frozen, because a frozen
# data class sets each field through ``object.__setattr__`` (nine times the cost of its
# plain ``__init__``, measured: 53 us against 6 for 20 appointments). Read them only.


@dataclass(slots=True)
class ListedStatusChange:
    """A line of a listed appointment's history, as its readers see it (no actor id)."""

    from_status: AppointmentStatus | None
    to_status: AppointmentStatus
    at: datetime
    actor_role: Role
    reason: str | None


@dataclass(slots=True)
class ListedAppointment:
    """An appointment of a page of "list appointments", read for its readers only (the
    read model of ``AppointmentRepository.list_listed``): what both parties and admins
    see, without the domain aggregate's rules. The fields are in the order of the
    HTTP view, which encodes them as they are."""

    id: UUID
    patient_id: UUID
    doctor_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    reason: str
    doctor_notes: str | None
    cancelled_by: Role | None
    cancellation_reason: str | None
    rejection_reason: str | None
    replaces: UUID | None
    check_in_code: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    visit_type_id: UUID | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    institution_id: UUID | None
    #: Oldest first: the booking (``from_status`` None), then every change.
    history: list[ListedStatusChange]

    @classmethod
    def of(cls, appointment: Appointment) -> ListedAppointment:
        """The listed form of an aggregate (the in-memory store's read model)."""
        return cls(
            id=appointment.id,
            patient_id=appointment.patient_id,
            doctor_id=appointment.doctor_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            status=appointment.status,
            reason=appointment.reason,
            doctor_notes=appointment.doctor_notes,
            cancelled_by=appointment.cancelled_by,
            cancellation_reason=appointment.cancellation_reason,
            rejection_reason=appointment.rejection_reason,
            replaces=appointment.replaces,
            check_in_code=appointment.check_in_code,
            version=appointment.version,
            created_at=appointment.created_at,
            updated_at=appointment.updated_at,
            visit_type_id=appointment.visit_type_id,
            buffer_before_minutes=int(appointment.buffers.before.total_seconds() // 60),
            buffer_after_minutes=int(appointment.buffers.after.total_seconds() // 60),
            institution_id=appointment.institution_id,
            history=[
                ListedStatusChange(
                    change.from_status,
                    change.to_status,
                    change.at,
                    change.actor_role,
                    change.reason,
                )
                for change in appointment.history
            ],
        )


@dataclass(frozen=True, slots=True)
class UserQuery:
    role: Role | None = None
    search: str | None = None  # matched against email and full name, case-insensitively
    is_active: bool | None = None
    page: PageRequest = field(default_factory=PageRequest)
    #: Only patients in the care of this doctor (``hduce.domain.privacy.establishes_care``).
    in_care_of: UUID | None = None


@dataclass(frozen=True, slots=True)
class DoctorQuery:
    specialty_id: UUID | None = None
    name: str | None = None  # substring of the doctor's full name, case-insensitive
    page: PageRequest = field(default_factory=PageRequest)
    #: Only doctors who work at this institution (ADR 0025).
    institution_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class InstitutionQuery:
    """Filters of "list institutions"; sorted by name, then id."""

    is_active: bool | None = None
    name: str | None = None  # substring, case-insensitive
    #: Only these (an admin scoped to some institutions sees those); None: any.
    ids: frozenset[UUID] | None = None
    page: PageRequest = field(default_factory=PageRequest)


# ------------------------------------------------------------------ repositories


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Raises AlreadyExists when the email (case-insensitive) is taken."""
        ...

    async def get(self, user_id: UUID) -> User | None: ...
    async def get_many(self, user_ids: Sequence[UUID]) -> dict[UUID, User]:
        """The users among ``user_ids`` that exist, by id (one query)."""
        ...

    async def get_by_email(self, email: str) -> User | None: ...
    async def get_by_google_subject(self, subject: str) -> User | None: ...
    async def save(self, user: User) -> None: ...
    async def list(self, query: UserQuery) -> Page[User]: ...


class PatientRepository(Protocol):
    async def get(self, user_id: UUID) -> PatientProfile | None: ...
    async def save(self, profile: PatientProfile) -> None:
        """Insert or update the profile of ``profile.user_id``."""
        ...


class SpecialtyRepository(Protocol):
    async def add(self, specialty: Specialty) -> None:
        """Raises AlreadyExists when the name (case-insensitive) is taken."""
        ...

    async def get(self, specialty_id: UUID) -> Specialty | None: ...
    async def save(self, specialty: Specialty) -> None: ...
    async def list(self) -> Sequence[Specialty]: ...


class DoctorRepository(Protocol):
    async def add(self, doctor: Doctor) -> None:
        """Raises AlreadyExists when the licence number is taken."""
        ...

    async def get(self, doctor_id: UUID) -> Doctor | None: ...
    async def save(self, doctor: Doctor) -> None: ...
    async def list(self, query: DoctorQuery) -> Page[Doctor]: ...


@dataclass(frozen=True, slots=True)
class AccountStanding:
    """What booking asks of the patient's account: is it a patient's, active, verified."""

    role: Role
    is_active: bool
    email_verified: bool


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What a booking reads before it decides (``AvailabilityRepository.for_booking``)."""

    #: The patient's account; None when there is no account with that id.
    patient: AccountStanding | None
    #: The doctor's usual visit length; None when there is no such doctor or their
    #: account is inactive (then ``availability`` means nothing).
    visit_length: timedelta | None
    #: The doctor's availability around the window asked for; None with no such doctor.
    availability: DoctorAvailability | None


class AvailabilityRepository(Protocol):
    async def get(self, doctor_id: UUID, window: TimeSlot | None = None) -> DoctorAvailability:
        """Weekly hours, plus the extra hours and time off that touch ``window`` (all if None).

        A doctor with no hours set gets an empty availability in their timezone.
        """
        ...

    async def for_booking(
        self, doctor_id: UUID, patient_id: UUID, window: TimeSlot
    ) -> BookingFacts:
        """The patient's account, the doctor's visit length if the doctor's account is
        active, and ``get(doctor_id, window)``: in one round trip where the store can
        (the booking's hot path reads them all, one after another)."""
        ...

    async def replace_weekly(self, doctor_id: UUID, weekly: WeeklyHours) -> None: ...
    async def lock(self, doctor_id: UUID) -> None:
        """Hold the doctor's calendar until the transaction ends, so that a change that
        reads it first (hours at one institution, checked against the others) is not
        raced by another (``SELECT ... FOR UPDATE`` of the doctor on PostgreSQL; the
        serialized unit of work's write lock elsewhere). NotFound for no such doctor."""
        ...

    async def add_time_off(self, doctor_id: UUID, time_off: TimeOff) -> UUID: ...
    async def add_extra_hours(self, doctor_id: UUID, extra: ExtraHours) -> UUID: ...


class InstitutionRepository(Protocol):
    """Institutions and their members (ADR 0025)."""

    async def add(self, institution: Institution) -> None: ...
    async def get(self, institution_id: UUID) -> Institution | None: ...
    async def get_many(self, institution_ids: Sequence[UUID]) -> dict[UUID, Institution]:
        """The ones that exist, by id."""
        ...

    async def save(self, institution: Institution, *, expected_version: int) -> None:
        """Raises StaleVersion when the stored version is not ``expected_version``."""
        ...

    async def list(self, query: InstitutionQuery) -> Page[Institution]: ...
    async def add_member(self, institution_id: UUID, doctor_id: UUID) -> bool:
        """False when the doctor works there already."""
        ...

    async def remove_member(self, institution_id: UUID, doctor_id: UUID) -> bool:
        """False when the doctor did not work there."""
        ...

    async def institutions_of(self, doctor_id: UUID) -> Sequence[UUID]:
        """The institutions the doctor works at, sorted."""
        ...


class AppointmentRepository(Protocol):
    async def add(self, appointment: Appointment) -> None:
        """Insert a new appointment with its history.

        Raises SlotConflict (listing the conflicting ids) when the storage itself
        refuses an overlap, e.g. an exclusion constraint hit by a concurrent booking.
        """
        ...

    async def get(self, appointment_id: UUID, *, for_update: bool = False) -> Appointment | None:
        """``for_update`` locks the row until the transaction ends, where the store can."""
        ...

    async def save(self, appointment: Appointment, *, expected_version: int) -> None:
        """Write the appointment's changes and new history lines.

        Raises StaleVersion if the stored version is not ``expected_version``, and
        SlotConflict like ``add`` does.
        """
        ...

    async def occupying_overlapping(
        self,
        slot: TimeSlot,
        *,
        doctor_id: UUID,
        patient_id: UUID,
        blocked: TimeSlot | None = None,
    ) -> Sequence[Appointment]:
        """Occupying appointments of that doctor whose blocked range (visit and buffers)
        overlaps ``blocked`` (``slot`` when None), or of that patient overlapping ``slot``."""
        ...

    async def busy_slots(self, doctor_id: UUID, window: TimeSlot) -> Sequence[TimeSlot]:
        """The blocked ranges (visit and buffers) of the doctor's occupying
        appointments that overlap ``window``."""
        ...

    async def list(self, query: AppointmentQuery) -> Page[Appointment]:
        """Matching appointments sorted by start, then id."""
        ...

    async def list_listed(self, query: AppointmentQuery) -> Page[ListedAppointment]:
        """The same page as ``list``, read for display (``ListedAppointment``) without
        building the aggregates: the read model of ``GET /appointments``."""
        ...

    async def approved_starting_between(
        self, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        """APPROVED appointments with ``start <= starts_at < end`` (reminders)."""
        ...

    async def overdue(self, now: datetime, *, approved_before: datetime) -> Sequence[Appointment]:
        """Unanswered ones (PENDING, PROPOSED) that started before ``now`` and APPROVED
        ones that started before ``approved_before`` (the system expires them or marks
        them no-show)."""
        ...

    async def get_by_check_in_code(self, code: str) -> Appointment | None:
        """The appointment whose ``check_in_code`` is ``code`` (normalised), if any."""
        ...

    async def has_care_relationship(self, doctor_id: UUID, patient_id: UUID) -> bool:
        """True when an appointment of the patient with the doctor establishes care,
        by ``hduce.domain.privacy.establishes_care`` (a booking the patient or an admin
        made, or a proposal accepted; never a doctor's booking alone, nor a record
        entered in error). Lets a doctor read the records of their patients."""
        ...


class VisitTypeRepository(Protocol):
    """A doctor's visit types (``hduce.domain.visit_types``)."""

    async def add(self, visit_type: VisitType) -> None: ...

    async def get(self, visit_type_id: UUID) -> VisitType | None: ...

    async def list_for(self, doctor_id: UUID) -> Sequence[VisitType]:
        """The doctor's visit types, by name then id."""
        ...

    async def save(self, visit_type: VisitType, *, expected_version: int) -> None:
        """Store ``visit_type`` (whose version is ``expected_version + 1``); StaleVersion
        when the stored one is no longer at ``expected_version``."""
        ...

    async def delete(self, visit_type_id: UUID) -> bool: ...


class SeriesRepository(Protocol):
    """Recurring series and which appointment is which occurrence (migration 0016)."""

    async def add(self, series: RecurringSeries, members: Sequence[SeriesMember]) -> None: ...
    async def get(self, series_id: UUID) -> RecurringSeries | None: ...
    async def members(self, series_id: UUID) -> list[SeriesMember]:
        """By occurrence index."""
        ...

    async def member_of(self, appointment_id: UUID) -> SeriesMember | None: ...
    async def relink(self, member: SeriesMember) -> None:
        """Point the occurrence ``member.index`` at ``member.appointment_id`` (its
        replacement after a reschedule)."""
        ...


class NotificationRepository(Protocol):
    async def add(self, notification: Notification) -> bool:
        """Store it unless one with the same dedupe key exists; True when stored."""
        ...

    async def add_all(self, notifications: Sequence[Notification]) -> list[Notification]:
        """``add`` for several at once (one statement); returns those stored, in order."""
        ...

    async def get(self, notification_id: UUID) -> Notification | None: ...
    async def save(self, notification: Notification) -> None: ...
    async def list_for(
        self, recipient_id: UUID, *, unread_only: bool = False, page: PageRequest = PageRequest()
    ) -> Page[Notification]:
        """In-app notifications of one person, newest first."""
        ...

    async def unread_count(self, recipient_id: UUID) -> int: ...
    async def pending_delivery(self, *, limit: int) -> Sequence[Notification]:
        """PENDING email/SMS notifications, oldest first, claimed or not (for a look)."""
        ...

    async def claim_pending(
        self, *, owner: UUID, now: datetime, lease: timedelta, limit: int
    ) -> Sequence[Notification]:
        """Claim up to ``limit`` of the oldest PENDING email/SMS notifications that no
        live claim holds (``Notification.is_claimable(now)``) for ``owner`` until
        ``now + lease``, counting one more attempt on each (``Notification.claim``).
        Returns them, claimed, oldest first.

        Two claims never get the same row: PostgreSQL locks the rows it takes and skips
        locked ones (``FOR UPDATE SKIP LOCKED``); SQLite and the in-memory store take
        their single write lock (claim in a ``serialized`` unit of work)."""
        ...

    async def record_delivery(self, notification: Notification, *, owner: UUID) -> bool:
        """Store the outcome of ``owner``'s claimed attempt (sent, failed or released)
        only if ``owner`` still holds the claim. False, writing nothing, when the claim
        was lost: its lease ran out and another worker claimed the row."""
        ...

    async def mark_all_read(self, recipient_id: UUID, now: datetime) -> int: ...
    async def delete(self, notification_id: UUID) -> None: ...
    async def list_after(
        self, recipient_id: UUID, after_id: UUID, *, limit: int
    ) -> Sequence[Notification]:
        """In-app notifications of one person with an id greater than ``after_id``,
        oldest first (ids are UUIDv7: their order is their creation order), at most
        ``limit``. ``after_id`` need not exist: it is only a position (the stream's
        ``Last-Event-ID``)."""
        ...


class DeviceRepository(Protocol):
    """Check-in devices (``hduce.domain.devices``)."""

    async def add(self, device: Device) -> None: ...
    async def get(self, device_id: UUID) -> Device | None: ...
    async def save(self, device: Device) -> None: ...
    async def record_seen(self, device_id: UUID, at: datetime) -> None:
        """Move the device's last-seen time forward to ``at`` (never back), in one
        statement: heartbeats of one device may be handled side by side."""
        ...

    async def list(self, page: PageRequest = PageRequest()) -> Page[Device]:
        """Every device, revoked ones included, by name then id."""
        ...


class AuditLog(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def list(
        self,
        *,
        target_id: str | None = None,
        actor_id: UUID | None = None,
        page: PageRequest = PageRequest(),
        action: str | None = None,
        at_from: datetime | None = None,
        at_before: datetime | None = None,
    ) -> Page[AuditEntry]:
        """Newest first. ``action`` matches exactly; ``at_from <= at < at_before``."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    user_id: UUID
    fingerprint: str  # hash of method, path and body: same key + other body is refused
    status_code: int
    body: bytes
    created_at: datetime
    expires_at: datetime


class IdempotencyStore(Protocol):
    async def get(self, key: str, user_id: UUID, now: datetime) -> IdempotencyRecord | None:
        """The stored response, unless expired."""
        ...

    async def put(self, record: IdempotencyRecord) -> bool:
        """Store it; False when a live record with that key and user exists already."""
        ...

    async def purge_expired(self, now: datetime) -> int: ...


class ProcessedEvents(Protocol):
    """The consumer's inbox: makes handlers idempotent by event id."""

    async def first_time(self, consumer: str, event_id: UUID) -> bool:
        """Record that ``consumer`` handled ``event_id``; False if it had already."""
        ...


class WaitlistRepository(Protocol):
    """Waitlist entries and the offers of freed slots (``hduce.domain.waitlist``)."""

    async def add_entry(self, entry: WaitlistEntry) -> None: ...
    async def get_entry(self, entry_id: UUID) -> WaitlistEntry | None: ...
    async def save_entry(self, entry: WaitlistEntry) -> None: ...
    async def entries_of(self, patient_id: UUID) -> Sequence[WaitlistEntry]:
        """The patient's waiting entries, oldest first."""
        ...

    async def waiting_for(self, doctor_id: UUID, slot: TimeSlot) -> Sequence[WaitlistEntry]:
        """Waiting entries of that doctor whose window holds ``slot``, in line order."""
        ...

    async def add_offer(self, offer: WaitlistOffer) -> bool:
        """Store a live offer; False (nothing stored) when the slot has a live offer
        already: at most one per (doctor, slot start), whoever tries at the same time."""
        ...

    async def get_offer(
        self, offer_id: UUID, *, for_update: bool = False
    ) -> WaitlistOffer | None: ...

    async def save_offer(self, offer: WaitlistOffer, *, expected_version: int) -> None:
        """Raises StaleVersion when the stored offer is not at ``expected_version``."""
        ...

    async def offered_patients(self, doctor_id: UUID, starts_at: datetime) -> set[UUID]:
        """Patients offered that slot already (any outcome): they are passed over."""
        ...

    async def live_offer(self, doctor_id: UUID, starts_at: datetime) -> WaitlistOffer | None: ...
    async def offers_of(self, patient_id: UUID) -> Sequence[WaitlistOffer]:
        """The patient's offers, newest first."""
        ...

    async def claim_expired(self, now: datetime, limit: int) -> Sequence[WaitlistOffer]:
        """Open offers past their hold time, locked for this transaction; rows another
        transaction holds are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED)."""
        ...

    async def claim_stuck_acceptances(self, now: datetime, limit: int) -> Sequence[WaitlistOffer]:
        """Offers still ``accepting`` past their deadline (``expires_at``), locked like
        ``claim_expired``."""
        ...


class Repositories(Protocol):
    """The repositories a unit of work hands out (``uow.users``, ...), listed here only.

    ``UnitOfWork`` extends it. The units of work of the adapters, and wrappers of one,
    subclass it explicitly: they inherit these typed declarations instead of repeating
    them, and assign each attribute (``REPOSITORY_NAMES`` lists them for code that
    handles every repository alike)."""

    users: UserRepository
    patients: PatientRepository
    specialties: SpecialtyRepository
    doctors: DoctorRepository
    availability: AvailabilityRepository
    institutions: InstitutionRepository
    appointments: AppointmentRepository
    visit_types: VisitTypeRepository
    series: SeriesRepository
    notifications: NotificationRepository
    audit: AuditLog
    idempotency: IdempotencyStore
    processed_events: ProcessedEvents
    devices: DeviceRepository
    waitlist: WaitlistRepository


#: The attribute names of ``Repositories``, in declaration order.
REPOSITORY_NAMES: Final[tuple[str, ...]] = tuple(Repositories.__annotations__)


class UnitOfWork(Repositories, Protocol):
    """One transaction per use case, with its ``Repositories``.

    Events recorded by the aggregates it loaded or added, and those passed to
    ``emit``, are written to the outbox in the same transaction on ``commit``.
    Leaving the block without ``commit`` rolls everything back.
    """

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def emit(self, event: DomainEvent) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, serialized: bool = False, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. ``serialized`` asks for a write transaction that the
        store serialises against other serialized ones (SQLite: BEGIN IMMEDIATE);
        stores with real constraints (PostgreSQL) may ignore it.

        ``read_only``: the use case only reads, with one statement's consistency (each
        repository call may see a newer committed state than the one before it). A
        store may then skip the transaction: PostgreSQL saves the ``BEGIN`` and
        ``ROLLBACK`` round trips. ``commit`` refuses to write anything."""
        ...
