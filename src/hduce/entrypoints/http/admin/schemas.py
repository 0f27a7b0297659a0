"""Request and response bodies of ``/admin/users``, ``/admin/audit`` and ``/admin/stats``
(msgspec). An account is answered as ``UserView``, the same body as ``/auth/me``.

Counts keyed by a closed set of values (statuses, sexes, age bands) are objects with
one property per value, zeros included, so clients and the OpenAPI schema know every
key in advance.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.admin.audit import AuditTrail
from hduce.application.admin.statistics import ClinicStats
from hduce.application.ports import DoctorCount, InstitutionCount, Page, SpecialtyCount
from hduce.domain.audit import AuditEntry
from hduce.domain.demographics import AgeBand
from hduce.domain.identity import Role, User
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import UserView
from hduce.entrypoints.http.examples import ex

Count = Annotated[int, Meta(ge=0)]

# One week of Dr. Romero's and Dr. Martín's clinic, for the examples.
_BY_DAY: Final = [
    {"date": f"2030-01-{day:02d}", "count": count}
    for day, count in zip(range(7, 14), (3, 4, 2, 2, 1, 0, 0), strict=True)
]
_BY_DOCTOR: Final = [
    {
        "doctor_id": demo.DOCTOR_ID,
        "full_name": demo.DOCTOR_NAME,
        "specialty_id": demo.SPECIALTY_ID,
        "count": 7,
    },
    {
        "doctor_id": demo.OTHER_DOCTOR_ID,
        "full_name": demo.OTHER_DOCTOR_NAME,
        "specialty_id": demo.OTHER_SPECIALTY_ID,
        "count": 5,
    },
]
_APPOINTMENTS_BY_SPECIALTY: Final = [
    {"specialty_id": demo.SPECIALTY_ID, "name": demo.SPECIALTY_NAME, "count": 7},
    {"specialty_id": demo.OTHER_SPECIALTY_ID, "name": demo.OTHER_SPECIALTY_NAME, "count": 5},
]
_DOCTORS_BY_SPECIALTY: Final = [
    {"specialty_id": demo.SPECIALTY_ID, "name": demo.SPECIALTY_NAME, "count": 1},
    {"specialty_id": demo.OTHER_SPECIALTY_ID, "name": demo.OTHER_SPECIALTY_NAME, "count": 1},
]

# ------------------------------------------------------------------ audit trail


class AuditEntryView(msgspec.Struct):
    """Who did what, when: one line of the audit trail."""

    id: Annotated[UUID, ex(demo.AUDIT_ENTRY_ID)]
    at: Annotated[dt.datetime, ex(demo.APPROVED_AT)]
    actor_role: Annotated[
        Role,
        Meta(
            description="`system` for the clinic's own sweeps (no actor id)",
            examples=["doctor"],
        ),
    ]
    actor_id: Annotated[UUID | None, ex(demo.DOCTOR_ID, None)]
    actor_name: Annotated[
        str | None,
        Meta(
            description="The actor's current full name; null for the system",
            examples=[demo.DOCTOR_NAME, None],
        ),
    ]
    action: Annotated[str, Meta(examples=["appointment.approved", "user.deactivated"])]
    target_type: Annotated[str, Meta(examples=["appointment", "user", "doctor"])]
    target_id: Annotated[str, ex(demo.APPOINTMENT_ID)]
    details: Annotated[
        dict[str, Any],
        Meta(
            description="What was recorded with it: statuses, a reason, fields changed...",
            examples=[{"from_status": "pending", "to_status": "approved", "version": 2}],
        ),
    ]

    @classmethod
    def of(cls, entry: AuditEntry, names: dict[UUID, str]) -> AuditEntryView:
        return cls(
            id=entry.id,
            at=entry.at,
            actor_role=entry.actor_role,
            actor_id=entry.actor_id,
            actor_name=names.get(entry.actor_id) if entry.actor_id else None,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            details=dict(entry.details),
        )


class AuditPage(msgspec.Struct):
    """Newest first."""

    items: list[AuditEntryView]
    #: Entries matching the filters, over all pages.
    total: Annotated[int, ex(2)]
    limit: Annotated[int, ex(50)]
    offset: Annotated[int, ex(0)]

    @classmethod
    def of(cls, trail: AuditTrail) -> AuditPage:
        names = dict(trail.actor_names)
        page = trail.entries
        return cls(
            items=[AuditEntryView.of(entry, names) for entry in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )


# ------------------------------------------------------------------ statistics


class StatusCounts(msgspec.Struct):
    """Appointments per status; the attribute names are the statuses' values."""

    pending: Annotated[Count, ex(2)]
    proposed: Annotated[Count, ex(1)]
    approved: Annotated[Count, ex(3)]
    checked_in: Annotated[Count, ex(0)]
    rejected: Annotated[Count, ex(1)]
    cancelled: Annotated[Count, ex(1)]
    completed: Annotated[Count, ex(4)]
    no_show: Annotated[Count, ex(1)]
    entered_in_error: Annotated[Count, ex(0)]


