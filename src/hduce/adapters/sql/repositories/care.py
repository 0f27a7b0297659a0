"""The care relationship in SQL: ``hduce.domain.privacy.establishes_care`` asked of the
appointment and history rows (the port contract checks both answer alike)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, or_, select

from hduce.adapters.sql.models import AppointmentRow, StatusHistoryRow, status_literal
from hduce.domain.privacy import ACCEPTED, CONSENTING_ROLES, OFFERED, VOID


def care_statement(doctor_id: UUID, patient_id: UUID) -> Select[UUID]:
    """``hduce.domain.privacy.establishes_care`` in SQL: an appointment of the two, not
    void, with a history line that gives consent (a booking by the patient or an admin
    that is no offer, or an offer accepted by one of them)."""
    return cared_for_by(doctor_id, patient_id).limit(1)


def cared_for_by(doctor_id: UUID, patient_id: Any) -> Select[UUID]:
    """``care_statement`` without its LIMIT, for a ``patient_id`` that may be a column
    (``.exists()`` of it, correlated, filters a list of accounts)."""
    line = StatusHistoryRow
    return (
        select(AppointmentRow.id)
        .join(line, line.appointment_id == AppointmentRow.id)
        .where(
            AppointmentRow.patient_id == patient_id,
            AppointmentRow.doctor_id == doctor_id,
            AppointmentRow.status != status_literal(VOID),
            line.actor_role.in_(sorted(role.value for role in CONSENTING_ROLES)),
            or_(
                and_(line.from_status.is_(None), line.to_status != OFFERED.value),
                and_(line.from_status == OFFERED.value, line.to_status == ACCEPTED.value),
            ),
        )
    )
