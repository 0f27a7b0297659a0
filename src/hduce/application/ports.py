"""Ports: what the use cases need from the outside world, as Protocols.

Adapters implement these (adapters/memory for the embedded default and unit
tests, adapters/sql, adapters/redis, adapters/messaging... for production).
Nothing here knows about a database, a broker or HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, Generic, Protocol, Self, TypeVar
from uuid import UUID

from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.audit import AuditEntry
from hduce.domain.clinic import Doctor, Specialty
from hduce.domain.events import DomainEvent
from hduce.domain.identity import PatientProfile, Role, Sex, User
from hduce.domain.notifications import Notification
from hduce.domain.scheduling import DoctorAvailability, ExtraHours, TimeOff, TimeSlot, WeeklyHours

T = TypeVar("T")


# ------------------------------------------------------------------ small services


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


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


@dataclass(frozen=True, slots=True)
class UserQuery:
    role: Role | None = None
    search: str | None = None  # matched against email and full name, case-insensitively
    is_active: bool | None = None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, slots=True)
class DoctorQuery:
    specialty_id: UUID | None = None
    name: str | None = None  # substring of the doctor's full name, case-insensitive
    page: PageRequest = field(default_factory=PageRequest)


# ------------------------------------------------------------------ repositories


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Raises AlreadyExists when the email (case-insensitive) is taken."""
        ...

    async def get(self, user_id: UUID) -> User | None: ...
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


class AvailabilityRepository(Protocol):
    async def get(self, doctor_id: UUID, window: TimeSlot | None = None) -> DoctorAvailability:
        """Weekly hours, plus the extra hours and time off that touch ``window`` (all if None).

        A doctor with no hours set gets an empty availability in their timezone.
        """
        ...

    async def replace_weekly(self, doctor_id: UUID, weekly: WeeklyHours) -> None: ...
    async def add_time_off(self, doctor_id: UUID, time_off: TimeOff) -> UUID: ...
    async def add_extra_hours(self, doctor_id: UUID, extra: ExtraHours) -> UUID: ...


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
        self, slot: TimeSlot, *, doctor_id: UUID, patient_id: UUID
    ) -> Sequence[Appointment]:
        """Occupying appointments of that doctor or that patient overlapping ``slot``."""
        ...

    async def busy_slots(self, doctor_id: UUID, window: TimeSlot) -> Sequence[TimeSlot]:
        """The doctor's occupying appointments that overlap ``window``."""
        ...

    async def list(self, query: AppointmentQuery) -> Page[Appointment]:
        """Matching appointments sorted by start, then id."""
        ...

    async def approved_starting_between(
        self, start: datetime, end: datetime
    ) -> Sequence[Appointment]:
        """APPROVED appointments with ``start <= starts_at < end`` (reminders)."""
        ...

    async def overdue(self, now: datetime, *, approved_before: datetime) -> Sequence[Appointment]:
        """PENDING ones that started before ``now`` and APPROVED ones that started before
        ``approved_before`` (the system expires or marks them no-show)."""
        ...

    async def exists_between(self, doctor_id: UUID, patient_id: UUID) -> bool:
        """True when the patient has, or had, an appointment with the doctor in any
        status but ENTERED_IN_ERROR (a record made by mistake is no care relationship).
        Lets a doctor read the profile of their own patients (clinic API)."""
        ...


class NotificationRepository(Protocol):
    async def add(self, notification: Notification) -> bool:
        """Store it unless one with the same dedupe key exists; True when stored."""
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
        """PENDING email/SMS notifications, oldest first (for the delivery sweep)."""
        ...

    async def mark_all_read(self, recipient_id: UUID, now: datetime) -> int: ...
    async def delete(self, notification_id: UUID) -> None: ...


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


class UnitOfWork(Protocol):
    """One transaction per use case.

    Events recorded by the aggregates it loaded or added, and those passed to
    ``emit``, are written to the outbox in the same transaction on ``commit``.
    Leaving the block without ``commit`` rolls everything back.
    """

    users: UserRepository
    patients: PatientRepository
    specialties: SpecialtyRepository
    doctors: DoctorRepository
    availability: AvailabilityRepository
    appointments: AppointmentRepository
    notifications: NotificationRepository
    audit: AuditLog
    idempotency: IdempotencyStore
    processed_events: ProcessedEvents

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
    def __call__(self, *, serialized: bool = False) -> UnitOfWork:
        """A new unit of work. ``serialized`` asks for a write transaction that the
        store serialises against other serialized ones (SQLite: BEGIN IMMEDIATE);
        stores with real constraints (PostgreSQL) may ignore it."""
        ...


# ------------------------------------------------------------------ outbox and bus


