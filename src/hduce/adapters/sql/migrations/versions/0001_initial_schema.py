"""Initial schema: identity, clinic, appointments, notifications, audit, outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Runs on PostgreSQL and SQLite. PostgreSQL additionally gets ``btree_gist`` and the
two exclusion constraints that make overlapping occupying appointments of one doctor
(or one patient) impossible, whatever the concurrency; SQLite serialises booking
transactions instead (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

from hduce.adapters.sql.types import ExactDecimal, JsonDocument

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


#: The WHERE of the exclusion constraints and the partial indexes: occupying statuses.
OCCUPYING = "status IN ('approved', 'checked_in', 'pending')"


#: The WHERE of the notification delivery sweep's partial index.
PENDING_DELIVERY = "status = 'pending' AND channel != 'in_app'"


def upgrade() -> None:
    if is_postgresql():
        # GiST cannot index "uuid WITH =" without btree_gist's operator classes.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "audit_log",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_id", GUID(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target_type", sa.String(length=50), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("details", JsonDocument, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_actor_id_at", "audit_log", ["actor_id", "at"], unique=False)
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_target_id_at", "audit_log", ["target_id", "at"], unique=False)
    op.create_table(
        "idempotency_records",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "user_id", name=op.f("pk_idempotency_records")),
    )
    op.create_index(
        "ix_idempotency_records_expires_at", "idempotency_records", ["expires_at"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", GUID(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("aggregate_id", GUID(), nullable=False),
        sa.Column("payload", JsonDocument, nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("published_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("locked_by", GUID(), nullable=True),
        sa.Column("locked_until", DateTimeUTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name="uq_outbox_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"], unique=False)
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["sequence"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", GUID(), nullable=False),
        sa.Column("processed_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "specialties",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_specialties")),
        sa.UniqueConstraint("name_key", name="uq_specialties_name_key"),
    )
    op.create_table(
        "users",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("google_subject", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("email_opt_out", sa.Boolean(), nullable=False),
        sa.Column("sms_opt_out", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'doctor', 'patient')", name=op.f("ck_users_role")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lower_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("google_subject", name="uq_users_google_subject"),
    )
    op.create_index("ix_users_created_at", "users", ["created_at"], unique=False)
    op.create_table(
        "doctors",
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=False),
        sa.Column("specialty_id", GUID(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("consultation_fee", ExactDecimal(), nullable=False),
        sa.Column("visit_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "visit_minutes BETWEEN 5 AND 480", name=op.f("ck_doctors_visit_minutes")
        ),
        sa.ForeignKeyConstraint(
            ["specialty_id"],
            ["specialties.id"],
            name=op.f("fk_doctors_specialty_id_specialties"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_doctors_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_doctors")),
        sa.UniqueConstraint("licence_number", name="uq_doctors_licence_number"),
    )
    op.create_index("ix_doctors_specialty_id", "doctors", ["specialty_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("recipient_id", GUID(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("read_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sent_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("metadata", JsonDocument, nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_notifications_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )
    op.create_index(
        "ix_notifications_recipient_id_channel_created_at",
        "notifications",
        ["recipient_id", "channel", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_notifications_pending_delivery",
        "notifications",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text(PENDING_DELIVERY),
        sqlite_where=sa.text(PENDING_DELIVERY),
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["recipient_id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL"),
    )
    op.create_table(
        "patient_profiles",
        sa.Column("user_id", GUID(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("emergency_contact_name", sa.String(length=200), nullable=True),
        sa.Column("emergency_contact_phone", sa.String(length=20), nullable=True),
        sa.Column("extra", JsonDocument, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_patient_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_patient_profiles")),
    )
    op.create_table(
        "appointments",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("patient_id", GUID(), nullable=False),
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("doctor_notes", sa.Text(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.Column("cancelled_by_id", GUID(), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("replaces", GUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('approved', 'cancelled', 'checked_in', 'completed', "
            "'entered_in_error', 'no_show', 'pending', 'rejected')",
            name=op.f("ck_appointments_status"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointments_positive_length")),
        # At most 24 hours (MAX_APPOINTMENT_LENGTH), in this dialect's date arithmetic.
        sa.CheckConstraint(
            "ends_at <= starts_at + interval '24 hours'"
            if is_postgresql()
            else "julianday(ends_at) - julianday(starts_at) <= 1",
            name=op.f("ck_appointments_at_most_a_day"),
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.user_id"],
            name=op.f("fk_appointments_doctor_id_doctors"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_appointments_patient_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["replaces"],
            ["appointments.id"],
            name=op.f("fk_appointments_replaces_appointments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(
        "ix_appointments_doctor_id_occupying",
        "appointments",
        ["doctor_id", "ends_at"],
        unique=False,
        postgresql_where=sa.text(OCCUPYING),
        sqlite_where=sa.text(OCCUPYING),
    )
    op.create_index(
        "ix_appointments_doctor_id_starts_at",
        "appointments",
        ["doctor_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_appointments_occupying_starts_at",
        "appointments",
        ["starts_at"],
        unique=False,
        postgresql_where=sa.text(OCCUPYING),
        sqlite_where=sa.text(OCCUPYING),
    )
    op.create_index(
        "ix_appointments_patient_id_occupying",
        "appointments",
        ["patient_id", "ends_at"],
        unique=False,
        postgresql_where=sa.text(OCCUPYING),
        sqlite_where=sa.text(OCCUPYING),
    )
    op.create_index(
        "ix_appointments_patient_id_starts_at",
        "appointments",
        ["patient_id", "starts_at"],
        unique=False,
    )
    op.create_index("ix_appointments_starts_at", "appointments", ["starts_at"], unique=False)
    if is_postgresql():
        # Declared on the model too (ExcludeConstraint); written out here because
        # alembic's create_exclude_constraint cannot take an expression element.
        for column in ("doctor_id", "patient_id"):
            op.execute(
                f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{column}_overlap "
                f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
                f"WHERE ({OCCUPYING})"
            )
    op.create_table(
        "doctor_extra_hours",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.user_id"],
            name=op.f("fk_doctor_extra_hours_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doctor_extra_hours")),
    )
    op.create_index(
        "ix_doctor_extra_hours_doctor_id_on_date",
        "doctor_extra_hours",
        ["doctor_id", "on_date"],
        unique=False,
    )
    op.create_table(
        "doctor_time_off",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_doctor_time_off_positive_length")),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.user_id"],
            name=op.f("fk_doctor_time_off_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doctor_time_off")),
    )
    op.create_index(
        "ix_doctor_time_off_doctor_id_ends_at",
        "doctor_time_off",
        ["doctor_id", "ends_at"],
        unique=False,
    )
    op.create_table(
        "doctor_working_hours",
        sa.Column("doctor_id", GUID(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_doctor_working_hours_weekday")),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.user_id"],
            name=op.f("fk_doctor_working_hours_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "doctor_id", "weekday", "start_time", name=op.f("pk_doctor_working_hours")
        ),
    )
    op.create_table(
        "appointment_status_history",
        sa.Column("appointment_id", GUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_id", GUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "actor_role IN ('admin', 'doctor', 'patient', 'system')",
            name=op.f("ck_appointment_status_history_actor_role"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_appointment_status_history_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "appointment_id", "position", name=op.f("pk_appointment_status_history")
        ),
    )


def downgrade() -> None:
    # Children before parents; a table's indexes and constraints go with it. The
    # btree_gist extension stays: other schemas in the database may rely on it.
    for table in (
        "appointment_status_history",
        "doctor_working_hours",
        "doctor_time_off",
        "doctor_extra_hours",
        "appointments",
        "patient_profiles",
        "notifications",
        "doctors",
        "users",
        "specialties",
        "processed_events",
        "outbox",
        "idempotency_records",
        "audit_log",
    ):
        op.drop_table(table)
