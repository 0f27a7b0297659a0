"""Console pages of patients (find a doctor, free times, book, my appointments, cancel)
and doctors (pending requests, today's agenda and its transitions).

Each page calls the use case its JSON API twin calls, resolved from the request's dishka
container; who may do what is still decided there (``application/access.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import (
    BookAppointmentCommand,
    RescheduleCommand,
    TransitionCommand,
)
from hduce.application.appointments.parties import GetAppointmentWithParties
from hduce.application.appointments.queries import ListAppointments
from hduce.application.appointments.reschedule import RescheduleAppointment
from hduce.application.appointments.series import SeriesOfAppointments
from hduce.application.appointments.transitions import (
    AcceptAppointment,
    ApproveAppointment,
    CancelAppointment,
    CheckInAppointment,
    CompleteAppointment,
    DeclineAppointment,
    MarkNoShow,
    RejectAppointment,
)
from hduce.application.availability.free_slots import FreeSlot
from hduce.application.availability.local_calendar import ListDoctorSlots
from hduce.application.availability.visit_types import ListVisitTypes
from hduce.application.clinic.doctors import DoctorProfile, GetDoctor, ListDoctors
from hduce.application.clinic.institutions import ListInstitutions
from hduce.application.clinic.specialties import ListSpecialties
from hduce.application.ports import AppointmentQuery, DoctorQuery, InstitutionQuery, PageRequest
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.errors import DomainError, InvalidInput, NotFound, SlotConflict
from hduce.domain.identity import Actor, Role
from hduce.domain.visit_types import VisitType
from hduce.entrypoints.http.auth.security import request_container
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.i18n import Translator, zone
from hduce.entrypoints.web.paging import Pager
from hduce.entrypoints.web.views import Viewer, go, render, safe_next, viewer_of

WEEK: Final = 7
#: How far ahead a 409 on booking looks for other free times, and how many it offers.
ALTERNATIVES_WINDOW: Final = timedelta(days=14)
ALTERNATIVES: Final = 6
LIST_LIMIT: Final = 100
#: Institutions offered by the doctor search's filter.
INSTITUTIONS_LIMIT: Final = 200
#: Appointments per page of "my appointments" (upcoming ones are on the first).
APPOINTMENTS_PAGE: Final = 25
_DOCTOR_ACTIONS: Final[dict[str, type[Any]]] = {
    "approve": ApproveAppointment,
    "reject": RejectAppointment,
    "check-in": CheckInAppointment,
    "complete": CompleteAppointment,
    "no-show": MarkNoShow,
}


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def _uuid(raw: str | None, field: str) -> UUID:
    try:
        return UUID(raw or "")
    except ValueError:
        raise InvalidInput(f"{field} is not a valid id", field=field) from None


def _instant(raw: str | None, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        raise InvalidInput(f"{field} is not a date and time", field=field) from None
    if value.tzinfo is None:
        raise InvalidInput(f"{field} must carry a UTC offset", field=field)
    return value.astimezone(UTC)


def _optional_uuid(raw: str | None) -> UUID | None:
    return _uuid(raw, "reschedule") if raw else None


def _day(raw: str | None, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def _chosen_type(kinds: Sequence[VisitType], raw: str | None) -> VisitType | None:
    """The doctor's visit type named by ``raw`` (an id); none chosen, or not one of
    theirs: the doctor's usual visit length."""
    return next((kind for kind in kinds if str(kind.id) == raw), None)


def _slot_translator(viewer: Viewer, doctor: DoctorProfile) -> Translator:
    """Signed in: the reader's own time zone; signed out: the doctor's."""
    if viewer.user is not None:
        return viewer.t
    return Translator(viewer.t.language, zone(doctor.doctor.timezone))


async def _doctor_names(
    get_doctor: GetDoctor, appointments: Iterable[Appointment]
) -> dict[UUID, str]:
    names: dict[UUID, str] = {}
    for appointment in appointments:
        if appointment.doctor_id not in names:
            try:
                names[appointment.doctor_id] = (
                    await get_doctor(appointment.doctor_id)
                ).user.full_name
            except NotFound:
                names[appointment.doctor_id] = "?"
    return names


