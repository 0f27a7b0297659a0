"""A patient's waitlist (ADR 0021): join a doctor's waitlist for a time window
(optionally for one of their visit types), see and leave the entries, and answer the
offers of freed slots (accept books the slot through the booking use case; decline
passes it on). The offers arrive as notifications, so the bell rings for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.availability.visit_types import ListVisitTypes
from hduce.application.clinic.doctors import DoctorProfile, GetDoctor
from hduce.application.waitlist.entries import (
    JoinWaitlist,
    JoinWaitlistCommand,
    LeaveWaitlist,
    ListMyWaitlist,
)
from hduce.application.waitlist.offers import AcceptOffer, DeclineOffer
from hduce.domain.errors import DomainError, InvalidInput, NotFound
from hduce.domain.identity import Role
from hduce.domain.waitlist import OfferStatus
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.i18n import Translator
from hduce.entrypoints.web.views import Viewer, go, render, viewer_of

#: The join form proposes tomorrow, from this hour to that one (the reader's clock).
DEFAULT_HOURS: Final = (8, 18)


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def _uuid(raw: str | None, field: str) -> UUID:
    try:
        return UUID(raw or "")
    except ValueError:
        raise InvalidInput(f"{field} is not a valid id", field=field) from None


def wall_clock(raw: str | None, t: Translator, field: str) -> datetime:
    """A ``datetime-local`` value (no offset) read on the reader's wall clock, in UTC."""
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        raise InvalidInput(f"{field} is not a date and time", field=field) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=t.timezone)
    return value.astimezone(UTC)


class WaitlistPages(Controller):
    path = "/waitlist"
    include_in_schema = False

    @get("/")
    async def waitlist(
        self,
        request: Request[Any, Any, Any],
        mine: FromDishka[ListMyWaitlist],
        get_doctor: FromDishka[GetDoctor],
        list_types: FromDishka[ListVisitTypes],
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.PATIENT)
        raw = request.query_params.get("doctor_id")
        doctor = await get_doctor(_uuid(raw, "doctor_id")) if raw else None
        tomorrow = datetime.now(UTC).astimezone(viewer.t.timezone).date() + timedelta(days=1)
        start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, DEFAULT_HOURS[0])
        join = {
            "earliest": start.strftime("%Y-%m-%dT%H:%M"),
            "latest": start.replace(hour=DEFAULT_HOURS[1]).strftime("%Y-%m-%dT%H:%M"),
            "visit_type": request.query_params.get("visit_type") or "",
        }
        return await _page(request, viewer, mine, get_doctor, list_types, doctor, join)

    @post("/")
    async def join(
        self,
        request: Request[Any, Any, Any],
        join: FromDishka[JoinWaitlist],
        mine: FromDishka[ListMyWaitlist],
        get_doctor: FromDishka[GetDoctor],
        list_types: FromDishka[ListVisitTypes],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT)
        form = await _form(request)
        doctor = await get_doctor(_uuid(form.get("doctor_id"), "doctor_id"))
        label = form.get("visit_type", "").strip()
        try:
            await join(
                JoinWaitlistCommand(
                    actor=actor,
                    doctor_id=doctor.id,
                    earliest=wall_clock(form.get("earliest"), viewer.t, "earliest"),
                    latest=wall_clock(form.get("latest"), viewer.t, "latest"),
                    visit_type=label or None,
                )
            )
        except DomainError as exc:
            return await _page(
                request,
                viewer,
                mine,
                get_doctor,
                list_types,
                doctor,
                form,
                status_code=domain_status(exc),
                detail=exc.message,
                field=getattr(exc, "field", None),
            )
        return go(request, "/waitlist?done=joined")

    @post("/{entry_id:uuid}/leave")
    async def leave(
        self,
        request: Request[Any, Any, Any],
        entry_id: FromPath[UUID],
        leave: FromDishka[LeaveWaitlist],
    ) -> Any:
        viewer = await viewer_of(request)
        await leave(viewer.require(Role.PATIENT), entry_id)
        return go(request, "/waitlist?done=left")

    @post("/offers/{offer_id:uuid}/{answer:str}")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        offer_id: FromPath[UUID],
        answer: FromPath[str],
        accept: FromDishka[AcceptOffer],
        decline: FromDishka[DeclineOffer],
    ) -> Any:
        """Accept (books the slot: then the appointments page shows it) or decline."""
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT)
        if answer == "accept":
            await accept(actor, offer_id)
            return go(request, "/appointments?done=booked")
        if answer == "decline":
            await decline(actor, offer_id)
            return go(request, "/waitlist?done=declined")
        raise NotFound("answer", answer)


async def _page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    mine: ListMyWaitlist,
    get_doctor: GetDoctor,
    list_types: ListVisitTypes,
    doctor: DoctorProfile | None,
    join: dict[str, str],
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    actor = viewer.require(Role.PATIENT)
    entries = await mine.entries(actor)
    offers = await mine.offers(actor)
    now = datetime.now(UTC)
    live = [o for o in offers if o.status is OfferStatus.OFFERED and o.expires_at > now]
    names: dict[UUID, str] = {}
    for doctor_id in {e.doctor_id for e in entries} | {o.doctor_id for o in live}:
        try:
            names[doctor_id] = (await get_doctor(doctor_id)).user.full_name
        except NotFound:
            names[doctor_id] = "?"
    return render(
        request,
        viewer,
        "waitlist.html",
        status_code=status_code,
        entries=entries,
        offers=live,
        names=names,
        doctor=doctor,
        kinds=await list_types(doctor.id) if doctor is not None else [],
        join=join,
        done=request.query_params.get("done"),
        **context,
    )


__all__ = ["WaitlistPages", "wall_clock"]