class SexCounts(msgspec.Struct):
    """Patients per sex; the attribute names are the ``Sex`` values."""

    female: Annotated[Count, ex(2)]
    male: Annotated[Count, ex(1)]
    other: Annotated[Count, ex(1)]
    unknown: Annotated[Count, ex(0)]


class AgeBandCounts(msgspec.Struct):
    """Patients per age band (ages on ``today``); attribute = ``AgeBand`` name, lower-cased."""

    under_18: Annotated[Count, ex(0)] = msgspec.field(name=AgeBand.UNDER_18.value)
    from_18_to_39: Annotated[Count, ex(2)] = msgspec.field(name=AgeBand.FROM_18_TO_39.value)
    from_40_to_64: Annotated[Count, ex(2)] = msgspec.field(name=AgeBand.FROM_40_TO_64.value)
    from_65: Annotated[Count, ex(0)] = msgspec.field(name=AgeBand.FROM_65.value)
    #: No date of birth on file.
    unknown: Annotated[Count, ex(0)] = msgspec.field(name=AgeBand.UNKNOWN.value)


class DayCountView(msgspec.Struct):
    date: Annotated[dt.date, Meta(examples=["2030-01-07"])]
    count: Annotated[Count, ex(3)]


class DoctorCountView(msgspec.Struct):
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    full_name: Annotated[str, ex(demo.DOCTOR_NAME)]
    specialty_id: Annotated[UUID, ex(demo.SPECIALTY_ID)]
    count: Annotated[Count, ex(7)]

    @classmethod
    def of(cls, counted: DoctorCount) -> DoctorCountView:
        return cls(counted.doctor_id, counted.full_name, counted.specialty_id, counted.count)


class SpecialtyCountView(msgspec.Struct):
    specialty_id: Annotated[UUID, ex(demo.SPECIALTY_ID)]
    name: Annotated[str, ex(demo.SPECIALTY_NAME)]
    count: Annotated[Count, ex(7)]

    @classmethod
    def of(cls, counted: SpecialtyCount) -> SpecialtyCountView:
        return cls(counted.specialty_id, counted.name, counted.count)


class InstitutionCountView(msgspec.Struct):
    institution_id: Annotated[UUID, ex(demo.INSTITUTION_ID)]
    name: Annotated[str, ex(demo.INSTITUTION_NAME)]
    count: Annotated[Count, ex(9)]

    @classmethod
    def of(cls, counted: InstitutionCount) -> InstitutionCountView:
        return cls(counted.institution_id, counted.name, counted.count)


class AppointmentStatsView(msgspec.Struct):
    """Appointments starting inside the window, whatever their status."""

    total: Annotated[Count, ex(12)]
    by_status: StatusCounts
    by_day: Annotated[
        list[DayCountView],
        Meta(
            description="Every calendar day the window touches in the clinic's timezone, "
            "oldest first, zeros included",
            examples=[_BY_DAY],
        ),
    ]
    by_doctor: Annotated[
        list[DoctorCountView],
        Meta(
            description="Doctors with at least one appointment, busiest first",
            examples=[_BY_DOCTOR],
        ),
    ]
    by_specialty: Annotated[
        list[SpecialtyCountView],
        Meta(
            description="By each doctor's current specialty, busiest first",
            examples=[_APPOINTMENTS_BY_SPECIALTY],
        ),
    ]
    no_show_rate: Annotated[
        float | None,
        Meta(
            description="no_show / (completed + no_show); null when neither happened",
            examples=[0.2],
        ),
    ]
    by_institution: Annotated[
        list[InstitutionCountView],
        Meta(
            description="By the institution the visit takes place at, busiest first; "
            "visits at a doctor's unassigned hours are in none",
            examples=[
                [{"institution_id": demo.INSTITUTION_ID, "name": demo.INSTITUTION_NAME, "count": 9}]
            ],
        ),
    ]
    institution_id: Annotated[
        UUID | None,
        Meta(
            description="The institution these figures are limited to (null: all)",
            examples=[None, demo.INSTITUTION_ID],
        ),
    ]