async def _newest_first(
    request: Request[Any, Any, Any], actor: Actor, list_appointments: ListAppointments
) -> tuple[Sequence[Appointment], Pager]:
    """A page of the patient's appointments, the latest-starting first (the repository
    sorts by start, oldest first: page N is read from the end)."""
    total = (
        await list_appointments(actor, AppointmentQuery(page=PageRequest(limit=1, offset=0)))
    ).total
    pager = Pager.of(request, total, APPOINTMENTS_PAGE)
    end = max(0, total - pager.offset)
    start = max(0, end - APPOINTMENTS_PAGE)
    if end == start:
        return [], pager
    page = await list_appointments(
        actor, AppointmentQuery(page=PageRequest(limit=end - start, offset=start))
    )
    return page.items, pager


class PatientPages(Controller):
    include_in_schema = False

    @get("/doctors")
    async def doctors(
        self,
        request: Request[Any, Any, Any],
        list_doctors: FromDishka[ListDoctors],
        list_specialties: FromDishka[ListSpecialties],
        list_institutions: FromDishka[ListInstitutions],
    ) -> Template:
        viewer = await viewer_of(request)
        # Where the doctor works (ADR 0025): only active institutions are offered.
        institution_raw = request.query_params.get("institution_id") or ""
        institution_id = _uuid(institution_raw, "institution_id") if institution_raw else None
        specialty_raw = request.query_params.get("specialty_id") or ""
        name = (request.query_params.get("name") or "").strip()[:200]
        specialty_id = _uuid(specialty_raw, "specialty_id") if specialty_raw else None
        page = await list_doctors(
            DoctorQuery(
                specialty_id=specialty_id,
                name=name or None,
                page=PageRequest(limit=LIST_LIMIT, offset=0),
                institution_id=institution_id,
            )
        )
        institutions = await list_institutions(
            InstitutionQuery(is_active=True, page=PageRequest(limit=INSTITUTIONS_LIMIT))
        )
        return render(
            request,
            viewer,
            "doctors.html",
            doctors=page.items,
            total=page.total,
            specialties=await list_specialties(),
            specialty_id=specialty_raw,
            name=name,
            institutions=institutions.items,
            institution_id=institution_raw if institution_id else "",
        )

    @get("/doctors/{doctor_id:uuid}")
    async def week(
        self,
        request: Request[Any, Any, Any],
        doctor_id: FromPath[UUID],
        get_doctor: FromDishka[GetDoctor],
        list_slots: FromDishka[ListDoctorSlots],
        list_types: FromDishka[ListVisitTypes],
    ) -> Template:
        viewer = await viewer_of(request)
        doctor = await get_doctor(doctor_id)
        # A visit type (ADR 0020): slots of its length whose buffers fit.
        kinds = await list_types(doctor_id)
        visit_type = _chosen_type(kinds, request.query_params.get("visit_type"))
        t = _slot_translator(viewer, doctor)
        today = datetime.now(UTC).astimezone(t.timezone).date()
        start = max(_day(request.query_params.get("week"), today), today)
        days = [start + timedelta(days=offset) for offset in range(WEEK)]
        # The window in the doctor's local days, one either side: the reader's days
        # may straddle two of the doctor's.
        # Only the slots at one institution when the doctor search was narrowed to it.
        place_raw = request.query_params.get("institution_id")
        place = _uuid(place_raw, "institution_id") if place_raw else None
        slots = await list_slots(
            doctor_id,
            start - timedelta(days=1),
            days[-1] + timedelta(days=1),
            visit_type.id if visit_type is not None else None,
            place,
        )
        by_day: dict[date, list[FreeSlot]] = {day: [] for day in days}
        for slot in slots:
            local_day = t.local(slot.slot.start).date()
            if local_day in by_day:
                by_day[local_day].append(slot)
        return render(
            request,
            viewer,
            "week.html",
            t=t,
            doctor=doctor,
            days=days,
            by_day=by_day,
            any_slot=any(by_day.values()),
            previous=(start - timedelta(days=WEEK)) if start > today else None,
            next=start + timedelta(days=WEEK),
            reschedule=_optional_uuid(request.query_params.get("reschedule")),
            kinds=kinds,
            visit_type=visit_type,
            place=place,
            place_name=next(
                (s.institution.name for s in slots if s.institution and s.institution.id == place),
                None,
            ),
        )

    @get("/book")
    async def book_page(
        self,
        request: Request[Any, Any, Any],
        get_doctor: FromDishka[GetDoctor],
        list_types: FromDishka[ListVisitTypes],
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.PATIENT)
        doctor = await get_doctor(_uuid(request.query_params.get("doctor_id"), "doctor_id"))
        visit_type = _chosen_type(
            await list_types(doctor.id), request.query_params.get("visit_type_id")
        )
        starts_at = _instant(request.query_params.get("starts_at"), "starts_at")
        return render(
            request,
            viewer,
            "book.html",
            doctor=doctor,
            starts_at=starts_at,
            reason="",
            reschedule=_optional_uuid(request.query_params.get("reschedule")),
            visit_type=visit_type,
        )

    @post("/book")
    async def book(
        self,
        request: Request[Any, Any, Any],
        book: FromDishka[BookAppointment],
        reschedule: FromDishka[RescheduleAppointment],
        get_doctor: FromDishka[GetDoctor],
        list_slots: FromDishka[ListDoctorSlots],
        list_types: FromDishka[ListVisitTypes],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT)
        form = await _form(request)
        doctor = await get_doctor(_uuid(form.get("doctor_id"), "doctor_id"))
        visit_type = _chosen_type(await list_types(doctor.id), form.get("visit_type_id"))
        starts_at = _instant(form.get("starts_at"), "starts_at")
        reason = form.get("reason", "").strip()
        moving = _optional_uuid(form.get("reschedule"))

        async def book_it() -> object:
            if moving is None:
                return await book(
                    BookAppointmentCommand(
                        actor=actor,
                        doctor_id=doctor.id,
                        starts_at=starts_at,
                        reason=reason,
                        visit_type_id=visit_type.id if visit_type is not None else None,
                    )
                )
            # The same rules as the API's reschedule: the old visit is cancelled and
            # the new one booked in one step, or neither.
            return await reschedule(
                RescheduleCommand(
                    actor=actor, appointment_id=moving, starts_at=starts_at, reason=reason or None
                )
            )

        async def other_times(exc: DomainError) -> dict[str, Any]:
            if not isinstance(exc, SlotConflict):
                return {}
            later = await list_slots(
                doctor.id,
                starts_at,
                starts_at + ALTERNATIVES_WINDOW,
                visit_type.id if visit_type is not None else None,
            )
            alternatives = [s for s in later if s.slot.start != starts_at][:ALTERNATIVES]
            return {"error": viewer.t("book.conflict"), "alternatives": alternatives}

        await submit_form(
            request,
            viewer,
            "book.html",
            book_it,
            more=other_times,
            doctor=doctor,
            starts_at=starts_at,
            reason=reason,
            alternatives=(),
            reschedule=moving,
            visit_type=visit_type,
        )
        return go(request, "/appointments?done=" + ("moved" if moving else "booked"))

    @get("/appointments")
    async def appointments(
        self,
        request: Request[Any, Any, Any],
        list_appointments: FromDishka[ListAppointments],
        get_doctor: FromDishka[GetDoctor],
        series_of: FromDishka[SeriesOfAppointments],
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT)
        items, pager = await _newest_first(request, actor, list_appointments)
        now = datetime.now(UTC)
        upcoming = [a for a in items if a.slot.end >= now and not a.status.is_terminal]
        past = [a for a in reversed(items) if a not in upcoming]
        return render(
            request,
            viewer,
            "appointments.html",
            upcoming=upcoming,
            past=past,
            pager=pager,
            doctors=await _doctor_names(get_doctor, items),
            done=request.query_params.get("done"),
            cancellable={AppointmentStatus.PENDING, AppointmentStatus.APPROVED},
            # Occurrences of a recurring series link to it (cancel this and following).
            series_of=await series_of(actor, [a.id for a in upcoming]),
        )

    @post("/appointments/{appointment_id:uuid}/cancel")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        appointment_id: FromPath[UUID],
        cancel: FromDishka[CancelAppointment],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT, Role.DOCTOR)
        form = await _form(request)
        await cancel(
            TransitionCommand(
                actor=actor, appointment_id=appointment_id, reason=form.get("reason", "").strip()
            )
        )
        return go(request, safe_next(form.get("back"), "/appointments?done=cancelled"))

    @post("/appointments/{appointment_id:uuid}/answer")
    async def answer_proposal(
        self,
        request: Request[Any, Any, Any],
        appointment_id: FromPath[UUID],
        accept: FromDishka[AcceptAppointment],
        decline: FromDishka[DeclineAppointment],
    ) -> Any:
        """A doctor's proposal (PROPOSED): the patient accepts or declines it."""
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT)
        form = await _form(request)
        accepting = form.get("answer") == "accept"
        command = TransitionCommand(
            actor=actor,
            appointment_id=appointment_id,
            reason=None if accepting else (form.get("reason", "").strip() or None),
        )
        await (accept if accepting else decline)(command)
        return go(request, "/appointments?done=" + ("accepted" if accepting else "declined"))


