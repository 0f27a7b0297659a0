"""``/api/v1/appointments/series``: recurring series (preview, book, read, cancel).

The rule is an RFC 5545 RRULE subset (``FREQ=DAILY|WEEKLY``, ``INTERVAL``, ``COUNT`` or
``UNTIL``, ``BYDAY``); ``starts_at`` is the first occurrence, whose wall-clock time in
the doctor's timezone every occurrence repeats (across DST changes). Each occurrence
is an ordinary appointment (``/appointments/{id}`` and its transitions work on it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from msgspec import Meta

from hduce.application.appointments.idempotency import (
    IDEMPOTENCY_HEADER,
    BookSeriesOnce,
    IdempotentRequest,
)
from hduce.application.appointments.series import (
    BookSeries,
    CancelScope,
    CancelSeriesOccurrences,
    GetSeries,
    OccurrenceOutcome,
    PreviewSeries,
    RescheduleSeriesOccurrences,
    SeriesCommand,
    SeriesDoesNotFit,
    SeriesMode,
    SeriesOutcome,
    SeriesView,
)
from hduce.domain.appointments import AppointmentStatus
from hduce.domain.identity import Actor
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.appointments.responses import (
    AUTH_ERRORS,
    CHANGE_ERRORS,
    NAIVE_TIMESTAMP_EXAMPLE,
    READ_ERRORS,
    REPLAYED_HEADER,
    problem,
)
from hduce.entrypoints.http.appointments.schemas import Instant, Reason, RequiredReason
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_auth
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.problems import (
    invalid_input_example,
    not_found_example,
    problem_example,
    problem_response,
)

SERIES_ID: Final = "01b8e6d8-0520-7b11-9c3e-5a2f4d6b8e10"


def _series_bytes(outcome: SeriesOutcome) -> bytes:
    return msgspec.json.encode(SeriesPlanView.of(outcome))


def _series_created(body: bytes, *, replayed: bool = False) -> Response[bytes]:
    """The stored or fresh answer to a series booking, byte for byte, with its headers."""
    series_id = msgspec.json.decode(body, type=_BookedSeries).series_id
    headers = {"Location": f"/api/v1/appointments/series/{series_id}"}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(body, status_code=201, media_type="application/json", headers=headers)


class _BookedSeries(msgspec.Struct):
    series_id: UUID


RULE_EXAMPLE: Final = "FREQ=WEEKLY;COUNT=10;BYDAY=TU"
#: RRULE text: letters, digits and ``=;,:-`` (the parser names any unsupported part).
Rule = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9=;,:+ -]+$",
        examples=[RULE_EXAMPLE, "FREQ=DAILY;UNTIL=20300131"],
    ),
]


class SeriesRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A series: the first visit and the rule repeating it. Patients book for
    themselves (omit ``patient_id``); the doctor proposes on their own calendar; an
    admin books for anyone."""

    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    starts_at: Instant
    rrule: Rule
    #: Defaults to ``starts_at`` + the doctor's visit length.
    ends_at: Annotated[Instant, ex(demo.ENDS_AT_LOCAL)] | None = None
    reason: Reason = ""
    patient_id: Annotated[UUID, ex(demo.PATIENT_ID)] | None = None
    #: ``all_or_nothing``: every occurrence or none; ``book_what_fits``: those that fit.
    mode: Annotated[SeriesMode, ex("all_or_nothing", "book_what_fits")] = SeriesMode.ALL_OR_NOTHING


class CancelOccurrencesRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: The occurrence (its appointment id) to cancel, or the first of those to cancel.
    appointment_id: Annotated[UUID, ex(demo.APPOINTMENT_ID)]
    scope: Annotated[CancelScope, ex("this_and_following", "this")]
    reason: RequiredReason


class RescheduleOccurrencesRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: The occurrence (its appointment id) to move, or the first of those to move.
    appointment_id: Annotated[UUID, ex(demo.APPOINTMENT_ID)]
    #: Its new start; later ones (``this_and_following``) move by the same wall-clock shift.
    starts_at: Annotated[Instant, ex(demo.NEW_STARTS_AT_LOCAL)]
    scope: Annotated[CancelScope, ex("this", "this_and_following")]
    #: The new visits' reason; defaults to each one's current reason.
    reason: Reason | None = None


