"""``/api/v1/appointments``: book, list and read (JSON and iCalendar).

The transitions (``/appointments/{id}/approve`` ...) are in ``transitions.py``.
Who may do what is the use cases' and the domain's business (``access.py`` and the
state machine); this module translates HTTP into commands and back:

* ``ETag: "<version>"`` on every appointment response (``If-None-Match`` -> 304).
* ``Idempotency-Key`` on ``POST /appointments`` goes through ``BookAppointmentOnce``.
* ``GET /appointments/{id}.ics``: Litestar matches a path parameter only as a whole
  segment, so ``{id}`` and ``{id}.ics`` share one route (``{appointment_ref}``) and
  the handler tells them apart; ``/appointments/{id}/calendar.ics`` is an alias.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIType, Schema
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.commands import BookAppointmentCommand
from hduce.application.appointments.idempotency import (
    IDEMPOTENCY_HEADER,
    BookAppointmentOnce,
    IdempotentRequest,
)
from hduce.application.appointments.parties import GetAppointmentWithParties
from hduce.application.appointments.queries import GetAppointment, ListAppointmentViews
from hduce.application.ports import AppointmentQuery, PageRequest
from hduce.domain.errors import NotFound
from hduce.domain.identity import Actor
from hduce.domain.scheduling import ensure_utc
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.appointments.etags import etag, matches
from hduce.entrypoints.http.appointments.ics import ICS_MEDIA_TYPE, appointment_ics
from hduce.entrypoints.http.appointments.responses import (
    AUTH_ERRORS,
    ETAG_HEADER,
    ICS_EXAMPLE,
    NAIVE_TIMESTAMP_EXAMPLE,
    READ_ERRORS,
    REPLAYED_HEADER,
    SLOT_CONFLICT_EXAMPLE,
    CalendarAlternative,
    created,
    problem,
    view_bytes,
    with_etag,
)
from hduce.entrypoints.http.appointments.schemas import (
    AppointmentPage,
    AppointmentView,
    BookAppointmentRequest,
    encode_listed_page,
)
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_auth
from hduce.entrypoints.http.inputs import STATUSES_PATTERN, instant_query, parse_statuses
from hduce.entrypoints.http.problems import (
    invalid_input_example,
    invalid_request_example,
    not_found_example,
    problem_example,
)

ICS_SUFFIX: Final = ".ics"
MAX_PAGE: Final = 100


# ------------------------------------------------------------------ helpers


def _next_link(request: Request[Any, Any, Any], offset: int, limit: int, total: int) -> str | None:
    if offset + limit >= total:
        return None
    query = [(key, value) for key, value in request.query_params.multi_items() if key != "offset"]
    query.append(("offset", str(offset + limit)))
    return f"{request.url.path}?{urlencode(query)}"


def _appointment_id(ref: str) -> UUID:
    try:
        return UUID(ref)
    except ValueError:
        raise NotFound("appointment", ref) from None


def _user_id(actor: Actor) -> UUID:
    if actor.user_id is None:  # HTTP callers are always accounts
        raise RuntimeError("an HTTP actor without a user id")
    return actor.user_id


class AppointmentsController(Controller):
    path = "/appointments"
    tags = ("appointments",)
    guards = (requires_auth,)
    dependencies = AUTH_DEPENDENCIES

    # ------------------------------------------------------------------ booking

    @post(
        "/",
        status_code=201,
        summary="Book an appointment",
        response_headers=[ETAG_HEADER],
        description=(
            "A patient books for themself (PENDING until the doctor answers); the doctor "
            "books on their own calendar for a patient: a proposal (PROPOSED) the patient "
            "accepts or declines (`/accept`, `/decline`), which holds the slot meanwhile "
            "and gives the doctor no access to the patient's record until accepted; an "
            "admin books for any patient (`approve: true` for APPROVED). `ends_at` "
            "defaults to the doctor's visit length. "
            "Refused when the slot is in the past, too soon, too far ahead, outside the "
            "doctor's working hours (422) or overlaps a visit of the doctor or the patient "
            "(409, listing the conflicting appointments the caller is a party to: a "
            "patient is never told the id of another patient's visit; an admin is told "
            "every one).\n\n"
            f"Send an `{IDEMPOTENCY_HEADER}` (e.g. a UUID) to retry safely: the same key with "
            "the same body within 24 h returns the first response again (same status and "
            f"body, header `{REPLAYED_HEADER}: true`) without booking twice, even when the "
            "copies race; the same key with another body is refused (422 "
            "`idempotency-key-reused`)."
        ),
        responses={
            201: ResponseSpec(
                data_container=AppointmentView,
                description="Booked; `Location` and `ETag` headers set",
                generate_examples=False,
            ),
            **AUTH_ERRORS,
            403: problem(
                403,
                "Booking for someone else: a patient books for themself, a doctor on "
                "their own calendar",
                problem_example(403, "forbidden", "patients book only for themselves"),
            ),
            400: problem(
                400,
                "Malformed body, naive timestamp or bad Idempotency-Key",
                NAIVE_TIMESTAMP_EXAMPLE,
                invalid_request_example("doctor_id", "Invalid UUID"),
            ),
            404: problem(
                404,
                "No such doctor, patient, or visit type of that doctor",
                not_found_example("doctor", demo.DOCTOR_ID),
            ),
            409: problem(
                409,
                "`slot-conflict`: body lists `conflicting_appointment_ids` (those the "
                "caller is a party to; all of them for an admin)",
                SLOT_CONFLICT_EXAMPLE,
            ),
            422: problem(
                422,
                "Business rule (`outside-working-hours`, `minimum-notice`, "
                "`booking-horizon`, `illegal-transition`, `idempotency-key-reused`, ...)",
                problem_example(
                    422,
                    "outside-working-hours",
                    "the slot is outside the doctor's working hours",
                ),
                problem_example(422, "minimum-notice", "bookings need 60 minutes notice"),
                problem_example(422, "booking-horizon", "bookings open 30 days ahead at most"),
                problem_example(
                    422,
                    "idempotency-key-reused",
                    f"this {IDEMPOTENCY_HEADER} was already used with a different request; "
                    "use a new key for a new request",
                ),
            ),
        },
    )
    async def book(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[BookAppointmentRequest],
        actor: NamedDependency[Actor],
        book: FromDishka[BookAppointment],
        book_once: FromDishka[BookAppointmentOnce],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name=IDEMPOTENCY_HEADER,
                required=False,
                max_length=255,
                description="Makes retries safe: one booking per key and body (24 h)",
            ),
        ] = None,
    ) -> Response[bytes]:
        command = BookAppointmentCommand(
            actor=actor,
            doctor_id=data.doctor_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason,
            patient_id=data.patient_id,
            approve=data.approve,
            visit_type_id=data.visit_type_id,
        )
        if idempotency_key is None:
            return created(view_bytes(await book(command)))
        stored = await book_once(
            command,
            IdempotentRequest(
                key=idempotency_key,
                user_id=_user_id(actor),
                method=request.method,
                path=request.url.path,
                body=msgspec.json.decode(await request.body()),
            ),
            view_bytes,
        )
        return created(stored.body, status_code=stored.status_code, replayed=stored.replayed)

    # ------------------------------------------------------------------ reading

    @get(
        "/",
        summary="List appointments",
        description=(
            "Patients see their own, doctors their calendar, admins everything. Sorted by "
            "start, then id, so walking the pages with `offset` neither skips nor repeats "
            "while nothing changes. `status` may repeat or be a comma list; `from` "
            "(inclusive) and `to` (exclusive) bound the start and need a UTC offset "
            "(URL-encode `+` as `%2B`, or use `Z`)."
        ),
        responses={
            # The handler answers encoded bytes (``encode_listed_page``): the schema
            # is the page's, as when it returned an ``AppointmentPage``.
            200: ResponseSpec(
                data_container=AppointmentPage,
                description="Request fulfilled, document follows",
                generate_examples=False,
            ),
            **AUTH_ERRORS,
            400: problem(
                400,
                "Bad filter or timestamp",
                invalid_input_example(
                    "status",
                    "status must be among: pending, proposed, approved, checked_in, "
                    "rejected, cancelled, completed, no_show, entered_in_error",
                ),
            ),
        },
    )
    async def list_appointments(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        list_appointments: FromDishka[ListAppointmentViews],
        status: Annotated[
            list[str] | None,
            QueryParameter(
                name="status",
                required=False,
                description="pending, proposed, approved, checked_in, completed, "
                "rejected, cancelled, no_show, entered_in_error",
                schema_extra={
                    "items": Schema(
                        type=OpenAPIType.STRING,
                        pattern=STATUSES_PATTERN,
                        examples=["pending", "approved,checked_in"],
                    )
                },
            ),
        ] = None,
        doctor_id: Annotated[UUID | None, QueryParameter(name="doctor_id", required=False)] = None,
        patient_id: Annotated[
            UUID | None, QueryParameter(name="patient_id", required=False)
        ] = None,
        starts_from: Annotated[
            datetime | None, instant_query("from", "Start >= this instant")
        ] = None,
        starts_before: Annotated[
            datetime | None, instant_query("to", "Start < this instant")
        ] = None,
        institution_id: Annotated[
            UUID | None,
            QueryParameter(
                name="institution_id",
                required=False,
                description="Only visits at this institution (an admin scoped to one "
                "lists that one's visits whatever is asked; another one: 403)",
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Response[bytes]:
        page = await list_appointments(
            actor,
            AppointmentQuery(
                patient_id=patient_id,
                doctor_id=doctor_id,
                statuses=parse_statuses(status),
                starts_from=ensure_utc(starts_from, "from") if starts_from else None,
                starts_before=ensure_utc(starts_before, "to") if starts_before else None,
                page=PageRequest(limit=limit, offset=offset),
                institution_id=institution_id,
            ),
        )
        # The read model's page, encoded as ``AppointmentPage`` without building views.
        return Response(
            encode_listed_page(page, _next_link(request, offset, limit, page.total)),
            media_type=MediaType.JSON,
        )

    @get(
        "/{appointment_ref:str}",
        summary="One appointment (JSON), or `{id}.ics` for its iCalendar file",
        response_headers=[ETAG_HEADER],
        operation_class=CalendarAlternative,
        description=(
            "`/appointments/{id}`: the appointment with its history; `ETag` is its version "
            "(`If-None-Match` -> 304 when unchanged).\n\n"
            "`/appointments/{id}.ics`: the same appointment as an RFC 5545 `text/calendar` "
            "VEVENT (UID `<id>@hduce`, SEQUENCE = version, STATUS CONFIRMED / TENTATIVE / "
            "CANCELLED, METHOD REQUEST or CANCEL). Also at `/appointments/{id}/calendar.ics`."
        ),
        responses={
            200: ResponseSpec(
                data_container=AppointmentView,
                description="The appointment (`{id}.ics`: a text/calendar document)",
                generate_examples=False,
            ),
            304: ResponseSpec(
                data_container=None,
                description="Not modified: `If-None-Match` names the current version (or `*`)",
                generate_examples=False,
            ),
            **READ_ERRORS,
        },
    )
    async def get_appointment(
        self,
        appointment_ref: FromPath[str],
        actor: NamedDependency[Actor],
        get_appointment: FromDishka[GetAppointment],
        with_parties: FromDishka[GetAppointmentWithParties],
        if_none_match: Annotated[
            str | None, HeaderParameter(name="If-None-Match", required=False)
        ] = None,
    ) -> Response[Any]:
        if appointment_ref.endswith(ICS_SUFFIX):
            appointment_id = _appointment_id(appointment_ref.removesuffix(ICS_SUFFIX))
            return await _calendar_file(with_parties, actor, appointment_id)
        appointment = await get_appointment(actor, _appointment_id(appointment_ref))
        if matches(if_none_match, appointment.version):
            return Response(b"", status_code=304, headers={"ETag": etag(appointment.version)})
        return with_etag(appointment)

    @get(
        "/{appointment_id:uuid}/calendar.ics",
        summary="An appointment as an iCalendar file",
        description="Same as `/appointments/{id}.ics`.",
        media_type=ICS_MEDIA_TYPE,
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type=ICS_MEDIA_TYPE,
                description="The appointment as an RFC 5545 VEVENT (an attachment)",
                generate_examples=False,
                examples=[Example(summary="An approved visit", value=ICS_EXAMPLE)],
            ),
            **READ_ERRORS,
        },
    )
    async def calendar_file(
        self,
        appointment_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        with_parties: FromDishka[GetAppointmentWithParties],
    ) -> Response[bytes]:
        return await _calendar_file(with_parties, actor, appointment_id)


async def _calendar_file(
    with_parties: GetAppointmentWithParties, actor: Actor, appointment_id: UUID
) -> Response[bytes]:
    entry = await with_parties(actor, appointment_id)
    return Response(
        appointment_ics(entry),
        media_type=ICS_MEDIA_TYPE,  # Litestar adds "; charset=utf-8" to text/*
        headers={
            "Content-Disposition": f'attachment; filename="appointment-{appointment_id}.ics"',
            "Cache-Control": "no-cache",
        },
    )
