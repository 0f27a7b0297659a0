"""The admin's CSV reports: what they hold, row by row (the HTTP layer writes the CSV).

* ``ExportAppointments``: every appointment matching the filters of ``GET
  /appointments`` (status, doctor, patient, ``[from, to)``), read a page at a time
  from the same repository query, so an export of any size holds one page in memory.
  Each page is read in its own short unit of work: a slow download never holds a
  database connection or a snapshot open between pages.

  Pages follow the list's order (start, then id) by a cursor rather than an offset:
  the next page starts at the last start seen, skipping the rows of that start
  already written. An appointment booked or moved while the export runs therefore
  neither shifts later pages nor makes one row appear twice because of rows before
  it; the file is not one snapshot (rows are current as of their page).

* ``ExportStatistics``: the figures of ``GET /admin/stats`` (same window, same
  defaults and limits) per doctor, per specialty and per month.

Every cell is text made safe for spreadsheets (``hduce.domain.spreadsheet``).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from hduce.application.access import scoped_institution
from hduce.application.admin.filters import check_window, instant
from hduce.application.admin.statistics import GetClinicStats
from hduce.application.ports import AppointmentQuery, PageRequest, UnitOfWorkFactory
from hduce.domain.appointments import Appointment
from hduce.domain.identity import Actor, User
from hduce.domain.spreadsheet import safe_cell

#: Appointments read per page (the SQL repositories serve at most 500 a page).
REPORT_PAGE: Final = 500

Row = tuple[str, ...]

APPOINTMENT_COLUMNS: Final[Row] = (
    "appointment_id",
    "starts_at",
    "ends_at",
    "status",
    "doctor_id",
    "doctor_name",
    "patient_id",
    "patient_name",
    "patient_email",
    "reason",
    "created_at",
    "updated_at",
)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _safe(cells: Sequence[str]) -> Row:
    return tuple(safe_cell(cell) for cell in cells)


def appointment_row(appointment: Appointment, people: Mapping[UUID, User]) -> Row:
    doctor = people.get(appointment.doctor_id)
    patient = people.get(appointment.patient_id)
    return _safe(
        (
            str(appointment.id),
            _instant(appointment.starts_at),
            _instant(appointment.ends_at),
            appointment.status.value,
            str(appointment.doctor_id),
            doctor.full_name if doctor else "",
            str(appointment.patient_id),
            patient.full_name if patient else "",
            patient.email if patient else "",
            appointment.reason,
            _instant(appointment.created_at),
            _instant(appointment.updated_at),
        )
    )


class ExportAppointments:
    """Admin only. ``__call__`` checks the caller and the filters at once (so a bad
    request is refused before any byte of the file is sent) and returns the rows as
    an async iterator that reads the pages as it is consumed."""

    def __init__(self, uow_factory: UnitOfWorkFactory, page_size: int = REPORT_PAGE) -> None:
        if not 0 < page_size <= REPORT_PAGE:
            raise ValueError(f"a report page holds 1 to {REPORT_PAGE} appointments")
        self._uow_factory = uow_factory
        self._page_size = page_size

    def __call__(self, actor: Actor, query: AppointmentQuery) -> AsyncIterator[Row]:
        # An admin scoped to an institution exports its visits only (ADR 0026).
        institution_id = scoped_institution(actor, query.institution_id, "export these visits")
        query = replace(
            query,
            institution_id=institution_id,
            starts_from=instant(query.starts_from, "from"),
            starts_before=instant(query.starts_before, "to"),
        )
        check_window(query.starts_from, query.starts_before)
        return self._rows(query)

    async def _rows(self, query: AppointmentQuery) -> AsyncIterator[Row]:
        # The cursor: the next page starts at ``query.starts_from`` and skips the
        # first ``skip`` rows there (those at exactly that start already written).
        skip = 0
        while True:
            async with self._uow_factory() as uow:
                page = await uow.appointments.list(
                    replace(query, page=PageRequest(limit=self._page_size, offset=skip))
                )
                items = list(page.items)
                people = dict(
                    await uow.users.get_many(
                        sorted({a.doctor_id for a in items} | {a.patient_id for a in items})
                    )
                )
            for appointment in items:
                yield appointment_row(appointment, people)
            if len(items) < self._page_size:
                return
            last_start = items[-1].starts_at
            same_start = sum(1 for a in items if a.starts_at == last_start)
            skip = same_start + (skip if query.starts_from == last_start else 0)
            query = replace(query, starts_from=last_start)


# ------------------------------------------------------------------ statistics


class StatisticsReport(enum.StrEnum):
    DOCTORS = "doctors"
    SPECIALTIES = "specialties"
    MONTHS = "months"
    INSTITUTIONS = "institutions"


STATISTICS_COLUMNS: Final[dict[StatisticsReport, Row]] = {
    StatisticsReport.DOCTORS: (
        "doctor_id",
        "doctor_name",
        "specialty_id",
        "specialty_name",
        "appointments",
    ),
    StatisticsReport.SPECIALTIES: ("specialty_id", "specialty_name", "doctors", "appointments"),
    StatisticsReport.MONTHS: ("month", "appointments"),
    StatisticsReport.INSTITUTIONS: ("institution_id", "institution_name", "appointments"),
}


@dataclass(frozen=True, slots=True)
class StatisticsTable:
    columns: Row
    rows: Sequence[Row]
    window_start: datetime
    window_end: datetime


class ExportStatistics:
    """The dashboard's appointment figures as a table: by doctor (busiest first), by
    specialty (every specialty, with its doctors now), by month (every calendar month
    of the window in the clinic's timezone, zeros included). Appointments are counted
    whatever their status, as on the dashboard. By institution: the institutions with
    visits in the window, busiest first (ADR 0025); ``institution_id`` limits every
    report to the visits at one institution."""

    def __init__(self, get_clinic_stats: GetClinicStats) -> None:
        self._get_clinic_stats = get_clinic_stats

    async def __call__(
        self,
        actor: Actor,
        report: StatisticsReport,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        institution_id: UUID | None = None,
    ) -> StatisticsTable:
        institution_id = scoped_institution(actor, institution_id, "export these statistics")
        stats = await self._get_clinic_stats(actor, start, end, institution_id=institution_id)
        names = {c.specialty_id: c.name for c in stats.doctors_by_specialty}
        rows: list[Row]
        if report is StatisticsReport.DOCTORS:
            rows = [
                (
                    str(c.doctor_id),
                    c.full_name,
                    str(c.specialty_id),
                    names.get(c.specialty_id, ""),
                    str(c.count),
                )
                for c in stats.appointments_by_doctor
            ]
        elif report is StatisticsReport.SPECIALTIES:
            booked = {c.specialty_id: c.count for c in stats.appointments_by_specialty}
            rows = [
                (str(c.specialty_id), c.name, str(c.count), str(booked.get(c.specialty_id, 0)))
                for c in sorted(
                    stats.doctors_by_specialty,
                    key=lambda c: (-booked.get(c.specialty_id, 0), c.name.casefold()),
                )
            ]
        elif report is StatisticsReport.INSTITUTIONS:
            rows = [
                (str(c.institution_id), c.name, str(c.count))
                for c in stats.appointments_by_institution
            ]
        else:
            months: Counter[str] = Counter()
            for day in stats.appointments_by_day:
                months[f"{day.day:%Y-%m}"] += day.count
            rows = [(month, str(count)) for month, count in months.items()]
        return StatisticsTable(
            columns=STATISTICS_COLUMNS[report],
            rows=[_safe(row) for row in rows],
            window_start=stats.window_start,
            window_end=stats.window_end,
        )