class OccurrenceView(msgspec.Struct):
    #: 0-based position in the series.
    index: Annotated[int, ex(0)]
    starts_at: Annotated[datetime, ex(demo.STARTS_AT_UTC)]
    ends_at: Annotated[datetime, ex(demo.ENDS_AT_UTC)]
    #: On the doctor's wall clock, without offset.
    local_start: Annotated[str, ex("2030-01-08T09:00:00")]
    fits: Annotated[bool, ex(True, False)]
    #: Why it does not fit (a problem code), null when it fits.
    problem: Annotated[str | None, ex(None, "outside-working-hours", "slot-conflict")] = None
    detail: Annotated[str | None, ex(None, "the slot is outside the doctor's working hours")] = None
    #: The booked appointment (booking only).
    appointment_id: Annotated[UUID | None, ex(None, demo.APPOINTMENT_ID)] = None

    @classmethod
    def of(cls, outcome: OccurrenceOutcome) -> OccurrenceView:
        return cls(
            index=outcome.index,
            starts_at=outcome.slot.start,
            ends_at=outcome.slot.end,
            local_start=outcome.local_start.isoformat(timespec="seconds"),
            fits=outcome.fits,
            problem=outcome.problem,
            detail=outcome.detail,
            appointment_id=outcome.appointment.id if outcome.appointment else None,
        )


class SeriesPlanView(msgspec.Struct):
    """Occurrence by occurrence: what fits and what does not, and why."""

    rule: Annotated[str, ex(RULE_EXAMPLE)]
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    fitting: Annotated[int, ex(9)]
    total: Annotated[int, ex(10)]
    occurrences: list[OccurrenceView]
    #: Set once booked.
    series_id: Annotated[UUID | None, ex(None, SERIES_ID)] = None

    @classmethod
    def of(cls, outcome: SeriesOutcome) -> SeriesPlanView:
        return cls(
            rule=outcome.rule,
            timezone=outcome.timezone,
            fitting=outcome.fitting,
            total=len(outcome.occurrences),
            occurrences=[OccurrenceView.of(o) for o in outcome.occurrences],
            series_id=outcome.series.id if outcome.series else None,
        )


class MemberView(msgspec.Struct):
    index: Annotated[int, ex(0)]
    appointment_id: Annotated[UUID, ex(demo.APPOINTMENT_ID)]
    starts_at: Annotated[datetime, ex(demo.STARTS_AT_UTC)]
    ends_at: Annotated[datetime, ex(demo.ENDS_AT_UTC)]
    status: Annotated[AppointmentStatus, ex("pending", "cancelled")]