@dataclass(frozen=True, slots=True)
class OutboxStats:
    backlog: int
    oldest_age_seconds: float


@dataclass(frozen=True, slots=True)
class RelayResult:
    published: int
    failed: bool  # the batch stopped at a publishing error; the rest waits for a retry


EventHandler = Callable[[DomainEvent], Awaitable[None]]


class Outbox(Protocol):
    async def relay_batch(self, limit: int, publish: EventHandler) -> RelayResult:
        """Take up to ``limit`` unpublished events in order, hand each to ``publish``
        and mark it published only once ``publish`` returned. Stops at the first
        failure (keeping order). Concurrent relays never take the same row at once."""
        ...

    async def stats(self, now: datetime) -> OutboxStats: ...

    async def purge_published(self, before: datetime) -> int:
        """Delete rows published before ``before`` (retention); returns how many."""
        ...


class EventPublisher(Protocol):
    async def publish(self, event: DomainEvent) -> None:
        """Returns once the bus has accepted the event (broker confirm)."""
        ...


# ------------------------------------------------------------------ delivery channels


class EmailSender(Protocol):
    async def send(self, *, to: str, subject: str, body: str) -> None: ...


class SmsSender(Protocol):
    async def send(self, *, to: str, body: str) -> None: ...


class RealtimeFanout(Protocol):
    """Live stream to connected clients (SSE)."""

    async def publish(self, user_id: UUID, message: dict[str, Any]) -> None: ...


# ------------------------------------------------------------------ health


