"""``GET /api/v1/admin/reports/*.csv``: the admin's reports as CSV downloads.

The appointments report takes the filters of ``GET /appointments`` (parsed the same
way) and is streamed: the rows are written to the response a page at a time as the
use case reads them, so its size is not bounded by memory. The statistics reports
take the window of ``GET /admin/stats``.

The ``csv`` module does the quoting (RFC 4180: commas, quotes, line breaks inside a
cell); every cell went through ``hduce.domain.spreadsheet.safe_cell`` first, so no
cell opens as a formula in a spreadsheet. Files are UTF-8 with a byte-order mark
(Excel otherwise reads them in the machine's legacy code page) and CRLF line ends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIType, Schema
from litestar.params import QueryParameter
from litestar.response import Stream

from hduce.application.admin.reports import (
    APPOINTMENT_COLUMNS,
    ExportAppointments,
    ExportStatistics,
    Row,
    StatisticsReport,
    StatisticsTable,
)
from hduce.application.ports import AppointmentQuery
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.admin.responses import INSTANT_HINT, SCOPED_ADMIN_ONLY
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.inputs import STATUSES_PATTERN, parse_statuses, since_1970_query

#: Litestar appends "; charset=utf-8" to text/* media types.
CSV_MEDIA_TYPE: Final = "text/csv"
#: Lets Excel recognise UTF-8; other readers (and ``csv`` with utf-8-sig) skip it.
BYTE_ORDER_MARK: Final = "\ufeff"
#: Rows gathered into one chunk of the response (fewer, larger writes).
ROWS_PER_CHUNK: Final = 200


def _csv_response(filename: str, chunks: AsyncIterator[bytes]) -> Stream:
    return Stream(
        chunks,
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # Reports name patients: no shared cache may keep one.
            "Cache-Control": "no-store",
        },
    )


class _Lines:
    """``csv.writer`` writing into a buffer that is emptied chunk by chunk."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def write(self, row: Iterable[str]) -> None:
        self._writer.writerow(row)

    def take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode()


async def csv_chunks(columns: Row, rows: AsyncIterator[Row]) -> AsyncIterator[bytes]:
    lines = _Lines()
    lines.write(columns)
    yield (BYTE_ORDER_MARK.encode() + lines.take())
    pending = 0
    async for row in rows:
        lines.write(row)
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield lines.take()
            pending = 0
    if pending:
        yield lines.take()


async def _table_chunks(table: StatisticsTable) -> AsyncIterator[bytes]:
    async def rows() -> AsyncIterator[Row]:
        for row in table.rows:
            yield row

    async for chunk in csv_chunks(table.columns, rows()):
        yield chunk


def _csv_spec(description: str, sample: str) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(
            data_container=str,
            media_type="text/csv",
            description=description,
            generate_examples=False,
            examples=[Example(summary="The first lines", value=sample)],
        ),
        **SCOPED_ADMIN_ONLY,
    }


_APPOINTMENTS_SAMPLE = (
    ",".join(APPOINTMENT_COLUMNS) + "\r\n"
    "0190f1d2-5c4e-7a80-9b1a-3f2e4d5c6b7a,2030-01-09T10:00:00Z,2030-01-09T10:30:00Z,"
    "approved,0190f1d2-5c4e-7a80-9b1a-000000000002,Dr. Alice Heart,"
    "0190f1d2-5c4e-7a80-9b1a-000000000001,Ana Patient,ana@example.org,"
    "'=follow-up,2030-01-02T08:00:00Z,2030-01-02T09:00:00Z\r\n"
)
_FROM = "Start of the window (inclusive)"
_TO = "End of the window (exclusive)"
#: Limits a statistics report to the visits at one institution (ADR 0025).
_INSTITUTION = Annotated[
    UUID | None,
    QueryParameter(
        required=False,
        description="Count only the appointments at this institution (for an admin scoped "
        "to an institution: theirs, which is also the default; another one is 403)",
    ),
]


class AdminReportsController(Controller):
    path = "/admin/reports"
    tags = ("admin",)
    guards = (requires_role(Role.ADMIN),)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/appointments.csv",
        summary="Appointments as a CSV download (same filters as GET /appointments)",
        description=(
            "Admin only; an admin scoped to an institution exports that one's visits "
            "(another `institution_id`: 403, ADR 0026). Every "
            "appointment matching the filters, ordered by start then id, "
            "one row each: " + ", ".join(f"`{c}`" for c in APPOINTMENT_COLUMNS) + ". "
            "No paging: the whole result is streamed as it is read from the database, "
            "a page at a time. UTF-8 with a byte-order mark, CRLF line ends, RFC 4180 "
            "quoting; a cell starting with `=`, `+`, `-`, `@`, tab or carriage return is "
            "prefixed with `'` so that spreadsheets show it as text instead of running it "
            f"as a formula. {INSTANT_HINT}"
        ),
        responses=_csv_spec("The appointments (text/csv attachment)", _APPOINTMENTS_SAMPLE),
    )
    async def appointments_csv(
        self,
        actor: NamedDependency[Actor],
        export_appointments: FromDishka[ExportAppointments],
        status: Annotated[
            list[str] | None,
            QueryParameter(
                name="status",
                required=False,
                description="Statuses separated by commas (as for GET /appointments)",
                schema_extra={
                    "items": Schema(
                        type=OpenAPIType.STRING,
                        pattern=STATUSES_PATTERN,
                        examples=["completed", "completed,no_show"],
                    )
                },
            ),
        ] = None,
        doctor_id: Annotated[UUID | None, QueryParameter(name="doctor_id", required=False)] = None,
        patient_id: Annotated[
            UUID | None, QueryParameter(name="patient_id", required=False)
        ] = None,
        starts_from: Annotated[datetime | None, since_1970_query("from", _FROM)] = None,
        starts_before: Annotated[datetime | None, since_1970_query("to", _TO)] = None,
        institution_id: Annotated[
            UUID | None,
            QueryParameter(
                name="institution_id", required=False, description="Only visits at this institution"
            ),
        ] = None,
    ) -> Stream:
        rows = export_appointments(
            actor,
            AppointmentQuery(
                patient_id=patient_id,
                doctor_id=doctor_id,
                statuses=parse_statuses(status),
                starts_from=starts_from,
                starts_before=starts_before,
                institution_id=institution_id,
            ),
        )
        return _csv_response("appointments.csv", csv_chunks(APPOINTMENT_COLUMNS, rows))

    async def _statistics(
        self,
        report: StatisticsReport,
        actor: Actor,
        export_statistics: ExportStatistics,
        start: datetime | None,
        end: datetime | None,
        institution_id: UUID | None = None,
    ) -> Stream:
        table = await export_statistics(actor, report, start, end, institution_id=institution_id)
        return _csv_response(f"{report.value}.csv", _table_chunks(table))

    @get(
        "/doctors.csv",
        summary="Appointments per doctor as CSV (same window as GET /admin/stats)",
        description=(
            "Admin only. Appointments starting in `[from, to)` (default and limits as for "
            "`/admin/stats`), whatever their status, per doctor, busiest first: "
            "`doctor_id, doctor_name, specialty_id, specialty_name, appointments`. "
            "Doctors without appointments in the window are not listed. "
            f"{INSTANT_HINT}"
        ),
        responses=_csv_spec(
            "One row per doctor",
            "doctor_id,doctor_name,specialty_id,specialty_name,appointments\r\n"
            "0190f1d2-5c4e-7a80-9b1a-000000000002,Dr. Alice Heart,"
            "0190f1d2-5c4e-7a80-9b1a-000000000009,Cardiology,6\r\n",
        ),
    )
    async def doctors_csv(
        self,
        actor: NamedDependency[Actor],
        export_statistics: FromDishka[ExportStatistics],
        window_from: Annotated[datetime | None, since_1970_query("from", _FROM)] = None,
        window_to: Annotated[datetime | None, since_1970_query("to", _TO)] = None,
        institution_id: _INSTITUTION = None,
    ) -> Stream:
        return await self._statistics(
            StatisticsReport.DOCTORS,
            actor,
            export_statistics,
            window_from,
            window_to,
            institution_id,
        )

    @get(
        "/specialties.csv",
        summary="Appointments and doctors per specialty as CSV",
        description=(
            "Admin only. Every specialty: its doctors now, and the appointments starting "
            "in `[from, to)` with its doctors (default and limits as for `/admin/stats`), "
            "most appointments first: `specialty_id, specialty_name, doctors, "
            f"appointments`. {INSTANT_HINT}"
        ),
        responses=_csv_spec(
            "One row per specialty",
            "specialty_id,specialty_name,doctors,appointments\r\n"
            "0190f1d2-5c4e-7a80-9b1a-000000000009,Cardiology,2,10\r\n",
        ),
    )
    async def specialties_csv(
        self,
        actor: NamedDependency[Actor],
        export_statistics: FromDishka[ExportStatistics],
        window_from: Annotated[datetime | None, since_1970_query("from", _FROM)] = None,
        window_to: Annotated[datetime | None, since_1970_query("to", _TO)] = None,
        institution_id: _INSTITUTION = None,
    ) -> Stream:
        return await self._statistics(
            StatisticsReport.SPECIALTIES,
            actor,
            export_statistics,
            window_from,
            window_to,
            institution_id,
        )

    @get(
        "/institutions.csv",
        summary="Appointments per institution as CSV",
        description=(
            "Admin only. Appointments starting in `[from, to)` (default and limits as for "
            "`/admin/stats`), whatever their status, per institution where they take place, "
            "busiest first: `institution_id, institution_name, appointments`. Visits at a "
            "doctor's unassigned hours are in no row (ADR 0025). "
            f"{INSTANT_HINT}"
        ),
        responses=_csv_spec(
            "One row per institution",
            "institution_id,institution_name,appointments\r\n"
            f"{demo.INSTITUTION_ID},{demo.INSTITUTION_NAME},9\r\n",
        ),
    )
    async def institutions_csv(
        self,
        actor: NamedDependency[Actor],
        export_statistics: FromDishka[ExportStatistics],
        window_from: Annotated[datetime | None, since_1970_query("from", _FROM)] = None,
        window_to: Annotated[datetime | None, since_1970_query("to", _TO)] = None,
    ) -> Stream:
        return await self._statistics(
            StatisticsReport.INSTITUTIONS, actor, export_statistics, window_from, window_to
        )

    @get(
        "/months.csv",
        summary="Appointments per month as CSV",
        description=(
            "Admin only. Appointments starting in `[from, to)` (default and limits as for "
            "`/admin/stats`) per calendar month in the clinic's timezone, every month the "
            f"window touches: `month, appointments`. {INSTANT_HINT}"
        ),
        responses=_csv_spec("One row per month", "month,appointments\r\n2030-01,12\r\n"),
    )
    async def months_csv(
        self,
        actor: NamedDependency[Actor],
        export_statistics: FromDishka[ExportStatistics],
        window_from: Annotated[datetime | None, since_1970_query("from", _FROM)] = None,
        window_to: Annotated[datetime | None, since_1970_query("to", _TO)] = None,
        institution_id: _INSTITUTION = None,
    ) -> Stream:
        return await self._statistics(
            StatisticsReport.MONTHS,
            actor,
            export_statistics,
            window_from,
            window_to,
            institution_id,
        )
