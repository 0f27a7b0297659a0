"""Tables of the SQL store, as SQLAlchemy declarative models.

These rows never leave ``hduce.adapters.sql``: repositories map them to and from the
domain's plain dataclasses. The same metadata serves PostgreSQL and SQLite:

* the registry maps ``uuid.UUID`` to ``GUID`` (native UUID on PostgreSQL, 16 bytes on
  SQLite), ``datetime`` to ``DateTimeUTC`` (always aware, stored as UTC) and ``dict`` to
  ``JsonDocument`` (JSONB on PostgreSQL, JSON text on SQLite), and gives constraints
  predictable names: advanced-alchemy's registry and naming convention, which the
  migrations were written with (the types are in ``types.py``, see there why).
* PostgreSQL-only pieces (the exclusion constraints that make double booking
  impossible) are marked ``ddl_if(dialect="postgresql")``; SQLite relies on
  ``BEGIN IMMEDIATE`` instead (see ``unit_of_work``).

Why not ``advanced_alchemy.base.UUIDBase``: ids come from the domain (UUIDv7), several
tables have natural or composite keys, and those bases add an ``sa_orm_sentinel``
column and share one global metadata with any other advanced-alchemy model in the
process. A private base with the same registry keeps the types and naming without that.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.orm import registry as orm_registry
from sqlalchemy.sql.elements import TextClause

from hduce.adapters.sql.types import GUID, DateTimeUTC, ExactDecimal, JsonDocument
from hduce.domain.appointments import OCCUPYING_STATUSES, AppointmentStatus
from hduce.domain.institutions import InstitutionKind

# --------------------------------------------------------------------------- shared SQL

#: Occupying statuses, sorted so every rendering of the predicate is byte-identical.
OCCUPYING_STATUS_VALUES: Final = tuple(sorted(status.value for status in OCCUPYING_STATUSES))
_OCCUPYING_SQL_LIST: Final = ", ".join(f"'{value}'" for value in OCCUPYING_STATUS_VALUES)


def occupying_predicate() -> TextClause:
    """``status IN (<occupying>)`` as the WHERE of partial indexes and constraints."""
    return text(f"status IN ({_OCCUPYING_SQL_LIST})")


def is_occupying(status: Any) -> ColumnElement[bool]:
    """The same predicate for queries, with the values as SQL literals, not parameters.

    Planners only use a partial index when they can prove the query implies the index's
    WHERE; PostgreSQL cannot prove it from bind parameters (generic plans), and SQLite
    requires the very same term. Literals make ``ix_*_occupying`` usable.
    """
    return status.in_([literal_column(f"'{value}'") for value in OCCUPYING_STATUS_VALUES])


def status_literal(status: AppointmentStatus) -> ColumnElement[str]:
    return literal_column(f"'{status.value}'")


def _values_check(column: str, values: Iterable[str]) -> str:
    listed = ", ".join(f"'{value}'" for value in sorted(values))
    return f"{column} IN ({listed})"


#: Storage invariant: no appointment lasts longer than this. It bounds the overlap
#: queries from above (an appointment overlapping ``[s, e)`` ends before ``e`` + this),
#: which turns them into tight index range scans instead of a walk over all of a
#: doctor's future visits. Visits are minutes to hours; the policy's default cap is 8 h.
MAX_APPOINTMENT_LENGTH: Final = timedelta(hours=24)

ROLES: Final = ("admin", "doctor", "patient")
ACTOR_ROLES: Final = ("admin", "doctor", "patient", "system")
APPOINTMENT_STATUSES: Final = tuple(sorted(status.value for status in AppointmentStatus))
INSTITUTION_KINDS: Final = tuple(sorted(kind.value for kind in InstitutionKind))


#: advanced-alchemy's naming convention (``advanced_alchemy.base.convention``): the
#: constraint names of every migration follow it.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the HDUCE tables (its own metadata)."""

    registry = orm_registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            UUID: GUID,
            datetime: DateTimeUTC,
            date: Date,
            dict: JsonDocument,
            dict[str, Any]: JsonDocument,
            dict[str, str]: JsonDocument,
        },
    )
    __abstract__ = True


