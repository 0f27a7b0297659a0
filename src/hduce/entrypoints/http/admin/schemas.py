"""Response bodies of ``/admin/audit`` and ``/admin/stats`` (msgspec).

Counts keyed by a closed set of values (statuses, sexes, age bands) are objects with
one property per value, zeros included, so clients and the OpenAPI schema know every
key in advance.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.admin import AuditTrail, ClinicStats
from hduce.application.ports import AgeBand, DoctorCount, SpecialtyCount
from hduce.domain.audit import AuditEntry
from hduce.domain.identity import Role

Count = Annotated[int, Meta(ge=0)]

# ------------------------------------------------------------------ audit trail


class AuditEntryView(msgspec.Struct):
    """Who did what, when: one line of the audit trail."""

    id: UUID
    at: dt.datetime
    actor_role: Annotated[
        Role, Meta(description="`system` for the clinic's own sweeps (no actor id)")
    ]
    actor_id: UUID | None
    actor_name: Annotated[
        str | None, Meta(description="The actor's current full name; null for the system")
    ]
    action: Annotated[str, Meta(examples=["appointment.approved", "user.deactivated"])]
    target_type: Annotated[str, Meta(examples=["appointment", "user", "doctor"])]
    target_id: str
    details: Annotated[
        dict[str, Any],
        Meta(description="What was recorded with it: statuses, a reason, fields changed..."),
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
    total: int
    limit: int
    offset: int

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

    pending: Count
    approved: Count
    checked_in: Count
    rejected: Count
    cancelled: Count
    completed: Count
    no_show: Count
    entered_in_error: Count


class SexCounts(msgspec.Struct):
    """Patients per sex; the attribute names are the ``Sex`` values."""

    female: Count
    male: Count
    other: Count
    unknown: Count


class AgeBandCounts(msgspec.Struct):
    """Patients per age band (ages on ``today``); attribute = ``AgeBand`` name, lower-cased."""

    under_18: Count = msgspec.field(name=AgeBand.UNDER_18.value)
    from_18_to_39: Count = msgspec.field(name=AgeBand.FROM_18_TO_39.value)
    from_40_to_64: Count = msgspec.field(name=AgeBand.FROM_40_TO_64.value)
    from_65: Count = msgspec.field(name=AgeBand.FROM_65.value)
    #: No date of birth on file.
    unknown: Count = msgspec.field(name=AgeBand.UNKNOWN.value)


class DayCountView(msgspec.Struct):
    date: Annotated[dt.date, Meta(examples=["2030-01-07"])]
    count: Count


class DoctorCountView(msgspec.Struct):
    doctor_id: UUID
    full_name: str
    specialty_id: UUID
    count: Count

    @classmethod
    def of(cls, counted: DoctorCount) -> DoctorCountView:
        return cls(counted.doctor_id, counted.full_name, counted.specialty_id, counted.count)


class SpecialtyCountView(msgspec.Struct):
    specialty_id: UUID
    name: str
    count: Count

    @classmethod
    def of(cls, counted: SpecialtyCount) -> SpecialtyCountView:
        return cls(counted.specialty_id, counted.name, counted.count)


class AppointmentStatsView(msgspec.Struct):
    """Appointments starting inside the window, whatever their status."""

    total: Count
    by_status: StatusCounts
    by_day: Annotated[
        list[DayCountView],
        Meta(
            description="Every calendar day the window touches in the clinic's timezone, "
            "oldest first, zeros included"
        ),
    ]
    by_doctor: Annotated[
        list[DoctorCountView],
        Meta(description="Doctors with at least one appointment, busiest first"),
    ]
    by_specialty: Annotated[
        list[SpecialtyCountView],
        Meta(description="By each doctor's current specialty, busiest first"),
    ]
    no_show_rate: Annotated[
        float | None,
        Meta(
            description="no_show / (completed + no_show); null when neither happened",
            examples=[0.2],
        ),
    ]


class DoctorStatsView(msgspec.Struct):
    total: Count
    by_specialty: Annotated[
        list[SpecialtyCountView],
        Meta(description="Every specialty, those without doctors included; most doctors first"),
    ]


class PatientStatsView(msgspec.Struct):
    """Every patient account, active or not."""

    total: Count
    by_sex: SexCounts
    by_age_band: AgeBandCounts


class ClinicStatsView(msgspec.Struct):
    window_from: Annotated[
        dt.datetime, Meta(description="Appointments counted start at or after this instant")
    ] = msgspec.field(name="from")
    window_to: Annotated[dt.datetime, Meta(description="... and before this one")] = msgspec.field(
        name="to"
    )
    timezone: Annotated[
        str,
        Meta(
            description="The clinic's IANA timezone (HDUCE_DEFAULT_TIMEZONE): days are its days",
            examples=["Europe/Madrid"],
        ),
    ]
    today: Annotated[
        dt.date, Meta(description="Today in that timezone: the day ages are computed at")
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