class DoctorStatsView(msgspec.Struct):
    total: Annotated[Count, ex(2)]
    by_specialty: Annotated[
        list[SpecialtyCountView],
        Meta(
            description="Every specialty, those without doctors included; most doctors first",
            examples=[_DOCTORS_BY_SPECIALTY],
        ),
    ]


class PatientStatsView(msgspec.Struct):
    """Every patient account, active or not."""

    total: Annotated[Count, ex(4)]
    by_sex: SexCounts
    by_age_band: AgeBandCounts


class ClinicStatsView(msgspec.Struct):
    window_from: Annotated[
        dt.datetime,
        Meta(
            description="Appointments counted start at or after this instant",
            examples=["2030-01-06T23:00:00Z"],
        ),
    ] = msgspec.field(name="from")
    window_to: Annotated[
        dt.datetime,
        Meta(description="... and before this one", examples=["2030-01-13T23:00:00Z"]),
    ] = msgspec.field(name="to")
    timezone: Annotated[
        str,
        Meta(
            description="The clinic's IANA timezone (HDUCE_DEFAULT_TIMEZONE): days are its days",
            examples=["Europe/Madrid"],
        ),
    ]
    today: Annotated[
        dt.date,
        Meta(
            description="Today in that timezone: the day ages are computed at",
            examples=["2030-01-08"],
        ),
    ]
    appointments: AppointmentStatsView
    doctors: DoctorStatsView
    patients: PatientStatsView

    @classmethod
    def of(cls, stats: ClinicStats) -> ClinicStatsView:
        by_status = {status.value: count for status, count in stats.appointments_by_status.items()}
        by_sex = {sex.value: count for sex, count in stats.patients_by_sex.items()}
        by_band = {band.name.lower(): count for band, count in stats.patients_by_age_band.items()}
        return cls(
            window_from=stats.window_start,
            window_to=stats.window_end,
            timezone=stats.timezone,
            today=stats.today,
            appointments=AppointmentStatsView(
                total=stats.appointments_total,
                by_status=StatusCounts(**by_status),
                by_day=[DayCountView(d.day, d.count) for d in stats.appointments_by_day],
                by_doctor=[DoctorCountView.of(c) for c in stats.appointments_by_doctor],
                by_specialty=[SpecialtyCountView.of(c) for c in stats.appointments_by_specialty],
                no_show_rate=stats.no_show_rate,
                by_institution=[
                    InstitutionCountView.of(c) for c in stats.appointments_by_institution
                ],
                institution_id=stats.institution_id,
            ),
            doctors=DoctorStatsView(
                total=stats.doctors_total,
                by_specialty=[SpecialtyCountView.of(c) for c in stats.doctors_by_specialty],
            ),
            patients=PatientStatsView(
                total=stats.patients_total,
                by_sex=SexCounts(**by_sex),
                by_age_band=AgeBandCounts(**by_band),
            ),
        )


# ------------------------------------------------------------------ accounts


class AdminUserPatch(msgspec.Struct, forbid_unknown_fields=True):
    is_active: Annotated[bool, ex(False)]


class InstitutionScopeBody(msgspec.Struct, forbid_unknown_fields=True):
    """The institution an admin is scoped to (ADR 0026)."""

    institution_id: Annotated[UUID, ex(demo.INSTITUTION_ID)]


class UserPage(msgspec.Struct):
    items: list[UserView]
    total: Annotated[int, ex(1)]
    limit: Annotated[int, ex(50)]
    offset: Annotated[int, ex(0)]

    @classmethod
    def of(cls, page: Page[User]) -> UserPage:
        return cls(
            items=[UserView.of(user) for user in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )
