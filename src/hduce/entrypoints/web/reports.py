"""The admin's CSV downloads (ADR 0024) on a page: a window (local days), statuses and
a doctor; the figures of that window (``GetClinicStats``, as on ``/admin``) and links to
``/api/v1/admin/reports/*.csv`` carrying the very same filters. The downloads stay the
API's (streamed, spreadsheet-safe cells); the page only builds their addresses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get
from litestar.response import Template

from hduce.application.admin.statistics import GetClinicStats
from hduce.application.clinic.doctors import ListDoctors
from hduce.application.ports import DoctorQuery, PageRequest
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.errors import DomainError, InvalidInput
from hduce.domain.identity import Role
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.i18n import Translator
from hduce.entrypoints.web.views import render, viewer_of

REPORTS: Final = "/api/v1/admin/reports"
STATISTICS_REPORTS: Final = ("doctors", "specialties", "months")
DEFAULT_DAYS: Final = 30


def _date(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{field} must be a date", field=field) from None


def _midnight(day: date, t: Translator) -> datetime:
    """The start of ``day`` on the reader's wall clock, in UTC."""
    return datetime.combine(day, time(0), tzinfo=t.timezone).astimezone(UTC)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReportPages(Controller):
    path = "/admin/reports"
    include_in_schema = False

    @get("/")
    async def reports(
        self,
        request: Request[Any, Any, Any],
        get_stats: FromDishka[GetClinicStats],
        list_doctors: FromDishka[ListDoctors],
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        params = request.query_params
        t = viewer.t
        today = datetime.now(UTC).astimezone(t.timezone).date()
        status_code, detail, stats = 200, None, None
        first = last = None
        statuses: list[str] = []
        doctor_id = ""
        try:
            first = _date(params.get("from"), "from") or today - timedelta(days=DEFAULT_DAYS - 1)
            last = _date(params.get("to"), "to") or today
            statuses = [
                s.value for s in AppointmentStatus if s.value in params.getall("status", [])
            ]
            raw_doctor = params.get("doctor_id") or ""
            doctor_id = str(UUID(raw_doctor)) if raw_doctor else ""
            start, end = _midnight(first, t), _midnight(last + timedelta(days=1), t)
            stats = await get_stats(actor, start, end)
        except ValueError:
            status_code, detail = 400, "doctor_id is not a valid id"
        except DomainError as exc:
            status_code, detail = domain_status(exc), exc.message
        links: dict[str, str] = {}
        if stats is not None:
            window = {"from": _instant(stats.window_start), "to": _instant(stats.window_end)}
            filters = dict(window)
            if statuses:
                filters["status"] = ",".join(statuses)
            if doctor_id:
                filters["doctor_id"] = doctor_id
            links["appointments"] = f"{REPORTS}/appointments.csv?{urlencode(filters)}"
            for report in STATISTICS_REPORTS:
                links[report] = f"{REPORTS}/{report}.csv?{urlencode(window)}"
        doctors = await list_doctors(DoctorQuery(page=PageRequest(limit=100, offset=0)))
        return render(
            request,
            viewer,
            "admin_reports.html",
            status_code=status_code,
            detail=detail,
            stats=stats,
            first=first.isoformat() if first else params.get("from", ""),
            last=last.isoformat() if last else params.get("to", ""),
            statuses=statuses,
            all_statuses=[s.value for s in AppointmentStatus],
            doctor_id=doctor_id,
            doctors=doctors.items,
            links=links,
        )