metadata = Base.metadata


# --------------------------------------------------------------------------- identity


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (
        # The domain stores one spelling per address (normalise_email: NFKC, case
        # folded), so a plain unique index is the rule, on both databases.
        UniqueConstraint("email", name="uq_users_email"),
        UniqueConstraint("google_subject", name="uq_users_google_subject"),
        CheckConstraint(_values_check("role", ROLES), name="role"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        Index("ix_users_created_at", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    google_subject: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(String(64))
    email_opt_out: Mapped[bool] = mapped_column(default=False)
    sms_opt_out: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    tokens_valid_after: Mapped[datetime | None]
    email_verified_at: Mapped[datetime | None]
    #: Sorted ``"channel:kind"`` strings; NULL when none (migration 0018).
    notification_opt_outs: Mapped[list[str] | None] = mapped_column(JsonDocument)
    #: The institution an admin is scoped to; NULL: a global admin, and every other
    #: account (migration 0021, ADR 0026). No foreign key: institutions are never
    #: deleted, and the use case checks that it exists.
    admin_institution_id: Mapped[UUID | None]


class PatientProfileRow(Base):
    __tablename__ = "patient_profiles"

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    date_of_birth: Mapped[date | None]
    sex: Mapped[str] = mapped_column(String(16))
    emergency_contact_name: Mapped[str | None] = mapped_column(String(200))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(20))
    extra: Mapped[dict[str, str]]


# --------------------------------------------------------------------------- clinic


class SpecialtyRow(Base):
    __tablename__ = "specialties"
    __table_args__ = (UniqueConstraint("name_key", name="uq_specialties_name_key"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: ``name.casefold()``: the unique key that makes names case-insensitively unique
    #: without functional indexes (which SQLite and autogenerate handle poorly).
    name_key: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")


class DoctorRow(Base):
    __tablename__ = "doctors"
    __table_args__ = (
        UniqueConstraint("licence_number", name="uq_doctors_licence_number"),
        CheckConstraint("visit_minutes BETWEEN 5 AND 480", name="visit_minutes"),
        Index("ix_doctors_specialty_id", "specialty_id"),
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    licence_number: Mapped[str] = mapped_column(String(64))
    specialty_id: Mapped[UUID] = mapped_column(ForeignKey("specialties.id", ondelete="RESTRICT"))
    timezone: Mapped[str] = mapped_column(String(64))
    consultation_fee: Mapped[Decimal] = mapped_column(ExactDecimal())
    visit_minutes: Mapped[int] = mapped_column(SmallInteger)
    bio: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class InstitutionRow(Base):
    """A hospital, clinic or site (``hduce.domain.institutions``, ADR 0025)."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint(_values_check("kind", INSTITUTION_KINDS), name="kind"),
        Index("ix_institutions_name", "name"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class DoctorInstitutionRow(Base):
    """A doctor works at an institution (one row per doctor and place)."""

    __tablename__ = "doctor_institutions"
    # "Doctors at this institution": the search filter and the admin's scope.
    __table_args__ = (
        Index("ix_doctor_institutions_institution_id", "institution_id", "doctor_id"),
    )

    doctor_id: Mapped[UUID] = mapped_column(
        ForeignKey("doctors.user_id", ondelete="CASCADE"), primary_key=True
    )
    institution_id: Mapped[UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="RESTRICT"), primary_key=True
    )


class WorkingHoursRow(Base):
    """One weekly interval: wall-clock times in the doctor's timezone (end 00:00 = midnight)."""

    __tablename__ = "doctor_working_hours"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),)

    doctor_id: Mapped[UUID] = mapped_column(
        ForeignKey("doctors.user_id", ondelete="CASCADE"), primary_key=True
    )
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    start_time: Mapped[time] = mapped_column(primary_key=True)
    end_time: Mapped[time]
    #: Where these hours are worked; NULL: unassigned (every row before ADR 0025).
    institution_id: Mapped[UUID | None] = mapped_column(ForeignKey("institutions.id"))


class TimeOffRow(Base):
    __tablename__ = "doctor_time_off"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_length"),
        Index("ix_doctor_time_off_doctor_id_ends_at", "doctor_id", "ends_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    doctor_id: Mapped[UUID] = mapped_column(ForeignKey("doctors.user_id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


class ExtraHoursRow(Base):
    __tablename__ = "doctor_extra_hours"
    __table_args__ = (Index("ix_doctor_extra_hours_doctor_id_on_date", "doctor_id", "on_date"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    doctor_id: Mapped[UUID] = mapped_column(ForeignKey("doctors.user_id", ondelete="CASCADE"))
    on_date: Mapped[date]
    start_time: Mapped[time]
    end_time: Mapped[time]
    institution_id: Mapped[UUID | None] = mapped_column(ForeignKey("institutions.id"))


# --------------------------------------------------------------------------- appointments


def _no_overlap(column: str, start: str = "starts_at", end: str = "ends_at") -> ExcludeConstraint:
    """Two occupying appointments of one doctor (or one patient) never overlap.

    ``[)`` makes touching visits legal, exactly like ``TimeSlot.overlaps``. Needs the
    ``btree_gist`` extension (equality on a UUID inside a GiST index). The doctor's
    constraint compares the blocked ranges (visit plus buffers, ADR 0020), the
    patient's the visits.
    """
    return ExcludeConstraint(
        (literal_column(column), "="),
        (func.tstzrange(literal_column(start), literal_column(end), "[)"), "&&"),
        name=f"ex_appointments_{column}_overlap",
        using="gist",
        where=occupying_predicate(),
    ).ddl_if(dialect="postgresql")


class AppointmentRow(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_length"),
        # MAX_APPOINTMENT_LENGTH, in each dialect's date arithmetic.
        CheckConstraint("ends_at <= starts_at + interval '24 hours'", name="at_most_a_day").ddl_if(
            dialect="postgresql"
        ),
        CheckConstraint(
            "julianday(ends_at) - julianday(starts_at) <= 1", name="at_most_a_day"
        ).ddl_if(dialect="sqlite"),
        CheckConstraint(_values_check("status", APPOINTMENT_STATUSES), name="status"),
        _no_overlap("doctor_id", "blocked_starts_at", "blocked_ends_at"),
        _no_overlap("patient_id"),
        # "My appointments" lists, newest or oldest first, filtered by date.
        Index("ix_appointments_patient_id_starts_at", "patient_id", "starts_at"),
        Index("ix_appointments_doctor_id_starts_at", "doctor_id", "starts_at"),
        # The admin's list of everything, sorted by start.
        Index("ix_appointments_starts_at", "starts_at"),
        # Conflict check and free-slot search: only occupying rows, and only those still
        # ending after the slot starts (the past falls out of the scan range).
        Index(
            "ix_appointments_doctor_id_occupying",
            "doctor_id",
            "ends_at",
            postgresql_where=occupying_predicate(),
            sqlite_where=occupying_predicate(),
        ),
        Index(
            "ix_appointments_patient_id_occupying",
            "patient_id",
            "ends_at",
            postgresql_where=occupying_predicate(),
            sqlite_where=occupying_predicate(),
        ),
        # Reminders and the overdue sweep look at occupying rows by start time.
        Index(
            "ix_appointments_occupying_starts_at",
            "starts_at",
            postgresql_where=occupying_predicate(),
            sqlite_where=occupying_predicate(),
        ),
        # Deleting an appointment looks up the rows whose ``replaces`` points at it (ON
        # DELETE SET NULL); few rows replace another, hence partial (migration 0007).
        Index(
            "ix_appointments_replaces",
            "replaces",
            postgresql_where=text("replaces IS NOT NULL"),
            sqlite_where=text("replaces IS NOT NULL"),
        ),
        # A kiosk finds the appointment by the code it read (migration 0012).
        Index("ix_appointments_check_in_code", "check_in_code", unique=True),
        # Lists and statistics of one institution (migration 0019); few rows have none.
        Index(
            "ix_appointments_institution_id_starts_at",
            "institution_id",
            "starts_at",
            postgresql_where=text("institution_id IS NOT NULL"),
            sqlite_where=text("institution_id IS NOT NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    patient_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    doctor_id: Mapped[UUID] = mapped_column(ForeignKey("doctors.user_id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    #: The doctor's time the visit takes: ``starts_at - buffer before`` to ``ends_at +
    #: buffer after`` (equal to the visit without buffers). Stored, not computed, so
    #: that PostgreSQL's exclusion constraint can index it (ADR 0020).
    blocked_starts_at: Mapped[datetime]
    blocked_ends_at: Mapped[datetime]
    #: The visit type it was booked for; no foreign key: the booking keeps its own
    #: length and buffers, and outlives a deleted type.
    visit_type_id: Mapped[UUID | None]
    #: Where the visit takes place: the institution whose hours covered the slot when it
    #: was booked (ADR 0025); NULL for unassigned hours. No foreign key, as for the
    #: visit type: institutions are deactivated, never deleted.
    institution_id: Mapped[UUID | None]
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    doctor_notes: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    cancelled_by_id: Mapped[UUID | None]
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    replaces: Mapped[UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    #: Nullable only because SQLite cannot add a NOT NULL column to a table with rows;
    #: every row has one (new ones from the domain, older ones from migration 0012).
    check_in_code: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    history: Mapped[list[StatusHistoryRow]] = relationship(
        order_by="StatusHistoryRow.position", lazy="raise", viewonly=True
    )


class VisitTypeRow(Base):
    """A doctor's kind of visit and its booking rules (``hduce.domain.visit_types``)."""

    __tablename__ = "visit_types"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="duration_minutes"),
        CheckConstraint("buffer_before_minutes BETWEEN 0 AND 120", name="buffer_before_minutes"),
        CheckConstraint("buffer_after_minutes BETWEEN 0 AND 120", name="buffer_after_minutes"),
        Index("ix_visit_types_doctor_id", "doctor_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    doctor_id: Mapped[UUID] = mapped_column(ForeignKey("doctors.user_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    duration_minutes: Mapped[int] = mapped_column(SmallInteger)
    buffer_before_minutes: Mapped[int] = mapped_column(SmallInteger)
    buffer_after_minutes: Mapped[int] = mapped_column(SmallInteger)
    booking_horizon_days: Mapped[int] = mapped_column(SmallInteger)
    minimum_notice_minutes: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


class StatusHistoryRow(Base):
    """Append-only: rows are inserted, never updated (position = index in the history)."""

    __tablename__ = "appointment_status_history"
    __table_args__ = (CheckConstraint(_values_check("actor_role", ACTOR_ROLES), name="actor_role"),)

    appointment_id: Mapped[UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[UUID | None]
    reason: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- notifications


_PENDING_DELIVERY: Final = "status = 'pending' AND channel != 'in_app'"


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
        # "My notifications", newest first.
        Index(
            "ix_notifications_recipient_id_channel_created_at",
            "recipient_id",
            "channel",
            "created_at",
        ),
        # The delivery claim: email/SMS to send, oldest first, in index order (no sort).
        Index(
            "ix_notifications_pending_delivery",
            "created_at",
            "id",
            postgresql_where=text(_PENDING_DELIVERY),
            sqlite_where=text(_PENDING_DELIVERY),
        ),
        # The unread badge counts only unread rows.
        Index(
            "ix_notifications_unread",
            "recipient_id",
            postgresql_where=text("read_at IS NULL"),
            sqlite_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    recipient_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    dedupe_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # ``metadata`` is reserved on declarative classes; the column keeps the domain's name.
    details: Mapped[dict[str, Any]] = mapped_column("metadata")
    # The delivery worker sending it, until when (a lease: a dead worker's claim runs out).
    claimed_by: Mapped[UUID | None]
    claimed_until: Mapped[datetime | None]
    # The W3C trace context of the handler that stored it (tracing on; ADR 0012).
    trace_context: Mapped[dict[str, str] | None]


# --------------------------------------------------------------------------- audit


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_target_id_at", "target_id", "at"),
        Index("ix_audit_log_actor_id_at", "actor_id", "at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]]


# --------------------------------------------------------------------------- idempotency and inbox


# --------------------------------------------------------------------------- devices


class DeviceRow(Base):
    """Check-in devices (kiosks, QR readers) that talk MQTT (migration 0012)."""

    __tablename__ = "devices"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    location: Mapped[str] = mapped_column(String(200))
    #: SHA-256 (hex) of the device's secret; the secret itself is shown once.
    secret_hash: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime]
    registered_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]


class IdempotencyRow(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ProcessedEventRow(Base):
    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime]


# --------------------------------------------------------------------------- waitlist

#: Offers that hold their slot (``hduce.domain.waitlist.LIVE_OFFER_STATUSES``).
LIVE_OFFER_SQL: Final = "status IN ('accepting', 'offered')"


class WaitlistEntryRow(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        # Who waits for a doctor, in line order (the freed-slot handler's query).
        Index(
            "ix_waitlist_entries_waiting",
            "doctor_id",
            "created_at",
            postgresql_where=text("status = 'waiting'"),
            sqlite_where=text("status = 'waiting'"),
        ),
        Index("ix_waitlist_entries_patient_id", "patient_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    patient_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    doctor_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    visit_type: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    #: The doctor's visit type wanted (no foreign key: a type may be deleted).
    visit_type_id: Mapped[UUID | None]


class WaitlistOfferRow(Base):
    __tablename__ = "waitlist_offers"
    __table_args__ = (
        # One live offer per freed slot, however many workers try at once.
        Index(
            "uq_waitlist_offers_live_slot",
            "doctor_id",
            "starts_at",
            unique=True,
            postgresql_where=text(LIVE_OFFER_SQL),
            sqlite_where=text(LIVE_OFFER_SQL),
        ),
        # The expiry sweep: open offers by hold time.
        Index(
            "ix_waitlist_offers_open_expires_at",
            "expires_at",
            postgresql_where=text("status = 'offered'"),
            sqlite_where=text("status = 'offered'"),
        ),
        Index("ix_waitlist_offers_patient_id", "patient_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    entry_id: Mapped[UUID] = mapped_column(ForeignKey("waitlist_entries.id", ondelete="CASCADE"))
    patient_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    doctor_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    appointment_id: Mapped[UUID | None]
    #: The appointment whose end freed the slot (measures the freed time on pass-on).
    freed_appointment_id: Mapped[UUID | None]
    version: Mapped[int] = mapped_column(Integer)


# --------------------------------------------------------------------------- outbox


class OutboxRow(Base):
    """Events waiting for the broker, in commit-time insertion order (``sequence``).

    ``sequence`` is the primary key because SQLite can only auto-increment its rowid;
    the event id is unique. ``locked_by``/``locked_until`` are the SQLite relay's lease
    (PostgreSQL uses row locks with SKIP LOCKED instead).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("id", name="uq_outbox_id"),
        # The relay polls the unpublished rows in order; published ones are not indexed.
        Index(
            "ix_outbox_unpublished",
            "sequence",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
        Index("ix_outbox_published_at", "published_at"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[UUID]
    type: Mapped[str] = mapped_column(String(64))
    aggregate_id: Mapped[UUID]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[UUID | None]
    locked_until: Mapped[datetime | None]
    # The W3C trace context of the change that wrote it (tracing on; ADR 0012).
    trace_context: Mapped[dict[str, str] | None]
