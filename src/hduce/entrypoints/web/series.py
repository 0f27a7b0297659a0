"""Recurring series (ADR 0022) in the console: a patient repeats a visit (daily or
weekly, every N days or weeks, a number of times or until a date, on some weekdays),
previews which occurrences can and cannot be booked, then books all-or-nothing or
what fits; the series page cancels one occurrence or it and the following ones.

The form is turned into the RRULE subset the API takes (``rrule_of``); the use cases
(``PreviewSeries``, ``BookSeries``, ``GetSeries``, ``CancelSeriesOccurrences``) are the
API's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.appointments.series import (
    BookSeries,
    CancelScope,
    CancelSeriesOccurrences,
    GetSeries,
    PreviewSeries,
    SeriesCommand,
    SeriesDoesNotFit,
    SeriesMode,
    SeriesOutcome,
)
from hduce.application.clinic.doctors import DoctorProfile, GetDoctor
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.errors import DomainError, InvalidInput
from hduce.domain.identity import Role
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.views import Viewer, go, render, viewer_of

#: RFC 5545 weekday codes, Monday first (the console's weekday 0).
WEEKDAY_CODES: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES: Final = ("WEEKLY", "DAILY")
MODES: Final = frozenset(mode.value for mode in SeriesMode)
SCOPES: Final = frozenset(scope.value for scope in CancelScope)
OPEN_STATUSES: Final = frozenset(
    {AppointmentStatus.PENDING, AppointmentStatus.PROPOSED, AppointmentStatus.APPROVED}
)


async def _form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Single values as strings; the weekday boxes as a list."""
    form = await request.form()
    values: dict[str, Any] = {
        key: str(value) for key, value in form.items() if isinstance(value, str)
    }
    values["byday"] = [str(day) for day in form.getall("byday", []) if day in WEEKDAY_CODES]
    return values


def _uuid(raw: str | None, field: str) -> UUID:
    try:
        return UUID(raw or "")
    except ValueError:
        raise InvalidInput(f"{field} is not a valid id", field=field) from None


def _instant(raw: str | None) -> datetime:
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        raise InvalidInput("starts_at is not a date and time", field="starts_at") from None
    if value.tzinfo is None:
        raise InvalidInput("starts_at must carry a UTC offset", field="starts_at")
    return value.astimezone(UTC)


