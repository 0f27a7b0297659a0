"""``POST /api/v1/appointments/{id}/<transition>``: the state machine over HTTP.

Each handler turns the request into the use case's command (``If-Match`` ->
``expected_version``) and answers the changed appointment with its new ``ETag``.
Who may make which move, and when, is the domain's decision (403 for someone who
is no party to the appointment, 422 ``illegal-transition`` otherwise).
"""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from hduce.application.appointments.commands import RescheduleCommand, TransitionCommand
from hduce.application.appointments.reschedule import RescheduleAppointment
from hduce.application.appointments.transitions import (
    AcceptAppointment,
    ApproveAppointment,
    CancelAppointment,
    CheckInAppointment,
    CompleteAppointment,
    DeclineAppointment,
    EnterInError,
    MarkNoShow,
    RejectAppointment,
)
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.appointments.etags import expected_version
from hduce.entrypoints.http.appointments.responses import (
    CHANGE_ERRORS,
    ETAG_HEADER,
    IF_MATCH_DOC,
    IfMatch,
    location,
    problem,
    with_etag,
)
from hduce.entrypoints.http.appointments.schemas import (
    AppointmentView,
    CompleteRequest,
    DeclineRequest,
    ReasonRequest,
    RescheduleRequest,
)
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_auth, requires_role


