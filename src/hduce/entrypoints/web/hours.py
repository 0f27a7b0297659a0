"""The working-hours editor of a doctor (the doctor themself, or an admin): the weekly
pattern, time off and extra hours, on the doctor's wall clock. The use cases decide
who may change whose calendar.

A doctor who works at institutions (ADR 0025) has hours at each: ``?institution=<id>``
chooses the place whose weekly and extra hours the page edits (only the institutions
the doctor works at are offered); without it, the hours at no particular institution.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.availability.hours import AddExtraHours, GetWorkingHours, SetWorkingHours
from hduce.application.availability.local_calendar import AddDoctorTimeOff
from hduce.application.clinic.doctors import GetDoctor
from hduce.application.clinic.workplaces import ListWorkplaces
from hduce.domain.errors import DomainError, InvalidInput
from hduce.domain.identity import Role
from hduce.domain.scheduling import ExtraHours, LocalInterval, WeeklyHours
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.views import Viewer, go, render, viewer_of

WEEKDAYS: Final = range(7)


def _wall_time(text: str, field: str) -> time:
    text = text.strip()
    if text == "24:00":
        return time(0)  # midnight at the end of the day, as the API writes it
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"'{text}' is not a time such as 09:00", field=field) from None


def parse_intervals(text: str, field: str) -> tuple[LocalInterval, ...]:
    """ "09:00-13:00, 15:00-18:00" -> intervals; empty -> not worked."""
    intervals = []
    for part in (p for p in text.split(",") if p.strip()):
        start, dash, end = part.partition("-")
        if not dash:
            raise InvalidInput(f"'{part.strip()}' is not a range such as 09:00-13:00", field)
        intervals.append(LocalInterval(_wall_time(start, field), _wall_time(end, field)))
    return tuple(intervals)


def format_intervals(intervals: tuple[LocalInterval, ...]) -> str:
    def wall(value: time) -> str:
        return value.strftime("%H:%M")

    return ", ".join(
        f"{wall(i.start)}-{'24:00' if i.end == time(0) else wall(i.end)}" for i in intervals
    )


def _date(raw: str | None, field: str) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise InvalidInput(f"{field} must be a date", field=field) from None


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def place_of(raw: str | None) -> UUID | None:
    """The institution asked for (``?institution=`` or the form's), None if none."""
    try:
        return UUID(raw) if raw else None
    except ValueError:
        return None


def _doctor_of(viewer: Viewer, doctor_id: UUID | None) -> UUID:
    actor = viewer.require(Role.DOCTOR, Role.ADMIN)
    if doctor_id is not None:
        return doctor_id
    if actor.user_id is None or actor.role is not Role.DOCTOR:
        raise InvalidInput("choose a doctor", field="doctor_id")
    return actor.user_id


class HoursPages(Controller):
    path = "/doctor"
    include_in_schema = False

    @get(["/hours", "/{doctor_id:uuid}/hours"])
    async def hours(
        self,
        request: Request[Any, Any, Any],
        get_hours: FromDishka[GetWorkingHours],
        get_doctor: FromDishka[GetDoctor],
        list_workplaces: FromDishka[ListWorkplaces],
        doctor_id: FromPath[UUID | None] = None,
    ) -> Template:
        viewer = await viewer_of(request)
        target = _doctor_of(viewer, doctor_id)
        place = place_of(request.query_params.get("institution"))
        return await _page(request, viewer, target, get_hours, get_doctor, list_workplaces, place)

    @post(["/hours/{part:str}", "/{doctor_id:uuid}/hours/{part:str}"])
    async def change(
        self,
        request: Request[Any, Any, Any],
        part: FromPath[str],
        set_hours: FromDishka[SetWorkingHours],
        add_time_off: FromDishka[AddDoctorTimeOff],
        add_extra: FromDishka[AddExtraHours],
        get_hours: FromDishka[GetWorkingHours],
        get_doctor: FromDishka[GetDoctor],
        list_workplaces: FromDishka[ListWorkplaces],
        doctor_id: FromPath[UUID | None] = None,
    ) -> Any:
        viewer = await viewer_of(request)
        target = _doctor_of(viewer, doctor_id)
        actor = viewer.require(Role.DOCTOR, Role.ADMIN)
        form = await _form(request)
        place = place_of(form.get("institution_id"))
        try:
            if part == "weekly":
                days = {
                    day: parse_intervals(form.get(f"day{day}", ""), f"day{day}") for day in WEEKDAYS
                }
                await set_hours(actor, target, WeeklyHours(days), institution_id=place)
            elif part == "time-off":
                starts = _date(form.get("off_from"), "off_from")
                ends = _date(form.get("off_to") or form.get("off_from"), "off_to")
                await add_time_off(actor, target, starts, ends, form.get("off_reason", ""))
            elif part == "extra":
                interval = LocalInterval(
                    _wall_time(form.get("extra_start", ""), "extra_start"),
                    _wall_time(form.get("extra_end", ""), "extra_end"),
                    institution_id=place,
                )
                await add_extra(
                    actor,
                    target,
                    ExtraHours(on=_date(form.get("extra_on"), "extra_on"), interval=interval),
                )
            else:
                raise InvalidInput(f"nothing to change called {part}", field="part")
        except DomainError as exc:
            return await _page(
                request,
                viewer,
                target,
                get_hours,
                get_doctor,
                list_workplaces,
                place,
                status_code=domain_status(exc),
                detail=exc.message,
                field=getattr(exc, "field", None),
                form=form,
            )
        here = "/doctor/hours" if doctor_id is None else f"/doctor/{target}/hours"
        at = f"&institution={place}" if place is not None else ""
        return go(request, f"{here}?done={part}{at}")


async def _page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    doctor_id: UUID,
    get_hours: GetWorkingHours,
    get_doctor: GetDoctor,
    list_workplaces: ListWorkplaces,
    place: UUID | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    doctor = await get_doctor(doctor_id)
    availability = await get_hours(doctor_id)
    workplaces = await list_workplaces(doctor_id)
    names = {workplace.id: workplace.name for workplace in workplaces}
    if place not in names:
        place = None  # only the places the doctor works at
    here = availability.weekly.at(place)
    weekly = {day: format_intervals(here.days.get(day, ())) for day in WEEKDAYS}
    own = viewer.user is not None and viewer.user.id == doctor_id
    return render(
        request,
        viewer,
        "hours.html",
        status_code=status_code,
        doctor=doctor,
        availability=availability,
        weekly=weekly,
        workplaces=workplaces,
        place=place,
        place_names=names,
        action_base="/doctor/hours" if own else f"/doctor/{doctor_id}/hours",
        done=request.query_params.get("done"),
        **context,
    )