class DoctorPages(Controller):
    path = "/doctor"
    include_in_schema = False

    @get("/queue")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        list_appointments: FromDishka[ListAppointments],
        with_parties: FromDishka[GetAppointmentWithParties],
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.DOCTOR)
        page = await list_appointments(
            actor,
            AppointmentQuery(
                doctor_id=actor.user_id,
                statuses=frozenset({AppointmentStatus.PENDING}),
                page=PageRequest(limit=LIST_LIMIT, offset=0),
            ),
        )
        entries = [await with_parties(actor, a.id) for a in page.items]
        return render(
            request, viewer, "queue.html", entries=entries, done=request.query_params.get("done")
        )

    @get("/today")
    async def today(
        self,
        request: Request[Any, Any, Any],
        list_appointments: FromDishka[ListAppointments],
        with_parties: FromDishka[GetAppointmentWithParties],
    ) -> Template:
        return await _agenda(request, list_appointments, with_parties, days=1)

    @get("/week")
    async def week(
        self,
        request: Request[Any, Any, Any],
        list_appointments: FromDishka[ListAppointments],
        with_parties: FromDishka[GetAppointmentWithParties],
    ) -> Template:
        return await _agenda(request, list_appointments, with_parties, days=WEEK)

    @post("/appointments/{appointment_id:uuid}/{action:str}")
    async def act(
        self,
        request: Request[Any, Any, Any],
        appointment_id: FromPath[UUID],
        action: FromPath[str],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.DOCTOR)
        use_case_type = _DOCTOR_ACTIONS.get(action)
        if use_case_type is None:
            raise NotFound("action", action)
        form = await _form(request)
        use_case = await request_container(request).get(use_case_type)
        await use_case(
            TransitionCommand(
                actor=actor,
                appointment_id=appointment_id,
                reason=form.get("reason", "").strip() or None,
            )
        )
        return go(request, safe_next(form.get("back"), "/doctor/queue") + "?done=" + action)