class ReadinessProbe(Protocol):
    """One dependency the service needs. ``check`` returns when it is usable and
    raises (anything) when it is not."""

    @property
    def name(self) -> str: ...

    async def check(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReadinessProbes:
    """Every probe of this process (the container provides the holder)."""

    probes: tuple[ReadinessProbe, ...] = ()


# ------------------------------------------------------------------ cache and limits


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after_seconds: int


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision: ...


# ------------------------------------------------------------------ identity


class PasswordHasher(Protocol):
    """Slow, salted password hashing (Argon2id). Async: hashing costs tens of ms of CPU."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False when not or when the hash is unusable."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        ...


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A signed access token (JWT) and what the issuer put in it."""

    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime

    @property
    def expires_in(self) -> int:
        return max(0, int((self.expires_at - self.issued_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """What a verified access token says."""

    user_id: UUID
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime
    #: The refresh-token family (session) the token was issued for, when there is one.
    session_id: UUID | None = None


class AccessTokenIssuer(Protocol):
    def issue(
        self, *, user_id: UUID, role: Role, now: datetime, session_id: UUID | None = None
    ) -> AccessToken: ...


class AccessTokenVerifier(Protocol):
    def verify(self, token: str, *, now: datetime) -> AccessTokenClaims:
        """Signature, algorithm, ``iss``, ``aud``, ``exp``, ``iat``, ``sub``, ``jti``
        and ``role`` checked; raises ``AuthenticationFailed`` otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    """One refresh token as stored: only its SHA-256, never the token itself."""

    token_hash: str
    user_id: UUID
    family_id: UUID
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rotated:
    """The token was live; it is now rotated and its replacement stored in its family."""

    user_id: UUID
    family_id: UUID


@dataclass(frozen=True, slots=True)
class Reused:
    """The token had been rotated already: someone replays it. Revoke the family."""

    user_id: UUID
    family_id: UUID


@dataclass(frozen=True, slots=True)
class RefreshRefused:
    """Unknown, expired or revoked: nothing changed."""

    reason: str  # "unknown" | "expired" | "revoked"


RotateResult = Rotated | Reused | RefreshRefused


class RefreshTokenStore(Protocol):
    async def issue(self, record: RefreshTokenRecord) -> None:
        """Store a new token (the first of a family, at sign-in)."""
        ...

    async def rotate(
        self, token_hash: str, *, new_token_hash: str, now: datetime, expires_at: datetime
    ) -> RotateResult:
        """Atomically: if ``token_hash`` is live (not rotated, not revoked, not expired),
        mark it rotated and store ``new_token_hash`` in the same family -> ``Rotated``.
        Of two concurrent rotations of one token exactly one gets ``Rotated``; the other
        sees ``Reused``. The store does not revoke anything by itself."""
        ...

    async def find(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def revoke_family(self, family_id: UUID, *, now: datetime) -> int:
        """Revoke every live token of the family; returns how many were live."""
        ...

    async def revoke_all_for_user(self, user_id: UUID, *, now: datetime) -> int: ...

    async def purge_expired(self, now: datetime) -> int:
        """Forget tokens past their expiry (they can no longer be used or reused)."""
        ...


class TokenDenylist(Protocol):
    """Access-token ids (and session ids) refused before they expire (logout)."""

    async def deny(self, key: str, until: datetime) -> None:
        """Refuse ``key`` until ``until``; forgotten afterwards (the token is dead anyway)."""
        ...

    async def is_denied(self, *keys: str) -> bool:
        """True when any of ``keys`` is denied now."""
        ...


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """The verified claims of an OpenID Connect ID token."""

    subject: str
    email: str
    email_verified: bool
    name: str | None = None


class IdentityProviderUnavailable(Exception):
    """The identity provider could not be reached or answered nonsense (HTTP 503):
    not the user's fault, unlike a refused code or token (``AuthenticationFailed``)."""


class OidcProvider(Protocol):
    """An OpenID Connect provider (Google) using the authorization-code flow with PKCE."""

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser (S256 code challenge derived from ``code_verifier``)."""
        ...

    async def exchange_and_verify(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> OidcIdentity:
        """Redeem ``code`` and verify the ID token: signature against the provider's JWKS,
        ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``. Raises ``AuthenticationFailed``."""
        ...


# ------------------------------------------------------------------ realtime subscriptions
# (appointments & notifications HTTP: the SSE stream of /notifications/stream)


class RealtimeSubscriber(Protocol):
    """The listening side of ``RealtimeFanout``: one live subscription per open stream."""

    def subscribe(
        self, user_id: UUID
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Entering starts receiving ``user_id``'s messages (nothing published before);
        the iterator yields them in order and ends when the fan-out shuts down.
        Leaving stops the subscription."""
        ...


# ------------------------------------------------------------------ admin statistics (read side)
# (clinic API: GET /admin/stats)


class AgeBand(StrEnum):
    """A patient's age group on a given day; UNKNOWN without a date of birth."""

    UNDER_18 = "0-17"
    FROM_18_TO_39 = "18-39"
    FROM_40_TO_64 = "40-64"
    FROM_65 = "65+"
    UNKNOWN = "unknown"


#: The youngest age of each band, oldest band first: a patient belongs to the first
#: band whose youngest age they have reached (else to UNDER_18).
AGE_BAND_FLOORS: Final = (
    (AgeBand.FROM_65, 65),
    (AgeBand.FROM_40_TO_64, 40),
    (AgeBand.FROM_18_TO_39, 18),
)


def born_on_or_before(today: date, age: int) -> date:
    """The latest date of birth of someone at least ``age`` years old on ``today``.

    The same day ``age`` years earlier, or 28 February when that is a 29 February of a
    common year (a 29 February birthday is then on 1 March, the usual legal reading).
    """
    try:
        return today.replace(year=today.year - age)
    except ValueError:
        return today.replace(year=today.year - age, day=28)


def age_band(date_of_birth: date | None, today: date) -> AgeBand:
    if date_of_birth is None:
        return AgeBand.UNKNOWN
    for band, youngest in AGE_BAND_FLOORS:
        if date_of_birth <= born_on_or_before(today, youngest):
            return band
    return AgeBand.UNDER_18


@dataclass(frozen=True, slots=True)
class DoctorCount:
    doctor_id: UUID
    full_name: str
    specialty_id: UUID
    count: int


@dataclass(frozen=True, slots=True)
class SpecialtyCount:
    specialty_id: UUID
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class AppointmentFigures:
    """Appointments that start inside a window, whatever their status, counted several
    ways. Only non-empty groups appear; the sequences are in no particular order."""

    by_status: Mapping[AppointmentStatus, int]
    #: Keyed by the calendar day on the wall clock of the timezone asked for.
    by_day: Mapping[date, int]
    by_doctor: Sequence[DoctorCount]
    #: By the doctor's current specialty (appointments do not record one).
    by_specialty: Sequence[SpecialtyCount]


@dataclass(frozen=True, slots=True)
class PopulationFigures:
    """Who the clinic has now. Patients are every account with the patient role
    (active or not); one without a profile counts as sex and age band unknown."""

    #: Every specialty, those without doctors included (count 0); in no particular order.
    doctors_by_specialty: Sequence[SpecialtyCount]
    #: Only non-empty groups appear.
    patients_by_sex: Mapping[Sex, int]
    patients_by_age_band: Mapping[AgeBand, int]


class ClinicStatistics(Protocol):
    """Read-only aggregates for the admin dashboard, computed where the data lives."""

    async def appointments(
        self, start: datetime, end: datetime, *, timezone: str
    ) -> AppointmentFigures:
        """Appointments with ``start <= starts_at < end``; days in IANA ``timezone``."""
        ...

    async def population(self, today: date) -> PopulationFigures:
        """Doctors and patients as they are now; ages as of ``today``."""
        ...