class SeriesDetailView(msgspec.Struct):
    id: Annotated[UUID, ex(SERIES_ID)]
    patient_id: Annotated[UUID, ex(demo.PATIENT_ID)]
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    rule: Annotated[str, ex(RULE_EXAMPLE)]
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    first_local_start: Annotated[str, ex("2030-01-08T09:00:00")]
    length_minutes: Annotated[int, ex(30)]
    created_at: Annotated[datetime, ex(demo.BOOKED_AT)]
    #: The booked occurrences, by index (those that did not fit are not here).
    occurrences: list[MemberView]

    @classmethod
    def of(cls, view: SeriesView) -> SeriesDetailView:
        series = view.series
        return cls(
            id=series.id,
            patient_id=series.patient_id,
            doctor_id=series.doctor_id,
            rule=series.rule,
            timezone=series.timezone,
            first_local_start=series.first_local_start.isoformat(timespec="seconds"),
            length_minutes=int(series.length.total_seconds() // 60),
            created_at=series.created_at,
            occurrences=[
                MemberView(
                    index=member.index,
                    appointment_id=appointment.id,
                    starts_at=appointment.starts_at,
                    ends_at=appointment.ends_at,
                    status=appointment.status,
                )
                for member, appointment in view.members
            ],
        )


def _command(actor: Actor, data: SeriesRequest) -> SeriesCommand:
    return SeriesCommand(
        actor=actor,
        doctor_id=data.doctor_id,
        starts_at=data.starts_at,
        rrule=data.rrule,
        patient_id=data.patient_id,
        ends_at=data.ends_at,
        reason=data.reason,
        mode=data.mode,
    )


_RULE_ERRORS = {
    400: problem(
        400,
        "Malformed body, naive timestamp, or a rule outside the supported subset",
        NAIVE_TIMESTAMP_EXAMPLE,
        invalid_input_example(
            "rrule",
            "unsupported rule part(s) BYMONTH: only FREQ, INTERVAL, COUNT, UNTIL, BYDAY "
            "and WKST=MO are supported",
        ),
    ),
    403: problem(
        403,
        "Booking for someone else: a patient books for themself, a doctor on their own calendar",
        problem_example(403, "forbidden", "patients book only for themselves"),
    ),
    404: problem(404, "No such doctor or patient", not_found_example("doctor", demo.DOCTOR_ID)),
    422: problem(
        422,
        "`series-too-long`: more than 52 occurrences",
        problem_example(
            422,
            "series-too-long",
            "a series has at most 52 occurrences: lower COUNT or bring UNTIL closer",
        ),
    ),
}

_NOT_FIT_EXAMPLE = problem_example(
    409,
    "series-does-not-fit",
    "1 of 10 occurrences cannot be booked; nothing was booked (book_what_fits books the others)",
    rule=RULE_EXAMPLE,
    fitting=9,
    total=10,
    occurrences=[
        {
            "index": 3,
            "starts_at": "2030-01-29T08:00:00Z",
            "ends_at": "2030-01-29T08:30:00Z",
            "local_start": "2030-01-29T09:00:00",
            "fits": False,
            "problem": "outside-working-hours",
            "detail": "the slot is outside the doctor's working hours",
            "appointment_id": None,
        }
    ],
)


class SeriesController(Controller):
    path = "/appointments/series"
    tags = ("appointments",)
    guards = (requires_auth,)
    dependencies = AUTH_DEPENDENCIES

    @post(
        "/preview",
        status_code=200,
        summary="Preview a recurring series",
        description=(
            "Expands the rule (RRULE subset: `FREQ=DAILY|WEEKLY`, `INTERVAL`, `COUNT` or "
            "`UNTIL`, `BYDAY`; at most 52 occurrences) from `starts_at`, whose wall-clock "
            "time in the doctor's timezone every occurrence keeps across DST changes, and "
            "checks each occurrence as a single booking would be checked (working hours, "
            "time off, notice, horizon, overlaps). Books nothing."
        ),
        responses={
            200: ResponseSpec(
                data_container=SeriesPlanView,
                description="What fits and what does not, with a reason per occurrence",
                generate_examples=False,
            ),
            **AUTH_ERRORS,
            **_RULE_ERRORS,
        },
    )
    async def preview(
        self,
        data: JSONBody[SeriesRequest],
        actor: NamedDependency[Actor],
        preview: FromDishka[PreviewSeries],
    ) -> SeriesPlanView:
        return SeriesPlanView.of(await preview(_command(actor, data)))

    @post(
        "/",
        status_code=201,
        summary="Book a recurring series",
        description=(
            "As the preview, then books in one transaction. `mode: all_or_nothing` (the "
            "default) books every occurrence or none (409 `series-does-not-fit` lists "
            "what does not fit; a concurrent booking that takes a slot meanwhile also "
            "leaves nothing booked); `book_what_fits` books those that fit and reports "
            "the others (409 when none fits). Each occurrence is an ordinary appointment "
            "(PENDING for a patient, PROPOSED when the doctor books); the patient is told "
            "once, by a summary of the series, not once per occurrence.\n\n"
            f"Send an `{IDEMPOTENCY_HEADER}` (e.g. a UUID) to retry safely: the same key "
            "with the same body within 24 h returns the first response again (header "
            "`Idempotent-Replayed: true`) without booking anything twice, even when the "
            "copies race; the same key with another body is refused (422 "
            "`idempotency-key-reused`); a refused series stores nothing."
        ),
        responses={
            201: ResponseSpec(
                data_container=SeriesPlanView,
                description="Booked (all, or those that fit); `Location` names the series",
                generate_examples=False,
            ),
            **AUTH_ERRORS,
            **_RULE_ERRORS,
            422: problem(
                422,
                "`series-too-long`: more than 52 occurrences; `idempotency-key-reused`: "
                "the key was used with another request",
                problem_example(
                    422,
                    "series-too-long",
                    "a series has at most 52 occurrences: lower COUNT or bring UNTIL closer",
                ),
                problem_example(
                    422,
                    "idempotency-key-reused",
                    f"this {IDEMPOTENCY_HEADER} was already used with a different request; "
                    "use a new key for a new request",
                ),
            ),
            409: problem(
                409,
                "`series-does-not-fit` (body: occurrences, fitting, total): nothing was "
                "booked; or `slot-conflict` when a concurrent booking took a slot of an "
                "all-or-nothing series",
                _NOT_FIT_EXAMPLE,
            ),
        },
    )
    async def book(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SeriesRequest],
        actor: NamedDependency[Actor],
        book: FromDishka[BookSeries],
        book_once: FromDishka[BookSeriesOnce],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name=IDEMPOTENCY_HEADER,
                required=False,
                max_length=255,
                description="Makes retries safe: one series per key and body (24 h)",
            ),
        ] = None,
    ) -> Response[Any]:
        try:
            if idempotency_key is not None:
                if actor.user_id is None:  # HTTP callers are always accounts
                    raise RuntimeError("an HTTP actor without a user id")
                stored = await book_once(
                    _command(actor, data),
                    IdempotentRequest(
                        key=idempotency_key,
                        user_id=actor.user_id,
                        method=request.method,
                        path=request.url.path,
                        body=msgspec.json.decode(await request.body()),
                    ),
                    _series_bytes,
                )
                return _series_created(stored.body, replayed=stored.replayed)
            outcome = await book(_command(actor, data))
        except SeriesDoesNotFit as refused:
            plan = SeriesPlanView.of(refused.outcome)
            return problem_response(
                request,
                status=409,
                code=refused.code,
                detail=refused.message,
                title="Series does not fit",
                extensions={
                    "rule": plan.rule,
                    "fitting": plan.fitting,
                    "total": plan.total,
                    "occurrences": msgspec.to_builtins(plan.occurrences),
                },
            )
        return _series_created(_series_bytes(outcome))

    @get(
        "/{series_id:uuid}",
        summary="A recurring series and its booked occurrences",
        description="For its patient, its doctor and admins (anyone else: 404).",
        responses={
            **READ_ERRORS,
            404: problem(
                404, "No such series, or not the caller's", not_found_example("series", SERIES_ID)
            ),
        },
    )
    async def read(
        self,
        series_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        get_series: FromDishka[GetSeries],
    ) -> SeriesDetailView:
        return SeriesDetailView.of(await get_series(actor, series_id))

    @post(
        "/{series_id:uuid}/cancel",
        status_code=200,
        summary="Cancel one occurrence, or it and every later one",
        description=(
            "`scope: this` cancels one occurrence; `this_and_following` cancels it and "
            "every later open one (pending, proposed, approved; a patient declines a "
            "doctor's proposal). One transaction: if the rules refuse one (e.g. a patient "
            "within 24 h of an approved visit), nothing is cancelled."
        ),
        responses={
            **CHANGE_ERRORS,
            404: problem(
                404,
                "No such series or occurrence, or not the caller's",
                not_found_example("series", SERIES_ID),
            ),
        },
    )
    async def cancel(
        self,
        series_id: FromPath[UUID],
        data: JSONBody[CancelOccurrencesRequest],
        actor: NamedDependency[Actor],
        cancel: FromDishka[CancelSeriesOccurrences],
    ) -> SeriesDetailView:
        view = await cancel(actor, series_id, data.appointment_id, data.scope, data.reason)
        return SeriesDetailView.of(view)

    @post(
        "/{series_id:uuid}/reschedule",
        status_code=200,
        summary="Move one occurrence, or it and every later one",
        description=(
            "`scope: this` moves one occurrence to `starts_at`; `this_and_following` moves "
            "it and every later open one by the same shift on the doctor's wall clock "
            "(across DST). Each move is a reschedule (the old visit cancelled as "
            "rescheduled, a replacement booked under the usual checks); the series then "
            "lists the replacements. One transaction: if one move is refused (422, 409), "
            "nothing moves."
        ),
        responses={
            **CHANGE_ERRORS,
            404: problem(
                404,
                "No such series or occurrence, or not the caller's",
                not_found_example("series", SERIES_ID),
            ),
        },
    )
    async def reschedule(
        self,
        series_id: FromPath[UUID],
        data: JSONBody[RescheduleOccurrencesRequest],
        actor: NamedDependency[Actor],
        reschedule: FromDishka[RescheduleSeriesOccurrences],
    ) -> SeriesDetailView:
        view = await reschedule(
            actor, series_id, data.appointment_id, data.starts_at, data.scope, data.reason
        )
        return SeriesDetailView.of(view)