async def _agenda(
    request: Request[Any, Any, Any],
    list_appointments: ListAppointments,
    with_parties: GetAppointmentWithParties,
    *,
    days: int,
) -> Template:
    """The doctor's appointments from the start of today (their wall clock), day by day."""
    viewer = await viewer_of(request)
    actor = viewer.require(Role.DOCTOR)
    local_now = datetime.now(UTC).astimezone(viewer.t.timezone)
    day_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    page = await list_appointments(
        actor,
        AppointmentQuery(
            doctor_id=actor.user_id,
            starts_from=day_start.astimezone(UTC),
            starts_before=(day_start + timedelta(days=days)).astimezone(UTC),
            page=PageRequest(limit=LIST_LIMIT, offset=0),
        ),
    )
    entries = [await with_parties(actor, a.id) for a in page.items]
    dates = [local_now.date() + timedelta(days=offset) for offset in range(days)]
    by_day: dict[date, list[Any]] = {day: [] for day in dates}
    for entry in entries:
        local_day = viewer.t.local(entry.appointment.slot.start).date()
        by_day.setdefault(local_day, []).append(entry)
    return render(
        request,
        viewer,
        "agenda.html",
        week=days > 1,
        by_day=by_day,
        total=len(entries),
        done=request.query_params.get("done"),
        back=request.url.path,
    )