class AppointmentTransitionsController(Controller):
    path = "/appointments"
    tags = ("appointments",)
    guards = (requires_auth,)
    dependencies = AUTH_DEPENDENCIES
    response_headers = (ETAG_HEADER,)

    @post(
        "/{appointment_id:uuid}/approve",
        status_code=200,
        summary="Approve a request (its doctor, or an admin)",
        description="PENDING -> APPROVED; overlaps are checked again. " + IF_MATCH_DOC,
        responses=CHANGE_ERRORS,
    )
    async def approve(
        self,
        appointment_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        approve: FromDishka[ApproveAppointment],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        return with_etag(await approve(_command(actor, appointment_id, if_match)))

    @post(
        "/{appointment_id:uuid}/reject",
        status_code=200,
        summary="Reject a request (its doctor, or an admin)",
        description="PENDING -> REJECTED, with a reason. " + IF_MATCH_DOC,
        responses=CHANGE_ERRORS,
    )
    async def reject(
        self,
        appointment_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        actor: NamedDependency[Actor],
        reject: FromDishka[RejectAppointment],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        command = _command(actor, appointment_id, if_match, reason=data.reason)
        return with_etag(await reject(command))

    @post(
        "/{appointment_id:uuid}/accept",
        status_code=200,
        summary="Accept a doctor's proposal (its patient, or an admin)",
        description=(
            "PROPOSED -> APPROVED, before the visit starts. A doctor's booking for a "
            "patient is a proposal: only once the patient accepts it (or an admin acts "
            "for them) does the doctor see the patient's record. " + IF_MATCH_DOC
        ),
        responses=CHANGE_ERRORS,
    )
    async def accept(
        self,
        appointment_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        accept: FromDishka[AcceptAppointment],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        return with_etag(await accept(_command(actor, appointment_id, if_match)))

    @post(
        "/{appointment_id:uuid}/decline",
        status_code=200,
        summary="Decline a doctor's proposal (its patient, or an admin)",
        description="PROPOSED -> REJECTED, with an optional reason for the doctor. The body "
        "may be omitted. (The doctor withdraws a proposal with `cancel`.) " + IF_MATCH_DOC,
        responses=CHANGE_ERRORS,
    )
    async def decline(
        self,
        appointment_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        decline: FromDishka[DeclineAppointment],
        data: JSONBody[DeclineRequest | None] = None,
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        reason = data.reason if data is not None else None
        return with_etag(await decline(_command(actor, appointment_id, if_match, reason=reason)))

    @post(
        "/{appointment_id:uuid}/cancel",
        status_code=200,
        summary="Cancel an appointment",
        description=(
            "PENDING or APPROVED -> CANCELLED, with a reason: by the patient (an approved "
            "visit only until 24 h before it starts), its doctor or an admin. PROPOSED -> "
            "CANCELLED: its doctor (or an admin) withdraws the proposal; the patient "
            "declines it instead. " + IF_MATCH_DOC
        ),
        responses=CHANGE_ERRORS,
    )
    async def cancel(
        self,
        appointment_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        actor: NamedDependency[Actor],
        cancel: FromDishka[CancelAppointment],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        command = _command(actor, appointment_id, if_match, reason=data.reason)
        return with_etag(await cancel(command))

    @post(
        "/{appointment_id:uuid}/check-in",
        status_code=200,
        summary="Check the patient in (its doctor, or an admin)",
        description="APPROVED -> CHECKED_IN, from 60 min before to 30 min after the start. "
        + IF_MATCH_DOC,
        responses=CHANGE_ERRORS,
    )
    async def check_in(
        self,
        appointment_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        check_in: FromDishka[CheckInAppointment],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        return with_etag(await check_in(_command(actor, appointment_id, if_match)))

    @post(
        "/{appointment_id:uuid}/complete",
        status_code=200,
        summary="Complete the visit (its doctor)",
        description="APPROVED or CHECKED_IN -> COMPLETED once the visit has started, with "
        "optional notes (visible to the patient too). The body may be omitted. " + IF_MATCH_DOC,
        responses=CHANGE_ERRORS,
    )
    async def complete(
        self,
        appointment_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        complete: FromDishka[CompleteAppointment],
        data: JSONBody[CompleteRequest | None] = None,
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        notes = data.notes if data is not None else None
        return with_etag(await complete(_command(actor, appointment_id, if_match, notes=notes)))

    @post(
        "/{appointment_id:uuid}/no-show",
        status_code=200,
        summary="Mark a no-show (its doctor, or an admin)",
        description="APPROVED -> NO_SHOW, once 15 minutes have passed since the start. "
        + IF_MATCH_DOC,
        responses=CHANGE_ERRORS,
    )
    async def no_show(
        self,
        appointment_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        no_show: FromDishka[MarkNoShow],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        return with_etag(await no_show(_command(actor, appointment_id, if_match)))

    @post(
        "/{appointment_id:uuid}/entered-in-error",
        status_code=200,
        summary="Void a record made by mistake (admin)",
        description="Any non-terminal status -> ENTERED_IN_ERROR, with a reason; audited. "
        + IF_MATCH_DOC,
        guards=[requires_role(Role.ADMIN)],
        responses={**CHANGE_ERRORS, 403: problem(403, "Not an admin")},
    )
    async def entered_in_error(
        self,
        appointment_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        actor: NamedDependency[Actor],
        enter_in_error: FromDishka[EnterInError],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        command = _command(actor, appointment_id, if_match, reason=data.reason)
        return with_etag(await enter_in_error(command))

    @post(
        "/{appointment_id:uuid}/reschedule",
        status_code=201,
        summary="Move an appointment to another time",
        description=(
            "In one step the current appointment becomes CANCELLED (reason `rescheduled`) "
            "and a new one is booked with `replaces` pointing at it: PENDING again when the "
            "patient moves it, APPROVED when the doctor does (PROPOSED again for a "
            "proposal, which its patient declines rather than moves), unchanged status for "
            "an admin. "
            "`ends_at` defaults to keeping the visit's length. Answers 201 with the new "
            "appointment (`Location`, `ETag`); the same guards as booking apply. "
            "`If-Match` refers to the appointment being moved. " + IF_MATCH_DOC
        ),
        responses={
            201: ResponseSpec(
                data_container=AppointmentView,
                description="The replacement",
                generate_examples=False,
            ),
            **CHANGE_ERRORS,
        },
    )
    async def reschedule(
        self,
        appointment_id: FromPath[UUID],
        data: JSONBody[RescheduleRequest],
        actor: NamedDependency[Actor],
        reschedule: FromDishka[RescheduleAppointment],
        if_match: IfMatch = None,
    ) -> Response[AppointmentView]:
        replacement = await reschedule(
            RescheduleCommand(
                actor=actor,
                appointment_id=appointment_id,
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                reason=data.reason,
                expected_version=expected_version(if_match),
            )
        )
        response = with_etag(replacement, status_code=201)
        response.headers["Location"] = location(replacement.id)
        return response


def _command(
    actor: Actor,
    appointment_id: UUID,
    if_match: str | None,
    *,
    reason: str | None = None,
    notes: str | None = None,
) -> TransitionCommand:
    return TransitionCommand(
        actor=actor,
        appointment_id=appointment_id,
        expected_version=expected_version(if_match),
        reason=reason,
        notes=notes,
    )