def _whole(raw: str | None, field: str) -> int:
    try:
        return int((raw or "").strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number", field=field) from None


def rrule_of(form: dict[str, Any]) -> str:
    """The form as an RRULE of the supported subset; the domain checks the rest
    (ranges, at most 52 occurrences, a BYDAY that meets its period)."""
    freq = form.get("freq", "WEEKLY")
    if freq not in FREQUENCIES:
        raise InvalidInput("choose daily or weekly", field="freq")
    parts = [f"FREQ={freq}", f"INTERVAL={_whole(form.get('interval') or '1', 'interval')}"]
    if form.get("end") == "until":
        try:
            until = date.fromisoformat(form.get("until", ""))
        except ValueError:
            raise InvalidInput("until must be a date", field="until") from None
        parts.append(f"UNTIL={until:%Y%m%d}")
    else:
        parts.append(f"COUNT={_whole(form.get('count'), 'count')}")
    if freq == "WEEKLY" and form.get("byday"):
        parts.append("BYDAY=" + ",".join(form["byday"]))
    return ";".join(parts)


def _defaults(starts_at: datetime, doctor: DoctorProfile) -> dict[str, Any]:
    """Weekly on the first visit's weekday (on the doctor's clock), 4 times."""
    local = starts_at.astimezone(ZoneInfo(doctor.doctor.timezone))
    return {
        "freq": "WEEKLY",
        "interval": "1",
        "end": "count",
        "count": "4",
        "until": "",
        "byday": [WEEKDAY_CODES[local.weekday()]],
        "reason": "",
    }


class SeriesPages(Controller):
    path = "/series"
    include_in_schema = False

    @get("/new")
    async def new(
        self, request: Request[Any, Any, Any], get_doctor: FromDishka[GetDoctor]
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.PATIENT)
        doctor = await get_doctor(_uuid(request.query_params.get("doctor_id"), "doctor_id"))
        starts_at = _instant(request.query_params.get("starts_at"))
        return _form_page(request, viewer, doctor, starts_at, _defaults(starts_at, doctor))

    @post("/")
    async def submit(
        self,
        request: Request[Any, Any, Any],
        get_doctor: FromDishka[GetDoctor],
        preview: FromDishka[PreviewSeries],
        book: FromDishka[BookSeries],
    ) -> Any:
        """``action=preview`` shows what fits; ``all_or_nothing`` / ``book_what_fits`` book."""
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT)
        form = await _form(request)
        doctor = await get_doctor(_uuid(form.get("doctor_id"), "doctor_id"))
        starts_at = _instant(form.get("starts_at"))
        action = form.get("action", "preview")
        try:
            command = SeriesCommand(
                actor=actor,
                doctor_id=doctor.id,
                starts_at=starts_at,
                rrule=rrule_of(form),
                reason=form.get("reason", "").strip(),
                mode=SeriesMode(action) if action in MODES else SeriesMode.ALL_OR_NOTHING,
            )
            if action not in MODES:
                outcome = await preview(command)
                return _form_page(request, viewer, doctor, starts_at, form, outcome=outcome)
            booked = await book(command)
        except SeriesDoesNotFit as refused:
            return _form_page(
                request,
                viewer,
                doctor,
                starts_at,
                form,
                status_code=409,
                outcome=refused.outcome,
                detail=refused.message,
            )
        except DomainError as exc:
            return _form_page(
                request,
                viewer,
                doctor,
                starts_at,
                form,
                status_code=domain_status(exc),
                detail=exc.message,
                field=getattr(exc, "field", None),
            )
        if booked.series is None:  # pragma: no cover - booking raises when nothing fits
            return go(request, "/appointments")
        return go(request, f"/series/{booked.series.id}?done=booked")

    @get("/{series_id:uuid}")
    async def series(
        self,
        request: Request[Any, Any, Any],
        series_id: FromPath[UUID],
        get_series: FromDishka[GetSeries],
        get_doctor: FromDishka[GetDoctor],
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT, Role.DOCTOR, Role.ADMIN)
        view = await get_series(actor, series_id)
        doctor = await get_doctor(view.series.doctor_id)
        return render(
            request,
            viewer,
            "series.html",
            view=view,
            doctor=doctor,
            open_statuses=OPEN_STATUSES,
            done=request.query_params.get("done"),
        )

    @post("/{series_id:uuid}/cancel")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        series_id: FromPath[UUID],
        cancel: FromDishka[CancelSeriesOccurrences],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT, Role.DOCTOR, Role.ADMIN)
        form = await _form(request)
        scope = form.get("scope", "")
        if scope not in SCOPES:
            raise InvalidInput("choose this visit or this and the following ones", field="scope")
        await cancel(
            actor,
            series_id,
            _uuid(form.get("appointment_id"), "appointment_id"),
            CancelScope(scope),
            form.get("reason", "").strip() or None,
        )
        return go(request, f"/series/{series_id}?done=cancelled")


def _form_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    doctor: DoctorProfile,
    starts_at: datetime,
    form: dict[str, Any],
    *,
    status_code: int = 200,
    outcome: SeriesOutcome | None = None,
    **context: Any,
) -> Template:
    return render(
        request,
        viewer,
        "series_new.html",
        status_code=status_code,
        doctor=doctor,
        starts_at=starts_at,
        form=form,
        outcome=outcome,
        weekday_codes=WEEKDAY_CODES,
        **context,
    )


__all__ = ["SeriesPages", "rrule_of"]
